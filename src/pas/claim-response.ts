/**
 * The PAS wire builder: ClaimResponses and the response Bundles of $submit and $inquire, in Da Vinci
 * PAS STU 2.0.1 shapes. The only module that knows the PAS version: `version: '2.2'` adds what 2.2
 * defines (ClaimResponseReviewer: whether a human reviewed the request, the reviewer's NPI and
 * specialty), from the same stored decision.
 *
 * Each ClaimResponse item echoes the Claim item's requested service (the order, as the Claim referenced it).
 *
 * The review action (X12 306) per state:
 * - approved: A1 "Certified in total", the authorization number (reviewAction.number and
 *   ClaimResponse.preAuthRef), the period (preAuthPeriod, item preAuthPeriod) and the issue date;
 * - pended (waiting for a reviewer, or for more information): A4 "Pended", outcome `queued`,
 *   the request's review number, and one processNote per reason (criterion not met or unknown),
 *   with what happens next and when the decision is due;
 * - denied (only ever by a reviewer): A3 "Not Certified", the reviewer's reason code
 *   (item.adjudication.reason) and the words of the letter.
 */
import type { Bundle, BundleEntry, Claim, ClaimResponse, ClaimResponseItem, Coding, Extension, FhirResource } from 'fhir/r4';
import { DENIAL_REASON_CODE_SYSTEM, HL7_SYSTEMS, PAS } from '../constants';
import { instantWords } from '../core/clock';
import { criterionTitle } from '../core/criteria';
import type { PendReason, Period } from '../core/decision';
import type { ClaimIdentifier, Priority, ReviewerOfRecord } from './types';

export type PasVersion = '2.0.1' | '2.2';

export type ResponseState =
  | { kind: 'approved'; authNumber: string; period: Period; issued: string; reviewer: ReviewerOfRecord | null; note: string | null }
  | { kind: 'pended'; reasons: PendReason[]; dueAt: string; priority: Priority; infoRequested: { text: string; reviewer: ReviewerOfRecord } | null }
  | { kind: 'denied'; reason: Coding; letter: string; reviewer: ReviewerOfRecord };

/** What of the request a ClaimResponse echoes (as the Claim wrote its references). */
export interface ClaimEcho {
  claim: Claim;
  claimFullUrl: string | undefined;
  claimIdentifier: ClaimIdentifier;
}

export interface ClaimResponseInput extends ClaimEcho {
  /** The ClaimResponse id: the request's id at the plan (also its review number). */
  id: string;
  /** When this response was made (ISO date-time). */
  created: string;
  state: ResponseState;
  version?: PasVersion;
  /** ClaimResponse (submit) or ClaimInquiryResponse ($inquire). */
  profile?: 'submit' | 'inquiry';
}

const REVIEW_ACTION: Record<ResponseState['kind'], Coding> = {
  approved: { system: PAS.x12ReviewAction, code: 'A1', display: 'Certified in total' },
  pended: { system: PAS.x12ReviewAction, code: 'A4', display: 'Pended' },
  denied: { system: PAS.x12ReviewAction, code: 'A3', display: 'Not Certified' },
};

const REASON_WORDS: Record<PendReason['kind'], string> = {
  'not-met': 'not met',
  missing: 'information missing',
  'off-label': 'referred to the Off-Label policy review',
  'plan-unknown': 'plan unknown',
  review: 'for the reviewer',
};

/** The review clock in words. */
export function clockWords(priority: Priority): string {
  return priority === 'expedited' ? 'expedited: 72 hours' : 'standard: 7 calendar days';
}

function reviewerName(r: ReviewerOfRecord): string {
  return r.name;
}

