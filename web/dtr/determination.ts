/** The payer's $evaluate answer (FHIR Parameters) read into a plain shape for display. Pure. */
import type { Parameters, ParametersParameter } from 'fhir/r4';

export interface DeterminationCriterion {
  code: string;
  title: string;
  /** What the guideline asks for this criterion. */
  description: string;
  status: string;
  reason: string;
  evidence: string[];
}

export interface PendReasonView {
  kind: string;
  criterion: string | null;
  text: string;
}

export interface Determination {
  decision: string;
  /** Why the request is pended for a clinical reviewer (empty when approved, or from a payer that sends none). */
  pendReasons: PendReasonView[];
  indication: string | null;
  requestType: string | null;
  approvalPeriod: { start?: string; end?: string } | null;
  approvalReason: string | null;
  note: string | null;
  criteria: DeterminationCriterion[];
}

function part(p: ParametersParameter, name: string): ParametersParameter | undefined {
  return p.part?.find((x) => x.name === name);
}

export function readDetermination(p: Parameters): Determination {
  const one = (name: string) => p.parameter?.find((x) => x.name === name);
  const decision = one('decision')?.valueCode;
  if (!decision) throw new Error('the payer answered without a decision');
  return {
    decision,
    indication: one('indication')?.valueCoding?.display ?? one('indication')?.valueCoding?.code ?? null,
    requestType: one('requestType')?.valueCode ?? null,
    approvalPeriod: one('approvalPeriod')?.valuePeriod ?? null,
    approvalReason: one('approvalReason')?.valueString ?? null,
    note: one('note')?.valueString ?? null,
    pendReasons: (p.parameter ?? []).filter((x) => x.name === 'pendReason').map((r) => ({
      kind: part(r, 'kind')?.valueCode ?? 'missing',
      criterion: part(r, 'criterion')?.valueCoding?.code ?? null,
      text: part(r, 'text')?.valueString ?? '',
    })),
    criteria: (p.parameter ?? []).filter((x) => x.name === 'criterion').map((c) => ({
      code: part(c, 'code')?.valueCoding?.code ?? '',
      title: part(c, 'code')?.valueCoding?.display ?? part(c, 'code')?.valueCoding?.code ?? '',
      description: part(c, 'description')?.valueString ?? '',
      status: part(c, 'status')?.valueCode ?? 'unknown',
      reason: part(c, 'reason')?.valueString ?? '',
      evidence: (c.part ?? []).filter((x) => x.name === 'evidence').map((x) => x.valueReference?.reference ?? '').filter(Boolean),
    })),
  };
}
