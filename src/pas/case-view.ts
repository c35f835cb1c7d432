/**
 * What the reviewer workbench shows of a request, as plain JSON: the queue line, and the case
 * (the criteria with their evidence, the clinician's answers with their origin and attachments,
 * the decisions so far, the time left). Pure: built from what the store keeps.
 */
import type {
  Bundle, Coverage, FhirResource, MedicationRequest, Patient, Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from 'fhir/r4';
import { DTR } from '../constants';
import { criterionDefinition, criterionTitle, indicationTitle } from '../core/criteria';
import { addMonths } from '../core/decision';
import { answersServedForm, type ServedForms } from '../dtr/adaptive';
import { reasonText } from './claim-response';
import { DENIAL_REASONS } from './review';
import type { DecisionRecord, PaRequest } from './types';
import type { AnswerView, CaseView, QueueLine } from './view-types';

export type { AnswerView, CaseView, QueueLine };

function patientName(p: Patient | undefined): string {
  const n = p?.name?.[0];
  const text = n?.text ?? [n?.given?.join(' '), n?.family].filter(Boolean).join(' ');
  return `${text || (p?.id ? `Patient/${p.id}` : 'unknown patient')}${p?.birthDate ? `, born ${p.birthDate}` : ''}`;
}

const resources = (b: Bundle) => (b.entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r));
const ofType = <T extends FhirResource>(b: Bundle, type: T['resourceType']) => resources(b).filter((r): r is T => r.resourceType === type);

export function queueLine(r: PaRequest, now: Date): QueueLine {
  const patient = ofType<Patient>(r.submission, 'Patient')[0];
  return {
    id: r.id,
    status: r.status,
    priority: r.priority,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    msLeft: Date.parse(r.dueAt) - now.getTime(),
    patient: patientName(patient),
    indication: indicationTitle(r.assessment.indication),
    requestType: r.assessment.requestType,
    reasons: r.assessment.reasons.map(reasonText),
    claimIdentifier: r.claimIdentifier.value,
    client: r.owner,
    decidedAt: r.decidedAt,
    authNumber: r.authNumber,
  };
}

export interface AttachmentRef {
  index: number;
  linkId: string;
  answer: QuestionnaireResponseItemAnswer;
}

function questionTexts(q: Questionnaire | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (items: QuestionnaireItem[] | undefined) => {
    for (const i of items ?? []) {
      out.set(i.linkId, i.text ?? i.linkId);
      walk(i.item);
    }
  };
  walk(q?.item);
  return out;
}

function answerText(a: QuestionnaireResponseItemAnswer): string | null {
  if (typeof a.valueBoolean === 'boolean') return a.valueBoolean ? 'Yes' : 'No';
  if (a.valueCoding) return a.valueCoding.display ?? a.valueCoding.code ?? null;
  if (a.valueString !== undefined) return a.valueString;
  if (a.valueDecimal !== undefined) return String(a.valueDecimal);
  if (a.valueInteger !== undefined) return String(a.valueInteger);
  if (a.valueDate !== undefined) return a.valueDate;
  if (a.valueDateTime !== undefined) return a.valueDateTime;
  if (a.valueQuantity) return `${a.valueQuantity.value ?? ''} ${a.valueQuantity.unit ?? a.valueQuantity.code ?? ''}`.trim();
  return null;
}

function originOf(answers: QuestionnaireResponseItemAnswer[]): AnswerView['origin'] {
  const sources = answers.map((a) => (a.extension ?? []).find((e) => e.url === DTR.informationOrigin)?.extension?.find((e) => e.url === 'source')?.valueCode);
  if (sources.includes('override')) return 'override';
  if (sources.includes('manual')) return 'manual';
  if (sources.some((s) => s && s.startsWith('auto'))) return 'auto';
  return null;
}

