/**
 * SMART Backend Services for the DTR endpoint: the token endpoint (client_credentials with a
 * private_key_jwt client assertion), short-lived access tokens signed by this service, and scope
 * checks on /fhir. Scopes use SMART v2 syntax (system/Questionnaire.rs); v1 (.read, .write, .*) is
 * accepted, and wildcards (system/*.rs, system/*.read, system/*.*) are granted as their intersection
 * with what the client is registered for.
 */
import { randomUUID } from 'node:crypto';
import {
  decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT,
  type JWK, type KeyLike,
} from 'jose';
import { epochSeconds, systemClock, type Clock } from '../core/clock';
import type { JtiLedger } from './cds-auth';
import type { ClientRegistry } from './registry';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_ALGS = ['RS384', 'ES384'];

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(readonly status: number, readonly error: string, description: string) {
    super(description);
  }
}

export interface AccessTokenClaims {
  clientId: string;
  scopes: string[];
  /** Set on a token of a hosted DTR app session (src/security/dtr-session.ts): the launch it is bound to. */
  session?: SessionBinding;
}

/** What a hosted DTR app session is bound to: the EHR that launched it, its patient and its user. */
export interface SessionBinding {
  /** The EHR's FHIR base (the launch's iss). */
  ehr: string;
  /** The launch's patient id, confirmed by the EHR. */
  patient: string;
  /** The id_token's fhirUser, when it has one. */
  user: string | null;
}

type SigningKey = KeyLike | Uint8Array;

export class SmartAuthServer {
  private constructor(
    private readonly signingKey: SigningKey,
    private readonly verifyKey: SigningKey,
    private readonly kid: string,
    private readonly opts: { publicBaseUrl: string; ttlSeconds: number; clockSkewSeconds: number; registry: ClientRegistry; ledger: JtiLedger; clock: Clock },
  ) {}

  /**
   * Uses TOKEN_SIGNING_JWK when configured (needed for several instances), else a key generated now.
   * A configured key must be a private EC P-384 key (ES384); anything else stops the start-up.
   */
  static async create(opts: { publicBaseUrl: string; ttlSeconds: number; clockSkewSeconds: number; registry: ClientRegistry; ledger: JtiLedger; clock?: Clock; signingJwk?: string }): Promise<SmartAuthServer> {
    const withClock = { ...opts, clock: opts.clock ?? systemClock };
    if (opts.signingJwk) {
      const jwk = parseSigningJwk(opts.signingJwk);
      const { d: _d, ...pub } = jwk;
      let keys: [SigningKey, SigningKey];
      try {
        keys = [await importJWK(jwk, 'ES384'), await importJWK(pub, 'ES384')];
      } catch (e) {
        throw new Error(`TOKEN_SIGNING_JWK is not a usable ES384 key: ${(e as Error).message}`);
      }
      const server = new SmartAuthServer(keys[0], keys[1], jwk.kid ?? 'configured', withClock);
      await server.selfTest();
      return server;
    }
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = (await exportJWK(publicKey)).x!.slice(0, 16);
    return new SmartAuthServer(privateKey, publicKey, kid, withClock);
  }

  /** Signs and verifies one token, so a key whose private and public halves do not match is found at start-up. */
  private async selfTest(): Promise<void> {
    const probe = await new SignJWT({}).setProtectedHeader({ alg: 'ES384' }).setIssuedAt().setExpirationTime('1m').sign(this.signingKey);
    try {
      await jwtVerify(probe, this.verifyKey, { algorithms: ['ES384'] });
    } catch {
      throw new Error('TOKEN_SIGNING_JWK is not a usable ES384 key: a token it signs does not verify (d does not match x, y)');
    }
  }

  get tokenEndpoint(): string {
    return `${this.opts.publicBaseUrl}/auth/token`;
  }

  configuration(): Record<string, unknown> {
    return {
      issuer: this.opts.publicBaseUrl,
      token_endpoint: this.tokenEndpoint,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      scopes_supported: [
        'system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs', 'system/CodeSystem.rs',
        'system/QuestionnaireResponse.cr', 'system/Claim.c', 'system/ClaimResponse.r', 'system/*.rs', 'system/*.read', 'system/*.cruds', 'system/*.*',
        POPULATE_FETCH_SCOPE, 'admin/audit.rs',
      ],
      capabilities: ['client-confidential-asymmetric'],
    };
  }

