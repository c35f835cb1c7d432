/**
 * Who the member is, as the plan knows them: the keys a prior authorization is filed under and an
 * order is matched against (CRD "authorization on file"), and the patient identifiers a PAS inquiry
 * names. A key is only made from what identifies one member:
 *
 * - a member number: an identifier of type MB (v2-0203) on the Coverage or on the Patient;
 * - the Coverage's subscriberId, when it is the member's own: the beneficiary is the subscriber
 *   (relationship `self`, or `subscriber` naming the beneficiary), or `dependent` tells the members
 *   of one subscription apart. A subscriberId shared by a family is never a member key on its own.
 *
 * An EHR's own patient id is never a member key: two EHRs may use the same id for different people.
 */
import type { Coverage, Identifier, Patient } from 'fhir/r4';
import { HL7_SYSTEMS } from '../constants';
import { referenceId } from '../fhir/references';

function isMemberNumber(id: Identifier): boolean {
  return Boolean(id.value) && (id.type?.coding ?? []).some((c) => c.code === 'MB' && (!c.system || c.system === HL7_SYSTEMS.identifierType));
}

const idKey = (id: Identifier) => `${id.system ?? ''}|${id.value}`;

/** The member keys of a beneficiary under a coverage ('member:system|value', 'subscriber:id#dependent'). */
export function memberKeys(patient: Patient | undefined, coverage: Coverage | undefined): string[] {
  const keys = new Set<string>();
  for (const id of [...(coverage?.identifier ?? []), ...(patient?.identifier ?? [])]) {
    if (isMemberNumber(id)) keys.add(`member:${idKey(id)}`);
  }
  const subscriberId = coverage?.subscriberId?.trim();
  if (coverage && subscriberId) {
    const beneficiary = referenceId(coverage.beneficiary, 'Patient');
    const self = (coverage.relationship?.coding ?? []).some((c) => c.code === 'self') ||
      (beneficiary !== undefined && referenceId(coverage.subscriber, 'Patient') === beneficiary);
    if (coverage.dependent) keys.add(`subscriber:${subscriberId}#${coverage.dependent}`);
    else if (self) keys.add(`subscriber:${subscriberId}#self`);
  }
  return [...keys].sort();
}

/** Every identifier of the patient ('system|value'): what a PAS inquiry matches Claim.patient on. */
export function patientIdentifierKeys(patient: Patient | undefined): string[] {
  return [...new Set((patient?.identifier ?? []).filter((i) => i.value).map(idKey))].sort();
}
