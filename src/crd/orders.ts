/**
 * Finds the Kineret (anakinra) MedicationRequests among a hook's draft orders: by code in the
 * kineret-products value set (RxNorm or NDC) in medicationCodeableConcept, or in a contained or
 * referenced Medication, by an anakinra ingredient, or by name.
 */
import type { Bundle, CodeableConcept, FhirResource, Medication, MedicationRequest, ValueSet } from 'fhir/r4';
import { SYSTEMS } from '../constants';
import { referenceId } from '../fhir/references';

const ANAKINRA_INGREDIENT = '72435';
const NAME = /\b(anakinra|kineret)\b/i;

export class KineretMatcher {
  private readonly codes: Set<string>;
  constructor(valueSets: ValueSet[]) {
    const vs = valueSets.find((v) => v.id === 'kineret-products');
    if (!vs) throw new Error('value set kineret-products is missing');
    this.codes = new Set((vs.expansion?.contains ?? []).map((c) => `${c.system}|${c.code}`));
  }

  /** Tolerates malformed input (a client may send anything): non-objects and non-arrays simply do not match. */
  conceptMatches(concept: CodeableConcept | undefined): boolean {
    if (!concept || typeof concept !== 'object') return false;
    const codings = Array.isArray(concept.coding) ? concept.coding.filter((c) => c && typeof c === 'object') : [];
    if (codings.some((c) => this.codes.has(`${c.system}|${c.code}`))) return true;
    return (typeof concept.text === 'string' && NAME.test(concept.text)) || codings.some((c) => typeof c.display === 'string' && NAME.test(c.display));
  }

  medicationMatches(med: Medication | undefined): boolean {
    if (!med || typeof med !== 'object') return false;
    if (this.conceptMatches(med.code)) return true;
    return (Array.isArray(med.ingredient) ? med.ingredient : []).some(
      (i) =>
        (Array.isArray(i?.itemCodeableConcept?.coding) ? i.itemCodeableConcept!.coding : []).some((c) => c?.system === SYSTEMS.rxnorm && c?.code === ANAKINRA_INGREDIENT) ||
        this.conceptMatches(i.itemCodeableConcept),
    );
  }

  /** Whether a MedicationRequest orders Kineret; `lookup` resolves a non-contained Medication reference. */
  isKineret(order: MedicationRequest, lookup: (reference: string) => Medication | undefined): boolean {
    if (order.medicationCodeableConcept) return this.conceptMatches(order.medicationCodeableConcept);
    const ref = order.medicationReference?.reference;
    if (typeof ref !== 'string' || !ref) return typeof order.medicationReference?.display === 'string' && NAME.test(order.medicationReference.display);
    if (ref.startsWith('#')) {
      const contained = (Array.isArray(order.contained) ? order.contained : []).find((c) => c?.resourceType === 'Medication' && c.id === ref.slice(1)) as Medication | undefined;
      return this.medicationMatches(contained);
    }
    return this.medicationMatches(lookup(ref)) || (typeof order.medicationReference?.display === 'string' && NAME.test(order.medicationReference.display));
  }
}

/** MedicationRequests of a draftOrders Bundle. */
export function medicationRequestsOf(bundle: Bundle): MedicationRequest[] {
  return (Array.isArray(bundle.entry) ? bundle.entry : []).map((e) => e?.resource).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');
}

/** A lookup over resources by 'Type/id' (also matching absolute references by their tail). */
export function referenceLookup<T extends FhirResource>(resources: FhirResource[], type: T['resourceType']): (reference: string) => T | undefined {
  const byId = new Map(resources.filter((r) => r.resourceType === type && r.id).map((r) => [r.id!, r as T] as const));
  return (reference) => {
    const id = referenceId(reference, type);
    return id ? byId.get(id) : undefined;
  };
}
