/**
 * PAS operations as plain functions: `Claim/$submit` (a request evaluated by the same core as the
 * DTR determination, filed, answered A1 or A4) and `Claim/$inquire` (the current ClaimResponse of
 * a client's requests, by identifier, patient and provider). The HTTP edge (src/http/pas.ts) only
 * authenticates and passes the principal.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Claim, ClaimResponse, Patient } from 'fhir/r4';
import { CONTENT_VERSION, HL7_SYSTEMS, MAIN_LIBRARY, PAS } from '../constants';
import { nowIso, today } from '../core/clock';
import { decide } from '../core/decision';
import { EvaluationAbandoned } from '../core/errors';
import type { Evaluation } from '../core/types';
import { answersServedForm } from '../dtr/adaptive';
import { flattenAnswers } from '../dtr/answers';
import { answering, checkResponseFor, type DtrDeps, type FhirResult } from '../dtr/operations';
import { OutcomeError } from '../fhir/outcome';
import { ownerOf, readerOf, type Principal } from '../security/principal';
import { buildClaimResponse, responseBundle } from './claim-response';
import { patientIdentifierKeys } from './member';
import { BundleIndex, bundleOf, npiOf, readBundle, readPasRequest, type PasRequest } from './request';
import { authorizationNumber, dueAt } from './review';
import { PaConflict, type PaStore } from './store';
import type { DecisionRecord, PaRequest } from './types';

/** The drug this service authorizes (the store is ready for others; the CQL is Kineret's). */
export const DRUG = 'kineret';
/** The rules that decide automatically, as recorded with their decisions. */
export const RULES_ACTOR = `${MAIN_LIBRARY}|${CONTENT_VERSION}`;

export interface PasDeps extends DtrDeps {
  pas: PaStore;
}

export interface PasResult extends FhirResult {
  /** The request id at the plan, when a request was filed or found. */
  requestId?: string;
  /** Set when a retry was answered from the record. */
  replayed?: boolean;
}

function submitAnswer(request: PaRequest, claimResponse: ClaimResponse, deps: PasDeps, timestamp: string): Bundle {
  return responseBundle({
    claimResponses: [claimResponse], requests: [request.submission], fhirBase: deps.content.fhirBase, timestamp, kind: 'submit',
    ...(request.submission.identifier ? { identifier: request.submission.identifier } : {}),
  });
}

/** A retry of a filed request gets the current answer; another request under the same identifier is refused. */
async function answerExisting(existing: PaRequest, req: PasRequest, deps: PasDeps, owner: string): Promise<PasResult> {
  if (existing.contentHash !== req.contentHash) {
    throw OutcomeError.of(422, `Claim.identifier ${existing.claimIdentifier.value} already names another request of this client (received ${existing.receivedAt}); a changed request has a new identifier and names the earlier one in Claim.related`, { code: 'duplicate', expression: 'Claim.identifier' });
  }
  const current = await deps.pas.current(existing, { all: false, owner });
  return { status: 200, body: submitAnswer(current, current.claimResponse, deps, nowIso(deps.clock)), requestId: current.id, replayed: true };
}

