/**
 * The DTR app's behaviours in a real browser, each as a clinician meets it: where each answer came
 * from and the record entries behind it (by display text and date, opened on click, CQL names only
 * under "details"), what is still needed and the check before submitting, save and resume, the
 * plan's answer in words with the next steps, the stops before any form when there is no active
 * coverage or no order, an order the EHR has no copy of, an EHR that fails mid-way or at save, a
 * payer error, and safe card markdown in the sandbox EHR. Journeys run side by side.
 */
import type { QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import type { BrowserContext, Page } from 'playwright-core';
import { loadScenarios } from '../corpus';
import { journey, screenshot, startHarness, type Harness } from './harness';
import {
  answerBoolean, answerNumber, answerText, attach, criteria, item, launchDirectly, launchFromCard, marks, needsState, openSandbox, patientOf, save, settled,
  signOrder, submit, waitForError, waitForMark,
} from './pages';

jest.setTimeout(240_000);

const ORIGIN_URL = 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin';

let started: Promise<Harness> | null = null;
// Concurrent tests start before beforeAll hooks run: the service and browser start on first use (see journeys.test.ts for the settings).
const harness = () => (started ??= startHarness({ HOOK_BUDGET_MS: '30000', FHIR_TIMEOUT_MS: '20000' }));

afterAll(async () => {
  await (await started)?.close();
});

function find(items: QuestionnaireResponseItem[] | undefined, linkId: string): QuestionnaireResponseItem | undefined {
  for (const i of items ?? []) {
    if (i.linkId === linkId) return i;
    const inner = find(i.item, linkId);
    if (inner) return inner;
  }
  return undefined;
}

function origin(qr: QuestionnaireResponse, linkId: string): { source?: string; author?: string } {
  const ext = find(qr.item, linkId)?.answer?.[0]?.extension?.find((e) => e.url === ORIGIN_URL);
  return {
    source: ext?.extension?.find((e) => e.url === 'source')?.valueCode,
    author: ext?.extension?.find((e) => e.url === 'author')?.extension?.find((e) => e.url === 'practitioner')?.valueReference?.reference,
  };
}

async function savedResponse(h: Harness, app: Page): Promise<QuestionnaireResponse> {
  const id = /QuestionnaireResponse\/([A-Za-z0-9-]+)/.exec((await app.locator('#status').textContent()) ?? '')?.[1];
  expect(id).toBeTruthy();
  const qr = await h.services.sandbox!.fhir.read<QuestionnaireResponse>('QuestionnaireResponse', id!);
  expect(qr).toBeDefined();
  return qr!;
}

async function draftKeys(app: Page): Promise<string[]> {
  return app.evaluate<string[]>("Object.keys(window.localStorage).filter((k) => k.startsWith('kineret-dtr:draft:'))");
}

/** Text on the page a person sees. */
async function visibleText(page: Page): Promise<string> {
  return page.locator('body').innerText();
}

test.concurrent('an approvable RA request: marks and evidence, needed questions, attachments, save, submit, approved with its period, then read-only', async () => {
  const h = await harness();
  await journey(h, 'approved', async (context) => {
    const ehr = await openSandbox(context, h.base);
    const cards = await signOrder(ehr, 'ra-mtx', { prefetch: true });
    expect(cards.join(' | ')).toContain('Prior authorization required for Kineret (anakinra)');
    // Criteria as lists (no tables: renderers without GFM tables show them as they are).
    await expect(ehr.locator('[data-testid=card] .detail ul').first().textContent()).resolves.toContain('Covered indication');
    await screenshot(ehr, 'sandbox-cards');

    const { app } = await launchFromCard(context, ehr);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    await expect(app.locator('#sandbox-banner').textContent()).resolves.toContain('development only');
    const filled = await marks(app);
    for (const linkId of ['request-type', 'indication', 'ra-moderate-severe', 'route-subcutaneous', 'prescriber-specialty', 'weight-kg', 'dose-mg-per-day']) {
      expect(filled[linkId]).toBe('auto');
    }
    // The evidence behind a prefilled answer, for people: display text and date, no CQL names until "details".
    const title = (await app.locator('.dtr-origin[data-link-id="ra-moderate-severe"]').getAttribute('title')) ?? '';
    expect(title).toMatch(/CDAI.*\d{4}-\d{2}-\d{2}/);
    expect(title).not.toContain('KineretPrefill');
    await app.click('.dtr-origin[data-link-id="ra-moderate-severe"]');
    const panel = app.locator('#evidence-ra-moderate-severe');
    const shown = await panel.innerText();
    expect(shown).toContain('Rheumatoid arthritis');
    expect(shown).toMatch(/CDAI\]? \(75847-4\): 28, \d{4}-\d{2}-\d{2}/);
    expect(shown).not.toMatch(/KineretPrefill|Observation\/ra-mtx-cdai/);
    await settled(app);
    await screenshot(app, 'dtr-form-evidence');
    await panel.locator('details summary').click();
    expect(await panel.innerText()).toContain('"KineretPrefill".RAModerateSevere');
    // A record entry opens.
    await panel.locator('a.record-entry', { hasText: 'CDAI' }).click();
    await expect(app.locator('[data-testid=record-entry]').textContent()).resolves.toContain('"id": "ra-mtx-cdai"');
    await app.keyboard.press('Escape');

    // What the plan still needs is marked, and the marks go as the questions are answered.
    const before = await settled(app);
    expect(before).toEqual(expect.arrayContaining(['no-active-infection', 'no-concurrent-biologic', 'no-hypersensitivity', 'ra-baseline-doc', 'ra-mtx-max-dose-not-at-goal']));
    await answerBoolean(app, 'no-active-infection', true);
    await answerBoolean(app, 'no-concurrent-biologic', true);
    await answerBoolean(app, 'no-hypersensitivity', true);
    await answerBoolean(app, 'ra-mtx-max-dose-not-at-goal', true);
    // A two-line summary is shown whole: the text box grows.
    const note = 'CDAI 28 (high) on 2026-10-15, with 8 swollen and 11 tender joints.\nGoal: low disease activity (CDAI <= 10) by 6 months.';
    await answerText(app, 'ra-baseline-doc.text', note);
    const box = item(app, 'ra-baseline-doc.text').locator('textarea');
    const [client, scroll] = await box.evaluate((t: { clientHeight: number; scrollHeight: number }) => [t.clientHeight, t.scrollHeight]);
    expect(scroll).toBeLessThanOrEqual(client + 2);
    await attach(app, 'ra-baseline-doc.file', 'baseline-cdai.txt', 'CDAI 28 on 2026-10-15');
    await answerNumber(app, 'weight-kg', 73);
    await waitForMark(app, 'no-active-infection', 'manual');
    await waitForMark(app, 'weight-kg', 'override');
    expect(await settled(app)).toEqual([]);
    expect(await draftKeys(app)).toHaveLength(1);

    expect(await save(app)).toMatch(/Saved to the EHR as QuestionnaireResponse\//);
    expect(await draftKeys(app)).toHaveLength(0);
    const saved = await savedResponse(h, app);
    expect(saved.status).toBe('in-progress');
    expect(saved.questionnaire).toMatch(/\/fhir\/Questionnaire\/kineret-pa\|/);
    expect((saved.extension ?? []).map((e) => e.valueReference?.reference)).toEqual(expect.arrayContaining(['Coverage/ra-mtx-cov', 'MedicationRequest/ra-mtx-kineret-order']));
    expect(origin(saved, 'indication')).toEqual({ source: 'auto', author: undefined });
    expect(origin(saved, 'weight-kg')).toEqual({ source: 'override', author: 'Practitioner/ra-mtx-dr-rheum' });
    expect(origin(saved, 'no-active-infection')).toEqual({ source: 'manual', author: 'Practitioner/ra-mtx-dr-rheum' });
    expect(find(saved.item, 'ra-baseline-doc.file')?.answer?.[0]?.valueAttachment?.title).toBe('baseline-cdai.txt');
    expect(find(saved.item, 'ra-baseline-doc.text')?.answer?.[0]?.valueString).toBe(note);

    const result = await submit(app);
    expect(result).toMatchObject({ decision: 'approved', outcome: 'approved', headline: 'Approved', unanswered: [] });
    await expect(app.locator('[data-testid=approval-period]').textContent()).resolves.toMatch(/^\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}$/);
    await screenshot(app, 'dtr-approved', app.locator('#determination'));
    const statuses = await criteria(app);
    expect(Object.keys(statuses)).toEqual(expect.arrayContaining(['IND', 'ALL-1', 'ALL-2', 'RA-1', 'RA-2', 'RA-3']));
    expect(Object.values(statuses).every((s) => s === 'met')).toBe(true);
    expect((await savedResponse(h, app)).status).toBe('completed');
    // Read-only, with the next steps.
    await expect(app.locator('#save').isVisible()).resolves.toBe(false);
    await expect(item(app, 'no-active-infection').locator('input').first().isDisabled()).resolves.toBe(true);
    await expect(app.locator('[data-testid=next-steps]').innerText()).resolves.toMatch(/Print or save as PDF[\s\S]*Return to the EHR/);
  });
});

