/** Card builders for the Kineret CRD responses (CDS Hooks 2.0 cards, CRD 2.0.1 topics). */
import { randomUUID } from 'node:crypto';
import type { MedicationRequest } from 'fhir/r4';
import { CRD } from '../constants';
import { criterionTitle, indicationTitle } from '../core/criteria';
import type { CriterionResult, Evaluation } from '../core/types';
import { escapeMarkdown } from './markdown';
import type { Card, Link } from './types';

export const SUMMARY_LIMIT = 139;
export const PA_SUMMARY = 'Prior authorization required for Kineret (anakinra)';

export interface CardContext {
  payerName: string;
  policyUrl: string;
  dtrLaunchUrl: string;
  questionnaireCanonical: string;
}

function summary(text: string): string {
  return text.length <= SUMMARY_LIMIT ? text : `${text.slice(0, SUMMARY_LIMIT - 1)}…`;
}

function source(ctx: CardContext, code: 'coverage-info' | 'guideline', display: string): Card['source'] {
  return { label: ctx.payerName, url: ctx.policyUrl, topic: { system: CRD.tempCodeSystem, code, display } };
}

/** An order as shown in card markdown: its drug name and reference, both from the request, escaped. */
function orderLabel(order: MedicationRequest): string {
  const concept = order.medicationCodeableConcept;
  const name = concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? order.medicationReference?.display ?? 'Kineret (anakinra)';
  return `${escapeMarkdown(name)} (${orderRef(order)})`;
}

/** MedicationRequest/<id> for card markdown (the id comes from the request). */
function orderRef(order: MedicationRequest): string {
  return escapeMarkdown(`MedicationRequest/${order.id ?? 'unidentified'}`);
}

const STATUS_TEXT: Record<CriterionResult['status'], string> = { met: 'met', 'not-met': '**not met**', unknown: 'unknown' };

/** A table cell of this service's own text (criterion titles): pipes escaped, on one line. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function dtrLink(ctx: CardContext, order: MedicationRequest, coverageReference: string | null): Link {
  const params = new URLSearchParams({ questionnaire: ctx.questionnaireCanonical, order: `MedicationRequest/${order.id}` });
  if (coverageReference) params.set('coverage', coverageReference);
  return { label: 'Complete the Kineret prior authorization documentation (DTR)', url: ctx.dtrLaunchUrl, type: 'smart', appContext: params.toString() };
}

export function policyLink(ctx: CardContext): Link {
  return { label: 'Kineret (anakinra) coverage guideline', url: ctx.policyUrl, type: 'absolute' };
}

export interface OrderAssessment {
  order: MedicationRequest;
  evaluation: Evaluation | null;
}

/** The "prior authorization required" card for order-sign, with what the record shows per criterion. */
export function priorAuthCard(ctx: CardContext, assessments: OrderAssessment[], notes: { coverageFound: boolean; problems: string[] }): Card {
  const lines: string[] = [];
  lines.push(`**Prior authorization is required** for Kineret (anakinra) under the ${ctx.payerName} Kineret coverage guideline.`);
  lines.push('');
  if (!notes.coverageFound) {
    lines.push('**No active coverage was found** for this patient, so coverage for this order could not be confirmed.');
    lines.push('');
  }
  if (notes.problems.length) {
    lines.push('**Coverage requirements could not be fully determined**: some patient data could not be retrieved from the EHR. Criteria shown as unknown may turn out met or not met.');
    for (const p of notes.problems) lines.push(`- ${escapeMarkdown(p)}`);
    lines.push('');
  }
  lines.push(`Order${assessments.length > 1 ? 's' : ''}: ${assessments.map((a) => orderLabel(a.order)).join('; ')}.`);
  for (const { order, evaluation } of assessments) {
    lines.push('');
    if (assessments.length > 1) lines.push(`#### ${orderRef(order)}`);
    if (!evaluation) {
      lines.push('The policy criteria could not be evaluated for this order.');
      continue;
    }
    lines.push(`The record suggests: **${indicationTitle(evaluation.indication)}**, ${evaluation.requestType} request.`);
    lines.push('');
    lines.push('| Criterion | Record shows | Detail |');
    lines.push('|---|---|---|');
    for (const c of evaluation.criteria) lines.push(`| ${escapeCell(criterionTitle(c.code))} | ${STATUS_TEXT[c.status]} | ${escapeMarkdown(c.reason)} |`);
    const asks = evaluation.criteria.filter((c) => c.status === 'unknown');
    if (asks.length) {
      lines.push('');
      lines.push('You will be asked in the documentation form about: ' + asks.map((c) => criterionTitle(c.code)).join('; ') + '.');
    }
  }
  lines.push('');
  lines.push('Use the link below to complete the documentation (Da Vinci DTR); answers already in the record are filled in for you.');
  return {
    uuid: randomUUID(),
    summary: summary(PA_SUMMARY),
    detail: lines.join('\n'),
    indicator: 'info',
    source: source(ctx, 'coverage-info', 'Coverage Information'),
    links: [
      ...assessments.filter((a) => a.order.id).map((a) => dtrLink(ctx, a.order, a.evaluation?.coverageReference ?? null)),
      policyLink(ctx),
    ],
    extension: { 'davinci-crd.associated-resource': assessments.map((a) => `MedicationRequest/${a.order.id}`) },
  };
}

