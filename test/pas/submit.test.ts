/**
 * PAS Claim/$submit and Claim/$inquire over HTTP, authentication on: an approvable request is
 * certified in total (A1) with an authorization number and period; a request with a criterion
 * unknown or not met is pended (A4) with that criterion as its reason, never denied; retries are
 * idempotent; clients read only their own requests; malformed Bundles get an OperationOutcome.
 */
import type { Bundle, ClaimResponse, Extension, OperationOutcome, Parameters, Questionnaire } from 'fhir/r4';
import request from 'supertest';
import { PAS } from '../../src/constants';
import { fixedClock } from '../../src/core/clock';
import { corpusDate, type ScenarioFile } from '../corpus';
import { caseView, responseOf } from '../../src/pas/case-view';
import { adaptiveClient } from '../support/adaptive';
import { startTestApp, type TestApp } from '../support/app';
import { fhirErrors } from '../support/fhir-validate';
import { inquiryBundle, pasBundle, scenario } from '../support/pas';
import { answer, populateScenario } from '../support/responses';

jest.setTimeout(60_000);
const SUBMIT = '/fhir/Claim/$submit';
const INQUIRE = '/fhir/Claim/$inquire';
const PAS_CLIENT = 'pas-test-ehr';
const OTHER_CLIENT = 'pas-other-ehr';

let t: TestApp;
let q: Questionnaire;
let token: string;
let otherToken: string;
beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(`${corpusDate()}T09:30:00Z`) });
  q = t.services.content.questionnaire;
  t.addDtrClient(PAS_CLIENT, ['system/Claim.c', 'system/ClaimResponse.r']);
  t.addDtrClient(OTHER_CLIENT, ['system/Claim.c', 'system/ClaimResponse.r']);
  token = await t.tokenFor(PAS_CLIENT, 'system/Claim.c system/ClaimResponse.r');
  otherToken = await t.tokenFor(OTHER_CLIENT, 'system/Claim.c system/ClaimResponse.r');
});
afterAll(async () => {
  await t.services.store.close();
});