test.concurrent('a criterion not met on the record, the service reading the sandbox FHIR server: resume from the EHR, then the reviewer decides, with each reason and what could change it', async () => {
  const h = await harness();
  await journey(h, 'not-met', async (context) => {
    const ehr = await openSandbox(context, h.base);
    const cards = await signOrder(ehr, 'ra-tnf', { prefetch: false });
    expect(cards.join(' | ')).toContain('Prior authorization required');
    expect(cards.join(' | ')).toContain('criteria not met on the record');

    let { app } = await launchFromCard(context, ehr);
    // The record answers the concurrent-biologic attestation with "no", from the active adalimumab order.
    expect((await marks(app))['no-concurrent-biologic']).toBe('auto');
    await expect(item(app, 'no-concurrent-biologic').locator('label[id$="|false"]').getAttribute('class')).resolves.toContain('checked');
    await expect(app.locator('#evidence-no-concurrent-biologic').innerText()).resolves.toMatch(/adalimumab/i);

    await answerBoolean(app, 'no-active-infection', true);
    await answerBoolean(app, 'no-hypersensitivity', true);
    expect(await save(app)).toMatch(/Saved to the EHR/);
    await app.close();

    // Launched again from the card: the in-progress response on the EHR is resumed.
    ({ app } = await launchFromCard(context, ehr));
    await expect(app.locator('[data-testid=notice]').textContent()).resolves.toContain('Resumed the in-progress documentation');
    expect((await marks(app))['no-active-infection']).toBe('manual');
    await answerBoolean(app, 'ra-mtx-max-dose-not-at-goal', true);
    await answerText(app, 'ra-baseline-doc.text', 'CDAI 28 (high).');

    const result = await submit(app);
    expect(result.decision).not.toBe('approved');
    expect(result).toMatchObject({ outcome: 'not-met', headline: 'Does not meet the guideline as documented: the plan\'s clinical reviewer will decide' });
    expect((await criteria(app))['ALL-2']).toBe('not-met');
    await screenshot(app, 'dtr-not-met', app.locator('#determination'));
    const reason = app.locator('[data-testid=not-met] li[data-criterion="ALL-2"]');
    const text = await reason.innerText();
    expect(text).toMatch(/adalimumab/i);
    expect(text).toContain('What could change it:');
    expect(text).toContain('The guideline asks:');
    // Never "denied": only a person at the plan denies.
    expect(await app.locator('#determination').innerText()).not.toMatch(/\bDENIED\b/);
    await reason.locator('a.record-entry').first().click();
    await expect(app.locator('[data-testid=record-entry]').textContent()).resolves.toContain('"resourceType": "MedicationRequest"');
  });
});

