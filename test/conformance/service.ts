/**
 * The built service as a separate process, configured the way the README says to run it for the ONC
 * Inferno kits: SANDBOX=off, authentication on, CDS_JTI_REUSE=allow, a trusted-clients file naming
 * the kit's CDS client (iss <inferno>/custom/crd_server, its JWKS) and a DTR client (Backend
 * Services). Keys are generated here, at test time. PUBLIC_BASE_URL is the README's default
 * (http://localhost:3000) so that the examples/ apply unchanged; the process listens on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { ROOT } from '../../src/paths';
import { freePort } from '../support/ports';

export const PUBLIC_BASE = 'http://localhost:3000';
export const INFERNO_ISS = 'https://inferno.test/suites/custom/crd_server';
export const DTR_CLIENT = 'inferno-dtr-payer-suite';

export interface RunningService {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Everything the process wrote (JSON log lines). */
  output(): string;
  /** A CDS Hooks JWT as the Inferno CRD kit builds it (JwtHelper: alg, typ JWT, kid, jku; iss, aud, exp +5 min, iat, jti of 64 hex). */
  infernoJwt(aud: string, alg?: 'ES384' | 'RS384'): Promise<string>;
  /** POST /auth/token as a Backend Services client; the whole response. */
  token(scope: string): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const server = path.join(ROOT, 'dist', 'src', 'server.js');
  if (!existsSync(server)) throw new Error(`${server} is missing: run npm run build (npm test does)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'kineret-conformance-'));
  const keys: Record<'ES384' | 'RS384', { privateKey: KeyLike; kid: string; jwk: Record<string, unknown> }> = {} as never;
  for (const alg of ['ES384', 'RS384'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    keys[alg] = { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }
  const registry = path.join(dir, 'trusted-clients.json');
  writeFileSync(registry, JSON.stringify({
    cdsClients: [{ iss: INFERNO_ISS, jwks: { keys: [keys.ES384.jwk, keys.RS384.jwk] }, algorithms: ['ES384', 'RS384'], fhirServers: [] }],
    dtrClients: [{ clientId: DTR_CLIENT, jwks: { keys: [keys.ES384.jwk] }, scopes: ['system/*.rs', 'system/QuestionnaireResponse.cr'] }],
  }));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let out = '';
  const child: ChildProcess = spawn(process.execPath, [server], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, PORT: String(port), PUBLIC_BASE_URL: PUBLIC_BASE, SANDBOX: 'off', AUTH: 'on', CDS_JTI_REUSE: 'allow',
      TRUSTED_CLIENTS_FILE: registry, DATABASE_URL: path.join(dir, 'audit.sqlite'), LOG_LEVEL: 'warn', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => void (out += c.toString()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited at start-up (${child.exitCode}): ${out}`);
    const up = await fetch(`${origin}/health`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 600) throw new Error(`the service did not start in 60 s: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    origin,
    output: () => out,
    infernoJwt: (aud, alg = 'ES384') => new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT', kid: keys[alg].kid, jku: `${INFERNO_ISS}/jwks.json` })
      .setIssuer(INFERNO_ISS).setAudience(aud).setIssuedAt().setExpirationTime('5m').setJti(randomBytes(32).toString('hex'))
      .sign(keys[alg].privateKey),
    token: async (scope) => {
      const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: keys.ES384.kid, typ: 'JWT' })
        .setIssuer(DTR_CLIENT).setSubject(DTR_CLIENT).setAudience(`${PUBLIC_BASE}/auth/token`).setIssuedAt().setExpirationTime('5m').setJti(randomUUID())
        .sign(keys.ES384.privateKey);
      const res = await fetch(`${origin}/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