const post = (path: string, body: unknown, bearer = token) =>
  request(t.app).post(path).set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${bearer}`).send(JSON.stringify(body));

async function completed(s: ScenarioFile) {
  return answer(q, await populateScenario(t.services.engine, q, s), s.answers ?? []);
}

function claimResponseOf(bundle: Bundle): ClaimResponse {
  expect(bundle.resourceType).toBe('Bundle');
  expect(bundle.type).toBe('collection');
  const first = bundle.entry![0].resource as ClaimResponse;
  expect(first.resourceType).toBe('ClaimResponse');
  return first;
}

function reviewAction(cr: ClaimResponse): { code?: string; number?: string } {
  const ext = cr.item![0].adjudication![0].extension!.find((e) => e.url === PAS.reviewAction)!;
  const sub = (url: string): Extension | undefined => ext.extension!.find((e) => e.url === url);
  return { code: sub(PAS.reviewActionCode)?.valueCodeableConcept?.coding?.[0]?.code, number: sub('number')?.valueString };
}

const notes = (cr: ClaimResponse) => (cr.processNote ?? []).map((n) => n.text);

describe('Claim/$submit', () => {
  test('an approvable request (ra-mtx-failure-approved) is certified in total with an authorization number and a 6-month period', async () => {
    const s = scenario('ra-mtx-failure-approved');
    const res = await post(SUBMIT, pasBundle(s, await completed(s)));
    expect(res.status).toBe(200);
    const cr = claimResponseOf(res.body);
    expect(reviewAction(cr).code).toBe('A1');
    expect(reviewAction(cr).number).toMatch(/^KPA-[0-9A-Z]{10}$/);
    expect(cr.preAuthRef).toBe(reviewAction(cr).number);
    expect(cr.preAuthPeriod).toEqual({ start: s.evaluationDate, end: '2027-05-28' });
    expect(cr.item![0].extension).toEqual(expect.arrayContaining([
      { url: PAS.itemPreAuthPeriod, valuePeriod: { start: s.evaluationDate, end: '2027-05-28' } },
      { url: PAS.itemPreAuthIssueDate, valueDate: s.evaluationDate },
    ]));
    expect(cr.outcome).toBe('complete');
    expect(cr.use).toBe('preauthorization');
    expect(cr.identifier).toEqual([{ system: 'https://ehr.test/prior-auth', value: 'PA-ra-mtx' }]);
    expect(cr.patient).toEqual({ reference: 'https://ehr.test/fhir/Patient/ra-mtx' });
    // The Patient, insurer, requestor and Coverage are echoed with the request's fullUrls.
    expect(res.body.entry.map((e: { fullUrl: string }) => e.fullUrl)).toEqual([
      `http://payer.test/fhir/ClaimResponse/${cr.id}`,
      'https://ehr.test/fhir/Patient/ra-mtx', 'https://ehr.test/fhir/Organization/payer', 'https://ehr.test/fhir/Practitioner/dr-rheum', 'https://ehr.test/fhir/Coverage/cov',
    ]);
    // PAS 2.0.1 wire shape: no 2.2 reviewer extension; valid FHIR R4.
    expect(cr.extension).toBeUndefined();
    expect(fhirErrors(res.body)).toEqual([]);
  });

  test('one criterion unknown (the approvable RA case without the hypersensitivity attestation) is pended for review with that criterion as its reason', async () => {
    const s = scenario('ra-mtx-failure-approved');
    const qr = answer(q, await populateScenario(t.services.engine, q, s), s.answers!.filter((a) => a.linkId !== 'no-hypersensitivity'));
    expect(qr.status).toBe('completed');
    const res = await post(SUBMIT, pasBundle(s, qr, { identifier: 'PA-ra-mtx-unknown' }));
    expect(res.status).toBe(200);
    const cr = claimResponseOf(res.body);
    expect(reviewAction(cr)).toEqual({ code: 'A4', number: cr.id });
    expect(cr.outcome).toBe('queued');
    expect(cr.preAuthRef).toBeUndefined();
    expect(notes(cr)).toHaveLength(1);
    expect(notes(cr)[0]).toMatch(/\(ALL-CI\), information missing: /);
    expect(cr.item![0].noteNumber).toEqual([1]);
    expect(fhirErrors(res.body)).toEqual([]);
    expect(cr.disposition).toBe('Pended for review by the plan\'s clinical reviewer; a decision is due by 2026-12-05 09:30 UTC (standard: 7 calendar days). No request is denied automatically.');
  });

  test('one criterion not met (concurrent TNF) is pended, never denied; an expedited request is due in 72 hours', async () => {
    const s = scenario('concurrent-tnf-not-met');
    const res = await post(SUBMIT, pasBundle(s, await completed(s), { priority: 'stat' }));
    expect(res.status).toBe(200);
    const cr = claimResponseOf(res.body);
    expect(reviewAction(cr).code).toBe('A4');
    expect(notes(cr)).toEqual([expect.stringMatching(/\(ALL-2\), not met: .*adalimumab/i)]);
    expect(cr.disposition).toContain('due by 2026-12-01 09:30 UTC (expedited: 72 hours)');
    expect(JSON.stringify(res.body)).not.toContain('"A3"');
  });

  test('a retry with the same Claim.identifier is answered from the record: the same ClaimResponse, not a second request', async () => {
    const s = scenario('ra-mtx-intolerance-hcq-trial-approved');
    const body = pasBundle(s, await completed(s));
    const first = await post(SUBMIT, body);
    // Rebuilt by the client: a new transaction identifier and timestamp, the same request.
    const again = await post(SUBMIT, { ...body, timestamp: `${s.evaluationDate}T10:05:00Z`, identifier: { system: 'https://ehr.test/pas-transactions', value: 'T-retry' } });
    expect(again.status).toBe(200);
    expect(again.headers['x-replayed-from']).toBe(claimResponseOf(first.body).id);
    expect(claimResponseOf(again.body)).toEqual(claimResponseOf(first.body));
    const changed = pasBundle(s, await completed(s));
    (changed.entry![0].resource as { priority: unknown }).priority = { coding: [{ code: 'stat' }] };
    const conflict = await post(SUBMIT, changed);
    expect(conflict.status).toBe(422);
    expect(conflict.body.issue[0].code).toBe('duplicate');
    expect(conflict.body.issue[0].diagnostics).toMatch(/already names another request of this client/);
  });

  test('a client without requestedService (one Kineret order in the Bundle) and without Claim.identifier (a Bundle.identifier) is read as meant', async () => {
    const s = scenario('ra-age-18-today');
    const body = pasBundle(s, await completed(s), { omitRequestedService: true });
    delete (body.entry![0].resource as { identifier?: unknown }).identifier;
    const res = await post(SUBMIT, body);
    expect(res.status).toBe(200);
    expect(reviewAction(claimResponseOf(res.body)).code).toBe('A1');
    expect(claimResponseOf(res.body).identifier).toEqual([body.identifier]);
  });
});

