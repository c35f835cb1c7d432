/**
 * SMART Backend Services for the DTR endpoint: the token endpoint (client_credentials with a
 * private_key_jwt client assertion), short-lived access tokens signed by this service, and scope
 * checks on /fhir. Scopes use SMART v2 syntax (system/Questionnaire.rs); v1 (.read, .write) is accepted.
 */
import { randomUUID } from 'node:crypto';
import {
  decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT,
  type JWK, type KeyLike,
} from 'jose';
import { epochSeconds, type Clock } from '../core/clock';
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
}

type SigningKey = KeyLike | Uint8Array;

export class SmartAuthServer {
  private constructor(
    private readonly signingKey: SigningKey,
    private readonly verifyKey: SigningKey,
    private readonly kid: string,
    private readonly opts: { publicBaseUrl: string; ttlSeconds: number; clockSkewSeconds: number; registry: ClientRegistry; ledger: JtiLedger; clock: Clock },
  ) {}

  /** Uses TOKEN_SIGNING_JWK when configured (needed for several instances), else a key generated now. */
  static async create(opts: { publicBaseUrl: string; ttlSeconds: number; clockSkewSeconds: number; registry: ClientRegistry; ledger: JtiLedger; clock: Clock; signingJwk?: string }): Promise<SmartAuthServer> {
    if (opts.signingJwk) {
      const jwk = JSON.parse(opts.signingJwk) as JWK;
      const { d: _d, ...pub } = jwk;
      return new SmartAuthServer(await importJWK(jwk, 'ES384'), await importJWK(pub, 'ES384'), jwk.kid ?? 'configured', opts);
    }
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = (await exportJWK(publicKey)).x!.slice(0, 16);
    return new SmartAuthServer(privateKey, publicKey, kid, opts);
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
        'system/QuestionnaireResponse.cr', 'admin/audit.rs',
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
    const granted = requested.filter((s) => client.scopes.some((allowed) => scopeCovers(allowed, s)));
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

  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.verifyKey, {
        algorithms: ['ES384'], issuer: this.opts.publicBaseUrl, audience: `${this.opts.publicBaseUrl}/fhir`, typ: 'at+jwt', clockTolerance: this.opts.clockSkewSeconds, currentDate: this.opts.clock.now(),
      });
      return { clientId: String(payload.sub), scopes: String(payload.scope ?? '').split(' ').filter(Boolean) };
    } catch (e) {
      throw new OAuthError(401, 'invalid_token', `access token refused: ${(e as Error).message}`);
    }
  }
}

interface ParsedScope {
  context: string;
  type: string;
  perms: Set<string>;
}

function parseScope(scope: string): ParsedScope | null {
  const m = /^(system|user|patient|admin)\/([A-Za-z*]+)\.([a-z*]+)$/.exec(scope);
  if (!m) return null;
  const p = m[3];
  const perms =
    p === '*' ? new Set(['c', 'r', 'u', 'd', 's'])
    : p === 'read' ? new Set(['r', 's'])
    : p === 'write' ? new Set(['c', 'u', 'd'])
    : new Set(p.split(''));
  return { context: m[1], type: m[2], perms };
}

/** Whether `granted` (e.g. system/*.rs) covers `wanted` (e.g. system/Questionnaire.r). */
export function scopeCovers(granted: string, wanted: string): boolean {
  const g = parseScope(granted);
  const w = parseScope(wanted);
  if (!g || !w || g.context !== w.context) return false;
  if (g.type !== '*' && g.type !== w.type) return false;
  return [...w.perms].every((p) => g.perms.has(p));
}

export function hasScopes(granted: string[], wanted: string[]): boolean {
  return wanted.every((w) => granted.some((g) => scopeCovers(g, w)));
}
