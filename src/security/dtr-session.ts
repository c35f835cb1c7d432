/**
 * Payer access for the DTR app this service hosts (/dtr), without a key in the browser.
 *
 * DTR requires the payer's endpoint to authenticate DTR clients (SMART Backend Services). A browser
 * app cannot hold a client key, so the hosted app's backend (this service) opens a session from the
 * SMART launch it can verify:
 *
 * 1. The EHR launched the app (SMART App Launch 2, `openid fhirUser launch patient`); the app sends
 *    POST /dtr/session `{ id_token, access_token, fhirBase, patient }` once it has its EHR token.
 * 2. `fhirBase` (the launch's iss) must be a registered EHR (registry `dtrAppEhrs`). The id_token is
 *    verified against that EHR's registered keys: signature, `iss` (the EHR's authorization server),
 *    `aud` (this app's client id there), `exp`/`iat` with clock skew, an asymmetric algorithm.
 * 3. The launch's patient is confirmed by the EHR itself: GET {fhirBase}/Patient/{patient} with the
 *    launch's access token, through the outbound guard (registered origin only). The token is used for
 *    that one read and kept nowhere.
 * 4. The answer is a payer access token (the same kind /auth/token issues, ES384, audience /fhir) with
 *    the session scopes registered for that EHR, bound to the EHR, the patient and the fhirUser, and
 *    valid until the id_token expires or DTR_SESSION_TTL_SECONDS pass, whichever is sooner. The app
 *    holds it in memory; when it expires the app opens a new session with the same launch, and after
 *    the id_token expires the clinician launches again from the EHR.
 *
 * Failures are OAuthErrors (the token endpoint's) with the status to answer and a reason a person can act on.
 */
import { decodeJwt, jwtVerify } from 'jose';
import type { Patient } from 'fhir/r4';
import { epochSeconds, type Clock } from '../core/clock';
import { guardedGet, type OutboundPolicy } from './outbound';
import type { ClientRegistry, DtrAppEhr } from './registry';
import { OAuthError, type SessionBinding, type SmartAuthServer } from './smart';

export interface SessionDeps {
  registry: ClientRegistry;
  smart: SmartAuthServer;
  clock: Clock;
  clockSkewSeconds: number;
  policy: OutboundPolicy;
  ttlSeconds: number;
  /** Time limit of the EHR read that confirms the patient (ms). */
  timeoutMs: number;
}

export interface SessionAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient: string;
  fhirUser: string | null;
}

/** The longest id_token lifetime accepted (exp - iat): a launch is a clinician's working session, not a standing credential. */
const MAX_ID_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** The session's client id: the app at one EHR (the owner of what its sessions store). */
export function sessionClientId(ehr: DtrAppEhr): string {
  return `${ehr.clientId}@${ehr.fhirBase}`;
}

function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || !v.trim()) throw new OAuthError(400, 'invalid_request', `"${name}" is required (a string)`);
  return v.trim();
}

/** 'Practitioner/123' from the id_token's fhirUser (an absolute or relative reference). */
function relativeUser(fhirUser: unknown): string | null {
  if (typeof fhirUser !== 'string') return null;
  return /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(fhirUser)?.[1] ?? null;
}

async function verifyIdToken(idToken: string, ehr: DtrAppEhr, deps: SessionDeps): Promise<{ exp: number; user: string | null }> {
  try {
    const { payload } = await jwtVerify(idToken, ehr.keys.resolver(), {
      algorithms: ehr.algorithms, issuer: ehr.issuer, audience: ehr.clientId, clockTolerance: deps.clockSkewSeconds,
      requiredClaims: ['exp', 'iat', 'sub'], currentDate: deps.clock.now(),
    });
    if (Number(payload.exp) - Number(payload.iat) > MAX_ID_TOKEN_LIFETIME_SECONDS) throw new Error(`its lifetime is over ${MAX_ID_TOKEN_LIFETIME_SECONDS / 3600} hours`);
    return { exp: Number(payload.exp), user: relativeUser(payload.fhirUser) };
  } catch (e) {
    const expired = (e as { code?: string }).code === 'ERR_JWT_EXPIRED';
    throw new OAuthError(401, expired ? 'expired_launch' : 'invalid_launch',
      expired ? 'the EHR launch has expired (its id_token): launch the app again from the EHR' : `the EHR's id_token was refused: ${(e as Error).message}`);
  }
}

/** Reads Patient/{patient} from the EHR with the launch's access token: the EHR confirms the launch may see that patient. */
async function confirmPatient(ehr: DtrAppEhr, accessToken: string, patient: string, deps: SessionDeps): Promise<void> {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patient)) throw new OAuthError(400, 'invalid_request', '"patient" must be a FHIR id');
  const url = new URL(`${ehr.fhirBase}/Patient/${encodeURIComponent(patient)}`);
  let res;
  try {
    res = await guardedGet(url, {
      headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/fhir+json' },
      timeoutMs: deps.timeoutMs, maxBytes: 1024 * 1024, policy: deps.policy, allowedOrigins: [new URL(ehr.fhirBase).origin],
    });
  } catch {
    throw new OAuthError(502, 'ehr_unreachable', 'the EHR could not be reached to confirm the launch; try again');
  }
  if (res.status === 401 || res.status === 403) throw new OAuthError(403, 'launch_not_confirmed', `the EHR did not accept the launch's access token for Patient/${patient} (HTTP ${res.status})`);
  if (res.status !== 200) throw new OAuthError(403, 'launch_not_confirmed', `the EHR answered HTTP ${res.status} for Patient/${patient}`);
  let body: Patient | undefined;
  try {
    body = JSON.parse(res.body) as Patient;
  } catch {
    body = undefined;
  }
  if (body?.resourceType !== 'Patient' || body.id !== patient) throw new OAuthError(403, 'launch_not_confirmed', `the EHR did not return Patient/${patient}`);
}

/** Opens a session for a verified launch; see the module comment. */
export async function openSession(input: unknown, deps: SessionDeps): Promise<SessionAnswer> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new OAuthError(400, 'invalid_request', 'the body must be a JSON object with id_token, access_token, fhirBase and patient');
  const body = input as Record<string, unknown>;
  const idToken = field(body, 'id_token');
  const accessToken = field(body, 'access_token');
  const fhirBase = field(body, 'fhirBase');
  const patient = field(body, 'patient');
  const ehr = deps.registry.dtrAppEhr(fhirBase);
  if (!ehr) {
    throw new OAuthError(403, 'unregistered_ehr', `the EHR at ${fhirBase} is not registered for this DTR app: the plan registers each EHR's FHIR base, id_token issuer and keys (dtrAppEhrs)`);
  }
  // Cheap checks before any key is fetched or the EHR is called.
  try {
    decodeJwt(idToken);
  } catch {
    throw new OAuthError(400, 'invalid_request', 'id_token is not a JWT');
  }
  const { exp, user } = await verifyIdToken(idToken, ehr, deps);
  await confirmPatient(ehr, accessToken, patient, deps);
  const binding: SessionBinding = { ehr: ehr.fhirBase, patient, user };
  const { accessToken: token, expiresIn } = await deps.smart.issueSessionToken({ clientId: sessionClientId(ehr), scopes: ehr.scopes, binding, expiresAt: exp, ttlSeconds: deps.ttlSeconds });
  if (expiresIn <= 0) throw new OAuthError(401, 'expired_launch', 'the EHR launch has expired: launch the app again from the EHR');
  return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: ehr.scopes.join(' '), patient, fhirUser: user };
}
