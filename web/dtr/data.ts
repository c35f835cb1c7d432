/**
 * The patient data the payer's CQL needs, planned from the package: the Libraries' dataRequirement
 * and the package's expansions go to the same query planner the server uses
 * (src/core/query-plan.ts); this app runs the queries against the EHR with fhirclient.
 */
import type { Bundle, FhirResource, Library, ValueSet } from 'fhir/r4';
import { requirementsFromLibraries } from '../../src/core/data-requirements';
import { planPatientQueries, type QueryPlan } from '../../src/core/query-plan';

export { planReferenceQueries, type PlannedQuery } from '../../src/core/query-plan';

/** The queries that read the patient's record for the package's Libraries. */
export function recordQueries(libraries: Library[], valueSets: ValueSet[], patientId: string): QueryPlan {
  return planPatientQueries(requirementsFromLibraries(libraries), valueSets, patientId);
}

/** A collection Bundle of unique resources (by type and id). */
export function collection(resources: FhirResource[]): Bundle {
  const unique = new Map<string, FhirResource>();
  resources.forEach((r, i) => unique.set(r.id ? `${r.resourceType}/${r.id}` : `${r.resourceType}#${i}`, r));
  return { resourceType: 'Bundle', type: 'collection', entry: [...unique.values()].map((resource) => ({ resource })) };
}
