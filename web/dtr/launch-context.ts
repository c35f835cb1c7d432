/**
 * What the EHR launch gives the app (SMART App Launch 2): the patient, the user (fhirUser from the
 * id_token), and the order, coverage and questionnaire, from the CRD card's appContext
 * (`questionnaire=...&order=MedicationRequest/...&coverage=Coverage/...`) or, when the EHR sends it,
 * from fhirContext.
 */
import { parseReference } from '../../src/fhir/references';
import type Client from 'fhirclient/lib/Client';

export interface Launch {
  ehrBase: string;
  patientId: string;
  /** 'Practitioner/123', relative to the EHR. */
  user: string | null;
  order: string | null;
  coverage: string | null;
  questionnaire: string | null;
  /** appContext `form`: `adaptive` or `standard`, when the launch chooses the form. */
  form: 'standard' | 'adaptive' | null;
  /** Set by the sandbox EHR: it labels itself as development-only. */
  sandboxLabel: string | null;
}

interface FhirContextItem {
  reference?: string;
  canonical?: string;
  type?: string;
}

/** appContext is a string; the CRD card sends form-encoded pairs, some EHRs send JSON. */
export function parseAppContext(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof raw !== 'string' || !raw) return out;
  if (raw.trim().startsWith('{')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(raw) as Record<string, unknown>)) if (typeof v === 'string') out.set(k, v);
      return out;
    } catch {
      return out;
    }
  }
  for (const [k, v] of new URLSearchParams(raw)) out.set(k, v);
  return out;
}

function relative(reference: string | null): string | null {
  const parsed = parseReference(reference);
  return parsed ? `${parsed.type}/${parsed.id}` : null;
}

export function launchFromToken(token: Record<string, unknown>, ehrBase: string, fhirUser: string | null): Launch {
  const app = parseAppContext(token.appContext);
  const context = (Array.isArray(token.fhirContext) ? token.fhirContext : []) as FhirContextItem[];
  const refs = context.map((c) => c?.reference).filter((r): r is string => typeof r === 'string');
  const patientId = typeof token.patient === 'string' ? token.patient : '';
  if (!patientId) throw new Error('the EHR launch gave no patient');
  return {
    ehrBase,
    patientId,
    user: relative(fhirUser),
    order: app.get('order') ?? refs.find((r) => /^(MedicationRequest|ServiceRequest|DeviceRequest)\//.test(r)) ?? null,
    coverage: app.get('coverage') ?? refs.find((r) => r.startsWith('Coverage/')) ?? null,
    questionnaire: app.get('questionnaire') ?? context.find((c) => c?.type === 'Questionnaire' && typeof c.canonical === 'string')?.canonical ?? null,
    form: app.get('form') === 'adaptive' ? 'adaptive' : app.get('form') === 'standard' ? 'standard' : null,
    sandboxLabel: typeof token.sandbox === 'string' ? token.sandbox : null,
  };
}

export function readLaunch(client: Client): Launch {
  return launchFromToken((client.state.tokenResponse ?? {}) as Record<string, unknown>, client.state.serverUrl, client.getFhirUser());
}
