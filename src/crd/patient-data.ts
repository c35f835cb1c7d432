/**
 * Gathers the patient data the CQL needs for a hook call: what the prefetch holds (under any key,
 * used for the resource types it contains), then what it lacks from the EHR's FHIR server, queried
 * in parallel and code-filtered, within the hook's time budget.
 */
import type { Bundle, Coverage, FhirResource, MedicationRequest, Reference } from 'fhir/r4';
import type { ValueSet } from 'fhir/r4';
import { codesFor, type TypeRequirement } from '../core/data-requirements';
import { FhirQueryError, type FhirClient } from '../fhir/client';

/** Resource types queried by patient; others (Organization, Medication, PractitionerRole) are followed from references. */
export const PATIENT_SCOPED_TYPES = [
  'Patient', 'Coverage', 'Condition', 'Observation', 'AllergyIntolerance',
  'MedicationRequest', 'MedicationStatement', 'MedicationDispense',
] as const;

/** Types reached through references of the patient's data (Coverage.payor, medicationReference, requester). */
export const REFERENCE_FOLLOWED_TYPES = ['Organization', 'Medication', 'PractitionerRole'] as const;

const CODES_PER_QUERY = 100;

export interface Harvest {
  resources: FhirResource[];
  /** Types for which the prefetch answered (possibly with no data). */
  covered: Set<string>;
  problems: string[];
}

/** The resource type a prefetch template or search URL names ('Condition?patient=..' -> 'Condition'). */
export function typeOfQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const segments = query.split('?')[0].split('/').filter(Boolean);
  for (let i = segments.length - 1; i >= 0; i--) if (/^[A-Z][A-Za-z]+$/.test(segments[i])) return segments[i];
  return undefined;
}

