/**
 * A test instance of the service with authentication ON: an in-memory audit store, and CDS and DTR
 * test clients whose keys are generated here at test time (never committed). Requests are signed
 * with real JWTs, as a CDS client or DTR app would sign them.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import request from 'supertest';
import type express from 'express';
import { createApp, createServices, type Services } from '../../src/app';
import { openAuditStore } from '../../src/audit/open';
import { loadConfig } from '../../src/config';
import { epochSeconds, systemClock, type Clock } from '../../src/core/clock';

export const TEST_ISS = 'https://ehr.test/cds-client';
export const TEST_DTR_CLIENT = 'dtr-test-app';

export interface TestApp {
  app: express.Express;
  services: Services;
  base: string;
  /** A signed CDS Hooks JWT for `path` (aud = base + path). */
  cdsJwt(path: string, claims?: Record<string, unknown>): Promise<string>;
  post(path: string, body: unknown): Promise<request.Response>;
  /** A DTR access token obtained from the token endpoint with a signed client assertion. */
  dtrToken(scope?: string): Promise<string>;
  fhirPost(path: string, body: unknown): Promise<request.Response>;
  fhirGet(path: string, query?: Record<string, string | number>): Promise<request.Response>;
  privateKey: KeyLike;
  kid: string;
  /** Registers a FHIR server origin for the test CDS client (the SSRF guard allows only registered origins). */
  allowFhirServer(url: string): void;
  /** Registers another DTR client (same test key) with these scopes and fhirServers. */
  addDtrClient(clientId: string, scopes: string[], fhirServers?: string[]): void;
  /** Asks the token endpoint for a token of a registered DTR client; resolves with the whole response. */
  tokenResponse(clientId: string, scope: string): Promise<request.Response>;
  /** An access token of a registered DTR client (throws when refused). */
  tokenFor(clientId: string, scope: string): Promise<string>;
}

/** `clock`: the service's clock (default the system's); the test clients sign their JWTs by it too. */
export async function startTestApp(env: Record<string, string> = {}, options: { databaseUrl?: string; schema?: string; clock?: Clock } = {}): Promise<TestApp> {
  const config = loadConfig({ PUBLIC_BASE_URL: 'http://payer.test', SANDBOX: 'off', LOG_LEVEL: 'silent', DATABASE_URL: ':memory:', ...env } as NodeJS.ProcessEnv);
  const clock = options.clock ?? systemClock;
  const store = await openAuditStore(options.databaseUrl ?? config.databaseUrl, { schema: options.schema, clock });
  const services = await createServices(config, { store, clock });
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384' };
  const cdsClient = services.registry.addCdsClient({ iss: TEST_ISS, jwks: { keys: [jwk] }, fhirServers: [] });
  services.registry.addDtrClient({ clientId: TEST_DTR_CLIENT, jwks: { keys: [jwk] }, scopes: ['system/*.rs', 'system/QuestionnaireResponse.cr', 'admin/audit.rs'] });
  const app = createApp(services);
  const base = config.publicBaseUrl;
  const cdsJwt = (path: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(TEST_ISS).setAudience(`${base}${path}`)
      .setIssuedAt(epochSeconds(clock)).setExpirationTime(epochSeconds(clock) + 300).setJti(randomUUID()).sign(privateKey);
  let cached: { token: string; scope: string } | null = null;
  const dtrToken = async (scope = 'system/*.rs system/QuestionnaireResponse.cr admin/audit.rs') => {
    if (cached && cached.scope === scope) return cached.token;
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(TEST_DTR_CLIENT).setSubject(TEST_DTR_CLIENT)
      .setAudience(`${base}/auth/token`).setIssuedAt(epochSeconds(clock)).setExpirationTime(epochSeconds(clock) + 300).setJti(randomUUID()).sign(privateKey);
    const res = await request(app).post('/auth/token').type('form').send({
      grant_type: 'client_credentials', scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    cached = { token: res.body.access_token as string, scope };
    return cached.token;
  };
  const tokenResponse = async (clientId: string, scope: string) => {
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(clientId).setSubject(clientId)
      .setAudience(`${base}/auth/token`).setIssuedAt(epochSeconds(clock)).setExpirationTime(epochSeconds(clock) + 300).setJti(randomUUID()).sign(privateKey);
    return request(app).post('/auth/token').type('form').send({
      grant_type: 'client_credentials', scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
  };
  return {
    app, services, base, cdsJwt, dtrToken, privateKey, kid, tokenResponse,
    allowFhirServer: (url) => void cdsClient.fhirServers.push(new URL(url).origin),
    addDtrClient: (clientId, scopes, fhirServers = []) => void services.registry.addDtrClient({ clientId, jwks: { keys: [jwk] }, scopes, fhirServers }),
    tokenFor: async (clientId, scope) => {
      const res = await tokenResponse(clientId, scope);
      if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.access_token as string;
    },
    post: async (path, body) => request(app).post(path).set('Content-Type', 'application/json').set('Authorization', `Bearer ${await cdsJwt(path)}`).send(JSON.stringify(body)),
    fhirPost: async (path, body) => request(app).post(path).set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${await dtrToken()}`).send(JSON.stringify(body)),
    fhirGet: async (path, query = {}) => request(app).get(path).query(query).set('Authorization', `Bearer ${await dtrToken()}`),
  };
}