/** A warning card naming the criteria the record already shows as not met, with the evidence (a CRD "External Reference" card: only an absolute link to the policy). */
export function criteriaWarningCard(ctx: CardContext, assessments: OrderAssessment[]): Card | null {
  const failing = assessments.flatMap((a) => (a.evaluation?.criteria ?? []).filter((c) => c.status === 'not-met').map((c) => ({ order: a.order, c })));
  if (failing.length === 0) return null;
  const titles = [...new Set(failing.map((f) => criterionTitle(f.c.code)))];
  const lines = ['The record already shows these Kineret coverage criteria as not met:', ''];
  for (const { order, c } of failing) {
    const evidence = c.evidence.length ? ` Evidence: ${c.evidence.map(escapeMarkdown).join(', ')}.` : '';
    lines.push(`- **${criterionTitle(c.code)}**${assessments.length > 1 ? ` (${orderRef(order)})` : ''}: ${escapeMarkdown(c.reason)}${evidence}`);
  }
  lines.push('', 'If the record is out of date, correct it or explain in the documentation form. A request that does not meet the guideline is pended for the plan\'s clinical reviewer, who decides: nothing is denied automatically.');
  return {
    uuid: randomUUID(),
    summary: summary(`Kineret (anakinra) policy criteria not met: ${titles.join(', ')}`),
    detail: lines.join('\n'),
    indicator: 'warning',
    source: source(ctx, 'guideline', 'Guideline'),
    links: [policyLink(ctx)],
    extension: { 'davinci-crd.associated-resource': [...new Set(failing.map((f) => `MedicationRequest/${f.order.id}`))] },
  };
}

/**
 * order-select: an early notice, no documentation request. Shaped as a CRD "Instructions" card
 * (detail, no links, no suggestions); the policy link comes with the order-sign cards.
 */
export function selectNoticeCard(ctx: CardContext, orders: MedicationRequest[]): Card {
  return {
    uuid: randomUUID(),
    summary: summary('Kineret (anakinra) requires prior authorization'),
    detail:
      `Kineret (anakinra) needs prior authorization under the ${ctx.payerName} Kineret coverage guideline. ` +
      `When the order is signed you will see what the record already shows and can complete the documentation.\n\n` +
      `Order${orders.length > 1 ? 's' : ''}: ${orders.map(orderLabel).join('; ')}.`,
    indicator: 'info',
    source: source(ctx, 'coverage-info', 'Coverage Information'),
    extension: { 'davinci-crd.associated-resource': orders.map((o) => `MedicationRequest/${o.id}`) },
  };
}

/** When nothing could be evaluated (e.g. the EHR did not answer): an honest card, never an approval. */
export function undeterminedCard(ctx: CardContext, orders: MedicationRequest[], problems: string[]): Card {
  return {
    uuid: randomUUID(),
    summary: summary('Kineret (anakinra) requires prior authorization; coverage could not be determined'),
    detail: [
      `Kineret (anakinra) needs prior authorization under the ${ctx.payerName} Kineret coverage guideline, but the patient's coverage and record could not be checked:`,
      '',
      ...problems.map((p) => `- ${escapeMarkdown(p)}`),
      '',
      `Order${orders.length > 1 ? 's' : ''}: ${orders.map(orderLabel).join('; ')}.`,
    ].join('\n'),
    indicator: 'warning',
    source: source(ctx, 'coverage-info', 'Coverage Information'),
    links: [...orders.filter((o) => o.id).map((o) => dtrLink(ctx, o, null)), policyLink(ctx)],
    extension: { 'davinci-crd.associated-resource': orders.map((o) => `MedicationRequest/${o.id}`) },
  };
}
