/**
 * Builds the Express application from loaded content and configuration. Everything heavy (ELM,
 * value sets, model info) is loaded once in createServices(); routes only call the core.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Config } from './config';
import { POLICY_PATH } from './constants';
import { dataRequirementsFromElm } from './core/data-requirements';
import { KineretEngine, loadContent } from './core/engine';
import { KineretMatcher } from './crd/orders';
import type { HookDeps } from './crd/hook';
import type { ServiceDefinition } from './crd/types';
import { buildDtrContent, type DtrContent } from './dtr/content';
import { MemoryDtrStore, type DtrStore } from './dtr/store';
import { cdsRouter } from './http/cds';
import { fhirRouter } from './http/fhir';
import { cors } from './http/cors';
import { errorHandler, jsonBody, sendError } from './http/errors';
import { ROOT } from './paths';

export interface Services extends HookDeps {
  content: DtrContent;
  store: DtrStore;
}

export function createServices(config: Config): Services {
  const content = loadContent();
  const engine = new KineretEngine(content);
  const services = (JSON.parse(readFileSync(path.join(ROOT, 'cds-services.json'), 'utf8')) as { services: ServiceDefinition[] }).services;
  return {
    engine,
    config,
    services,
    requirements: dataRequirementsFromElm(Object.values(content.elm)),
    valueSets: content.valueSets,
    matcher: new KineretMatcher(content.valueSets),
    content: buildDtrContent(content, config.publicBaseUrl),
    store: new MemoryDtrStore(),
  };
}

export function createApp(services: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(cors(services.config.corsOrigins));
  app.use(jsonBody(services.config.bodyLimitBytes));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', valueSets: services.valueSets.length, services: services.services.map((s) => s.id) });
  });
  const policy = readFileSync(path.join(ROOT, 'policy', 'kineret-anakinra-coverage-guideline.txt'), 'utf8');
  app.get(POLICY_PATH, (_req, res) => {
    res.type('text/plain; charset=utf-8').send(policy);
  });
  app.use(cdsRouter(services));
  app.use(fhirRouter(services));
  app.use((req, res) => sendError(req, res, 404, 'not-found', 'no such route'));
  app.use(errorHandler);
  return app;
}
