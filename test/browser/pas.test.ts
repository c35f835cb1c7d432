/**
 * From documentation to authorization in a real browser (Debian's Chromium): the sandbox EHR signs
 * a Kineret order, the clinician documents it in the DTR app and submits it to the plan (PAS); the
 * plan pends it; a clinical reviewer decides in the workbench; the DTR app and the EHR see the
 * decision; a new order for the same member shows the authorization on file. And a reviewer denies
 * in the workbench, with a reason and the words of the letter. And a pended request is updated, not
 * duplicated: the documentation opened again from the EHR shows the earlier request, and its
 * submission replaces it at the plan.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, ClaimResponse } from 'fhir/r4';
import type { Page } from 'playwright-core';
import { PAS } from '../../src/constants';
import { inquireOperation, submitOperation } from '../../src/pas/operations';
import { applyReviewerAction, type ReviewerAction } from '../../src/pas/review';
import { hashPassword } from '../../src/pas/reviewers';
import type { Principal } from '../../src/security/principal';
import { inquiryBundle, pasBundle, scenario } from '../support/pas';
import { answer, populateScenario } from '../support/responses';
import { journey, screenshot, startHarness, type Harness } from './harness';
import { answerBoolean, answerScripted, answerText, launchFromCard, marks, openSandbox, signOrder, submit } from './pages';

jest.setTimeout(120_000);

const PASSWORD = 'reviewer passphrase for the browser';

let h: Harness;
beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reviewers-'));
  const file = path.join(dir, 'reviewers.json');
  writeFileSync(file, JSON.stringify({ reviewers: [{ id: 'dr-park', name: 'Dr. Lee Park, MD', npi: '1234567893', roles: ['reviewer', 'adverse-determinations'], passwordHash: await hashPassword(PASSWORD) }] }));
  h = await startHarness({ REVIEWERS_FILE: file });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function workbenchCase(page: Page, requestId: string): Promise<void> {
  await page.click(`#queue tr[data-request="${requestId}"]`);
  await page.waitForSelector(`#case[data-request="${requestId}"]`);
}

test('sign, document, submit: pended; the reviewer approves; the app and the EHR see it; a new order for the member has the authorization on file', async () => {
  await journey(h, 'pas-journey', async (context) => {
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-tnf', { prefetch: true });
    const { app } = await launchFromCard(context, ehr);
    await answerBoolean(app, 'no-active-infection', true);
    await answerBoolean(app, 'no-hypersensitivity', true);
    await answerBoolean(app, 'ra-mtx-max-dose-not-at-goal', true);
    await answerText(app, 'ra-baseline-doc.text', 'CDAI 28 (high). Goal: CDAI <= 10 in 6 months. Adalimumab is being stopped.');
    const result = await submit(app);
    expect(result).toMatchObject({ decision: 'pended', outcome: 'not-met' });

    // The plan pends it (the record shows adalimumab): never denied automatically; what happens next is said.
    await expect(app.locator('[data-testid=authorization-status]').textContent()).resolves.toBe('PENDED FOR REVIEW');
    await expect(app.locator('[data-testid=authorization-notes]').textContent()).resolves.toContain('(ALL-2), not met');
    await expect(app.locator('[data-testid=authorization-next]').textContent()).resolves.toContain('a clinical reviewer at the plan decides');
    await expect(app.locator('[data-testid=authorization-disposition]').textContent()).resolves.toMatch(/decision is due by .* \(standard: 7 calendar days\)/);
    await screenshot(app, 'dtr-pas-pended', app.locator('#authorization'));

    // The EHR follows it.
    await ehr.click('#check-pa');
    await ehr.waitForSelector('[data-testid=prior-auth][data-status="pended"]');

    // The development reviewer opens the workbench from the sandbox and approves it.
    const [workbench] = await Promise.all([context.waitForEvent('page'), ehr.click('[data-testid=workbench-link]')]);
    await workbench.waitForSelector('body[data-ready="true"]');
    await expect(workbench.locator('[data-testid=reviewer-name]').textContent()).resolves.toContain('Dev Reviewer');
    const row = workbench.locator('#queue tbody tr').filter({ hasText: 'ra-tnf' }).first();
    const requestId = (await row.getAttribute('data-request'))!;
    await expect(row.locator('[data-testid=time-left]').textContent()).resolves.toMatch(/^6 d 23 h left$|^7 d 0 h left$/);
    await workbenchCase(workbench, requestId);
    await expect(workbench.locator('[data-testid=criteria] tr[data-code="ALL-2"]').textContent()).resolves.toContain('MedicationRequest/ra-tnf-ada');
    await expect(workbench.locator('[data-testid=answers] tr[data-link-id="ra-baseline-doc.text"]').textContent()).resolves.toContain('Adalimumab is being stopped');
    await screenshot(workbench, 'review-case');
    await workbench.click('#approve');
    await workbench.waitForSelector('#case[data-status="approved"]');
    await expect(workbench.locator('#decision-result').textContent()).resolves.toMatch(/^Approved: authorization KPA-[0-9A-Z]{10}\.$/);
    const number = /KPA-[0-9A-Z]{10}/.exec((await workbench.locator('#decision-result').textContent())!)![0];

    // The DTR app sees the decision on refresh; so does the EHR.
    await app.click('#refresh-authorization');
    await app.waitForSelector('#authorization[data-status="approved"]');
    await expect(app.locator('[data-testid=authorization-number]').textContent()).resolves.toBe(number);
    await ehr.click('#check-pa');
    await ehr.waitForSelector('[data-testid=prior-auth][data-status="approved"]');
    await expect(ehr.locator('[data-testid=prior-auth][data-status="approved"]').textContent()).resolves.toContain(number);

    // A new order for the same member: the authorization is on file; nothing to document.
    await ehr.click('#renew');
    await ehr.waitForSelector('#hook-status:has-text("New draft order")');
    await ehr.click('#sign');
    await ehr.waitForSelector('[data-testid=card] h3:has-text("Prior authorization on file")', { timeout: 30_000 });
    const cards = await ehr.locator('[data-testid=card] h3').allTextContents();
    expect(cards.join(' | ')).not.toContain('Prior authorization required');
    await expect(ehr.locator('[data-testid=card] .detail').first().textContent()).resolves.toContain(number);
    expect(await ehr.locator('[data-testid=smart-link]').count()).toBe(0);
    await expect(ehr.locator('#exchange').textContent()).resolves.toContain('"satisfied-pa-id"');
    await screenshot(ehr, 'sandbox-on-file');
    await app.close();
    await workbench.close();
  });
});

test('a reviewer signs in to the workbench and denies a pended request with a reason and the letter text; $inquire shows A3', async () => {
  await journey(h, 'workbench-deny', async (context) => {
    const s = scenario('prescriber-not-specialist-no-consultation-not-met');
    const q = h.services.content.questionnaire;
    const qr = answer(q, await populateScenario(h.services.engine, q, s), s.answers ?? []);
    const client: Principal = { kind: 'smart-client', clientId: 'browser-test-ehr', scopes: ['system/Claim.c', 'system/ClaimResponse.r'] };
    const submitted = await submitOperation(pasBundle(s, qr, { identifier: 'PA-deny-1' }), h.services, client);
    expect(submitted.status).toBe(200);
    const requestId = ((submitted.body as Bundle).entry![0].resource as ClaimResponse).id!;

    // Signed out: a fresh browser context has no reviewer's session cookie.
    const page = await context.newPage();
    await page.goto(`${h.base}/review/`);
    await page.waitForSelector('body[data-ready="login"]');
    await page.fill('#login-id', 'dr-park');
    await page.fill('#login-password', 'not the password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:has-text("not right")');
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('body[data-ready="true"]');
    await workbenchCase(page, requestId);
    await expect(page.locator('[data-testid=reasons]').textContent()).resolves.toContain('(PRESC), not met');

    // A reason is required; then the letter.
    await page.fill('#deny-letter', 'Kineret is prescribed without a rheumatologist, geneticist or dermatologist, and no consultation notes were sent.');
    await page.click('#deny');
    await page.waitForSelector('#decision-result.error');
    await page.selectOption('#deny-reason', 'prescriber');
    await page.click('#deny');
    await page.waitForSelector('#case[data-status="denied"]');
    await expect(page.locator('[data-testid=decisions]').textContent()).resolves.toContain('deny by Dr. Lee Park, MD');

    const inquiry = await inquireOperation(inquiryBundle(s, { identifier: 'PA-deny-1' }), h.services, client);
    const cr = (inquiry.body as Bundle).entry!.map((e) => e.resource).find((r): r is ClaimResponse => r?.resourceType === 'ClaimResponse')!;
    const code = cr.item![0].adjudication![0].extension!.find((e) => e.url === PAS.reviewAction)!.extension!.find((e) => e.url === PAS.reviewActionCode)!.valueCodeableConcept!.coding![0].code;
    expect(code).toBe('A3');
    expect(cr.processNote![0].text).toMatch(/^Kineret is prescribed without a rheumatologist/);
    await page.close();
  });
});

test('opened again from the EHR, the app shows the pended request for the order; the new submission replaces it (one request, not two); a decided one is information; a plan that cannot be asked is no dead end', async () => {
  await journey(h, 'pas-resume', async (context) => {
    const openFor = async (patient: string) => (await h.services.pas.queue()).filter((r) => r.patientRef === `Patient/${patient}`);
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-mtx', { prefetch: true });
    const first = (await launchFromCard(context, ehr)).app;
    expect(await first.locator('body').getAttribute('data-ready')).toBe('true');
    expect(await first.locator('body').getAttribute('data-earlier')).toBe('none');
    // Submitted with the attestations unanswered: pended, information missing.
    await answerBoolean(first, 'no-active-infection', true);
    expect(await submit(first)).toMatchObject({ decision: 'pended', outcome: 'missing' });
    await expect(first.locator('[data-testid=authorization-status]').textContent()).resolves.toBe('PENDED FOR REVIEW');
    await expect(first.locator('[data-testid=authorization-next]').textContent()).resolves.toContain('the app finds this request and the submission updates it');
    const pended = await openFor('ra-mtx');
    expect(pended).toHaveLength(1);
    await first.close();

    // The clinician opens the documentation again from the order's card: the earlier request, and what submitting does.
    const second = (await launchFromCard(context, ehr)).app;
    expect(await second.locator('body').getAttribute('data-ready')).toBe('true');
    expect(await second.locator('body').getAttribute('data-earlier')).toBe('replaces');
    await expect(second.locator('#status').textContent()).resolves.toContain('An earlier request for this order is still open at the plan (shown below): submitting updates it.');
    await expect(second.locator('#authorization[data-status="pended"] [data-testid=authorization-earlier]').textContent()).resolves.toContain('Submitting this documentation updates that request');
    await expect(second.locator('[data-testid=authorization-notes]').textContent()).resolves.toContain('information missing');
    // Refresh asks the plan for that request by its identifier.
    await second.click('#refresh-authorization');
    await second.waitForSelector('#status:has-text("The plan\'s answer was checked")', { timeout: 20_000 });
    await expect(second.locator('[data-testid=authorization-earlier]').getAttribute('data-earlier')).resolves.toBe('replaces');

    // Now with every answer the plan needs: approved, and the earlier request replaced, not left open beside it.
    const filled = await marks(second);
    for (const answer of scenario('ra-mtx-failure-approved').answers!) {
      if (filled[answer.linkId] !== 'auto') await answerScripted(second, answer);
    }
    // The first attempt fails after the plan filed the request ($evaluate busy); the retry is the same request,
    // Claim.related included, which the plan answers from its record.
    const evaluate = /\/fhir\/QuestionnaireResponse\/\$evaluate/;
    await second.route(evaluate, (r) => r.fulfill({ status: 503, contentType: 'application/fhir+json', body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'determination service busy' }] }) }));
    await second.click('#submit');
    await second.waitForSelector('[data-testid=error]:has-text("determination service busy")', { timeout: 30_000 });
    await second.unroute(evaluate);
    expect(await submit(second)).toMatchObject({ decision: 'approved', outcome: 'approved' });
    await expect(second.locator('[data-testid=authorization-status]').textContent()).resolves.toBe('APPROVED');
    await expect(second.locator('[data-testid=authorization-replaced]').textContent()).resolves.toMatch(/^This request replaces the earlier request urn:uuid:[0-9a-f-]{36}, which the plan has closed\.$/);
    expect(await second.locator('[data-testid=authorization-earlier]').count()).toBe(0);
    const earlier = await h.services.pas.byId(pended[0].id, { all: true });
    expect(earlier).toMatchObject({ status: 'replaced' });
    await expect(h.services.pas.byId(earlier!.replacedBy!, { all: true })).resolves.toMatchObject({ status: 'approved', replaces: pended[0].id, patientRef: 'Patient/ra-mtx' });
    expect(await openFor('ra-mtx')).toEqual([]);
    await second.close();

    // Opened once more: the decided request is shown for information; submitting would not replace it.
    const third = (await launchFromCard(context, ehr)).app;
    expect(await third.locator('body').getAttribute('data-earlier')).toBe('information');
    await expect(third.locator('#authorization[data-status="approved"] [data-testid=authorization-earlier]').textContent()).resolves.toContain('does not change that decision');
    await third.close();

    // The plan cannot be asked: the app says so, and the form is ready to work on and submit.
    await context.route('**/fhir/Claim/$inquire', (route) => route.fulfill({ status: 503, contentType: 'application/fhir+json', body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'the plan is down for maintenance' }] }) }));
    const fourth = (await launchFromCard(context, ehr)).app;
    expect(await fourth.locator('body').getAttribute('data-ready')).toBe('true');
    expect(await fourth.locator('body').getAttribute('data-earlier')).toBe('failed');
    await expect(fourth.locator('#authorization[data-status="unchecked"] [data-testid=authorization-earlier]').textContent()).resolves.toContain('could not check with the plan for an earlier request for this order: HTTP 503: the plan is down for maintenance. You can still document and submit.');
    await expect(fourth.locator('#submit').isEnabled()).resolves.toBe(true);
    await fourth.close();
  });
});

