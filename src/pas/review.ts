/**
 * What a clinical reviewer can decide on a pended request, and the review clocks. Pure: the HTTP
 * routes (src/http/review.ts) authenticate the reviewer and store what these functions return.
 *
 * - approve, with a period (defaulting to what the policy gives: 6 months initial, 12 continuation
 *   or under the Texas rule): A1 with a new authorization number;
 * - deny, with a reason from the plan's code list and the words for the letter: A3. Only here, only
 *   by a person: no code path of the rules reaches it;
 * - request more information, with what is needed: still A4 (pended), the request stays in the queue.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CodeSystem, Coding } from 'fhir/r4';
import { DENIAL_REASON_CODE_SYSTEM } from '../constants';
import { addMonths, type Period } from '../core/decision';
import { buildClaimResponse, type ClaimEcho } from './claim-response';
import type { RequestUpdate } from './store';
import type { DecisionRecord, PaRequest, Priority, ReviewerOfRecord } from './types';

/** CMS-0057-F review clocks. */
export const REVIEW_HOURS: Record<Priority, number> = { expedited: 72, standard: 7 * 24 };

export function dueAt(receivedAt: string, priority: Priority): string {
  return new Date(Date.parse(receivedAt) + REVIEW_HOURS[priority] * 3_600_000).toISOString();
}

/** An authorization number: KPA- and 10 characters of Crockford base32 (50 bits; unique index in the store). */
export function authorizationNumber(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const bytes = randomBytes(10);
  return `KPA-${[...bytes].map((b) => alphabet[b % 32]).join('')}`;
}

/** The plan's reasons to deny, each tied to the policy section it applies; the letter explains in the reviewer's words. */
export const DENIAL_REASONS: CodeSystem = {
  resourceType: 'CodeSystem',
  id: 'kineret-pa-denial-reason',
  url: DENIAL_REASON_CODE_SYSTEM,
  version: '1.0.0',
  name: 'KineretPaDenialReason',
  title: 'Kineret prior authorization: reasons for an adverse determination',
  status: 'active',
  content: 'complete',
  description: 'Reasons a clinical reviewer of the plan gives for not certifying a Kineret (anakinra) prior authorization request. Only a reviewer uses them: no request is denied automatically.',
  concept: [
    { code: 'criteria-not-met', display: 'The coverage criteria for the indication are not met', definition: 'Sections A-D or Continuation of therapy of the Kineret coverage guideline.' },
    { code: 'infection-risk', display: 'Active or latent untreated infection', definition: 'For all indications 1; contraindications (do not initiate with active infection).' },
    { code: 'concurrent-biologic', display: 'Combination with a TNF inhibitor, biologic DMARD, JAK or PDE4 inhibitor', definition: 'For all indications 2.' },
    { code: 'contraindication', display: 'Hypersensitivity to anakinra, its components or E. coli-derived proteins', definition: 'Contraindications/exclusions.' },
    { code: 'off-label', display: 'Use outside the covered and compendial indications', definition: 'All other uses follow the Off-Label policy.' },
    { code: 'age', display: 'Outside the age limits for the indication', definition: 'Age restrictions.' },
    { code: 'prescriber', display: 'Not prescribed by or in consultation with a required specialist', definition: 'Prescriber requirements.' },
    { code: 'dose-quantity', display: 'Dose, quantity or route outside the policy limits', definition: 'Quantity; route of administration.' },
    { code: 'non-formulary', display: 'Preferred formulary alternatives not tried', definition: 'For all indications 3.' },
    { code: 'documentation', display: 'The documentation does not support the request', definition: 'Documentation requirements; [DOCUMENTATION REQUIRED] items.' },
  ],
};

export function denialReason(code: string): Coding | undefined {
  const c = DENIAL_REASONS.concept!.find((x) => x.code === code);
  return c ? { system: DENIAL_REASON_CODE_SYSTEM, code: c.code, display: c.display } : undefined;
}

export type ReviewerAction =
  | { action: 'approve'; period: Period; note?: string }
  | { action: 'deny'; reasonCode: string; letter: string }
  | { action: 'request-info'; text: string };

