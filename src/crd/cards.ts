/**
 * Card builders for the Kineret CRD responses (CDS Hooks 2.0 cards, CRD STU 2.0.1 topics and
 * response types). One card per concern, each one a CRD response type, so that nothing is said twice
 * and the set passes the card-type checks of the ONC Inferno CRD kit:
 *
 * - Launch SMART Application: "prior authorization required" with the DTR launch (smart links only);
 * - External Reference: the coverage guideline (an absolute link only);
 * - Instructions (no links, no suggestions): criteria the record already shows as not met, and a
 *   record without active coverage (what to do instead of a documentation form).
 *
 * The coverage-information system action (./coverage-information.ts) says computably what the PA card
 * says to people: the CDS Hooks sandbox and the Da Vinci request generator ignore system actions, so
 * the cards stand alone. Card markdown uses paragraphs and lists only (no tables, headings or links):
 * the request generator renders markdown without tables, EHR renderers often render none, and the
 * links belong in Card.links (neither public client opens `source.url`).
 */
import { randomUUID } from 'node:crypto';
import type { MedicationRequest } from 'fhir/r4';
import { CRD } from '../constants';
import { criterionTitle, indicationTitle } from '../core/criteria';
import type { CriterionResult, Evaluation } from '../core/types';
import { escapeMarkdown } from './markdown';
import type { Card, Link } from './types';

export const SUMMARY_LIMIT = 139;
export const PA_SUMMARY = 'Prior authorization required for Kineret (anakinra)';
export const GUIDELINE_SUMMARY = 'Kineret (anakinra) coverage guideline';
export const NO_COVERAGE_SUMMARY = 'No active coverage found: verify eligibility before prior authorization for Kineret (anakinra)';
export const UNDETERMINED_SUMMARY = 'Kineret (anakinra) requires prior authorization; coverage could not be determined';
export const DTR_LINK_LABEL = 'Complete the Kineret prior authorization documentation (DTR)';
export const GUIDELINE_LINK_LABEL = 'Kineret (anakinra) coverage guideline';

export interface CardContext {
  payerName: string;
  policyUrl: string;
  dtrLaunchUrl: string;
  questionnaireCanonical: string;
}

/** CRD 2.0.1 card types (CRD Card Types value set) used by this service. */
type Topic = 'coverage-info' | 'guideline' | 'off-guideline';
const TOPIC_DISPLAY: Record<Topic, string> = { 'coverage-info': 'Coverage Information', guideline: 'Guideline', 'off-guideline': 'Off Guideline' };

function summary(text: string): string {
  return text.length <= SUMMARY_LIMIT ? text : `${text.slice(0, SUMMARY_LIMIT - 1)}…`;
}

function source(ctx: CardContext, code: Topic): Card['source'] {
  return { label: ctx.payerName, url: ctx.policyUrl, topic: { system: CRD.tempCodeSystem, code, display: TOPIC_DISPLAY[code] } };
}

