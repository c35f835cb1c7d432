/** Builds CDS Hooks requests from corpus scenarios, with the prefetch complete, partial, null, failed or absent. */
import { randomUUID } from 'node:crypto';
import type { Bundle, FhirResource, MedicationRequest } from 'fhir/r4';
import type { ScenarioFile } from './corpus';

export const PREFETCH_KEY_BY_TYPE: Record<string, string> = {
  Patient: 'patient',
  Coverage: 'coverage',
  Condition: 'conditions',
  Observation: 'observations',
  AllergyIntolerance: 'allergies',
  MedicationRequest: 'medicationRequests',
  MedicationStatement: 'medicationStatements',
  MedicationDispense: 'medicationDispenses',
  PractitionerRole: 'practitionerRoles',
};

export function searchset(resources: FhirResource[]): Bundle {
  return { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })) };
}

export function splitScenario(s: ScenarioFile): { patientId: string; order: MedicationRequest; record: FhirResource[] } {
  const resources = structuredClone((s.bundle.entry ?? []).map((e) => e.resource!)) as FhirResource[];
  const order = resources.find((r) => r.resourceType === 'MedicationRequest' && r.id === 'kineret-order') as MedicationRequest;
  const patientId = resources.find((r) => r.resourceType === 'Patient')!.id!;
  return { patientId, order, record: resources.filter((r) => r !== order) };
}

/** The full prefetch, keyed as in cds-services.json. Resources of other types (Organization) are left for queries. */
export function fullPrefetch(record: FhirResource[]): Record<string, unknown> {
  const prefetch: Record<string, unknown> = {};
  for (const [type, key] of Object.entries(PREFETCH_KEY_BY_TYPE)) {
    const of = record.filter((r) => r.resourceType === type);
    prefetch[key] = type === 'Patient' ? of[0] : searchset(of);
  }
  // The payer organization is reached from Coverage.payor; include it with the coverage bundle.
  const orgs = record.filter((r) => r.resourceType === 'Organization');
  prefetch.coverage = searchset([...record.filter((r) => r.resourceType === 'Coverage'), ...orgs]);
  return prefetch;
}

export function orderSignRequest(s: ScenarioFile, opts: { prefetch?: Record<string, unknown>; fhirServer?: string; extension?: Record<string, unknown> } = {}) {
  const { patientId, order, record } = splitScenario(s);
  return {
    hookInstance: randomUUID(),
    hook: 'order-sign',
    ...(opts.fhirServer ? { fhirServer: opts.fhirServer, fhirAuthorization: { access_token: 'test-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds-service' } } : {}),
    context: {
      userId: 'Practitioner/dr-rheum',
      patientId,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] },
    },
    ...(opts.prefetch !== undefined ? { prefetch: opts.prefetch } : { prefetch: fullPrefetch(record) }),
    ...(opts.extension ? { extension: opts.extension } : {}),
  };
}
