/**
 * The Request stage of the CRD channel: a CDS Hooks 2.0 order-sign or order-select call is
 * validated as wire format, its FHIR content read leniently but strictly (src/fhir/read.ts), and
 * its patient, orders and coverage checked to agree (src/core/consistency.ts); out comes one
 * internal request, or the reasons it is refused. Unknown fields are ignored (CRD found-33,
 * hook-23); problems are reported all at once.
 */
import type { Bundle, FhirResource, MedicationRequest } from 'fhir/r4';
import { patientMismatches, type Located } from '../core/consistency';
import { operationOutcome, type IssueInput } from '../fhir/outcome';
import { errorsIn, type FhirReader, type ReadIssue } from '../fhir/read';
import type { HookRequest, ServiceDefinition } from './types';

export interface ValidationIssue {
  path: string;
  message: string;
  /** True when the problem is in FHIR content (draftOrders, prefetch), also reported as an OperationOutcome issue. */
  fhir?: boolean;
  /** FHIRPath of the element at fault, for FHIR content. */
  expression?: string;
  /** The OperationOutcome issue code (default: structure for element problems, invalid otherwise). */
  code?: IssueInput['code'];
}

/** One hook call, read and checked: what the rest of the pipeline works from. */
export interface CrdRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  /** The bearer token for fhirServer; undefined when none was given (or it was empty). */
  accessToken?: string;
  patientId: string;
  userId: string;
  encounterId?: string;
  /** Every draft order, normalized. */
  draftOrders: FhirResource[];
  /** The draft MedicationRequests (for order-select: only the selected ones). */
  medicationRequests: MedicationRequest[];
  /** Prefetch values, normalized: a resource, or null (the query found nothing). */
  prefetch: Record<string, FhirResource | null>;
  extension?: Record<string, unknown>;
  /** Sloppy-but-clear input read as meant, for the log. */
  warnings: string[];
}

export type ReadHookResult =
  | { ok: true; request: CrdRequest }
  | { ok: false; status: 422; issues: ValidationIssue[] };

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

const fromRead = (i: ReadIssue, path: string): ValidationIssue => ({ path, message: i.diagnostics, fhir: true, expression: i.expression, code: i.code });

/** The OperationOutcome of the FHIR problems among `issues` (undefined when there are none). */
export function outcomeOf(issues: ValidationIssue[]) {
  const fhir = issues.filter((i) => i.fhir);
  if (fhir.length === 0) return undefined;
  return operationOutcome(fhir.map((i): IssueInput => ({ code: i.code ?? (i.expression?.includes('.') ? 'structure' : 'invalid'), diagnostics: i.message, expression: i.expression ?? i.path })));
}

