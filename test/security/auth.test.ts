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

describe('CDS JWT lifetime and jti reuse (issue 15 low finding; issue 17 item 3)', () => {
  it('refuses a JWT living longer than CDS_JWT_MAX_LIFETIME_SECONDS (5 minutes by default), whatever iat says', async () => {
    const now = Math.floor(Date.now() / 1000);
    const century = await call(await sign({ exp: now + 100 * 365 * 86400 }));
    expect(century.status).toBe(401);
    expect(century.body.message).toMatch(/lifetime|expires more than/);
    // A backdated iat does not buy a longer life: exp itself is bounded from now.
    const backdated = await call(await sign({ iat: now - 30, exp: now + 3600 }));
    expect(backdated.status).toBe(401);
    expect((await call(await sign({ iat: now, exp: now + 300 }))).status).toBe(200);
  });

  it('keeps jti rows no longer than the bounded lifetime allows, with an index for the sweep', async () => {
    const db = (t.services.store as unknown as { db: { prepare(sql: string): { all(): { name: string }[] } } }).db;
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jti_seen'").all().map((r) => r.name)).toContain('jti_seen_exp');
  });

  it('CDS_JTI_REUSE=allow accepts the same JWT again for the same service while it is valid, logs each reuse, and nothing else', async () => {
    const lines: string[] = [];
    const pino = (await import('pino')).default;
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const { createServices, createApp } = await import('../../src/app');
    const { loadConfig } = await import('../../src/config');
    const services = await createServices(loadConfig({ CDS_JTI_REUSE: 'allow', SANDBOX: 'off', DATABASE_URL: ':memory:', PUBLIC_BASE_URL: t.base } as NodeJS.ProcessEnv), { log });
    expect(lines.some((l) => /CDS_JTI_REUSE=allow/.test(l))).toBe(true);
    services.registry.addCdsClient({ iss: TEST_ISS, jwks: { keys: [await jwkOf()] }, fhirServers: [] });
    const app = createApp(services);
    const token = await sign();
    const send = (p: string, tok = token) => request(app).post(p).set('Content-Type', 'application/json').set('Authorization', `Bearer ${tok}`).send(JSON.stringify(body()));
    expect((await send(path)).status).toBe(200);
    const before = lines.length;
    // The same token with another body, twice: accepted and logged each time.
    expect((await send(path)).status).toBe(200);
    expect((await send(path)).status).toBe(200);
    expect(lines.slice(before).filter((l) => /jti/.test(l) && /was used again/.test(l))).toHaveLength(2);
    // The same jti for another service (another audience) is still a replay.
    const jti = randomUUID();
    expect((await send(path, await sign({ jti }))).status).toBe(200);
    const elsewhere = await send('/cds-services/crd-order-select', await sign({ jti, aud: `${t.base}/cds-services/crd-order-select` }));
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.body.message).toMatch(/already used/);
    await services.store.close();
  });

  it('refuses a replayed jti by default (t runs with the default)', async () => {
    expect(t.services.config.cdsJtiReuse).toBe('refuse');
    const token = await sign();
    expect((await call(token)).status).toBe(200);
    expect((await call(token)).status).toBe(401);
  });
});

async function jwkOf() {
  const { exportJWK } = await import('jose');
  const { createPublicKey } = await import('node:crypto');
  return { ...(await exportJWK(createPublicKey(t.privateKey as never))), kid: t.kid, alg: 'ES384' };
}