/** PAS Claim/$submit. */
export function submitOperation(body: unknown, deps: PasDeps, principal: Principal): Promise<PasResult> {
  return answering<PasResult>(async () => {
    const req = await readPasRequest(body, { reader: deps.reader, matcher: deps.matcher, isDocumentation: (qr) => answersServedForm(qr, deps.content) });
    if (req.response) checkResponseFor(req.response.resource, req.record, deps);
    const owner = ownerOf(principal);
    const existing = await deps.pas.byClaimIdentifier(owner, req.claimIdentifier);
    if (existing) return answerExisting(existing, req, deps, owner);

    let replacing: PaRequest | undefined;
    if (req.replaces) {
      replacing = await deps.pas.byClaimIdentifier(owner, req.replaces);
      if (!replacing) throw OutcomeError.of(422, `Claim.related names request ${req.replaces.value}, which this client has not submitted`, { code: 'not-found', expression: 'Claim.related.claim' });
      if (!['pended', 'info-requested'].includes(replacing.status)) {
        throw OutcomeError.of(422, `Claim.related names request ${req.replaces.value}, which is already ${replacing.status}; submit a new request instead`, { code: 'business-rule', expression: 'Claim.related.claim' });
      }
    }

    // The same core as $evaluate: the CQL over the record with the clinician's answers, then the decision.
    // Through the one evaluator (worker pool and result cache, within this client's partition). An evaluation that
    // cannot finish in time files nothing: 503 saying so, and the client retries (the retry is not a duplicate).
    const date = today(deps.clock);
    let evaluation: Evaluation;
    try {
      evaluation = await deps.evaluator.evaluate({
        kind: 'decision',
        bundle: req.record,
        options: {
          answers: req.response ? flattenAnswers(req.response.resource) : [],
          orderId: req.order.resource.id,
          evaluationDate: date,
          nonPreferred: deps.config.kineretNonPreferred,
        },
        partition: owner,
      });
    } catch (e) {
      if (e instanceof EvaluationAbandoned) throw OutcomeError.of(503, `${e.clinicianMessage} The request was not filed; send it again.`, { code: e.reason === 'timeout' ? 'timeout' : 'too-costly' });
      throw e;
    }
    const decision = decide(evaluation, date);
    const now = nowIso(deps.clock);
    const id = randomUUID();
    const due = dueAt(now, req.priority);
    const echo = { claim: req.claim, claimFullUrl: req.claimFullUrl, claimIdentifier: req.claimIdentifier };
    const approved = decision.outcome === 'approved' && decision.approvalPeriod !== null;
    const authNumber = approved ? authorizationNumber() : null;
    const claimResponse = buildClaimResponse({
      ...echo, id, created: now,
      state: approved
        ? { kind: 'approved', authNumber: authNumber!, period: decision.approvalPeriod!, issued: date, reviewer: null, note: decision.approvalReason || null }
        : { kind: 'pended', reasons: decision.reasons, dueAt: due, priority: req.priority, infoRequested: null },
    });
    const request: PaRequest = {
      id,
      owner,
      claimIdentifier: req.claimIdentifier,
      contentHash: req.contentHash,
      patientRef: `Patient/${req.patient.resource.id}`,
      orderRef: `MedicationRequest/${req.order.resource.id}`,
      coverageRef: req.coverage.resource.id ? `Coverage/${req.coverage.resource.id}` : null,
      providerRef: req.provider.resource ? `${req.provider.resource.resource.resourceType}/${req.provider.resource.resource.id}` : req.provider.reference || null,
      providerNpi: req.provider.npi,
      drug: DRUG,
      indication: decision.indication,
      priority: req.priority,
      status: approved ? 'approved' : 'pended',
      receivedAt: now,
      dueAt: due,
      decidedAt: approved ? now : null,
      authNumber,
      period: approved ? decision.approvalPeriod : null,
      replaces: replacing?.id ?? null,
      replacedBy: null,
      submission: req.bundle,
      assessment: decision,
      claimResponse,
      version: 1,
    };
    const automated: DecisionRecord = {
      id: randomUUID(), requestId: id, action: approved ? 'automated-approval' : 'automated-pend', actorKind: 'system', actor: RULES_ACTOR,
      humanReviewed: false, reviewer: null, reasonCode: null, reasonText: approved ? decision.approvalReason : null, letterText: null,
      period: request.period, authNumber, at: now, detail: { reasons: decision.reasons, warnings: req.warnings.slice(0, 20) },
    };
    let added: 'added' | 'exists';
    try {
      added = await deps.pas.add({
        request, memberKeys: req.memberKeys, patientKeys: req.patientKeys, decision: automated,
        ...(replacing ? {
          replacing: {
            id: replacing.id, version: replacing.version,
            decision: {
              ...automated, id: randomUUID(), requestId: replacing.id, action: 'replaced', reasonText: `replaced by request ${id} (Claim.identifier ${req.claimIdentifier.value})`,
              period: null, authNumber: null, detail: { replacedBy: id },
            },
          },
        } : {}),
      });
    } catch (e) {
      if (e instanceof PaConflict) throw OutcomeError.of(409, `the request named in Claim.related (${req.replaces?.value}) was decided or replaced meanwhile; inquire for its decision`, { code: 'conflict' });
      throw e;
    }
    if (added === 'exists') {
      // A concurrent retry of the same request was filed first.
      const earlier = await deps.pas.byClaimIdentifier(owner, req.claimIdentifier);
      if (!earlier) throw new Error(`request ${req.claimIdentifier.value} reported as filed, but it is not in the store`);
      return answerExisting(earlier, req, deps, owner);
    }
    return { status: 200, body: submitAnswer(request, claimResponse, deps, now), requestId: id, warnings: req.warnings };
  });
}

