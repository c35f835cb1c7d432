/**
 * "Is this a Kineret order?" answered by the CQL alone: the draft orders (with the Medications they
 * reference) are evaluated with the small library KineretProduct, whose "Kineret Order Ids" the policy
 * libraries use too ("Kineret Orders"). TypeScript restates no part of it: the value set, the
 * ingredient and name rules, contained and referenced Medications all live in cql/KineretProduct.cql.
 * The pre-check runs on every order-sign, Kineret or not; it evaluates that one library over the
 * draft orders only (see bench/precheck.ts for its cost).
 */
import type { Bundle, BundleEntry, FhirResource, Medication, MedicationRequest } from 'fhir/r4';
import { PRODUCT_LIBRARY } from '../constants';
import type { KineretEngine } from '../core/engine';
import { referenceId } from '../fhir/references';

/** The patient of the pre-check's bundle: product identity does not depend on the patient. */
const PRECHECK_PATIENT = 'kineret-precheck';
/** Product identity does not depend on the date either; a fixed one keeps the pre-check off the clock. */
const PRECHECK_DATE = '2000-01-01';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class KineretMatcher {
  constructor(private readonly engine: KineretEngine) {}

  /**
   * The Kineret orders among `orders`, in their order. `lookup` resolves a Medication an order references
   * (not a contained one). Malformed orders (a client may send anything) simply do not match.
   */
  async kineretOrders(orders: MedicationRequest[], lookup: (reference: string) => Medication | undefined): Promise<MedicationRequest[]> {
    const candidates = orders.filter(isRecord);
    if (candidates.length === 0) return [];
    try {
      const ids = await this.kineretIds(candidates, lookup);
      return candidates.filter((_, i) => ids.has(i));
    } catch {
      // One malformed order must not hide the others: decide each on its own.
      const out: MedicationRequest[] = [];
      for (const order of candidates) {
        const ids = await this.kineretIds([order], lookup).catch(() => new Set<number>());
        if (ids.has(0)) out.push(order);
      }
      return out;
    }
  }

  /** Whether one order is for Kineret. */
  async isKineret(order: MedicationRequest, lookup: (reference: string) => Medication | undefined): Promise<boolean> {
    return (await this.kineretOrders([order], lookup)).length === 1;
  }

  /** Indexes (into `orders`) of the orders the CQL finds to be Kineret. */
  private async kineretIds(orders: MedicationRequest[], lookup: (reference: string) => Medication | undefined): Promise<Set<number>> {
    // Each order under an id of its own (ids may be absent or repeated in a hook), its subject the pre-check's patient.
    const entries: BundleEntry[] = [{ resource: { resourceType: 'Patient', id: PRECHECK_PATIENT } }];
    const medications = new Map<string, Medication>();
    orders.forEach((order, i) => {
      entries.push({ resource: { ...order, id: `order-${i}`, subject: { reference: `Patient/${PRECHECK_PATIENT}` } } as FhirResource });
      const ref = isRecord(order.medicationReference) ? order.medicationReference.reference : undefined;
      if (typeof ref === 'string' && ref && !ref.startsWith('#')) {
        const med = lookup(ref);
        if (med?.id) medications.set(med.id, med);
      }
    });
    for (const med of medications.values()) entries.push({ resource: med });
    const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: entries };
    const { results } = await this.engine.evaluateRaw(bundle, { evaluationDate: PRECHECK_DATE }, [PRODUCT_LIBRARY]);
    const ids = results[PRODUCT_LIBRARY]['Kineret Order Ids'];
    return new Set((Array.isArray(ids) ? ids : []).map((id) => Number(String(id).replace(/^order-/, ''))));
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
