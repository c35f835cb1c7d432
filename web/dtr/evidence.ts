/**
 * What the app shows beside a prepopulated answer: the CQL expression that filled it, the policy
 * criterion the item belongs to (by the item's criterion code) with its status and reason, and the
 * record entries the CQL cites as evidence, summarized. Also the population problems per item.
 * Pure functions over FHIR JSON.
 */
import type { Bundle, CodeableConcept, FhirResource, OperationOutcome, Questionnaire, QuestionnaireItem } from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM } from '../../src/constants';
import type { CriterionResult } from './cql';

export interface ItemInfo {
  linkId: string;
  text: string;
  /** Criterion codes of the item, or of its nearest coded ancestor. */
  criteria: string[];
}

export interface Evidence {
  linkId: string;
  itemText: string;
  expression: string;
  criteria: CriterionResult[];
  /** Each cited record entry: its reference and a one-line summary. */
  records: { reference: string; summary: string }[];
}

export interface ItemProblem {
  linkId: string | null;
  itemText: string | null;
  severity: 'fatal' | 'error' | 'warning' | 'information';
  message: string;
}

export function itemIndex(q: Questionnaire): Map<string, ItemInfo> {
  const out = new Map<string, ItemInfo>();
  const walk = (items: QuestionnaireItem[] | undefined, inherited: string[]) => {
    for (const item of items ?? []) {
      const own = (item.code ?? []).filter((c) => c.system === CRITERIA_CODE_SYSTEM).map((c) => c.code ?? '').filter(Boolean);
      const criteria = own.length ? own : inherited;
      out.set(item.linkId, { linkId: item.linkId, text: item.text ?? item.linkId, criteria });
      walk(item.item, criteria);
    }
  };
  walk(q.item, []);
  return out;
}

function concept(c: CodeableConcept | undefined): string {
  if (!c) return '';
  const coding = c.coding?.find((x) => x.display) ?? c.coding?.[0];
  return c.text ?? (coding ? `${coding.display ?? ''}${coding.code ? ` (${coding.code})` : ''}`.trim() : '');
}

/** A one-line, human summary of a record entry. */
export function summarize(r: FhirResource): string {
  const x = r as unknown as Record<string, unknown>;
  const when = (x.effectiveDateTime ?? x.authoredOn ?? x.whenHandedOver ?? x.recordedDate ?? x.onsetDateTime ?? (x.effectivePeriod as { start?: string } | undefined)?.start) as string | undefined;
  const date = when ? `, ${String(when).slice(0, 10)}` : '';
  switch (r.resourceType) {
    case 'Condition': return `Condition: ${concept(r.code)}${r.clinicalStatus ? ` [${concept(r.clinicalStatus)}]` : ''}${date}`;
    case 'Observation': {
      const v = r.valueQuantity ? ` = ${r.valueQuantity.value} ${r.valueQuantity.unit ?? r.valueQuantity.code ?? ''}` : r.valueCodeableConcept ? ` = ${concept(r.valueCodeableConcept)}` : r.valueString ? ` = ${r.valueString}` : '';
      return `Observation: ${concept(r.code)}${v.trimEnd()}${date}`;
    }
    case 'MedicationRequest': return `Medication order: ${concept(r.medicationCodeableConcept) || r.medicationReference?.display || r.medicationReference?.reference || ''} [${r.status}]${date}`;
    case 'MedicationStatement': return `Medication statement: ${concept(r.medicationCodeableConcept) || r.medicationReference?.reference || ''} [${r.status}]${date}`;
    case 'MedicationDispense': return `Medication fill: ${concept(r.medicationCodeableConcept) || r.medicationReference?.reference || ''}${r.daysSupply?.value ? `, ${r.daysSupply.value} days` : ''}${date}`;
    case 'AllergyIntolerance': return `Allergy: ${concept(r.code)}${date}`;
    case 'PractitionerRole': return `Prescriber role: ${(r.specialty ?? []).map(concept).join(', ') || 'no specialty'}`;
    case 'Coverage': return `Coverage: ${(r.class ?? []).map((c) => c.name ?? c.value).join(', ') || concept(r.type)} [${r.status}]`;
    case 'Patient': return `Patient: born ${r.birthDate ?? 'unknown'}`;
    default: return r.resourceType;
  }
}

export function evidenceFor(args: {
  questionnaire: Questionnaire;
  populated: Record<string, string>;
  criteria: CriterionResult[];
  bundle: Bundle;
}): Map<string, Evidence> {
  const items = itemIndex(args.questionnaire);
  const resources = new Map<string, FhirResource>((args.bundle.entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r)).map((r) => [`${r.resourceType}/${r.id}`, r] as const));
  const out = new Map<string, Evidence>();
  for (const [linkId, expression] of Object.entries(args.populated)) {
    const info = items.get(linkId);
    const criteria = args.criteria.filter((c) => info?.criteria.includes(c.code));
    const refs = [...new Set(criteria.flatMap((c) => c.evidence))];
    out.set(linkId, {
      linkId,
      itemText: info?.text ?? linkId,
      expression,
      criteria,
      records: refs.map((reference) => ({ reference, summary: resources.has(reference) ? summarize(resources.get(reference)!) : reference })),
    });
  }
  return out;
}

/** The population OperationOutcome's issues, each tied to its item when it names one. */
export function problemsByItem(outcome: OperationOutcome | null | undefined, questionnaire: Questionnaire): ItemProblem[] {
  const items = itemIndex(questionnaire);
  return (outcome?.issue ?? [])
    .filter((i) => i.code !== 'informational')
    .map((i) => {
      const linkId = /linkId='([^']+)'/.exec(i.expression?.[0] ?? '')?.[1] ?? null;
      return { linkId, itemText: linkId ? (items.get(linkId)?.text ?? linkId) : null, severity: i.severity, message: i.diagnostics ?? i.details?.text ?? i.code };
    });
}
