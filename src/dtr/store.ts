/** Storage for DTR submissions and logged questionnaire errors; the audit store implements it durably. */
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';

export interface DtrStore {
  /** `determination`: the Parameters of the evaluation against the record submitted with it, or an OperationOutcome saying why there is none. */
  saveResponse(response: QuestionnaireResponse, determination: Parameters | OperationOutcome): Promise<string>;
  getResponse(id: string): Promise<{ response: QuestionnaireResponse; determination: Parameters | OperationOutcome } | undefined>;
  logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[]): Promise<void>;
}
