/**
 * A new launch of the DTR app finds the earlier request for the same order (web/dtr/earlier.ts): the
 * plan's answer to an inquiry by patient and provider (no identifier) is searched for the request whose
 * item is this order; a pended one is replaced by the next submission, a decided one is information
 * only; another order, or an answer that is not a PAS Bundle, finds nothing. Round trips through the
 * plan's own operations, as the app's payer session (bound to its launch's patient).
 */
import type { Bundle, ClaimResponse, Coverage, MedicationRequest, Patient, Practitioner, Questionnaire } from 'fhir/r4';
import { PAS } from '../../src/constants';
import { fixedClock } from '../../src/core/clock';
import { buildClaimResponse } from '../../src/pas/claim-response';
import { inquireOperation, submitOperation } from '../../src/pas/operations';
import type { Principal } from '../../src/security/principal';
import { lookUpEarlier, pickEarlierRequest } from '../../web/dtr/earlier';
import { buildOrderInquiry, buildPasRequest, readAuthorization } from '../../web/dtr/pas';
import { corpusDate, loadScenarios } from '../corpus';
import { startTestApp, type TestApp } from '../support/app';
import { memberRecord } from '../support/pas';
import { answer, populateScenario } from '../support/responses';

const EHR = 'https://ehr.example/fhir';
const s = loadScenarios().find((x) => x.name === 'ra-mtx-failure-approved')!;
const record = memberRecord(s);
const patient = record.find((r) => r.resourceType === 'Patient') as Patient;
const order = record.find((r) => r.resourceType === 'MedicationRequest') as MedicationRequest;
const coverage = record.find((r) => r.resourceType === 'Coverage') as Coverage;
const prescriber = record.find((r) => r.resourceType === 'Practitioner') as Practitioner;
const ORDER = { ehrBase: EHR, orderId: order.id! };
const session = (patientId: string): Principal => ({
  kind: 'smart-client', clientId: `dtr-app@${EHR}`, scopes: ['system/Claim.c', 'system/ClaimResponse.r'], session: { ehr: EHR, patient: patientId, user: null },
});
const app = session(patient.id!);

let t: TestApp;
let q: Questionnaire;
beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(`${corpusDate()}T10:00:00Z`) });
  q = t.services.content.questionnaire;
});
afterAll(async () => {
  await t.services.store.close();
});

/** The app's request for the order; without the hypersensitivity attestation it is pended (ALL-CI unknown). */
async function request(id: string, opts: { complete: boolean; replaces?: string }): Promise<Bundle> {
  const answers = s.answers!.filter((a) => opts.complete || a.linkId !== 'no-hypersensitivity');
  const response = { ...answer(q, await populateScenario(t.services.engine, q, s), answers), id: `qr-${id}` };
  return buildPasRequest({
    ehrBase: EHR, identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${id}` },
    replaces: opts.replaces ? { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${opts.replaces}` } : null,
    response, order, coverage, record: { resourceType: 'Bundle', type: 'collection', entry: record.map((resource) => ({ resource })) },
    prescriber, now: `${s.evaluationDate}T10:00:00Z`,
  });
}

async function inquire(principal = app): Promise<Bundle> {
  const result = await inquireOperation(buildOrderInquiry({ ehrBase: EHR, patient, order, coverage, prescriber, identifier: null, now: `${s.evaluationDate}T11:00:00Z` }), t.services, principal);
  expect(result.status).toBe(200);
  return result.body as Bundle;
}

const claimResponses = (b: Bundle) => (b.entry ?? []).map((e) => e.resource).filter((r): r is ClaimResponse => r?.resourceType === 'ClaimResponse');

describe('through the plan: the pended request for the order, found by a new launch and replaced by its submission', () => {
  const first = 'a1b2c3d4-0000-4000-8000-000000000001';
  const second = 'a1b2c3d4-0000-4000-8000-000000000002';

  test('nothing sent yet: the inquiry answers, and finds no request', async () => {
    expect(pickEarlierRequest(await inquire(), ORDER)).toBeNull();
  });

  test('a pended request for the same order is found, with its identifier, and is the one to replace', async () => {
    const submitted = await submitOperation(await request(first, { complete: false }), t.services, app);
    expect(readAuthorization(submitted.body as Bundle).status).toBe('pended');
    // The plan's answer says which order each request is for (PAS requestedService on ClaimResponse.item).
    expect(claimResponses(submitted.body as Bundle)[0].item![0].extension).toContainEqual({ url: PAS.requestedService, valueReference: { reference: `${EHR}/MedicationRequest/${order.id}` } });
    const found = pickEarlierRequest(await inquire(), ORDER);
    expect(found).toMatchObject({ identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${first}` }, replaceable: true, answer: { status: 'pended' } });
  });

  test('another order of the same patient finds nothing', async () => {
    expect(pickEarlierRequest(await inquire(), { ehrBase: EHR, orderId: 'another-order' })).toBeNull();
    expect(pickEarlierRequest(await inquire(), { ehrBase: 'https://other-ehr.example/fhir', orderId: order.id! })).toBeNull();
  });

  test('a session launched for another patient reads none of this patient\'s requests, whatever the inquiry\'s Patient says', async () => {
    expect(claimResponses(await inquire(session('someone-else')))).toEqual([]);
  });

  test('the next submission names it in Claim.related: the plan replaces it, and the inquiry shows one request for the order', async () => {
    const replacing = await submitOperation(await request(second, { complete: true, replaces: first }), t.services, app);
    expect(replacing.status).toBe(200);
    expect(readAuthorization(replacing.body as Bundle).status).toBe('approved');
    const earlier = await t.services.pas.byClaimIdentifier(`dtr-app@${EHR}`, { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${first}` });
    expect(earlier).toMatchObject({ status: 'replaced', replacedBy: replacing.requestId });
    const answer = await inquire();
    expect(claimResponses(answer).map((cr) => cr.id)).toEqual([replacing.requestId]);
    // Decided: shown for information, never replaced.
    expect(pickEarlierRequest(answer, ORDER)).toMatchObject({ identifier: { value: `urn:uuid:${second}` }, replaceable: false, answer: { status: 'approved' } });
  });
});

