import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Extension, FhirResource, MedicationRequest } from 'fhir/r4';
import { CRD } from '../../src/constants';
import { criterionTitle } from '../../src/core/criteria';
import { ROOT } from '../../src/paths';
import { GUIDELINE_SUMMARY, NO_COVERAGE_SUMMARY, PA_SUMMARY, UNDETERMINED_SUMMARY } from '../../src/crd/cards';
import type { Card, HookResponse, Link, SystemAction } from '../../src/crd/types';
import { fixedClock } from '../../src/core/clock';
import { corpusDate, loadScenarios, type ScenarioFile } from '../corpus';
import { fullPrefetch, orderSignRequest, searchset, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { startFhirStub } from '../support/fhir-stub';
import { cardType, criteriaOnCards as readCriteria } from '../support/cards';

let t: TestApp;
/** The same service on a plan where Kineret is non-preferred (KINERET_NON_PREFERRED), for the scenarios written for one. */
let nonPreferred: TestApp;
beforeAll(async () => {
  nonPreferred = await startTestApp({ PUBLIC_BASE_URL: 'http://cds.test', KINERET_NON_PREFERRED: 'true' }, { clock: fixedClock(corpusDate()) });
  // The service evaluates at its clock's today: the corpus's own date, whatever the day the suite runs.
  t = await startTestApp({ PUBLIC_BASE_URL: 'http://cds.test', HOOK_BUDGET_MS: '1500', FHIR_TIMEOUT_MS: '1000' }, { clock: fixedClock(corpusDate()) });
  // Two services start here (ELM, value sets, content): on a loaded machine that takes longer than Jest's 5 s default.
}, 60_000);
afterAll(async () => {
  await t.services.store.close();
  await nonPreferred.services.store.close();
});
const scenarios = loadScenarios();
const byName = (name: string): ScenarioFile => scenarios.find((s) => s.name === name)!;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const post = (path: string, body: unknown) => t.post(path, body);


function coverageInfoOf(action: SystemAction): Extension {
  const ext = (action.resource.extension ?? []).filter((e) => e.url === CRD.coverageInformationUrl);
  expect(ext).toHaveLength(1);
  return ext[0];
}
const sub = (ext: Extension, url: string) => (ext.extension ?? []).filter((e) => e.url === url);

function criteriaOnCards(cards: Card[]): Record<string, string> {
  const { statuses, repeated } = readCriteria(cards);
  expect(repeated).toEqual([]);
  return statuses;
}

/** Checklist section 7 rules that apply to every card and action this service returns. */
function checkResponseShape(body: HookResponse, hook: 'order-sign' | 'order-select' = 'order-sign'): void {
  expect(Array.isArray(body.cards)).toBe(true);
  for (const card of body.cards as Card[]) {
    expect(card.uuid).toMatch(UUID);
    expect(card.summary.length).toBeLessThanOrEqual(139);
    expect(card.summary.length).toBeGreaterThan(0);
    expect(['info', 'warning', 'critical']).toContain(card.indicator);
    expect(card.source.label).toBe('Molina Healthcare');
    expect(card.source.topic?.system).toBe(CRD.tempCodeSystem);
    expect(['coverage-info', 'guideline', 'off-guideline']).toContain(card.source.topic?.code);
    expect(['instructions', 'launch-smart-app', 'external-reference']).toContain(cardType(card));
    // Readable where markdown tables, headings and inline links are not rendered (the request generator, EHRs): paragraphs and lists only.
    expect({ summary: card.summary, table: /^\s*\|/m.test(card.detail ?? ''), heading: /^#/m.test(card.detail ?? ''), link: /\]\(/.test(card.detail ?? '') })
      .toEqual({ summary: card.summary, table: false, heading: false, link: false });
    for (const link of (card.links ?? []) as Link[]) {
      expect(['absolute', 'smart']).toContain(link.type);
      expect(['Complete the Kineret prior authorization documentation (DTR)', 'Kineret (anakinra) coverage guideline']).toContain(link.label);
      expect(() => new URL(link.url)).not.toThrow();
      if (link.type === 'absolute') expect(link.appContext).toBeUndefined();
    }
    for (const [k, v] of Object.entries(card)) {
      expect({ k, empty: v === null || v === '' || (Array.isArray(v) && v.length === 0) }).toEqual({ k, empty: false });
    }
  }
  // order-sign always answers with the systemActions array (empty when there is no coverage information to give).
  if (hook === 'order-sign') expect(Array.isArray(body.systemActions)).toBe(true);
  for (const action of body.systemActions ?? []) {
    expect(action.type).toBe('update');
    expect(action.description.length).toBeGreaterThan(0);
    expect(action.resource.resourceType).toBe('MedicationRequest');
  }
}

describe('discovery', () => {
  it('serves cds-services.json with both services and CDS Hooks 2.0 prefetch tokens only', async () => {
    const res = await request(t.app).get('/cds-services');
    expect(res.status).toBe(200);
    const ids = res.body.services.map((s: { id: string; hook: string }) => `${s.id}:${s.hook}`);
    expect(ids).toEqual(['crd-order-sign:order-sign', 'crd-order-select:order-select']);
    const declared = JSON.parse(readFileSync(path.join(ROOT, 'cds-services.json'), 'utf8')) as { services: unknown[] };
    expect(res.body).toEqual(declared);
    for (const s of res.body.services) {
      for (const template of Object.values(s.prefetch ?? {}) as string[]) {
        for (const token of template.match(/\{\{[^}]*\}\}/g) ?? []) {
          expect(['{{context.patientId}}', '{{context.userId}}', '{{context.encounterId}}', '{{userPractitionerId}}',
            '{{userPractitionerRoleId}}', '{{userPatientId}}', '{{userRelatedPersonId}}']).toContain(token);
        }
      }
      const options = s.extension[CRD.configurationOptions];
      for (const o of options) expect(Object.keys(o).sort()).toEqual(['code', 'default', 'description', 'name', 'type']);
    }
  });

  it('answers CORS preflight for browser clients', async () => {
    const res = await request(t.app).options('/cds-services/crd-order-sign').set('Origin', 'https://sandbox.cds-hooks.org')
      .set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
  });
});

describe('order-sign over the corpus (full prefetch)', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_n, s) => {
    const res = await (s.options?.nonPreferred ? nonPreferred : t).post('/cds-services/crd-order-sign', orderSignRequest(s));
    expect(res.status).toBe(200);
    const body = res.body as HookResponse;
    checkResponseShape(body);
    const failing = Object.entries(s.record.criteria).filter(([, st]) => st === 'not-met');
    const failingTitles = failing.map(([code]) => criterionTitle(code));
    const cut = (t: string) => (t.length <= 139 ? t : `${t.slice(0, 138)}…`);
    // The coverage for the order: none when the scenario's plan is unknown (no active coverage for the drug).
    const hasCoverage = !s.record.planUnknown && (s.bundle.entry ?? []).some((e) => e.resource?.resourceType === 'Coverage');
    // The card set, most urgent first: no coverage, criteria not met, the PA card, the guideline.
    expect(body.cards.map((c) => c.summary)).toEqual([
      ...(hasCoverage ? [] : [NO_COVERAGE_SUMMARY]),
      ...(failingTitles.length ? [cut(`Kineret (anakinra) criteria not met on the record: ${failingTitles.join(', ')}`)] : []),
      ...(hasCoverage ? [PA_SUMMARY] : []),
      GUIDELINE_SUMMARY,
    ]);
    expect(body.cards.map(cardType)).toEqual([
      ...(hasCoverage ? [] : ['instructions']),
      ...(failingTitles.length ? ['instructions'] : []),
      ...(hasCoverage ? ['launch-smart-app'] : []),
      'external-reference',
    ]);
    const guideline = body.cards[body.cards.length - 1];
    expect(guideline.links).toEqual([{ label: 'Kineret (anakinra) coverage guideline', url: 'http://cds.test/policy/kineret-anakinra', type: 'absolute' }]);
    // Every criterion is on the cards once, with the status the corpus expects from the record, as the determination does.
    expect(criteriaOnCards(body.cards)).toEqual(Object.fromEntries(Object.entries(s.record.criteria)
      .filter(([, st]) => hasCoverage || st === 'not-met')
      .map(([code, st]) => [criterionTitle(code), st])));
    const warning = body.cards.find((c) => c.indicator === 'warning' && c.source.topic?.code === 'off-guideline');
    expect(Boolean(warning)).toBe(failing.length > 0);
    if (!hasCoverage) {
      expect(body.systemActions).toEqual([]);
      expect(body.cards.some((c) => (c.links ?? []).some((l) => l.type === 'smart'))).toBe(false);
      return;
    }
    const pa = body.cards.find((c) => c.summary === PA_SUMMARY)!;
    expect(pa.indicator).toBe('info');
    expect(pa.links!.map((l) => l.type)).toEqual(['smart']);
    expect(new URLSearchParams(pa.links![0].appContext).get('order')).toBe('MedicationRequest/kineret-order');
    expect(body.systemActions).toHaveLength(1);
    const action = body.systemActions![0];
    const { extension: _ext, ...echoed } = action.resource;
    const { extension: _orig, ...original } = splitScenario(s).order;
    expect(echoed).toEqual(original);
    const info = coverageInfoOf(action);
    expect(sub(info, 'coverage')[0].valueReference?.reference).toBe(s.record.coverageReference ?? 'Coverage/cov');
    expect(sub(info, 'covered')[0].valueCode).toBe('covered');
    expect(sub(info, 'pa-needed')[0].valueCode).toBe('auth-needed');
    expect(sub(info, 'doc-needed')[0].valueCode).toBe('clinical');
    expect(sub(info, 'doc-purpose')[0].valueCode).toBe('withpa');
    expect(sub(info, 'reason')[0].valueCodeableConcept).toEqual({ text: 'Kineret (anakinra) requires prior authorization under the Molina Healthcare Kineret coverage guideline; clinical documentation is collected through DTR.' });
    expect(sub(info, 'questionnaire')[0].valueCanonical).toBe('http://cds.test/fhir/Questionnaire/kineret-pa|1.0.0');
    expect(sub(info, 'date')[0].valueDate).toBe(s.evaluationDate);
    expect(sub(info, 'coverage-assertion-id')).toHaveLength(1);
    expect(sub(info, 'coverage-assertion-id')[0].valueString).toMatch(UUID);
    for (const once of ['coverage', 'covered', 'date', 'coverage-assertion-id']) expect(sub(info, once)).toHaveLength(1);
    expect(sub(info, 'satisfied-pa-id')).toHaveLength(0);
  });
});