/** PAS Claim/$inquire: query by example on the inquiry Claim's identifier, patient and provider. */
export function inquireOperation(body: unknown, deps: PasDeps, principal: Principal): Promise<PasResult> {
  return answering<PasResult>(async (warnings) => {
    const bundle = readBundle(bundleOf(body, 'Claim/$inquire'), deps.reader, warnings);
    const claims = (bundle.entry ?? []).map((e, i) => ({ e, i })).filter((x) => x.e.resource?.resourceType === 'Claim');
    if (claims.length !== 1) {
      throw OutcomeError.of(422, `a PAS inquiry Bundle holds exactly one Claim; this one holds ${claims.length}`, { code: claims.length ? 'business-rule' : 'required', expression: 'Bundle.entry.resource.ofType(Claim)' });
    }
    const claim = claims[0].e.resource as Claim;
    const at = `Bundle.entry[${claims[0].i}].resource`;
    const index = new BundleIndex(bundle);
    // PAS: an inquiry names the patient and the requesting provider.
    const patient = index.resolve<Patient>(claim.patient, ['Patient'], `${at}.patient`, 'Claim.patient', true)!;
    if (!claim.provider?.reference && !claim.provider?.identifier?.value) {
      throw OutcomeError.of(422, 'Claim.provider (the requesting provider) is required: an inquiry names the patient and the provider', { code: 'required', expression: `${at}.provider` });
    }
    const provider = index.resolve(claim.provider, ['Practitioner', 'PractitionerRole', 'Organization'], `${at}.provider`, 'Claim.provider', false);
    const npi = npiOf(provider?.resource, index) ?? (claim.provider?.identifier?.system === HL7_SYSTEMS.npi ? claim.provider.identifier.value : undefined);
    const identifier = (claim.identifier ?? []).find((i) => i.value);
    const matched = await deps.pas.inquire({
      reader: readerOf(principal),
      ...(identifier ? { claimIdentifier: { system: identifier.system ?? '', value: identifier.value! } } : {}),
      patientKeys: patientIdentifierKeys(patient.resource),
      patientRef: patient.resource.id ? `Patient/${patient.resource.id}` : null,
      providerNpi: npi ?? null,
      providerRef: provider ? `${provider.resource.resourceType}/${provider.resource.id}` : claim.provider?.reference ?? null,
    });
    // A session of the hosted DTR app reads its launch's patient's requests only, whatever identifiers the inquiry's
    // Patient carries (the HTTP edge checks Claim.patient; the match is on identifiers, which another patient may share).
    const session = principal.kind === 'smart-client' ? principal.session : undefined;
    const found = session ? matched.filter((r) => r.patientRef === `Patient/${session.patient}`) : matched;
    const responses = found.map((r): ClaimResponse => ({ ...r.claimResponse, meta: { ...r.claimResponse.meta, profile: [PAS.claimInquiryResponseProfile] } }));
    const answer = responseBundle({ claimResponses: responses, requests: found.map((r) => r.submission), fhirBase: deps.content.fhirBase, timestamp: nowIso(deps.clock), kind: 'inquiry', ...(bundle.identifier ? { identifier: bundle.identifier } : {}) });
    // Nothing matches: the Bundle still names whom the inquiry was about (PAS: entry 1..*).
    if (responses.length === 0) answer.entry = [{ fullUrl: patient.fullUrl ?? `${deps.content.fhirBase}/Patient/${patient.resource.id}`, resource: patient.resource }];
    return { status: 200, body: answer };
  });
}

/** A client's request by id, answered by its current ClaimResponse (GET ClaimResponse/{id}). */
export async function currentClaimResponse(id: string, deps: PasDeps, principal: Principal): Promise<ClaimResponse | undefined> {
  const reader = readerOf(principal);
  const found = await deps.pas.byId(id, reader);
  return found ? (await deps.pas.current(found, reader)).claimResponse : undefined;
}
