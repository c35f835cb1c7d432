/**
 * Authentication for the access a route declares (src/http/route.ts): CDS Hooks JWTs on
 * /cds-services, SMART Backend Services access tokens on /fhir and /audit. The route that matched
 * decides; nothing here looks at the URL string.
 */
import type { RequestHandler, Response } from 'express';
import type { Clock } from '../core/clock';
import type { Logger } from '../log';
import type { ReviewerSessions } from '../pas/reviewers';
import { AuthError, bearerToken, verifyCdsJwt, type CdsJwtPolicy, type JtiLedger } from '../security/cds-auth';
import type { Principal } from '../security/principal';
import type { ClientRegistry } from '../security/registry';
import { hasScopes, OAuthError, type SmartAuthServer } from '../security/smart';
import type { Caller } from '../crd/hook';
import { cookieValue, REVIEW_COOKIE } from './cookies';
import { fhirOutcome } from './errors';

export interface AuthDeps {
  auth: boolean;
  publicBaseUrl: string;
  clockSkewSeconds: number;
  clock: Clock;
  registry: ClientRegistry;
  ledger: JtiLedger;
  smart: SmartAuthServer;
  log: Logger;
  cdsJwt: CdsJwtPolicy;
  /** The reviewer workbench's sessions (src/pas/reviewers.ts). */
  reviewers: ReviewerSessions;
}

/** The access a route declares. */
export type Access =
  /** No authentication: metadata, discovery documents, the token endpoint, static pages. `reason` says why. */
  | { kind: 'public'; reason: string }
  /** A CDS Hooks JWT whose aud is the URL called; `optional` only for discovery (checked when presented). */
  | { kind: 'cds'; optional: boolean }
  /**
   * A SMART Backend Services access token holding every scope of at least one of `anyOf`.
   * `evenWithAuthOff`: AUTH=off does not open the route (/audit).
   */
  | { kind: 'smart'; anyOf: string[][]; evenWithAuthOff: boolean }
  /** Development-only routes of the embedded sandbox EHR (absent with SANDBOX=off); they do their own checks. */
  | { kind: 'sandbox' }
  /**
   * The reviewer workbench: a signed-in reviewer (session cookie) with `role`, whatever AUTH says.
   * Requests other than GET must come from the workbench page (the X-Review-Request header, which a
   * cross-site form cannot send and CORS does not allow).
   */
  | { kind: 'reviewer'; role: string };

export const isPublic = (reason: string): Access => ({ kind: 'public', reason });
export const cdsClient = (options: { optional?: boolean } = {}): Access => ({ kind: 'cds', optional: options.optional ?? false });
/** All of `scopes`. */
export const scopes = (...all: string[]): Access => ({ kind: 'smart', anyOf: [all], evenWithAuthOff: false });
/** All of one of the sets. */
export const scopesAnyOf = (...sets: string[][]): Access => ({ kind: 'smart', anyOf: sets, evenWithAuthOff: false });
/** Auditor routes: a token is required whatever AUTH says. */
export const auditorScopes = (...all: string[]): Access => ({ kind: 'smart', anyOf: [all], evenWithAuthOff: true });
export const sandboxOnly = (): Access => ({ kind: 'sandbox' });
export const reviewerSession = (role: string): Access => ({ kind: 'reviewer', role });

/** A readable list of what the access needs, for error messages and the route table. */
export function describeAccess(access: Access): string {
  switch (access.kind) {
    case 'public':
      return `public (${access.reason})`;
    case 'cds':
      return access.optional ? 'CDS Hooks JWT when presented' : 'CDS Hooks JWT';
    case 'smart':
      return access.anyOf.map((set) => set.join(' ')).join(' | ');
    case 'sandbox':
      return 'sandbox (development only)';
    case 'reviewer':
      return `reviewer session with role ${access.role}`;
  }
}

