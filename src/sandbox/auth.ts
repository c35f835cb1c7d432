/**
 * The sandbox EHR's SMART authorization server (SMART App Launch 2, EHR launch). DEVELOPMENT ONLY:
 * it approves every request of a registered app without asking anyone, keeps launches, codes and
 * tokens in memory, and refuses to exist when the sandbox is off. Access tokens are opaque random
 * strings checked by the sandbox FHIR server; the id_token is signed with a key generated at start-up.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { epochSeconds, systemClock, type Clock } from '../core/clock';
import { scopeCovers } from '../security/smart';

export const SANDBOX_LABEL = 'Kineret PA sandbox EHR: development only, never for real patients';

export interface FhirContextItem {
  reference?: string;
  canonical?: string;
  type?: string;
}

export interface SandboxLaunch {
  patient: string;
  /** 'Practitioner/<id>' */
  user: string;
  /** The CDS card's appContext, passed through unchanged. */
  appContext?: string;
  fhirContext: FhirContextItem[];
}

export interface SandboxApp {
  clientId: string;
  /** Redirect URIs must start with one of these (same origin and path prefix). */
  redirectPrefixes: string[];
  /** What the app may be granted: resource scopes (SMART v2 or v1 syntax) and launch/openid/fhirUser. */
  scopes: string[];
}

/** Who a token acts for; checked by the sandbox FHIR server on every call. */
export interface SandboxGrant {
  clientId: string;
  scopes: string[];
  /** The patient the token is restricted to (patient/ scopes), or null. */
  patient: string | null;
  user: string | null;
  expiresAt: number;
}

export class SandboxAuthError extends Error {
  override readonly name = 'SandboxAuthError';
  constructor(readonly status: number, readonly error: string, description: string) {
    super(description);
  }
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  launch: SandboxLaunch;
  scopes: string[];
  codeChallenge: string;
  nonce?: string;
  expiresAt: number;
}

const NON_RESOURCE_SCOPES = new Set(['launch', 'openid', 'fhirUser', 'profile', 'online_access']);
const LAUNCH_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;

function token(): string {
  return randomBytes(32).toString('base64url');
}

/** Drops expired entries; the maps stay small in a development sandbox. */
function prune<T extends { expiresAt: number }>(map: Map<string, T>, now: number): void {
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
}

export class SandboxAuthServer {
  private readonly launches = new Map<string, SandboxLaunch & { expiresAt: number }>();
  private readonly codes = new Map<string, PendingCode>();
  private readonly tokens = new Map<string, SandboxGrant>();

  private constructor(
    private readonly opts: { fhirBase: string; authBase: string; apps: SandboxApp[]; appTokenTtlSeconds: number; clock: Clock },
    private readonly idTokenKey: KeyLike,
    readonly jwks: { keys: JWK[] },
    private readonly kid: string,
  ) {}

  /** Refuses to start unless the sandbox is on: this server approves everything. */
  static async create(opts: { sandbox: boolean; fhirBase: string; authBase: string; apps: SandboxApp[]; appTokenTtlSeconds?: number; clock?: Clock }): Promise<SandboxAuthServer> {
    if (!opts.sandbox) throw new Error('the sandbox SMART authorization server is development-only and does not start with SANDBOX=off');
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new SandboxAuthServer(
      { fhirBase: opts.fhirBase, authBase: opts.authBase, apps: opts.apps, appTokenTtlSeconds: opts.appTokenTtlSeconds ?? 3600, clock: opts.clock ?? systemClock },
      privateKey, { keys: [jwk] }, kid,
    );
  }

  private nowMs(): number {
    return this.opts.clock.now().getTime();
  }

  get authorizeEndpoint(): string {
    return `${this.opts.authBase}/authorize`;
  }
  get tokenEndpoint(): string {
    return `${this.opts.authBase}/token`;
  }

