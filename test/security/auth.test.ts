import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import request from 'supertest';
import { loadScenarios } from '../corpus';
import { orderSignRequest } from '../hook-requests';
import { startTestApp, TEST_DTR_CLIENT, TEST_ISS, type TestApp } from '../support/app';

let t: TestApp;
const path = '/cds-services/crd-order-sign';
const body = () => orderSignRequest(loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.services.store.close();
});

interface Sign {
  alg?: string;
  typ?: string | null;
  kid?: string | null;
  iss?: string;
  aud?: string;
  exp?: number;
  iat?: number;
  jti?: string | null;
  jku?: string;
  key?: KeyLike | Uint8Array;
}

async function sign(o: Sign = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg: o.alg ?? 'ES384' };
  if (o.typ !== null) header.typ = o.typ ?? 'JWT';
  if (o.kid !== null) header.kid = o.kid ?? t.kid;
  if (o.jku) header.jku = o.jku;
  const jwt = new SignJWT({ ...(o.jti !== null ? { jti: o.jti ?? randomUUID() } : {}) })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(o.iss ?? TEST_ISS)
    .setAudience(o.aud ?? `${t.base}${path}`)
    .setIssuedAt(o.iat ?? now)
    .setExpirationTime(o.exp ?? now + 300);
  return jwt.sign(o.key ?? t.privateKey);
}

const call = (token: string | null, p = path) => {
  const r = request(t.app).post(p).set('Content-Type', 'application/json');
  if (token !== null) r.set('Authorization', `Bearer ${token}`);
  return r.send(JSON.stringify(body()));
};