test.concurrent('submitting with questions unanswered: the app lists them by criterion, goes back to one, and submits anyway only when asked; the answer says what is missing', async () => {
  const h = await harness();
  await journey(h, 'unanswered', async (context) => {
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-cam', { prefetch: true });
    const { app } = await launchFromCard(context, ehr);
    await settled(app);
    await app.click('#submit');
    const list = app.locator('[data-testid=unanswered]');
    await list.waitFor();
    await screenshot(app, 'dtr-submit-check');
    expect(await list.locator('li[data-criterion="ALL-1"] a').first().getAttribute('data-link-id')).toBe('no-active-infection');
    // Going back to a question: nothing is submitted, the question is in view.
    await list.locator('a[data-link-id="no-hypersensitivity"]').click();
    await expect(app.locator('[data-testid=decision]').count()).resolves.toBe(0);
    await expect(app.locator('#status').textContent()).resolves.toContain('Not submitted');
    await answerBoolean(app, 'no-hypersensitivity', true);
    expect(await settled(app)).not.toContain('no-hypersensitivity');

    const result = await submit(app);
    expect(result.unanswered).toEqual(expect.arrayContaining(['no-active-infection', 'no-concurrent-biologic', 'ra-baseline-doc']));
    expect(result.unanswered).not.toContain('no-hypersensitivity');
    expect(result).toMatchObject({ outcome: 'missing', headline: 'Pended: information is missing' });
    await expect(app.locator('[data-testid=missing] li[data-criterion="ALL-1"]').innerText()).resolves.toContain('What could change it:');
  });
});