describe('wildcard SMART scopes (issue 17 item 5)', () => {
  it('grants system/*.read, system/*.rs, system/*.cruds and system/*.* as the intersection with the registration', async () => {
    t.addDtrClient('dtr-narrow-registration', ['system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs', 'system/QuestionnaireResponse.cr']);
    const granted = async (scope: string) => {
      const res = await t.tokenResponse('dtr-narrow-registration', scope);
      expect({ scope, status: res.status }).toEqual({ scope, status: 200 });
      return (res.body.scope as string).split(' ').sort();
    };
    expect(await granted('system/*.read')).toEqual(['system/Library.rs', 'system/Questionnaire.rs', 'system/QuestionnaireResponse.r', 'system/ValueSet.rs']);
    expect(await granted('system/*.rs')).toEqual(['system/Library.rs', 'system/Questionnaire.rs', 'system/QuestionnaireResponse.r', 'system/ValueSet.rs']);
    expect(await granted('system/*.cruds')).toEqual(['system/Library.rs', 'system/Questionnaire.rs', 'system/QuestionnaireResponse.cr', 'system/ValueSet.rs']);
    expect(await granted('system/*.*')).toEqual(['system/Library.rs', 'system/Questionnaire.rs', 'system/QuestionnaireResponse.cr', 'system/ValueSet.rs']);
    expect(await granted('system/*.write')).toEqual(['system/QuestionnaireResponse.c']);
    expect(await granted('system/Questionnaire.read')).toEqual(['system/Questionnaire.read']);
    expect(await granted('system/QuestionnaireResponse.cruds system/Patient.rs')).toEqual(['system/QuestionnaireResponse.cr']);
    // Nothing outside the registration, wildcard or not; no operation or admin scope through a wildcard.
    expect((await t.tokenResponse('dtr-narrow-registration', 'system/Patient.rs')).body.error).toBe('invalid_scope');
    expect((await t.tokenResponse('dtr-narrow-registration', 'user/*.rs patient/*.read')).body.error).toBe('invalid_scope');
    t.addDtrClient('dtr-everything', ['system/*.*', 'admin/audit.rs', 'system/Questionnaire.$populate']);
    const res = await t.tokenResponse('dtr-everything', 'system/*.rs');
    expect(res.body.scope).toBe('system/*.rs');
    const wide = await t.tokenResponse('dtr-everything', 'system/*.*');
    expect(wide.body.scope).toBe('system/*.*');
    const token = wide.body.access_token as string;
    expect((await request(t.app).get('/audit/hooks/x').set('Authorization', `Bearer ${token}`)).status).toBe(403);
  });

  it('a wildcard token reads what its intersection allows and no more', async () => {
    const token = (await t.tokenResponse('dtr-narrow-registration', 'system/*.read')).body.access_token as string;
    expect((await request(t.app).get('/fhir/Questionnaire/kineret-pa').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await request(t.app).get('/fhir/CodeSystem').set('Authorization', `Bearer ${token}`)).status).toBe(403);
    expect((await request(t.app).post('/fhir/QuestionnaireResponse/$evaluate').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send('{}')).status).toBe(403);
  });
});

describe('start-up refuses unusable token settings', () => {
  const create = async (signingJwk: string) => {
    const { SmartAuthServer } = await import('../../src/security/smart');
    return SmartAuthServer.create({ publicBaseUrl: 'http://x', ttlSeconds: 300, clockSkewSeconds: 60, registry: t.services.registry, ledger: t.services.store, signingJwk });
  };
  it('TOKEN_SIGNING_JWK: public-only, non-EC, the wrong curve, a mismatched pair or not JSON', async () => {
    const ec384 = await generateKeyPair('ES384', { extractable: true });
    const priv = await exportJWK(ec384.privateKey);
    const pub = await exportJWK(ec384.publicKey);
    const other = await exportJWK((await generateKeyPair('ES384', { extractable: true })).privateKey);
    const rsa = await exportJWK((await generateKeyPair('RS384', { extractable: true })).privateKey);
    const p256 = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    await expect(create(JSON.stringify(pub))).rejects.toThrow(/public key/);
    await expect(create(JSON.stringify(rsa))).rejects.toThrow(/EC key/);
    await expect(create(JSON.stringify(p256))).rejects.toThrow(/P-384/);
    await expect(create(JSON.stringify({ ...priv, d: other.d }))).rejects.toThrow(/not a usable ES384 key/);
    await expect(create('{not json')).rejects.toThrow(/not JSON/);
    await expect(create(JSON.stringify({ ...priv, kid: 'k1' }))).resolves.toBeDefined();
  });

  it('ACCESS_TOKEN_TTL_SECONDS, CDS_JWT_MAX_LIFETIME_SECONDS and CDS_JTI_REUSE accept only documented values', async () => {
    const { loadConfig } = await import('../../src/config');
    expect(() => loadConfig({ ACCESS_TOKEN_TTL_SECONDS: '86400' } as NodeJS.ProcessEnv)).toThrow(/ACCESS_TOKEN_TTL_SECONDS must be between 1 and 3600/);
    expect(() => loadConfig({ ACCESS_TOKEN_TTL_SECONDS: '0' } as NodeJS.ProcessEnv)).toThrow(/ACCESS_TOKEN_TTL_SECONDS/);
    expect(() => loadConfig({ CDS_JWT_MAX_LIFETIME_SECONDS: '3153600000' } as NodeJS.ProcessEnv)).toThrow(/CDS_JWT_MAX_LIFETIME_SECONDS/);
    expect(() => loadConfig({ CDS_JTI_REUSE: 'yes' } as NodeJS.ProcessEnv)).toThrow(/CDS_JTI_REUSE must be one of refuse, allow/);
    expect(() => loadConfig({ MAX_DRAFT_ORDERS: '0' } as NodeJS.ProcessEnv)).toThrow(/MAX_DRAFT_ORDERS/);
    expect(loadConfig({} as NodeJS.ProcessEnv)).toMatchObject({ accessTokenTtlSeconds: 300, cdsJwtMaxLifetimeSeconds: 300, cdsJtiReuse: 'refuse', maxDraftOrders: 100, maxPrefetchResources: 5000 });
  });
});
