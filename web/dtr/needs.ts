/**
 * What is still needed from the clinician: the questions of each criterion the CQL cannot decide yet
 * (status unknown, evaluated in the browser with the current answers) that are shown and unanswered,
 * and the form's own required questions. The app marks them in the form and lists them before
 * submitting. Pure: the CQL's criteria, the Questionnaire, the answers and the items on screen in.
 */
import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM } from '../../src/constants';
import { criterionTitle } from '../../src/core/criteria';
import type { CriterionResult } from './cql';

export interface NeededItem {
  linkId: string;
  text: string;
}

export interface Need {
  /** The criterion the questions decide; null for questions the form itself requires. */
  criterion: string | null;
  title: string;
  /** Why it is not decided yet (the CQL's reason). */
  reason: string;
  items: NeededItem[];
}

/** linkIds with an answer, and every group above an answered item. */
export function answeredLinkIds(response: QuestionnaireResponse): Set<string> {
  const out = new Set<string>();
  const walk = (items: QuestionnaireResponseItem[] | undefined): boolean => {
    let any = false;
    for (const item of items ?? []) {
      const own = (item.answer ?? []).some((a) => Object.keys(a).some((k) => k.startsWith('value')));
      const inner = walk(item.item) || (item.answer ?? []).some((a) => walk(a.item));
      if (own || inner) {
        out.add(item.linkId);
        any = true;
      }
    }
    return any;
  };
  walk(response.item);
  return out;
}

function ownCriteria(item: QuestionnaireItem): string[] {
  return (item.code ?? []).filter((c) => c.system === CRITERIA_CODE_SYSTEM && c.code).map((c) => c.code!);
}

export function neededAnswers(args: { questionnaire: Questionnaire; criteria: CriterionResult[]; response: QuestionnaireResponse; shown: Set<string> }): Need[] {
  const answered = answeredLinkIds(args.response);
  const items: QuestionnaireItem[] = [];
  const walk = (list: QuestionnaireItem[] | undefined) => {
    for (const item of list ?? []) {
      items.push(item);
      walk(item.item);
    }
  };
  walk(args.questionnaire.item);
  const open = (item: QuestionnaireItem) => item.type !== 'display' && args.shown.has(item.linkId) && !answered.has(item.linkId);
  const needs: Need[] = [];
  const required = items.filter((i) => i.required && i.type !== 'group' && open(i));
  if (required.length) needs.push({ criterion: null, title: 'Required by the form', reason: 'The form cannot be completed without these answers.', items: required.map((i) => ({ linkId: i.linkId, text: i.text ?? i.linkId })) });
  for (const c of args.criteria.filter((x) => x.status === 'unknown')) {
    const open$ = items.filter((i) => ownCriteria(i).includes(c.code) && open(i) && !required.includes(i));
    if (open$.length) needs.push({ criterion: c.code, title: criterionTitle(c.code), reason: c.reason, items: open$.map((i) => ({ linkId: i.linkId, text: i.text ?? i.linkId })) });
  }
  return needs;
}