test.concurrent('no active coverage: launched anyway, the app says what to do before any form is shown', async () => {
  const h = await harness();
  const scenario = loadScenarios().find((s) => !(s.bundle.entry ?? []).some((e) => e.resource?.resourceType === 'Coverage')
    && (s.bundle.entry ?? []).some((e) => e.resource?.resourceType === 'MedicationRequest' && (e.resource as { status?: string }).status === 'draft'));
  expect(scenario).toBeDefined();
  const patientId = patientOf(scenario!);
  const orderId = h.services.sandbox!.ehr.patients().find((p) => p.patientId === patientId)!.draftOrders[0].id;
  await journey(h, 'no-coverage', async (context) => {
    const app = await launchDirectly(context, h.base, { patientId, orderId, appContext: `order=MedicationRequest/${orderId}` });
    expect(await app.locator('body').getAttribute('data-ready')).toBe('blocked');
    const gate = app.locator('[data-testid=gate]');
    await expect(gate.getAttribute('data-gate')).resolves.toBe('no-coverage');
    const text = await gate.innerText();
    expect(text).toContain('No active coverage was found for this patient');
    expect(text).toMatch(/Verify the member's eligibility[\s\S]*Add or update the member's coverage in the EHR[\s\S]*Sign the Kineret order again/);
    await expect(app.locator('lhc-item').count()).resolves.toBe(0);
    await expect(app.locator('#submit').isVisible()).resolves.toBe(false);
    expect(await visibleText(app)).not.toMatch(/HTTP 4\d\d/);
  });
});

test.concurrent('an order the EHR has no copy of: the app takes it as the plan recorded it at signing; never signed, it says what to do', async () => {
  const h = await harness();
  await journey(h, 'order-from-plan', async (context) => {
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-hcq', { prefetch: true });
    // The EHR answers 404 for the draft order (a draft it never saved), as the CDS Hooks sandbox's request-123.
    await hideOrder(context, 'ra-hcq-kineret-order');
    const { app } = await launchFromCard(context, ehr);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    await expect(app.locator('[data-testid=order]').textContent()).resolves.toContain('as the plan recorded it');
    expect((await marks(app))['route-subcutaneous']).toBe('auto');
  });
  await journey(h, 'order-unknown', async (context) => {
    await hideOrder(context, 'ra-short-kineret-order');
    // Never signed: no hook call recorded it.
    const app = await launchDirectly(context, h.base, { patientId: 'ra-short', orderId: 'ra-short-kineret-order', appContext: 'order=MedicationRequest/ra-short-kineret-order&coverage=Coverage/ra-short-cov' });
    expect(await app.locator('body').getAttribute('data-ready')).toBe('blocked');
    await expect(app.locator('[data-testid=gate]').getAttribute('data-gate')).resolves.toBe('order-not-found');
    await expect(app.locator('[data-testid=gate]').innerText()).resolves.toContain('Sign (or save) the Kineret order in the EHR');
  });
});

async function hideOrder(context: BrowserContext, orderId: string): Promise<void> {
  await context.route(`**/sandbox/fhir/MedicationRequest/${orderId}`, (r) => r.fulfill({
    status: 404, contentType: 'application/fhir+json',
    body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: `MedicationRequest/${orderId} is not known` }] }),
  }));
}

test.concurrent('an EHR that fails mid-way: part of the record cannot be read, the form still opens, says so, and leaves those questions to the clinician', async () => {
  const h = await harness();
  await journey(h, 'ehr-fails', async (context) => {
    const ehr = await openSandbox(context, h.base);
    // Not ra-mtx: the approvable journey above submits for it, and an approved request puts an authorization on file
    // (the card then offers no documentation). Journeys of one file share the service: each submits for its own patient.
    await signOrder(ehr, 'ra-ea', { prefetch: true });
    await context.route(/\/sandbox\/fhir\/Observation\?/, (r) => r.fulfill({ status: 500, contentType: 'text/plain', body: 'database unavailable' }));
    const { app } = await launchFromCard(context, ehr);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    await expect(app.locator('[data-testid=notice]').textContent()).resolves.toContain('Part of the record could not be read from the EHR');
    await expect(app.locator('[data-testid=problems]').innerText()).resolves.toContain('Observation could not be read from the EHR');
    // The disease activity score is an Observation: the severity question is now the clinician's.
    expect((await marks(app))['ra-moderate-severe']).toBeUndefined();
    expect(await settled(app)).toContain('ra-moderate-severe');
  });
});