describe('order-sign behaviour', () => {
  const s = byName('concurrent-tnf-not-met');
  const { record } = splitScenario(s);

  it('a non-Kineret order gets no cards and no system actions, and queries nothing', async () => {
    const stub = await startFhirStub(record);
    t.allowFhirServer(stub.url);
    try {
      const req = orderSignRequest(s, { prefetch: {}, fhirServer: stub.url });
      const order = req.context.draftOrders.entry[0].resource as MedicationRequest;
      order.medicationCodeableConcept = { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '6851', display: 'methotrexate' }] };
      const res = await post('/cds-services/crd-order-sign', req);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ cards: [], systemActions: [] });
      expect(stub.requests).toEqual([]);
    } finally {
      await stub.close();
    }
  });

  it('acts only on the Kineret orders among several, and names them', async () => {
    const req = orderSignRequest(s);
    const other: MedicationRequest = { resourceType: 'MedicationRequest', id: 'other', status: 'draft', intent: 'order', subject: { reference: `Patient/${splitScenario(s).patientId}` },
      medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '5521', display: 'hydroxychloroquine' }] } };
    req.context.draftOrders.entry.push({ resource: other as never });
    const res = await post('/cds-services/crd-order-sign', req);
    expect(res.body.systemActions).toHaveLength(1);
    expect(res.body.systemActions[0].resource.id).toBe('kineret-order');
    const pa = res.body.cards.find((c: Card) => c.summary === PA_SUMMARY);
    expect(pa.detail).toContain('MedicationRequest/kineret-order');
    expect(pa.detail).not.toContain('MedicationRequest/other');
    for (const c of res.body.cards as Card[]) expect(c.extension?.['davinci-crd.associated-resource']).toEqual(['MedicationRequest/kineret-order']);
  });

  it('fetches what the prefetch lacks from fhirServer (absent, partial, OperationOutcome), code-filtered and paginated', async () => {
    const stub = await startFhirStub(record, { pageSize: 1 });
    t.allowFhirServer(stub.url);
    try {
      const expected = (await post('/cds-services/crd-order-sign', orderSignRequest(s))).body as HookResponse;
      const full = fullPrefetch(record);
      const variants: Record<string, Record<string, unknown> | undefined> = {
        absent: {},
        partial: { patient: full.patient, coverage: full.coverage },
        operationOutcome: { ...full, medicationRequests: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] } },
      };
      for (const [name, prefetch] of Object.entries(variants)) {
        stub.requests.length = 0;
        const res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch, fhirServer: stub.url }));
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
        expect(res.body.cards.map((c: Card) => c.summary)).toEqual(expected.cards.map((c) => c.summary));
        expect(res.body.cards[0].detail).toEqual(expected.cards[0].detail);
        expect(res.body.systemActions).toHaveLength(1);
        if (name === 'absent') {
          expect(stub.requests.some((u) => u.startsWith('/fhir/Condition?patient=') && u.includes('code='))).toBe(true);
          expect(stub.requests.some((u) => u.startsWith('/fhir/Observation?patient=') && u.includes('code='))).toBe(true);
          expect(stub.requests.some((u) => u.includes('_offset='))).toBe(true);
        }
        if (name === 'operationOutcome') expect(stub.requests.every((u) => u.startsWith('/fhir/MedicationRequest?') || u.startsWith('/fhir/Organization/'))).toBe(true);
      }
    } finally {
      await stub.close();
    }
  });

  it('null prefetch values mean "no data": unknown criteria, not a refetch and not a 412', async () => {
    const full = fullPrefetch(record);
    const res = await post('/cds-services/crd-order-sign', orderSignRequest(s, {
      prefetch: { ...full, conditions: null, medicationRequests: null, observations: null },
    }));
    expect(res.status).toBe(200);
    expect(res.body.cards.map((c: Card) => c.summary)).toEqual([PA_SUMMARY, GUIDELINE_SUMMARY]);
    expect(res.body.cards[0].detail).toContain('The record suggests not determined, initial request.');
  });

  it('answers 412 only when data cannot be had: prefetch incomplete and no fhirServer', async () => {
    const res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: { patient: fullPrefetch(record).patient } }));
    expect(res.status).toBe(412);
    expect(res.body.error).toBe('prefetch-incomplete');
    expect(res.body.message).toMatch(/Condition/);
  });

  it('a record without Coverage: a card saying what to do, no DTR link and no coverage-information action (exact)', async () => {
    const full = fullPrefetch(record);
    const res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: { ...full, coverage: searchset([]) } }));
    expect(res.status).toBe(200);
    expect(res.body.systemActions).toEqual([]);
    const cards = res.body.cards as Card[];
    expect(cards.map((c) => [c.summary, c.indicator, c.source.topic?.code, cardType(c)])).toEqual([
      [NO_COVERAGE_SUMMARY, 'warning', 'coverage-info', 'instructions'],
      ['Kineret (anakinra) criteria not met on the record: No concurrent biologic, JAK or PDE4 inhibitor', 'warning', 'off-guideline', 'instructions'],
      [GUIDELINE_SUMMARY, 'info', 'guideline', 'external-reference'],
    ]);
    expect(cards[0].detail).toBe([
      'No active Molina Healthcare coverage was found for this patient, so prior authorization for Kineret (anakinra) cannot be requested yet.',
      '',
      'What to do:',
      "- Verify the patient's eligibility with Molina Healthcare: member ID, plan and coverage dates.",
      "- Add the coverage to the patient's record in the EHR, then sign the order again: the prior authorization card and its documentation form follow.",
      "- If the patient is not covered by Molina Healthcare, this plan's requirements do not apply.",
      '',
      'Order: 0\\.67 ML anakinra 149 MG/ML Prefilled Syringe (MedicationRequest/kineret-order).',
    ].join('\n'));
    expect(JSON.stringify(res.body)).not.toContain('/dtr/launch');
  });

  it.each([
    ['hangs', { delayMs: 5000 }],
    ['answers 500', { failWith: 500 }],
    ['returns garbage', { garbage: true }],
    ['paginates forever', { endlessPages: true, pageSize: 1 }],
  ] as const)('a fhirServer that %s gives an honest "could not determine" within the budget', async (_n, options) => {
    const stub = await startFhirStub(record, options);
    t.allowFhirServer(stub.url);
    try {
      const started = Date.now();
      const res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: {}, fhirServer: stub.url }));
      expect(Date.now() - started).toBeLessThan(t.services.config.hookBudgetMs + 1000);
      expect(res.status).toBe(200);
      checkResponseShape(res.body);
      expect(res.body.systemActions).toEqual([]);
      expect(res.body.cards.map((c: Card) => c.summary)).toEqual([UNDETERMINED_SUMMARY, GUIDELINE_SUMMARY]);
      expect(res.body.cards[0].indicator).toBe('warning');
      expect(res.body.cards.map(cardType)).toEqual(['launch-smart-app', 'external-reference']);
    } finally {
      await stub.close();
    }
  }, 15_000);

  it('finds Kineret through a contained Medication and through a referenced one', async () => {
    const contained = byName('kineret-order-via-contained-medication');
    let res = await post('/cds-services/crd-order-sign', orderSignRequest(contained));
    expect(res.body.systemActions).toHaveLength(1);
    const req = orderSignRequest(s);
    const order = req.context.draftOrders.entry[0].resource as MedicationRequest;
    delete order.medicationCodeableConcept;
    order.medicationReference = { reference: 'Medication/kin-med' };
    const medication: FhirResource = { resourceType: 'Medication', id: 'kin-med', code: { text: 'Kineret' },
      ingredient: [{ itemCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '72435' }] } }] };
    const stub = await startFhirStub([medication]);
    t.allowFhirServer(stub.url);
    try {
      res = await post('/cds-services/crd-order-sign', { ...req, fhirServer: stub.url, fhirAuthorization: { access_token: 't', token_type: 'Bearer', expires_in: 60, scope: 's', subject: 'x' } });
      expect(res.body.systemActions).toHaveLength(1);
      expect(stub.requests).toContain('/fhir/Medication/kin-med');
    } finally {
      await stub.close();
    }
  });

  it('honours davinci-crd.configuration and ignores unknown options', async () => {
    let res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: fullPrefetch(record), extension: { 'davinci-crd.configuration': { 'coverage-info': false, 'made-up': 3 } } }));
    expect(res.status).toBe(200);
    expect(res.body.systemActions).toEqual([]);
    expect(res.body.cards.map((c: Card) => c.source.topic?.code)).toEqual(['off-guideline', 'guideline']);
    res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: fullPrefetch(record), extension: { 'davinci-crd.configuration': { guideline: false, 'off-guideline': false } } }));
    expect(res.body.cards.map((c: Card) => c.summary)).toEqual([PA_SUMMARY]);
    // max-cards keeps the most urgent.
    res = await post('/cds-services/crd-order-sign', orderSignRequest(s, { prefetch: fullPrefetch(record), extension: { 'davinci-crd.configuration': { 'max-cards': 1, guideline: true } } }));
    expect(res.body.cards.map((c: Card) => c.source.topic?.code)).toEqual(['off-guideline']);
    expect(res.body.systemActions).toHaveLength(1);
  });
});