/** The PAS 2.2 ClaimResponseReviewer extension (not sent in 2.0.1). */
function reviewerExtension(reviewer: ReviewerOfRecord | null): Extension {
  return {
    url: PAS.claimResponseReviewer,
    extension: [
      { url: 'wasHumanReviewedFlag', valueBoolean: reviewer !== null },
      ...(reviewer?.npi ? [{ url: 'reviewerNPI', valueIdentifier: { system: HL7_SYSTEMS.npi, value: reviewer.npi } }] : []),
      ...(reviewer?.specialty ? [{ url: 'reviewerSpecialty', valueCodeableConcept: { coding: [reviewer.specialty] } }] : []),
    ],
  };
}

function notes(texts: string[]): { processNote: NonNullable<ClaimResponse['processNote']>; numbers: number[] } {
  return { processNote: texts.map((text, i) => ({ number: i + 1, type: 'display' as const, text })), numbers: texts.map((_, i) => i + 1) };
}

/** The words of one reason to pend. */
export function reasonText(r: PendReason): string {
  const what = r.criterion ? `${criterionTitle(r.criterion)} (${r.criterion})` : 'The request';
  return `${what}, ${REASON_WORDS[r.kind] ?? r.kind}: ${r.text}`;
}

export function buildClaimResponse(input: ClaimResponseInput): ClaimResponse {
  const { claim, state } = input;
  const version = input.version ?? '2.0.1';
  const claimRef = input.claimFullUrl ?? (claim.id ? `Claim/${claim.id}` : undefined);
  const item: ClaimResponseItem = { itemSequence: claim.item?.[0]?.sequence ?? 1, adjudication: [] };
  const itemExtensions: Extension[] = [];
  // The item's trace numbers and the requested service, as the Claim wrote them (PAS allows both on ClaimResponse.item):
  // a client that inquires by patient and provider tells its requests apart by the order each one is for.
  const echoed = (claim.item?.[0]?.extension ?? []).filter((e) => e.url === PAS.itemTraceNumber || e.url === PAS.requestedService);
  itemExtensions.push(...echoed);
  const reviewAction: Extension[] = [{ url: PAS.reviewActionCode, valueCodeableConcept: { coding: [REVIEW_ACTION[state.kind]] } }];
  let texts: string[] = [];
  let disposition: string;
  const response: Partial<ClaimResponse> = {};

  if (state.kind === 'approved') {
    reviewAction.push({ url: 'number', valueString: state.authNumber });
    itemExtensions.push({ url: PAS.itemPreAuthIssueDate, valueDate: state.issued }, { url: PAS.itemPreAuthPeriod, valuePeriod: state.period });
    response.preAuthRef = state.authNumber;
    response.preAuthPeriod = state.period;
    disposition = `Certified in total: Kineret (anakinra) is authorized from ${state.period.start} to ${state.period.end} under authorization ${state.authNumber}.`;
    texts = [
      state.reviewer ? `Approved by the plan's clinical reviewer ${reviewerName(state.reviewer)}.` : 'Approved: every criterion of the Kineret coverage guideline is met.',
      ...(state.note ? [state.note] : []),
    ];
  } else if (state.kind === 'pended') {
    reviewAction.push({ url: 'number', valueString: input.id });
    disposition = `Pended for review by the plan's clinical reviewer; a decision is due by ${instantWords(state.dueAt)} (${clockWords(state.priority)}). No request is denied automatically.`;
    texts = [
      ...(state.infoRequested ? [`More information requested by the plan's clinical reviewer ${reviewerName(state.infoRequested.reviewer)}: ${state.infoRequested.text} Send it in an updated request (Claim/$submit naming this one in Claim.related).`] : []),
      ...state.reasons.map(reasonText),
    ];
  } else {
    reviewAction.push({ url: 'number', valueString: input.id });
    itemExtensions.push({ url: PAS.administrationReferenceNumber, valueString: input.id });
    disposition = `Not certified by the plan's clinical reviewer ${reviewerName(state.reviewer)}: ${state.reason.display ?? state.reason.code}.`;
    texts = [state.letter];
  }
  const n = notes(texts);
  if (texts.length) item.noteNumber = n.numbers;
  item.adjudication = [{
    extension: [{ url: PAS.reviewAction, extension: reviewAction }],
    category: { coding: [{ system: HL7_SYSTEMS.adjudication, code: 'submitted' }] },
    ...(state.kind === 'denied' ? { reason: { coding: [state.reason] } } : {}),
  }];
  if (itemExtensions.length) item.extension = itemExtensions;
  const reviewer = state.kind === 'approved' ? state.reviewer : state.kind === 'denied' ? state.reviewer : null;

  return {
    resourceType: 'ClaimResponse',
    id: input.id,
    meta: { profile: [input.profile === 'inquiry' ? PAS.claimInquiryResponseProfile : PAS.claimResponseProfile] },
    ...(version === '2.2' ? { extension: [reviewerExtension(reviewer)] } : {}),
    identifier: [{ ...(input.claimIdentifier.system ? { system: input.claimIdentifier.system } : {}), value: input.claimIdentifier.value }],
    status: 'active',
    type: claim.type ?? { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy' }] },
    use: 'preauthorization',
    patient: claim.patient,
    created: input.created,
    ...(claim.insurer ? { insurer: claim.insurer } : {}),
    ...(claim.provider ? { requestor: claim.provider } : {}),
    ...(claimRef ? { request: { reference: claimRef, identifier: { ...(input.claimIdentifier.system ? { system: input.claimIdentifier.system } : {}), value: input.claimIdentifier.value } } } : {}),
    outcome: state.kind === 'pended' ? 'queued' : 'complete',
    disposition,
    ...response,
    ...(claim.insurance?.length ? { insurance: claim.insurance.map((x) => ({ sequence: x.sequence, focal: x.focal, coverage: x.coverage })) } : {}),
    item: [item],
    ...(texts.length ? { processNote: n.processNote } : {}),
  } as ClaimResponse;
}

/**
 * The response Bundle: the ClaimResponse first, then the resources it references, with the same
 * fullUrls as in the request (PAS: echoed resources keep their fullUrl and id).
 */
export function responseBundle(args: {
  claimResponses: ClaimResponse[];
  /** The request Bundles the responses answer (their Patient, insurer, provider and Coverage are echoed). */
  requests: Bundle[];
  fhirBase: string;
  timestamp: string;
  kind: 'submit' | 'inquiry';
  identifier?: Bundle['identifier'];
}): Bundle {
  const echoed: BundleEntry[] = [];
  const seen = new Set<string>();
  const echo = (bundle: Bundle, ref: string | undefined) => {
    if (!ref) return;
    const entry = (bundle.entry ?? []).find((e) => e.fullUrl === ref || (e.resource?.id && `${e.resource.resourceType}/${e.resource.id}` === ref.split('/').slice(-2).join('/')));
    if (!entry?.resource) return;
    const key = entry.fullUrl ?? `${entry.resource.resourceType}/${entry.resource.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    echoed.push({ fullUrl: entry.fullUrl ?? `${args.fhirBase}/${entry.resource.resourceType}/${entry.resource.id}`, resource: entry.resource as FhirResource });
  };
  args.claimResponses.forEach((cr, i) => {
    const bundle = args.requests[i];
    echo(bundle, cr.patient?.reference);
    echo(bundle, cr.insurer?.reference);
    echo(bundle, cr.requestor?.reference);
    for (const x of cr.insurance ?? []) echo(bundle, x.coverage?.reference);
  });
  return {
    resourceType: 'Bundle',
    meta: { profile: [args.kind === 'submit' ? PAS.responseBundleProfile : PAS.inquiryResponseBundleProfile] },
    ...(args.identifier ? { identifier: args.identifier } : {}),
    type: 'collection',
    timestamp: args.timestamp,
    entry: [
      ...args.claimResponses.map((resource) => ({ fullUrl: `${args.fhirBase}/ClaimResponse/${resource.id}`, resource })),
      ...echoed,
    ],
  };
}