/** Client data may hold anything: arrays are read only where they are arrays. */
export function arr<T>(v: T[] | undefined | unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

function isResource(v: unknown): v is FhirResource {
  return typeof v === 'object' && v !== null && typeof (v as { resourceType?: unknown }).resourceType === 'string';
}

/** Reads every prefetch value: Bundles, single resources, nulls (no data) and OperationOutcomes (failure). */
export function harvestPrefetch(prefetch: Record<string, unknown> | undefined, templates: Record<string, string>): Harvest {
  const resources: FhirResource[] = [];
  const covered = new Set<string>();
  const problems: string[] = [];
  for (const [key, value] of Object.entries(prefetch ?? {})) {
    const templateType = typeOfQuery(templates[key]);
    if (value === null) {
      if (templateType) covered.add(templateType);
      continue;
    }
    if (!isResource(value)) {
      problems.push(`prefetch "${key}" is not a FHIR resource; ignored`);
      continue;
    }
    if (value.resourceType === 'OperationOutcome') {
      problems.push(`prefetch "${key}" reported a failure (OperationOutcome)`);
      continue;
    }
    if (value.resourceType === 'Bundle') {
      const bundle = value as Bundle;
      for (const e of arr<NonNullable<Bundle['entry']>[number]>(bundle.entry)) {
        if (!e || !isResource(e.resource) || e.resource.resourceType === 'OperationOutcome' || e.search?.mode === 'outcome') continue;
        resources.push(e.resource);
        covered.add(e.resource.resourceType);
      }
      const self = arr<NonNullable<Bundle['link']>[number]>(bundle.link).find((l) => l?.relation === 'self')?.url;
      const selfType = typeof self === 'string' ? typeOfQuery(self) : undefined;
      if (selfType) covered.add(selfType);
      if (templateType && templates[key]?.includes('?')) covered.add(templateType);
      continue;
    }
    resources.push(value);
    if (value.resourceType === 'Patient' || templateType === value.resourceType) covered.add(value.resourceType);
  }
  return { resources, covered, problems };
}

export interface Query {
  type: string;
  path: string;
  /** Single read (true) or search. */
  read: boolean;
}

/** The code-filtered queries that fetch one resource type for a patient. */
export function queriesFor(type: string, patientId: string, requirement: TypeRequirement | undefined, valueSets: ValueSet[]): Query[] {
  const pid = encodeURIComponent(patientId);
  if (type === 'Patient') return [{ type, path: `Patient/${pid}`, read: true }];
  if (type === 'Coverage') return [{ type, path: `Coverage?patient=${pid}&status=active`, read: false }];
  if (!requirement || requirement.unfiltered || requirement.codeFilters.length === 0) {
    return [{ type, path: `${type}?patient=${pid}`, read: false }];
  }
  const codes = codesFor(requirement, valueSets).map((c) => `${c.system}|${c.code}`);
  const queries: Query[] = [];
  for (let i = 0; i < codes.length; i += CODES_PER_QUERY) {
    const code = codes.slice(i, i + CODES_PER_QUERY).map(encodeURIComponent).join(',');
    queries.push({ type, path: `${type}?patient=${pid}&code=${code}`, read: false });
  }
  return queries;
}

async function run(client: FhirClient, q: Query): Promise<FhirResource[]> {
  if (q.read) {
    const r = await client.get(q.path);
    if (r.resourceType === 'OperationOutcome') throw new FhirQueryError('OperationOutcome returned', q.path, 'invalid');
    return [r];
  }
  return client.searchAll(q.path);
}

export interface Assembled {
  bundle: Bundle;
  problems: string[];
  /** Types that could not be obtained (query failed). */
  failedTypes: string[];
  queries: number;
}

function idOf(ref: Reference | undefined, type: string): string | undefined {
  const m = typeof ref?.reference === 'string' ? new RegExp(`(?:^|/)${type}/([^/]+)$`).exec(ref.reference) : null;
  return m?.[1];
}

function dedupe(resources: FhirResource[]): FhirResource[] {
  const seen = new Map<string, FhirResource>();
  for (const r of resources) seen.set(typeof r.id === 'string' && r.id ? `${r.resourceType}/${r.id}` : `${r.resourceType}#${seen.size}`, r);
  return [...seen.values()];
}

/**
 * Fetches what the harvest lacks. `client` is undefined when the request has no fhirServer; the
 * caller has already answered 412 if that leaves a patient-scoped type uncovered.
 */
export async function assemblePatientData(args: {
  patientId: string;
  orders: MedicationRequest[];
  harvest: Harvest;
  client: FhirClient | undefined;
  requirements: TypeRequirement[];
  valueSets: ValueSet[];
}): Promise<Assembled> {
  const { patientId, orders, harvest, client, requirements, valueSets } = args;
  const problems = [...harvest.problems];
  const failedTypes = new Set<string>();
  let resources = [...harvest.resources];
  let queries = 0;

  const runAll = async (list: Query[]): Promise<void> => {
    if (!client || list.length === 0) return;
    queries += list.length;
    const settled = await Promise.allSettled(list.map((q) => run(client, q)));
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') resources.push(...s.value);
      else {
        failedTypes.add(list[i].type);
        const e = s.reason as Error;
        problems.push(`${list[i].type} could not be retrieved from the EHR (${e instanceof FhirQueryError ? e.message : 'error'})`);
      }
    });
  };

  const reqByType = new Map(requirements.map((r) => [r.type, r] as const));
  await runAll(
    PATIENT_SCOPED_TYPES.filter((t) => !harvest.covered.has(t)).flatMap((t) => queriesFor(t, patientId, reqByType.get(t), valueSets)),
  );

  // Second stage: resources reached through references.
  resources = dedupe([...orders, ...resources]);
  const have = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const follow: Query[] = [];
  for (const cov of resources.filter((r): r is Coverage => r.resourceType === 'Coverage')) {
    for (const p of arr<Reference>(cov.payor)) {
      const id = idOf(p, 'Organization');
      if (id && !have.has(`Organization/${id}`)) follow.push({ type: 'Organization', path: `Organization/${encodeURIComponent(id)}`, read: true });
    }
  }
  for (const r of resources) {
    const ref = (r as { medicationReference?: Reference }).medicationReference;
    const id = idOf(ref, 'Medication');
    if (id && !have.has(`Medication/${id}`)) follow.push({ type: 'Medication', path: `Medication/${encodeURIComponent(id)}`, read: true });
  }
  for (const o of orders) {
    const practitioner = idOf(o.requester, 'Practitioner');
    const known = resources.some(
      (r) => r.resourceType === 'PractitionerRole' && idOf((r as { practitioner?: Reference }).practitioner, 'Practitioner') === practitioner,
    );
    if (practitioner && !known) follow.push({ type: 'PractitionerRole', path: `PractitionerRole?practitioner=${encodeURIComponent(practitioner)}`, read: false });
  }
  const unique = [...new Map(follow.map((q) => [q.path, q] as const)).values()];
  await runAll(unique);
  resources = dedupe(resources);

  return {
    bundle: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) },
    problems,
    failedTypes: [...failedTypes],
    queries,
  };
}
