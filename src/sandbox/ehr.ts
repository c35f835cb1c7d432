/**
 * What the sandbox EHR does around its FHIR server (DEVELOPMENT ONLY): it lists its patients and
 * their draft Kineret orders, prepares an order-sign call the way an EHR's CDS client does (hook
 * context, prefetch from the service's discovery templates, a fhirAuthorization token for its own
 * FHIR server, and a CDS Hooks JWT signed with its key), and registers SMART EHR launches.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Claim, FhirResource, MedicationRequest, Patient, Practitioner } from 'fhir/r4';
import { HL7_SYSTEMS } from '../constants';
import type { FhirAuthorization, HookRequest, ServiceDefinition } from '../crd/types';
import type { FhirContextItem, SandboxAuthServer, SandboxGrant } from './auth';
import type { PreparedHookCall, SandboxScenario } from './types';
import type { SandboxFhirServer } from './fhir-server';
import type { SandboxIdentity } from './identity';

/** The CDS service's client id at the sandbox authorization server (fhirAuthorization.subject). */
export const CDS_SERVICE_CLIENT_ID = 'kineret-pa-crd';
/** How long the CDS service may use the fhirAuthorization token. */
const CDS_TOKEN_TTL_SECONDS = 300;

export class SandboxRequestError extends Error {
  override readonly name = 'SandboxRequestError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface SandboxEhrDeps {
  identity: SandboxIdentity;
  auth: SandboxAuthServer;
  fhir: SandboxFhirServer;
  scenarios: SandboxScenario[];
  publicBaseUrl: string;
  services: ServiceDefinition[];
  /** Launch URLs of the SMART apps the sandbox knows (an EHR launches only registered apps). */
  appLaunchUrls: string[];
  /** Today (YYYY-MM-DD) by the services' clock: the date of new orders. */
  today: () => string;
}

const EHR_GRANT: SandboxGrant = { clientId: 'sandbox-ehr', scopes: ['system/*.rs'], patient: null, user: null, expiresAt: Infinity };

export class SandboxEhr {
  constructor(private readonly deps: SandboxEhrDeps) {}

  patients(): SandboxScenario[] {
    return this.deps.scenarios;
  }

  private scenario(patientId: string): SandboxScenario {
    const s = this.deps.scenarios.find((x) => x.patientId === patientId);
    if (!s) throw new SandboxRequestError(404, `the sandbox has no Patient/${patientId}`);
    return s;
  }

  private async order(patientId: string, orderId: string): Promise<MedicationRequest> {
    const order = await this.deps.fhir.read<MedicationRequest>('MedicationRequest', orderId);
    if (!order || order.subject?.reference !== `Patient/${patientId}`) throw new SandboxRequestError(404, `Patient/${patientId} has no MedicationRequest/${orderId}`);
    return order;
  }

  /** The signed-in clinician: the order's prescriber. */
  private user(order: MedicationRequest): string {
    const ref = order.requester?.reference;
    if (!ref?.startsWith('Practitioner/')) throw new SandboxRequestError(422, `MedicationRequest/${order.id} names no Practitioner as requester`);
    return ref;
  }

