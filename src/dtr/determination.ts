/**
 * The determination: a QuestionnaireResponse and the patient's record it is evaluated against,
 * evaluated by the CQL, packaged as FHIR Parameters. The CQL decides; this module only packages its
 * results. The caller has checked the input (src/dtr/operations.ts).
 */
import type { Bundle, Parameters, ParametersParameter, QuestionnaireResponse } from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM, INDICATION_CODE_SYSTEM } from '../constants';
import { criterionDefinition, criterionTitle, indicationTitle } from '../core/criteria';
import { decide } from '../core/decision';
import type { KineretEngine } from '../core/engine';
import type { Evaluation } from '../core/types';
import { referenceId } from '../fhir/references';
import { flattenAnswers, responseContext } from './answers';

/** Said with every pended result: the service never denies; a clinical reviewer decides. */
export const PENDED_NOTE = 'Pended for review by the plan\'s clinical reviewer, who decides; no request is denied automatically.';

export async function determine(args: {
  engine: KineretEngine;
  response: QuestionnaireResponse;
  /** The patient's record: a Bundle holding the response's subject. */
  data: Bundle;
  /** The evaluation date (YYYY-MM-DD): the request's, or today by the services' Clock. */
  date: string;
  nonPreferred: boolean;
}): Promise<{ evaluation: Evaluation; parameters: Parameters }> {
  const { response } = args;
  const date = args.date;
  const order = referenceId(responseContext(response).order, 'MedicationRequest');
  const evaluation = await args.engine.evaluate(args.data, {
    answers: flattenAnswers(response),
    orderId: order,
    evaluationDate: date,
    nonPreferred: args.nonPreferred,
  });
  return { evaluation, parameters: toParameters(evaluation, date) };
}

export function toParameters(e: Evaluation, date: string): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'decision', valueCode: e.decision },
    ...(e.indication ? [{ name: 'indication', valueCoding: { system: INDICATION_CODE_SYSTEM, code: e.indication, display: indicationTitle(e.indication) } }] : []),
    { name: 'requestType', valueCode: e.requestType },
  ];
  // The period comes from the channel-independent decision (src/core/decision.ts), as PAS's does: only for an
  // approval on a known plan (the CQL approves only then).
  const decision = decide(e, date);
  if (decision.approvalPeriod) {
    parameter.push({ name: 'approvalPeriod', valuePeriod: decision.approvalPeriod });
    parameter.push({ name: 'approvalReason', valueString: decision.approvalReason });
  }
  for (const r of e.pendReasons) {
    parameter.push({
      name: 'pendReason',
      part: [
        { name: 'kind', valueCode: r.kind },
        ...(r.criterion ? [{ name: 'criterion', valueCoding: { system: CRITERIA_CODE_SYSTEM, code: r.criterion, display: criterionTitle(r.criterion) } }] : []),
        { name: 'text', valueString: r.text },
      ],
    });
  }
  for (const c of e.criteria) {
    parameter.push({
      name: 'criterion',
      part: [
        { name: 'code', valueCoding: { system: CRITERIA_CODE_SYSTEM, code: c.code, display: criterionTitle(c.code) } },
        { name: 'description', valueString: criterionDefinition(c.code) },
        { name: 'status', valueCode: c.status },
        { name: 'source', valueCode: c.source },
        { name: 'reason', valueString: c.reason },
        ...c.evidence.map((ref) => ({ name: 'evidence', valueReference: { reference: ref } })),
      ],
    });
  }
  if (e.decision === 'pended') parameter.push({ name: 'note', valueString: PENDED_NOTE });
  return { resourceType: 'Parameters', parameter };
}
