/** Types shared by the evaluation core and its callers (CRD, DTR, CLI). */

export type CriterionStatus = 'met' | 'not-met' | 'unknown';
export type CriterionSource = 'record' | 'clinician' | 'both' | 'none';
/** The automated result: approved when every applicable criterion is met and the plan is known, else pended
 * for a clinical reviewer with reasons. Only a human reviewer denies; the CQL never does. */
export type Decision = 'approved' | 'pended';
/** Why a request is pended (KineretPA "Pend Reasons"). */
export type PendReasonKind = 'plan-unknown' | 'off-label' | 'not-met' | 'missing' | 'review';
export type RequestType = 'initial' | 'continuation';
/** Indication codes of the kineret-pa-indication CodeSystem; 'JIA' is JIA of unstated subtype. */
export type Indication = 'RA' | 'CAPS' | 'SJIA' | 'PJIA' | 'DIRA' | 'MISC' | 'JIA' | 'OTHER';

export interface CriterionResult {
  /** Code in the kineret-pa-criteria CodeSystem, e.g. 'ALL-2'. */
  code: string;
  status: CriterionStatus;
  source: CriterionSource;
  /** Relative references ('Condition/123') to the resources that decided the criterion. */
  evidence: string[];
  reason: string;
}

export interface PendReason {
  kind: PendReasonKind;
  /** The criterion code the reason is about, when it is about one. */
  criterion: string | null;
  text: string;
}

/** One answered questionnaire item, flattened by linkId (nested groups included). */
export interface Answer {
  linkId: string;
  valueBoolean?: boolean | null;
  valueString?: string | null;
  valueCode?: string | null;
  valueCodes?: string[] | null;
  valueDecimal?: number | null;
  hasAttachment?: boolean | null;
  /** information-origin source: 'auto' (from the record), 'override' or 'manual'. */
  origin?: 'auto' | 'override' | 'manual' | null;
}

/** An approved authorization the plan holds for the member (CQL parameter "Authorizations On File"). */
export interface AuthorizationOnFile {
  number: string;
  indication: string;
  /** YYYY-MM-DD */
  start: string;
  /** YYYY-MM-DD, inclusive */
  end: string;
  /** YYYY-MM-DD: when it was issued. */
  issued: string;
}

/** The authorization that covers a request (CQL "Authorization On File"): a current one, or the Texas one-a-year rule. */
export interface CoveringAuthorization {
  number: string;
  /** YYYY-MM-DD: the last day it covers. */
  through: string;
  basis: 'current' | 'texas-annual';
}

export interface Evaluation {
  patientId: string;
  evaluationDate: string;
  indication: string | null;
  recordIndication: string | null;
  requestType: RequestType;
  recordRequestType: RequestType;
  decision: Decision;
  /** Empty when approved. */
  pendReasons: PendReason[];
  criteria: CriterionResult[];
  /** Null when the plan is unknown (no active Coverage): no approval length is made up. */
  approvalMonths: number | null;
  approvalReason: string;
  texasRuleApplies: boolean;
  texasMarketplace: boolean;
  orderReference: string | null;
  coverageReference: string | null;
  /** An authorization on file that covers this request, so that no new one is needed. */
  authorizationOnFile: CoveringAuthorization | null;
  /** Values for questionnaire initialExpressions: the definitions of KineretPrefill, by name. */
  prefill: Record<string, unknown>;
}

export interface EvaluateOptions {
  /** Clinician answers (from a QuestionnaireResponse). */
  answers?: Answer[];
  /** Id of the MedicationRequest to authorize; defaults to the latest draft or active Kineret order. */
  orderId?: string;
  /** Evaluation date (ISO date or date-time): from the request, or today by the services' Clock (src/core/clock.ts). */
  evaluationDate: string;
  /** Whether Kineret is non-formulary/non-preferred on the member's plan. */
  nonPreferred?: boolean;
  /** The member's approved authorizations the plan holds (the CQL decides which, if any, covers the request). */
  authorizationsOnFile?: AuthorizationOnFile[];
  /** Record the time spent in each CQL definition and function (slower; for content authors). */
  timing?: boolean;
}

/**
 * Which FHIR data source feeds cql-execution:
 * - `fast`: src/core/fast-source.ts (the default);
 * - `stock`: cql-exec-fhir's PatientSource, its model info parsed once per engine (the reference);
 * - `stock-per-request`: cql-exec-fhir's PatientSource built for every evaluation, as public examples do
 *   (a benchmark baseline only: it parses the model info each time).
 */
export type DataSourceKind = 'fast' | 'stock' | 'stock-per-request';

export interface EngineOptions {
  /** Defaults to 'fast'. */
  source?: DataSourceKind;
}

/** Time spent in one CQL definition or function during one evaluation. */
export interface DefinitionTiming {
  /** 'Library.Definition', or 'Library.Function(ArgType, ...)' for functions. */
  name: string;
  kind: 'definition' | 'function';
  calls: number;
  /** Wall time from entry to exit, nested definitions and functions included (ms). */
  totalMs: number;
  /** totalMs less the time spent in nested definitions and functions (ms). */
  selfMs: number;
}

/** Every definition of the evaluated libraries for one patient, as cql-execution returns them. */
export interface RawEvaluation {
  patientId: string;
  /** Library name -> definition name -> value. */
  results: Record<string, Record<string, unknown>>;
  evaluationDate: string;
  /** Present when EvaluateOptions.timing was set; slowest self time first. */
  timings?: DefinitionTiming[];
}
