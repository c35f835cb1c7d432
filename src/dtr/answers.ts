/**
 * Flattens a QuestionnaireResponse into the CQL `Answers` parameter: one entry per answered item,
 * nested groups and answer children included, with the answer's information-origin source.
 */
import type { QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from 'fhir/r4';
import type { Answer } from '../core/types';
import { EXT } from './populate';

function originOf(answer: QuestionnaireResponseItemAnswer): Answer['origin'] {
  const ext = (answer.extension ?? []).find((e) => e.url === EXT.informationOrigin);
  const source = ext?.extension?.find((e) => e.url === 'source')?.valueCode;
  if (source === 'auto' || source === 'auto-client' || source === 'auto-server') return 'auto';
  if (source === 'override') return 'override';
  return 'manual';
}

function toAnswer(item: QuestionnaireResponseItem): Answer | null {
  const answers = item.answer ?? [];
  if (answers.length === 0) return null;
  const a: Answer = { linkId: item.linkId };
  const codes = answers.map((x) => x.valueCoding?.code).filter((c): c is string => typeof c === 'string');
  const first = answers[0];
  if (typeof first.valueBoolean === 'boolean') a.valueBoolean = first.valueBoolean;
  if (typeof first.valueString === 'string') a.valueString = first.valueString;
  if (codes.length) {
    a.valueCode = codes[0];
    a.valueCodes = codes;
  }
  const num = first.valueDecimal ?? first.valueInteger ?? first.valueQuantity?.value;
  if (typeof num === 'number' && Number.isFinite(num)) a.valueDecimal = num;
  if (answers.some((x) => x.valueAttachment && (x.valueAttachment.data || x.valueAttachment.url))) a.hasAttachment = true;
  // The strongest origin among the answers: a clinician's edit of any of them counts.
  const origins = answers.map(originOf);
  a.origin = origins.includes('override') ? 'override' : origins.includes('manual') ? 'manual' : 'auto';
  return a;
}

export function flattenAnswers(response: QuestionnaireResponse): Answer[] {
  const out: Answer[] = [];
  const walk = (items: QuestionnaireResponseItem[] | undefined) => {
    for (const item of items ?? []) {
      if (typeof item?.linkId !== 'string') continue;
      const a = toAnswer(item);
      if (a) out.push(a);
      walk(item.item);
      for (const ans of item.answer ?? []) walk(ans.item);
    }
  };
  walk(response.item);
  return out;
}

/** The references the response's qr-context extensions name, by resource type. */
export function responseContext(response: QuestionnaireResponse): { coverage?: string; order?: string } {
  const refs = (response.extension ?? []).filter((e) => e.url === EXT.qrContext).map((e) => e.valueReference?.reference ?? '');
  return {
    coverage: refs.find((r) => /(^|\/)Coverage\//.test(r)),
    order: refs.find((r) => /(^|\/)(MedicationRequest)\//.test(r)),
  };
}