  /** .well-known/smart-configuration of the sandbox FHIR base. */
  configuration(): Record<string, unknown> {
    return {
      issuer: this.opts.authBase,
      jwks_uri: `${this.opts.authBase}/jwks`,
      authorization_endpoint: this.authorizeEndpoint,
      token_endpoint: this.tokenEndpoint,
      grant_types_supported: ['authorization_code'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['launch', 'openid', 'fhirUser', 'patient/*.rs', 'patient/QuestionnaireResponse.cru'],
      capabilities: [
        'launch-ehr', 'client-public', 'context-ehr-patient', 'context-passthrough-appContext', 'sso-openid-connect',
        'permission-patient', 'permission-v2', 'permission-v1',
      ],
      description: SANDBOX_LABEL,
    };
  }

  /** Registers an EHR launch (what the EHR knows when the clinician clicks the card's link); returns its id. */
  createLaunch(launch: SandboxLaunch): string {
    prune(this.launches, this.nowMs());
    const id = randomUUID();
    this.launches.set(id, { ...launch, expiresAt: this.nowMs() + LAUNCH_TTL_MS });
    return id;
  }

  private app(clientId: string, redirectUri: string): SandboxApp {
    const app = this.opts.apps.find((a) => a.clientId === clientId);
    if (!app) throw new SandboxAuthError(400, 'unauthorized_client', `client_id ${clientId} is not registered with the sandbox`);
    if (!app.redirectPrefixes.some((p) => redirectUri.startsWith(p))) {
      throw new SandboxAuthError(400, 'invalid_request', `redirect_uri ${redirectUri} is not registered for ${clientId}`);
    }
    return app;
  }

  private grantable(app: SandboxApp, requested: string[]): string[] {
    return requested.filter((s) =>
      NON_RESOURCE_SCOPES.has(s) ? app.scopes.includes(s) : app.scopes.some((allowed) => !NON_RESOURCE_SCOPES.has(allowed) && scopeCovers(allowed, s)),
    );
  }

  /**
   * The authorize endpoint: checks the app, the redirect, the audience, the launch and PKCE, then
   * approves at once (no login page: the sandbox's user is the order's prescriber). Returns the
   * redirect URL. Errors about the client or redirect are thrown (never redirected to an unknown URI).
   */
  authorize(q: Record<string, string | undefined>): string {
    const clientId = q.client_id ?? '';
    const redirectUri = q.redirect_uri ?? '';
    this.app(clientId, redirectUri);
    const back = (params: Record<string, string>) => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      if (q.state) url.searchParams.set('state', q.state);
      return url.toString();
    };
    if (q.response_type !== 'code') return back({ error: 'unsupported_response_type', error_description: 'response_type must be code' });
    if ((q.aud ?? '').replace(/\/+$/, '') !== this.opts.fhirBase) {
      return back({ error: 'invalid_request', error_description: `aud must be the sandbox FHIR base ${this.opts.fhirBase}` });
    }
    if (!q.code_challenge || q.code_challenge_method !== 'S256') {
      return back({ error: 'invalid_request', error_description: 'PKCE with code_challenge_method S256 is required' });
    }
    prune(this.launches, this.nowMs());
    const launch = q.launch ? this.launches.get(q.launch) : undefined;
    if (!launch) return back({ error: 'invalid_request', error_description: 'unknown or expired launch: relaunch the app from the sandbox EHR' });
    const scopes = this.grantable(this.app(clientId, redirectUri), (q.scope ?? '').split(/\s+/).filter(Boolean));
    if (!scopes.some((s) => !NON_RESOURCE_SCOPES.has(s))) return back({ error: 'invalid_scope', error_description: 'no FHIR resource scope could be granted' });
    prune(this.codes, this.nowMs());
    const code = token();
    this.codes.set(code, { clientId, redirectUri, launch, scopes, codeChallenge: q.code_challenge, nonce: q.nonce, expiresAt: this.nowMs() + CODE_TTL_MS });
    return back({ code });
  }

  /** The token endpoint (authorization_code with PKCE, public client). */
  async token(form: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (form.grant_type !== 'authorization_code') throw new SandboxAuthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code');
    const code = typeof form.code === 'string' ? form.code : '';
    const pending = this.codes.get(code);
    this.codes.delete(code);
    if (!pending || pending.expiresAt <= this.nowMs()) throw new SandboxAuthError(400, 'invalid_grant', 'the code is unknown, used or expired');
    if (form.redirect_uri !== pending.redirectUri) throw new SandboxAuthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    if (form.client_id !== undefined && form.client_id !== pending.clientId) throw new SandboxAuthError(400, 'invalid_grant', 'client_id does not match the authorization request');
    const verifier = typeof form.code_verifier === 'string' ? form.code_verifier : '';
    if (createHash('sha256').update(verifier).digest('base64url') !== pending.codeChallenge) {
      throw new SandboxAuthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    }
    const { launch, scopes } = pending;
    const ttl = this.opts.appTokenTtlSeconds;
    const accessToken = this.issue({ clientId: pending.clientId, scopes, patient: launch.patient, user: launch.user }, ttl);
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ttl,
      scope: scopes.join(' '),
      patient: launch.patient,
      fhirContext: launch.fhirContext,
      need_patient_banner: true,
      sandbox: SANDBOX_LABEL,
    };
    if (launch.appContext !== undefined) response.appContext = launch.appContext;
    if (scopes.includes('openid') && (scopes.includes('fhirUser') || scopes.includes('profile'))) {
      response.id_token = await new SignJWT({ fhirUser: `${this.opts.fhirBase}/${launch.user}`, ...(pending.nonce ? { nonce: pending.nonce } : {}) })
        .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
        .setIssuer(this.opts.authBase).setSubject(launch.user).setAudience(pending.clientId)
        .setIssuedAt(epochSeconds(this.opts.clock)).setExpirationTime(epochSeconds(this.opts.clock) + ttl).sign(this.idTokenKey);
    }
    return response;
  }

  /** A token for a server-side client of the sandbox (the CDS service's fhirAuthorization). */
  issue(grant: Omit<SandboxGrant, 'expiresAt'>, ttlSeconds: number): string {
    prune(this.tokens, this.nowMs());
    const accessToken = token();
    this.tokens.set(accessToken, { ...grant, expiresAt: this.nowMs() + ttlSeconds * 1000 });
    return accessToken;
  }

  /** The grant behind a bearer token, or null when it is unknown or expired. */
  verify(accessToken: string): SandboxGrant | null {
    const grant = this.tokens.get(accessToken);
    if (!grant) return null;
    if (grant.expiresAt <= this.nowMs()) {
      this.tokens.delete(accessToken);
      return null;
    }
    return grant;
  }
}