  /** The token endpoint: form fields in, an access token response out (or an OAuthError). */
  async token(form: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (form.grant_type !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE) throw new OAuthError(400, 'invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    const assertion = typeof form.client_assertion === 'string' ? form.client_assertion : '';
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      throw new OAuthError(400, 'invalid_request', 'client_assertion is not a JWT');
    }
    if (!header.alg || !ASSERTION_ALGS.includes(header.alg)) throw new OAuthError(401, 'invalid_client', `client assertion alg must be one of ${ASSERTION_ALGS.join(', ')}`);
    if (!header.kid) throw new OAuthError(401, 'invalid_client', 'client assertion must name a kid');
    const clientId = String(claims.iss ?? '');
    const client = this.opts.registry.dtrClient(clientId);
    if (!client) throw new OAuthError(401, 'invalid_client', `client ${clientId} is not registered`);
    if (claims.sub !== clientId) throw new OAuthError(401, 'invalid_client', 'client assertion sub must equal iss (the client id)');
    try {
      await jwtVerify(assertion, client.keys.resolver(), {
        algorithms: ASSERTION_ALGS, audience: this.tokenEndpoint, issuer: clientId, clockTolerance: this.opts.clockSkewSeconds,
        requiredClaims: ['exp', 'jti'], maxTokenAge: '10m', currentDate: this.opts.clock.now(),
      });
    } catch (e) {
      throw new OAuthError(401, 'invalid_client', `client assertion refused: ${(e as Error).message}`);
    }
    if (Number(claims.exp) > epochSeconds(this.opts.clock) + 300 + this.opts.clockSkewSeconds) throw new OAuthError(401, 'invalid_client', 'client assertion exp must be within 5 minutes');
    if (!(await this.opts.ledger.claimJti(`token:${clientId}`, String(claims.jti), Number(claims.exp)))) throw new OAuthError(401, 'invalid_client', 'client assertion jti was already used');
    const requested = typeof form.scope === 'string' ? form.scope.split(/\s+/).filter(Boolean) : [];
    const granted = grantScopes(requested, client.scopes);
    if (granted.length === 0) throw new OAuthError(400, 'invalid_scope', `none of the requested scopes is allowed for ${clientId}`);
    const accessToken = await new SignJWT({ scope: granted.join(' '), client_id: clientId })
      .setProtectedHeader({ alg: 'ES384', kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.opts.publicBaseUrl)
      .setSubject(clientId)
      .setAudience(`${this.opts.publicBaseUrl}/fhir`)
      .setIssuedAt(epochSeconds(this.opts.clock))
      .setExpirationTime(epochSeconds(this.opts.clock) + this.opts.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.signingKey);
    return { access_token: accessToken, token_type: 'bearer', expires_in: this.opts.ttlSeconds, scope: granted.join(' ') };
  }

  /**
   * An access token for a hosted DTR app session, after the launch was verified (src/security/dtr-session.ts):
   * the same kind of token as /auth/token issues, bound to the launch (ehr, patient, fhirUser), valid until
   * `expiresAt` (epoch seconds) or the service's session lifetime, whichever is sooner.
   */
  async issueSessionToken(args: { clientId: string; scopes: string[]; binding: SessionBinding; expiresAt: number; ttlSeconds: number }): Promise<{ accessToken: string; expiresIn: number }> {
    const now = epochSeconds(this.opts.clock);
    const exp = Math.min(args.expiresAt, now + args.ttlSeconds);
    const accessToken = await new SignJWT({
      scope: args.scopes.join(' '), client_id: args.clientId, ehr: args.binding.ehr, patient: args.binding.patient, ...(args.binding.user ? { fhirUser: args.binding.user } : {}),
    })
      .setProtectedHeader({ alg: 'ES384', kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.opts.publicBaseUrl)
      .setSubject(args.clientId)
      .setAudience(`${this.opts.publicBaseUrl}/fhir`)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.signingKey);
    return { accessToken, expiresIn: exp - now };
  }

  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.verifyKey, {
        algorithms: ['ES384'], issuer: this.opts.publicBaseUrl, audience: `${this.opts.publicBaseUrl}/fhir`, typ: 'at+jwt', clockTolerance: this.opts.clockSkewSeconds, currentDate: this.opts.clock.now(),
      });
      const claims: AccessTokenClaims = { clientId: String(payload.sub), scopes: String(payload.scope ?? '').split(' ').filter(Boolean) };
      if (typeof payload.ehr === 'string' && typeof payload.patient === 'string') {
        claims.session = { ehr: payload.ehr, patient: payload.patient, user: typeof payload.fhirUser === 'string' ? payload.fhirUser : null };
      }
      return claims;
    } catch (e) {
      throw new OAuthError(401, 'invalid_token', `access token refused: ${(e as Error).message}`);
    }
  }
}

