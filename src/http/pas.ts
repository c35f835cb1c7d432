/**
 * The PAS routes on /fhir (SMART Backend Services, like the DTR routes): `Claim/$submit` (scope
 * system/Claim.c), `Claim/$inquire` and `ClaimResponse/{id}` (system/ClaimResponse.r). A client
 * reads only its own requests; the auditor scope reads any. Thin: authenticate, call src/pas, answer.
 */
import type { Response } from 'express';
import type { Logger } from '../log';
import { currentClaimResponse, inquireOperation, submitOperation, type PasDeps, type PasResult } from '../pas/operations';
import { fhirBodyLimits, type WorkLimits } from '../security/limits';
import { AUDITOR_SCOPE, ownerOf } from '../security/principal';
import { principalOf, scopes, scopesAnyOf } from './auth';
import type { Routes } from './route';
import { outcome } from '../dtr/operations';

export const PAS_SUBMIT_SCOPE = 'system/Claim.c';
export const PAS_READ_SCOPE = 'system/ClaimResponse.r';

function send(res: Response, result: { status: number; body: unknown }): void {
  res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
}

export function registerPasRoutes(routes: Routes, deps: PasDeps & { log: Logger }, limits: WorkLimits): void {
  const bounded = fhirBodyLimits(limits);
  const logged = (res: Response, operation: string, result: PasResult) => {
    const fields = { requestId: res.locals.requestId, client: ownerOf(principalOf(res)) || null, operation, status: result.status, paRequest: result.requestId ?? null, replayed: result.replayed ?? false };
    deps.log.info(fields, 'PAS operation answered');
    if (result.warnings?.length) deps.log.warn({ requestId: res.locals.requestId, warnings: result.warnings.slice(0, 20), count: result.warnings.length }, 'PAS input read leniently');
  };

  routes.route('POST', '/fhir/Claim/\\$submit', { access: scopes(PAS_SUBMIT_SCOPE) }, bounded, async (req, res) => {
    const result = await submitOperation(req.body, deps, principalOf(res));
    logged(res, 'submit', result);
    if (result.replayed && result.requestId) res.setHeader('X-Replayed-From', result.requestId);
    send(res, result);
  });

  const readAccess = scopesAnyOf([PAS_READ_SCOPE], [AUDITOR_SCOPE]);
  routes.route('POST', '/fhir/Claim/\\$inquire', { access: readAccess }, bounded, async (req, res) => {
    const result = await inquireOperation(req.body, deps, principalOf(res));
    logged(res, 'inquire', result);
    send(res, result);
  });

  routes.route('GET', '/fhir/ClaimResponse/:id', { access: readAccess }, async (req, res) => {
    const found = await currentClaimResponse(req.params.id, deps, principalOf(res));
    send(res, found ? { status: 200, body: found } : outcome(404, 'not-found', `ClaimResponse/${req.params.id} is not known`));
  });
}
