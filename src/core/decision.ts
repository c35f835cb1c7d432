/**
 * The Decision stage, the same for every channel (the DTR determination, PAS, and any channel to
 * come such as NCPDP ePA): an evaluation of the policy CQL and its evaluation date in; the automated
 * outcome, the approval period and the reasons to pend out. No wire format here: src/dtr packages it
 * as Parameters, src/pas as a ClaimResponse.
 *
 * Humans decide adverse outcomes: the automated outcome is `approved` (every applicable criterion
 * met, the plan known) or `pended` for a clinical reviewer with its reasons. The type has no
 * `denied`: only a reviewer's decision (src/pas/review.ts) denies. Browser-safe.
 */
import type { CriterionResult, Evaluation, RequestType } from './types';

/** The outcome a machine may reach. */
export type AutomatedOutcome = 'approved' | 'pended';

/** Why a request is pended (the CQL's "Pend Reasons" kinds). */
export type PendReasonKind = 'plan-unknown' | 'off-label' | 'not-met' | 'missing' | 'review';

export interface PendReason {
  kind: PendReasonKind;
  /** The criterion code the reason is about, when it is about one. */
  criterion: string | null;
  text: string;
}

export interface Period {
  /** YYYY-MM-DD */
  start: string;
  /** YYYY-MM-DD, inclusive */
  end: string;
}

export interface AutomatedDecision {
  outcome: AutomatedOutcome;
  /** When approved: from the evaluation date for the months the CQL gives. */
  approvalPeriod: Period | null;
  /** Why the approval lasts as long as it does (the CQL's words); '' when pended. */
  approvalReason: string;
  /** Empty when approved. */
  reasons: PendReason[];
  /** The months an approval of this request lasts, when the plan is known (what a reviewer's approval defaults to). */
  approvalMonths: number | null;
  indication: string | null;
  requestType: RequestType;
  criteria: CriterionResult[];
  evaluationDate: string;
}

/** `date` plus `months` calendar months, clamped to the month's end (31 Aug + 6 months = 28/29 Feb). */
export function addMonths(date: string, months: number): string {
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate()));
  if (target.getUTCDate() !== d.getUTCDate()) target.setUTCDate(0);
  return target.toISOString().slice(0, 10);
}

/** The months the CQL gives for an approval, or null when it gives none (the plan unknown). */
function monthsOf(e: Evaluation): number | null {
  const months = e.approvalMonths as number | null | undefined;
  return typeof months === 'number' && Number.isInteger(months) && months > 0 ? months : null;
}

/**
 * The CQL's reasons to pend. Until the CQL names them itself ("Pend Reasons", issue 11), every
 * criterion not met or unknown is one, in the CQL's own words.
 */
function reasonsOf(e: Evaluation): PendReason[] {
  const named = (e as Evaluation & { pendReasons?: PendReason[] }).pendReasons;
  if (Array.isArray(named)) return named;
  return e.criteria
    .filter((c) => c.status !== 'met')
    .map((c) => ({ kind: c.status === 'not-met' ? 'not-met' as const : 'missing' as const, criterion: c.code, text: c.reason }));
}

/** The automated decision on an evaluation made at `date` (YYYY-MM-DD or a date-time). */
export function decide(e: Evaluation, date: string): AutomatedDecision {
  const day = date.slice(0, 10);
  const months = monthsOf(e);
  const base = { approvalMonths: months, indication: e.indication, requestType: e.requestType, criteria: e.criteria, evaluationDate: day };
  if (e.decision === 'approved') {
    if (months !== null) {
      return { ...base, outcome: 'approved', approvalPeriod: { start: day, end: addMonths(day, months) }, approvalReason: e.approvalReason, reasons: [] };
    }
    // An approval needs a period; without one a reviewer decides.
    return { ...base, outcome: 'pended', approvalPeriod: null, approvalReason: '', reasons: [{ kind: 'review', criterion: null, text: e.approvalReason || 'The approval period could not be determined.' }] };
  }
  const reasons = reasonsOf(e);
  return {
    ...base,
    outcome: 'pended',
    approvalPeriod: null,
    approvalReason: '',
    reasons: reasons.length ? reasons : [{ kind: 'review', criterion: null, text: 'The criteria did not all come out met.' }],
  };
}
