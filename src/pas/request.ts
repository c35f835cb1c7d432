/**
 * The Request stage of the PAS channel: a PAS request Bundle (Da Vinci PAS STU 2.0.1 `Claim/$submit`)
 * read leniently but strictly into one checked request: the Claim (use `preauthorization`), the
 * Kineret MedicationRequest its item asks for (the requestedService extension), the completed
 * QuestionnaireResponse among its supportingInfo (the standard form's, or the adaptive form's: its
 * contained Questionnaire derived from ours), the Patient, Coverage, provider and insurer, and
 * the record the criteria are evaluated against (every other resource of the Bundle).
 *
 * Read as meant, with a warning: a Bundle of another kind than `collection` that is still a plain
 * list (searchset, document); entries without fullUrl; the Claim not first; no Claim.identifier but
 * a Bundle.identifier (what some clients send); an item without requestedService when the Bundle
 * holds exactly one Kineret order; a QuestionnaireResponse in the Bundle that supportingInfo does
 * not point to. Refused with an OperationOutcome naming the element: everything ambiguous or wrong
 * (several Claims, a Claim that is not a preauthorization, an unresolvable patient or coverage, a
 * service that is not Kineret, several items, documentation of another order, resources of another
 * patient, an in-progress or invalid QuestionnaireResponse).
 */
import { createHash } from 'node:crypto';
import type {
  Bundle, BundleEntry, Claim, Coverage, Extension, FhirResource, Medication, MedicationRequest, Organization, Patient,
  Practitioner, PractitionerRole, QuestionnaireResponse, Reference,
} from 'fhir/r4';
import { HL7_SYSTEMS, PAS } from '../constants';
import { patientMismatches } from '../core/consistency';
import { operationOutcome, OutcomeError, type IssueInput } from '../fhir/outcome';
import { errorsIn, type FhirReader } from '../fhir/read';
import { parseReference, referenceId } from '../fhir/references';
import type { KineretMatcher } from '../crd/orders';
import { responseContext } from '../dtr/answers';
import { memberKeys, patientIdentifierKeys } from './member';
import type { ClaimIdentifier, Priority } from './types';

export interface PasRequestDeps {
  reader: FhirReader;
  matcher: KineretMatcher;
  /** Whether a response is documentation of the served questionnaire (standard or adaptive), to tell it from other responses. */
  isDocumentation: (response: QuestionnaireResponse) => boolean;
}

export interface Resolved<T extends FhirResource = FhirResource> {
  resource: T;
  /** The reference as the Claim wrote it (kept as is in the response). */
  reference: string;
  fullUrl: string | undefined;
}

/** One checked PAS request. */
export interface PasRequest {
  bundle: Bundle;
  claim: Claim;
  claimFullUrl: string | undefined;
  claimIdentifier: ClaimIdentifier;
  patient: Resolved<Patient>;
  coverage: Resolved<Coverage>;
  order: Resolved<MedicationRequest>;
  /** The clinician's documentation (DTR), when the request carries it. */
  response: Resolved<QuestionnaireResponse> | null;
  provider: { reference: string; resource: Resolved<Practitioner | PractitionerRole | Organization> | null; npi: string | null };
  insurer: Resolved<Organization> | null;
  priority: Priority;
  /** The record the criteria are evaluated against: every resource but the Claim and the responses. */
  record: Bundle;
  /** SHA-256 of what the request asks (not when or how it was wrapped): a retry has the same. */
  contentHash: string;
  memberKeys: string[];
  patientKeys: string[];
  /** The Claim.identifier of an earlier request this one replaces (Claim.related). */
  replaces: ClaimIdentifier | null;
  /** Sloppy-but-clear input read as meant (for the log). */
  warnings: string[];
}

const invalid = (status: number, issues: IssueInput[]) => new OutcomeError(status, operationOutcome(issues));
const fail = (code: IssueInput['code'], expression: string, diagnostics: string) => invalid(422, [{ code, expression, diagnostics }]);