describe('order-select', () => {
  it('gives an info card, no documentation request and no system action', async () => {
    const s = byName('ra-mtx-failure-approved');
    const req = orderSignRequest(s);
    const body = { ...req, hook: 'order-select', context: { ...req.context, selections: ['MedicationRequest/kineret-order'] }, prefetch: undefined };
    const res = await post('/cds-services/crd-order-select', body);
    expect(res.status).toBe(200);
    checkResponseShape(res.body, 'order-select');
    expect(res.body.systemActions).toBeUndefined();
    expect(res.body.cards).toHaveLength(1);
    expect(res.body.cards[0].indicator).toBe('info');
    // A CRD "Instructions" card: detail, no links, no suggestions.
    expect(res.body.cards[0].detail).toBe('Kineret (anakinra) needs prior authorization under the Molina Healthcare Kineret coverage guideline. '
      + 'When the order is signed you will see what the record already shows and can complete the documentation.\n\n'
      + 'Order: 0\\.67 ML anakinra 149 MG/ML Prefilled Syringe (MedicationRequest/kineret-order).');
    expect(res.body.cards[0].links).toBeUndefined();
    expect(res.body.cards[0].suggestions).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('doc-needed');
    const unselected = await post('/cds-services/crd-order-select', { ...body, hookInstance: randomUUID(), context: { ...body.context, selections: ['MedicationRequest/else'] } });
    expect(unselected.body).toEqual({ cards: [] });
  });
});