describe('the adaptive form\'s response as documentation', () => {
  const adaptive = adaptiveClient(() => t);

  test('an approvable adaptive response (its contained Questionnaire derived from ours) is evaluated as $evaluate evaluates it: certified in total', async () => {
    const s = scenario('ra-mtx-failure-approved');
    const { qr } = await adaptive.complete(s, s.answers ?? []);
    expect(qr.questionnaire).toBe('#adaptive');
    const evaluated = await t.fhirPost('/fhir/QuestionnaireResponse/$evaluate', {
      resourceType: 'Parameters', parameter: [{ name: 'response', resource: qr }, { name: 'data', resource: s.bundle }, { name: 'date', valueDate: s.evaluationDate }],
    });
    expect((evaluated.body as Parameters).parameter!.find((p) => p.name === 'decision')!.valueCode).toBe('approved');
    const res = await post(SUBMIT, pasBundle(s, qr, { identifier: 'PA-ra-mtx-adaptive' }));
    expect(res.status).toBe(200);
    const cr = claimResponseOf(res.body);
    expect(reviewAction(cr).code).toBe('A1');
    expect(cr.preAuthPeriod).toEqual({ start: s.evaluationDate, end: '2027-05-28' });
    // The reviewer's case shows the adaptive response's answers, as it does the standard form's.
    const filed = (await t.services.pas.byId(cr.id!, { all: true }))!;
    expect(responseOf(filed, t.services.content)?.questionnaire).toBe('#adaptive');
    expect(caseView(filed, [], t.services.content, new Date()).answers.map((a) => a.linkId)).toContain('no-hypersensitivity');
  });

  test('a response naming a contained Questionnaire that is not our adaptive form is not taken as ours: the record is evaluated alone, and pended', async () => {
    const s = scenario('ra-mtx-failure-approved');
    const { qr } = await adaptive.complete(s, s.answers ?? []);
    const foreign = structuredClone(qr);
    (foreign.contained!.find((r) => r.resourceType === 'Questionnaire') as Questionnaire).derivedFrom = ['http://other-plan.example/Questionnaire/kineret|1.0.0'];
    const res = await post(SUBMIT, pasBundle(s, foreign, { identifier: 'PA-ra-mtx-foreign' }));
    expect(res.status).toBe(200);
    const cr = claimResponseOf(res.body);
    expect(reviewAction(cr).code).toBe('A4');
    expect(notes(cr).join(' ')).toMatch(/information missing/);
    const decisions = await t.services.pas.decisions(cr.id!);
    expect(JSON.stringify(decisions[0].detail)).toContain('no response to the Kineret questionnaire among the supporting information');
    expect(responseOf((await t.services.pas.byId(cr.id!, { all: true }))!, t.services.content)).toBeUndefined();
  });
});

