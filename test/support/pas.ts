/**
 * PAS request and inquiry Bundles built from corpus scenarios, as a PAS client (an EHR, the DTR
 * app) sends them: the Claim first, its Patient (with a member number), Coverage, prescriber (with
 * an NPI), insurer, the Kineret order as the requested service, the completed QuestionnaireResponse
 * and the record as supporting information, each entry with a fullUrl.
 */
import type { Bundle, Claim, Coverage, FhirResource, MedicationRequest, Patient, Practitioner, QuestionnaireResponse } from 'fhir/r4';
import { HL7_SYSTEMS, PAS } from '../../src/constants';
import { loadScenarios, type ScenarioFile } from '../corpus';

export const EHR = 'https://ehr.test/fhir';
export const NPI = '1234567893';
export const MEMBER_SYSTEM = 'https://plan.test/member';

export interface PasBundleOptions {
  identifier?: string;
  identifierSystem?: string;
  /** 'stat' for an expedited request. */
  priority?: 'stat' | 'normal';
  /** Leave out the requestedService extension (what some clients send). */
  omitRequestedService?: boolean;
  /** The member number given to Patient and Coverage (default: the patient id). */
  memberId?: string;
  related?: string;
}

const full = (r: FhirResource) => `${EHR}/${r.resourceType}/${r.id}`;

/** The scenario's record with a member number and a prescriber with an NPI, as a plan's member's EHR would hold it. */
export function memberRecord(s: ScenarioFile, memberId?: string): FhirResource[] {
  const resources = structuredClone((s.bundle.entry ?? []).map((e) => e.resource!)) as FhirResource[];
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient')!;
  const id = memberId ?? `M-${patient.id}`;
  const mb = { type: { coding: [{ system: HL7_SYSTEMS.identifierType, code: 'MB' }] }, system: MEMBER_SYSTEM, value: id };
  patient.identifier = [...(patient.identifier ?? []), mb];
  const coverage = resources.find((r): r is Coverage => r.resourceType === 'Coverage');
  if (coverage) {
    coverage.subscriberId = id;
    coverage.relationship = { coding: [{ system: HL7_SYSTEMS.subscriberRelationship, code: 'self' }] };
  }
  if (!resources.some((r) => r.resourceType === 'Practitioner')) {
    const practitioner: Practitioner = { resourceType: 'Practitioner', id: 'dr-rheum', identifier: [{ system: HL7_SYSTEMS.npi, value: NPI }], name: [{ family: 'Rheum', given: ['Dana'] }] };
    resources.push(practitioner);
  }
  return resources;
}

