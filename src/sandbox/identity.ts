/**
 * The embedded sandbox EHR's client identity (development only): key pairs generated at start-up,
 * registered as a trusted CDS client and as a DTR backend-services client. Nothing is written to disk.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { epochSeconds, systemClock, type Clock } from '../core/clock';
import type { ClientRegistry } from '../security/registry';

export const SANDBOX_DTR_SCOPES = [
  'system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs', 'system/CodeSystem.rs', 'system/QuestionnaireResponse.cr',
  // PAS: submit a prior authorization request, read its ClaimResponse ($inquire).
  'system/Claim.c', 'system/ClaimResponse.r',
];

export interface SandboxIdentity {
  iss: string;
  dtrClientId: string;
  /** A CDS Hooks JWT for a call to `audience` (the service URL). */
  cdsJwt(audience: string): Promise<string>;
  /** A SMART Backend Services client assertion for the token endpoint. */
  clientAssertion(tokenEndpoint: string): Promise<string>;
}

export async function registerSandboxIdentity(registry: ClientRegistry, publicBaseUrl: string, clock: Clock = systemClock): Promise<SandboxIdentity> {
  const iss = `${publicBaseUrl}/sandbox`;
  const dtrClientId = 'kineret-sandbox-ehr';
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  registry.addCdsClient({ iss, jwks: { keys: [jwk] }, fhirServers: [new URL(publicBaseUrl).origin] });
  registry.addDtrClient({ clientId: dtrClientId, jwks: { keys: [jwk] }, scopes: SANDBOX_DTR_SCOPES });
  const sign = (claims: Record<string, unknown>, aud: string, subject?: string) => {
    const iat = epochSeconds(clock);
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' }).setIssuer(subject ?? iss)
      .setAudience(aud).setIssuedAt(iat).setExpirationTime(iat + 300).setJti(randomUUID());
    return (subject ? jwt.setSubject(subject) : jwt).sign(privateKey);
  };
  return {
    iss,
    dtrClientId,
    cdsJwt: (audience) => sign({}, audience),
    clientAssertion: (tokenEndpoint) => sign({}, tokenEndpoint, dtrClientId),
  };
}
