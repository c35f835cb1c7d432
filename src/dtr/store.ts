/** Storage for DTR submissions and logged questionnaire errors; the audit store implements it durably. */
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';
import type { Reader } from '../security/principal';

export interface DtrStore {
  /**
   * Stores a response and its determination (the Parameters of the evaluation against the record submitted with it, or
   * an OperationOutcome saying why there is none), owned by the client that sent it (src/security/principal.ts ownerOf).
   */
  saveResponse(response: QuestionnaireResponse, determination: Parameters | OperationOutcome, owner: string): Promise<string>;
  /** A stored response, if `reader` may read it (its owner, or an auditor); otherwise undefined, as if unknown. */
  getResponse(id: string, reader: Reader): Promise<{ response: QuestionnaireResponse; determination: Parameters | OperationOutcome } | undefined>;
  logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[], clientId?: string | null): Promise<void>;
}
