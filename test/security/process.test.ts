/**
 * Issue 15's reproductions against the built service as a separate production-mode process
 * (node dist/src/server.js, NODE_ENV=production, SANDBOX=off, a registry file written here with keys
 * generated here): the requests that used to stop it or read data without a token, sent over raw
 * sockets; afterwards the process must still be running and healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ROOT } from '../../src/paths';
import { rawRequest } from '../support/raw-http';
import { freePort } from '../support/ports';

jest.setTimeout(120_000);

const SERVER = path.join(ROOT, 'dist', 'src', 'server.js');
let child: ChildProcess;
let port: number;
let stderr = '';
let token: string;

beforeAll(async () => {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build (npm test does)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'kineret-prod-'));
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384' };
  const registry = path.join(dir, 'clients.json');
  writeFileSync(registry, JSON.stringify({
    cdsClients: [{ iss: 'https://ehr.test', jwks: { keys: [jwk] }, fhirServers: [] }],
    dtrClients: [{ clientId: 'dtr-prod-test', jwks: { keys: [jwk] }, scopes: ['system/*.rs', 'system/QuestionnaireResponse.cr'] }],
  }));
  port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, NODE_ENV: 'production', SANDBOX: 'off', PORT: String(port), PUBLIC_BASE_URL: base,
      DATABASE_URL: path.join(dir, 'audit.sqlite'), TRUSTED_CLIENTS_FILE: registry, LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (c: Buffer) => void (stderr += c.toString()));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited at start-up (${child.exitCode}): ${stderr}`);
    const up = await rawRequest(port, 'GET', '/health').then((r) => r.status === 200, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer('dtr-prod-test').setSubject('dtr-prod-test')
    .setAudience(`${base}/auth/token`).setIssuedAt().setExpirationTime('5m').setJti(randomUUID()).sign(privateKey);
  const form = new URLSearchParams({
    grant_type: 'client_credentials', scope: 'system/Questionnaire.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
  }).toString();
  const res = await rawRequest(port, 'POST', '/auth/token', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
  expect(res.status).toBe(200);
  token = JSON.parse(res.body).access_token;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

describe('the production-mode process', () => {
  it('answers the reproductions with 400/401/403/404 and stays up', async () => {
    const cases: [string, string, Record<string, string>, string | Buffer | undefined, number[]][] = [
      ['GET', '/fhir/Questionnaire/%E0', {}, undefined, [400]],
      ['GET', '/fhir/Questionnaire/%E0', { Authorization: `Bearer ${token}` }, undefined, [400]],
      ['GET', '/FHIR/Questionnaire/kineret-pa', {}, undefined, [404]],
      ['GET', '/Fhir/QuestionnaireResponse/x/$determination', {}, undefined, [404]],
      ['GET', 'http://x/fhir/Questionnaire/kineret-pa', {}, undefined, [401]],
      ['GET', '/fhir/Questionnaire/kineret-pa#/fhir/metadata', {}, undefined, [401]],
      ['POST', '/FHIR/QuestionnaireResponse', { 'Content-Type': 'application/fhir+json' }, '{"resourceType":"QuestionnaireResponse","status":"completed","subject":{"reference":"Patient/x"}}', [404]],
      ['GET', `/fhir/QuestionnaireResponse/x#$populate`, { Authorization: `Bearer ${token}` }, undefined, [403]],
      ['POST', '/fhir/Questionnaire/$populate', { 'Content-Type': 'application/fhir+json', Authorization: `Bearer ${token}` },
        JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: { reference: 'Patient/p' } }, { name: 'fhirServer', valueUrl: 'https://[::ffff:7f00:1]:4443/' }] }), [403]],
    ];
    for (const [method, target, headers, body, statuses] of cases) {
      const res = await rawRequest(port, method, target, { headers, body });
      expect({ method, target, status: res.status }).toEqual({ method, target, status: statuses.includes(res.status) ? res.status : statuses[0] });
    }
    // Six unauthenticated 5 MB nested bodies at once: refused without being parsed.
    const nested = Buffer.alloc(5 * 1024 * 1024, '[');
    const refused = await Promise.all(Array.from({ length: 6 }, () =>
      rawRequest(port, 'POST', '/fhir/QuestionnaireResponse/$evaluate', { headers: { 'Content-Type': 'application/fhir+json' }, body: nested })));
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(child.exitCode).toBeNull();
    expect((await rawRequest(port, 'GET', '/health')).status).toBe(200);
    expect(stderr).not.toMatch(/unhandled|fatal/i);
  });
});
