/**
 * Two instances of the built service (node dist/src/server.js) behind a round-robin proxy, sharing one
 * PostgreSQL database (TEST_DATABASE_URL, a schema of their own): every guarantee holds whichever instance
 * answers. A retried hook call is answered from the record the other instance wrote; the same call sent to
 * both at once is recorded once; a CDS Hooks JWT used at one is refused at the other; a DTR client assertion
 * likewise; an access token issued by one is accepted by the other (the same TOKEN_SIGNING_JWK); an auditor
 * reads through either what both recorded. Keys are generated here; nothing is committed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { Client } from 'pg';
import { ROOT } from '../../src/paths';
import { loadScenarios } from '../corpus';
import { orderSignRequest } from '../hook-requests';

jest.setTimeout(120_000);

const SERVER = path.join(ROOT, 'dist', 'src', 'server.js');
const pgUrl = process.env.TEST_DATABASE_URL;
const SIGN = '/cds-services/crd-order-sign';
const ISS = 'https://ehr.two-instances.test';
const DTR_CLIENT = 'dtr-two-instances';
const AUDITOR = 'auditor-two-instances';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

interface Instance {
  name: string;
  base: string;
  child: ChildProcess;
  stderr: string;
}

/** A reverse proxy that sends each request to the next instance in turn. */
function roundRobin(targets: () => string[]): http.Server {
  let next = 0;
  return http.createServer((req, res) => {
    const list = targets();
    const target = new URL(list[next++ % list.length]);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
}

const describeWithPg = pgUrl ? describe : describe.skip;
if (!pgUrl) {
  console.warn('Two instances on one PostgreSQL SKIPPED: TEST_DATABASE_URL is not set (see test/audit/store.test.ts for how to run it).');
}

describeWithPg('two instances behind a proxy, one PostgreSQL', () => {
  const schema = `two_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const instances: Instance[] = [];
  let proxy: http.Server;
  let publicBase: string;
  let key: KeyLike;
  let kid: string;

  const cdsJwt = (jti = randomUUID()) => new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(ISS)
    .setAudience(`${publicBase}${SIGN}`).setIssuedAt().setExpirationTime('5m').setJti(jti).sign(key);
  const assertion = (clientId: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(clientId).setSubject(clientId)
    .setAudience(`${publicBase}/auth/token`).setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).sign(key);
  const post = (base: string, p: string, body: unknown, token: string) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const tokenAt = (base: string, clientAssertion: string, scope: string) => fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion }).toString(),
  });
  const [a, b] = [() => instances[0].base, () => instances[1].base];

  beforeAll(async () => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build (npm test does)`);
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();

    const dir = mkdtempSync(path.join(tmpdir(), 'kineret-two-'));
    const pair = await generateKeyPair('ES384', { extractable: true });
    key = pair.privateKey;
    kid = randomUUID();
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES384' };
    const registry = path.join(dir, 'clients.json');
    writeFileSync(registry, JSON.stringify({
      cdsClients: [{ iss: ISS, jwks: { keys: [jwk] }, fhirServers: [] }],
      dtrClients: [
        { clientId: DTR_CLIENT, jwks: { keys: [jwk] }, scopes: ['system/*.rs', 'system/QuestionnaireResponse.cr'] },
        { clientId: AUDITOR, jwks: { keys: [jwk] }, scopes: ['admin/audit.rs'] },
      ],
    }));
    const signing = await generateKeyPair('ES384', { extractable: true });
    const signingJwk = JSON.stringify({ ...(await exportJWK(signing.privateKey)), kid: randomUUID(), alg: 'ES384' });

    proxy = roundRobin(() => instances.map((i) => i.base));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    publicBase = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const databaseUrl = `${pgUrl}${pgUrl!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    // Both start at once: the migrations run under an advisory lock.
    await Promise.all(['A', 'B'].map(async (name) => {
      const port = await freePort();
      const child = spawn(process.execPath, [SERVER], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH, SANDBOX: 'off', PORT: String(port), PUBLIC_BASE_URL: publicBase, DATABASE_URL: databaseUrl,
          TRUSTED_CLIENTS_FILE: registry, TOKEN_SIGNING_JWK: signingJwk, EVAL_WORKERS: '1', LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const instance: Instance = { name, base: `http://127.0.0.1:${port}`, child, stderr: '' };
      child.stderr!.on('data', (chunk: Buffer) => void (instance.stderr += chunk.toString()));
      instances.push(instance);
      for (let i = 0; i < 600; i++) {
        if (child.exitCode !== null) throw new Error(`instance ${name} exited at start-up (${child.exitCode}): ${instance.stderr}`);
        if (await fetch(`${instance.base}/health`).then((r) => r.ok, () => false)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`instance ${name} did not start: ${instance.stderr}`);
    }));
    instances.sort((x, y) => x.name.localeCompare(y.name));
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => (i.child.exitCode !== null ? undefined : new Promise((r) => {
      i.child.once('exit', r);
      i.child.kill('SIGTERM');
    }))));
    await new Promise((r) => proxy?.close(r));
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  const scenario = loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;

  it('a retried hook call is answered at the other instance from the record the first wrote', async () => {
    const body = JSON.stringify(orderSignRequest(scenario));
    const first = await post(a(), SIGN, body, await cdsJwt());
    expect(first.status).toBe(200);
    const firstBody = await first.json();
    expect(firstBody.cards[0].summary).toMatch(/Prior authorization required/);
    const retry = await post(b(), SIGN, body, await cdsJwt());
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-replayed-from')).toBe(first.headers.get('x-request-id'));
    expect(await retry.json()).toEqual(firstBody);
  });

  it('the same call sent to both at once is recorded once, and both get that answer', async () => {
    const request = orderSignRequest(scenario);
    const body = JSON.stringify(request);
    const answers = await Promise.all([a(), b()].map(async (base) => post(base, SIGN, body, await cdsJwt())));
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const [x, y] = await Promise.all(answers.map((r) => r.json()));
    expect(x).toEqual(y);
    expect(answers.filter((r) => r.headers.get('x-replayed-from')).length).toBeGreaterThanOrEqual(1);
    const auditor = await (await tokenAt(b(), await assertion(AUDITOR), 'admin/audit.rs')).json();
    const audit = await fetch(`${publicBase}/audit/hooks/${request.hookInstance}`, { headers: { Authorization: `Bearer ${auditor.access_token}` } });
    expect(audit.status).toBe(200);
    expect((await audit.json()).calls.map((c: { status: number }) => c.status)).toEqual([200]);
  });

  it('a CDS Hooks JWT used at one instance is refused at the other', async () => {
    const jwt = await cdsJwt();
    expect((await post(a(), SIGN, orderSignRequest(scenario), jwt)).status).toBe(200);
    const replay = await post(b(), SIGN, orderSignRequest(scenario), jwt);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toMatch(/jti/);
  });

  it('a DTR client assertion is used once across instances; a token from one is accepted by the other', async () => {
    const signed = await assertion(DTR_CLIENT);
    const issued = await tokenAt(a(), signed, 'system/Questionnaire.rs');
    expect(issued.status).toBe(200);
    const { access_token: token } = await issued.json();
    expect((await tokenAt(b(), signed, 'system/Questionnaire.rs')).status).toBe(401);
    const read = await fetch(`${b()}/fhir/Questionnaire/kineret-pa`, { headers: { Authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    expect((await read.json()).resourceType).toBe('Questionnaire');
  });

  it('calls through the proxy reach both instances, and every answer is in the shared audit', async () => {
    const requests = Array.from({ length: 6 }, () => orderSignRequest(scenario));
    const answers = await Promise.all(requests.map(async (r) => post(publicBase, SIGN, r, await cdsJwt())));
    expect(answers.map((r) => r.status)).toEqual(requests.map(() => 200));
    const auditor = await (await tokenAt(publicBase, await assertion(AUDITOR), 'admin/audit.rs')).json();
    for (const r of requests) {
      const audit = await fetch(`${publicBase}/audit/hooks/${r.hookInstance}`, { headers: { Authorization: `Bearer ${auditor.access_token}` } });
      expect({ hookInstance: r.hookInstance, status: audit.status }).toEqual({ hookInstance: r.hookInstance, status: 200 });
    }
    for (const i of instances) expect({ instance: i.name, alive: i.child.exitCode === null }).toEqual({ instance: i.name, alive: true });
  });
});
