/**
 * The Questionnaire as handed to LHC-Forms: the same items, answers and enableWhen logic, with these
 * rendering adjustments (the saved response is unaffected):
 * - the CQL initialExpressions, launch contexts and libraries are left out: this app runs the CQL
 *   itself (LHC-Forms evaluates FHIRPath only, and would try to load launch context data);
 * - short answer lists get radio buttons (check boxes when repeating) unless the Questionnaire
 *   chooses a control, so every option is visible at once;
 * - a group without conditions whose items all share one (every item enabled only on an initial
 *   request, say) takes that shared condition, so its heading is not shown empty when none applies.
 *   This changes nothing about what is asked: with the condition false every item is disabled anyway.
 */
import type { Questionnaire, QuestionnaireItem } from 'fhir/r4';
import { DTR } from '../../src/constants';

const ITEM_CONTROL = 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl';
const RUN_BY_THE_APP = new Set<string>([DTR.initialExpression, DTR.launchContext, DTR.cqfLibrary]);
const SHORT_LIST = 8;

type EnableWhen = NonNullable<QuestionnaireItem['enableWhen']>[number];

/** The conditions every item of the list requires (all of them, 'all' behaviour), or none. */
function sharedConditions(items: QuestionnaireItem[]): EnableWhen[] {
  const required = (i: QuestionnaireItem): EnableWhen[] =>
    i.enableWhen?.length && (i.enableBehavior !== 'any' || i.enableWhen.length === 1) ? i.enableWhen : [];
  const [first, ...rest] = items.map(required);
  return (first ?? []).filter((c) => rest.every((conditions) => conditions.some((d) => JSON.stringify(d) === JSON.stringify(c))));
}

function adjust(item: QuestionnaireItem): QuestionnaireItem {
  const out: QuestionnaireItem = {
    ...item,
    extension: (item.extension ?? []).filter((e) => !RUN_BY_THE_APP.has(e.url)),
    ...(item.item ? { item: item.item.map(adjust) } : {}),
  };
  const hasControl = (out.extension ?? []).some((e) => e.url === ITEM_CONTROL);
  if ((item.type === 'choice' || item.type === 'open-choice') && !hasControl && (item.answerOption?.length ?? 0) <= SHORT_LIST) {
    const code = item.repeats ? 'check-box' : 'radio-button';
    out.extension = [...(out.extension ?? []), { url: ITEM_CONTROL, valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/questionnaire-item-control', code }] } }];
  }
  if (item.type === 'group' && !item.enableWhen?.length && out.item?.length) {
    const shared = sharedConditions(out.item);
    if (shared.length) Object.assign(out, { enableWhen: shared, ...(shared.length > 1 ? { enableBehavior: 'all' } : {}) });
  }
  return out;
}

export function forRendering(q: Questionnaire): Questionnaire {
  return { ...q, extension: (q.extension ?? []).filter((e) => !RUN_BY_THE_APP.has(e.url)), item: (q.item ?? []).map(adjust) };
}