/** The Bundle a $submit or $inquire body carries: the Bundle itself, or Parameters with `resource` (the operation's one input). */
export function bundleOf(body: unknown, operation: string): unknown {
  const b = body as { resourceType?: unknown; parameter?: unknown } | null;
  if (b && typeof b === 'object' && b.resourceType === 'Parameters' && Array.isArray(b.parameter)) {
    const p = (b.parameter as { name?: unknown; resource?: unknown }[]).filter((x) => x?.name === 'resource');
    if (p.length === 1) return p[0].resource;
  }
  if (!b || typeof b !== 'object' || b.resourceType !== 'Bundle') {
    throw OutcomeError.of(400, `the body of ${operation} must be a PAS Bundle (or Parameters with one "resource" Bundle)`, { code: 'invalid' });
  }
  return body;
}

/** Reads the Bundle against the R4 shapes: 422 naming each element that is not FHIR. */
export function readBundle(value: unknown, reader: FhirReader, warnings: string[]): Bundle {
  const read = reader.resource<Bundle>(value, 'the Bundle', ['Bundle']);
  const errors = errorsIn(read.issues);
  if (errors.length || !read.resource) throw invalid(422, errors.map((i) => ({ code: i.code, expression: i.expression, diagnostics: i.diagnostics })));
  warnings.push(...read.issues.map((i) => i.diagnostics));
  const bundle = read.resource;
  if (['transaction', 'batch', 'history', 'transaction-response', 'batch-response'].includes(bundle.type)) {
    throw fail('invalid', 'Bundle.type', `the Bundle is a ${bundle.type}; a PAS request is a collection Bundle`);
  }
  if (bundle.type !== 'collection') warnings.push(`Bundle.type is ${bundle.type}; PAS sends a collection (read as one)`);
  const entries = bundle.entry ?? [];
  const issues: IssueInput[] = [];
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    if (!e.resource) issues.push({ code: 'required', expression: `Bundle.entry[${i}].resource`, diagnostics: `Bundle.entry[${i}] has no resource` });
    if (e.fullUrl) {
      if (seen.has(e.fullUrl)) issues.push({ code: 'business-rule', expression: `Bundle.entry[${i}].fullUrl`, diagnostics: `fullUrl ${e.fullUrl} is used by two entries` });
      seen.add(e.fullUrl);
    }
  });
  if (issues.length) throw invalid(422, issues);
  if (entries.some((e) => !e.fullUrl)) warnings.push('Bundle entries without fullUrl (PAS requires one); references are resolved by type and id');
  return bundle;
}

/** Resolves references within a Bundle: by fullUrl, or by type and id (relative or absolute). */
export class BundleIndex {
  private readonly byFullUrl = new Map<string, BundleEntry>();
  private readonly byTypeId = new Map<string, BundleEntry[]>();

  constructor(readonly bundle: Bundle) {
    for (const e of bundle.entry ?? []) {
      if (!e.resource) continue;
      if (e.fullUrl) this.byFullUrl.set(e.fullUrl, e);
      const key = e.resource.id ? `${e.resource.resourceType}/${e.resource.id}` : null;
      if (key) this.byTypeId.set(key, [...(this.byTypeId.get(key) ?? []), e]);
    }
  }

  /** The entry a reference names, or undefined; 'ambiguous' when two entries have the type and id. */
  entry(ref: Reference | undefined): BundleEntry | 'ambiguous' | undefined {
    const value = ref?.reference;
    if (!value) return undefined;
    const exact = this.byFullUrl.get(value);
    if (exact) return exact;
    const parsed = parseReference(value);
    if (!parsed) return undefined;
    const found = this.byTypeId.get(`${parsed.type}/${parsed.id}`) ?? [];
    if (found.length > 1) return 'ambiguous';
    return found[0];
  }

