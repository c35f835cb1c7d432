/**
 * The Questionnaire as handed to LHC-Forms: the same items, answers and enableWhen logic, with these
 * rendering adjustments (the saved response is unaffected):
 * - the CQL initialExpressions, launch contexts and libraries are left out: this app runs the CQL
 *   itself (LHC-Forms evaluates FHIRPath only, and would try to load launch context data);
 * - `!=` on a coded answer becomes `=` on every other answer option (enableBehavior any): LHC-Forms
 *   38 stops responding when a `!=` condition sits inside a group that has its own enableWhen;
 * - short answer lists get radio buttons (check boxes when repeating) unless the Questionnaire
 *   chooses a control, so every option is visible at once.
 */
import type { Questionnaire, QuestionnaireItem } from 'fhir/r4';
import { DTR } from '../../src/constants';

const ITEM_CONTROL = 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl';
const RUN_BY_THE_APP = new Set<string>([DTR.initialExpression, DTR.launchContext, DTR.cqfLibrary]);
const SHORT_LIST = 8;

function index(items: QuestionnaireItem[] | undefined, out = new Map<string, QuestionnaireItem>()): Map<string, QuestionnaireItem> {
  for (const item of items ?? []) {
    out.set(item.linkId, item);
    index(item.item, out);
  }
  return out;
}

function adjust(item: QuestionnaireItem, byLinkId: Map<string, QuestionnaireItem>): QuestionnaireItem {
  const out: QuestionnaireItem = {
    ...item,
    extension: (item.extension ?? []).filter((e) => !RUN_BY_THE_APP.has(e.url)),
    ...(item.item ? { item: item.item.map((i) => adjust(i, byLinkId)) } : {}),
  };
  const conditions = item.enableWhen ?? [];
  if (conditions.length === 1 && conditions[0].operator === '!=' && conditions[0].answerCoding) {
    const c = conditions[0];
    const options = (byLinkId.get(c.question)?.answerOption ?? []).map((o) => o.valueCoding).filter((v) => v && v.code !== c.answerCoding!.code);
    if (options.length) {
      out.enableWhen = options.map((answerCoding) => ({ question: c.question, operator: '=', answerCoding }));
      out.enableBehavior = 'any';
    }
  }
  const hasControl = (out.extension ?? []).some((e) => e.url === ITEM_CONTROL);
  if ((item.type === 'choice' || item.type === 'open-choice') && !hasControl && (item.answerOption?.length ?? 0) <= SHORT_LIST) {
    const code = item.repeats ? 'check-box' : 'radio-button';
    out.extension = [...(out.extension ?? []), { url: ITEM_CONTROL, valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/questionnaire-item-control', code }] } }];
  }
  return out;
}

export function forRendering(q: Questionnaire): Questionnaire {
  const byLinkId = index(q.item);
  return { ...q, extension: (q.extension ?? []).filter((e) => !RUN_BY_THE_APP.has(e.url)), item: (q.item ?? []).map((i) => adjust(i, byLinkId)) };
}
