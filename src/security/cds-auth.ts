/**
 * CDS Hooks 2.0 "Trusting CDS Clients": the JWT on each service call. Asymmetric algorithms only
 * (ES384 and RS384 unless the registry allows more for that client), typ JWT, kid, iss in the
 * registry, keys from the registry, aud equal to the URL called, exp/iat within the clock skew,
 * jti never reused before it expires, a lifetime (exp - iat) of at most CDS_JWT_MAX_LIFETIME_SECONDS.
 * `sub` is not required.
 *
 * CDS_JTI_REUSE=allow (conformance runs only): test harnesses such as the ONC Inferno CRD kit sign
 * one JWT and send it with several request bodies. With it, a jti already used is accepted again
 * when it comes from the same issuer for the same audience (service URL) while the first token
 * with that jti is still valid; each reuse is logged. Replay refusal is the default.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { epochSeconds, type Clock } from '../core/clock';
import type { Logger } from '../log';
import type { CdsClient, ClientRegistry } from './registry';

export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export interface JtiLedger {
  /** Claims a JWT id for an issuer until `exp` (for audience `aud` when given); false when it was already claimed. */
  claimJti(iss: string, jti: string, exp: number, aud?: string): Promise<boolean>;
  /** The claim kept for (iss, jti), if any. */
  findJti(iss: string, jti: string): Promise<{ exp: number; aud: string | null } | undefined>;
}

export interface CdsJwtPolicy {
  /** Longest accepted exp - iat, in seconds. */
  maxLifetimeSeconds: number;
  /** 'allow' accepts a jti again from the same issuer for the same audience within the first token's lifetime (conformance runs). */
  jtiReuse: 'refuse' | 'allow';
}

export const DEFAULT_CDS_JWT_POLICY: CdsJwtPolicy = { maxLifetimeSeconds: 300, jtiReuse: 'refuse' };

export interface VerifiedCdsClient {
  iss: string;
  client: CdsClient;
  jti: string;
}

export function bearerToken(header: string | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return m ? m[1] : null;
}

export async function verifyCdsJwt(
  token: string,
  opts: { audience: string; registry: ClientRegistry; ledger: JtiLedger; clockSkewSeconds: number; clock: Clock; policy?: CdsJwtPolicy; log?: Logger },
): Promise<VerifiedCdsClient> {
  const policy = opts.policy ?? DEFAULT_CDS_JWT_POLICY;
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw new AuthError('the bearer token is not a JWT');
  }
  if (!header.alg || header.alg === 'none' || header.alg.startsWith('HS')) throw new AuthError(`alg ${header.alg ?? 'missing'} is not allowed: an asymmetric signature is required`);
  if (header.typ !== 'JWT') throw new AuthError('the JWT header must have typ "JWT"');
  if (!header.kid) throw new AuthError('the JWT header must name a kid');
  if (typeof claims.iss !== 'string') throw new AuthError('the JWT has no iss');
  const client = opts.registry.cdsClient(claims.iss);
  if (!client) throw new AuthError(`issuer ${claims.iss} is not a trusted CDS client`);
  if (!client.algorithms.includes(header.alg)) throw new AuthError(`alg ${header.alg} is not allowed for ${claims.iss} (allowed: ${client.algorithms.join(', ')})`);
  // Keys always come from the registry: a token's jku is never fetched unless it is the registered URL.
  try {
    await jwtVerify(token, client.keys.resolver(), {
      algorithms: client.algorithms,
      audience: opts.audience,
      issuer: client.iss,
      clockTolerance: opts.clockSkewSeconds,
      currentDate: opts.clock.now(),
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
      typ: 'JWT',
    });
  } catch (e) {
    if (e instanceof errors.JWTClaimValidationFailed) throw new AuthError(`JWT claim "${e.claim}" is not valid: ${e.reason === 'check_failed' ? `expected ${e.claim === 'aud' ? opts.audience : 'a valid value'}` : e.reason}`);
    if (e instanceof errors.JWTExpired) throw new AuthError('the JWT has expired');
    if (e instanceof errors.JWSSignatureVerificationFailed) throw new AuthError('the JWT signature does not verify');
    if (e instanceof errors.JWKSNoMatchingKey) throw new AuthError(`no registered key matches kid ${header.kid}`);
    throw new AuthError(`the JWT was refused: ${(e as Error).message}`);
  }
  const iat = Number(claims.iat);
  const exp = Number(claims.exp);
  const now = epochSeconds(opts.clock);
  if (iat > now + opts.clockSkewSeconds) throw new AuthError('the JWT was issued in the future');
  // A bounded lifetime keeps a stolen token short-lived and bounds how long its jti is remembered.
  if (exp - iat > policy.maxLifetimeSeconds) throw new AuthError(`the JWT lifetime (exp - iat) is over ${policy.maxLifetimeSeconds} seconds`);
  if (exp > now + policy.maxLifetimeSeconds + opts.clockSkewSeconds) throw new AuthError(`the JWT expires more than ${policy.maxLifetimeSeconds} seconds from now`);
  const jti = String(claims.jti);
  if (!(await opts.ledger.claimJti(client.iss, jti, exp, opts.audience))) {
    if (policy.jtiReuse !== 'allow') throw new AuthError('the JWT id (jti) was already used');
    const first = await opts.ledger.findJti(client.iss, jti);
    // Same issuer (the key), same audience, and the first token with this jti still valid.
    if (!first || first.aud !== opts.audience || first.exp + opts.clockSkewSeconds < now) throw new AuthError('the JWT id (jti) was already used');
    opts.log?.warn({ iss: client.iss, aud: opts.audience, jti }, 'CDS_JTI_REUSE=allow: a CDS Hooks JWT id was used again (conformance setting)');
  }
  return { iss: client.iss, client, jti };
}
