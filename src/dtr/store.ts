/** Storage for DTR submissions and logged questionnaire errors; the audit store implements it durably. */
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';

export interface DtrStore {
  saveResponse(response: QuestionnaireResponse, determination: Parameters): Promise<string>;
  getResponse(id: string): Promise<{ response: QuestionnaireResponse; determination: Parameters } | undefined>;
  logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[]): Promise<void>;
}
