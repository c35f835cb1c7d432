/**
 * Payer access for the hosted DTR app without a key in the browser (src/security/dtr-session.ts):
 * a session is opened only for a launch from a registered EHR, with an id_token its registered keys
 * sign for this app, whose patient the EHR itself confirms with the launch's access token. The
 * session's token works on the DTR endpoint and reads the orders this service recorded from the
 * same EHR's order-sign calls, for the launch's patient only. Every refusal has its status and a
 * reason a person can act on. The EHR is a small HTTP server started here; keys are generated here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import request from 'supertest';
import type { MedicationRequest } from 'fhir/r4';
import { CRD } from '../../src/constants';
import { loadScenarios } from '../corpus';
import { orderSignRequest } from '../hook-requests';
import { startTestApp, TEST_ISS, type TestApp } from '../support/app';

const ID_TOKEN_ISSUER = 'https://ehr.test/oauth2';
const APP_CLIENT_ID = 'kineret-dtr';
const GOOD_TOKEN = 'ehr-access-token-for-p1';

let t: TestApp;
let ehr: http.Server;
let fhirBase: string;
let idKey: KeyLike;
let otherKey: KeyLike;
const kid = randomUUID();
const ehrCalls: { url: string; auth: string | undefined }[] = [];

const ra = loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;
const patientId = (ra.bundle.entry ?? []).map((e) => e.resource).find((r) => r?.resourceType === 'Patient')!.id!;

beforeAll(async () => {
  t = await startTestApp();
  const pair = await generateKeyPair('RS256', { extractable: true });
  idKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  // The EHR's FHIR server: Patient reads with the launch's token only.
  ehr = http.createServer((req, res) => {
    ehrCalls.push({ url: req.url ?? '', auth: req.headers.authorization });
    const m = /^\/fhir\/Patient\/([^/?]+)$/.exec(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${GOOD_TOKEN}`) {
      res.writeHead(401, { 'Content-Type': 'application/fhir+json' });
      return res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }));
    }
    res.writeHead(m ? 200 : 404, { 'Content-Type': 'application/fhir+json' });
    res.end(JSON.stringify(m ? { resourceType: 'Patient', id: m[1] === 'someone-else' ? 'p-other' : m[1] } : { resourceType: 'OperationOutcome', issue: [] }));
  });
  await new Promise<void>((r) => ehr.listen(0, '127.0.0.1', r));
  fhirBase = `http://127.0.0.1:${(ehr.address() as AddressInfo).port}/fhir`;
  t.services.registry.addDtrAppEhr({
    fhirBase, issuer: ID_TOKEN_ISSUER, clientId: APP_CLIENT_ID, cdsIss: TEST_ISS,
    jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256' }] },
  });
});

afterAll(async () => {
  await new Promise((r) => ehr.close(r));
  await t.services.store.close();
});

function idToken(claims: Record<string, unknown> = {}, opts: { key?: KeyLike; aud?: string; iss?: string; expiresIn?: number; alg?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ fhirUser: `${fhirBase}/Practitioner/dr-rheum`, ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid, typ: 'JWT' })
    .setIssuer(opts.iss ?? ID_TOKEN_ISSUER).setSubject('dr-rheum').setAudience(opts.aud ?? APP_CLIENT_ID)
    .setIssuedAt(now - 60).setExpirationTime(now + (opts.expiresIn ?? 3600))
    .sign(opts.key ?? idKey);
}

const open = (body: Record<string, unknown>) => request(t.app).post('/dtr/session').set('Content-Type', 'application/json').send(JSON.stringify(body));
const launch = async (overrides: Record<string, unknown> = {}) => ({ id_token: await idToken(), access_token: GOOD_TOKEN, fhirBase, patient: patientId, ...overrides });

test('a verified launch opens a session: a payer token bound to the launch, no longer than the launch, that the DTR endpoint accepts', async () => {
  const res = await open(await launch());
  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toMatchObject({ token_type: 'Bearer', patient: patientId, fhirUser: 'Practitioner/dr-rheum' });
  expect(res.body.scope.split(' ')).toEqual(expect.arrayContaining(['system/Questionnaire.rs', 'system/QuestionnaireResponse.cr', 'patient/MedicationRequest.r']));
  expect(res.body.expires_in).toBeLessThanOrEqual(t.services.config.dtrSessionTtlSeconds);
  // The EHR was asked, with the launch's own token, whether it may see the patient.
  expect(ehrCalls.at(-1)).toEqual({ url: `/fhir/Patient/${patientId}`, auth: `Bearer ${GOOD_TOKEN}` });
  const read = await request(t.app).get('/fhir/Questionnaire/kineret-pa').set('Authorization', `Bearer ${res.body.access_token}`);
  expect(read.status).toBe(200);
  // A launch about to expire gives a session that ends with it.
  const short = await open(await launch({ id_token: await idToken({}, { expiresIn: 90 }) }));
  expect(short.status).toBe(200);
  expect(short.body.expires_in).toBeLessThanOrEqual(90);
});

test.each([
  ['a launch from an EHR the plan has not registered', () => launch({ fhirBase: 'https://unknown-ehr.test/fhir' }), 403, 'unregistered_ehr', /not registered for this DTR app/],
  ['an id_token signed by another key', async () => launch({ id_token: await idToken({}, { key: otherKey }) }), 401, 'invalid_launch', /id_token was refused/],
  ['an id_token for another app', async () => launch({ id_token: await idToken({}, { aud: 'someone-else' }) }), 401, 'invalid_launch', /aud/],
  ['an id_token from another issuer', async () => launch({ id_token: await idToken({}, { iss: 'https://evil.test' }) }), 401, 'invalid_launch', /iss/],
  ['an expired launch', async () => launch({ id_token: await idToken({}, { expiresIn: -600 }) }), 401, 'expired_launch', /launch the app again from the EHR/],
  ['an access token the EHR does not accept', () => launch({ access_token: 'stolen-or-stale' }), 403, 'launch_not_confirmed', /did not accept the launch's access token/],
  ['a patient the EHR answers for with another record', () => launch({ patient: 'someone-else' }), 403, 'launch_not_confirmed', /did not return Patient\/someone-else/],
  ['no id_token', () => launch({ id_token: undefined }), 400, 'invalid_request', /"id_token" is required/],
  ['an id_token that is not a JWT', () => launch({ id_token: 'not-a-jwt' }), 400, 'invalid_request', /not a JWT/],
])('refused: %s', async (_name, body, status, error, message) => {
  const res = await open(await body());
  expect(res.status).toBe(status);
  expect(res.body.error).toBe(error);
  expect(res.body.error_description).toMatch(message);
  expect(res.body.access_token).toBeUndefined();
});

test('an HS256 id_token (a shared secret) is refused', async () => {
  const secret = new TextEncoder().encode('a-shared-secret-of-enough-length-000000');
  const now = Math.floor(Date.now() / 1000);
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid }).setIssuer(ID_TOKEN_ISSUER).setSubject('x').setAudience(APP_CLIENT_ID)
    .setIssuedAt(now).setExpirationTime(now + 600).sign(secret);
  const res = await open(await launch({ id_token: forged }));
  expect(res.status).toBe(401);
});

describe('the order as recorded from the EHR\'s order-sign call', () => {
  let order: MedicationRequest;

  beforeAll(async () => {
    const body = orderSignRequest(ra);
    order = body.context.draftOrders.entry[0].resource as MedicationRequest;
    const res = await t.post('/cds-services/crd-order-sign', body);
    expect(res.status).toBe(200);
  });

  const session = async () => (await open(await launch())).body.access_token as string;
  const recorded = (token: string, reference: string) => request(t.app).get('/dtr/session/order').query({ reference }).set('Authorization', `Bearer ${token}`);

  test('a session reads it, with the coverage assertion the plan issued', async () => {
    const res = await recorded(await session(), `MedicationRequest/${order.id}`);
    expect(res.status).toBe(200);
    const found = res.body as MedicationRequest;
    expect(found.id).toBe(order.id);
    expect(found.medicationCodeableConcept).toEqual(order.medicationCodeableConcept);
    const info = found.extension?.find((e) => e.url === CRD.coverageInformationUrl);
    expect(info?.extension?.find((e) => e.url === 'coverage-assertion-id')?.valueString).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('only the launch\'s patient: a session for another patient, an order never signed, a malformed reference', async () => {
    const other = await open(await launch({ patient: 'p-unsigned' }));
    expect(other.status).toBe(200);
    const res = await recorded(other.body.access_token as string, `MedicationRequest/${order.id}`);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].diagnostics).toMatch(/no record of .* for Patient\/p-unsigned .*sign the order in the EHR/);
    expect((await recorded(await session(), 'MedicationRequest/never-signed')).status).toBe(404);
    expect((await recorded(await session(), 'Patient/x')).status).toBe(400);
  });

  test('a Backend Services client is not a session: it cannot read recorded orders, even with the scope registered', async () => {
    expect((await recorded(await t.dtrToken(), `MedicationRequest/${order.id}`)).status).toBe(403);
    t.addDtrClient('dtr-with-patient-scope', ['patient/MedicationRequest.r']);
    const token = await t.tokenFor('dtr-with-patient-scope', 'patient/MedicationRequest.r');
    const res = await recorded(token, `MedicationRequest/${order.id}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/only a DTR app session/);
    expect((await request(t.app).get('/dtr/session/order').query({ reference: `MedicationRequest/${order.id}` })).status).toBe(401);
  });
});

describe('PAS through a session: the launch\'s patient only', () => {
  const session = async () => (await open(await launch())).body.access_token as string;
  const claimFor = (patient: string) => ({
    resourceType: 'Bundle', type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:4a1c7e52-5e4b-4c53-9d7c-1a2b3c4d5e6f', resource: { resourceType: 'Claim', status: 'active', use: 'preauthorization', patient: { reference: patient } } }],
  });
  const post = (token: string, operation: string, body: unknown) => request(t.app).post(`/fhir/Claim/${operation}`)
    .set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));

  test.each(['$submit', '$inquire'])('%s for another patient, the same id on another EHR, or no patient is refused before it is read', async (operation) => {
    const token = await session();
    for (const patient of ['Patient/someone-else', `https://other-ehr.test/fhir/Patient/${patientId}`, '']) {
      const res = await post(token, operation, claimFor(patient));
      expect({ patient, status: res.status }).toEqual({ patient, status: 403 });
      expect(res.body.issue[0].diagnostics).toMatch(/acts for the patient of its launch/);
    }
    // The launch's own patient, relative or at the EHR's URL, is read (and this incomplete Bundle refused as such).
    for (const patient of [`Patient/${patientId}`, `${fhirBase}/Patient/${patientId}`]) {
      const res = await post(token, operation, claimFor(patient));
      expect(res.status).not.toBe(403);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
  });
});
