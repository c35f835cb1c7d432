/**
 * The security suite over EVERY route, on a production-mode instance (NODE_ENV=production,
 * SANDBOX=off) listening on a real socket. Routes are enumerated from the application's own
 * declarations, and the declarations are checked against what Express actually serves, so a new
 * route cannot escape: each is called with no token, a wrong scope (or a JWT for another service)
 * and another client's credentials, over path variants (case, absolute-URL request lines, `#` and
 * `;` suffixes, double and encoded slashes, malformed percent-encodings). Issue 15's reproductions
 * are here by name. Throughout, no promise may be left rejected and the service must stay up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import request from 'supertest';
import type { Access } from '../../src/http/auth';
import { assertAllDeclared, servedRoutes, type RouteDeclaration } from '../../src/http/route';
import { FHIR_SERVER_REFUSED } from '../../src/http/fhir';
import { loadScenarios } from '../corpus';
import { orderSignRequest } from '../hook-requests';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { startTestApp, TEST_DTR_CLIENT, TEST_ISS, type TestApp } from '../support/app';

jest.setTimeout(120_000);

let t: TestApp;
let server: http.Server;
let port: number;
const failures: unknown[] = [];
const onFailure = (e: unknown) => void failures.push(e);

const OTHER_CLIENT = 'dtr-other-tenant';
const NARROW_CLIENT = 'dtr-narrow';
const ALL_SCOPES = 'system/*.rs system/QuestionnaireResponse.cr';
let full: string;
let other: string;
let wrong: string;
let questionnaireOnly: string;
let auditor: string;

beforeAll(async () => {
  process.on('unhandledRejection', onFailure);
  process.on('uncaughtException', onFailure);
  t = await startTestApp({ NODE_ENV: 'production', SANDBOX: 'off', BODY_LIMIT_BYTES: String(2 * 1024 * 1024) });
  t.addDtrClient(OTHER_CLIENT, ['system/*.rs', 'system/QuestionnaireResponse.cr']);
  t.addDtrClient(NARROW_CLIENT, ['system/Patient.r', 'system/Questionnaire.rs']);
  full = await t.tokenFor(TEST_DTR_CLIENT, ALL_SCOPES);
  other = await t.tokenFor(OTHER_CLIENT, ALL_SCOPES);
  wrong = await t.tokenFor(NARROW_CLIENT, 'system/Patient.r');
  questionnaireOnly = await t.tokenFor(NARROW_CLIENT, 'system/Questionnaire.rs');
  auditor = await t.tokenFor(TEST_DTR_CLIENT, 'admin/audit.rs');
  server = http.createServer(t.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  process.off('unhandledRejection', onFailure);
  process.off('uncaughtException', onFailure);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await t.services.store.close();
});

afterEach(() => {
  expect(failures).toEqual([]);
});

const declarations = (): readonly RouteDeclaration[] => t.services.routes!.declarations;
/** A URL for a declared Express path: parameters filled in, escapes removed; mounts get a file under them. */
const concrete = (d: RouteDeclaration, value = 'x') => {
  const p = d.path.replace(/\\\$/g, '$').replace(/:(\w+)/g, value);
  return d.method === 'USE' ? `${p}/${value}` : p;
};
const methodOf = (d: RouteDeclaration) => (d.method === 'USE' ? 'GET' : d.method);
const protectedRoute = (a: Access) => a.kind === 'smart' || a.kind === 'reviewer' || (a.kind === 'cds' && !a.optional);