test.concurrent('an expired EHR session, an unreachable EHR and a payer error each get a clear message, and the typed answers survive a reload', async () => {
  const h = await harness();
  await journey(h, 'failures', async (context) => {
    const ehr = await openSandbox(context, h.base);
    // A patient no concurrent journey documents: requests at the plan are per patient, and another journey's
    // submission would otherwise show here as an earlier request.
    await signOrder(ehr, 'ra-txc', { prefetch: true });
    const { app } = await launchFromCard(context, ehr);
    await answerBoolean(app, 'no-active-infection', true);
    await waitForMark(app, 'no-active-infection', 'manual');

    const writes = /\/sandbox\/fhir\/QuestionnaireResponse/;
    await app.route(writes, (r) => r.fulfill({ status: 401, contentType: 'application/fhir+json', body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'token expired' }] }) }));
    await app.click('#save');
    await waitForError(app, 'EHR session has expired');
    expect(await draftKeys(app)).toHaveLength(1);

    await app.unroute(writes);
    await app.route(writes, (r) => r.abort('connectionrefused'));
    await app.click('#save');
    await waitForError(app, 'EHR could not be reached');
    await app.unroute(writes);

    await app.reload();
    await app.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await expect(app.locator('[data-testid=notice]').textContent()).resolves.toContain('Restored your answers from this device');
    await expect(item(app, 'no-active-infection').locator('label[id$="|true"]').getAttribute('class')).resolves.toContain('checked');
    expect((await marks(app))['no-active-infection']).toBe('manual');

    const evaluate = /\/fhir\/QuestionnaireResponse\/\$evaluate/;
    await app.route(evaluate, (r) => r.fulfill({ status: 503, contentType: 'application/fhir+json', body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'determination service busy' }] }) }));
    await settled(app);
    await app.click('#submit');
    await app.click('[data-testid=submit-anyway]');
    await waitForError(app, 'payer answered with an error');
    await expect(app.locator('[data-testid=error]').textContent()).resolves.toContain('determination service busy');
    await app.unroute(evaluate);
    expect((await submit(app)).outcome).toMatch(/^(approved|not-met|missing|review)$/);
    expect((await needsState(app)).needed).toEqual([]);
  });
});

test.concurrent("the sandbox renders a card's markdown safely: no script runs, no event handler or javascript: link survives", async () => {
  const h = await harness();
  await journey(h, 'markdown', async (context) => {
    const ehr = await openSandbox(context, h.base);
    const hostile = {
      cards: [{
        uuid: 'c1', summary: 'Injected card', indicator: 'critical', source: { label: 'Somewhere', url: 'javascript:alert(1)' },
        detail: '**Bold** <img src="x" onerror="window.__pwned = 1"><script>window.__pwned = 2</script> [click](javascript:window.__pwned=3)\n\n| A | B |\n|---|---|\n| c | d |',
        links: [{ label: 'Script link', url: 'javascript:window.__pwned=4', type: 'absolute' }, { label: 'Policy', url: `${h.base}/policy/kineret-anakinra`, type: 'absolute' }],
      }],
    };
    const service = '**/cds-services/crd-order-sign';
    await ehr.route(service, (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(hostile) }));
    expect(await signOrder(ehr, 'ra-mtx', { prefetch: true })).toEqual(['criticalInjected card']);
    await ehr.unroute(service);
    const card = ehr.locator('[data-testid=card]');
    await expect(card.getAttribute('class')).resolves.toContain('indicator-critical');
    const html = await card.locator('.detail').innerHTML();
    expect(html).toContain('<strong>Bold</strong>');
    expect(html).toContain('<table>');
    expect(html).not.toMatch(/onerror|<script|javascript:/i);
    // The markdown link keeps its text but loses its javascript: target; only the http(s) card link is a link.
    const hrefs = await card.locator('a').evaluateAll((as: { getAttribute(n: string): string | null }[]) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.filter((href) => href !== null)).toEqual([`${h.base}/policy/kineret-anakinra`]);
    expect(await ehr.evaluate('window.__pwned')).toBeUndefined();
  });
});
