/**
 * The one data-requirements query planner: which FHIR queries read a patient's record for the
 * policy's CQL. The server (CRD fallback, $populate from a fhirServer) and the DTR app in the browser
 * both plan with it; each runs the queries with its own client. Browser-safe.
 *
 * - the Patient is read by id;
 * - types the patient owns are searched by patient and, where the requirement has a code filter, by
 *   the codes of the named value sets (expanded) or the listed codes, in chunks that keep URLs short;
 *   a filter whose codes cannot be listed (value set not expanded) cannot narrow the search, so the
 *   type is read whole; Coverage is searched active;
 * - types the patient does not own (Medication, Organization, PractitionerRole, Practitioner) are
 *   reached through the references that lead to them (planReferenceQueries).
 */
import type { Coverage, FhirResource, MedicationRequest, Reference, ValueSet } from 'fhir/r4';
import { referenceId } from '../fhir/references';
import { codesFor, type TypeRequirement } from './data-requirements';

/** The search parameter naming the patient, for each type searched by patient. */
export const PATIENT_SEARCH_PARAM: Readonly<Record<string, string>> = {
  AllergyIntolerance: 'patient',
  Condition: 'patient',
  Coverage: 'patient',
  MedicationDispense: 'patient',
  MedicationRequest: 'patient',
  MedicationStatement: 'patient',
  Observation: 'patient',
  Procedure: 'patient',
};

/** Types read through references of the patient's data. */
export const REFERENCE_FOLLOWED_TYPES: readonly string[] = ['Medication', 'Organization', 'PractitionerRole', 'Practitioner'];

/** Codes per query, so that URLs stay well under common server limits (about 4 KB with the longest systems). */
export const CODES_PER_QUERY = 60;

export interface PlannedQuery {
  type: string;
  /** Relative to the FHIR base: 'Patient/123', 'Condition?patient=123&code=...'. */
  path: string;
  /** A read (one resource) rather than a search (a Bundle). */
  read: boolean;
}

export interface QueryPlan {
  queries: PlannedQuery[];
  /** Required types reached by reference (see planReferenceQueries). */
  byReference: string[];
  /** Required types that can be neither searched by patient nor reached by reference. */
  unsupported: string[];
}

/** The queries for the patient-owned types of the requirements, skipping the types in `skip` (already at hand). */
export function planPatientQueries(requirements: TypeRequirement[], valueSets: ValueSet[], patientId: string, skip: ReadonlySet<string> = new Set()): QueryPlan {
  const pid = encodeURIComponent(patientId);
  const plan: QueryPlan = { queries: [], byReference: [], unsupported: [] };
  for (const req of [...requirements].sort((a, b) => a.type.localeCompare(b.type))) {
    const type = req.type;
    if (REFERENCE_FOLLOWED_TYPES.includes(type)) {
      plan.byReference.push(type);
      continue;
    }
    if (type !== 'Patient' && !PATIENT_SEARCH_PARAM[type]) {
      plan.unsupported.push(type);
      continue;
    }
    if (skip.has(type)) continue;
    if (type === 'Patient') {
      plan.queries.push({ type, path: `Patient/${pid}`, read: true });
      continue;
    }
    const search = `${type}?${PATIENT_SEARCH_PARAM[type]}=${pid}${type === 'Coverage' ? '&status=active' : ''}`;
    const codes = req.unfiltered ? [] : codesFor(req, valueSets);
    const listable = !req.unfiltered && req.codeFilters.length > 0 && req.codeFilters.every((f) => codesFor({ ...req, codeFilters: [f] }, valueSets).length > 0);
    if (!listable || codes.length === 0) {
      plan.queries.push({ type, path: search, read: false });
      continue;
    }
    const keys = codes.map((c) => `${c.system}|${c.code}`);
    for (let i = 0; i < keys.length; i += CODES_PER_QUERY) {
      plan.queries.push({ type, path: `${search}&code=${keys.slice(i, i + CODES_PER_QUERY).map(encodeURIComponent).join(',')}`, read: false });
    }
  }
  return plan;
}

/**
 * Follow-up reads for the types reached by reference, among `wanted`: Coverage.payor (Organization),
 * medicationReference (Medication), and the orders' requester (their PractitionerRoles, and the
 * Practitioner). Resources already at hand are not read again.
 */
export function planReferenceQueries(resources: FhirResource[], orders: MedicationRequest[], wanted: readonly string[]): PlannedQuery[] {
  const have = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const out = new Map<string, PlannedQuery>();
  const read = (type: string, id: string | undefined) => {
    if (!id || !wanted.includes(type) || have.has(`${type}/${id}`)) return;
    const path = `${type}/${encodeURIComponent(id)}`;
    out.set(path, { type, path, read: true });
  };
  for (const r of resources) {
    if (r.resourceType === 'Coverage') for (const p of Array.isArray((r as Coverage).payor) ? (r as Coverage).payor : []) read('Organization', referenceId(p, 'Organization'));
    read('Medication', referenceId((r as { medicationReference?: Reference }).medicationReference, 'Medication'));
  }
  for (const order of orders) {
    const practitioner = referenceId(order.requester, 'Practitioner');
    if (!practitioner) continue;
    const known = resources.some((r) => r.resourceType === 'PractitionerRole' && referenceId((r as { practitioner?: Reference }).practitioner, 'Practitioner') === practitioner);
    if (wanted.includes('PractitionerRole') && !known) {
      const path = `PractitionerRole?practitioner=${encodeURIComponent(practitioner)}`;
      out.set(path, { type: 'PractitionerRole', path, read: false });
    }
    read('Practitioner', practitioner);
  }
  return [...out.values()];
}