const send = (method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> =>
  rawRequest(port, method, target, {
    headers: { ...(method === 'GET' ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: method === 'GET' ? undefined : body ?? '{}',
  });

/** Path forms that must reach the very same route: the answer must be the one for the plain path. */
const sameRoute = (p: string): [string, string][] => [
  ['plain', p],
  ['absolute-URL request line', `http://x${p}`],
  ['absolute-URL request line, other host', `https://evil.example:8443${p}`],
  ['a # suffix naming a public path', `${p}#/fhir/metadata`],
  ['a #$populate suffix', `${p}#$populate`],
  ['a query string', `${p}?_format=json`],
];

/** Path forms that are other paths: none may reach a protected handler (404 or 400, or the route's own refusal). */
const otherPaths = (p: string): [string, string][] => {
  const segments = p.split('/');
  const last = segments.length - 1;
  return [
    ['upper case', p.toUpperCase()],
    ['mixed case', p.replace(/^\/(\w)/, (_m, c: string) => `/${c.toUpperCase()}`)],
    ['mixed case, another segment', segments.map((seg, i) => (i === 2 && /^[$A-Za-z]/.test(seg) ? seg.replace(/[A-Za-z]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())) : seg)).join('/')],
    ['a trailing slash', `${p}/`],
    ['a leading double slash', `/${p}`],
    ['an inner double slash', [...segments.slice(0, last), '', segments[last]].join('/')],
    ['a ; suffix', `${p};x=1`],
    ['a ; parameter inside', p.replace(/^\/(\w+)/, '/$1;x')],
    ['an encoded slash', [...segments.slice(0, last - 1), `${segments[last - 1]}%2F${segments[last]}`].join('/')],
    ['an encoded first letter', p.replace(/^\/(\w)/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16)}`)],
    ['a dot segment', p.replace(/^\/(\w+)/, '/$1/.')],
    ['a dot-dot segment', p.replace(/^\/(\w+)/, '/$1/../$1')],
    ['a malformed percent-encoding at the end', `${p}%E0`],
    ['a malformed percent-encoding as a segment', [...segments.slice(0, last), '%E0%A4%A'].join('/')],
    ['an encoded NUL', `${p}%00`],
  ];
};

describe('the route table', () => {
  it('every route Express serves is declared, and every declaration is served', () => {
    const served = servedRoutes(t.app).map((r) => `${r.method} ${r.path}`).sort();
    const declared = declarations().filter((d) => d.method !== 'USE').flatMap((d) => [`${d.method} ${d.path}`]).sort();
    // Express also answers HEAD on GET routes; it lists GET only.
    expect(served).toEqual(declared);
    expect(() => assertAllDeclared(t.app)).not.toThrow();
  });

  it('start-up refuses an application with a route or middleware added without a declaration', async () => {
    const { createApp } = await import('../../src/app');
    const express = (await import('express')).default;
    const app = createApp(t.services);
    app.get('/fhir/QuestionnaireResponse/:id/raw', (_req, res) => void res.json({}));
    expect(() => assertAllDeclared(app)).toThrow(/without an access declaration.*\/fhir\/QuestionnaireResponse\/:id\/raw/);
    const other = createApp(t.services);
    other.use(express.Router().get('/audit/all', (_req, res) => void res.json({})));
    expect(() => assertAllDeclared(other)).toThrow(/\/audit\/all/);
  });

  it('in production no sandbox route exists; /fhir and /audit routes need scopes except metadata and SMART discovery', () => {
    expect(declarations().filter((d) => d.access.kind === 'sandbox')).toEqual([]);
    const open = declarations().filter((d) => /^\/(fhir|audit)(\/|$)/.test(d.path) && d.access.kind !== 'smart').map((d) => d.path);
    expect(open.sort()).toEqual(['/fhir/.well-known/smart-configuration', '/fhir/metadata']);
    const audit = declarations().filter((d) => d.path.startsWith('/audit/'));
    expect(audit.length).toBeGreaterThan(0);
    for (const d of audit) expect(d.access).toMatchObject({ kind: 'smart', evenWithAuthOff: true });
    // Public routes say why.
    for (const d of declarations()) if (d.access.kind === 'public') expect(d.access.reason.length).toBeGreaterThan(5);
  });
});

describe('every route, no credentials', () => {
  it('protected routes answer 401 on the path and on every form of the same path', async () => {
    const problems: string[] = [];
    for (const d of declarations().filter((x) => protectedRoute(x.access))) {
      for (const [form, target] of sameRoute(concrete(d))) {
        const res = await send(methodOf(d), target);
        if (res.status !== 401) problems.push(`${d.method} ${d.path} [${form}] ${target} -> ${res.status}`);
        if (d.path.startsWith('/fhir/') && res.status === 401 && JSON.parse(res.body).resourceType !== 'OperationOutcome') problems.push(`${target}: 401 without an OperationOutcome`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('no other form of a protected path reaches a handler: 401, 404 or 400, never 2xx, 3xx or 5xx', async () => {
    const problems: string[] = [];
    for (const d of declarations().filter((x) => protectedRoute(x.access))) {
      for (const [form, target] of otherPaths(concrete(d))) {
        const res = await send(methodOf(d), target);
        if (![400, 401, 404].includes(res.status)) problems.push(`${d.method} ${d.path} [${form}] ${target} -> ${res.status} ${res.body.slice(0, 120)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('public routes never fail with 5xx or leak file paths, whatever the path form', async () => {
    const problems: string[] = [];
    for (const d of declarations().filter((x) => !protectedRoute(x.access))) {
      for (const [form, target] of [...sameRoute(concrete(d)), ...otherPaths(concrete(d))]) {
        const res = await send(methodOf(d), target);
        if (res.status >= 500) problems.push(`${d.method} ${d.path} [${form}] ${target} -> ${res.status}`);
        if (/\/work\/|node_modules|ENOENT|\.js:\d+/.test(res.body)) problems.push(`${target}: the body names a file: ${res.body.slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('routing is case-sensitive and strict', () => {
  it('with a token that holds every scope, no other form of a route\'s path reaches it (404, or 400 for a malformed path)', async () => {
    const problems: string[] = [];
    const everything = await t.tokenFor(TEST_DTR_CLIENT, `${ALL_SCOPES} admin/audit.rs`);
    for (const d of declarations().filter((x) => x.access.kind === 'smart')) {
      // Only forms that change the route's literal part (a parameter's value is data, not a route).
      const literal = d.path.split('/').length - 1 >= 2 && !d.path.split('/')[2].startsWith(':');
      for (const [form, target] of otherPaths(concrete(d)).filter(([f]) => literal || f !== 'mixed case, another segment')) {
        if (/:\w+$/.test(d.path) && /a ; suffix|encoded NUL|malformed percent-encoding at the end/.test(form)) continue;
        const res = await send(methodOf(d), target, { Authorization: `Bearer ${everything}` });
        const malformed = /%E0|%00|%2F/.test(target);
        if (!(res.status === 404 || (malformed && res.status === 400))) problems.push(`${d.method} ${d.path} [${form}] ${target} -> ${res.status}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('every route, wrong credentials', () => {
  it('SMART routes: a token without the route\'s scope is 403 on every form of the path; others stay 400/403/404', async () => {
    const problems: string[] = [];
    for (const d of declarations().filter((x) => x.access.kind === 'smart')) {
      const auth = { Authorization: `Bearer ${wrong}` };
      for (const [form, target] of sameRoute(concrete(d))) {
        const res = await send(methodOf(d), target, auth);
        if (res.status !== 403) problems.push(`${d.method} ${d.path} [${form}] -> ${res.status}`);
      }
      for (const [form, target] of otherPaths(concrete(d))) {
        const res = await send(methodOf(d), target, auth);
        if (![400, 403, 404].includes(res.status)) problems.push(`${d.method} ${d.path} [${form}] ${target} -> ${res.status}`);
      }
      // A forged or foreign token is 401.
      const forged = await send(methodOf(d), concrete(d), { Authorization: 'Bearer eyJhbGciOiJFUzM4NCJ9.eyJzY29wZSI6InN5c3RlbS8qLioifQ.AAAA' });
      if (forged.status !== 401) problems.push(`${d.path} forged token -> ${forged.status}`);
    }
    expect(problems).toEqual([]);
  });

  it('CDS routes: a JWT for another service, from an unknown issuer, or for another host is 401 on every form of the path', async () => {
    const problems: string[] = [];
    const sign = (iss: string, aud: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: t.kid, typ: 'JWT' })
      .setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).sign(t.privateKey);
    for (const d of declarations().filter((x) => x.access.kind === 'cds' && !x.access.optional)) {
      const path = concrete(d, 'crd-order-sign');
      for (const [name, token] of [
        ['another service', () => sign(TEST_ISS, `${t.base}/cds-services/crd-order-select/other`)],
        ['an unknown issuer', () => sign('https://evil.example', `${t.base}${path}`)],
        ['another host', () => sign(TEST_ISS, `https://evil.example${path}`)],
      ] as const) {
        for (const [form, target] of sameRoute(path)) {
          const res = await send(methodOf(d), target, { Authorization: `Bearer ${await token()}` });
          if (res.status !== 401) problems.push(`${d.path} [${name}, ${form}] -> ${res.status}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('issue 15: a token with only system/Questionnaire.rs cannot read responses through a #$populate suffix', async () => {
    const created = await request(t.app).post('/fhir/QuestionnaireResponse').set('Authorization', `Bearer ${full}`).set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(storedResponse()));
    expect(created.status).toBe(201);
    for (const target of [`/fhir/QuestionnaireResponse/${created.body.id}#$populate`, `/fhir/QuestionnaireResponse/${created.body.id}/$determination#$populate`, `http://x/fhir/QuestionnaireResponse/${created.body.id}`]) {
      const res = await send('GET', target, { Authorization: `Bearer ${questionnaireOnly}` });
      expect({ target, status: res.status }).toEqual({ target, status: 403 });
    }
  });
});

/** A response stored with the record it is evaluated against (src/dtr/operations.ts submitResponse), so it has a determination. */
function storedResponse() {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'response', resource: { resourceType: 'QuestionnaireResponse', status: 'in-progress', subject: { reference: 'Patient/tenant-test' }, questionnaire: `${t.base}/fhir/Questionnaire/kineret-pa` } },
      { name: 'data', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'tenant-test' } }] } },
    ],
  };
}

describe('other clients (tenant isolation)', () => {
  it('a stored response and its determination: its owner reads them, another client gets 404 on every path form, an auditor reads all', async () => {
    const created = await request(t.app).post('/fhir/QuestionnaireResponse').set('Authorization', `Bearer ${full}`).set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(storedResponse()));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    for (const path of [`/fhir/QuestionnaireResponse/${id}`, `/fhir/QuestionnaireResponse/${id}/$determination`]) {
      expect((await send('GET', path, { Authorization: `Bearer ${full}` })).status).toBe(200);
      for (const [form, target] of [...sameRoute(path), ...otherPaths(path)]) {
        const res = await send('GET', target, { Authorization: `Bearer ${other}` });
        expect({ form, status: res.status }).toEqual({ form, status: [400, 404].includes(res.status) ? res.status : 404 });
        expect(res.body).not.toContain('tenant-test');
      }
      const audited = await send('GET', path, { Authorization: `Bearer ${auditor}` });
      expect(audited.status).toBe(200);
    }
    // The other client's own response is its own.
    const mine = await request(t.app).post('/fhir/QuestionnaireResponse').set('Authorization', `Bearer ${other}`).set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(storedResponse()));
    expect((await send('GET', `/fhir/QuestionnaireResponse/${mine.body.id}`, { Authorization: `Bearer ${other}` })).status).toBe(200);
    expect((await send('GET', `/fhir/QuestionnaireResponse/${mine.body.id}`, { Authorization: `Bearer ${full}` })).status).toBe(404);
  });

  it('a CDS client never gets the answer recorded for another client\'s hookInstance', async () => {
    const { exportJWK, generateKeyPair } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const kid = randomUUID();
    t.services.registry.addCdsClient({ iss: 'https://other-ehr.test', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid }] }, fhirServers: [] });
    const path = '/cds-services/crd-order-sign';
    const body = orderSignRequest(loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!);
    const first = await t.post(path, body);
    expect(first.status).toBe(200);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer('https://other-ehr.test')
      .setAudience(`${t.base}${path}`).setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).sign(privateKey);
    const second = await request(t.app).post(path).set('Content-Type', 'application/json').set('Authorization', `Bearer ${token}`).send(JSON.stringify(body));
    expect(second.status).toBe(200);
    expect(second.headers['x-replayed-from']).toBeUndefined();
    expect(second.body.cards[0].uuid).not.toBe(first.body.cards[0].uuid);
  });
});

