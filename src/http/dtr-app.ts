/**
 * The SMART on FHIR DTR app, served by this service: /dtr/launch (EHR launch), /dtr/ (the app),
 * /dtr/config.json (what the built app cannot know: client id, payer endpoint, token source) and
 * LHC-Forms from node_modules under /dtr/vendor/lforms (no CDN).
 */
import path from 'node:path';
import express from 'express';
import type { Config } from '../config';
import { DTR_APP_SCOPES, QUESTIONNAIRE_ID } from '../constants';
import { ADAPTIVE_SUFFIX } from '../dtr/adaptive';
import type { DtrAppConfig } from '../dtr/app-config';
import { WEB_DIST_DIR } from '../paths';
import { isPublic } from './auth';
import type { Routes } from './route';
import { builtPages, contentSecurityPolicy } from './web';

export function dtrAppConfig(config: Config): DtrAppConfig {
  return {
    clientId: config.dtrClientId,
    scope: DTR_APP_SCOPES.join(' '),
    payerFhirBase: `${config.publicBaseUrl}/fhir`,
    payerToken: config.sandbox ? { url: '/sandbox/dtr-token', label: 'sandbox development token (never in production)' } : null,
    kineretNonPreferred: config.kineretNonPreferred,
    form: config.dtrForm,
    adaptiveQuestionnaire: `${config.publicBaseUrl}/fhir/Questionnaire/${QUESTIONNAIRE_ID}${ADAPTIVE_SUFFIX}`,
  };
}

function lformsDir(): string {
  return path.join(path.dirname(require.resolve('lforms/package.json')), 'dist', 'lforms');
}

export function registerDtrAppRoutes(routes: Routes, config: Config): void {
  const appConfig = dtrAppConfig(config);
  const pages = { access: isPublic('the SMART DTR app: static pages and its public settings') };
  // The app calls the EHR that launched it (any FHIR server) and the payer.
  routes.mount('/dtr', pages, contentSecurityPolicy('*'));
  routes.route('GET', '/dtr/config.json', pages, (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(appConfig);
  });
  // A missing file is a 404 through the error handler, which never shows the file system path.
  routes.mount('/dtr/vendor/lforms', pages, express.static(lformsDir(), { fallthrough: false, maxAge: '1h' }));
  routes.mount('/dtr', pages, builtPages(path.join(WEB_DIST_DIR, 'dtr'), 'The DTR app'));
}
