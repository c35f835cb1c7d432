/** QuestionnaireResponses for tests: populated from a scenario's record, then answered the way a form would. */
import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { DTR } from '../../src/constants';
import type { KineretEngine } from '../../src/core/engine';
import type { Answer } from '../../src/core/types';
import { populate } from '../../src/dtr/populate';
import type { ScenarioFile } from '../corpus';
import { splitScenario } from '../hook-requests';

export function items(list: QuestionnaireItem[] | undefined): QuestionnaireItem[] {
  return (list ?? []).flatMap((i) => [i, ...items(i.item)]);
}

export function responseItems(list: QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] {
  return (list ?? []).flatMap((i) => [i, ...responseItems(i.item), ...(i.answer ?? []).flatMap((a) => responseItems(a.item))]);
}

/** The response the server's population gives for a scenario (coverage Coverage/cov, its Kineret order). */
export async function populateScenario(engine: KineretEngine, q: Questionnaire, s: ScenarioFile): Promise<QuestionnaireResponse> {
  const { order, patientId } = splitScenario(s);
  const { response } = await populate({
    questionnaire: q,
    context: { patient: `Patient/${patientId}`, coverage: 'Coverage/cov', order: `MedicationRequest/${order.id}` },
    now: `${s.evaluationDate}T12:00:00.000Z`,
    evaluate: () => engine.evaluateLibraries(s.bundle, { evaluationDate: s.evaluationDate, ...s.options }),
  });
  return response;
}

/**
 * Writes scripted clinician answers into a response, the way a form would. Completed when every
 * required item is answered (a form would not submit it otherwise); else a partial, in-progress one.
 */
export function answer(q: Questionnaire, qr: QuestionnaireResponse, answers: Answer[]): QuestionnaireResponse {
  const out = structuredClone(qr);
  const all = responseItems(out.item);
  for (const a of answers) {
    const docChild = all.find((i) => i.linkId === `${a.linkId}.text`);
    const target = docChild && a.valueString !== undefined ? docChild : a.hasAttachment ? all.find((i) => i.linkId === `${a.linkId}.file`) : all.find((i) => i.linkId === a.linkId);
    if (!target) throw new Error(`no item ${a.linkId} in the response`);
    const originExt = [{ url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: a.origin ?? 'manual' }, { url: 'author', extension: [{ url: 'practitioner', valueReference: { reference: 'Practitioner/dr-rheum' } }] }] }];
    const values =
      a.valueCodes?.map((code) => ({ valueCoding: { code } })) ??
      (a.valueCode !== undefined ? [{ valueCoding: { code: a.valueCode } }]
        : a.valueBoolean !== undefined ? [{ valueBoolean: a.valueBoolean }]
        : a.valueDecimal !== undefined ? [{ valueDecimal: a.valueDecimal }]
        : a.hasAttachment ? [{ valueAttachment: { contentType: 'application/pdf', data: 'JVBERi0=' } }]
        : [{ valueString: a.valueString }]);
    target.answer = values.map((v) => ({ ...v, extension: originExt })) as never;
  }
  const requiredIds = items(q.item).filter((i) => i.required).map((i) => i.linkId);
  const answered = new Set(responseItems(out.item).filter((i) => i.answer?.length).map((i) => i.linkId));
  out.status = requiredIds.every((id) => answered.has(id)) ? 'completed' : 'in-progress';
  return out;
}
