/**
 * The DTR app's prior authorization request (Da Vinci PAS STU 2.0.1), built from what the app holds:
 * the Claim (use preauthorization) whose one item is the Kineret order (requestedService), the
 * completed QuestionnaireResponse and the record the payer's rules read as supporting information,
 * the Patient, Coverage, prescriber and insurer. Every entry's fullUrl is its URL on the EHR, so a
 * retry sends the same request. And the plan's answer read back for display. Pure functions.
 */
import type { Bundle, Claim, CodeableConcept, Coding, Coverage, FhirResource, MedicationRequest, Patient, Practitioner, QuestionnaireResponse, Reference } from 'fhir/r4';
import { HL7_SYSTEMS, PAS } from '../../src/constants';
import { parseReference } from '../../src/fhir/references';

export { readAuthorization, readClaimResponse, type Authorization } from '../../src/pas/answer';

/** Kineret's NDC packages (verified, terminology/valuesets kineret-products): 7 syringes, or 4 cartons of 7. */
const NDC_7 = { system: 'http://hl7.org/fhir/sid/ndc', code: '66658-0234-07', display: 'Kineret 7 syringes in 1 carton (11-digit form)' };
const NDC_28 = { system: 'http://hl7.org/fhir/sid/ndc', code: '66658-0234-28', display: 'Kineret 4 cartons of 7 syringes (11-digit form)' };
/**
 * X12 service type (element 1365) of the item: "1" Medical Care. PAS 2.0.1 requires an item category
 * from this list; the code is not checked against the licensed X12 list (the payer of this app does
 * not read it).
 */
const SERVICE_TYPE: Coding = { system: 'https://codesystem.x12.org/005010/1365', code: '1', display: 'Medical Care' };

export interface PasRequestInput {
  /** The EHR's FHIR base: entries' fullUrls are their URLs there. */
  ehrBase: string;
  /** The request's identifier: system urn:ietf:rfc:3986, value a urn:uuid (also the Claim's fullUrl). */
  identifier: { system: string; value: string };
  /** The Claim.identifier of an earlier, still pended request this one replaces. */
  replaces: { system: string; value: string } | null;
  response: QuestionnaireResponse;
  order: MedicationRequest;
  coverage: Coverage;
  /** The record the app read for the payer's rules (Patient, order and Coverage included). */
  record: Bundle;
  prescriber: Practitioner | null;
  now: string;
}

/** The NDC package of the order: what the item asks for, in the code system PAS takes for drugs. */
function requestedProduct(order: MedicationRequest): CodeableConcept {
  const syringes = order.dispenseRequest?.quantity?.value ?? 0;
  const ndc = (order.medicationCodeableConcept?.coding ?? []).find((c) => c.system === NDC_7.system);
  return {
    coding: [ndc ?? (syringes >= 28 ? NDC_28 : NDC_7), ...(order.medicationCodeableConcept?.coding ?? []).filter((c) => c !== ndc)],
    text: order.medicationCodeableConcept?.text ?? 'Kineret (anakinra)',
  };
}

