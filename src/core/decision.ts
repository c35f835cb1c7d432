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
import type { CriterionResult, Evaluation, PendReason, RequestType } from './types';

export type { PendReason, PendReasonKind } from './types';

/** The outcome a machine may reach. */
export type AutomatedOutcome = 'approved' | 'pended';

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
  return typeof e.approvalMonths === 'number' && Number.isInteger(e.approvalMonths) && e.approvalMonths > 0 ? e.approvalMonths : null;
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
  const reasons = e.pendReasons;
  return {
    ...base,
    outcome: 'pended',
    approvalPeriod: null,
    approvalReason: '',
    reasons: reasons.length ? reasons : [{ kind: 'review', criterion: null, text: 'The criteria did not all come out met.' }],
  };
}
