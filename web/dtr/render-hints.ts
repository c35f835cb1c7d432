/**
 * The Questionnaire as handed to LHC-Forms: the same items, answers and enableWhen logic, with these
 * rendering adjustments (the saved response is unaffected):
 * - the CQL initialExpressions, launch contexts and libraries are left out: this app runs the CQL
 *   itself (LHC-Forms evaluates FHIRPath only, and would try to load launch context data);
 * - short answer lists get radio buttons (check boxes when repeating) unless the Questionnaire
 *   chooses a control, so every option is visible at once.
 */
import type { Questionnaire, QuestionnaireItem } from 'fhir/r4';
import { DTR } from '../../src/constants';

const ITEM_CONTROL = 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl';
const RUN_BY_THE_APP = new Set<string>([DTR.initialExpression, DTR.launchContext, DTR.cqfLibrary]);
const SHORT_LIST = 8;

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
  return out;
}

export function forRendering(q: Questionnaire): Questionnaire {
  return { ...q, extension: (q.extension ?? []).filter((e) => !RUN_BY_THE_APP.has(e.url)), item: (q.item ?? []).map(adjust) };
}
