/** Authentication middleware: CDS Hooks JWTs on /cds-services, SMART access tokens on /fhir and /audit. */
import type { Request, RequestHandler } from 'express';
import type { Clock } from '../core/clock';
import type { Logger } from '../log';
import { AuthError, bearerToken, verifyCdsJwt, type JtiLedger } from '../security/cds-auth';
import type { ClientRegistry } from '../security/registry';
import { hasScopes, OAuthError, type SmartAuthServer } from '../security/smart';
import type { Caller } from '../crd/hook';

export interface AuthDeps {
  auth: boolean;
  publicBaseUrl: string;
  clockSkewSeconds: number;
  clock: Clock;
  registry: ClientRegistry;
  ledger: JtiLedger;
  smart: SmartAuthServer;
  log: Logger;
}

const OPEN: Caller = { iss: null, fhirServers: null };

function unauthorized(res: Parameters<RequestHandler>[1], message: string, fhir: boolean): void {
  res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`);
  if (fhir) {
    res.status(401).type('application/fhir+json').send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: message }] }));
  } else res.status(401).json({ error: 'unauthorized', message });
}

/** CDS Hooks: a JWT on every service call; on discovery only when one is presented. */
export function cdsAuth(deps: AuthDeps, options: { optional: boolean }): RequestHandler {
  return async (req, res, next) => {
    if (!deps.auth) {
      deps.log.warn({ requestId: res.locals.requestId, path: req.path }, 'AUTH=off: request accepted without authentication');
      res.locals.caller = OPEN;
      return next();
    }
    const token = bearerToken(req.header('authorization'));
    if (!token) {
      if (options.optional) {
        res.locals.caller = OPEN;
        return next();
      }
      return unauthorized(res, 'a CDS Hooks JWT bearer token is required', false);
    }
    try {
      const audience = `${deps.publicBaseUrl}${req.baseUrl}${req.path}`;
      const verified = await verifyCdsJwt(token, { audience, registry: deps.registry, ledger: deps.ledger, clockSkewSeconds: deps.clockSkewSeconds, clock: deps.clock });
      res.locals.caller = { iss: verified.iss, fhirServers: verified.client.fhirServers } satisfies Caller;
      res.locals.clientId = verified.iss;
      next();
    } catch (e) {
      if (e instanceof AuthError) return unauthorized(res, e.message, false);
      next(e);
    }
  };
}

/** SMART Backend Services access token with the scopes a /fhir or /audit route needs. */
export function scopeAuth(deps: AuthDeps, required: (req: Request) => string[] | null): RequestHandler {
  return async (req, res, next) => {
    const wanted = required(req);
    if (!deps.auth || wanted === null) {
      if (!deps.auth && wanted !== null) deps.log.warn({ requestId: res.locals.requestId, path: req.path }, 'AUTH=off: request accepted without authentication');
      return next();
    }
    const fhir = req.originalUrl.startsWith('/fhir');
    const token = bearerToken(req.header('authorization'));
    if (!token) return unauthorized(res, `an access token with scope ${wanted.join(' ')} is required (SMART Backend Services, token endpoint ${deps.smart.tokenEndpoint})`, fhir);
    try {
      const claims = await deps.smart.verifyAccessToken(token);
      if (!hasScopes(claims.scopes, wanted)) {
        res.setHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${wanted.join(' ')}"`);
        const message = `the access token lacks scope ${wanted.join(' ')}`;
        if (fhir) res.status(403).type('application/fhir+json').send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: message }] }));
        else res.status(403).json({ error: 'insufficient_scope', message });
        return;
      }
      res.locals.clientId = claims.clientId;
      next();
    } catch (e) {
      if (e instanceof OAuthError) return unauthorized(res, e.message, fhir);
      next(e);
    }
  };
}

/** The scopes each /fhir route needs; null for public routes (metadata). */
export function fhirScopes(method: string, fullPath: string): string[] | null {
  const path = fullPath.replace(/\/+$/, '');
  if (!path.startsWith('/fhir')) return null;
  if (path === '/fhir/metadata' || path.endsWith('/.well-known/smart-configuration')) return null;
  if (path.endsWith('$questionnaire-package')) return ['system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs'];
  if (path.endsWith('$populate') || path.endsWith('$log-questionnaire-errors')) return ['system/Questionnaire.rs'];
  if (path.endsWith('$evaluate') || (path === '/fhir/QuestionnaireResponse' && method === 'POST')) return ['system/QuestionnaireResponse.c'];
  if (path.startsWith('/fhir/QuestionnaireResponse')) return ['system/QuestionnaireResponse.r'];
  const type = /^\/fhir\/([A-Za-z]+)/.exec(path)?.[1];
  return type ? [`system/${type}.rs`] : ['system/*.rs'];
}
