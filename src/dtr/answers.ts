/**
 * Flattens a QuestionnaireResponse into the CQL `Answers` parameter: one entry per answered item,
 * nested groups and answer children included, with the answer's information-origin source.
 */
import type {
  Coding, Questionnaire, QuestionnaireItem, QuestionnaireItemEnableWhen, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer,
} from 'fhir/r4';
import { itemExpression, type IssueInput } from '../fhir/outcome';
import { parseReference } from '../fhir/references';
import type { Answer } from '../core/types';
import { DTR } from '../constants';

function originOf(answer: QuestionnaireResponseItemAnswer): Answer['origin'] {
  const ext = (answer.extension ?? []).find((e) => e.url === DTR.informationOrigin);
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
  const refs = (response.extension ?? []).filter((e) => e.url === DTR.qrContext).map((e) => e.valueReference?.reference ?? '');
  return {
    coverage: refs.find((r) => parseReference(r)?.type === 'Coverage'),
    order: refs.find((r) => parseReference(r)?.type === 'MedicationRequest'),
  };
}

/** How a Questionnaire item type is answered (FHIR R4 Questionnaire item types); null: it takes no answers. */
const ANSWER_TYPES: Record<string, string[] | null> = {
  group: null,
  display: null,
  boolean: ['valueBoolean'],
  decimal: ['valueDecimal', 'valueInteger'],
  integer: ['valueInteger'],
  date: ['valueDate'],
  dateTime: ['valueDateTime'],
  time: ['valueTime'],
  string: ['valueString'],
  text: ['valueString'],
  url: ['valueUri'],
  choice: ['valueCoding'],
  'open-choice': ['valueCoding', 'valueString'],
  attachment: ['valueAttachment'],
  reference: ['valueReference'],
  quantity: ['valueQuantity'],
};

interface IndexedItem {
  item: QuestionnaireItem;
  parent: string | null;
}

function indexItems(items: QuestionnaireItem[] | undefined, parent: string | null, out = new Map<string, IndexedItem>()): Map<string, IndexedItem> {
  for (const item of items ?? []) {
    out.set(item.linkId, { item, parent });
    indexItems(item.item, item.linkId, out);
  }
  return out;
}

const answerValueKey = (a: QuestionnaireResponseItemAnswer): string | undefined => Object.keys(a).find((k) => k.startsWith('value'));

function codingMatches(option: Coding | undefined, given: Coding | undefined): boolean {
  if (!option || !given) return false;
  return option.code === given.code && (!given.system || !option.system || given.system === option.system);
}

/** Whether an enableWhen condition holds for the answers given to its question (also used by the adaptive form). */
export function conditionHolds(condition: QuestionnaireItemEnableWhen, answers: QuestionnaireResponseItemAnswer[]): boolean {
  if (condition.operator === 'exists') return (answers.length > 0) === (condition.answerBoolean === true);
  const expected = Object.entries(condition).find(([k]) => k.startsWith('answer'))?.[1];
  const compare = (a: QuestionnaireResponseItemAnswer): number | null => {
    if (condition.answerCoding) return codingMatches(condition.answerCoding, a.valueCoding) ? 0 : null;
    const given = a.valueBoolean ?? a.valueDecimal ?? a.valueInteger ?? a.valueDate ?? a.valueDateTime ?? a.valueTime ?? a.valueString ?? a.valueQuantity?.value;
    const want = (expected as { value?: unknown } | undefined)?.value ?? expected;
    if (given === undefined || want === undefined) return null;
    if (given === want) return 0;
    if (typeof given === 'number' && typeof want === 'number') return given < want ? -1 : 1;
    if (typeof given === 'string' && typeof want === 'string') return given < want ? -1 : 1;
    return null;
  };
  const results = answers.map(compare);
  switch (condition.operator) {
    case '=': return results.some((r) => r === 0);
    case '!=': return answers.length > 0 && results.every((r) => r !== 0);
    case '>': return results.some((r) => r !== null && r > 0);
    case '<': return results.some((r) => r !== null && r < 0);
    case '>=': return results.some((r) => r !== null && r >= 0);
    case '<=': return results.some((r) => r !== null && r <= 0);
    default: return false;
  }
}