function unauthorized(res: Response, message: string, fhir: boolean): void {
  res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`);
  if (fhir) res.status(401).type('application/fhir+json').send(JSON.stringify(fhirOutcome('login', message)));
  else res.status(401).json({ error: 'unauthorized', message });
}

function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
  if (principal.kind === 'smart-client') res.locals.clientId = principal.clientId;
  if (principal.kind === 'cds-client') res.locals.clientId = principal.iss;
  if (principal.kind === 'reviewer') res.locals.clientId = `reviewer:${principal.reviewer.id}`;
}

/** The principal the route's authentication established (res.locals.principal). */
export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? { kind: 'none' };
}

const OPEN: Caller = { iss: null, fhirServers: null };

/**
 * The middleware that enforces `access`. `fhir` chooses how refusals are written (OperationOutcome
 * on the FHIR endpoint); it is a property of the declared route, not of the URL.
 */
export function authenticate(access: Access, deps: AuthDeps, fhir: boolean): RequestHandler {
  switch (access.kind) {
    case 'public':
    case 'sandbox':
      return (_req, res, next) => {
        setPrincipal(res, { kind: 'none' });
        next();
      };
    case 'cds':
      return async (req, res, next) => {
        if (!deps.auth) {
          deps.log.warn({ requestId: res.locals.requestId, path: req.path }, 'AUTH=off: request accepted without authentication');
          res.locals.caller = OPEN;
          setPrincipal(res, { kind: 'anonymous' });
          return next();
        }
        const token = bearerToken(req.header('authorization'));
        if (!token) {
          if (access.optional) {
            res.locals.caller = OPEN;
            setPrincipal(res, { kind: 'none' });
            return next();
          }
          return unauthorized(res, 'a CDS Hooks JWT bearer token is required', false);
        }
        try {
          // The route matched the whole path (case-sensitive, strict), so this is the URL the client called.
          const audience = `${deps.publicBaseUrl}${req.baseUrl}${req.path}`;
          const verified = await verifyCdsJwt(token, {
            audience, registry: deps.registry, ledger: deps.ledger, clockSkewSeconds: deps.clockSkewSeconds, clock: deps.clock, policy: deps.cdsJwt, log: deps.log,
          });
          res.locals.caller = { iss: verified.iss, fhirServers: verified.client.fhirServers } satisfies Caller;
          setPrincipal(res, { kind: 'cds-client', iss: verified.iss });
          next();
        } catch (e) {
          if (e instanceof AuthError) return unauthorized(res, e.message, false);
          next(e);
        }
      };
    case 'smart':
      return async (req, res, next) => {
        if (!deps.auth && !access.evenWithAuthOff) {
          deps.log.warn({ requestId: res.locals.requestId, path: req.path }, 'AUTH=off: request accepted without authentication');
          setPrincipal(res, { kind: 'anonymous' });
          return next();
        }
        const wanted = access.anyOf.map((set) => set.join(' ')).join('" or "');
        const token = bearerToken(req.header('authorization'));
        if (!token) return unauthorized(res, `an access token with scope "${wanted}" is required (SMART Backend Services, token endpoint ${deps.smart.tokenEndpoint})`, fhir);
        try {
          const claims = await deps.smart.verifyAccessToken(token);
          if (!access.anyOf.some((set) => hasScopes(claims.scopes, set))) {
            res.setHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${access.anyOf[0].join(' ')}"`);
            const message = `the access token lacks scope "${wanted}"`;
            if (fhir) res.status(403).type('application/fhir+json').send(JSON.stringify(fhirOutcome('forbidden', message)));
            else res.status(403).json({ error: 'insufficient_scope', message });
            return;
          }
          setPrincipal(res, { kind: 'smart-client', clientId: claims.clientId, scopes: claims.scopes, ...(claims.session ? { session: claims.session } : {}) });
          next();
        } catch (e) {
          if (e instanceof OAuthError) return unauthorized(res, e.message, fhir);
          next(e);
        }
      };
    case 'reviewer':
      return async (req, res, next) => {
        const token = cookieValue(req.header('cookie'), REVIEW_COOKIE);
        const reviewer = token ? await deps.reviewers.reviewerOf(token) : null;
        if (!reviewer) return void res.status(401).json({ error: 'login-required', message: 'sign in to the reviewer workbench' });
        if (!reviewer.roles.includes(access.role)) return void res.status(403).json({ error: 'forbidden', message: `this needs the reviewer role ${access.role}` });
        if (req.method !== 'GET' && req.header('x-review-request') !== '1') {
          return void res.status(403).json({ error: 'forbidden', message: 'workbench actions are sent by the workbench page (X-Review-Request: 1)' });
        }
        res.locals.reviewerToken = token;
        setPrincipal(res, { kind: 'reviewer', reviewer });
        next();
      };
  }
}