describe('issue 15 reproductions on the production-mode instance', () => {
  it('1: /FHIR, /Fhir and absolute-URL request lines read nothing without a token; POST /FHIR/QuestionnaireResponse stores nothing', async () => {
    const before = await t.services.store.recentDtrEvents('response', 1000);
    for (const [method, target] of [
      ['GET', '/FHIR/Questionnaire/kineret-pa'],
      ['GET', '/Fhir/QuestionnaireResponse/x/$determination'],
      ['POST', '/FHIR/QuestionnaireResponse'],
      ['POST', '/FHIR/QuestionnaireResponse/$evaluate'],
      ['POST', '/FHIR/Questionnaire/$populate'],
      ['POST', '/FHIR/Questionnaire/$questionnaire-package'],
      ['POST', '/FHIR/Questionnaire/$log-questionnaire-errors'],
      ['GET', 'http://x/fhir/Questionnaire/kineret-pa'],
      ['GET', '/fhir/Questionnaire/kineret-pa#/fhir/metadata'],
    ]) {
      const res = await send(method, target, {}, JSON.stringify(storedResponse()));
      expect({ target, ok: res.status === 401 || res.status === 404 }).toEqual({ target, ok: true });
      expect(res.body).not.toContain('"resourceType":"Questionnaire"');
    }
    expect(await t.services.store.recentDtrEvents('response', 1000)).toHaveLength(before.length);
  });

  it('2: a malformed percent-encoding is a 400, with or without a token, and the service stays up', async () => {
    for (const auth of [{}, { Authorization: `Bearer ${full}` }] as Record<string, string>[]) {
      for (const [method, target] of [
        ['GET', '/fhir/Questionnaire/%E0'], ['GET', '/fhir/QuestionnaireResponse/%E0/$determination'], ['POST', '/cds-services/%E0'],
        ['GET', '/audit/hooks/%E0%A4%A'], ['GET', '/fhir/ValueSet/%FF/$expand'], ['POST', '/cds-services/%C0%AF/feedback'],
      ]) {
        const res = await send(method, target, auth);
        expect({ target, status: res.status }).toEqual({ target, status: 400 });
      }
    }
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('3: $populate refuses fhirServer targets with one text, whatever the target; registered ones fail with one text too', async () => {
    const targets = [
      'https://[::ffff:7f00:1]:4443/', 'https://[::ffff:127.0.0.1]:4443/fhir', 'https://127.0.0.1:1/fhir', 'http://127.0.0.1:3000/fhir',
      'https://169.254.169.254/latest/meta-data', 'https://[fd00:ec2::254]/', 'https://[64:ff9b::7f00:1]/', 'https://[2002:7f00:1::]/',
      'https://ehr.example.org/fhir', 'not a url', 'file:///etc/passwd',
    ];
    const populate = (server: string, token: string) => request(t.app).post('/fhir/Questionnaire/$populate').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: { reference: 'Patient/p1' } }, { name: 'fhirServer', valueUrl: server }] }));
    const originOf = (s: string) => {
      try {
        return new URL(s).origin;
      } catch {
        return null;
      }
    };
    // Without the operation scope, and with it but for unregistered origins: 403, the same words.
    t.addDtrClient('dtr-populate', ['system/Questionnaire.rs', 'system/Questionnaire.$populate'], ['https://[::ffff:7f00:1]:4443', 'https://127.0.0.1:1', 'https://127.0.0.1:9']);
    expect(targets.filter((s) => !originOf(s))).toEqual(['not a url']);
    const withScope = await t.tokenFor('dtr-populate', 'system/Questionnaire.rs system/Questionnaire.$populate');
    const bodies = new Set<string>();
    for (const server of targets) {
      const res = await populate(server, full);
      expect({ server, status: res.status }).toEqual({ server, status: 403 });
      bodies.add(res.body.issue[0].diagnostics);
    }
    const registered = ['https://[::ffff:7f00:1]:4443', 'https://127.0.0.1:1', 'https://127.0.0.1:9'];
    for (const server of targets.filter((s) => !registered.includes(originOf(s) ?? ''))) {
      const res = await populate(server, withScope);
      expect({ server, status: res.status }).toEqual({ server, status: 403 });
      bodies.add(res.body.issue[0].diagnostics);
    }
    expect([...bodies]).toEqual([FHIR_SERVER_REFUSED]);
    // Registered origins that are loopback (refused in production) or closed ports: the same warnings.
    const warnings = new Set<string>();
    for (const server of ['https://[::ffff:7f00:1]:4443/', 'https://127.0.0.1:1/fhir', 'https://127.0.0.1:9/fhir']) {
      const res = await populate(server, withScope);
      expect(res.status).toBe(200);
      const issues = res.body.parameter.find((p: { name: string }) => p.name === 'issues').resource.issue as { code: string; diagnostics: string }[];
      warnings.add(JSON.stringify(issues.filter((i) => i.code === 'incomplete').map((i) => i.diagnostics)));
    }
    expect(warnings.size).toBe(1);
    expect([...warnings][0]).toMatch(/could not be read from fhirServer/);
    expect([...warnings][0]).not.toMatch(/127|refused|ECONN|not public/);
  });

  it('5: an unauthenticated large or deep body is refused before it is parsed (401, not 400 or 413)', async () => {
    const garbage = Buffer.alloc(4 * 1024 * 1024, '[');
    for (const target of ['/fhir/QuestionnaireResponse/$evaluate', '/cds-services/crd-order-sign', '/fhir/Questionnaire/$questionnaire-package']) {
      const res = await send('POST', target, {}, garbage);
      expect({ target, status: res.status }).toEqual({ target, status: 401 });
    }
    // Authenticated: over the body limit 413; deep 400 (scanned before parsing).
    const big = await send('POST', '/fhir/QuestionnaireResponse/$evaluate', { Authorization: `Bearer ${full}` }, garbage);
    expect(big.status).toBe(413);
    const deep = await send('POST', '/fhir/QuestionnaireResponse/$evaluate', { Authorization: `Bearer ${full}` }, `${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.body).issue[0].diagnostics).toMatch(/nested more than 100/);
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('6: AUTH=off never opens /audit', async () => {
    const off = await startTestApp({ AUTH: 'off', SANDBOX: 'off' });
    try {
      expect((await request(off.app).get('/audit/hooks/x')).status).toBe(401);
      expect((await request(off.app).get('/audit/assertions/x')).status).toBe(401);
      expect((await request(off.app).get('/fhir/Questionnaire/kineret-pa')).status).toBe(200);
      const admin = await off.tokenFor(TEST_DTR_CLIENT, 'admin/audit.rs');
      expect((await request(off.app).get('/audit/hooks/x').set('Authorization', `Bearer ${admin}`)).status).toBe(404);
    } finally {
      await off.services.store.close();
    }
  });

  it('6: a 404 under /dtr/vendor/lforms/ names no file path', async () => {
    for (const target of ['/dtr/vendor/lforms/nope.js', '/dtr/vendor/lforms/../../package.json', '/dtr/vendor/lforms/%2e%2e/%2e%2e/package.json', '/dtr/vendor/lforms/%E0']) {
      const res = await send('GET', target);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body).not.toMatch(/\/work\/|node_modules|ENOENT|lforms\/dist/);
    }
  });
});