describe('an updated request (Claim.related) replaces a pended one', () => {
  test('the new request is evaluated; $inquire for the earlier identifier answers with the current one; a decided request cannot be replaced', async () => {
    const s = scenario('concurrent-tnf-not-met');
    const first = claimResponseOf((await post(SUBMIT, pasBundle(s, await completed(s), { identifier: 'PA-tnf-v1' }))).body);
    expect(reviewAction(first).code).toBe('A4');
    const second = await post(SUBMIT, pasBundle(s, await completed(s), { identifier: 'PA-tnf-v2', related: 'PA-tnf-v1', priority: 'stat' }));
    expect(second.status).toBe(200);
    const current = claimResponseOf(second.body);
    const viaOld = await post(INQUIRE, inquiryBundle(s, { identifier: 'PA-tnf-v1' }));
    expect(claimResponseOf(viaOld.body).id).toBe(current.id);
    expect((await t.services.pas.byId(first.id!, { all: true }))!.status).toBe('replaced');
    const again = await post(SUBMIT, pasBundle(s, await completed(s), { identifier: 'PA-tnf-v3', related: 'PA-tnf-v1' }));
    expect(again.status).toBe(422);
    expect(again.body.issue[0].diagnostics).toMatch(/already replaced/);
    const unknown = await post(SUBMIT, pasBundle(s, await completed(s), { identifier: 'PA-tnf-v4', related: 'PA-never-sent' }));
    expect([unknown.status, unknown.body.issue[0].code]).toEqual([422, 'not-found']);
  });
});

describe('Claim/$inquire and ClaimResponse reads', () => {
  test('by identifier, patient and provider: the current ClaimResponse; another client finds nothing; GET ClaimResponse/{id} likewise', async () => {
    const s = scenario('caps-genetic-only');
    const submitted = claimResponseOf((await post(SUBMIT, pasBundle(s, await completed(s)))).body);
    const inquiry = await post(INQUIRE, inquiryBundle(s, { identifier: 'PA-caps-gen' }));
    expect(inquiry.status).toBe(200);
    expect(inquiry.body.meta.profile).toEqual([PAS.inquiryResponseBundleProfile]);
    const found = claimResponseOf(inquiry.body);
    expect(found.id).toBe(submitted.id);
    expect(found.meta!.profile).toEqual([PAS.claimInquiryResponseProfile]);
    expect(reviewAction(found)).toEqual(reviewAction(submitted));
    expect(fhirErrors(inquiry.body)).toEqual([]);
    // Query by example without the identifier: this patient and provider.
    const byPatient = await post(INQUIRE, inquiryBundle(s));
    expect((byPatient.body as Bundle).entry!.filter((e) => e.resource?.resourceType === 'ClaimResponse').map((e) => e.resource!.id)).toEqual([submitted.id]);
    // Another provider, another member: nothing.
    for (const other of [inquiryBundle(s, { npi: '1111111112' }), inquiryBundle(s, { memberId: 'someone-else' })]) {
      const none = await post(INQUIRE, other);
      expect(none.status).toBe(200);
      expect((none.body as Bundle).entry!.map((e) => e.resource!.resourceType)).toEqual(['Patient']);
    }
    const stranger = await post(INQUIRE, inquiryBundle(s, { identifier: 'PA-caps-gen' }), otherToken);
    expect((stranger.body as Bundle).entry!.some((e) => e.resource?.resourceType === 'ClaimResponse')).toBe(false);
    const own = await request(t.app).get(`/fhir/ClaimResponse/${submitted.id}`).set('Authorization', `Bearer ${token}`);
    expect(own.status).toBe(200);
    expect(own.body.id).toBe(submitted.id);
    const theirs = await request(t.app).get(`/fhir/ClaimResponse/${submitted.id}`).set('Authorization', `Bearer ${otherToken}`);
    expect(theirs.status).toBe(404);
    expect((theirs.body as OperationOutcome).issue[0].code).toBe('not-found');
  });

  test('scopes: $submit needs system/Claim.c, $inquire system/ClaimResponse.r', async () => {
    const s = scenario('caps-genetic-only');
    const readOnly = await t.tokenFor(OTHER_CLIENT, 'system/ClaimResponse.r');
    const refused = await post(SUBMIT, pasBundle(s, null), readOnly);
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    const none = await request(t.app).post(SUBMIT).set('Content-Type', 'application/fhir+json').send('{}');
    expect(none.status).toBe(401);
    expect(none.body.resourceType).toBe('OperationOutcome');
  });
});

