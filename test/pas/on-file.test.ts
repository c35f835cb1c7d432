/**
 * Approvals on file change CRD's answer: a current authorization for the same member, drug and
 * indication makes order-sign's coverage-information pa-needed `satisfied` with `satisfied-pa-id`,
 * no documentation request, and a card that says the authorization is on file until its end. The
 * CQL decides which authorization covers an order ("Authorization On File"), the Texas one-a-year
 * rule included, from what the store passes in.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, ClaimResponse, Extension, FhirResource, MedicationRequest, Questionnaire } from 'fhir/r4';
import request from 'supertest';
import { CRD } from '../../src/constants';
import { GUIDELINE_SUMMARY } from '../../src/crd/cards';
import { fixedClock } from '../../src/core/clock';
import type { AuthorizationOnFile } from '../../src/core/types';
import type { HookResponse } from '../../src/crd/types';
import { corpusDate, type ScenarioFile } from '../corpus';
import { fullPrefetch } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { memberRecord, pasBundle, scenario } from '../support/pas';
import { answer, populateScenario } from '../support/responses';

jest.setTimeout(60_000);

let t: TestApp;
let q: Questionnaire;
let token: string;
beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(`${corpusDate()}T09:30:00Z`) });
  q = t.services.content.questionnaire;
  t.addDtrClient('pas-ehr', ['system/Claim.c', 'system/ClaimResponse.r']);
  token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
});
afterAll(async () => {
  await t.services.store.close();
});

async function submit(s: ScenarioFile, memberId?: string): Promise<ClaimResponse> {
  const qr = answer(q, await populateScenario(t.services.engine, q, s), s.answers ?? []);
  const res = await request(t.app).post('/fhir/Claim/$submit').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`)
    .send(JSON.stringify(pasBundle(s, qr, { memberId, identifier: `PA-${randomUUID()}` })));
  expect(res.status).toBe(200);
  return (res.body as Bundle).entry![0].resource as ClaimResponse;
}

/** order-sign for a new draft Kineret order of the member (a copy of the scenario's order with a new id). */
async function orderSign(s: ScenarioFile, memberId?: string): Promise<HookResponse> {
  const record = memberRecord(s, memberId);
  const original = record.find((r) => r.resourceType === 'MedicationRequest' && r.id === 'kineret-order') as MedicationRequest;
  const order: MedicationRequest = { ...structuredClone(original), id: `renewal-${randomUUID().slice(0, 8)}`, status: 'draft' };
  const patientId = record.find((r) => r.resourceType === 'Patient')!.id!;
  const res = await t.post('/cds-services/crd-order-sign', {
    hookInstance: randomUUID(),
    hook: 'order-sign',
    context: { userId: 'Practitioner/dr-rheum', patientId, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] } },
    prefetch: fullPrefetch(record.filter((r: FhirResource) => r !== original)),
  });
  expect(res.status).toBe(200);
  return res.body as HookResponse;
}

function coverageInfo(body: HookResponse): Record<string, unknown> {
  const ext = body.systemActions![0].resource.extension!.find((e) => e.url === CRD.coverageInformationUrl)!;
  return Object.fromEntries((ext.extension ?? []).map((e: Extension) => [e.url, e.valueCode ?? e.valueString ?? e.valueCanonical ?? e.valueDate ?? e.valueReference?.reference ?? e.valueCodeableConcept?.text]));
}

test('before any authorization, order-sign asks for prior authorization with documentation (DTR)', async () => {
  const body = await orderSign(scenario('ra-mtx-failure-approved'));
  expect(coverageInfo(body)).toMatchObject({ 'pa-needed': 'auth-needed', 'doc-needed': 'clinical', 'doc-purpose': 'withpa' });
  expect(coverageInfo(body)['satisfied-pa-id']).toBeUndefined();
});

test('after an approval, a new order for the same member is satisfied by the authorization on file, with no documentation request', async () => {
  const s = scenario('ra-mtx-failure-approved');
  const approved = await submit(s);
  expect(approved.preAuthRef).toMatch(/^KPA-/);
  const body = await orderSign(s);
  const info = coverageInfo(body);
  expect(info).toMatchObject({ covered: 'covered', 'pa-needed': 'satisfied', 'satisfied-pa-id': approved.preAuthRef });
  for (const absent of ['doc-needed', 'doc-purpose', 'questionnaire']) expect(info[absent]).toBeUndefined();
  expect(info.reason).toBe(`Prior authorization ${approved.preAuthRef} for Kineret (anakinra) is on file and covers this order until 2027-05-28.`);
  const summaries = body.cards.map((c) => c.summary);
  // The on-file card, then the guideline (an External Reference card, as on every order-sign answer).
  expect(summaries).toEqual(['Prior authorization on file for Kineret (anakinra) until 2027-05-28', GUIDELINE_SUMMARY]);
  expect(body.cards[0].detail).toContain(`authorization **${approved.preAuthRef}**, on file until **2027-05-28**`);
  expect((body.cards[0].links ?? []).some((l) => l.type === 'smart')).toBe(false);
  // Another member of the same record shape gets the usual answer.
  expect(coverageInfo(await orderSign(s, 'another-member'))['pa-needed']).toBe('auth-needed');
});

describe('"Authorization On File" in the CQL', () => {
  const auth = (over: Partial<AuthorizationOnFile>): AuthorizationOnFile => ({ number: 'KPA-TEST', indication: 'RA', start: '2026-06-01', end: '2026-12-31', issued: '2026-06-01', ...over });
  const evaluate = (s: ScenarioFile, authorizationsOnFile: AuthorizationOnFile[]) =>
    t.services.engine.evaluate(s.bundle, { evaluationDate: s.evaluationDate, orderId: 'kineret-order', authorizationsOnFile });

  test('covers the same indication in its period; not another indication, not after its end, not before its start', async () => {
    const s = scenario('ra-mtx-failure-approved');
    expect((await evaluate(s, [auth({})])).authorizationOnFile).toEqual({ number: 'KPA-TEST', through: '2026-12-31', basis: 'current' });
    expect((await evaluate(s, [auth({ indication: 'CAPS' })])).authorizationOnFile).toBeNull();
    expect((await evaluate(s, [auth({ end: '2026-11-27' })])).authorizationOnFile).toBeNull();
    expect((await evaluate(s, [auth({ start: '2026-12-01' })])).authorizationOnFile).toBeNull();
    expect((await evaluate(s, [])).authorizationOnFile).toBeNull();
  });

  test('Texas marketplace: an authorization issued within the year covers the order even after its period ended; not on another plan', async () => {
    const ended = auth({ start: '2026-02-01', end: '2026-08-01', issued: '2026-02-01' });
    const texas = await evaluate(scenario('ra-texas-marketplace-12-months'), [ended]);
    expect(texas.authorizationOnFile).toEqual({ number: 'KPA-TEST', through: '2027-01-31', basis: 'texas-annual' });
    expect((await evaluate(scenario('ra-texas-commercial-6-months'), [ended])).authorizationOnFile).toBeNull();
    expect((await evaluate(scenario('ra-texas-marketplace-12-months'), [{ ...ended, issued: '2025-11-01' }])).authorizationOnFile).toBeNull();
  });
});