  resolve<T extends FhirResource>(ref: Reference | undefined, types: string[], expression: string, what: string, required: boolean): Resolved<T> | null {
    const entry = this.entry(ref);
    if (entry === 'ambiguous') throw fail('business-rule', expression, `${what} (${ref!.reference}) matches two entries of the Bundle`);
    if (!entry) {
      if (!required) return null;
      throw fail(ref?.reference ? 'not-found' : 'required', expression, ref?.reference
        ? `${what} (${ref.reference}) is not in the Bundle: a PAS Bundle carries every resource the Claim references`
        : `${what} is required`);
    }
    if (!types.includes(entry.resource!.resourceType)) {
      throw fail('business-rule', expression, `${what} (${ref!.reference}) is a ${entry.resource!.resourceType}, not ${types.join(' or ')}`);
    }
    return { resource: entry.resource as T, reference: ref!.reference!, fullUrl: entry.fullUrl };
  }
}

function extensionValue(extensions: Extension[] | undefined, url: string): Extension | undefined {
  return (extensions ?? []).find((e) => e.url === url);
}

/** Expedited when the Claim says stat, or its level of service is urgent or emergency (X12 1338 U, 03). */
function priorityOf(claim: Claim): Priority {
  if ((claim.priority?.coding ?? []).some((c) => c.code === 'stat' && (!c.system || c.system === HL7_SYSTEMS.processPriority))) return 'expedited';
  const level = extensionValue(claim.extension, PAS.levelOfServiceCode)?.valueCodeableConcept?.coding ?? [];
  return level.some((c) => ['U', '03'].includes(c.code ?? '') && (!c.system || c.system === PAS.x12LevelOfService)) ? 'expedited' : 'standard';
}

/** The NPI of a provider: its own identifier, or its practitioner's (PractitionerRole). */
export function npiOf(provider: FhirResource | undefined, index: BundleIndex): string | null {
  if (!provider) return null;
  const own = ((provider as Practitioner).identifier ?? []).find((i) => i.system === HL7_SYSTEMS.npi && i.value)?.value;
  if (own) return own;
  if (provider.resourceType === 'PractitionerRole') {
    const practitioner = index.entry(provider.practitioner);
    if (practitioner && practitioner !== 'ambiguous') return npiOf(practitioner.resource, index);
  }
  return null;
}

/** JSON with sorted keys, without what a re-sent request changes (meta, narrative, timestamps). */
function canonical(value: unknown, drop: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, drop));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).filter((k) => !drop.has(k)).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k], drop)]));
  }
  return value;
}

/** What the request asks, independent of how it was wrapped: every resource by type and id, without meta, narrative, created or authored. */
export function contentHash(resources: FhirResource[]): string {
  const drop = new Set(['meta', 'text', 'created', 'authored']);
  const items = resources.map((r) => canonical(r, drop)).map((r) => JSON.stringify(r)).sort();
  return createHash('sha256').update(JSON.stringify(items)).digest('hex');
}

