/**
 * The payer's determination in words a clinician can act on. Pure.
 *
 * Only a person at the plan denies: the automated decision is approved, or pended for the plan's
 * clinical reviewer with reasons. A payer answer of any other kind (a `denied` from an older payer)
 * is shown the same way as pended; the word "denied" is never shown.
 * - approved: the approval period and why it is that long;
 * - a criterion not met on the record or the answers: "does not meet the guideline as documented; the
 *   plan's clinical reviewer will decide", each reason with its evidence and what could change it;
 * - information missing: what is missing and how to provide it.
 */
import type { Determination } from './determination';

export type OutcomeKind = 'approved' | 'not-met' | 'missing' | 'review';

export interface OutcomeReason {
  kind: string;
  criterion: string | null;
  title: string;
  /** Why (the CQL's reason). */
  text: string;
  /** References of the record entries that decided it. */
  evidence: string[];
  /** What the guideline asks for it. */
  guideline: string;
  /** What the clinician can do about it. */
  action: string;
}

export interface Outcome {
  kind: OutcomeKind;
  headline: string;
  summary: string;
  /** Approved: the period and why it is that long. */
  period: { start: string; end: string } | null;
  duration: string | null;
  notMet: OutcomeReason[];
  missing: OutcomeReason[];
  other: OutcomeReason[];
}

const ACTION: Record<string, string> = {
  'not-met': 'If the record is out of date or incomplete, correct it in the EHR, or change the answer in the form and attach documentation, then submit again. Otherwise the reviewer decides on what was sent.',
  'off-label': 'Uses outside the covered indications go to the plan\'s Off-Label policy review: attach the clinical rationale and supporting literature.',
  missing: 'Answer the questions for it (or attach the documentation) and submit again; or send it as it is, and the reviewer will ask for what is missing.',
  'plan-unknown': 'Verify the member\'s eligibility with the plan and add the coverage in the EHR; the approval period depends on the plan.',
  review: 'The plan\'s clinical reviewer will look at it.',
};

const HEADLINE: Record<OutcomeKind, string> = {
  approved: 'Approved',
  'not-met': 'Does not meet the guideline as documented: the plan\'s clinical reviewer will decide',
  missing: 'Pended: information is missing',
  review: 'Pended for the plan\'s clinical reviewer',
};

const SUMMARY: Record<Exclude<OutcomeKind, 'approved'>, string> = {
  'not-met': 'The record and the answers do not show every criterion of the coverage guideline as met. Nothing has been denied: the request goes to the plan\'s clinical reviewer, who decides. Each reason below says what could change it.',
  missing: 'Some criteria cannot be decided from what was sent. The request is pended until the plan\'s reviewer has what is missing; nothing has been denied.',
  review: 'The request is pended for the plan\'s clinical reviewer, who decides; nothing has been denied.',
};

export function describeOutcome(d: Determination): Outcome {
  const byCode = new Map(d.criteria.map((c) => [c.code, c] as const));
  const reason = (kind: string, criterion: string | null, text: string): OutcomeReason => {
    const c = criterion ? byCode.get(criterion) : undefined;
    return {
      kind,
      criterion,
      title: c?.title || criterion || (kind === 'plan-unknown' ? 'Member\'s plan' : 'Review'),
      text: text || c?.reason || '',
      evidence: c?.evidence ?? [],
      guideline: c?.description ?? '',
      action: ACTION[kind] ?? ACTION.review,
    };
  };
  if (d.decision === 'approved') {
    const p = d.approvalPeriod;
    const period = p?.start && p.end ? { start: p.start, end: p.end } : null;
    return {
      kind: 'approved', headline: HEADLINE.approved,
      summary: period ? `Kineret (anakinra) is approved from ${period.start} to ${period.end}.` : 'Kineret (anakinra) is approved.',
      period, duration: d.approvalReason, notMet: [], missing: [], other: [],
    };
  }
  // The payer's reasons when it gives them; otherwise read from the criteria (not met, then unknown).
  const reasons = d.pendReasons.length
    ? d.pendReasons.map((r) => reason(r.kind, r.criterion, r.text))
    : [
        ...d.criteria.filter((c) => c.status === 'not-met').map((c) => reason(c.code === 'IND' ? 'off-label' : 'not-met', c.code, c.reason)),
        ...d.criteria.filter((c) => c.status === 'unknown').map((c) => reason('missing', c.code, c.reason)),
      ];
  const notMet = reasons.filter((r) => r.kind === 'not-met' || r.kind === 'off-label');
  const missing = reasons.filter((r) => r.kind === 'missing');
  const other = reasons.filter((r) => !notMet.includes(r) && !missing.includes(r));
  const kind: OutcomeKind = notMet.length ? 'not-met' : missing.length ? 'missing' : 'review';
  return { kind, headline: HEADLINE[kind], summary: SUMMARY[kind], period: null, duration: null, notMet, missing, other };
}
