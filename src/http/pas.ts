/**
 * The PAS routes on /fhir (SMART Backend Services, like the DTR routes): `Claim/$submit` (scope
 * system/Claim.c), `Claim/$inquire` and `ClaimResponse/{id}` (system/ClaimResponse.r). A client
 * reads only its own requests; the auditor scope reads any. A session of the hosted DTR app
 * (src/security/dtr-session.ts) is bound to its launch's patient and EHR: it submits and reads requests
 * for that patient only. Thin: authenticate, call src/pas, answer.
 */
import type { Response } from 'express';
import type { Bundle, Claim } from 'fhir/r4';
import type { Logger } from '../log';
import { currentClaimResponse, inquireOperation, submitOperation, type PasDeps, type PasResult } from '../pas/operations';
import { fhirBodyLimits, type WorkLimits } from '../security/limits';
import { AUDITOR_SCOPE, ownerOf } from '../security/principal';
import { principalOf, scopes, scopesAnyOf } from './auth';
import type { Routes } from './route';
import { outcome } from '../dtr/operations';
import { referenceId } from '../fhir/references';
import { bundleOf } from '../pas/request';

export const PAS_SUBMIT_SCOPE = 'system/Claim.c';
export const PAS_READ_SCOPE = 'system/ClaimResponse.r';

function send(res: Response, result: { status: number; body: unknown }): void {
  res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
}

/** The patient reference of the request's Claim, or undefined when the body has none to read. */
function claimPatient(body: unknown): string | undefined {
  try {
    const bundle = bundleOf(body, 'the request') as Bundle;
    return (bundle.entry ?? []).map((e) => e.resource).find((r): r is Claim => r?.resourceType === 'Claim')?.patient?.reference;
  } catch {
    return undefined;
  }
}

/**
 * Why a DTR app session may not act for this patient reference, or null when it may (or the caller is no
 * session). A reference to another patient, to the same id on another EHR, or none at all is refused.
 */
function outsideSession(res: Response, patient: string | undefined): string | null {
  const principal = principalOf(res);
  const session = principal.kind === 'smart-client' ? principal.session : undefined;
  if (!session) return null;
  const absolute = /^https?:\/\//.test(patient ?? '');
  const sameEhr = !absolute || patient!.startsWith(`${session.ehr.replace(/\/+$/, '')}/`);
  if (referenceId(patient, 'Patient') === session.patient && sameEhr) return null;
  return `a DTR app session acts for the patient of its launch (Patient/${session.patient} on ${session.ehr}) only; this request is for ${patient ?? 'no patient'}`;
}

export function registerPasRoutes(routes: Routes, deps: PasDeps & { log: Logger }, limits: WorkLimits): void {
  const bounded = fhirBodyLimits(limits);
  const logged = (res: Response, operation: string, result: PasResult) => {
    const fields = { requestId: res.locals.requestId, client: ownerOf(principalOf(res)) || null, operation, status: result.status, paRequest: result.requestId ?? null, replayed: result.replayed ?? false };
    deps.log.info(fields, 'PAS operation answered');
    if (result.warnings?.length) deps.log.warn({ requestId: res.locals.requestId, warnings: result.warnings.slice(0, 20), count: result.warnings.length }, 'PAS input read leniently');
  };

  routes.route('POST', '/fhir/Claim/\\$submit', { access: scopes(PAS_SUBMIT_SCOPE) }, bounded, async (req, res) => {
    const refused = outsideSession(res, claimPatient(req.body));
    if (refused) return send(res, outcome(403, 'forbidden', refused));
    const result = await submitOperation(req.body, deps, principalOf(res));
    logged(res, 'submit', result);
    if (result.replayed && result.requestId) res.setHeader('X-Replayed-From', result.requestId);
    send(res, result);
  });

  const readAccess = scopesAnyOf([PAS_READ_SCOPE], [AUDITOR_SCOPE]);
  routes.route('POST', '/fhir/Claim/\\$inquire', { access: readAccess }, bounded, async (req, res) => {
    const refused = outsideSession(res, claimPatient(req.body));
    if (refused) return send(res, outcome(403, 'forbidden', refused));
    const result = await inquireOperation(req.body, deps, principalOf(res));
    logged(res, 'inquire', result);
    send(res, result);
  });

  routes.route('GET', '/fhir/ClaimResponse/:id', { access: readAccess }, async (req, res) => {
    const found = await currentClaimResponse(req.params.id, deps, principalOf(res));
    // Another patient's request is, for a session, one it does not know.
    send(res, found && !outsideSession(res, found.patient?.reference) ? { status: 200, body: found } : outcome(404, 'not-found', `ClaimResponse/${req.params.id} is not known`));
  });
}