/** Reads a PAS request Bundle (the body of $submit) into one checked request, or throws the OperationOutcome that says why not. */
export async function readPasRequest(body: unknown, deps: PasRequestDeps): Promise<PasRequest> {
  const warnings: string[] = [];
  const bundle = readBundle(bundleOf(body, 'Claim/$submit'), deps.reader, warnings);
  const entries = bundle.entry ?? [];
  const claims = entries.map((e, i) => ({ e, i })).filter((x) => x.e.resource?.resourceType === 'Claim');
  if (claims.length !== 1) {
    throw fail(claims.length ? 'business-rule' : 'required', 'Bundle.entry.resource.ofType(Claim)', `a PAS request Bundle holds exactly one Claim; this one holds ${claims.length}`);
  }
  const { e: claimEntry, i: claimAt } = claims[0];
  const claim = claimEntry.resource as Claim;
  const at = `Bundle.entry[${claimAt}].resource`;
  if (claimAt !== 0) warnings.push(`the Claim is entry ${claimAt}; PAS puts it first`);
  if (claim.use !== 'preauthorization') {
    throw fail('value', `${at}.use`, `Claim.use is ${claim.use ?? 'missing'}; a prior authorization request has use "preauthorization"`);
  }
  if (claim.status !== 'active') {
    throw fail('not-supported', `${at}.status`, `Claim.status is ${claim.status}; this service takes active requests (a cancellation is not supported)`);
  }

  const identifier = (claim.identifier ?? []).find((i) => i.value) ?? (bundle.identifier?.value ? bundle.identifier : undefined);
  if (!identifier?.value) {
    throw fail('required', `${at}.identifier`, 'Claim.identifier is required: it names the request for $inquire and makes a retried submission idempotent');
  }
  if (!(claim.identifier ?? []).some((i) => i.value)) warnings.push('no Claim.identifier: the Bundle.identifier names the request');
  const claimIdentifier = { system: identifier.system ?? '', value: identifier.value };

  const index = new BundleIndex(bundle);
  const patient = index.resolve<Patient>(claim.patient, ['Patient'], `${at}.patient`, 'Claim.patient', true)!;
  const insurances = claim.insurance ?? [];
  const focal = insurances.find((x) => x.focal) ?? insurances[0];
  const coverage = index.resolve<Coverage>(focal?.coverage, ['Coverage'], `${at}.insurance[${Math.max(0, insurances.indexOf(focal!))}].coverage`, 'the focal Claim.insurance.coverage', true)!;

  // One item: the Kineret order.
  const items = claim.item ?? [];
  if (items.length !== 1) {
    throw fail(items.length ? 'not-supported' : 'required', `${at}.item`, items.length
      ? `the Claim has ${items.length} items; this service authorizes one Kineret (anakinra) order per request`
      : 'the Claim has no item: its item names the Kineret MedicationRequest (requestedService extension)');
  }
  const medications = entries.map((e) => e.resource).filter((r): r is Medication => r?.resourceType === 'Medication');
  const lookup = (reference: string) => medications.find((m) => m.id && referenceId(reference, 'Medication') === m.id);
  const requested = extensionValue(items[0].extension, PAS.requestedService)?.valueReference;
  let order: Resolved<MedicationRequest>;
  if (requested) {
    order = index.resolve<MedicationRequest>(requested, ['MedicationRequest'], `${at}.item[0].extension('${PAS.requestedService}')`, 'the requested service', true)!;
  } else {
    const kineret: BundleEntry[] = [];
    for (const e of entries) {
      if (e.resource?.resourceType === 'MedicationRequest' && (await deps.matcher.isKineret(e.resource, lookup))) kineret.push(e);
    }
    if (kineret.length !== 1) {
      throw fail('required', `${at}.item[0]`, kineret.length
        ? `the item names no requested service (extension ${PAS.requestedService}) and the Bundle holds ${kineret.length} Kineret orders: name the one to authorize`
        : `the item names no requested service (extension ${PAS.requestedService}): it references the Kineret MedicationRequest, carried in the Bundle`);
    }
    warnings.push('the Claim item has no requestedService extension: the one Kineret MedicationRequest of the Bundle is the requested service');
    const r = kineret[0].resource as MedicationRequest;
    order = { resource: r, reference: kineret[0].fullUrl ?? `MedicationRequest/${r.id}`, fullUrl: kineret[0].fullUrl };
  }
  // The one answer to "is this Kineret?" (the matcher's; awaited, as the CQL gives it).
  if (!(await deps.matcher.isKineret(order.resource, lookup))) {
    throw fail('business-rule', `${at}.item[0]`, `the requested service (${order.reference}) is not Kineret (anakinra): this service authorizes Kineret only`);
  }

  // The clinician's documentation: a QuestionnaireResponse among the supporting information.
  const supporting = (claim.supportingInfo ?? []).map((s, i) => ({ s, i, entry: index.entry(s.valueReference) }));
  const documented = supporting.filter((x) => x.entry && x.entry !== 'ambiguous' && x.entry.resource?.resourceType === 'QuestionnaireResponse');
  let responses = documented.map((x) => ({ entry: x.entry as BundleEntry, reference: x.s.valueReference!.reference! }));
  if (responses.length === 0) {
    const loose = entries.filter((e) => e.resource?.resourceType === 'QuestionnaireResponse');
    if (loose.length) warnings.push('the QuestionnaireResponse is in the Bundle but not referenced from Claim.supportingInfo (PAS requires the reference)');
    responses = loose.map((e) => ({ entry: e, reference: e.fullUrl ?? `QuestionnaireResponse/${e.resource!.id}` }));
  }
  const ours = responses.filter((r) => deps.isDocumentation(r.entry.resource as QuestionnaireResponse));
  if (ours.length > 1) throw fail('business-rule', `${at}.supportingInfo`, `the request carries ${ours.length} responses to the Kineret questionnaire; send the one completed for this order`);
  const response: Resolved<QuestionnaireResponse> | null = ours[0]
    ? { resource: ours[0].entry.resource as QuestionnaireResponse, reference: ours[0].reference, fullUrl: ours[0].entry.fullUrl }
    : null;
  if (responses.length && !response) warnings.push('no response to the Kineret questionnaire among the supporting information; the record alone is evaluated');
  if (response) {
    const qrAt = `Bundle.entry[${entries.indexOf(entries.find((e) => e.resource === response.resource)!)}].resource`;
    if (!['completed', 'amended'].includes(response.resource.status)) {
      throw fail('business-rule', `${qrAt}.status`, `the QuestionnaireResponse is ${response.resource.status}; a prior authorization request carries the completed documentation`);
    }
    const documents = responseContext(response.resource).order;
    if (documents && referenceId(documents, 'MedicationRequest') !== order.resource.id) {
      throw fail('business-rule', `${qrAt}.extension('qr-context')`, `the QuestionnaireResponse documents ${documents}, not the requested ${order.reference}`);
    }
  }

  const providerResolved = index.resolve<Practitioner | PractitionerRole | Organization>(claim.provider, ['Practitioner', 'PractitionerRole', 'Organization'], `${at}.provider`, 'Claim.provider', false);
  if (!claim.provider?.reference && !claim.provider?.identifier?.value) throw fail('required', `${at}.provider`, 'Claim.provider (the requesting provider) is required');
  if (!providerResolved && claim.provider?.reference) warnings.push(`Claim.provider ${claim.provider.reference} is not in the Bundle`);
  const providerNpi = npiOf(providerResolved?.resource, index) ?? (claim.provider?.identifier?.system === HL7_SYSTEMS.npi ? claim.provider.identifier.value ?? null : null);
  const insurer = index.resolve<Organization>(claim.insurer, ['Organization'], `${at}.insurer`, 'Claim.insurer', false);
  if (!insurer) warnings.push('no Claim.insurer in the Bundle (PAS requires the insurer Organization)');

  // One patient per request: every resource that belongs to a patient belongs to Claim.patient.
  const patientId = patient.resource.id;
  if (!patientId) throw fail('required', `Bundle.entry[${entries.findIndex((e) => e.resource === patient.resource)}].resource.id`, 'the Patient has no id');
  const mismatches = patientMismatches(patientId, 'Claim.patient', entries.flatMap((e, i) => (e.resource && e.resource !== claim ? [{ resource: e.resource, where: `Bundle.entry[${i}].resource` }] : [])));
  if (mismatches.length) throw invalid(422, mismatches.map(({ where, ...i }) => ({ ...i, expression: `${where}.${i.expression.split('.').slice(1).join('.')}` })));

  const recordResources = entries.map((e) => e.resource!).filter((r) => r.resourceType !== 'Claim' && r.resourceType !== 'QuestionnaireResponse');
  const related = (claim.related ?? []).find((r) => r.claim?.identifier?.value);
  return {
    bundle,
    claim,
    claimFullUrl: claimEntry.fullUrl,
    claimIdentifier,
    patient,
    coverage,
    order,
    response,
    provider: { reference: claim.provider?.reference ?? '', resource: providerResolved, npi: providerNpi },
    insurer,
    priority: priorityOf(claim),
    record: { resourceType: 'Bundle', type: 'collection', entry: recordResources.map((resource) => ({ resource })) },
    contentHash: contentHash(entries.map((e) => e.resource!)),
    memberKeys: memberKeys(patient.resource, coverage.resource),
    patientKeys: patientIdentifierKeys(patient.resource),
    replaces: related ? { system: related.claim!.identifier!.system ?? '', value: related.claim!.identifier!.value! } : null,
    warnings,
  };
}
