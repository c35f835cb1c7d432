/**
 * The patient record for a hook call: what the prefetch answers (trusted per discovery template, as
 * CDS Hooks defines prefetch), then what it lacks from the EHR's FHIR server, planned by the shared
 * query planner (src/core/query-plan.ts), queried in parallel and code-filtered within the hook's
 * time budget. Everything fetched is read like client input (src/fhir/read.ts) and must belong to the
 * patient of the call. Failures are typed (src/core/errors.ts): the caller turns them into an honest
 * "could not be determined", never an approval.
 */
import type { Bundle, FhirResource, MedicationRequest, Patient, ValueSet } from 'fhir/r4';
import type { TypeRequirement } from '../core/data-requirements';
import { patientLinks } from '../core/consistency';
import { EhrDataUnavailable, RecordDataMissing, type EhrFailureKind, type ExpectedFailure } from '../core/errors';
import { planPatientQueries, planReferenceQueries, REFERENCE_FOLLOWED_TYPES, type PlannedQuery } from '../core/query-plan';
import { FhirQueryError, type FhirClient } from '../fhir/client';
import { errorsIn, type FhirReader, type ReadIssue } from '../fhir/read';
import { parseReference } from '../fhir/references';

/** The resource type a prefetch template or search URL names ('Condition?patient=..' -> 'Condition'). */
export function typeOfQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const segments = query.split('?')[0].split('/').filter(Boolean);
  for (let i = segments.length - 1; i >= 0; i--) if (/^[A-Z][A-Za-z]+$/.test(segments[i])) return segments[i];
  return undefined;
}

/** A query as a type, an id (reads) and its parameters (searches), for comparing a Bundle's self link with a template. */
interface ParsedQuery {
  type: string;
  id?: string;
  params: Map<string, string[]>;
}

/** Parameters that change how results are paged or formatted, not which resources match. */
const PRESENTATION_PARAMS = new Set(['_count', '_format', '_pretty', '_sort']);
/** Parameters that name the patient of a search. */
const PATIENT_PARAMS = new Set(['patient', 'subject', 'beneficiary']);

function parseQuery(query: string, patientId: string): ParsedQuery | null {
  const [pathPart, search = ''] = query.split('?');
  const segments = pathPart.split('/').filter(Boolean);
  let typeAt = segments.length - 1;
  while (typeAt >= 0 && !/^[A-Z][A-Za-z]+$/.test(segments[typeAt])) typeAt--;
  if (typeAt < 0) return null;
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (PRESENTATION_PARAMS.has(name)) continue;
    // The patient may be named by id, relative or absolute reference, under patient or subject.
    if (PATIENT_PARAMS.has(name.split(':')[0])) {
      const id = parseReference(value)?.id ?? value;
      params.set('patient', [...(params.get('patient') ?? []), id === patientId ? '<patient>' : id]);
      continue;
    }
    params.set(name, [...(params.get(name) ?? []), ...value.split(',').sort()]);
  }
  return { type: segments[typeAt], id: segments[typeAt + 1], params };
}

function sameQuery(a: ParsedQuery, b: ParsedQuery): boolean {
  if (a.type !== b.type || a.id !== b.id || a.params.size !== b.params.size) return false;
  for (const [name, values] of a.params) {
    const other = b.params.get(name);
    if (!other || other.length !== values.length || other.some((v, i) => v !== values[i])) return false;
  }
  return true;
}

/** A discovery template with its tokens filled from the hook context, or null when a token cannot be filled. */
export function fillTemplate(template: string, context: { patientId: string; userId: string; encounterId?: string }): string | null {
  const values: Record<string, string | undefined> = {
    'context.patientId': context.patientId,
    'context.userId': context.userId,
    'context.encounterId': context.encounterId,
    userPractitionerId: parseReference(context.userId)?.type === 'Practitioner' ? parseReference(context.userId)!.id : undefined,
    userPractitionerRoleId: parseReference(context.userId)?.type === 'PractitionerRole' ? parseReference(context.userId)!.id : undefined,
  };
  let missing = false;
  const filled = template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? null : filled;
}

/** What the prefetch provides. */
export interface Prefetched {
  /** Resources of the prefetch values that answer a discovery template (and what those Bundles include). */
  resources: FhirResource[];
  /** Types whose whole-patient data the prefetch answered, possibly with nothing. */
  covered: Set<string>;
  /** Resources of other prefetch values: used only to resolve references (Medication, Organization, PractitionerRole, Practitioner). */
  referenced: FhirResource[];
  /** For the log: how each prefetch key was taken. */
  notes: string[];
}