export function buildPasRequest(input: PasRequestInput): Bundle {
  const url = (r: { resourceType: string; id?: string }) => `${input.ehrBase.replace(/\/+$/, '')}/${r.resourceType}/${r.id}`;
  const ref = (r: { resourceType: string; id?: string }): Reference => ({ reference: url(r) });
  const record = (input.record.entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r?.id));
  const patient = record.find((r) => r.resourceType === 'Patient')!;
  const payor = parseReference(input.coverage.payor?.[0]?.reference);
  const insurer = payor ? record.find((r) => r.resourceType === payor.type && r.id === payor.id) : undefined;
  const core: FhirResource[] = [patient, input.coverage, input.order, ...(insurer ? [insurer] : [])];
  const key = (r: FhirResource) => `${r.resourceType}/${r.id}`;
  const inCore = new Set([...core, ...(input.prescriber ? [input.prescriber] : [])].map(key));
  // Each resource once (PAS), whichever copy the app holds.
  const supporting: FhirResource[] = [input.response, ...record.filter((r) => !inCore.has(key(r)) && r.resourceType !== 'Practitioner')];
  const claim: Claim = {
    resourceType: 'Claim',
    id: input.identifier.value.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 64),
    identifier: [input.identifier],
    status: 'active',
    type: { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy', display: 'Pharmacy' }] },
    use: 'preauthorization',
    patient: ref(patient),
    created: input.now,
    ...(insurer ? { insurer: ref(insurer) } : {}),
    provider: input.prescriber ? ref(input.prescriber) : input.order.requester ?? { display: 'unknown prescriber' },
    priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: 'normal' }] },
    ...(input.replaces ? { related: [{ claim: { identifier: input.replaces }, relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship', code: 'prior' }] } }] } : {}),
    insurance: [{ sequence: 1, focal: true, coverage: ref(input.coverage) }],
    supportingInfo: supporting.map((r, i) => ({
      sequence: i + 1,
      category: { coding: [{ system: PAS.tempCodes, code: 'additionalInformation' }] },
      valueReference: ref(r),
    })),
    item: [{
      sequence: 1,
      extension: [{ url: PAS.requestedService, valueReference: ref(input.order) }],
      category: { coding: [SERVICE_TYPE] },
      productOrService: requestedProduct(input.order),
      quantity: { value: input.order.dispenseRequest?.quantity?.value ?? 1 },
    }],
  };
  const entries: FhirResource[] = [claim, ...core, ...(input.prescriber ? [input.prescriber] : []), ...supporting];
  return {
    resourceType: 'Bundle',
    meta: { profile: [PAS.requestBundleProfile] },
    identifier: { system: input.identifier.system, value: `${input.identifier.value}-${input.now}` },
    type: 'collection',
    timestamp: input.now,
    entry: entries.map((resource) => ({ fullUrl: resource === claim ? input.identifier.value : url(resource), resource })),
  };
}

/** Who an inquiry is about and from, for one order: what the app holds at launch. */
export interface OrderInquiryInput {
  ehrBase: string;
  patient: Patient;
  order: MedicationRequest;
  coverage: Coverage;
  /** The order's prescriber as read from the EHR (null: the order's requester reference names the provider, as in the request). */
  prescriber: Practitioner | null;
  /** A request's identifier to ask for; null asks for every request of this client for the patient and provider. */
  identifier: { system: string; value: string } | null;
  now: string;
}

/**
 * A PAS inquiry (query by example) built from the order, not from a request the app sent: the patient and the
 * requesting provider named as buildPasRequest names them (so the plan matches the same NPI or reference), the
 * coverage, and the item for the order. Without an identifier it asks for this client's requests for the patient
 * and provider; the plan answers each with its current ClaimResponse (see ./earlier.ts).
 */
export function buildOrderInquiry(input: OrderInquiryInput): Bundle {
  const url = (r: { resourceType: string; id?: string }) => `${input.ehrBase.replace(/\/+$/, '')}/${r.resourceType}/${r.id}`;
  const inquiry: Claim = {
    resourceType: 'Claim',
    id: 'inquiry',
    ...(input.identifier ? { identifier: [input.identifier] } : {}),
    status: 'active',
    type: { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy', display: 'Pharmacy' }] },
    use: 'preauthorization',
    patient: { reference: url(input.patient) },
    created: input.now,
    provider: input.prescriber ? { reference: url(input.prescriber) } : input.order.requester ?? { display: 'unknown prescriber' },
    priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: url(input.coverage) } }],
    item: [{
      sequence: 1,
      extension: [{ url: PAS.requestedService, valueReference: { reference: url(input.order) } }],
      category: { coding: [SERVICE_TYPE] },
      productOrService: requestedProduct(input.order),
    }],
  };
  const parties: FhirResource[] = [input.patient, input.coverage, ...(input.prescriber ? [input.prescriber] : [])];
  return {
    resourceType: 'Bundle',
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` },
    type: 'collection',
    timestamp: input.now,
    entry: [{ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: inquiry }, ...parties.map((resource) => ({ fullUrl: url(resource), resource }))],
  };
}

/** A PAS inquiry for the request: its identifier, patient and provider, as PAS asks. */
export function buildInquiry(request: Bundle, now: string): Bundle {
  const claim = request.entry![0].resource as Claim;
  const wanted = new Set([claim.patient.reference, claim.provider?.reference, claim.insurer?.reference, ...claim.insurance.map((x) => x.coverage.reference)].filter(Boolean));
  const inquiry: Claim = {
    resourceType: 'Claim',
    id: `${claim.id}-inquiry`,
    identifier: claim.identifier,
    status: 'active',
    type: claim.type,
    use: 'preauthorization',
    patient: claim.patient,
    created: now,
    ...(claim.insurer ? { insurer: claim.insurer } : {}),
    provider: claim.provider,
    priority: claim.priority,
    insurance: claim.insurance,
    item: [{ sequence: 1, productOrService: claim.item![0].productOrService }],
  };
  return {
    resourceType: 'Bundle',
    identifier: { system: claim.identifier![0].system, value: `${claim.identifier![0].value}-inquiry-${now}` },
    type: 'collection',
    timestamp: now,
    entry: [{ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: inquiry }, ...(request.entry ?? []).filter((e) => e.fullUrl && wanted.has(e.fullUrl))],
  };
}

