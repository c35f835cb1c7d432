/**
 * The prior authorization request to the plan (Da Vinci PAS), shared by the standard and the adaptive
 * form: the completed response, saved on the EHR, is sent with the record as a PAS request
 * (./pas.ts); the plan's answer is shown (./authorization.ts) and can be refreshed ($inquire); an
 * earlier request for the order, found at launch, is shown and replaced by the next submission.
 */
import type { Bundle, Coverage, MedicationRequest, Patient, Practitioner, QuestionnaireResponse } from 'fhir/r4';
import { nowIso, systemClock } from '../../src/core/clock';
import { renderAuthorization, renderEarlierUnchecked } from './authorization';
import type { EarlierLookup } from './earlier';
import type { Ehr } from './ehr';
import { AppError, userMessage } from './errors';
import type { Launch } from './launch-context';
import { buildInquiry, buildOrderInquiry, buildPasRequest, readAuthorization, type Authorization } from './pas';
import type { Payer } from './payer';
import type { PatientRecord } from './record';
import { alertError, clearAlerts, status, ui } from './view';

const clock = systemClock;

/**
 * The prior authorization request for this order at the plan: the one this launch last sent (its identifier, what
 * it documented, the request, the plan's answer, and the earlier request it replaced), or the one an earlier launch
 * sent, found at launch (`earlier`; nothing documented or sent by this launch).
 */
export interface PlanRequest {
  identifier: { system: string; value: string };
  documented: string | null;
  request: Bundle | null;
  answer: Authorization;
  earlier: boolean;
  /** The earlier request this one names in Claim.related (sent again with it on a retry). */
  replaces: { system: string; value: string } | null;
}

/** What sending a request to the plan needs: the launch, the EHR and payer sessions, the order's resources and record, and the request so far. */
export interface PlanContext {
  launch: Launch;
  ehr: Ehr;
  payer: Payer;
  record: PatientRecord;
  patient: Patient;
  order: MedicationRequest;
  coverage: Coverage;
  pas: PlanRequest | null;
}

/** Saves the response on the EHR: created the first time, updated (its id) after. */
export async function writeResponse(ehr: Ehr, response: QuestionnaireResponse, savedId: string | undefined): Promise<QuestionnaireResponse> {
  return savedId ? ehr.update({ ...response, id: savedId }) : ehr.create(response);
}

/** The prescriber named by the order, read from the EHR (null when it cannot be read: the request names it by reference). */
async function prescriber(s: Pick<PlanContext, 'ehr' | 'order'>): Promise<Practitioner | null> {
  const ref = s.order.requester?.reference;
  if (!ref?.includes('Practitioner/')) return null;
  return s.ehr.read<Practitioner>(ref).catch(() => null);
}

/**
 * Sends the prior authorization request for the saved, completed response. The same documentation is
 * sent under the same identifier (a retry the plan answers from its record); changed documentation
 * is a new request, which replaces the earlier one while that is still pended: the one this launch
 * sent, or the one an earlier launch sent for this order (found at launch).
 */
export async function submitToPlan(s: PlanContext, saved: QuestionnaireResponse): Promise<void> {
  const documented = JSON.stringify(saved.item ?? []);
  const same = s.pas && s.pas.documented === documented ? s.pas : null;
  const identifier = same?.identifier ?? { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
  // A retry is the same request, Claim.related included: the plan answers it from its record.
  const replaces = same ? same.replaces : s.pas?.answer.status === 'pended' ? s.pas.identifier : null;
  const request = buildPasRequest({
    ehrBase: s.launch.ehrBase, identifier, replaces, response: saved, order: s.order, coverage: s.coverage, record: s.record.bundle,
    prescriber: await prescriber(s), now: nowIso(clock),
  });
  let answered: Bundle;
  try {
    answered = await s.payer.submitClaim(request);
  } catch (e) {
    // The request this one replaces was decided (or replaced) at the plan meanwhile: the plan refuses to replace it.
    // Show its decision; the next Submit then sends a new request.
    const refusedReplacement = e instanceof AppError && (e.status === 409 || (e.status === 422 && e.expressions.includes('Claim.related.claim')));
    if (!replaces || !refusedReplacement) throw e;
    await onRefresh(s);
    throw new AppError('payer', 'rejected', `the earlier request for this order was decided or closed at the plan before this submission reached it (${e.message}); its current answer is shown below. Submit again to send this documentation as a new request`, e.status);
  }
  const answer = readAuthorization(answered);
  s.pas = { identifier, documented, request, answer, earlier: false, replaces };
  showAuthorization(s);
}

function showAuthorization(s: PlanContext): void {
  if (!s.pas) return;
  const { pas } = s;
  renderAuthorization(ui.authorization(), pas.answer, {
    request: pas.identifier.value, checkedAt: nowIso(clock), onRefresh: () => void onRefresh(s),
    ...(pas.earlier ? { earlier: pas.answer.status === 'pended' ? 'replaces' as const : 'information' as const } : {}),
    ...(pas.replaces ? { replaced: pas.replaces.value } : {}),
  });
}

/** The inquiry for the order (all of this client's requests for it, or the one named by `identifier`). */
export async function orderInquiry(s: Pick<PlanContext, 'launch' | 'ehr' | 'patient' | 'order' | 'coverage'>, identifier: { system: string; value: string } | null): Promise<Bundle> {
  return buildOrderInquiry({
    ehrBase: s.launch.ehrBase, patient: s.patient, order: s.order, coverage: s.coverage, prescriber: await prescriber(s), identifier, now: nowIso(clock),
  });
}

/**
 * Shows what the plan holds for this order from an earlier launch, if anything: the request still open is
 * the one the next submission updates; a decided one is information only. When the plan could not be
 * asked, says so; the clinician works and submits as usual.
 */
export function showEarlier(s: PlanContext, found: EarlierLookup): void {
  if (found.kind === 'failed') {
    console.error('the plan could not be asked for an earlier request', found.error);
    renderEarlierUnchecked(ui.authorization(), `${found.error instanceof Error ? found.error.message : String(found.error)}.`);
    return;
  }
  if (found.kind === 'none' || s.pas) return;
  s.pas = { identifier: found.request.identifier, documented: null, request: null, answer: found.request.answer, earlier: true, replaces: null };
  showAuthorization(s);
}

/** Asks the plan for the request's current answer ($inquire): a reviewer may have decided since. */
export async function onRefresh(s: PlanContext): Promise<void> {
  if (!s.pas) return;
  try {
    status('Asking the plan for the current answer…');
    const inquiry = s.pas.request ? buildInquiry(s.pas.request, nowIso(clock)) : await orderInquiry(s, s.pas.identifier);
    s.pas.answer = readAuthorization(await s.payer.inquire(inquiry));
    showAuthorization(s);
    clearAlerts();
    status(`The plan's answer was checked at ${new Date().toLocaleTimeString()}.`);
  } catch (e) {
    alertError(userMessage(e));
  }
}

/** After a submission: the form's actions gone, the status naming the EHR copy, the plan's answer in view. */
export function showSubmitted(saved: QuestionnaireResponse): void {
  ui.actions().hidden = true;
  clearAlerts();
  status(`Submitted: the plan's answer is below. The documentation is saved on the EHR as QuestionnaireResponse/${saved.id}.`);
  document.body.dataset.submitted = 'true';
  ui.authorization().scrollIntoView({ block: 'start' });
}
