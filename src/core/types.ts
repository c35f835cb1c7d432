/** Types shared by the evaluation core and its callers (CRD, DTR, CLI). */

export type CriterionStatus = 'met' | 'not-met' | 'unknown';
export type CriterionSource = 'record' | 'clinician' | 'both' | 'none';
export type Decision = 'approved' | 'denied' | 'pended';
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

export interface Evaluation {
  patientId: string;
  evaluationDate: string;
  indication: string | null;
  recordIndication: string | null;
  requestType: RequestType;
  recordRequestType: RequestType;
  decision: Decision;
  criteria: CriterionResult[];
  approvalMonths: number;
  approvalReason: string;
  texasRuleApplies: boolean;
  texasMarketplace: boolean;
  orderReference: string | null;
  coverageReference: string | null;
  /** Values for questionnaire initialExpressions, keyed by CQL definition name. */
  prefill: Record<string, unknown>;
}

export interface EvaluateOptions {
  /** Clinician answers (from a QuestionnaireResponse). */
  answers?: Answer[];
  /** Id of the MedicationRequest to authorize; defaults to the latest draft or active Kineret order. */
  orderId?: string;
  /** Evaluation date (ISO date or date-time); defaults to now. */
  evaluationDate?: string;
  /** Whether Kineret is non-formulary/non-preferred on the member's plan. */
  nonPreferred?: boolean;
}
