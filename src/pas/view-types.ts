/**
 * The shapes of the reviewer workbench's API (src/http/review.ts), shared with its page (web/review).
 * Types only, browser-safe.
 */
import type { FhirResource } from 'fhir/r4';
import type { Period } from '../core/decision';
import type { PaStatus, Priority } from './types';

export interface QueueLine {
  id: string;
  status: PaStatus;
  priority: Priority;
  receivedAt: string;
  dueAt: string;
  /** Milliseconds until the decision is due (negative: overdue). */
  msLeft: number;
  patient: string;
  indication: string;
  requestType: string;
  reasons: string[];
  claimIdentifier: string;
  client: string;
  decidedAt: string | null;
  authNumber: string | null;
}

export interface AnswerView {
  linkId: string;
  question: string;
  answers: string[];
  origin: 'auto' | 'override' | 'manual' | null;
  attachments: { index: number; title: string; contentType: string; size: number | null }[];
}

export interface CaseView extends QueueLine {
  patientRef: string;
  order: { reference: string | null; text: string; dosage: string[] };
  coverage: string;
  provider: { reference: string | null; npi: string | null };
  assessment: {
    outcome: string;
    indication: string;
    requestType: string;
    approvalMonths: number | null;
    approvalReason: string;
    reasons: string[];
    criteria: { code: string; title: string; definition: string; status: string; source: string; reason: string; evidence: string[] }[];
  };
  /** The record entries the criteria cite, by reference: the page summarizes them. */
  evidence: Record<string, FhirResource>;
  answers: AnswerView[];
  decisions: { action: string; actor: string; reviewer: string | null; humanReviewed: boolean; at: string; reasonCode: string | null; reasonText: string | null; letterText: string | null; period: Period | null; authNumber: string | null }[];
  /** What an approval defaults to: from today for the months the policy gives (6 when the plan is unknown). */
  suggestedPeriod: Period;
  denialReasons: { code: string; display: string; definition: string }[];
  claimResponse: unknown;
}