function card(ctx: CardContext, topic: Topic, fields: Pick<Card, 'summary' | 'detail' | 'indicator' | 'links'>, orders: MedicationRequest[]): Card {
  return {
    uuid: randomUUID(),
    summary: summary(fields.summary),
    detail: fields.detail,
    indicator: fields.indicator,
    source: source(ctx, topic),
    ...(fields.links?.length ? { links: fields.links } : {}),
    extension: { 'davinci-crd.associated-resource': [...new Set(orders.map((o) => `MedicationRequest/${o.id}`))] },
  };
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

function ordersLine(orders: MedicationRequest[]): string {
  return `Order${orders.length > 1 ? 's' : ''}: ${orders.map(orderLabel).join('; ')}.`;
}

export function dtrLink(ctx: CardContext, order: MedicationRequest, coverageReference: string | null): Link {
  const params = new URLSearchParams({ questionnaire: ctx.questionnaireCanonical, order: `MedicationRequest/${order.id}` });
  if (coverageReference) params.set('coverage', coverageReference);
  return { label: DTR_LINK_LABEL, url: ctx.dtrLaunchUrl, type: 'smart', appContext: params.toString() };
}

export function policyLink(ctx: CardContext): Link {
  return { label: GUIDELINE_LINK_LABEL, url: ctx.policyUrl, type: 'absolute' };
}

export interface OrderAssessment {
  order: MedicationRequest;
  evaluation: Evaluation | null;
}

/** One criterion as a list item: its title (this service's text; titles hold ': ', so a dash separates) and the CQL's reason (escaped). */
function criterionItem(c: CriterionResult, withEvidence = false): string {
  const evidence = withEvidence && c.evidence.length ? ` Evidence: ${c.evidence.map(escapeMarkdown).join(', ')}.` : '';
  return `- ${criterionTitle(c.code)} — ${escapeMarkdown(c.reason)}${evidence}`;
}

/**
 * The "prior authorization required" card (a CRD Launch SMART Application card: its only links
 * launch DTR). It says what the record already meets and what the form will ask; criteria the
 * record shows as not met are the subject of their own card (criteriaNotMetCard), named here only
 * by count. `problems`: the EHR data that could not be read, in clinician words.
 */
export function priorAuthCard(ctx: CardContext, assessments: OrderAssessment[], problems: string[]): Card {
  const lines: string[] = [
    `Kineret (anakinra) needs prior authorization under the ${ctx.payerName} Kineret coverage guideline. ` +
      'Complete the documentation form (Da Vinci DTR) with the link on this card: what the record already shows is filled in for you.',
    '',
    ordersLine(assessments.map((a) => a.order)),
  ];
  if (problems.length) {
    lines.push('', 'Part of the record could not be read from the EHR, so some criteria below may turn out met or not met:');
    for (const p of problems) lines.push(`- ${escapeMarkdown(p)}`);
  }
  for (const { order, evaluation } of assessments) {
    lines.push('');
    if (assessments.length > 1) lines.push(`${orderRef(order)}:`);
    if (!evaluation) {
      lines.push('The policy criteria could not be evaluated for this order.');
      continue;
    }
    lines.push(`The record suggests ${indicationTitle(evaluation.indication)}, ${evaluation.requestType} request.`);
    const met = evaluation.criteria.filter((c) => c.status === 'met');
    const unknown = evaluation.criteria.filter((c) => c.status === 'unknown');
    const notMet = evaluation.criteria.filter((c) => c.status === 'not-met');
    if (met.length) {
      lines.push('', 'Already met on the record:');
      for (const c of met) lines.push(criterionItem(c));
    }
    if (unknown.length) {
      lines.push('', 'You will be asked about:');
      for (const c of unknown) lines.push(criterionItem(c));
    }
    if (notMet.length) {
      lines.push('', `Not met on the record: ${notMet.length} criterion${notMet.length > 1 ? 'a' : ''} (see the card "Kineret (anakinra) criteria not met on the record").`);
    }
  }
  const orders = assessments.map((a) => a.order);
  return card(ctx, 'coverage-info', {
    summary: PA_SUMMARY,
    detail: lines.join('\n'),
    indicator: 'info',
    links: assessments.filter((a) => a.order.id).map((a) => dtrLink(ctx, a.order, a.evaluation?.coverageReference ?? null)),
  }, orders);
}

/**
 * Criteria the record already shows as not met, with the evidence and what the clinician can do: a
 * CRD Instructions card (no links; the guideline is on its own card), shown first (the most urgent).
 */
export function criteriaNotMetCard(ctx: CardContext, assessments: OrderAssessment[]): Card | null {
  const failing = assessments.flatMap((a) => (a.evaluation?.criteria ?? []).filter((c) => c.status === 'not-met').map((c) => ({ order: a.order, c })));
  if (failing.length === 0) return null;
  const titles = [...new Set(failing.map((f) => criterionTitle(f.c.code)))];
  const lines = [`The record shows these criteria of the ${ctx.payerName} Kineret coverage guideline as not met:`, ''];
  for (const { order, c } of failing) {
    const item = criterionItem(c, true);
    lines.push(assessments.length > 1 ? item.replace(/^- /, `- (${orderRef(order)}) `) : item);
  }
  lines.push('', 'If the record is out of date, correct it, or explain in the documentation form. ' +
    'A request that does not meet the guideline is pended for the plan\'s clinical reviewer, who decides: nothing is denied automatically.');
  return card(ctx, 'off-guideline', {
    summary: `Kineret (anakinra) criteria not met on the record: ${titles.join(', ')}`,
    detail: lines.join('\n'),
    indicator: 'warning',
  }, failing.map((f) => f.order));
}

/**
 * The coverage guideline (a CRD External Reference card: one absolute link). It carries what the
 * guideline says about this request that no other card does: how long an approval would last.
 */
export function guidelineCard(ctx: CardContext, assessments: OrderAssessment[]): Card {
  const reasons = [...new Set(assessments.map((a) => a.evaluation?.approvalReason).filter((r): r is string => Boolean(r)))];
  const lines = [
    `The ${ctx.payerName} Kineret coverage guideline: the criteria for each covered use (rheumatoid arthritis, CAPS/NOMID, ` +
      'systemic and polyarticular JIA, DIRA, and compendial uses), continuation of therapy, dosing limits and approval periods.',
  ];
  if (reasons.length) lines.push('', `If approved: ${reasons.map(escapeMarkdown).join(' ')}`);
  return card(ctx, 'guideline', { summary: GUIDELINE_SUMMARY, detail: lines.join('\n'), indicator: 'info', links: [policyLink(ctx)] }, assessments.map((a) => a.order));
}

/**
 * No active coverage on the record: there is nothing to request prior authorization against, so no
 * documentation form and no coverage-information action; the card says what to do instead (a CRD
 * Instructions card).
 */
export function noCoverageCard(ctx: CardContext, orders: MedicationRequest[]): Card {
  return card(ctx, 'coverage-info', {
    summary: NO_COVERAGE_SUMMARY,
    detail: [
      `No active ${ctx.payerName} coverage was found for this patient, so prior authorization for Kineret (anakinra) cannot be requested yet.`,
      '',
      'What to do:',
      `- Verify the patient's eligibility with ${ctx.payerName}: member ID, plan and coverage dates.`,
      '- Add the coverage to the patient\'s record in the EHR, then sign the order again: the prior authorization card and its documentation form follow.',
      `- If the patient is not covered by ${ctx.payerName}, this plan's requirements do not apply.`,
      '',
      ordersLine(orders),
    ].join('\n'),
    indicator: 'warning',
  }, orders);
}

/** Nothing could be evaluated (e.g. the EHR did not answer): an honest card, never an approval. The form can still be opened. */
export function undeterminedCard(ctx: CardContext, orders: MedicationRequest[], problems: string[]): Card {
  return card(ctx, 'coverage-info', {
    summary: UNDETERMINED_SUMMARY,
    detail: [
      `Kineret (anakinra) needs prior authorization under the ${ctx.payerName} Kineret coverage guideline, but the patient's coverage and record could not be checked:`,
      '',
      ...problems.map((p) => `- ${escapeMarkdown(p)}`),
      '',
      'The documentation form (link on this card) reads the record again when it opens.',
      '',
      ordersLine(orders),
    ].join('\n'),
    indicator: 'warning',
    links: orders.filter((o) => o.id).map((o) => dtrLink(ctx, o, null)),
  }, orders);
}

/**
 * order-select: an early notice, no documentation request. A CRD Instructions card (detail, no
 * links, no suggestions); the guideline and the form come with the order-sign cards.
 */
export function selectNoticeCard(ctx: CardContext, orders: MedicationRequest[]): Card {
  return card(ctx, 'coverage-info', {
    summary: 'Kineret (anakinra) requires prior authorization',
    detail:
      `Kineret (anakinra) needs prior authorization under the ${ctx.payerName} Kineret coverage guideline. ` +
      `When the order is signed you will see what the record already shows and can complete the documentation.\n\n${ordersLine(orders)}`,
    indicator: 'info',
  }, orders);
}

/** Which cards a caller wants (davinci-crd.configuration: one option per card type). */
export interface CardOptions {
  /** The PA, no-coverage and undetermined cards (and the system action, decided by the hook). */
  coverageInfo: boolean;
  /** The coverage guideline card. */
  guideline: boolean;
  /** The criteria-not-met card. */
  offGuideline: boolean;
}

/**
 * The order-sign card set, most urgent first (what blocks the request, then what fails a criterion,
 * then the request itself or the authorization on file, then the reference): `coverageFound` false
 * gives the no-coverage card instead of the PA card; nothing evaluated gives the undetermined card.
 */
export function orderSignCards(ctx: CardContext, input: {
  assessments: OrderAssessment[];
  coverageFound: boolean;
  problems: string[];
  options: CardOptions;
}): Card[] {
  const { assessments, options } = input;
  const orders = assessments.map((a) => a.order);
  const evaluated = assessments.some((a) => a.evaluation);
  const cards: Card[] = [];
  if (!evaluated) {
    if (options.coverageInfo) cards.push(undeterminedCard(ctx, orders, input.problems));
  } else {
    // Orders an authorization on file covers need no request: their own card instead of the PA card.
    const needing = assessments.filter((a) => !a.evaluation?.authorizationOnFile);
    if (options.coverageInfo && !input.coverageFound) cards.push(noCoverageCard(ctx, orders));
    const notMet = options.offGuideline ? criteriaNotMetCard(ctx, needing) : null;
    if (notMet) cards.push(notMet);
    if (options.coverageInfo && input.coverageFound) {
      if (needing.length) cards.push(priorAuthCard(ctx, needing, input.problems));
      const onFile = authorizationOnFileCard(ctx, assessments);
      if (onFile) cards.push(onFile);
    }
  }
  if (options.guideline) cards.push(guidelineCard(ctx, assessments));
  return cards;
}

/**
 * An order covered by an authorization on file (src/pas): no documentation request, no DTR link;
 * the card says which authorization and until when (a CRD "Coverage Information" card).
 */
export function authorizationOnFileCard(ctx: CardContext, assessments: OrderAssessment[]): Card | null {
  const covered = assessments.filter((a) => a.evaluation?.authorizationOnFile);
  if (covered.length === 0) return null;
  const last = covered.map((a) => a.evaluation!.authorizationOnFile!.through).sort()[0];
  const lines = [`**Prior authorization is on file** for Kineret (anakinra) under the ${ctx.payerName} Kineret coverage guideline: no new request or documentation is needed for this order.`, ''];
  for (const { order, evaluation } of covered) {
    const auth = evaluation!.authorizationOnFile!;
    lines.push(`- ${orderLabel(order)}: authorization **${escapeMarkdown(auth.number)}**, ${auth.basis === 'texas-annual'
      ? `one prior authorization a year under Texas Insurance Code 1369.654, so none is needed until **${auth.through}**`
      : `on file until **${auth.through}**`}${evaluation!.indication ? ` (${indicationTitle(evaluation!.indication)})` : ''}.`);
  }
  lines.push('', 'Quote the authorization number on the claim. After that date a new request is needed.');
  return card(ctx, 'coverage-info', {
    summary: `Prior authorization on file for Kineret (anakinra) until ${last}`,
    detail: lines.join('\n'),
    indicator: 'info',
  }, covered.map((a) => a.order));
}
