/**
 * DTR operations as plain functions over FHIR Parameters: $questionnaire-package, $populate and
 * $evaluate. Each returns a status and a FHIR resource; errors are OperationOutcomes.
 */
import type {
  Bundle, Coverage, FhirResource, Medication, MedicationRequest, OperationOutcome, Parameters, ParametersParameter, Patient,
  Questionnaire, QuestionnaireResponse,
} from 'fhir/r4';
import type { Config } from '../config';
import type { TypeRequirement } from '../core/data-requirements';
import type { KineretEngine } from '../core/engine';
import { EvaluationInputError } from '../core/engine';
import { FhirClient } from '../fhir/client';
import { assemblePatientData, type Harvest } from '../crd/patient-data';
import { referenceLookup, type KineretMatcher } from '../crd/orders';
import { type DtrContent, librariesFor, valueSetsFor } from './content';
import { DeterminationInputError, determine } from './determination';
import { populate, type LaunchContext } from './populate';

export interface DtrDeps {
  engine: KineretEngine;
  content: DtrContent;
  config: Config;
  matcher: KineretMatcher;
  requirements: TypeRequirement[];
}

export type FhirResult = { status: number; body: FhirResource };

export function outcome(status: number, code: OperationOutcome['issue'][number]['code'], message: string, severity: 'error' | 'warning' | 'information' = 'error'): FhirResult {
  return { status, body: { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: message }] } };
}

function params(body: unknown): Parameters | null {
  return body && typeof body === 'object' && (body as { resourceType?: unknown }).resourceType === 'Parameters' ? (body as Parameters) : null;
}
const all = (p: Parameters, name: string): ParametersParameter[] => (p.parameter ?? []).filter((x) => x?.name === name);
const one = (p: Parameters, name: string): ParametersParameter | undefined => all(p, name)[0];

function refId(ref: string | undefined, type: string): string | undefined {
  return ref ? new RegExp(`(?:^|/)${type}/([^/]+)$`).exec(ref)?.[1] : undefined;
}

/** $questionnaire-package (DTR STU 2.0.1): Questionnaire first, a prepopulated draft response, libraries, value sets. */
export async function questionnairePackage(body: unknown, deps: DtrDeps): Promise<FhirResult> {
  const p = params(body);
  if (!p) return outcome(400, 'invalid', 'the body must be a Parameters resource');
  const coverages = all(p, 'coverage').map((x) => x.resource).filter((r): r is Coverage => r?.resourceType === 'Coverage');
  if (coverages.length === 0) return outcome(400, 'required', 'parameter "coverage" (a Coverage resource) is required');
  const orders = all(p, 'order').map((x) => x.resource).filter((r): r is FhirResource => Boolean(r));
  const canonicals = all(p, 'questionnaire').map((x) => x.valueCanonical ?? x.valueUri ?? x.valueString).filter((c): c is string => Boolean(c));
  const context = one(p, 'context')?.valueString;
  if (orders.length === 0 && canonicals.length === 0 && !context) {
    return outcome(400, 'required', 'at least one of "order", "questionnaire" or "context" is required (dtr-1)');
  }
  const q = deps.content.questionnaire;
  for (const c of canonicals) {
    if (!deps.content.byCanonical('Questionnaire', c)) return outcome(404, 'not-found', `unknown questionnaire ${c}`);
  }
  const medOrders = orders.filter((o): o is MedicationRequest => o.resourceType === 'MedicationRequest');
  const referenced = all(p, 'referenced').map((x) => x.resource).filter((r): r is FhirResource => Boolean(r));
  const lookup = referenceLookup<Medication>(referenced, 'Medication');
  const kineretOrders = await deps.matcher.kineretOrders(medOrders, lookup);
  if (canonicals.length === 0 && !context && kineretOrders.length === 0) {
    return outcome(404, 'not-found', 'no questionnaire applies to these orders: this service covers Kineret (anakinra) only');
  }
  const changedSince = one(p, 'changedsince')?.valueInstant ?? one(p, 'changedsince')?.valueDateTime;
  if (changedSince && q.date && Date.parse(changedSince) >= Date.parse(q.date)) {
    return {
      status: 200,
      body: { resourceType: 'Parameters', parameter: [{ name: 'operationOutcome', resource: outcome(200, 'informational', `the questionnaire has not changed since ${changedSince}`, 'information').body }] },
    };
  }

  const coverage = coverages[0];
  const order = kineretOrders[0] ?? medOrders[0];
  const patientId = refId(coverage.beneficiary?.reference, 'Patient') ?? refId((order as MedicationRequest | undefined)?.subject?.reference, 'Patient');
  if (!patientId) return outcome(422, 'required', 'the coverage names no beneficiary Patient');
  const patient = referenced.find((r): r is Patient => r.resourceType === 'Patient' && r.id === patientId) ?? { resourceType: 'Patient', id: patientId };
  const data: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [patient, coverage, ...orders, ...referenced.filter((r) => r !== patient)].map((resource) => ({ resource })),
  };
  const launch: LaunchContext = {
    patient: `Patient/${patientId}`,
    coverage: coverage.id ? `Coverage/${coverage.id}` : undefined,
    order: order?.id ? `MedicationRequest/${order.id}` : undefined,
  };
  const { response, outcome: populateOutcome } = await populate({
    questionnaire: q,
    context: launch,
    evaluate: () => deps.engine.evaluateLibraries(data, { orderId: order?.id, nonPreferred: deps.config.kineretNonPreferred }),
  });
  const libraries = librariesFor(q, deps.content);
  const valueSets = valueSetsFor(libraries, deps.content, deps.engine.content.elm);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    meta: { profile: ['http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/DTR-QPackageBundle'] },
    type: 'collection',
    timestamp: new Date().toISOString(),
    entry: [q, response, ...libraries, ...valueSets].map((resource) => ({ fullUrl: resourceUrl(resource, deps.content.fhirBase), resource })),
  };
  const parameter: ParametersParameter[] = [{ name: 'PackageBundle', resource: bundle }];
  const issues = (populateOutcome.issue ?? []).filter((i) => i.severity !== 'information');
  if (issues.length) parameter.push({ name: 'operationOutcome', resource: { resourceType: 'OperationOutcome', issue: issues } });
  return { status: 200, body: { resourceType: 'Parameters', parameter } };
}