/** A refusal of a reviewer's input, with the field at fault. */
export class ReviewInputError extends Error {
  override readonly name = 'ReviewInputError';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Reads a reviewer's decision from the workbench's JSON body; ReviewInputError names the field at fault. */
export function readReviewerAction(body: unknown): ReviewerAction {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string).trim() : '');
  switch (b.action) {
    case 'approve': {
      const start = str('start');
      const end = str('end');
      if (!DATE.test(start) || Number.isNaN(Date.parse(start))) throw new ReviewInputError('start', 'the period starts on a date (YYYY-MM-DD)');
      if (!DATE.test(end) || Number.isNaN(Date.parse(end))) throw new ReviewInputError('end', 'the period ends on a date (YYYY-MM-DD)');
      if (end < start) throw new ReviewInputError('end', 'the period ends on or after its start');
      if (end > addMonths(start, 12)) throw new ReviewInputError('end', 'an authorization lasts at most 12 months (the policy\'s longest period)');
      return { action: 'approve', period: { start, end }, ...(str('note') ? { note: str('note') } : {}) };
    }
    case 'deny': {
      const reasonCode = str('reasonCode');
      if (!denialReason(reasonCode)) throw new ReviewInputError('reasonCode', `the reason is one of the plan's codes (${DENIAL_REASONS.concept!.map((c) => c.code).join(', ')})`);
      const letter = str('letter');
      if (letter.length < 20) throw new ReviewInputError('letter', 'the letter says, in at least 20 characters, why the request is not certified and what the prescriber can do');
      return { action: 'deny', reasonCode, letter };
    }
    case 'request-info': {
      const text = str('text');
      if (text.length < 10) throw new ReviewInputError('text', 'say what information is needed (at least 10 characters)');
      return { action: 'request-info', text };
    }
    default:
      throw new ReviewInputError('action', 'action is approve, deny or request-info');
  }
}

/** The request as the ClaimResponse echoes it. */
export function echoOf(request: PaRequest): ClaimEcho {
  const entries = request.submission.entry ?? [];
  const claimEntry = entries.find((e) => e.resource?.resourceType === 'Claim')!;
  return { claim: claimEntry.resource as ClaimEcho['claim'], claimFullUrl: claimEntry.fullUrl, claimIdentifier: request.claimIdentifier };
}

/** A reviewer's decision on an open request: the request's new state and the record for the audit store. */
export function applyReviewerAction(request: PaRequest, input: ReviewerAction, reviewer: ReviewerOfRecord, now: string): { update: RequestUpdate; decision: DecisionRecord } {
  const base = {
    id: randomUUID(), requestId: request.id, actorKind: 'reviewer' as const, actor: reviewer.id, humanReviewed: true, reviewer, at: now,
  };
  const echo = echoOf(request);
  if (input.action === 'approve') {
    const authNumber = authorizationNumber();
    const claimResponse = buildClaimResponse({
      ...echo, id: request.id, created: now,
      state: { kind: 'approved', authNumber, period: input.period, issued: now.slice(0, 10), reviewer, note: input.note ?? null },
    });
    return {
      update: { status: 'approved', claimResponse, decidedAt: now, authNumber, period: input.period },
      decision: { ...base, action: 'approve', reasonCode: null, reasonText: input.note ?? null, letterText: null, period: input.period, authNumber, detail: null },
    };
  }
  if (input.action === 'deny') {
    const reason = denialReason(input.reasonCode)!;
    const claimResponse = buildClaimResponse({ ...echo, id: request.id, created: now, state: { kind: 'denied', reason, letter: input.letter, reviewer } });
    return {
      update: { status: 'denied', claimResponse, decidedAt: now, authNumber: null, period: null },
      decision: { ...base, action: 'deny', reasonCode: reason.code!, reasonText: reason.display ?? null, letterText: input.letter, period: null, authNumber: null, detail: null },
    };
  }
  const claimResponse = buildClaimResponse({
    ...echo, id: request.id, created: now,
    state: { kind: 'pended', reasons: request.assessment.reasons, dueAt: request.dueAt, priority: request.priority, infoRequested: { text: input.text, reviewer } },
  });
  return {
    update: { status: 'info-requested', claimResponse, decidedAt: null, authNumber: null, period: null },
    decision: { ...base, action: 'request-info', reasonCode: null, reasonText: input.text, letterText: null, period: null, authNumber: null, detail: null },
  };
}