test('the reviewer asks for more information: opened again, the app shows what was asked; decided while the clinician documents, the update is refused, the decision shown, and Submit then sends a new request', async () => {
  await journey(h, 'pas-resume-decided-meanwhile', async (context) => {
    const requests = async (patient: string) => (await h.services.pas.queue()).filter((r) => r.patientRef === `Patient/${patient}`);
    const reviewer = { id: 'dr-park', name: 'Dr. Lee Park, MD', npi: '1234567893', specialty: null };
    const decide = async (id: string, action: ReviewerAction) => {
      const request = (await h.services.pas.byId(id, { all: true }))!;
      const { update, decision } = applyReviewerAction(request, action, reviewer, new Date().toISOString());
      await h.services.pas.decide(request.id, request.version, update, decision);
    };
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-hcq', { prefetch: false });
    const first = (await launchFromCard(context, ehr)).app;
    await answerBoolean(first, 'no-active-infection', true);
    expect(await submit(first)).toMatchObject({ decision: 'pended' });
    await first.close();
    const [pended] = await requests('ra-hcq');
    await decide(pended.id, { action: 'request-info', text: 'Send the hydroxychloroquine trial dates and the reason it was stopped.' });

    const second = (await launchFromCard(context, ehr)).app;
    expect(await second.locator('body').getAttribute('data-earlier')).toBe('replaces');
    await expect(second.locator('[data-testid=authorization-notes]').textContent()).resolves.toContain('More information requested by the plan\'s clinical reviewer Dr. Lee Park, MD: Send the hydroxychloroquine trial dates');
    await answerBoolean(second, 'no-hypersensitivity', true);
    // Meanwhile the reviewer decides the request after all.
    await decide(pended.id, { action: 'deny', reasonCode: 'documentation', letter: 'The documentation of the hydroxychloroquine trial was not sent within the time allowed.' });
    await second.click('#submit');
    await second.waitForSelector('[data-testid=unanswered], [data-testid=error]', { timeout: 30_000 });
    if (await second.locator('[data-testid=unanswered]').count()) await second.click('[data-testid=submit-anyway]');
    await second.waitForSelector('[data-testid=error]:has-text("decided or closed at the plan")', { timeout: 30_000 });
    await second.waitForSelector('#authorization[data-status="denied"] [data-testid=authorization-earlier][data-earlier="information"]', { timeout: 20_000 });
    await expect(second.locator('#actions').isHidden()).resolves.toBe(false);
    // Submit again: a new request, which leaves the decided one as it is.
    const again = await submit(second);
    expect(again.decision).toBe('pended');
    await expect(second.locator('[data-testid=authorization-status]').textContent()).resolves.toBe('PENDED FOR REVIEW');
    expect(await second.locator('[data-testid=authorization-replaced]').count()).toBe(0);
    await expect(h.services.pas.byId(pended.id, { all: true })).resolves.toMatchObject({ status: 'denied', replacedBy: null });
    const open = await requests('ra-hcq');
    expect(open.map((r) => [r.status, r.replaces])).toEqual([['pended', null]]);
    await second.close();
  });
});
