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
import { systemClock, type Clock } from './core/clock';
import { dataRequirementsFromElm } from './core/data-requirements';
import { FhirReader } from './fhir/read';
import { FhirShapes } from './fhir/shapes';
import { loadContent, type LoadedContent } from './core/content';
import { KineretEngine } from './core/engine';
import { InProcessBackend } from './core/evaluate-here';
import { contentDigestOf, EvaluationService, type EvaluationBackend } from './core/evaluation';
import { WorkerPool } from './core/pool';
import type { HookDeps } from './crd/hook';
import { KineretMatcher } from './crd/orders';
import type { ServiceDefinition } from './crd/types';
import { buildDtrContent, type DtrContent } from './dtr/content';
import { registerAuditRoutes } from './http/audit';
import { isPublic, type AuthDeps } from './http/auth';
import { registerCdsRoutes } from './http/cds';
import { cors } from './http/cors';
import { errorHandler, sendError } from './http/errors';
import { registerFhirRoutes } from './http/fhir';
import { registerPasRoutes } from './http/pas';
import { registerReviewRoutes } from './http/review';
import { registerDtrAppRoutes } from './http/dtr-app';
import { registerPolicyRoutes } from './http/policy';
import { assertAllDeclared, globalMiddleware, Routes } from './http/route';
import { registerSandboxRoutes } from './http/sandbox';
import { registerSmartRoutes } from './http/smart';
import { createLogger, requestLogger, type Logger } from './log';
import { ROOT } from './paths';
import { ReviewerRegistry, ReviewerSessions } from './pas/reviewers';
import { DRUG, inquireOperation } from './pas/operations';
import { SANDBOX_DTR_SCOPES } from './sandbox/identity';
import { sessionClientId } from './security/dtr-session';
import type { Principal } from './security/principal';
import { PaStore } from './pas/store';
import type { Sandbox } from './sandbox';
import { ClientRegistry } from './security/registry';
import { SmartAuthServer } from './security/smart';

export interface Services extends HookDeps {
  /**
   * The policy engine on this thread: it answers the Kineret pre-check of every hook (a small evaluation of the
   * product library over the draft orders: src/crd/orders.ts), and evaluates the policy itself only with
   * EVAL_WORKERS=0 (and in tests and tools); with workers, the policy is evaluated in them.
   */
  readonly engine: KineretEngine;
  /** The compiled ELM by library name. */
  elm: Record<string, unknown>;
  content: DtrContent;
  store: AuditStore;
  /** Prior authorization requests and decisions (PAS, the reviewer workbench), in the audit store. */
  pas: PaStore;
  /** The plan's clinical reviewers (REVIEWERS_FILE) and their workbench sessions. */
  reviewers: ReviewerSessions;
  registry: ClientRegistry;
  smart: SmartAuthServer;
  log: Logger;
  authDeps: AuthDeps;
  /** Every route the application serves, with its declared access (filled by createApp). */
  routes?: Routes;
  /** The embedded sandbox EHR (development only), or null with SANDBOX=off. */
  sandbox: Sandbox | null;
}

/**
 * `clock` is the service's one source of time (src/core/clock.ts): the evaluation date of every
 * hook, package and determination without a date of its own, audit times and JWT checks.
 */
export async function createServices(config: Config, options: { store?: AuditStore; log?: Logger; clock?: Clock } = {}): Promise<Services> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const content = loadContent();
  // The engine on this thread, made at start-up (the model info is parsed here, not in the first request).
  const engine = new KineretEngine(content);
  const evaluator = await createEvaluator(config, content, () => engine, log);
  const services = (JSON.parse(readFileSync(path.join(ROOT, 'cds-services.json'), 'utf8')) as { services: ServiceDefinition[] }).services;
  const store = options.store ?? (await openAuditStore(config.databaseUrl, { clock }));
  const registry = ClientRegistry.fromFile(config.trustedClientsFile, config);
  const reviewers = new ReviewerSessions(store.sql(), clock, ReviewerRegistry.fromFile(config.reviewersFile));
  const pas = new PaStore(store.sql());
  // Loaded only when on: the sandbox brings an in-memory FHIR server that production never needs.
  const sandbox = config.sandbox ? await (await import('./sandbox')).createSandbox(config, registry, services, clock, reviewers.registry) : null;
  if (sandbox) log.warn({ sandbox: `${config.publicBaseUrl}/sandbox/` }, 'SANDBOX on: the embedded sandbox EHR and its auto-approving SMART server are served (development only; SANDBOX=off for production)');
  const smart = await SmartAuthServer.create({
    publicBaseUrl: config.publicBaseUrl,
    ttlSeconds: config.accessTokenTtlSeconds,
    clockSkewSeconds: config.clockSkewSeconds,
    registry,
    ledger: store,
    signingJwk: config.tokenSigningJwk,
    clock,
  });
  if (!config.auth) log.warn('AUTH=off: CDS Hooks and DTR endpoints accept unauthenticated requests (local experiments only); /audit still requires an auditor token');
  if (config.cdsJtiReuse === 'allow') log.warn('CDS_JTI_REUSE=allow: a CDS Hooks JWT may be used again for the same service while it is valid (conformance runs only); each reuse is logged');
  return {
    engine,
    evaluator,
    elm: content.elm,
    clock,
    config,
    services,
    requirements: dataRequirementsFromElm(Object.values(content.elm)),
    valueSets: content.valueSets,
    matcher: new KineretMatcher(engine),
    reader: new FhirReader(FhirShapes.r4()),
    content: buildDtrContent(content, config.publicBaseUrl, { kineretNonPreferred: config.kineretNonPreferred }),
    store,
    pas,
    authorizations: (keys, since) => pas.authorizationsOnFile(keys, DRUG, since),
    reviewers,
    registry,
    smart,
    log,
    sandbox,
    authDeps: {
      auth: config.auth, publicBaseUrl: config.publicBaseUrl, clockSkewSeconds: config.clockSkewSeconds, clock, registry, ledger: store, smart, log,
      cdsJwt: { maxLifetimeSeconds: config.cdsJwtMaxLifetimeSeconds, jtiReuse: config.cdsJtiReuse },
      reviewers,
    },
  };
}

