/**
 * Where each answer came from (DTR information-origin): `auto` when it is what the record gave,
 * `override` when the clinician changed an answer the record gave, `manual` when the clinician
 * answered an item the record did not. override and manual carry the clinician (fhirUser) as
 * author; auto answers carry none (DTR dtrx-1). The author is DTR STU 2's complex extension:
 * `practitioner` (a reference) and `role` (practitioner-role code). Pure functions.
 */
import type { Extension, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from 'fhir/r4';
import { DTR } from '../../src/constants';

export type OriginSource = 'auto' | 'override' | 'manual';

/** The clinician editing the form: a reference to the fhirUser, and a practitioner-role code when known. */
export interface OriginAuthor {
  reference: string;
  role: string | null;
}

const PRACTITIONER_ROLE = 'http://terminology.hl7.org/CodeSystem/practitioner-role';

/** linkId -> the item's answers (linkIds are unique in a Questionnaire, FHIR que-2). */
export function answersByLinkId(response: QuestionnaireResponse | null | undefined): Map<string, QuestionnaireResponseItemAnswer[]> {
  const out = new Map<string, QuestionnaireResponseItemAnswer[]>();
  const walk = (items: QuestionnaireResponseItem[] | undefined) => {
    for (const item of items ?? []) {
      if (item.answer?.length) out.set(item.linkId, item.answer);
      walk(item.item);
      for (const a of item.answer ?? []) walk(a.item);
    }
  };
  walk(response?.item);
  return out;
}

/** An answer's value as a comparable string (extensions and nested items ignored). */
export function valueKey(a: QuestionnaireResponseItemAnswer): string {
  if (a.valueBoolean !== undefined) return `b:${a.valueBoolean}`;
  if (a.valueDecimal !== undefined) return `n:${Number(a.valueDecimal)}`;
  if (a.valueInteger !== undefined) return `n:${Number(a.valueInteger)}`;
  if (a.valueString !== undefined) return `s:${a.valueString.trim()}`;
  if (a.valueCoding) return `c:${a.valueCoding.system ?? ''}|${a.valueCoding.code ?? a.valueCoding.display ?? ''}`;
  if (a.valueDate !== undefined) return `d:${a.valueDate}`;
  if (a.valueDateTime !== undefined) return `dt:${a.valueDateTime}`;
  if (a.valueTime !== undefined) return `t:${a.valueTime}`;
  if (a.valueQuantity) return `q:${a.valueQuantity.value}|${a.valueQuantity.code ?? a.valueQuantity.unit ?? ''}`;
  if (a.valueAttachment) return `a:${a.valueAttachment.title ?? ''}|${a.valueAttachment.size ?? ''}|${(a.valueAttachment.data ?? a.valueAttachment.url ?? '').slice(0, 64)}`;
  if (a.valueReference) return `r:${a.valueReference.reference ?? ''}`;
  if (a.valueUri !== undefined) return `u:${a.valueUri}`;
  return 'none';
}

function sameAnswers(a: QuestionnaireResponseItemAnswer[] | undefined, b: QuestionnaireResponseItemAnswer[] | undefined): boolean {
  const ka = (a ?? []).map(valueKey).sort();
  const kb = (b ?? []).map(valueKey).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

export function originOf(answer: QuestionnaireResponseItemAnswer): OriginSource | null {
  const ext = answer.extension?.find((e) => e.url === DTR.informationOrigin);
  const source = ext?.extension?.find((e) => e.url === 'source')?.valueCode;
  return source === 'auto' || source === 'override' || source === 'manual' ? source : null;
}

export function originExtension(source: OriginSource, author: OriginAuthor | null): Extension {
  const authorExt: Extension | null = source !== 'auto' && author
    ? {
        url: 'author',
        extension: [
          ...(author.role ? [{ url: 'role', valueCodeableConcept: { coding: [{ system: PRACTITIONER_ROLE, code: author.role }] } }] : []),
          { url: 'practitioner', valueReference: { reference: author.reference } },
        ],
      }
    : null;
  return { url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: source }, ...(authorExt ? [authorExt] : [])] };
}

/** The author reference an answer's information-origin names, if any. */
export function authorOf(answer: QuestionnaireResponseItemAnswer): string | null {
  const author = answer.extension?.find((e) => e.url === DTR.informationOrigin)?.extension?.find((e) => e.url === 'author');
  return author?.extension?.find((e) => e.url === 'practitioner')?.valueReference?.reference ?? null;
}

function withOrigin(answer: QuestionnaireResponseItemAnswer, ext: Extension): QuestionnaireResponseItemAnswer {
  return { ...answer, extension: [...(answer.extension ?? []).filter((e) => e.url !== DTR.informationOrigin), ext] };
}

export interface OriginInput {
  /** What the form holds now (answers without origins). */
  current: QuestionnaireResponse;
  /** What was loaded into the form this session (with origins): a fresh population, a resumed response or a draft. */
  loaded: QuestionnaireResponse;
  /** What the record gives (the population result). */
  auto: QuestionnaireResponse;
  /** The clinician editing the form. */
  author: OriginAuthor | null;
}

/**
 * Marks every answer of `current`: unchanged since it was loaded -> its loaded origin; changed
 * (or new) -> auto if it equals the record's answer, override if the record gave another one,
 * manual if the record gave none.
 */
export function markOrigins(input: OriginInput): QuestionnaireResponse {
  const loaded = answersByLinkId(input.loaded);
  const auto = answersByLinkId(input.auto);
  const mark = (items: QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] | undefined =>
    items?.map((item) => {
      const out: QuestionnaireResponseItem = { ...item, ...(item.item ? { item: mark(item.item) } : {}) };
      if (!item.answer?.length) return out;
      const before = loaded.get(item.linkId);
      const kept = before && sameAnswers(before, item.answer) ? before.map(originOf) : null;
      let source: OriginSource;
      if (kept && kept.every((o): o is OriginSource => o !== null)) {
        // Unchanged this session: the strongest origin it had (a clinician's edit of any answer counts).
        source = kept.includes('override') ? 'override' : kept.includes('manual') ? 'manual' : 'auto';
      } else {
        const record = auto.get(item.linkId);
        source = record ? (sameAnswers(record, item.answer) ? 'auto' : 'override') : 'manual';
      }
      const ext = originExtension(source, input.author);
      out.answer = item.answer.map((a) => ({ ...withOrigin(a, ext), ...(a.item ? { item: mark(a.item) } : {}) }));
      return out;
    });
  return { ...input.current, item: mark(input.current.item) };
}

/** linkId -> origin of its answers, for marking the form. */
export function originsByLinkId(response: QuestionnaireResponse): Map<string, OriginSource> {
  const out = new Map<string, OriginSource>();
  for (const [linkId, answers] of answersByLinkId(response)) {
    const origins = answers.map(originOf);
    out.set(linkId, origins.includes('override') ? 'override' : origins.includes('manual') ? 'manual' : origins.every((o) => o === 'auto') ? 'auto' : 'manual');
  }
  return out;
}