/**
 * Checks a QuestionnaireResponse against its Questionnaire, driven by the Questionnaire itself:
 * every linkId is an item of it, under the right parent; answers are of the item's type, answer
 * options where it has them, one unless the item repeats; none on groups and displays. On a
 * completed (or amended) response every enabled required item is answered. Each problem is an
 * issue naming the linkId.
 */
export function checkResponse(questionnaire: Questionnaire, response: QuestionnaireResponse): IssueInput[] {
  const index = indexItems(questionnaire.item, null);
  const issues: IssueInput[] = [];
  const given = new Map<string, QuestionnaireResponseItemAnswer[]>();
  const at = (linkId: string) => itemExpression('QuestionnaireResponse', linkId);

  const walk = (items: QuestionnaireResponseItem[] | undefined, parent: string | null) => {
    for (const item of items ?? []) {
      const known = index.get(item.linkId);
      if (!known) {
        issues.push({ code: 'not-found', expression: at(item.linkId), diagnostics: `linkId "${item.linkId}" is not an item of ${questionnaire.url}|${questionnaire.version}` });
        continue;
      }
      if (known.parent !== parent) {
        issues.push({ code: 'structure', expression: at(item.linkId), diagnostics: `item "${item.linkId}" belongs under ${known.parent ? `"${known.parent}"` : 'the top level'}, not ${parent ? `"${parent}"` : 'the top level'}` });
      }
      const answers = item.answer ?? [];
      const expected = ANSWER_TYPES[known.item.type];
      if (expected === null && answers.length) {
        issues.push({ code: 'structure', expression: at(item.linkId), diagnostics: `item "${item.linkId}" is a ${known.item.type} and takes no answer` });
      }
      if (answers.length > 1 && !known.item.repeats) {
        issues.push({ code: 'structure', expression: at(item.linkId), diagnostics: `item "${item.linkId}" takes one answer, not ${answers.length}` });
      }
      for (const answer of answers) {
        if (!expected) break;
        const key = answerValueKey(answer);
        if (!key || !expected.includes(key)) {
          issues.push({ code: 'value', expression: at(item.linkId), diagnostics: `item "${item.linkId}" (${known.item.type}) is answered with ${key ?? 'no value'}; it takes ${expected.join(' or ')}` });
          continue;
        }
        const options = (known.item.answerOption ?? []).map((o) => o.valueCoding).filter((c): c is Coding => Boolean(c));
        if (key === 'valueCoding' && options.length && !options.some((o) => codingMatches(o, answer.valueCoding))) {
          issues.push({ code: 'code-invalid', expression: at(item.linkId), diagnostics: `"${answer.valueCoding?.code}" is not an answer option of item "${item.linkId}" (${options.map((o) => o.code).join(', ')})` });
        }
      }
      given.set(item.linkId, [...(given.get(item.linkId) ?? []), ...answers]);
      walk(item.item, item.linkId);
      for (const answer of answers) walk(answer.item, item.linkId);
    }
  };
  walk(response.item, null);

  if (response.status === 'completed' || response.status === 'amended') {
    const enabled = (item: QuestionnaireItem): boolean => {
      const conditions = item.enableWhen ?? [];
      if (conditions.length === 0) return true;
      const results = conditions.map((c) => conditionHolds(c, given.get(c.question) ?? []));
      return item.enableBehavior === 'any' ? results.some(Boolean) : results.every(Boolean);
    };
    const answeredWithin = (item: QuestionnaireItem): boolean =>
      (given.get(item.linkId)?.length ?? 0) > 0 || (item.item ?? []).some(answeredWithin);
    const requireAnswers = (items: QuestionnaireItem[] | undefined) => {
      for (const item of items ?? []) {
        if (!enabled(item)) continue;
        if (item.required && !answeredWithin(item)) {
          issues.push({ code: 'required', expression: at(item.linkId), diagnostics: `item "${item.linkId}" (${item.text ?? item.type}) is required on a ${response.status} response` });
        }
        requireAnswers(item.item);
      }
    };
    requireAnswers(questionnaire.item);
  }
  return issues;
}
