/**
 * Builds the application from configuration. Everything heavy or stateful (ELM, value sets, model
 * info, FHIR content, audit store, client registry, signing keys) is created once in
 * createServices(); the Express routes only validate, authenticate and call the core.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import { openAuditStore } from './audit/open';
import type { AuditStore } from './audit/store';
import type { Config } from './config';
import { POLICY_PATH } from './constants';
import { dataRequirementsFromElm } from './core/data-requirements';
import { KineretEngine, loadContent } from './core/engine';
import type { HookDeps } from './crd/hook';
import { KineretMatcher } from './crd/orders';
import type { ServiceDefinition } from './crd/types';
import { buildDtrContent, type DtrContent } from './dtr/content';
import { auditRouter } from './http/audit';
import { scopeAuth, fhirScopes, type AuthDeps } from './http/auth';
import { cdsRouter } from './http/cds';
import { cors } from './http/cors';
import { errorHandler, jsonBody, sendError } from './http/errors';
import { fhirRouter } from './http/fhir';
import { dtrAppRouter } from './http/dtr-app';
import { sandboxAuthRouter, sandboxRouter, sandboxTokenRouter } from './http/sandbox';
import { smartRouter } from './http/smart';
import { createLogger, requestLogger, type Logger } from './log';
import { ROOT } from './paths';
import type { Sandbox } from './sandbox';
import { ClientRegistry } from './security/registry';
import { SmartAuthServer } from './security/smart';

export interface Services extends HookDeps {
  content: DtrContent;
  store: AuditStore;
  registry: ClientRegistry;
  smart: SmartAuthServer;
  log: Logger;
  authDeps: AuthDeps;
  /** The embedded sandbox EHR (development only), or null with SANDBOX=off. */
  sandbox: Sandbox | null;
}

export async function createServices(config: Config, options: { store?: AuditStore; log?: Logger } = {}): Promise<Services> {
  const log = options.log ?? createLogger(config.logLevel);
  const content = loadContent();
  const engine = new KineretEngine(content);
  const services = (JSON.parse(readFileSync(path.join(ROOT, 'cds-services.json'), 'utf8')) as { services: ServiceDefinition[] }).services;
  const store = options.store ?? (await openAuditStore(config.databaseUrl));
  const registry = ClientRegistry.fromFile(config.trustedClientsFile, config);
  // Loaded only when on: the sandbox brings an in-memory FHIR server that production never needs.
  const sandbox = config.sandbox ? await (await import('./sandbox')).createSandbox(config, registry, services) : null;
  if (sandbox) log.warn({ sandbox: `${config.publicBaseUrl}/sandbox/` }, 'SANDBOX on: the embedded sandbox EHR and its auto-approving SMART server are served (development only; SANDBOX=off for production)');
  const smart = await SmartAuthServer.create({
    publicBaseUrl: config.publicBaseUrl,
    ttlSeconds: config.accessTokenTtlSeconds,
    clockSkewSeconds: config.clockSkewSeconds,
    registry,
    ledger: store,
    signingJwk: config.tokenSigningJwk,
  });
  if (!config.auth) log.warn('AUTH=off: CDS Hooks and DTR endpoints accept unauthenticated requests (local experiments only)');
  return {
    engine,
    config,
    services,
    requirements: dataRequirementsFromElm(Object.values(content.elm)),
    valueSets: content.valueSets,
    matcher: new KineretMatcher(engine),
    content: buildDtrContent(content, config.publicBaseUrl, { kineretNonPreferred: config.kineretNonPreferred }),
    store,
    registry,
    smart,
    log,
    sandbox,
    authDeps: { auth: config.auth, publicBaseUrl: config.publicBaseUrl, clockSkewSeconds: config.clockSkewSeconds, registry, ledger: store, smart, log },
  };
}

export function createApp(services: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(services.log));
  app.use(cors(services.config.corsOrigins));
  app.use(smartRouter(services.smart));
  if (services.sandbox) app.use(sandboxAuthRouter(services.sandbox));
  app.use(jsonBody(services.config.bodyLimitBytes));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', store: services.store.kind, auth: services.config.auth, valueSets: services.valueSets.length });
  });
  const policy = readFileSync(path.join(ROOT, 'policy', 'kineret-anakinra-coverage-guideline.txt'), 'utf8');
  app.get(POLICY_PATH, (_req, res) => {
    res.type('text/plain; charset=utf-8').send(policy);
  });
  if (services.sandbox) {
    app.use(sandboxTokenRouter(services.sandbox.identity, services.smart, services.config.publicBaseUrl, services.services.map((s) => s.id)));
    app.use(sandboxRouter(services.sandbox, services.config.publicBaseUrl));
  }
  app.use(dtrAppRouter(services.config));
  app.use(cdsRouter(services));
  app.use('/fhir', scopeAuth(services.authDeps, (req) => fhirScopes(req.method, decodeURIComponent(req.originalUrl.split('?')[0]))));
  app.use(fhirRouter(services));
  app.use('/audit', scopeAuth(services.authDeps, () => ['admin/audit.rs']));
  app.use(auditRouter(services.store));
  app.use((req, res) => sendError(req, res, 404, 'not-found', 'no such route'));
  app.use(errorHandler);
  return app;
}
