/**
 * The embedded sandbox EHR: the corpus loaded with ids that collide nowhere; its SMART
 * authorization server (EHR launch with PKCE, refusals, development-only labels); its FHIR server
 * (token required, scopes, patient compartment, code-filtered search); its order-sign call accepted
 * by the CDS service with authentication on; and nothing of it served with SANDBOX=off.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, Condition, Coverage, FhirResource, MedicationRequest } from 'fhir/r4';
import request from 'supertest';
import { createApp, createServices, type Services } from '../../src/app';
import { loadConfig } from '../../src/config';
import { systemClock } from '../../src/core/clock';
import { SCENARIO_DIR } from '../../src/paths';
import { SandboxAuthServer } from '../../src/sandbox/auth';
import { loadCorpus } from '../../src/sandbox/corpus';
import { createSandbox } from '../../src/sandbox';
import { ClientRegistry } from '../../src/security/registry';
import type { PreparedHookCall } from '../../src/sandbox/types';
import { corpusDate } from '../corpus';

jest.setTimeout(60_000);

describe('the corpus as sandbox patients', () => {
  const corpus = loadCorpus(SCENARIO_DIR, corpusDate());

  test('every scenario is a patient with its draft order; no two resources share an id; references follow the renaming', () => {
    expect(corpus.scenarios.length).toBeGreaterThan(50);
    expect(corpus.scenarios.every((s) => s.draftOrders.length >= 1)).toBe(true);
    const keys = corpus.resources.map((r) => `${r.resourceType}/${r.id}`);
    expect(new Set(keys).size).toBe(keys.length);
    const ids = new Set(keys);
    const refs: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) (k === 'reference' && typeof c === 'string' ? refs.push(c) : walk(c));
    };
    corpus.resources.forEach(walk);
    const dangling = refs.filter((r) => !r.startsWith('#') && !ids.has(r));
    expect(dangling).toEqual([]);
    const coverage = corpus.resources.find((r): r is Coverage => r.resourceType === 'Coverage' && r.id === 'ra-mtx-cov')!;
    expect(coverage.payor?.[0].reference).toBe('Organization/ra-mtx-payer');
    const order = corpus.resources.find((r): r is MedicationRequest => r.resourceType === 'MedicationRequest' && r.id === 'ra-mtx-kineret-order')!;
    expect(order.requester?.reference).toBe('Practitioner/ra-mtx-dr-rheum');
  });
});

describe('development only', () => {
  test('neither the sandbox nor its authorization server starts with SANDBOX=off', async () => {
    const config = loadConfig({ SANDBOX: 'off', DATABASE_URL: ':memory:' } as NodeJS.ProcessEnv);
    await expect(createSandbox(config, new ClientRegistry(config), [], systemClock)).rejects.toThrow(/SANDBOX=off/);
    await expect(SandboxAuthServer.create({ sandbox: false, fhirBase: 'http://x/sandbox/fhir', authBase: 'http://x/sandbox/auth', apps: [] })).rejects.toThrow(/SANDBOX=off/);
  });

  test('with SANDBOX=off no sandbox route exists, and the DTR app gets its payer access from a session of its verified launch, never a token route', async () => {
    const services = await createServices(loadConfig({ SANDBOX: 'off', DATABASE_URL: ':memory:', LOG_LEVEL: 'silent', EVAL_WORKERS: '0' } as NodeJS.ProcessEnv));
    const app = createApp(services);
    for (const path of ['/', '/sandbox/', '/sandbox/api/patients', '/sandbox/fhir/metadata', '/sandbox/fhir/.well-known/smart-configuration', '/sandbox/dtr-token']) {
      expect({ path, status: (await request(app).get(path)).status }).toEqual({ path, status: 404 });
    }
    const config = await request(app).get('/dtr/config.json');
    expect(config.body).toEqual({
      clientId: 'kineret-dtr', scope: 'launch openid fhirUser patient/*.rs patient/QuestionnaireResponse.cru', payerFhirBase: 'http://localhost:3000/fhir',
      sessionUrl: 'http://localhost:3000/dtr/session', recordedOrderUrl: 'http://localhost:3000/dtr/session/order', kineretNonPreferred: false,
      form: 'standard', adaptiveQuestionnaire: 'http://localhost:3000/fhir/Questionnaire/kineret-pa-adaptive',
    });
    await services.store.close();
  });
});

describe('the sandbox EHR with authentication on', () => {
  let services: Services;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The service reads the record from the sandbox FHIR server in this same process: on a loaded machine (the suite
    // runs beside the CQL-heavy tests, twice) the production time limits (3 s a query, 5 s a hook) are not what is tested here.
    services = await createServices(loadConfig({ PUBLIC_BASE_URL: base, DATABASE_URL: ':memory:', LOG_LEVEL: 'silent', EVAL_WORKERS: '0', HOOK_BUDGET_MS: '30000', FHIR_TIMEOUT_MS: '20000' } as NodeJS.ProcessEnv));
    server.on('request', createApp(services));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await services.store.close();
  });

  const api = () => request(base);

  async function launch(patientId: string, orderId: string, appContext: string) {
    const res = await api().post('/sandbox/api/launch').send({ patientId, orderId, url: `${base}/dtr/launch`, appContext });
    expect(res.status).toBe(200);
    const url = new URL(res.body.url as string);
    expect(url.pathname).toBe('/dtr/launch');
    expect(url.searchParams.get('iss')).toBe(`${base}/sandbox/fhir`);
    return url.searchParams.get('launch')!;
  }

  async function authorize(launchId: string, overrides: Record<string, string> = {}) {
    const verifier = randomBytes(32).toString('base64url');
    const params = new URLSearchParams({
      response_type: 'code', client_id: 'kineret-dtr', redirect_uri: `${base}/dtr/`, scope: 'launch openid fhirUser patient/*.rs patient/QuestionnaireResponse.cru',
      state: 'st', aud: `${base}/sandbox/fhir`, launch: launchId,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', ...overrides,
    });
    const res = await api().get(`/sandbox/auth/authorize?${params}`);
    return { res, verifier, location: res.headers.location ? new URL(res.headers.location as string) : null };
  }

  async function appToken(patientId = 'ra-mtx', orderId = 'ra-mtx-kineret-order') {
    const { location, verifier } = await authorize(await launch(patientId, orderId, `order=MedicationRequest/${orderId}&coverage=Coverage/${patientId}-cov`));
    const res = await api().post('/sandbox/auth/token').type('form').send({ grant_type: 'authorization_code', code: location!.searchParams.get('code'), redirect_uri: `${base}/dtr/`, code_verifier: verifier, client_id: 'kineret-dtr' });
    expect(res.status).toBe(200);
    return res.body as Record<string, unknown>;
  }

  test('SMART configuration of the sandbox FHIR base, labelled development-only', async () => {
    const res = await api().get('/sandbox/fhir/.well-known/smart-configuration');
    expect(res.headers['x-sandbox']).toMatch(/development only/);
    expect(res.body).toMatchObject({
      authorization_endpoint: `${base}/sandbox/auth/authorize`, token_endpoint: `${base}/sandbox/auth/token`, code_challenge_methods_supported: ['S256'],
      capabilities: expect.arrayContaining(['launch-ehr', 'context-passthrough-appContext']),
    });
    expect(String(res.body.description)).toMatch(/development only/);
  });

  test('an EHR launch gives the patient, the card\'s appContext, fhirContext and an id_token naming the clinician', async () => {
    const token = await appToken();
    expect(token).toMatchObject({ token_type: 'Bearer', patient: 'ra-mtx', appContext: 'order=MedicationRequest/ra-mtx-kineret-order&coverage=Coverage/ra-mtx-cov' });
    expect(token.fhirContext).toEqual([{ reference: 'MedicationRequest/ra-mtx-kineret-order' }, { reference: 'Coverage/ra-mtx-cov' }]);
    const claims = JSON.parse(Buffer.from(String(token.id_token).split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ fhirUser: `${base}/sandbox/fhir/Practitioner/ra-mtx-dr-rheum`, aud: 'kineret-dtr' });
    expect(String(token.sandbox)).toMatch(/development only/);
  });

  test('the authorization server refuses unknown clients and redirect URIs outright, and a bad audience, launch or verifier', async () => {
    const launchId = await launch('ra-mtx', 'ra-mtx-kineret-order', '');
    expect((await authorize(launchId, { client_id: 'someone-else' })).res.status).toBe(400);
    expect((await authorize(launchId, { redirect_uri: 'https://evil.example/cb' })).res.status).toBe(400);
    expect((await authorize(launchId, { aud: 'https://other.example/fhir' })).location?.searchParams.get('error')).toBe('invalid_request');
    expect((await authorize('no-such-launch')).location?.searchParams.get('error')).toBe('invalid_request');
    expect((await authorize(launchId, { code_challenge_method: 'plain' })).location?.searchParams.get('error')).toBe('invalid_request');
    const { location } = await authorize(launchId);
    const code = location!.searchParams.get('code');
    const wrong = await api().post('/sandbox/auth/token').type('form').send({ grant_type: 'authorization_code', code, redirect_uri: `${base}/dtr/`, code_verifier: 'not-the-verifier' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    // A code is single use, even after a failed exchange.
    const again = await api().post('/sandbox/auth/token').type('form').send({ grant_type: 'authorization_code', code, redirect_uri: `${base}/dtr/`, code_verifier: 'x' });
    expect(again.body.error).toBe('invalid_grant');
  });

  test('the FHIR server checks the token, its scopes and the patient compartment', async () => {
    expect((await api().get('/sandbox/fhir/Patient/ra-mtx')).status).toBe(401);
    expect((await api().get('/sandbox/fhir/Patient/ra-mtx').set('Authorization', 'Bearer made-up')).status).toBe(401);
    const auth = `Bearer ${String((await appToken()).access_token)}`;
    expect((await api().get('/sandbox/fhir/Patient/ra-mtx').set('Authorization', auth)).status).toBe(200);
    expect((await api().get('/sandbox/fhir/Patient/ra-tnf').set('Authorization', auth)).status).toBe(404);
    const all = await api().get('/sandbox/fhir/MedicationRequest').set('Authorization', auth);
    expect(((all.body as Bundle).entry ?? []).map((e) => (e.resource as MedicationRequest).subject?.reference)).toEqual(['Patient/ra-mtx']);
    const coded = await api().get(`/sandbox/fhir/Condition?patient=ra-mtx&code=${encodeURIComponent('http://hl7.org/fhir/sid/icd-10-cm|M05.79')}`).set('Authorization', auth);
    expect(((coded.body as Bundle).entry ?? []).map((e) => (e.resource as Condition).id)).toEqual(['ra-mtx-ra']);
    const foreign = { resourceType: 'QuestionnaireResponse', status: 'in-progress', subject: { reference: 'Patient/ra-tnf' } };
    expect((await api().post('/sandbox/fhir/QuestionnaireResponse').set('Authorization', auth).set('Content-Type', 'application/fhir+json').send(foreign)).status).toBe(403);
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/ra-mtx' } };
    expect((await api().post('/sandbox/fhir/Observation').set('Authorization', auth).set('Content-Type', 'application/fhir+json').send(observation)).status).toBe(403);
    const own = await api().post('/sandbox/fhir/QuestionnaireResponse').set('Authorization', auth).set('Content-Type', 'application/fhir+json').send({ ...foreign, subject: { reference: 'Patient/ra-mtx' } });
    expect(own.status).toBe(201);
    expect(own.headers.location).toMatch(new RegExp(`^${base}/sandbox/fhir/QuestionnaireResponse/${own.body.id}/_history/`));
    const updated = await api().put(`/sandbox/fhir/QuestionnaireResponse/${own.body.id}`).set('Authorization', auth).set('Content-Type', 'application/fhir+json').send({ ...own.body, status: 'completed' });
    expect(updated.status).toBe(200);
    expect(updated.body.status).toBe('completed');
  });

  test('the patient compartment holds on history, vread, _elements, includes and unsupported interactions (issue 15)', async () => {
    const auth = `Bearer ${String((await appToken()).access_token)}`;
    const get = (p: string) => api().get(`/sandbox/fhir/${p}`).set('Authorization', auth);
    // Own history and vread work; another patient's are not found.
    const own = await get('Patient/ra-mtx/_history');
    expect(own.status).toBe(200);
    expect(((own.body as Bundle).entry ?? []).length).toBeGreaterThan(0);
    const version = (own.body as Bundle).entry![0].resource!.meta!.versionId!;
    expect((await get(`Patient/ra-mtx/_history/${version}`)).status).toBe(200);
    for (const p of ['Patient/ra-tnf/_history', 'Patient/ra-tnf/_history/1', 'Coverage/ra-tnf-cov/_history', 'MedicationRequest/ra-tnf-kineret-order/_history/1', 'Coverage/ra-tnf-cov']) {
      const res = await get(p);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    // Type-level and system-level history, operations and _search are not served.
    for (const p of ['Coverage/_history', '_history', 'Patient/ra-tnf/$everything', 'Patient/ra-mtx/$everything', 'Coverage/_search']) {
      const status = (await get(p)).status;
      expect({ p, refused: [404, 405].includes(status) }).toEqual({ p, refused: true });
    }
    // Searches cut down with _elements or widened with _include never show another patient's resources.
    for (const q of ['Coverage?_elements=status', 'MedicationRequest?_elements=status,medicationCodeableConcept', 'Coverage?_revinclude=Coverage:payor', 'Patient?_id=ra-tnf', 'Coverage?patient=ra-tnf']) {
      const res = await get(q);
      expect(res.status).toBe(200);
      const ids = ((res.body as Bundle).entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
      expect({ q, foreign: ids.filter((id) => /ra-tnf/.test(id)) }).toEqual({ q, foreign: [] });
    }
    // A malformed percent-encoding is a 400 OperationOutcome, not a crash.
    expect((await get('Patient/%E0')).status).toBe(400);
  });

  test.each([true, false])('order-sign as the sandbox sends it (prefetch %s) is accepted with authentication on and answered with the PA card', async (prefetch) => {
    const prepared = (await api().post('/sandbox/api/order-sign').send({ patientId: 'ra-tnf', orderId: 'ra-tnf-kineret-order', prefetch })).body as PreparedHookCall;
    expect(prepared.serviceUrl).toBe(`${base}/cds-services/crd-order-sign`);
    expect(prepared.request).toMatchObject({ hook: 'order-sign', fhirServer: `${base}/sandbox/fhir`, context: { patientId: 'ra-tnf', userId: 'Practitioner/ra-tnf-dr-rheum' } });
    expect(prepared.request.fhirAuthorization).toMatchObject({ token_type: 'Bearer', scope: 'patient/*.rs', subject: 'kineret-pa-crd', patient: 'ra-tnf' });
    expect(Object.keys(prepared.request.prefetch ?? {}).length).toBe(prefetch ? 9 : 0);
    const header = JSON.parse(Buffer.from(prepared.jwt.split('.')[0], 'base64url').toString()) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'ES384', typ: 'JWT' });
    const res = await api().post('/cds-services/crd-order-sign').set('Authorization', `Bearer ${prepared.jwt}`).send(prepared.request);
    expect(res.status).toBe(200);
    const summaries = (res.body.cards as { summary: string }[]).map((c) => c.summary);
    // The failing criterion first (the most urgent), then the PA card and the guideline.
    expect(summaries).toEqual(['Kineret (anakinra) criteria not met on the record: No concurrent biologic, JAK or PDE4 inhibitor',
      'Prior authorization required for Kineret (anakinra)', 'Kineret (anakinra) coverage guideline']);
    const cardText = JSON.stringify(res.body.cards);
    expect(cardText).not.toContain('could not be retrieved');
    // The same JWT cannot be replayed (jti).
    expect((await api().post('/cds-services/crd-order-sign').set('Authorization', `Bearer ${prepared.jwt}`).send(prepared.request)).status).toBe(401);
  });

  test('the sandbox launches only apps it knows', async () => {
    const res = await api().post('/sandbox/api/launch').send({ patientId: 'ra-mtx', orderId: 'ra-mtx-kineret-order', url: 'https://elsewhere.example/launch' });
    expect(res.status).toBe(400);
    expect((await api().get('/')).headers.location).toBe('/sandbox/');
  });

  test('unexpected resources are never part of the seed', async () => {
    const bundles = await services.sandbox!.fhir.search('Patient', '');
    expect(bundles.every((p: FhirResource) => p.resourceType === 'Patient')).toBe(true);
    expect(bundles.length).toBe(loadCorpus(SCENARIO_DIR, corpusDate()).scenarios.length);
  });
});
