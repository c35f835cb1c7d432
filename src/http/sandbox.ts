/**
 * Routes of the embedded sandbox EHR (DEVELOPMENT ONLY; SANDBOX=off removes all of them): dev
 * tokens for curl, the sandbox FHIR server, its SMART authorization server, the EHR actions used by
 * the sandbox page, and the page itself. Every response under /sandbox says it is for development.
 */
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { statusOutcome, type IssueCode } from '../fhir/outcome';
import { WEB_DIST_DIR } from '../paths';
import { SANDBOX_LABEL, SandboxAuthError } from '../sandbox/auth';
import { SandboxRequestError } from '../sandbox/ehr';
import type { Sandbox } from '../sandbox';
import type { SandboxIdentity } from '../sandbox/identity';
import { SANDBOX_DTR_SCOPES } from '../sandbox/identity';
import { bearerToken } from '../security/cds-auth';
import { CLIENT_ASSERTION_TYPE, type SmartAuthServer } from '../security/smart';
import { builtPages, contentSecurityPolicy } from './web';

function label(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Sandbox', 'development only: not for production use');
  next();
}

function fhirError(res: Response, status: number, code: IssueCode, diagnostics: string): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(statusOutcome(status, diagnostics, { code })));
}

/** Dev tokens so that curl can call the authenticated endpoints locally. */
export function sandboxTokenRouter(identity: SandboxIdentity, smart: SmartAuthServer, publicBaseUrl: string, serviceIds: string[]): Router {
  const router = Router();
  router.use('/sandbox', label);
  router.get('/sandbox/cds-token', async (req, res, next) => {
    try {
      const service = String(req.query.service ?? '');
      if (!serviceIds.includes(service)) return void res.status(400).type('text/plain').send(`service must be one of ${serviceIds.join(', ')}\n`);
      res.type('text/plain').send(await identity.cdsJwt(`${publicBaseUrl}/cds-services/${service}`));
    } catch (e) {
      next(e);
    }
  });
  // Also the sandbox DTR app's payer token (see /dtr/config.json): a deployed DTR app gets it from its own backend.
  router.get('/sandbox/dtr-token', async (_req, res, next) => {
    try {
      const token = await smart.token({
        grant_type: 'client_credentials',
        scope: SANDBOX_DTR_SCOPES.join(' '),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await identity.clientAssertion(smart.tokenEndpoint),
      });
      res.setHeader('Cache-Control', 'no-store');
      res.type('text/plain').send(String(token.access_token));
    } catch (e) {
      next(e);
    }
  });
  return router;
}

/** The SMART authorization server; mounted before the JSON body parser (the token endpoint takes a form). */
export function sandboxAuthRouter(sandbox: Sandbox): Router {
  const router = Router();
  router.use('/sandbox', label);
  const configuration: express.RequestHandler = (_req, res) => void res.json(sandbox.auth.configuration());
  router.get('/sandbox/fhir/.well-known/smart-configuration', configuration);
  router.get('/sandbox/auth/jwks', (_req, res) => void res.json(sandbox.auth.jwks));
  router.get('/sandbox/auth/authorize', (req, res) => {
    try {
      const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
      res.redirect(302, sandbox.auth.authorize(query));
    } catch (e) {
      if (!(e instanceof SandboxAuthError)) throw e;
      res.status(e.status).type('text/plain').send(`${SANDBOX_LABEL}\n\nThe launch was refused: ${e.message} (${e.error})\n`);
    }
  });
  router.post('/sandbox/auth/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      res.json(await sandbox.auth.token((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (e instanceof SandboxAuthError) return void res.status(e.status).json({ error: e.error, error_description: e.message });
      next(e);
    }
  });
  return router;
}

/** The sandbox FHIR server: a bearer token from the sandbox authorization server on every call but metadata. */
function sandboxFhirRouter(sandbox: Sandbox): Router {
  const router = Router();
  router.get('/sandbox/fhir/metadata', (_req, res) => {
    res.type('application/fhir+json').send(JSON.stringify(sandbox.fhir.capabilityStatement()));
  });
  router.use('/sandbox/fhir', async (req, res, next) => {
    try {
      const token = bearerToken(req.header('authorization'));
      const grant = token ? sandbox.auth.verify(token) : null;
      if (!grant) {
        res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
        return fhirError(res, 401, 'login', token ? 'the sandbox access token is unknown or expired: launch again from the sandbox EHR' : 'a sandbox access token is required');
      }
      const result = await sandbox.fhir.handle(req.method, req.url, req.body, grant);
      if (result.location) res.setHeader('Location', result.location);
      res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
    } catch (e) {
      next(e);
    }
  });
  return router;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The EHR actions behind the sandbox page (what an EHR's own backend would do). */
function sandboxApiRouter(sandbox: Sandbox): Router {
  const router = Router();
  const handle = (run: (body: Record<string, unknown>) => Promise<unknown>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.json(await run((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (e instanceof SandboxRequestError) return void res.status(e.status).json({ error: 'sandbox', message: e.message });
      next(e);
    }
  };
  router.get('/sandbox/api/patients', handle(async () => ({ label: SANDBOX_LABEL, patients: sandbox.ehr.patients() })));
  router.post('/sandbox/api/order-sign', handle((b) => sandbox.ehr.orderSign({ patientId: str(b.patientId), orderId: str(b.orderId), prefetch: b.prefetch !== false })));
  router.post('/sandbox/api/launch', handle(async (b) => ({
    url: await sandbox.ehr.launch({ patientId: str(b.patientId), orderId: str(b.orderId), url: str(b.url), appContext: typeof b.appContext === 'string' ? b.appContext : undefined }),
  })));
  return router;
}

/** Everything under /sandbox that needs the parsed JSON body, and the page. */
export function sandboxRouter(sandbox: Sandbox, publicBaseUrl: string): Router {
  const router = Router();
  router.use('/sandbox', label);
  router.use(sandboxFhirRouter(sandbox));
  router.use(sandboxApiRouter(sandbox));
  router.get('/', (_req, res) => res.redirect(302, '/sandbox/'));
  router.use('/sandbox', contentSecurityPolicy(`'self' ${new URL(publicBaseUrl).origin}`), builtPages(path.join(WEB_DIST_DIR, 'sandbox'), 'The sandbox EHR page'));
  return router;
}