describe('CDS client authentication', () => {
  it('accepts a valid ES384 JWT (no sub) and records the client in the audit trail', async () => {
    const req = body();
    const res = await request(t.app).post(path).set('Content-Type', 'application/json').set('Authorization', `Bearer ${await sign()}`).send(JSON.stringify(req));
    expect(res.status).toBe(200);
    const calls = await t.services.store.findHookCalls(req.hookInstance);
    expect(calls).toHaveLength(1);
    expect(calls[0].clientIss).toBe(TEST_ISS);
  });

  it.each<[string, () => Promise<string | null>, RegExp]>([
    ['no token', async () => null, /JWT bearer token is required/],
    ['not a JWT', async () => 'abc.def', /not a JWT/],
    ['alg none', async () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT', kid: t.kid })}.${enc({ iss: TEST_ISS, aud: `${t.base}${path}`, exp: Date.now() / 1000 + 300, iat: Date.now() / 1000, jti: randomUUID() })}.`;
    }, /alg none is not allowed/],
    ['an HMAC signature', async () => sign({ alg: 'HS256', key: new TextEncoder().encode('a-shared-secret-that-is-long-enough!') }), /alg HS256 is not allowed/],
    ['a missing typ', async () => sign({ typ: null }), /typ "JWT"/],
    ['a missing kid', async () => sign({ kid: null }), /kid/],
    ['an unknown issuer', async () => sign({ iss: 'https://evil.example' }), /not a trusted CDS client/],
    ['aud of another service', async () => sign({ aud: `${t.base}/cds-services/crd-order-select` }), /aud/],
    ['aud of another host', async () => sign({ aud: `https://other.example${path}` }), /aud/],
    ['an expired token', async () => sign({ iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 }), /exp|expired/],
    ['iat in the future', async () => sign({ iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 900 }), /iat|future/],
    ['no jti', async () => sign({ jti: null }), /jti/],
    ['a key the registry does not hold', async () => sign({ key: (await generateKeyPair('ES384')).privateKey }), /signature|key/],
  ])('refuses %s with 401 and a reason', async (_n, token, reason) => {
    const res = await call(await token());
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(reason);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses a replayed jti', async () => {
    const jti = randomUUID();
    expect((await call(await sign({ jti }))).status).toBe(200);
    const again = await call(await sign({ jti }));
    expect(again.status).toBe(401);
    expect(again.body.message).toMatch(/already used/);
  });

  it('allows RS256 only where the registry allows it for that client', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid };
    t.services.registry.addCdsClient({ iss: 'https://generator.test', jwks: { keys: [jwk] }, fhirServers: [] });
    const token = () => sign({ alg: 'RS256', kid, iss: 'https://generator.test', key: privateKey });
    expect((await call(await token())).status).toBe(401);
    t.services.registry.addCdsClient({ iss: 'https://generator.test', jwks: { keys: [jwk] }, fhirServers: [], algorithms: ['RS256', 'ES384'] });
    expect((await call(await token())).status).toBe(200);
    expect(() => t.services.registry.addCdsClient({ iss: 'x', jwks: { keys: [jwk] }, algorithms: ['HS256'] })).toThrow(/not an asymmetric/);
  });

  it('never fetches an unregistered jku; fetches the registered JWKS URL', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const kid = randomUUID();
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid }] };
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const token = await sign({ kid, key: privateKey, jku: `${url}/attacker-jwks` });
      expect((await call(token)).status).toBe(401);
      expect(hits).toEqual([]);
      t.services.registry.addCdsClient({ iss: 'https://jwks-client.test', jwksUrl: `${url}/jwks.json`, fhirServers: [] });
      const ok = await sign({ kid, key: privateKey, iss: 'https://jwks-client.test', jku: `${url}/attacker-jwks` });
      expect((await call(ok)).status).toBe(200);
      expect(hits).toEqual(['/jwks.json']);
    } finally {
      server.close();
    }
  });

  it('discovery works without a token and verifies one when presented', async () => {
    expect((await request(t.app).get('/cds-services')).status).toBe(200);
    const good = await sign({ aud: `${t.base}/cds-services` });
    expect((await request(t.app).get('/cds-services').set('Authorization', `Bearer ${good}`)).status).toBe(200);
    const bad = await sign({ aud: `${t.base}/elsewhere` });
    expect((await request(t.app).get('/cds-services').set('Authorization', `Bearer ${bad}`)).status).toBe(401);
  });

  it('feedback needs a JWT too', async () => {
    const fb = { feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] };
    expect((await request(t.app).post('/cds-services/crd-order-sign/feedback').send(fb)).status).toBe(401);
    expect((await t.post('/cds-services/crd-order-sign/feedback', fb)).status).toBe(200);
  });

  it('refuses a fhirServer the client has not registered (no token is sent there)', async () => {
    const res = await t.post(path, { ...body(), fhirServer: 'https://ehr.elsewhere.example/fhir', fhirAuthorization: { access_token: 'secret', token_type: 'Bearer', expires_in: 60, scope: 'x', subject: 'y' }, prefetch: {} });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('fhir-server-not-allowed');
  });
});