const isComplete = (bundle: Bundle) => !(bundle.link ?? []).some((l) => l.relation === 'next');
const entriesOf = (bundle: Bundle): FhirResource[] =>
  (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource).filter((r): r is FhirResource => Boolean(r) && r!.resourceType !== 'OperationOutcome');

/**
 * CDS Hooks prefetch, trusted per template: a value stands for a discovery template when it sits
 * under that template's key, or when its content is recognisably that template's answer (a Bundle
 * whose self link is the same whole-patient search, or the Patient itself). A client's own,
 * narrower key (a Bundle holding only the draft order) never stands in for the patient's history;
 * the types no trusted value covers are queried. A searchset with a `next` link is incomplete and
 * covers nothing.
 */
export function trustPrefetch(
  prefetch: Record<string, FhirResource | null>,
  templates: Record<string, string>,
  context: { patientId: string; userId: string; encounterId?: string },
): Prefetched {
  const out: Prefetched = { resources: [], covered: new Set(), referenced: [], notes: [] };
  const filled = Object.entries(templates).flatMap(([key, template]) => {
    const query = fillTemplate(template, context);
    const parsed = query ? parseQuery(query, context.patientId) : null;
    return parsed ? [{ key, parsed }] : [];
  });
  for (const [key, value] of Object.entries(prefetch)) {
    const own = filled.find((t) => t.key === key);
    if (own) {
      const read = own.parsed.id !== undefined;
      if (value === null) {
        out.covered.add(own.parsed.type);
        out.notes.push(`${key}: null (no data)`);
      } else if (value.resourceType === 'OperationOutcome') {
        out.notes.push(`${key}: OperationOutcome (the client could not prefetch; queried)`);
      } else if (read && value.resourceType === own.parsed.type) {
        out.resources.push(value);
        out.covered.add(own.parsed.type);
      } else if (value.resourceType === 'Bundle' && isComplete(value as Bundle)) {
        out.resources.push(...entriesOf(value as Bundle));
        out.covered.add(own.parsed.type);
      } else {
        out.referenced.push(...(value.resourceType === 'Bundle' ? entriesOf(value as Bundle) : [value]));
        out.notes.push(`${key}: ${value.resourceType === 'Bundle' ? 'an incomplete searchset' : `a ${value.resourceType}`} does not answer "${templates[key]}" (queried)`);
      }
      continue;
    }
    // A key of the client's own: trusted only when recognisably the answer to one of our templates.
    if (value === null || value.resourceType === 'OperationOutcome') continue;
    let answered: string | undefined;
    if (value.resourceType === 'Patient' && value.id === context.patientId) {
      answered = filled.find((t) => t.parsed.type === 'Patient' && t.parsed.id === context.patientId)?.key;
    } else if (value.resourceType === 'Bundle' && isComplete(value as Bundle)) {
      const self = ((value as Bundle).link ?? []).find((l) => l.relation === 'self')?.url;
      const parsed = self ? parseQuery(self, context.patientId) : null;
      answered = parsed ? filled.find((t) => sameQuery(t.parsed, parsed))?.key : undefined;
    }
    if (answered) {
      const template = filled.find((t) => t.key === answered)!;
      out.resources.push(...(value.resourceType === 'Bundle' ? entriesOf(value as Bundle) : [value]));
      out.covered.add(template.parsed.type);
      out.notes.push(`${key}: taken as "${answered}" (the same query)`);
    } else {
      out.referenced.push(...(value.resourceType === 'Bundle' ? entriesOf(value as Bundle) : [value]));
      out.notes.push(`${key}: not a discovery template and not recognisably one; used only to resolve references`);
    }
  }
  out.referenced = out.referenced.filter((r) => REFERENCE_FOLLOWED_TYPES.includes(r.resourceType));
  return out;
}

export interface AssembledRecord {
  bundle: Bundle;
  /** Expected failures, one per failed query group. */
  failures: ExpectedFailure[];
  /** Types that could not be obtained. */
  failedTypes: Set<string>;
  queries: number;
  /** Lenient-reading warnings about what the EHR sent. */
  warnings: ReadIssue[];
}

