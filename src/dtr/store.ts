/** Storage for DTR submissions and logged questionnaire errors. In memory here; the audit issue adds a durable store. */
import { randomUUID } from 'node:crypto';
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';

export interface DtrStore {
  saveResponse(response: QuestionnaireResponse, determination: Parameters): Promise<string>;
  getResponse(id: string): Promise<{ response: QuestionnaireResponse; determination: Parameters } | undefined>;
  logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[]): Promise<void>;
}

export class MemoryDtrStore implements DtrStore {
  private readonly responses = new Map<string, { response: QuestionnaireResponse; determination: Parameters }>();
  readonly errorLog: { at: string; questionnaires: string[]; outcomes: OperationOutcome[] }[] = [];

  async saveResponse(response: QuestionnaireResponse, determination: Parameters): Promise<string> {
    const id = randomUUID();
    this.responses.set(id, { response: { ...response, id, meta: { ...response.meta, versionId: '1', lastUpdated: new Date().toISOString() } }, determination });
    return id;
  }
  async getResponse(id: string) {
    return this.responses.get(id);
  }
  async logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[]): Promise<void> {
    this.errorLog.push({ at: new Date().toISOString(), questionnaires, outcomes });
  }
}