/**
 * The evaluator behind every hook and DTR operation: a worker pool (EVAL_WORKERS > 0; start-up waits until
 * every worker has loaded the content, and fails if one cannot) or this thread, with the result cache.
 */
async function createEvaluator(config: Config, content: LoadedContent, engineHere: () => KineretEngine, log: Logger): Promise<EvaluationService> {
  let backend: EvaluationBackend;
  if (config.evalWorkers > 0) {
    // A worker's heap: the old generation is bounded (a worker over it dies: EvaluationAbandoned('memory')); the
    // young generation is kept small (V8 lets a busy isolate's nursery grow to tens of MB, per worker; measured:
    // 8 MB costs no evaluation time and about 25 MB less resident memory per worker).
    const pool = new WorkerPool({ size: config.evalWorkers, queueLimit: config.evalQueueLimit, timeoutMs: config.evalTimeoutMs, heapMb: 1024, youngMb: 8, log });
    try {
      await pool.ready();
    } catch (e) {
      await pool.close();
      throw e;
    }
    backend = pool;
  } else {
    backend = new InProcessBackend(engineHere);
  }
  return new EvaluationService(backend, {
    timeoutMs: config.evalTimeoutMs,
    cacheEntries: config.evalCacheEntries,
    cacheBytes: config.evalCacheBytes,
    contentDigest: contentDigestOf(content),
  });
}

/**
 * The application: every route is declared with its access (src/http/route.ts); routing is
 * case-sensitive and strict; an undeclared route or middleware stops the start-up.
 */
export function createApp(services: Services): express.Express {
  const { config } = services;
  const app = express();
  // Before the first app.use: Express builds its router with these settings.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(globalMiddleware(requestLogger(services.log)));
  app.use(globalMiddleware(cors(config.corsOrigins)));

  const routes = new Routes(services.authDeps, config.bodyLimitBytes);
  const limits = { maxDraftOrders: config.maxDraftOrders, maxPrefetchResources: config.maxPrefetchResources };
  routes.route('GET', '/health', { access: isPublic('liveness for load balancers: no data') }, (_req, res) => {
    res.json({ status: 'ok', store: services.store.kind, auth: config.auth, valueSets: services.valueSets.length });
  });
  registerPolicyRoutes(routes, { payerName: config.payerName });
  registerSmartRoutes(routes, services.smart);
  if (services.sandbox) {
    // The sandbox EHR follows the requests its clinicians submitted through the hosted DTR app: those belong to the
    // app's sessions at this EHR (src/security/dtr-session.ts), so it asks as their owner.
    const sandboxEhr = services.registry.dtrAppEhr(services.sandbox.fhir.base);
    const owner = sandboxEhr ? sessionClientId(sandboxEhr) : services.sandbox.identity.dtrClientId;
    const sandboxClient: Principal = { kind: 'smart-client', clientId: owner, scopes: [...SANDBOX_DTR_SCOPES] };
    registerSandboxRoutes(routes, services.sandbox, services.smart, config.publicBaseUrl, services.services.map((s) => s.id), services.reviewers,
      (bundle) => inquireOperation(bundle, services, sandboxClient));
  }
  registerDtrAppRoutes(routes, { config, registry: services.registry, smart: services.smart, store: services.store, clock: services.clock });
  registerCdsRoutes(routes, services, limits);
  registerFhirRoutes(routes, services, limits);
  registerPasRoutes(routes, services, limits);
  registerReviewRoutes(routes, { ...services, publicBaseUrl: config.publicBaseUrl });
  registerAuditRoutes(routes, services.store);
  app.use(routes.router);
  app.use(globalMiddleware((req, res) => sendError(req, res, 404, 'not-found', 'no such route')));
  app.use(globalMiddleware(errorHandler));
  assertAllDeclared(app);
  services.routes = routes;
  return app;
}