/** Reads and checks a hook call for `service`. */
export function readHookRequest(body: unknown, service: ServiceDefinition, reader: FhirReader): ReadHookResult {
  const issues: ValidationIssue[] = [];
  const warnings: string[] = [];
  const expectedHook = service.hook;
  if (!isObject(body)) return { ok: false, status: 422, issues: [{ path: '$', message: 'the request body must be a JSON object' }] };
  if (!isNonEmptyString(body.hook)) issues.push({ path: 'hook', message: 'hook is required' });
  else if (body.hook !== expectedHook) issues.push({ path: 'hook', message: `this service answers ${expectedHook}, not ${body.hook}` });
  if (!isNonEmptyString(body.hookInstance)) issues.push({ path: 'hookInstance', message: 'hookInstance is required (a UUID)' });
  if (body.fhirServer !== undefined && (!isNonEmptyString(body.fhirServer) || !validUrl(body.fhirServer))) {
    issues.push({ path: 'fhirServer', message: 'fhirServer must be an http(s) URL' });
  }

  // fhirAuthorization: an empty (or absent) access_token plainly means "no token" (an open FHIR server).
  let accessToken: string | undefined;
  if (body.fhirAuthorization !== undefined && body.fhirAuthorization !== null) {
    const auth = body.fhirAuthorization;
    if (!isObject(auth)) issues.push({ path: 'fhirAuthorization', message: 'fhirAuthorization must be an object' });
    else if (auth.access_token !== undefined && auth.access_token !== null && typeof auth.access_token !== 'string') {
      issues.push({ path: 'fhirAuthorization.access_token', message: 'fhirAuthorization.access_token must be a string' });
    } else if (body.fhirServer === undefined) {
      issues.push({ path: 'fhirServer', message: 'fhirServer is required when fhirAuthorization is present' });
    } else if (isNonEmptyString(auth.access_token)) accessToken = auth.access_token;
    else warnings.push('fhirAuthorization.access_token is empty: read as "no token" (the FHIR server is queried without one)');
  }
  if (body.extension !== undefined && body.extension !== null && !isObject(body.extension)) {
    issues.push({ path: 'extension', message: 'extension must be an object' });
  }
  if (body.prefetch !== undefined && body.prefetch !== null && !isObject(body.prefetch)) {
    issues.push({ path: 'prefetch', message: 'prefetch must be an object' });
  }

  const context = body.context;
  const draftOrders: Located[] = [];
  let patientId = '';
  let selections: string[] | undefined;
  if (!isObject(context)) {
    issues.push({ path: 'context', message: 'context is required' });
  } else {
    if (!isNonEmptyString(context.patientId)) issues.push({ path: 'context.patientId', message: 'context.patientId is required' });
    else patientId = context.patientId;
    if (!isNonEmptyString(context.userId)) issues.push({ path: 'context.userId', message: 'context.userId is required' });
    if (context.encounterId !== undefined && context.encounterId !== null && typeof context.encounterId !== 'string') {
      issues.push({ path: 'context.encounterId', message: 'context.encounterId must be a string' });
    }
    const orders = context.draftOrders;
    if (!isObject(orders)) issues.push({ path: 'context.draftOrders', message: 'context.draftOrders (a Bundle) is required' });
    else if (orders.resourceType !== 'Bundle') {
      issues.push({ path: 'context.draftOrders', message: 'context.draftOrders must be a FHIR Bundle', fhir: true, expression: 'Bundle' });
    } else {
      // How many entries a call may carry is a configured limit (MAX_DRAFT_ORDERS), checked before this.
      const read = reader.resource<Bundle>(orders, 'context.draftOrders', ['Bundle']);
      for (const i of read.issues) (i.severity === 'error' ? issues.push(fromRead(i, 'context.draftOrders')) : warnings.push(i.diagnostics));
      (read.resource?.entry ?? []).forEach((e, i) => {
        const where = `context.draftOrders.entry[${i}].resource`;
        if (!e.resource) issues.push({ path: where, message: 'each entry must hold a FHIR resource', fhir: true, expression: `Bundle.entry[${i}].resource` });
        else if (e.resource.resourceType === 'MedicationRequest' && !e.resource.id) {
          issues.push({ path: `${where}.id`, message: 'draft orders must have an id (CDS Hooks: resources in context SHALL have an id)', fhir: true, expression: `Bundle.entry[${i}].resource.id` });
        } else draftOrders.push({ resource: e.resource, where });
      });
    }
    if (expectedHook === 'order-select') {
      if (!Array.isArray(context.selections) || !context.selections.every(isNonEmptyString)) {
        issues.push({ path: 'context.selections', message: 'context.selections (an array of references) is required for order-select' });
      } else selections = context.selections;
    }
  }

  // Prefetch: the values of our discovery templates must be FHIR (or null); other keys are the client's own and only used when readable.
  const prefetch: Record<string, FhirResource | null> = {};
  const prefetched: Located[] = [];
  const templates = service.prefetch ?? {};
  for (const [key, value] of Object.entries(isObject(body.prefetch) ? body.prefetch : {})) {
    const where = `prefetch.${key}`;
    if (value === null) {
      if (key in templates) prefetch[key] = null;
      continue;
    }
    const read = reader.resource(value, where);
    const errors = errorsIn(read.issues);
    if (key in templates) {
      for (const i of read.issues) (i.severity === 'error' ? issues.push(fromRead(i, where)) : warnings.push(i.diagnostics));
    } else if (errors.length || !read.resource) {
      warnings.push(`${where} is not readable FHIR (${errors[0]?.diagnostics ?? 'not a resource'}); ignored`);
      continue;
    } else warnings.push(...read.issues.map((i) => i.diagnostics));
    if (read.resource && errors.length === 0) {
      prefetch[key] = read.resource;
      const inner = read.resource.resourceType === 'Bundle' ? ((read.resource as Bundle).entry ?? []).flatMap((e, i) => (e.resource ? [{ resource: e.resource, where: `${where}.entry[${i}].resource` }] : [])) : [];
      prefetched.push({ resource: read.resource, where }, ...inner);
    }
  }

  // One patient: the context's. The draft orders and every prefetched resource must be about it.
  if (patientId && issues.length === 0) {
    for (const m of patientMismatches(patientId, 'context.patientId', [...draftOrders, ...prefetched])) {
      issues.push({ path: m.where, message: m.diagnostics, fhir: true, expression: m.expression, code: m.code });
    }
  }
  if (issues.length) return { ok: false, status: 422, issues };

  const c = context as Record<string, unknown>;
  const drafts = draftOrders.map((d) => d.resource);
  let medicationRequests = drafts.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  if (selections) {
    const selected = new Set(selections);
    medicationRequests = medicationRequests.filter((o) => selected.has(`MedicationRequest/${o.id}`));
  }
  const raw = body as unknown as HookRequest;
  return {
    ok: true,
    request: {
      hook: raw.hook,
      hookInstance: raw.hookInstance,
      ...(raw.fhirServer ? { fhirServer: raw.fhirServer } : {}),
      ...(accessToken ? { accessToken } : {}),
      patientId,
      userId: String(c.userId),
      ...(typeof c.encounterId === 'string' ? { encounterId: c.encounterId } : {}),
      draftOrders: drafts,
      medicationRequests,
      prefetch,
      ...(isObject(body.extension) ? { extension: body.extension } : {}),
      warnings,
    },
  };
}
