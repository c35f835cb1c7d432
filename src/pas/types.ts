/** A prior authorization request as the plan keeps it: what was asked, what was decided, by whom. */
import type { Bundle, ClaimResponse, Coding } from 'fhir/r4';
import type { AutomatedDecision, Period } from '../core/decision';

/**
 * Where a request stands. `pended` and `info-requested` wait for a reviewer; `approved` and
 * `denied` are decided; `replaced` was superseded by a later request of the same client
 * (Claim.related), whose decision is the current one.
 */
export type PaStatus = 'pended' | 'info-requested' | 'approved' | 'denied' | 'replaced';
export const OPEN_STATUSES: readonly PaStatus[] = ['pended', 'info-requested'];

/** CMS-0057-F clocks: 72 hours for an expedited (urgent) request, 7 calendar days for a standard one. */
export type Priority = 'expedited' | 'standard';

export interface ClaimIdentifier {
  system: string;
  value: string;
}

/** The reviewer as recorded with a decision (and shown by PAS 2.2's ClaimResponseReviewer). */
export interface ReviewerOfRecord {
  id: string;
  name: string;
  npi: string | null;
  specialty: Coding | null;
}

export type DecisionAction = 'automated-approval' | 'automated-pend' | 'approve' | 'deny' | 'request-info' | 'replaced';

/** One decision on a request, as written to the audit store. */
export interface DecisionRecord {
  id: string;
  requestId: string;
  action: DecisionAction;
  /** 'system' for the rules, 'reviewer' for a person. */
  actorKind: 'system' | 'reviewer';
  /** The rules' name, or the reviewer's id. */
  actor: string;
  humanReviewed: boolean;
  reviewer: ReviewerOfRecord | null;
  reasonCode: string | null;
  reasonText: string | null;
  /** The reviewer's words for the denial letter. */
  letterText: string | null;
  period: Period | null;
  authNumber: string | null;
  at: string;
  /** The automated decision's reasons, or anything else the action needs to be understood later. */
  detail: unknown;
}

/** What the plan keeps of a request. */
export interface PaRequest {
  id: string;
  /** The client that submitted it (src/security/principal.ts ownerOf). */
  owner: string;
  claimIdentifier: ClaimIdentifier;
  contentHash: string;
  patientRef: string;
  orderRef: string | null;
  coverageRef: string | null;
  providerRef: string | null;
  providerNpi: string | null;
  drug: string;
  indication: string | null;
  priority: Priority;
  status: PaStatus;
  receivedAt: string;
  dueAt: string;
  decidedAt: string | null;
  authNumber: string | null;
  period: Period | null;
  replaces: string | null;
  replacedBy: string | null;
  /** The PAS request Bundle as read. */
  submission: Bundle;
  /** The automated decision (criteria, reasons, approval period). */
  assessment: AutomatedDecision;
  /** The current ClaimResponse: what $submit answered, or a reviewer's decision since. */
  claimResponse: ClaimResponse;
  /** Optimistic concurrency: every change of status increments it. */
  version: number;
}

export type { AuthorizationOnFile } from '../core/types';
