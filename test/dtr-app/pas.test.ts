/**
 * The DTR app's PAS request (web/dtr/pas.ts) without a browser: every resource once with its EHR URL
 * as fullUrl, the order as the requested service with Kineret's NDC, the documentation and the record
 * as supporting information; the payer accepts it and answers the same request the same way; the
 * inquiry built from it finds it.
 */
import type { Bundle, Claim, Coverage, MedicationRequest, Questionnaire } from 'fhir/r4';
import { PAS } from '../../src/constants';
import { fixedClock } from '../../src/core/clock';
import { inquireOperation, submitOperation } from '../../src/pas/operations';
import type { Principal } from '../../src/security/principal';
import { buildInquiry, buildPasRequest, readAuthorization } from '../../web/dtr/pas';
import { corpusDate, loadScenarios } from '../corpus';
import { startTestApp, type TestApp } from '../support/app';
import { memberRecord } from '../support/pas';
import { answer, populateScenario } from '../support/responses';

const EHR = 'https://ehr.example/fhir';
const s = loadScenarios().find((x) => x.name === 'ra-mtx-failure-approved')!;
const client: Principal = { kind: 'smart-client', clientId: 'dtr-app-backend', scopes: ['system/Claim.c', 'system/ClaimResponse.r'] };
let t: TestApp;
let q: Questionnaire;
beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(`${corpusDate()}T10:00:00Z`) });
  q = t.services.content.questionnaire;
});
afterAll(async () => {
  await t.services.store.close();
});

async function request(now: string): Promise<Bundle> {
  const record = memberRecord(s);
  const order = structuredClone(record.find((r) => r.resourceType === 'MedicationRequest')) as MedicationRequest;
  const coverage = structuredClone(record.find((r) => r.resourceType === 'Coverage')) as Coverage;
  const response = { ...answer(q, await populateScenario(t.services.engine, q, s), s.answers!), id: 'qr-1' };
  return buildPasRequest({
    ehrBase: EHR, identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:7c3a1f0e-1d2b-4c5d-9e8f-0a1b2c3d4e5f' }, replaces: null, response,
    order, coverage, record: { resourceType: 'Bundle', type: 'collection', entry: record.map((resource) => ({ resource })) },
    prescriber: record.find((r) => r.resourceType === 'Practitioner') as never, now,
  });
}

test('each resource once, at its EHR URL; the Kineret order is the requested service, with its NDC package', async () => {
  const bundle = await request(`${s.evaluationDate}T10:00:00Z`);
  const urls = bundle.entry!.map((e) => e.fullUrl);
  expect(new Set(urls).size).toBe(urls.length);
  expect(urls[0]).toBe('urn:uuid:7c3a1f0e-1d2b-4c5d-9e8f-0a1b2c3d4e5f');
  expect(urls.slice(1).every((u) => u!.startsWith(`${EHR}/`))).toBe(true);
  const claim = bundle.entry![0].resource as Claim;
  expect(claim.item![0].extension).toEqual([{ url: PAS.requestedService, valueReference: { reference: `${EHR}/MedicationRequest/kineret-order` } }]);
  expect(claim.item![0].productOrService.coding![0]).toEqual({ system: 'http://hl7.org/fhir/sid/ndc', code: '66658-0234-28', display: 'Kineret 4 cartons of 7 syringes (11-digit form)' });
  expect(claim.supportingInfo![0].valueReference).toEqual({ reference: `${EHR}/QuestionnaireResponse/qr-1` });
  expect(claim.provider).toEqual({ reference: `${EHR}/Practitioner/dr-rheum` });
});

test('the payer certifies it; the same request sent again later is answered from the record; the inquiry built from it finds it', async () => {
  const first = await submitOperation(await request(`${s.evaluationDate}T10:00:00Z`), t.services, client);
  expect(first.status).toBe(200);
  const approved = readAuthorization(first.body as Bundle);
  expect(approved).toMatchObject({ status: 'approved', period: { start: s.evaluationDate, end: '2027-05-28' } });
  const again = await submitOperation(await request(`${s.evaluationDate}T10:07:00Z`), t.services, client);
  expect(again.replayed).toBe(true);
  expect(readAuthorization(again.body as Bundle)).toEqual(approved);
  const found = await inquireOperation(buildInquiry(await request(`${s.evaluationDate}T10:00:00Z`), `${s.evaluationDate}T11:00:00Z`), t.services, client);
  expect(readAuthorization(found.body as Bundle)).toEqual(approved);
});
