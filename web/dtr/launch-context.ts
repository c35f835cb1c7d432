/**
 * What the EHR launch gives the app (SMART App Launch 2): the patient, the user (fhirUser from the
 * id_token), and the order, coverage and questionnaire, from the CRD card's appContext
 * (`questionnaire=...&order=MedicationRequest/...&coverage=Coverage/...`) or, when the EHR sends it,
 * from fhirContext. The order may also come as the resource itself (the Da Vinci reference CRD
 * service puts the order's JSON in appContext `order`), for a draft the EHR never saved; and under
 * `medication_request`, the name the Da Vinci DTR app uses for it.
 */
import type { MedicationRequest } from 'fhir/r4';
import type Client from 'fhirclient/lib/Client';
import { parseReference } from '../../src/fhir/references';

export interface Launch {
  ehrBase: string;
  patientId: string;
  /** 'Practitioner/123', relative to the EHR. */
  user: string | null;
  /** 'MedicationRequest/123' */
  order: string | null;
  /** The order itself, when the launch carries it (the EHR may have no copy of a draft order). */
  orderResource: MedicationRequest | null;
  coverage: string | null;
  questionnaire: string | null;
  /** appContext `form`: `adaptive` or `standard`, when the launch chooses the form. */
  form: 'standard' | 'adaptive' | null;
  /** Set by the sandbox EHR: it labels itself as development-only. */
  sandboxLabel: string | null;
}

/** What the app proves its launch with when it opens its payer session (src/security/dtr-session.ts). */
export interface LaunchCredentials {
  idToken: string | null;
  accessToken: string;
  fhirBase: string;
  patient: string;
}

interface FhirContextItem {
  reference?: string;
  canonical?: string;
  type?: string;
}

/** Names an order goes by in appContext: ours, and the Da Vinci DTR app's. */
const ORDER_KEYS = ['order', 'medication_request', 'medicationRequest'];

/** appContext is a string; the CRD card sends form-encoded pairs, some EHRs send JSON. Values are kept as text (objects as JSON). */
export function parseAppContext(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof raw !== 'string' || !raw) return out;
  if (raw.trim().startsWith('{')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(raw) as Record<string, unknown>)) {
        if (typeof v === 'string') out.set(k, v);
        else if (v && typeof v === 'object') out.set(k, JSON.stringify(v));
      }
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

/** An order given as JSON in appContext (a MedicationRequest with an id), or null. */
function orderFromJson(text: string | undefined): MedicationRequest | null {
  if (!text || !text.trim().startsWith('{')) return null;
  try {
    // The Da Vinci CRD service escapes the JSON's quotes in appContext.
    const resource = JSON.parse(text.replace(/\\"/g, '"')) as MedicationRequest;
    return resource?.resourceType === 'MedicationRequest' && typeof resource.id === 'string' ? resource : null;
  } catch {
    return null;
  }
}

export function launchFromToken(token: Record<string, unknown>, ehrBase: string, fhirUser: string | null): Launch {
  const app = parseAppContext(token.appContext);
  const context = (Array.isArray(token.fhirContext) ? token.fhirContext : []) as FhirContextItem[];
  const refs = context.map((c) => c?.reference).filter((r): r is string => typeof r === 'string');
  const patientId = typeof token.patient === 'string' ? token.patient : '';
  if (!patientId) throw new Error('the EHR launch gave no patient');
  const orderText = ORDER_KEYS.map((k) => app.get(k)).find((v) => v !== undefined);
  const orderResource = orderFromJson(orderText);
  const orderRef = orderResource ? `MedicationRequest/${orderResource.id}` : relative(orderText ?? null);
  return {
    ehrBase,
    patientId,
    user: relative(fhirUser),
    order: orderRef ?? refs.map(relative).find((r) => r !== null && /^(MedicationRequest|ServiceRequest|DeviceRequest)\//.test(r)) ?? null,
    orderResource,
    coverage: relative(app.get('coverage') ?? null) ?? refs.map(relative).find((r) => r?.startsWith('Coverage/')) ?? null,
    questionnaire: app.get('questionnaire') ?? context.find((c) => c?.type === 'Questionnaire' && typeof c.canonical === 'string')?.canonical ?? null,
    form: app.get('form') === 'adaptive' ? 'adaptive' : app.get('form') === 'standard' ? 'standard' : null,
    sandboxLabel: typeof token.sandbox === 'string' ? token.sandbox : null,
  };
}

export function readLaunch(client: Client): Launch {
  return launchFromToken((client.state.tokenResponse ?? {}) as Record<string, unknown>, client.state.serverUrl, client.getFhirUser());
}

export function launchCredentials(client: Client, launch: Launch): LaunchCredentials {
  const token = client.state.tokenResponse ?? {};
  return {
    idToken: typeof token.id_token === 'string' ? token.id_token : null,
    accessToken: typeof token.access_token === 'string' ? token.access_token : '',
    fhirBase: client.state.serverUrl,
    patient: launch.patientId,
  };
}