/**
 * An operation scope (not SMART grammar, never granted through a wildcard): $populate may read the
 * patient's record from a `fhirServer` only with it, and only from origins registered for the client.
 */
export const POPULATE_FETCH_SCOPE = 'system/Questionnaire.$populate';

function parseSigningJwk(text: string): JWK {
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new Error('TOKEN_SIGNING_JWK is not JSON (a private EC P-384 JWK is expected)');
  }
  if (!jwk || typeof jwk !== 'object') throw new Error('TOKEN_SIGNING_JWK must be a JWK object');
  if (jwk.kty !== 'EC') throw new Error(`TOKEN_SIGNING_JWK must be an EC key (kty EC, crv P-384), not kty ${String(jwk.kty)}`);
  if (jwk.crv !== 'P-384') throw new Error(`TOKEN_SIGNING_JWK must be on curve P-384 (ES384), not ${String(jwk.crv)}`);
  if (typeof jwk.d !== 'string' || !jwk.d) throw new Error('TOKEN_SIGNING_JWK is a public key: the private key (d) is required to sign tokens');
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new Error('TOKEN_SIGNING_JWK lacks x or y');
  if (jwk.alg !== undefined && jwk.alg !== 'ES384') throw new Error(`TOKEN_SIGNING_JWK alg must be ES384 (got ${jwk.alg})`);
  return jwk;
}

const PERMISSION_ORDER = ['c', 'r', 'u', 'd', 's'];

interface ParsedScope {
  context: string;
  type: string;
  perms: Set<string>;
}

/** SMART v2 (.cruds subsets in order) and v1 (.read, .write, .*) resource scopes; null for anything else. */
function parseScope(scope: string): ParsedScope | null {
  const m = /^(system|user|patient|admin)\/([A-Za-z]+|\*)\.([a-z]+|\*)$/.exec(scope);
  if (!m) return null;
  const p = m[3];
  let perms: Set<string>;
  if (p === '*') perms = new Set(PERMISSION_ORDER);
  else if (p === 'read') perms = new Set(['r', 's']);
  else if (p === 'write') perms = new Set(['c', 'u', 'd']);
  else {
    // v2: a non-empty subsequence of c r u d s, in that order, each at most once.
    let at = -1;
    for (const ch of p) {
      const i = PERMISSION_ORDER.indexOf(ch);
      if (i <= at) return null;
      at = i;
    }
    perms = new Set(p.split(''));
  }
  return { context: m[1], type: m[2], perms };
}

function format(context: string, type: string, perms: Set<string>): string {
  return `${context}/${type}.${PERMISSION_ORDER.filter((p) => perms.has(p)).join('')}`;
}

/** Whether `granted` (e.g. system/*.rs) covers `wanted` (e.g. system/Questionnaire.r). Other scopes only cover themselves. */
export function scopeCovers(granted: string, wanted: string): boolean {
  if (granted === wanted) return true;
  const g = parseScope(granted);
  const w = parseScope(wanted);
  if (!g || !w || g.context !== w.context) return false;
  if (g.type !== '*' && g.type !== w.type) return false;
  return [...w.perms].every((p) => g.perms.has(p));
}

/**
 * The scopes granted for a request: each requested scope the registration covers is granted as
 * asked (v1 spelling kept); a requested scope it covers only in part (a wildcard such as
 * system/*.rs, or more permissions than registered) is granted as its intersection with each
 * registered scope, in v2 syntax. Scopes outside the SMART grammar (admin/..., operation scopes)
 * are granted only when registered exactly.
 */
export function grantScopes(requested: readonly string[], registered: readonly string[]): string[] {
  const out: string[] = [];
  const add = (s: string) => {
    if (!out.includes(s)) out.push(s);
  };
  for (const r of requested) {
    if (registered.some((g) => scopeCovers(g, r))) {
      add(r);
      continue;
    }
    const want = parseScope(r);
    if (!want) continue;
    for (const g of registered) {
      const have = parseScope(g);
      if (!have || have.context !== want.context) continue;
      const type = want.type === '*' ? have.type : have.type === '*' || have.type === want.type ? want.type : null;
      if (!type) continue;
      const perms = new Set([...want.perms].filter((p) => have.perms.has(p)));
      if (perms.size) add(format(want.context, type, perms));
    }
  }
  return out;
}

export function hasScopes(granted: string[], wanted: string[]): boolean {
  return wanted.every((w) => granted.some((g) => scopeCovers(g, w)));
}
