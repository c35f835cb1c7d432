/**
 * Routes of the embedded sandbox EHR (DEVELOPMENT ONLY; SANDBOX=off removes all of them): dev
 * tokens for curl, the sandbox FHIR server, its SMART authorization server, the EHR actions used by
 * the sandbox page, and the page itself. Every response under /sandbox says it is for development.
 */
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { Bundle } from 'fhir/r4';
import { WEB_DIST_DIR } from '../paths';
import { SANDBOX_LABEL, SandboxAuthError } from '../sandbox/auth';
import { SandboxRequestError } from '../sandbox/ehr';
import type { Sandbox } from '../sandbox';
import { SANDBOX_DTR_SCOPES } from '../sandbox/identity';
import { bearerToken } from '../security/cds-auth';
import { CLIENT_ASSERTION_TYPE, type SmartAuthServer } from '../security/smart';
import type { ReviewerSessions } from '../pas/reviewers';
import { REVIEW_PATH } from '../constants';
import { setReviewCookie } from './cookies';
import { sandboxOnly } from './auth';
import { fhirOutcome } from './errors';
import type { Routes } from './route';
import { builtPages, contentSecurityPolicy } from './web';

function label(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Sandbox', 'development only: not for production use');
  next();
}

function fhirError(res: Response, status: number, code: 'login', diagnostics: string): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(fhirOutcome(code, diagnostics)));
}

/**
 * Every sandbox route (development only; none exists with SANDBOX=off). Declared as sandbox
 * routes: the FHIR server checks its own sandbox tokens, the rest is the sandbox's own UI and dev tokens.
 */
/**
 * `inquire`: the payer's PAS $inquire answering the sandbox EHR as its registered client (in
 * process, like the development tokens).
 */
export function registerSandboxRoutes(
  routes: Routes, sandbox: Sandbox, smart: SmartAuthServer, publicBaseUrl: string, serviceIds: string[], reviewers: ReviewerSessions,
  inquire: (bundle: Bundle) => Promise<{ status: number; body: unknown }>,
): void {
  const dev = { access: sandboxOnly() };
  const identity = sandbox.identity;
  routes.mount('/sandbox', dev, label);

  // Dev tokens so that curl can call the authenticated endpoints locally.
  routes.route('GET', '/sandbox/cds-token', dev, async (req, res) => {
    const service = String(req.query.service ?? '');
    if (!serviceIds.includes(service)) return void res.status(400).type('text/plain').send(`service must be one of ${serviceIds.join(', ')}\n`);
    res.type('text/plain').send(await identity.cdsJwt(`${publicBaseUrl}/cds-services/${service}`));
  });
  // Also the sandbox DTR app's payer token (see /dtr/config.json): a deployed DTR app gets it from its own backend.
  routes.route('GET', '/sandbox/dtr-token', dev, async (_req, res) => {
    const token = await smart.token({
      grant_type: 'client_credentials',
      scope: SANDBOX_DTR_SCOPES.join(' '),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await identity.clientAssertion(smart.tokenEndpoint),
    });
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/plain').send(String(token.access_token));
  });

  // Signs the development reviewer in to the workbench (no password: development only) and opens it.
  routes.route('GET', '/sandbox/reviewer-login', dev, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    setReviewCookie(res, await reviewers.open(sandbox.reviewer), publicBaseUrl);
    res.redirect(302, `${REVIEW_PATH}/`);
  });

  // The SMART authorization server (EHR launch).
  routes.route('GET', '/sandbox/fhir/.well-known/smart-configuration', dev, (_req, res) => void res.json(sandbox.auth.configuration()));
  routes.route('GET', '/sandbox/auth/jwks', dev, (_req, res) => void res.json(sandbox.auth.jwks));
  routes.route('GET', '/sandbox/auth/authorize', dev, (req, res) => {
    try {
      const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
      res.redirect(302, sandbox.auth.authorize(query));
    } catch (e) {
      if (!(e instanceof SandboxAuthError)) throw e;
      res.status(e.status).type('text/plain').send(`${SANDBOX_LABEL}\n\nThe launch was refused: ${e.message} (${e.error})\n`);
    }
  });
  routes.route('POST', '/sandbox/auth/token', { ...dev, body: 'form' }, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      res.json(await sandbox.auth.token((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (e instanceof SandboxAuthError) return void res.status(e.status).json({ error: e.error, error_description: e.message });
      throw e;
    }
  });

  // The sandbox FHIR server: a bearer token from the sandbox authorization server on every call but metadata.
  routes.route('GET', '/sandbox/fhir/metadata', dev, (_req, res) => {
    res.type('application/fhir+json').send(JSON.stringify(sandbox.fhir.capabilityStatement()));
  });
  routes.mount('/sandbox/fhir', { ...dev, body: 'json', fhir: true }, async (req, res) => {
    const token = bearerToken(req.header('authorization'));
    const grant = token ? sandbox.auth.verify(token) : null;
    if (!grant) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return fhirError(res, 401, 'login', token ? 'the sandbox access token is unknown or expired: launch again from the sandbox EHR' : 'a sandbox access token is required');
    }
    const result = await sandbox.fhir.handle(req.method, req.url, req.body, grant);
    if (result.location) res.setHeader('Location', result.location);
    res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
  });

  // The EHR actions behind the sandbox page (what an EHR's own backend would do).
  const handle = (run: (body: Record<string, unknown>) => Promise<unknown>) => async (req: Request, res: Response) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.json(await run((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (e instanceof SandboxRequestError) return void res.status(e.status).json({ error: 'sandbox', message: e.message });
      throw e;
    }
  };
  routes.route('GET', '/sandbox/api/patients', dev, handle(async () => ({ label: SANDBOX_LABEL, patients: sandbox.ehr.patients() })));
  routes.route('POST', '/sandbox/api/order-sign', dev, handle((b) => sandbox.ehr.orderSign({ patientId: str(b.patientId), orderId: str(b.orderId), prefetch: b.prefetch !== false })));
  routes.route('POST', '/sandbox/api/new-order', dev, handle((b) => sandbox.ehr.newOrder({ patientId: str(b.patientId), orderId: str(b.orderId) })));
  // The EHR following its prior authorization requests: PAS $inquire for the patient and prescriber.
  routes.route('POST', '/sandbox/api/prior-authorizations', dev, handle(async (b) => {
    const answer = await inquire(await sandbox.ehr.inquiryFor(str(b.patientId)));
    if (answer.status !== 200) throw new SandboxRequestError(502, `the payer answered $inquire with HTTP ${answer.status}`);
    return answer.body;
  }));
  routes.route('POST', '/sandbox/api/launch', dev, handle(async (b) => ({
    url: await sandbox.ehr.launch({ patientId: str(b.patientId), orderId: str(b.orderId), url: str(b.url), appContext: typeof b.appContext === 'string' ? b.appContext : undefined }),
  })));

  // The page.
  routes.route('GET', '/', dev, (_req, res) => res.redirect(302, '/sandbox/'));
  routes.mount('/sandbox', dev, contentSecurityPolicy(`'self' ${new URL(publicBaseUrl).origin}`), builtPages(path.join(WEB_DIST_DIR, 'sandbox'), 'The sandbox EHR page'));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
