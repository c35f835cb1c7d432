/**
 * What the app shows beside a prepopulated answer: the policy criterion the item belongs to (by the
 * item's criterion code) with its status and reason, the record entries the CQL cites as evidence,
 * each by its display text and date, and (under "details") the CQL expression that filled it. Also
 * the population problems per item.
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

/** A record entry as a person reads it: what it is, and when. */
export interface RecordEntry {
  /** 'Condition/123' */
  reference: string;
  /** Display text ('Rheumatoid arthritis (M05.79), active'); the reference itself when the entry is not in the record. */
  text: string;
  /** Its clinical date (YYYY-MM-DD), when it has one. */
  date: string | null;
  /** Whether the app has the resource (so that it can be opened). */
  found: boolean;
}

export interface Evidence {
  linkId: string;
  itemText: string;
  /** The CQL expression that filled the item (shown only under "details"). */
  expression: string;
  criteria: CriterionResult[];
  /** Each cited record entry. */
  records: RecordEntry[];
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

/** A record entry's clinical date (YYYY-MM-DD), or null. */
export function recordDate(r: FhirResource): string | null {
  const x = r as unknown as Record<string, unknown>;
  const when = (x.effectiveDateTime ?? x.authoredOn ?? x.whenHandedOver ?? x.recordedDate ?? x.onsetDateTime ?? x.issued ?? x.dateAsserted
    ?? (x.effectivePeriod as { start?: string } | undefined)?.start ?? (x.period as { start?: string } | undefined)?.start) as string | undefined;
  return typeof when === 'string' ? when.slice(0, 10) : null;
}

function medication(r: { medicationCodeableConcept?: CodeableConcept; medicationReference?: { display?: string; reference?: string } }): string {
  return concept(r.medicationCodeableConcept) || r.medicationReference?.display || r.medicationReference?.reference || 'medication';
}

/** What a record entry is, in words (no date: see recordDate). */
export function describe(r: FhirResource): string {
  switch (r.resourceType) {
    case 'Condition': {
      const status = r.clinicalStatus?.text ?? r.clinicalStatus?.coding?.[0]?.display ?? r.clinicalStatus?.coding?.[0]?.code;
      return `${concept(r.code) || 'Condition'}${status ? `, ${status}` : ''}`;
    }
    case 'Observation': {
      // UCUM annotations ({score}) are not units a person reads.
      const rawUnit = r.valueQuantity?.unit ?? r.valueQuantity?.code ?? '';
      const unit = rawUnit.startsWith('{') ? '' : rawUnit;
      const v = r.valueQuantity ? ` ${r.valueQuantity.value}${unit ? ` ${unit}` : ''}` : r.valueCodeableConcept ? ` ${concept(r.valueCodeableConcept)}` : r.valueString ? ` ${r.valueString}` : r.valueBoolean !== undefined ? ` ${r.valueBoolean ? 'yes' : 'no'}` : '';
      return `${concept(r.code) || 'Observation'}:${v}`.replace(/:$/, '').trimEnd();
    }
    case 'MedicationRequest': return `${r.status === 'draft' ? 'Draft order' : 'Medication order'}: ${medication(r)} (${r.status})`;
    case 'MedicationStatement': return `Medication taken: ${medication(r)} (${r.status})`;
    case 'MedicationDispense': return `Medication filled: ${medication(r)}${r.daysSupply?.value ? `, ${r.daysSupply.value} days` : ''}`;
    case 'MedicationAdministration': return `Medication given: ${medication(r)}`;
    case 'AllergyIntolerance': return `Allergy: ${concept(r.code) || 'unspecified'}`;
    case 'Procedure': return `Procedure: ${concept(r.code) || 'unspecified'}`;
    case 'Immunization': return `Immunization: ${concept(r.vaccineCode) || 'unspecified'}`;
    case 'PractitionerRole': return `Prescriber role: ${(r.specialty ?? []).map(concept).join(', ') || 'no specialty'}`;
    case 'Coverage': return `Coverage: ${(r.class ?? []).map((c) => c.name ?? c.value).join(', ') || concept(r.type) || 'plan'} (${r.status})`;
    case 'Patient': return `Patient, born ${r.birthDate ?? 'on an unknown date'}`;
    default: return r.resourceType;
  }
}

/** A record entry for display, looked up in the record by its reference. */
export function recordEntry(reference: string, resources: Map<string, FhirResource>): RecordEntry {
  const r = resources.get(reference);
  return r ? { reference, text: describe(r), date: recordDate(r), found: true } : { reference, text: reference, date: null, found: false };
}

/** The record's resources by 'Type/id'. */
export function recordIndex(bundle: Bundle): Map<string, FhirResource> {
  return new Map((bundle.entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r)).map((r) => [`${r.resourceType}/${r.id}`, r] as const));
}

export function evidenceFor(args: {
  questionnaire: Questionnaire;
  populated: Record<string, string>;
  criteria: CriterionResult[];
  bundle: Bundle;
}): Map<string, Evidence> {
  const items = itemIndex(args.questionnaire);
  const resources = recordIndex(args.bundle);
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
      records: refs.map((reference) => recordEntry(reference, resources)),
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
