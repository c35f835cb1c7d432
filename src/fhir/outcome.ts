/**
 * The one OperationOutcome builder: every FHIR error, warning and informational answer of the
 * service (the /fhir endpoint, the CDS Hooks error bodies, population problems, the sandbox FHIR
 * server) is made here, with one mapping from HTTP status to issue code. Browser-safe (no Node
 * APIs): the DTR app's population uses it too.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueCode = OperationOutcomeIssue['code'];
export type IssueSeverity = OperationOutcomeIssue['severity'];

export interface IssueInput {
  /** Defaults to 'error'. */
  severity?: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath of the element at fault (e.g. `MedicationRequest.category`, `QuestionnaireResponse.item.where(linkId='x')`). */
  expression?: string | string[];
}

export function issue(input: IssueInput): OperationOutcomeIssue {
  const expression = input.expression === undefined ? [] : Array.isArray(input.expression) ? input.expression : [input.expression];
  return {
    severity: input.severity ?? 'error',
    code: input.code,
    diagnostics: input.diagnostics,
    ...(expression.length ? { expression } : {}),
  };
}

/** An OperationOutcome of one or more issues. */
export function operationOutcome(issues: IssueInput | IssueInput[]): OperationOutcome {
  const list = Array.isArray(issues) ? issues : [issues];
  return { resourceType: 'OperationOutcome', issue: list.map(issue) };
}

/** The issue code that goes with an HTTP status when the caller names none. */
export function issueCodeForStatus(status: number): IssueCode {
  switch (status) {
    case 400: return 'invalid';
    case 401: return 'login';
    case 403: return 'forbidden';
    case 404: return 'not-found';
    case 409: return 'conflict';
    case 412: return 'incomplete';
    case 413: return 'too-costly';
    case 415: return 'not-supported';
    case 422: return 'processing';
    case 429: return 'throttled';
    case 503: return 'transient';
    case 504: return 'timeout';
    default: return status >= 500 ? 'exception' : status < 300 ? 'informational' : 'invalid';
  }
}

/** A single-issue OperationOutcome for an HTTP status: severity from the status, code from the status unless given. */
export function statusOutcome(status: number, diagnostics: string, options: { code?: IssueCode; expression?: string | string[] } = {}): OperationOutcome {
  return operationOutcome({
    severity: status < 300 ? 'information' : 'error',
    code: options.code ?? issueCodeForStatus(status),
    diagnostics,
    expression: options.expression,
  });
}

/** The issues of an outcome that are errors (or fatal). */
export function errorsOf(outcome: OperationOutcome): OperationOutcomeIssue[] {
  return (outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

/**
 * An expected refusal of a client's input, carried to the HTTP edge: the status and the
 * OperationOutcome to answer with. Thrown by request readers and validators; never by bugs.
 */
export class OutcomeError extends Error {
  override readonly name = 'OutcomeError';
  constructor(readonly status: number, readonly outcome: OperationOutcome) {
    super((outcome.issue ?? []).map((i) => i.diagnostics ?? i.code).join('; '));
  }

  static of(status: number, diagnostics: string, options: { code?: IssueCode; expression?: string | string[] } = {}): OutcomeError {
    return new OutcomeError(status, statusOutcome(status, diagnostics, options));
  }
}

/** The FHIRPath of a Questionnaire or QuestionnaireResponse item by linkId, for an issue's expression. */
export function itemExpression(resourceType: 'Questionnaire' | 'QuestionnaireResponse', linkId: string): string {
  return `${resourceType}.repeat(item).where(linkId='${linkId.replace(/'/g, "\\'")}')`;
}