function ehrFailure(e: unknown, q: PlannedQuery): EhrDataUnavailable {
  if (e instanceof EhrDataUnavailable) return e;
  if (e instanceof FhirQueryError) {
    const kind: EhrFailureKind = e.kind === 'http' && e.status === 404 && q.read && q.type === 'Patient' ? 'not-found' : e.kind;
    return new EhrDataUnavailable(kind, [q.type], `${q.path}: ${e.message}`);
  }
  // Anything else is not a failure of the EHR: a defect, for the error handler.
  throw e;
}

function dedupe(resources: FhirResource[]): FhirResource[] {
  const seen = new Map<string, FhirResource>();
  for (const r of resources) seen.set(typeof r.id === 'string' && r.id ? `${r.resourceType}/${r.id}` : `${r.resourceType}#${seen.size}`, r);
  return [...seen.values()];
}

/**
 * Completes the record: the prefetched resources, the orders, then the planned queries for the
 * types the prefetch did not cover, then the references that lead to the payer, medications and the
 * prescriber's roles. `client` is undefined when the request names no fhirServer; the caller has
 * answered 412 if a patient-owned type was then left uncovered.
 */
export async function assembleRecord(args: {
  patientId: string;
  orders: MedicationRequest[];
  prefetched: Prefetched;
  client: FhirClient | undefined;
  requirements: TypeRequirement[];
  valueSets: ValueSet[];
  reader: FhirReader;
}): Promise<AssembledRecord> {
  const { patientId, orders, prefetched, client, requirements, valueSets, reader } = args;
  const failures: EhrDataUnavailable[] = [];
  const warnings: ReadIssue[] = [];
  let queries = 0;

  const run = async (q: PlannedQuery): Promise<FhirResource[]> => {
    const raw = q.read ? [await client!.get(q.path)] : await client!.searchAll(q.path);
    return raw.map((value, i) => {
      const { resource, issues } = reader.resource(value, `the EHR's answer to ${q.path}${q.read ? '' : ` (entry ${i})`}`);
      warnings.push(...issues.filter((x) => x.severity === 'warning'));
      const errors = errorsIn(issues);
      if (!resource || errors.length) throw new EhrDataUnavailable('invalid', [q.type], errors.map((x) => x.diagnostics).join('; ') || 'not a FHIR resource');
      if (resource.resourceType === 'OperationOutcome') throw new EhrDataUnavailable('invalid', [q.type], `${q.path}: an OperationOutcome`);
      if (patientLinks(resource).some((l) => l.patientId !== patientId)) throw new EhrDataUnavailable('other-patient', [q.type], `${q.path}: ${resource.resourceType}/${resource.id} belongs to another patient`);
      return resource;
    });
  };
  const runAll = async (list: PlannedQuery[]): Promise<FhirResource[]> => {
    if (!client || list.length === 0) return [];
    queries += list.length;
    const settled = await Promise.allSettled(list.map(run));
    const got: FhirResource[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') got.push(...s.value);
      else failures.push(ehrFailure(s.reason, list[i]));
    });
    return got;
  };

  const plan = planPatientQueries(requirements, valueSets, patientId, prefetched.covered);
  let resources = dedupe([...orders, ...prefetched.resources, ...(await runAll(plan.queries))]);
  const follow = planReferenceQueries([...resources, ...prefetched.referenced], orders, plan.byReference);
  // Payer, medications and roles are not the patient's history: any value may supply them.
  resources = dedupe([...prefetched.referenced, ...resources, ...(await runAll(follow))]);

  const failedTypes = new Set(failures.flatMap((f) => f.types));
  const all: ExpectedFailure[] = [...failures];
  const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
  if (patients.length === 0 && !failedTypes.has('Patient')) {
    failedTypes.add('Patient');
    all.push(new RecordDataMissing(['Patient'], 'no Patient in the prefetch and none read from the EHR'));
  }
  return {
    bundle: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) },
    failures: all,
    failedTypes,
    queries,
    warnings,
  };
}

/** The patient-owned types that must still be queried after the prefetch (empty: the prefetch answers them all). */
export function uncoveredTypes(requirements: TypeRequirement[], valueSets: ValueSet[], patientId: string, covered: ReadonlySet<string>): string[] {
  return [...new Set(planPatientQueries(requirements, valueSets, patientId, covered).queries.map((q) => q.type))];
}