/** The response's answered items in order, and its attachments numbered for download. */
export function answersOf(response: QuestionnaireResponse | undefined, q: Questionnaire | undefined): { answers: AnswerView[]; attachments: AttachmentRef[] } {
  const texts = questionTexts(q);
  const answers: AnswerView[] = [];
  const attachments: AttachmentRef[] = [];
  const walk = (items: QuestionnaireResponseItem[] | undefined) => {
    for (const item of items ?? []) {
      const given = item.answer ?? [];
      if (given.length) {
        const files = given.filter((a) => a.valueAttachment).map((answer) => {
          const index = attachments.length;
          attachments.push({ index, linkId: item.linkId, answer });
          const att = answer.valueAttachment!;
          return { index, title: att.title ?? `attachment ${index + 1}`, contentType: att.contentType ?? 'application/octet-stream', size: att.size ?? (att.data ? Math.floor((att.data.length * 3) / 4) : null) };
        });
        answers.push({
          linkId: item.linkId,
          question: texts.get(item.linkId) ?? item.text ?? item.linkId,
          answers: given.map(answerText).filter((x): x is string => x !== null),
          origin: originOf(given),
          attachments: files,
        });
      }
      walk(item.item);
      for (const a of given) walk(a.item);
    }
  };
  walk(response?.item);
  return { answers, attachments };
}

/** The documentation the request carries (the response to the Kineret questionnaire, standard or adaptive form). */
export function responseOf(r: PaRequest, forms: ServedForms): QuestionnaireResponse | undefined {
  return ofType<QuestionnaireResponse>(r.submission, 'QuestionnaireResponse').find((x) => answersServedForm(x, forms));
}

export function caseView(r: PaRequest, decisions: DecisionRecord[], forms: ServedForms, now: Date): CaseView {
  const q = forms.questionnaire;
  const order = ofType<MedicationRequest>(r.submission, 'MedicationRequest').find((m) => `MedicationRequest/${m.id}` === r.orderRef);
  const coverage = ofType<Coverage>(r.submission, 'Coverage').find((c) => `Coverage/${c.id}` === r.coverageRef);
  const byRef = new Map<string, FhirResource>(resources(r.submission).filter((x) => x.id).map((x) => [`${x.resourceType}/${x.id}`, x]));
  const cited = [...new Set(r.assessment.criteria.flatMap((c) => c.evidence))];
  const today = now.toISOString().slice(0, 10);
  const med = order?.medicationCodeableConcept;
  return {
    ...queueLine(r, now),
    patientRef: r.patientRef,
    order: {
      reference: r.orderRef,
      text: med?.text ?? med?.coding?.find((c) => c.display)?.display ?? order?.medicationReference?.display ?? 'Kineret (anakinra)',
      dosage: (order?.dosageInstruction ?? []).map((d) => d.text ?? '').filter(Boolean),
    },
    coverage: coverage ? `${(coverage.class ?? []).map((c) => c.name ?? c.value).join(', ') || 'Coverage'} [${coverage.status}]` : 'none',
    provider: { reference: r.providerRef, npi: r.providerNpi },
    assessment: {
      outcome: r.assessment.outcome,
      indication: indicationTitle(r.assessment.indication),
      requestType: r.assessment.requestType,
      approvalMonths: r.assessment.approvalMonths,
      approvalReason: r.assessment.approvalReason,
      reasons: r.assessment.reasons.map(reasonText),
      criteria: r.assessment.criteria.map((c) => ({
        code: c.code, title: criterionTitle(c.code), definition: criterionDefinition(c.code), status: c.status, source: c.source, reason: c.reason, evidence: c.evidence,
      })),
    },
    evidence: Object.fromEntries(cited.filter((ref) => byRef.has(ref)).map((ref) => [ref, byRef.get(ref)!])),
    answers: answersOf(responseOf(r, forms), q).answers,
    decisions: decisions.map((d) => ({
      action: d.action, actor: d.actor, reviewer: d.reviewer?.name ?? null, humanReviewed: d.humanReviewed, at: d.at, reasonCode: d.reasonCode,
      reasonText: d.reasonText, letterText: d.letterText, period: d.period, authNumber: d.authNumber,
    })),
    suggestedPeriod: { start: today, end: addMonths(today, r.assessment.approvalMonths ?? 6) },
    denialReasons: (DENIAL_REASONS.concept ?? []).map((c) => ({ code: c.code, display: c.display ?? c.code, definition: c.definition ?? '' })),
    claimResponse: r.claimResponse,
  };
}