  /** Fills {{context.patientId}}, {{context.userId}} and {{userPractitionerId}}; null when a token cannot be filled. */
  private fillTemplate(template: string, context: { patientId: string; userId: string }): string | null {
    const values: Record<string, string> = {
      'context.patientId': context.patientId,
      'context.userId': context.userId,
      userPractitionerId: context.userId.replace(/^Practitioner\//, ''),
    };
    let missing = false;
    const filled = template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_m, key: string) => {
      if (!(key in values)) missing = true;
      return encodeURIComponent(values[key] ?? '');
    });
    return missing ? null : filled;
  }

  private async prefetch(service: ServiceDefinition, context: { patientId: string; userId: string }): Promise<Record<string, FhirResource | null>> {
    const out: Record<string, FhirResource | null> = {};
    await Promise.all(Object.entries(service.prefetch ?? {}).map(async ([key, template]) => {
      const query = this.fillTemplate(template, context);
      if (!query) return;
      const result = await this.deps.fhir.handle('GET', query, undefined, EHR_GRANT);
      // CDS Hooks: a read that finds nothing is sent as null; a failed query is left out.
      if (result.status === 404) out[key] = null;
      else if (result.status < 300) out[key] = result.body;
    }));
    return out;
  }

  /** Prepares order-sign for one draft order, as the EHR's CDS client would send it. */
  async orderSign(input: { patientId: string; orderId: string; prefetch: boolean; serviceId?: string }): Promise<PreparedHookCall> {
    this.scenario(input.patientId);
    const serviceId = input.serviceId ?? 'crd-order-sign';
    const service = this.deps.services.find((s) => s.id === serviceId && s.hook === 'order-sign');
    if (!service) throw new SandboxRequestError(404, `no order-sign service ${serviceId} in discovery`);
    const order = await this.order(input.patientId, input.orderId);
    const userId = this.user(order);
    const fhirServer = this.deps.fhir.base;
    const scope = 'patient/*.rs';
    const fhirAuthorization: FhirAuthorization = {
      access_token: this.deps.auth.issue({ clientId: CDS_SERVICE_CLIENT_ID, scopes: [scope], patient: input.patientId, user: null }, CDS_TOKEN_TTL_SECONDS),
      token_type: 'Bearer',
      expires_in: CDS_TOKEN_TTL_SECONDS,
      scope,
      subject: CDS_SERVICE_CLIENT_ID,
      patient: input.patientId,
    };
    const draftOrders: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] };
    const request: HookRequest = {
      hook: 'order-sign',
      hookInstance: randomUUID(),
      fhirServer,
      fhirAuthorization,
      context: { userId, patientId: input.patientId, draftOrders },
      ...(input.prefetch ? { prefetch: await this.prefetch(service, { patientId: input.patientId, userId }) } : {}),
    };
    const serviceUrl = `${this.deps.publicBaseUrl}/cds-services/${service.id}`;
    return { serviceUrl, jwt: await this.deps.identity.cdsJwt(serviceUrl), request };
  }

  /**
   * A new draft order for the patient, written like an existing one (the clinician renews it): a new
   * id, authored today. The order list of the patient shows it.
   */
  async newOrder(input: { patientId: string; orderId: string }): Promise<{ id: string; label: string; requester: string | null }> {
    const scenario = this.scenario(input.patientId);
    const order = await this.order(input.patientId, input.orderId);
    const base = order.id!.replace(/-r\d+$/, '');
    let n = 1;
    while (scenario.draftOrders.some((o) => o.id === `${base}-r${n}`)) n++;
    const copy: MedicationRequest = { ...structuredClone(order), id: `${base}-r${n}`, status: 'draft', authoredOn: this.deps.today(), meta: undefined };
    await this.deps.fhir.put(copy);
    const summary = { id: copy.id!, label: `${scenario.draftOrders.find((o) => o.id === order.id)?.label ?? 'Kineret (anakinra)'} (renewal ${n})`, requester: copy.requester?.reference ?? null };
    scenario.draftOrders.push(summary);
    return summary;
  }

  /**
   * A PAS inquiry for the patient's prior authorization requests, as the EHR sends it: the patient
   * and the prescriber of the patient's orders (PAS: an inquiry names both).
   */
  async inquiryFor(patientId: string): Promise<Bundle> {
    const scenario = this.scenario(patientId);
    const patient = await this.deps.fhir.read<Patient>('Patient', patientId);
    const requester = scenario.draftOrders.find((o) => o.requester?.startsWith('Practitioner/'))?.requester;
    const prescriber = requester ? await this.deps.fhir.read<Practitioner>('Practitioner', requester.slice('Practitioner/'.length)) : undefined;
    if (!patient || !prescriber) throw new SandboxRequestError(404, `Patient/${patientId} has no prescriber to inquire for`);
    const url = (r: FhirResource) => `${this.deps.fhir.base}/${r.resourceType}/${r.id}`;
    const claim: Claim = {
      resourceType: 'Claim',
      id: `inquiry-${patientId}`,
      status: 'active',
      type: { coding: [{ system: HL7_SYSTEMS.claimType, code: 'pharmacy' }] },
      use: 'preauthorization',
      patient: { reference: url(patient) },
      created: `${this.deps.today()}T00:00:00Z`,
      provider: { reference: url(prescriber) },
      priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: 'normal' }] },
      insurance: [],
      item: [{ sequence: 1, productOrService: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-applicable' }] } }],
    };
    return {
      resourceType: 'Bundle',
      type: 'collection',
      timestamp: `${this.deps.today()}T00:00:00Z`,
      entry: [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: claim }, { fullUrl: url(patient), resource: patient }, { fullUrl: url(prescriber), resource: prescriber }],
    };
  }

  /**
   * Registers an EHR launch of a card's SMART link and returns the URL to open:
   * the link's URL with launch and iss, the card's appContext kept on the launch.
   */
  async launch(input: { patientId: string; orderId: string; url: string; appContext?: string }): Promise<string> {
    this.scenario(input.patientId);
    const target = this.deps.appLaunchUrls.find((u) => u === input.url.split('?')[0]);
    if (!target) throw new SandboxRequestError(400, `the sandbox knows no SMART app at ${input.url}; it launches only ${this.deps.appLaunchUrls.join(', ')}`);
    const order = await this.order(input.patientId, input.orderId);
    const context = new URLSearchParams(input.appContext ?? '');
    const fhirContext: FhirContextItem[] = [];
    for (const key of ['order', 'coverage']) {
      const ref = context.get(key);
      if (ref) fhirContext.push({ reference: ref });
    }
    if (!context.get('order')) fhirContext.push({ reference: `MedicationRequest/${order.id}` });
    const questionnaire = context.get('questionnaire');
    if (questionnaire) fhirContext.push({ canonical: questionnaire, type: 'Questionnaire' });
    const launch = this.deps.auth.createLaunch({ patient: input.patientId, user: this.user(order), appContext: input.appContext, fhirContext });
    const url = new URL(input.url);
    url.searchParams.set('launch', launch);
    url.searchParams.set('iss', this.deps.fhir.base);
    return url.toString();
  }
}