describe('errors', () => {
  const valid = orderSignRequest(byName('ra-mtx-failure-approved'));
  it('unparsable JSON is 400 with a JSON body (from an authenticated client: nothing is parsed before)', async () => {
    const res = await request(t.app).post('/cds-services/crd-order-sign').set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${await t.cdsJwt('/cds-services/crd-order-sign')}`).send('{"hook": ');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid-json');
  });
  it.each([
    ['no hook', { ...valid, hook: undefined }],
    ['wrong hook', { ...valid, hook: 'patient-view' }],
    ['no hookInstance', { ...valid, hookInstance: undefined }],
    ['no context', { ...valid, context: undefined }],
    ['no patientId', { ...valid, context: { ...valid.context, patientId: undefined } }],
    ['no draftOrders', { ...valid, context: { ...valid.context, draftOrders: undefined } }],
    ['an array body', [valid]],
    ['fhirAuthorization without fhirServer', { ...valid, fhirAuthorization: { access_token: 'x' } }],
  ])('%s is 422 and says what is wrong', async (_n, body) => {
    const res = await post('/cds-services/crd-order-sign', body);
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('invalid-request');
    expect(res.body.message.length).toBeGreaterThan(5);
  });
  it('FHIR content at fault comes with an OperationOutcome', async () => {
    const res = await post('/cds-services/crd-order-sign', { ...valid, context: { ...valid.context, draftOrders: { resourceType: 'Patient' } } });
    expect(res.status).toBe(422);
    expect(res.body.operationOutcome.resourceType).toBe('OperationOutcome');
  });
  it('unknown fields are ignored', async () => {
    const res = await post('/cds-services/crd-order-sign', { ...valid, somethingNew: { a: 1 }, context: { ...valid.context, newContext: 1 } });
    expect(res.status).toBe(200);
  });
  it('an unknown service is 404; a non-JSON content type is 415', async () => {
    expect((await post('/cds-services/nope', valid)).status).toBe(404);
    const token = await t.cdsJwt('/cds-services/crd-order-sign');
    expect((await request(t.app).post('/cds-services/crd-order-sign').set('Content-Type', 'text/plain').set('Authorization', `Bearer ${token}`).send('hi')).status).toBe(415);
  });
});

describe('feedback', () => {
  it('accepts CDS Hooks feedback with 200 and rejects malformed feedback', async () => {
    const ok = await post('/cds-services/crd-order-sign/feedback', { feedback: [{ card: '943118f7-a8da-4681-92fe-1844f8f60f99', outcome: 'accepted', acceptedSuggestions: [], outcomeTimestamp: '2026-11-28T10:00:00Z' }] });
    expect(ok.status).toBe(200);
    const bad = await post('/cds-services/crd-order-sign/feedback', { feedback: 'yes' });
    expect(bad.status).toBe(422);
  });
});
