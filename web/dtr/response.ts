/**
 * The DTR QuestionnaireResponse the app saves and submits: the form's items inside the envelope
 * the population built (DTR profile, qr-context for coverage and order, intendedUse, the
 * versioned questionnaire canonical, subject), with the clinician as author. Pure functions.
 */
import type { QuestionnaireResponse } from 'fhir/r4';

export function toDtrResponse(form: QuestionnaireResponse, envelope: QuestionnaireResponse, opts: { author: string | null; status: QuestionnaireResponse['status']; now?: string }): QuestionnaireResponse {
  return {
    ...envelope,
    status: opts.status,
    authored: opts.now ?? new Date().toISOString(),
    ...(opts.author ? { author: { reference: opts.author } } : {}),
    item: form.item ?? [],
  };
}

/** Whether a response on the EHR documents this questionnaire (any version) for this order. */
export function documents(response: QuestionnaireResponse, questionnaire: string, order: string): boolean {
  const sameQuestionnaire = (response.questionnaire ?? '').split('|')[0] === questionnaire.split('|')[0];
  const refs = (response.extension ?? []).filter((e) => e.url.endsWith('/qr-context')).map((e) => e.valueReference?.reference);
  return sameQuestionnaire && refs.includes(order);
}

/** The most recently changed of the responses. */
export function latest(responses: QuestionnaireResponse[]): QuestionnaireResponse | null {
  const time = (r: QuestionnaireResponse) => Date.parse(r.meta?.lastUpdated ?? r.authored ?? '') || 0;
  return [...responses].sort((a, b) => time(b) - time(a))[0] ?? null;
}
