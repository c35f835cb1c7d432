/**
 * Patient, order and coverage must agree before anything is evaluated: one patient per request.
 * Every channel (the CRD hook, the DTR operations) names its patient once (context.patientId, the
 * response's subject, the operation's subject) and every resource it brings that belongs to a
 * patient must belong to that one: the Patient itself, the orders' subject, Coverage.beneficiary,
 * and the subject or patient of every record entry. A mismatch is refused, never answered.
 * Browser-safe.
 */
import type { FhirResource } from 'fhir/r4';
import type { IssueInput } from '../fhir/outcome';
import { parseReference } from '../fhir/references';

/** The elements through which a resource belongs to a patient (the patient compartment's usual links). */
const PATIENT_LINKS = ['subject', 'patient', 'beneficiary'] as const;

/** The patient references of a resource: [element, patient id] for each link that names a Patient. */
export function patientLinks(resource: FhirResource): { element: string; patientId: string }[] {
  if (resource.resourceType === 'Patient') return resource.id ? [{ element: 'id', patientId: resource.id }] : [];
  const r = resource as unknown as Record<string, unknown>;
  const out: { element: string; patientId: string }[] = [];
  for (const element of PATIENT_LINKS) {
    const value = r[element];
    const ref = value && typeof value === 'object' && !Array.isArray(value) ? (value as { reference?: unknown }).reference : undefined;
    const parsed = typeof ref === 'string' ? parseReference(ref) : null;
    if (parsed?.type === 'Patient') out.push({ element, patientId: parsed.id });
  }
  return out;
}

export interface Located {
  resource: FhirResource;
  /** Where it sits in the request ('prefetch.conditions', 'context.draftOrders.entry[0].resource'). */
  where: string;
}

/** An issue for every resource that belongs to another patient than `patientId` (`named`: how the request names it). */
export function patientMismatches(patientId: string, named: string, resources: Located[]): (IssueInput & { where: string; expression: string })[] {
  const issues: (IssueInput & { where: string; expression: string })[] = [];
  for (const { resource, where } of resources) {
    for (const link of patientLinks(resource)) {
      if (link.patientId === patientId) continue;
      const what = link.element === 'id' ? `is Patient/${link.patientId}` : `names Patient/${link.patientId} as ${link.element}`;
      issues.push({
        where,
        code: 'business-rule',
        expression: `${resource.resourceType}.${link.element}`,
        diagnostics: `${where} (${resource.resourceType}${resource.id ? `/${resource.id}` : ''}) ${what}, but ${named} is Patient/${patientId}: one request is about one patient`,
      });
    }
  }
  return issues;
}
