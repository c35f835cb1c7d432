/** CDS Hooks 2.0 request and response shapes used by the CRD service. */
import type { Bundle, FhirResource, MedicationRequest } from 'fhir/r4';

export interface FhirAuthorization {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  subject?: string;
  patient?: string;
}

export interface HookRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: {
    userId: string;
    patientId: string;
    encounterId?: string;
    draftOrders: Bundle;
    selections?: string[];
  };
  prefetch?: Record<string, unknown>;
  extension?: Record<string, unknown>;
}

export interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}

export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; topic?: { system: string; code: string; display?: string } };
  links?: Link[];
  extension?: Record<string, unknown>;
}

export interface SystemAction {
  type: 'update';
  description: string;
  resource: MedicationRequest;
}

export interface HookResponse {
  cards: Card[];
  systemActions?: SystemAction[];
}

export interface ServiceDefinition {
  hook: string;
  id: string;
  title?: string;
  description: string;
  prefetch?: Record<string, string>;
  extension?: Record<string, unknown>;
}

export type { FhirResource };
