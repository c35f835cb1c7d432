/**
 * The whole journey in a real browser: the sandbox EHR signs a draft Kineret order against the CDS
 * service (authentication on), shows the cards, launches the SMART DTR app from the card; the app
 * fills the form from the record in the browser, the clinician answers the attestations, saves the
 * response to the EHR and submits it to the payer, and sees the determination.
 */
import type { QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import type { Page } from 'playwright-core';
import { journey, startHarness, type Harness } from './harness';
import {
  answerBoolean, answerNumber, answerText, attach, criteria, item, launchFromCard, marks, openSandbox, save, signOrder, submit, waitForError, waitForMark,
} from './pages';

jest.setTimeout(90_000);

const ORIGIN_URL = 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
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

async function savedResponse(app: Page): Promise<QuestionnaireResponse> {
  const id = /QuestionnaireResponse\/([A-Za-z0-9-]+)/.exec((await app.locator('#status').textContent()) ?? '')?.[1];
  expect(id).toBeTruthy();
  const qr = await h.services.sandbox!.fhir.read<QuestionnaireResponse>('QuestionnaireResponse', id!);
  expect(qr).toBeDefined();
  return qr!;
}

async function draftKeys(app: Page): Promise<string[]> {
  return app.evaluate<string[]>("Object.keys(window.localStorage).filter((k) => k.startsWith('kineret-dtr:draft:'))");
}

test('an approvable RA request (ra-mtx-failure-approved): card, prepopulated form, attestations, save, submit, approved', async () => {
  await journey(h, 'approved', async (context) => {
    const ehr = await openSandbox(context, h.base);
    const cards = await signOrder(ehr, 'ra-mtx', { prefetch: true });
    expect(cards.join(' | ')).toContain('Prior authorization required for Kineret (anakinra)');
    await expect(ehr.locator('[data-testid=card] .detail table').first().textContent()).resolves.toContain('Covered indication');

    const app = await launchFromCard(context, ehr);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    await expect(app.locator('#sandbox-banner').textContent()).resolves.toContain('development only');
    const filled = await marks(app);
    for (const linkId of ['request-type', 'indication', 'ra-moderate-severe', 'route-subcutaneous', 'prescriber-specialty', 'weight-kg', 'dose-mg-per-day']) {
      expect(filled[linkId]).toBe('auto');
    }
    // The evidence behind a prefilled answer: on hover, and in the side panel.
    await expect(app.locator('.dtr-origin[data-link-id="ra-moderate-severe"]').getAttribute('title')).resolves.toContain('Observation');
    await app.click('.dtr-origin[data-link-id="ra-moderate-severe"]');
    const evidence = (await app.locator('#evidence-ra-moderate-severe').textContent()) ?? '';
    expect(evidence).toContain('Condition/ra-mtx-ra');
    expect(evidence).toContain('Observation/ra-mtx-cdai');

    await answerBoolean(app, 'no-active-infection', true);
    await answerBoolean(app, 'no-concurrent-biologic', true);
    await answerBoolean(app, 'no-hypersensitivity', true);
    await answerBoolean(app, 'ra-mtx-max-dose-not-at-goal', true);
    await answerText(app, 'baseline-evaluation-doc.text', 'CDAI 28 (high). Goal: low disease activity (CDAI <= 10) by 6 months.');
    await attach(app, 'baseline-evaluation-doc.file', 'baseline-cdai.txt', 'CDAI 28 on 2026-10-15');
    await answerNumber(app, 'weight-kg', 73);
    await waitForMark(app, 'no-active-infection', 'manual');
    await waitForMark(app, 'weight-kg', 'override');
    expect(await draftKeys(app)).toHaveLength(1);

    expect(await save(app)).toMatch(/Saved to the EHR as QuestionnaireResponse\//);
    expect(await draftKeys(app)).toHaveLength(0);
    const saved = await savedResponse(app);
    expect(saved.status).toBe('in-progress');
    expect(saved.questionnaire).toMatch(/\/fhir\/Questionnaire\/kineret-pa\|/);
    expect((saved.extension ?? []).map((e) => e.valueReference?.reference)).toEqual(expect.arrayContaining(['Coverage/ra-mtx-cov', 'MedicationRequest/ra-mtx-kineret-order']));
    expect(origin(saved, 'indication')).toEqual({ source: 'auto', author: undefined });
    expect(origin(saved, 'weight-kg')).toEqual({ source: 'override', author: 'Practitioner/ra-mtx-dr-rheum' });
    expect(origin(saved, 'no-active-infection')).toEqual({ source: 'manual', author: 'Practitioner/ra-mtx-dr-rheum' });
    expect(find(saved.item, 'baseline-evaluation-doc.file')?.answer?.[0]?.valueAttachment?.title).toBe('baseline-cdai.txt');

    expect(await submit(app)).toBe('APPROVED');
    await expect(app.locator('[data-testid=approval-period]').textContent()).resolves.toMatch(/^\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}$/);
    const statuses = await criteria(app);
    expect(Object.keys(statuses)).toEqual(expect.arrayContaining(['IND', 'ALL-1', 'ALL-2', 'RA-1', 'RA-2', 'RA-3']));
    expect(Object.values(statuses).every((s) => s === 'met')).toBe(true);
    expect((await savedResponse(app)).status).toBe('completed');
    await app.close();
  });
});

test('a denied request (concurrent-tnf-denied), the service reading the sandbox FHIR server: resume from the EHR, denied with its reason', async () => {
  await journey(h, 'denied', async (context) => {
    const ehr = await openSandbox(context, h.base);
    const cards = await signOrder(ehr, 'ra-tnf', { prefetch: false });
    expect(cards.join(' | ')).toContain('Prior authorization required');
    expect(cards.join(' | ')).toContain('policy criteria not met');

    let app = await launchFromCard(context, ehr);
    // The record answers the concurrent-biologic attestation with "no", from the active adalimumab order.
    expect((await marks(app))['no-concurrent-biologic']).toBe('auto');
    await expect(item(app, 'no-concurrent-biologic').locator('label[id$="|false"]').getAttribute('class')).resolves.toContain('checked');
    await expect(app.locator('#evidence-no-concurrent-biologic').textContent()).resolves.toContain('MedicationRequest/ra-tnf-ada');

    await answerBoolean(app, 'no-active-infection', true);
    await answerBoolean(app, 'no-hypersensitivity', true);
    expect(await save(app)).toMatch(/Saved to the EHR/);
    await app.close();

    // Launched again from the card: the in-progress response on the EHR is resumed.
    app = await launchFromCard(context, ehr);
    await expect(app.locator('[data-testid=notice]').textContent()).resolves.toContain('Resumed the in-progress documentation');
    expect((await marks(app))['no-active-infection']).toBe('manual');
    await answerBoolean(app, 'ra-mtx-max-dose-not-at-goal', true);
    await answerText(app, 'baseline-evaluation-doc.text', 'CDAI 28 (high).');

    expect(await submit(app)).toBe('DENIED');
    expect((await criteria(app))['ALL-2']).toBe('not met');
    await expect(app.locator('[data-testid=criteria] tr[data-code="ALL-2"]').textContent()).resolves.toContain('MedicationRequest/ra-tnf-ada');
    await expect(app.locator('#determination .note').textContent()).resolves.toContain('not an adverse determination');
    await app.close();
  });
});

test('an expired EHR session, an unreachable EHR and a payer error each get a clear message, and the typed answers survive a reload', async () => {
  await journey(h, 'failures', async (context) => {
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-cam', { prefetch: true });
    const app = await launchFromCard(context, ehr);
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
    await app.click('#submit');
    await waitForError(app, 'payer answered with an error');
    await expect(app.locator('[data-testid=error]').textContent()).resolves.toContain('determination service busy');
    await app.unroute(evaluate);
    expect(await submit(app)).toMatch(/^(APPROVED|PENDED|DENIED)$/);
    await app.close();
  });
});

test("the sandbox renders a card's markdown safely: no script runs, no event handler or javascript: link survives", async () => {
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