function resourceUrl(r: FhirResource, fhirBase: string): string {
  return r.id ? `${fhirBase}/${r.resourceType}/${r.id}` : `urn:uuid:${crypto.randomUUID()}`;
}

/** SDC $populate: questionnaire (canonical or resource), subject, and the patient data as `data` or from a FHIR server. */
export async function populateOperation(body: unknown, deps: DtrDeps): Promise<FhirResult> {
  const p = params(body);
  if (!p) return outcome(400, 'invalid', 'the body must be a Parameters resource');
  const qParam = one(p, 'questionnaire');
  const canonical = qParam?.valueCanonical ?? qParam?.valueUri ?? qParam?.valueString ?? one(p, 'identifier')?.valueIdentifier?.value;
  const q = (qParam?.resource?.resourceType === 'Questionnaire' ? (qParam.resource as Questionnaire) : undefined) ??
    (canonical ? (deps.content.byCanonical('Questionnaire', canonical) as Questionnaire | undefined) : deps.content.questionnaire);
  if (!q) return outcome(404, 'not-found', `unknown questionnaire ${canonical}`);
  const subject = one(p, 'subject')?.valueReference?.reference;
  const patientId = refId(subject, 'Patient');
  if (!patientId) return outcome(400, 'required', 'parameter "subject" (a Patient reference) is required');
  const coverageRef = one(p, 'coverage')?.valueReference?.reference;
  const orderRef = one(p, 'order')?.valueReference?.reference;
  const userRef = one(p, 'user')?.valueReference?.reference;

  let data = one(p, 'data')?.resource as Bundle | undefined;
  const problems: string[] = [];
  if (data && data.resourceType !== 'Bundle') return outcome(400, 'invalid', 'parameter "data" must be a Bundle');
  if (!data) {
    const server = one(p, 'fhirServer')?.valueUrl ?? one(p, 'fhirServer')?.valueUri;
    if (!server) return outcome(400, 'required', 'give the patient data as parameter "data" (a Bundle) or name a "fhirServer" to read it from');
    let client: FhirClient;
    try {
      client = new FhirClient({
        baseUrl: server,
        accessToken: one(p, 'accessToken')?.valueString,
        timeoutMs: deps.config.fhirTimeoutMs,
        maxPages: deps.config.fhirMaxPages,
        maxResponseBytes: deps.config.fhirMaxResponseBytes,
        signal: AbortSignal.timeout(deps.config.hookBudgetMs),
        policy: deps.config,
        allowedOrigins: null,
      });
    } catch {
      return outcome(400, 'invalid', `fhirServer ${server} is not a valid URL`);
    }
    const emptyHarvest: Harvest = { resources: [], covered: new Set(), problems: [] };
    const assembled = await assemblePatientData({ patientId, orders: [], harvest: emptyHarvest, client, requirements: deps.requirements, valueSets: deps.content.valueSets });
    data = assembled.bundle;
    problems.push(...assembled.problems);
  }
  const bundle = data;
  const { response, outcome: issues } = await populate({
    questionnaire: q,
    context: { patient: `Patient/${patientId}`, coverage: coverageRef, order: orderRef, user: userRef },
    evaluate: () => deps.engine.evaluateLibraries(bundle, { orderId: refId(orderRef, 'MedicationRequest'), nonPreferred: deps.config.kineretNonPreferred }),
  });
  for (const message of problems) issues.issue.push({ severity: 'warning', code: 'incomplete', diagnostics: message });
  return { status: 200, body: { resourceType: 'Parameters', parameter: [{ name: 'response', resource: response }, { name: 'issues', resource: issues }] } };
}

/** $evaluate: a completed response (plus optional patient data and date) into a determination. */
export async function evaluateOperation(body: unknown, deps: DtrDeps): Promise<FhirResult> {
  const p = params(body);
  if (!p) return outcome(400, 'invalid', 'the body must be a Parameters resource');
  const response = one(p, 'response')?.resource as QuestionnaireResponse | undefined;
  if (response?.resourceType !== 'QuestionnaireResponse') return outcome(400, 'required', 'parameter "response" (a QuestionnaireResponse) is required');
  const data = one(p, 'data')?.resource as Bundle | undefined;
  if (data && data.resourceType !== 'Bundle') return outcome(400, 'invalid', 'parameter "data" must be a Bundle');
  const date = one(p, 'date')?.valueDate ?? one(p, 'date')?.valueDateTime?.slice(0, 10);
  if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date)) return outcome(400, 'invalid', `invalid date ${date}`);
  return runDetermination(response, data, date, deps);
}

export async function runDetermination(response: QuestionnaireResponse, data: Bundle | undefined, date: string | undefined, deps: DtrDeps): Promise<FhirResult> {
  try {
    const { parameters } = await determine({ engine: deps.engine, response, data, date, nonPreferred: deps.config.kineretNonPreferred });
    return { status: 200, body: parameters };
  } catch (e) {
    if (e instanceof DeterminationInputError || e instanceof EvaluationInputError) return outcome(422, 'processing', e.message);
    throw e;
  }
}
