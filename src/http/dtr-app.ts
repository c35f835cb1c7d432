/**
 * The SMART on FHIR DTR app, served by this service: /dtr/launch (EHR launch), /dtr/ (the app),
 * /dtr/config.json (what the built app cannot know: client id, payer endpoint, session route),
 * LHC-Forms from node_modules under /dtr/vendor/lforms (no CDN), and the app's backend:
 * - POST /dtr/session: payer access for a verified SMART launch (src/security/dtr-session.ts), so
 *   the browser never holds a payer key;
 * - GET /dtr/session/order: the order as this service recorded it from the same EHR's order-sign
 *   call, for a launch whose EHR has no copy of the order (a draft that was never saved).
 */
import path from 'node:path';
import express, { type Response } from 'express';
import type { MedicationRequest } from 'fhir/r4';
import type { AuditStore } from '../audit/store';
import type { Config } from '../config';
import { DTR_APP_SCOPES, QUESTIONNAIRE_ID } from '../constants';
import type { Clock } from '../core/clock';
import type { SystemAction } from '../crd/types';
import { ADAPTIVE_SUFFIX } from '../dtr/adaptive';
import type { DtrAppConfig } from '../dtr/app-config';
import { fhirOutcome } from './errors';
import { WEB_DIST_DIR } from '../paths';
import { openSession } from '../security/dtr-session';
import type { ClientRegistry } from '../security/registry';
import type { SmartAuthServer } from '../security/smart';
import { isPublic, principalOf, scopes } from './auth';
import type { Routes } from './route';
import { answerOAuth } from './smart';
import { builtPages, contentSecurityPolicy } from './web';

export const SESSION_PATH = '/dtr/session';
export const RECORDED_ORDER_PATH = '/dtr/session/order';
/** The scope a session needs to read a recorded order: the order is the session patient's. */
export const RECORDED_ORDER_SCOPE = 'patient/MedicationRequest.r';

export function dtrAppConfig(config: Config): DtrAppConfig {
  return {
    clientId: config.dtrClientId,
    scope: DTR_APP_SCOPES.join(' '),
    payerFhirBase: `${config.publicBaseUrl}/fhir`,
    sessionUrl: `${config.publicBaseUrl}${SESSION_PATH}`,
    recordedOrderUrl: `${config.publicBaseUrl}${RECORDED_ORDER_PATH}`,
    kineretNonPreferred: config.kineretNonPreferred,
    form: config.dtrForm,
    adaptiveQuestionnaire: `${config.publicBaseUrl}/fhir/Questionnaire/${QUESTIONNAIRE_ID}${ADAPTIVE_SUFFIX}`,
  };
}

function lformsDir(): string {
  return path.join(path.dirname(require.resolve('lforms/package.json')), 'dist', 'lforms');
}

export interface DtrAppDeps {
  config: Config;
  registry: ClientRegistry;
  smart: SmartAuthServer;
  store: AuditStore;
  clock: Clock;
}

function fhirError(res: Response, status: number, code: Parameters<typeof fhirOutcome>[0], message: string): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(fhirOutcome(code, message)));
}

/** The order of a recorded hook answer: the coverage-information system action's MedicationRequest. */
function recordedOrder(response: unknown, orderRef: string): MedicationRequest | undefined {
  const actions = (response as { systemActions?: SystemAction[] } | null)?.systemActions ?? [];
  return actions.map((a) => a.resource as MedicationRequest | undefined)
    .find((r) => r?.resourceType === 'MedicationRequest' && `MedicationRequest/${r.id}` === orderRef);
}

export function registerDtrAppRoutes(routes: Routes, deps: DtrAppDeps): void {
  const { config } = deps;
  const appConfig = dtrAppConfig(config);
  const pages = { access: isPublic('the SMART DTR app: static pages and its public settings') };
  // The app calls the EHR that launched it (any FHIR server) and the payer.
  routes.mount('/dtr', pages, contentSecurityPolicy('*'));
  routes.route('GET', '/dtr/config.json', pages, (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(appConfig);
  });

  // The launch authenticates itself: its id_token (checked against the EHR's registered keys) and its access token (checked by the EHR).
  routes.route('POST', SESSION_PATH, { access: isPublic('opens a DTR app session: the caller proves a SMART launch (id_token, confirmed by the EHR)'), body: 'json', fhir: false }, async (req, res) => {
    await answerOAuth(res, () => openSession(req.body, {
      registry: deps.registry, smart: deps.smart, clock: deps.clock, clockSkewSeconds: config.clockSkewSeconds, policy: config,
      ttlSeconds: config.dtrSessionTtlSeconds, timeoutMs: config.fhirTimeoutMs,
    }));
  });

  routes.route('GET', RECORDED_ORDER_PATH, { access: scopes(RECORDED_ORDER_SCOPE), fhir: true }, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const principal = principalOf(res);
    const session = principal.kind === 'smart-client' ? principal.session : undefined;
    if (!session) return fhirError(res, 403, 'forbidden', `only a DTR app session (POST ${SESSION_PATH}) reads recorded orders: they belong to the patient of its launch`);
    const reference = typeof req.query.reference === 'string' ? req.query.reference : '';
    if (!/^MedicationRequest\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) return fhirError(res, 400, 'invalid', 'parameter "reference" must be MedicationRequest/<id>');
    const ehr = deps.registry.dtrAppEhr(session.ehr);
    const found = ehr?.cdsIss ? await deps.store.findLatestOrderAssertion(ehr.cdsIss, session.patient, reference) : undefined;
    const order = found ? recordedOrder(found.call.response, reference) : undefined;
    if (!order) {
      return fhirError(res, 404, 'not-found',
        `the plan has no record of ${reference} for Patient/${session.patient} from this EHR's order-sign call: sign the order in the EHR (so that the plan's coverage check runs), then open the documentation again`);
    }
    res.status(200).type('application/fhir+json').send(JSON.stringify(order));
  });

  // A missing file is a 404 through the error handler, which never shows the file system path.
  routes.mount('/dtr/vendor/lforms', pages, express.static(lformsDir(), { fallthrough: false, maxAge: '1h' }));
  routes.mount('/dtr', pages, builtPages(path.join(WEB_DIST_DIR, 'dtr'), 'The DTR app'));
}
