/** Shapes the sandbox EHR's API hands to its browser page (types only, shared with web/sandbox). */
import type { HookRequest } from '../crd/types';

export interface SandboxScenario {
  /** The scenario file's name, e.g. 'ra-mtx-failure-approved'. */
  name: string;
  description: string;
  patientId: string;
  patientName: string;
  birthDate: string | null;
  /** Draft MedicationRequests of the patient (the orders a clinician can sign). */
  draftOrders: { id: string; label: string; requester: string | null }[];
}

/** A prepared hook call: the browser EHR page posts `request` to `serviceUrl` with `jwt` as bearer token. */
export interface PreparedHookCall {
  serviceUrl: string;
  jwt: string;
  request: HookRequest;
}