describe('malformed PAS Bundles get an OperationOutcome naming what is wrong', () => {
  const s = () => scenario('ra-mtx-failure-approved');
  const refused = async (body: unknown, status: number, code: string, text: RegExp, expression?: string) => {
    const res = await post(SUBMIT, body);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const issue = (res.body as OperationOutcome).issue.find((i) => text.test(i.diagnostics ?? ''));
    expect(issue).toBeDefined();
    expect(issue!.code).toBe(code);
    if (expression) expect(issue!.expression).toEqual([expression]);
  };
  const edit = (change: (b: Bundle) => void) => {
    const b = pasBundle(s(), null);
    change(b);
    return b;
  };
  const claim = (b: Bundle) => b.entry![0].resource as unknown as Record<string, unknown>;

  test('not a Bundle', () => refused({ resourceType: 'Claim' }, 400, 'invalid', /must be a PAS Bundle/));
  test('an empty Bundle (the Inferno PAS error test)', () => refused({ resourceType: 'Bundle', type: 'collection', entry: [] }, 422, 'required', /exactly one Claim; this one holds 0/));
  test('a transaction Bundle', () => refused(edit((b) => { b.type = 'transaction'; }), 422, 'invalid', /a PAS request is a collection Bundle/, 'Bundle.type'));
  test('two Claims', () => refused(edit((b) => b.entry!.push({ fullUrl: 'urn:uuid:x', resource: { ...b.entry![0].resource!, id: 'second' } })), 422, 'business-rule', /holds 2/));
  test('a claim, not a preauthorization', () => refused(edit((b) => { claim(b).use = 'claim'; }), 422, 'value', /use "preauthorization"/, 'Bundle.entry[0].resource.use'));
  test('no identifier at all', () => refused(edit((b) => { delete claim(b).identifier; delete b.identifier; }), 422, 'required', /Claim.identifier is required/));
  test('a patient not in the Bundle', () => refused(edit((b) => { claim(b).patient = { reference: 'Patient/nobody' }; }), 422, 'not-found', /Claim.patient \(Patient\/nobody\) is not in the Bundle/, 'Bundle.entry[0].resource.patient'));
  test('no coverage', () => refused(edit((b) => { claim(b).insurance = []; }), 422, 'required', /coverage is required/));
  test('two items', () => refused(edit((b) => { const items = claim(b).item as unknown[]; items.push({ ...(items[0] as object), sequence: 2 }); }), 422, 'not-supported', /one Kineret \(anakinra\) order per request/));
  test('a requested service that is not Kineret', () => refused(edit((b) => {
    const order = b.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as unknown as Record<string, unknown>;
    order.medicationCodeableConcept = { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361', display: 'amlodipine 5 MG Oral Tablet' }] };
  }), 422, 'business-rule', /is not Kineret/));
  test('a resource of another patient', () => refused(edit((b) => {
    const condition = b.entry!.find((e) => e.resource?.resourceType === 'Condition')!.resource as unknown as Record<string, unknown>;
    condition.subject = { reference: 'Patient/someone-else' };
  }), 422, 'business-rule', /one request is about one patient/));
  test('an in-progress QuestionnaireResponse', async () => {
    const qr = await completed(s());
    await refused(pasBundle(s(), { ...qr, status: 'in-progress' }), 422, 'business-rule', /carries the completed documentation/);
  });
  test('an answer that is not FHIR', async () => {
    const qr = structuredClone(await completed(s()));
    (qr.item![0].item ?? qr.item!)[0].answer = [{ valueBoolean: 'yes' as never }];
    const res = await post(SUBMIT, pasBundle(s(), qr));
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[\d+\]\.resource\.item\[0\]/);
  });
});