describe('SMART Backend Services on /fhir', () => {
  const assertion = async (o: { aud?: string; sub?: string; jti?: string; exp?: string } = {}) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: t.kid, typ: 'JWT' }).setIssuer(TEST_DTR_CLIENT).setSubject(o.sub ?? TEST_DTR_CLIENT)
      .setAudience(o.aud ?? `${t.base}/auth/token`).setIssuedAt().setExpirationTime(o.exp ?? '5m').setJti(o.jti ?? randomUUID()).sign(t.privateKey);
  const token = async (scope: string, a?: string) =>
    request(t.app).post('/auth/token').type('form').send({
      grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a ?? (await assertion()),
    });

  it('publishes .well-known/smart-configuration', async () => {
    const res = await request(t.app).get('/.well-known/smart-configuration');
    expect(res.body.token_endpoint).toBe(`${t.base}/auth/token`);
    expect(res.body.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
    expect(res.body.grant_types_supported).toEqual(['client_credentials']);
  });

  it('issues a short-lived token for allowed scopes and refuses bad assertions', async () => {
    const ok = await token('system/Questionnaire.rs system/Library.rs system/ValueSet.rs system/Patient.rs');
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('system/Questionnaire.rs system/Library.rs system/ValueSet.rs system/Patient.rs');
    expect(ok.body.expires_in).toBe(300);
    expect((await token('system/Questionnaire.rs', await assertion({ aud: 'https://elsewhere/token' }))).status).toBe(401);
    expect((await token('system/Questionnaire.rs', await assertion({ sub: 'someone-else' }))).status).toBe(401);
    const jti = randomUUID();
    expect((await token('system/Questionnaire.rs', await assertion({ jti }))).status).toBe(200);
    expect((await token('system/Questionnaire.rs', await assertion({ jti }))).body.error).toBe('invalid_client');
    expect((await token('user/Patient.rs')).body.error).toBe('invalid_scope');
  });

  it('guards /fhir and /audit by scope; metadata stays public', async () => {
    expect((await request(t.app).get('/fhir/metadata')).status).toBe(200);
    const none = await request(t.app).get('/fhir/Questionnaire/kineret-pa');
    expect(none.status).toBe(401);
    expect(none.body.resourceType).toBe('OperationOutcome');
    const narrow = (await token('system/Library.rs')).body.access_token as string;
    expect((await request(t.app).get('/fhir/Questionnaire/kineret-pa').set('Authorization', `Bearer ${narrow}`)).status).toBe(403);
    expect((await request(t.app).get('/fhir/Library/KineretPA').set('Authorization', `Bearer ${narrow}`)).status).toBe(200);
    expect((await request(t.app).get('/audit/hooks/x').set('Authorization', `Bearer ${narrow}`)).status).toBe(403);
    expect((await request(t.app).get('/fhir/Library/KineretPA').set('Authorization', 'Bearer forged.token.here')).status).toBe(401);
  });

  it('lets an auditor look up a hook call and its coverage assertion', async () => {
    const req = body();
    const res = await t.post(path, req);
    const ext = res.body.systemActions[0].resource.extension.find((e: { url: string }) => e.url.endsWith('ext-coverage-information'));
    const assertionId = ext.extension.find((e: { url: string }) => e.url === 'coverage-assertion-id').valueString;
    const admin = (await token('admin/audit.rs')).body.access_token as string;
    const hook = await request(t.app).get(`/audit/hooks/${req.hookInstance}`).set('Authorization', `Bearer ${admin}`);
    expect(hook.status).toBe(200);
    expect(hook.body.calls[0].response.systemActions).toHaveLength(1);
    const a = await request(t.app).get(`/audit/assertions/${assertionId}`).set('Authorization', `Bearer ${admin}`);
    expect(a.body.assertions[0].orderRef).toBe('MedicationRequest/kineret-order');
    expect(a.body.assertions[0].coverageRef).toBe('Coverage/cov');
    expect(a.body.call.hookInstance).toBe(req.hookInstance);
    expect((await request(t.app).get('/audit/assertions/nope').set('Authorization', `Bearer ${admin}`)).status).toBe(404);
  });
});

describe('AUTH=off', () => {
  it('accepts unauthenticated calls and logs a warning at start-up and on each request', async () => {
    const lines: string[] = [];
    const pino = (await import('pino')).default;
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const { createServices, createApp } = await import('../../src/app');
    const { loadConfig } = await import('../../src/config');
    const services = await createServices(loadConfig({ AUTH: 'off', SANDBOX: 'off', DATABASE_URL: ':memory:' } as NodeJS.ProcessEnv), { log });
    expect(lines.some((l) => /AUTH=off/.test(l))).toBe(true);
    const before = lines.length;
    const res = await request(createApp(services)).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body()));
    expect(res.status).toBe(200);
    expect(lines.length).toBeGreaterThan(before);
    await services.store.close();
  });
});