export function pasBundle(s: ScenarioFile, qr: QuestionnaireResponse | null, opts: PasBundleOptions = {}): Bundle {
  const record = memberRecord(s, opts.memberId);
  const patient = record.find((r) => r.resourceType === 'Patient')!;
  const coverage = record.find((r) => r.resourceType === 'Coverage');
  const payer = record.find((r) => r.resourceType === 'Organization' && r.id === 'payer');
  const order = record.find((r) => r.resourceType === 'MedicationRequest' && r.id === 'kineret-order')!;
  const response = qr ? { ...structuredClone(qr), id: qr.id ?? `qr-${patient.id}` } : null;
  const supporting: FhirResource[] = [...(response ? [response] : []), ...record.filter((r) => !['Patient', 'Coverage', 'Practitioner'].includes(r.resourceType) && r !== order && r !== payer)];
  const claim: Claim = {
    resourceType: 'Claim',
    id: `pa-${patient.id}`,
    ...(opts.priority === 'stat' ? { extension: [{ url: PAS.levelOfServiceCode, valueCodeableConcept: { coding: [{ system: PAS.x12LevelOfService, code: 'U', display: 'Urgent' }] } }] } : {}),
    identifier: [{ system: opts.identifierSystem ?? 'https://ehr.test/prior-auth', value: opts.identifier ?? `PA-${patient.id}` }],
    status: 'active',
    type: { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy' }] },
    use: 'preauthorization',
    patient: { reference: full(patient) },
    created: `${s.evaluationDate}T10:00:00Z`,
    ...(payer ? { insurer: { reference: full(payer) } } : {}),
    provider: { reference: `${EHR}/Practitioner/dr-rheum` },
    priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: opts.priority ?? 'normal' }] },
    insurance: coverage ? [{ sequence: 1, focal: true, coverage: { reference: full(coverage) } }] : [],
    supportingInfo: supporting.map((r, i) => ({
      sequence: i + 1,
      category: { coding: [{ system: PAS.tempCodes, code: 'additionalInformation' }] },
      valueReference: { reference: full(r) },
    })),
    ...(opts.related ? { related: [{ claim: { identifier: { system: opts.identifierSystem ?? 'https://ehr.test/prior-auth', value: opts.related } } }] } : {}),
    item: [{
      sequence: 1,
      ...(opts.omitRequestedService ? {} : { extension: [{ url: PAS.requestedService, valueReference: { reference: full(order) } }] }),
      category: { coding: [{ system: 'https://codesystem.x12.org/005010/1365', code: '1' }] },
      productOrService: (order as MedicationRequest).medicationCodeableConcept ?? { text: 'Kineret' },
      quantity: { value: 1 },
    }],
  };
  const resources: FhirResource[] = [claim, patient, ...(coverage ? [coverage] : []), ...(payer ? [payer] : []), record.find((r) => r.resourceType === 'Practitioner')!, order, ...supporting];
  return {
    resourceType: 'Bundle',
    identifier: { system: 'https://ehr.test/pas-transactions', value: `T-${opts.identifier ?? patient.id}` },
    type: 'collection',
    timestamp: `${s.evaluationDate}T10:00:00Z`,
    entry: resources.map((resource) => ({ fullUrl: full(resource), resource })),
  };
}

/** An inquiry Bundle (PAS Claim Inquiry): the Claim with identifier (optional), patient and provider. */
export function inquiryBundle(s: ScenarioFile, opts: { identifier?: string; identifierSystem?: string; memberId?: string; npi?: string } = {}): Bundle {
  const record = memberRecord(s, opts.memberId);
  const patient = record.find((r) => r.resourceType === 'Patient')!;
  const practitioner: Practitioner = { resourceType: 'Practitioner', id: 'dr-rheum', identifier: [{ system: HL7_SYSTEMS.npi, value: opts.npi ?? NPI }] };
  const payer = record.find((r) => r.resourceType === 'Organization' && r.id === 'payer');
  const claim: Claim = {
    resourceType: 'Claim',
    id: `inquiry-${patient.id}`,
    ...(opts.identifier ? { identifier: [{ system: opts.identifierSystem ?? 'https://ehr.test/prior-auth', value: opts.identifier }] } : {}),
    status: 'active',
    type: { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy' }] },
    use: 'preauthorization',
    patient: { reference: full(patient) },
    created: `${s.evaluationDate}T11:00:00Z`,
    ...(payer ? { insurer: { reference: full(payer) } } : {}),
    provider: { reference: full(practitioner) },
    priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: 'normal' }] },
    insurance: [],
    item: [{ sequence: 1, productOrService: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-applicable' }] } }],
  };
  return {
    resourceType: 'Bundle',
    identifier: { system: 'https://ehr.test/pas-transactions', value: `I-${patient.id}` },
    type: 'collection',
    timestamp: `${s.evaluationDate}T11:00:00Z`,
    entry: [claim, patient, practitioner, ...(payer ? [payer] : [])].map((resource) => ({ fullUrl: full(resource), resource })),
  };
}

let corpus: ScenarioFile[] | undefined;
/** A corpus scenario by name. */
export function scenario(name: string): ScenarioFile {
  corpus ??= loadScenarios();
  const s = corpus.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}
