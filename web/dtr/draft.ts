/**
 * The unsaved draft on this device (localStorage), so that nothing typed is lost when the EHR or
 * the payer fails or the session expires. One draft per patient, order and questionnaire; it is
 * removed once the response is saved to the EHR.
 */
import type { QuestionnaireResponse } from 'fhir/r4';

export interface Draft {
  response: QuestionnaireResponse;
  savedAt: string;
}

export class DraftStore {
  private readonly key: string;

  constructor(parts: { patient: string; order: string; questionnaire: string }, private readonly storage: Storage = window.localStorage) {
    this.key = `kineret-dtr:draft:${parts.patient}:${parts.order}:${parts.questionnaire.split('|')[0]}`;
  }

  load(): Draft | null {
    try {
      const raw = this.storage.getItem(this.key);
      const draft = raw ? (JSON.parse(raw) as Draft) : null;
      return draft?.response?.resourceType === 'QuestionnaireResponse' ? draft : null;
    } catch {
      return null;
    }
  }

  save(response: QuestionnaireResponse): void {
    try {
      this.storage.setItem(this.key, JSON.stringify({ response, savedAt: new Date().toISOString() } satisfies Draft));
    } catch {
      // A full or disabled storage must not stop the clinician; the EHR save still works.
    }
  }

  clear(): void {
    this.storage.removeItem(this.key);
  }
}