describe('picking from the inquiry Bundle', () => {
  const claim = (id: string, orderRef: string) => ({
    resourceType: 'Claim' as const, id, status: 'active' as const, use: 'preauthorization' as const, created: '2026-11-01',
    type: { coding: [{ code: 'pharmacy' }] }, patient: { reference: `${EHR}/Patient/p` }, provider: { reference: `${EHR}/Practitioner/d` },
    priority: { coding: [{ code: 'normal' }] }, insurance: [{ sequence: 1, focal: true, coverage: { reference: `${EHR}/Coverage/c` } }],
    item: [{ sequence: 1, extension: [{ url: PAS.requestedService, valueReference: { reference: orderRef } }], productOrService: { text: 'Kineret' } }],
  });
  const pended = (id: string, created: string, orderRef = `${EHR}/MedicationRequest/${order.id}`) => buildClaimResponse({
    claim: claim(id, orderRef), claimFullUrl: `urn:uuid:${id}`, claimIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${id}` }, id: `cr-${id}`, created,
    state: { kind: 'pended', reasons: [], dueAt: '2026-11-08T00:00:00Z', priority: 'standard', infoRequested: null },
  });
  const approved = (id: string, created: string) => buildClaimResponse({
    claim: claim(id, `${EHR}/MedicationRequest/${order.id}`), claimFullUrl: `urn:uuid:${id}`, claimIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${id}` }, id: `cr-${id}`, created,
    state: { kind: 'approved', authNumber: 'KPA-0123456789', period: { start: '2026-11-01', end: '2027-05-01' }, issued: '2026-11-01', reviewer: null, note: null },
  });
  const bundle = (...resources: ClaimResponse[]): Bundle => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });

  test('an open request comes before a decided one, and the latest open one first', () => {
    const found = pickEarlierRequest(bundle(approved('x', '2026-11-20T10:00:00Z'), pended('y', '2026-11-02T10:00:00Z'), pended('z', '2026-11-03T10:00:00Z')), ORDER);
    expect(found).toMatchObject({ identifier: { value: 'urn:uuid:z' }, replaceable: true, created: '2026-11-03T10:00:00Z' });
  });

  test('a decided request alone is information only', () => {
    expect(pickEarlierRequest(bundle(approved('x', '2026-11-20T10:00:00Z')), ORDER)).toMatchObject({ replaceable: false, answer: { status: 'approved', number: 'KPA-0123456789' } });
  });

  test('the order named by a relative reference (a client of the same EHR) is the same order', () => {
    expect(pickEarlierRequest(bundle(pended('y', '2026-11-02T10:00:00Z', `MedicationRequest/${order.id}`)), ORDER)).toMatchObject({ replaceable: true });
    expect(pickEarlierRequest(bundle(pended('y', '2026-11-02T10:00:00Z')), { ehrBase: `${EHR}/`, orderId: order.id! })).toMatchObject({ replaceable: true });
  });

  test.each<[string, unknown]>([
    ['null', null],
    ['not a Bundle', { resourceType: 'OperationOutcome', issue: [] }],
    ['a Bundle without entries', { resourceType: 'Bundle', type: 'collection' }],
    ['the inquiry response naming only the patient (nothing matched)', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'p' } }] }],
    ['entries without resources, and junk', { resourceType: 'Bundle', type: 'collection', entry: [{}, null, { resource: 'x' }] }],
    ['a ClaimResponse without a requested service (a plan that does not echo it)', bundle({ ...pended('y', '2026-11-02T10:00:00Z'), item: [{ itemSequence: 1, adjudication: [] }] })],
    ['a ClaimResponse without an identifier to name it by', bundle({ ...pended('y', '2026-11-02T10:00:00Z'), identifier: [], request: { reference: 'urn:uuid:y' } })],
    ['a claim (use "claim"), not a preauthorization', bundle({ ...pended('y', '2026-11-02T10:00:00Z'), use: 'claim' })],
  ])('%s: none', (_, answer) => {
    expect(pickEarlierRequest(answer, ORDER)).toBeNull();
  });
});

describe('the lookup never stops the app', () => {
  test('a failed inquiry is a failure to say, not an exception', async () => {
    await expect(lookUpEarlier(() => Promise.reject(new Error('HTTP 503: the plan is down')), ORDER)).resolves.toMatchObject({ kind: 'failed', error: { message: 'HTTP 503: the plan is down' } });
  });
  test('an inquiry that does not answer in time is a failure', async () => {
    await expect(lookUpEarlier(() => new Promise<Bundle>(() => undefined), ORDER, 50)).resolves.toMatchObject({ kind: 'failed', error: { message: 'the plan did not answer within 0 s' } });
  });
  test('an answer is picked from', async () => {
    await expect(lookUpEarlier(async () => ({ resourceType: 'Bundle', type: 'collection', entry: [] }), ORDER)).resolves.toEqual({ kind: 'none' });
  });
});
