/**
 * Validation of CDS Hooks 2.0 requests for order-sign and order-select. Unknown fields are ignored
 * (CRD found-33, hook-23); missing or mistyped required fields are reported, all at once.
 */
import type { Bundle } from 'fhir/r4';
import type { HookRequest } from './types';

export interface ValidationIssue {
  path: string;
  message: string;
  /** True when the problem is in FHIR content (draftOrders, prefetch), reported as an OperationOutcome. */
  fhir?: boolean;
}

export type Validated = { ok: true; request: HookRequest } | { ok: false; issues: ValidationIssue[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

function validUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export function validateHookRequest(body: unknown, expectedHook: string): Validated {
  const issues: ValidationIssue[] = [];
  if (!isObject(body)) return { ok: false, issues: [{ path: '$', message: 'the request body must be a JSON object' }] };
  if (!isNonEmptyString(body.hook)) issues.push({ path: 'hook', message: 'hook is required' });
  else if (body.hook !== expectedHook) issues.push({ path: 'hook', message: `this service answers ${expectedHook}, not ${body.hook}` });
  if (!isNonEmptyString(body.hookInstance)) issues.push({ path: 'hookInstance', message: 'hookInstance is required (a UUID)' });
  if (body.fhirServer !== undefined && (!isNonEmptyString(body.fhirServer) || !validUrl(body.fhirServer))) {
    issues.push({ path: 'fhirServer', message: 'fhirServer must be an http(s) URL' });
  }
  if (body.fhirAuthorization !== undefined && body.fhirAuthorization !== null) {
    if (!isObject(body.fhirAuthorization) || !isNonEmptyString(body.fhirAuthorization.access_token)) {
      issues.push({ path: 'fhirAuthorization.access_token', message: 'fhirAuthorization must carry an access_token' });
    } else if (body.fhirServer === undefined) {
      issues.push({ path: 'fhirServer', message: 'fhirServer is required when fhirAuthorization is present' });
    }
  }
  if (body.extension !== undefined && body.extension !== null && !isObject(body.extension)) {
    issues.push({ path: 'extension', message: 'extension must be an object' });
  }
  if (body.prefetch !== undefined && body.prefetch !== null && !isObject(body.prefetch)) {
    issues.push({ path: 'prefetch', message: 'prefetch must be an object' });
  }
  const context = body.context;
  if (!isObject(context)) {
    issues.push({ path: 'context', message: 'context is required' });
  } else {
    if (!isNonEmptyString(context.patientId)) issues.push({ path: 'context.patientId', message: 'context.patientId is required' });
    if (!isNonEmptyString(context.userId)) issues.push({ path: 'context.userId', message: 'context.userId is required' });
    const orders = context.draftOrders as Bundle | undefined;
    if (!isObject(orders)) issues.push({ path: 'context.draftOrders', message: 'context.draftOrders (a Bundle) is required' });
    else if (orders.resourceType !== 'Bundle') {
      issues.push({ path: 'context.draftOrders', message: 'context.draftOrders must be a FHIR Bundle', fhir: true });
    } else if (orders.entry !== undefined && !Array.isArray(orders.entry)) {
      issues.push({ path: 'context.draftOrders.entry', message: 'Bundle.entry must be an array', fhir: true });
    } else {
      // How many entries a call may carry is a configured limit (MAX_DRAFT_ORDERS), checked before this.
      (orders.entry ?? []).forEach((e, i) => {
        if (!isObject(e) || !isObject(e.resource) || !isNonEmptyString((e.resource as { resourceType?: unknown }).resourceType)) {
          issues.push({ path: `context.draftOrders.entry[${i}]`, message: 'each entry must hold a FHIR resource', fhir: true });
        } else if ((e.resource as { resourceType: string }).resourceType === 'MedicationRequest' && !isNonEmptyString((e.resource as { id?: unknown }).id)) {
          issues.push({ path: `context.draftOrders.entry[${i}].resource.id`, message: 'draft orders must have an id (CDS Hooks: resources in context SHALL have an id)', fhir: true });
        }
      });
    }
    if (expectedHook === 'order-select') {
      if (!Array.isArray(context.selections) || !context.selections.every(isNonEmptyString)) {
        issues.push({ path: 'context.selections', message: 'context.selections (an array of references) is required for order-select' });
      }
    }
  }
  return issues.length ? { ok: false, issues } : { ok: true, request: body as unknown as HookRequest };
}
