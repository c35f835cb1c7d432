/**
 * DTR operations as plain functions over FHIR Parameters: $questionnaire-package, $populate,
 * $evaluate and the submission of a response. Each one first does the Request stage of the DTR
 * channel: the body read leniently but strictly (src/fhir/read.ts), the patient of the call checked
 * against every resource it brings (src/core/consistency.ts), answers checked against the
 * Questionnaire (./answers.ts). A refusal is a 4xx OperationOutcome (src/fhir/outcome.ts); engine
 * failures are defects and propagate.
 */
import type {
  Bundle, Coverage, FhirResource, Medication, MedicationRequest, OperationOutcome, Parameters, ParametersParameter, Patient,
  Questionnaire, QuestionnaireResponse,
} from 'fhir/r4';
import type { Config } from '../config';
import { DTR } from '../constants';
import { nowIso, today, type Clock } from '../core/clock';
import { patientMismatches, type Located } from '../core/consistency';
import type { TypeRequirement } from '../core/data-requirements';
import { EvaluationAbandoned, EvaluationBusy } from '../core/errors';
import type { EvaluationOptions, PolicyEvaluator } from '../core/evaluation';
import type { LibraryResults } from '../core/evaluator';
import { FhirClient } from '../fhir/client';
import { operationOutcome, OutcomeError, statusOutcome, type IssueCode, type IssueInput } from '../fhir/outcome';
import { errorsIn, type FhirReader, type ReadIssue } from '../fhir/read';
import { referenceId } from '../fhir/references';
import { assembleRecord } from '../crd/patient-data';
import { referenceLookup, type KineretMatcher } from '../crd/orders';
import { adaptiveFormOf, CONTAINED_ID, nextQuestion, recordFor, servedForms } from './adaptive';
import { checkResponse, flattenAnswers, responseContext } from './answers';
import { type DtrContent, librariesFor, valueSetsFor } from './content';
import { determine } from './determination';
import { populate, type LaunchContext } from './populate';

export interface DtrDeps {
  /** Policy evaluation (src/core/evaluation.ts): worker pool or this thread, with the result cache. */
  evaluator: PolicyEvaluator;
  /** The compiled ELM by library name (which value sets a Library needs). */
  elm: Record<string, unknown>;
  content: DtrContent;
  config: Config;
  matcher: KineretMatcher;
  requirements: TypeRequirement[];
  /** The one clock: the evaluation date when the request names none, and time stamps. */
  clock: Clock;
  /** Reads client FHIR against the R4 element shapes. */
  reader: FhirReader;
}

export interface FhirResult {
  status: number;
  body: FhirResource;
  /** Sloppy-but-clear input read as meant, for the log. */
  warnings?: string[];
}

/** A FHIR answer that is an OperationOutcome of one issue. */
export function outcome(status: number, code: IssueCode, message: string): FhirResult {
  return { status, body: statusOutcome(status, message, { code }) };
}

/** Runs an operation; an expected refusal becomes its OperationOutcome, anything else propagates. (Also the PAS operations'.) */
export async function answering<R extends FhirResult>(run: (warnings: string[]) => Promise<R>): Promise<R | FhirResult> {
  const warnings: string[] = [];
  try {
    const result = await run(warnings);
    return { ...result, warnings: [...warnings, ...(result.warnings ?? [])] };
  } catch (e) {
    if (e instanceof OutcomeError) return { status: e.status, body: e.outcome, warnings };
    throw e;
  }
}

const required = (message: string) => OutcomeError.of(400, message, { code: 'required' });

/** The linkId of the QuestionnaireResponse item an element path leads through, when it does. */
function linkIdOnPath(raw: unknown, expression: string): string | undefined {
  let node: unknown = raw;
  let linkId: string | undefined;
  for (const step of expression.split('.').slice(1)) {
    const m = /^([A-Za-z_]+)(?:\[(\d+)\])?$/.exec(step);
    if (!m || !node || typeof node !== 'object') break;
    node = (node as Record<string, unknown>)[m[1]];
    if (m[2] !== undefined) node = Array.isArray(node) ? node[Number(m[2])] : m[2] === '0' ? node : undefined;
    if (m[1] === 'item' && node && typeof node === 'object' && typeof (node as { linkId?: unknown }).linkId === 'string') linkId = (node as { linkId: string }).linkId;
  }
  return linkId;
}

function refusal(status: number, issues: ReadIssue[], raw: unknown): OutcomeError {
  return new OutcomeError(status, operationOutcome(issues.map((i): IssueInput => {
    const linkId = linkIdOnPath(raw, i.expression);
    return { code: i.code, expression: i.expression, diagnostics: linkId ? `${i.diagnostics} (item "${linkId}")` : i.diagnostics };
  })));
}

/** The body as FHIR Parameters, read leniently but strictly: 400 if it is not Parameters, 422 if its content is not valid FHIR. */
function readParameters(body: unknown, deps: DtrDeps, warnings: string[]): Parameters {
  if (!body || typeof body !== 'object' || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    throw OutcomeError.of(400, 'the body must be a Parameters resource', { code: 'invalid' });
  }
  return readResource<Parameters>(body, 'the body', ['Parameters'], deps, warnings);
}

function readResource<T extends FhirResource>(body: unknown, where: string, types: string[], deps: DtrDeps, warnings: string[]): T {
  const read = deps.reader.resource<T>(body, where, types);
  const errors = errorsIn(read.issues);
  if (errors.length || !read.resource) throw refusal(422, errors, body);
  warnings.push(...read.issues.map((i) => i.diagnostics));
  return read.resource;
}

const all = (p: Parameters, name: string): ParametersParameter[] => (p.parameter ?? []).filter((x) => x.name === name);
const one = (p: Parameters, name: string): ParametersParameter | undefined => all(p, name)[0];

function entries(bundle: Bundle | undefined, where: string): Located[] {
  return (bundle?.entry ?? []).flatMap((e, i) => (e.resource ? [{ resource: e.resource, where: `${where}.entry[${i}].resource` }] : []));
}

/**
 * One patient per call: the data Bundle (when given) holds exactly that Patient, and every resource
 * of the call that belongs to a patient belongs to it.
 */
function checkPatient(patientId: string, named: string, data: Bundle | undefined, others: Located[]): void {
  const issues: IssueInput[] = [];
  if (data) {
    const patients = (data.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient');
    if (patients.length !== 1) {
      issues.push({ code: patients.length ? 'business-rule' : 'required', expression: 'Bundle.entry.resource.ofType(Patient)', diagnostics: `the data Bundle must hold the one Patient the call is about (Patient/${patientId}); it holds ${patients.length}` });
    }
  }
  issues.push(...patientMismatches(patientId, named, [...entries(data, 'data'), ...others]));
  if (issues.length) throw new OutcomeError(422, operationOutcome(issues));
}

/** $questionnaire-package (DTR STU 2.0.1): Questionnaire first, a prepopulated draft response, libraries, value sets. */
export function questionnairePackage(body: unknown, deps: DtrDeps, options: { questionnaireId?: string } = {}): Promise<FhirResult> {
  return answering(async (warnings) => {
    const p = readParameters(body, deps, warnings);
    const coverages = all(p, 'coverage').map((x) => x.resource).filter((r): r is Coverage => r?.resourceType === 'Coverage');
    if (coverages.length === 0) throw required('parameter "coverage" (a Coverage resource) is required');
    const orders = all(p, 'order').map((x) => x.resource).filter((r): r is FhirResource => Boolean(r));
    const canonicals = all(p, 'questionnaire').map((x) => x.valueCanonical ?? x.valueUri ?? x.valueString).filter((c): c is string => Boolean(c));
    const context = one(p, 'context')?.valueString;
    if (orders.length === 0 && canonicals.length === 0 && !context) {
      throw required('at least one of "order", "questionnaire" or "context" is required (dtr-1)');
    }
    const named = options.questionnaireId ? deps.content.byId('Questionnaire', options.questionnaireId) : undefined;
    if (options.questionnaireId && !named) throw OutcomeError.of(404, `unknown questionnaire Questionnaire/${options.questionnaireId}`);
    for (const c of canonicals) {
      if (!deps.content.byCanonical('Questionnaire', c)) throw OutcomeError.of(404, `unknown questionnaire ${c}`);
    }
    // The adaptive form when it is asked for (by canonical or on its own instance), else the standard one.
    const adaptive = deps.content.adaptiveQuestionnaire;
    const isAdaptive = named === adaptive || canonicals.some((c) => deps.content.byCanonical('Questionnaire', c) === adaptive);
    const q = isAdaptive ? adaptive : deps.content.questionnaire;
    const medOrders = orders.filter((o): o is MedicationRequest => o.resourceType === 'MedicationRequest');
    const referenced = all(p, 'referenced').map((x) => x.resource).filter((r): r is FhirResource => Boolean(r));
    const lookup = referenceLookup<Medication>(referenced, 'Medication');
    const kineretOrders = await deps.matcher.kineretOrders(medOrders, lookup);
    if (canonicals.length === 0 && !context && kineretOrders.length === 0) {
      throw OutcomeError.of(404, 'no questionnaire applies to these orders: this service covers Kineret (anakinra) only');
    }
    const changedSince = one(p, 'changedsince')?.valueInstant ?? one(p, 'changedsince')?.valueDateTime;
    if (changedSince && q.date && Date.parse(changedSince) >= Date.parse(q.date)) {
      return {
        status: 200,
        body: { resourceType: 'Parameters', parameter: [{ name: 'operationOutcome', resource: statusOutcome(200, `the questionnaire has not changed since ${changedSince}`) }] },
      };
    }

    const coverage = coverages[0];
    const order = kineretOrders[0] ?? medOrders[0];
    const patientId = referenceId(coverage.beneficiary, 'Patient');
    if (!patientId) throw OutcomeError.of(422, 'the coverage names no beneficiary Patient', { code: 'required', expression: 'Coverage.beneficiary' });
    checkPatient(patientId, 'the coverage\'s beneficiary', undefined, [
      ...coverages.map((resource, i) => ({ resource, where: `coverage[${i}]` })),
      ...orders.map((resource, i) => ({ resource, where: `order[${i}]` })),
      ...referenced.map((resource, i) => ({ resource, where: `referenced[${i}]` })),
    ]);
    const patient = referenced.find((r): r is Patient => r.resourceType === 'Patient') ?? { resourceType: 'Patient', id: patientId };
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
    // One evaluation (through the pool and its cache) serves the standard form's population and the adaptive form's opening.
    const evaluate = await libraryResults(data, { orderId: order?.id, nonPreferred: deps.config.kineretNonPreferred, evaluationDate: today(deps.clock) }, deps);
    const { response: standardResponse, outcome: populateOutcome } = await populate({ questionnaire: deps.content.questionnaire, context: launch, now: nowIso(deps.clock), evaluate });
    // Adaptive: the initial response contains the opening questions, prefilled from what the package was given (DTR: a payer MAY).
    const response = isAdaptive
      ? await nextQuestion({
        form: { adaptive, standard: deps.content.questionnaire },
        response: { resourceType: 'QuestionnaireResponse', meta: standardResponse.meta, extension: standardResponse.extension, status: 'in-progress', subject: standardResponse.subject },
        asked: new Set(),
        evaluate,
        context: launch,
        now: nowIso(deps.clock),
      })
      : standardResponse;
    const libraries = librariesFor(q, deps.content);
    const valueSets = valueSetsFor(libraries, deps.content, deps.elm);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      meta: { profile: [DTR.qpackageBundleProfile] },
      type: 'collection',
      timestamp: nowIso(deps.clock),
      entry: [q, response, ...libraries, ...valueSets].map((resource) => ({ fullUrl: resourceUrl(resource, deps.content.fhirBase), resource })),
    };
    const parameter: ParametersParameter[] = [{ name: 'PackageBundle', resource: bundle }];
    const issues = (populateOutcome.issue ?? []).filter((i) => i.severity !== 'information');
    if (issues.length) parameter.push({ name: 'operationOutcome', resource: { ...operationOutcome([]), issue: issues } });
    return { status: 200, body: { resourceType: 'Parameters', parameter } };
  });
}

/**
 * The policy's libraries evaluated for population, as the `evaluate` callback of populate(): a failure of the
 * evaluation (too slow, a defect) becomes populate's issue and an unpopulated response, as before; only a
 * full evaluation queue (EvaluationBusy) propagates, for a 503 with Retry-After.
 */
async function libraryResults(data: Bundle, options: EvaluationOptions, deps: DtrDeps): Promise<() => Promise<LibraryResults>> {
  try {
    const results = await deps.evaluator.evaluate({ kind: 'libraries', bundle: data, options });
    return async () => results;
  } catch (e) {
    if (e instanceof EvaluationAbandoned) return () => Promise.reject(new Error(e.clinicianMessage));
    if (e instanceof EvaluationBusy) throw e;
    return () => Promise.reject(e);
  }
}

function resourceUrl(r: FhirResource, fhirBase: string): string {
  return r.id ? `${fhirBase}/${r.resourceType}/${r.id}` : `urn:uuid:${crypto.randomUUID()}`;
}

/**
 * SDC $populate: questionnaire (canonical or resource), subject, and the patient data as `data` or
 * from a FHIR server. `access.allowedOrigins`: the origins the caller may have read (its
 * registered fhirServers; null = any, AUTH=off); none by default.
 */
export function populateOperation(body: unknown, deps: DtrDeps, access: { allowedOrigins: readonly string[] | null } = { allowedOrigins: [] }): Promise<FhirResult> {
  return answering(async (warnings) => {
    const p = readParameters(body, deps, warnings);
    const qParam = one(p, 'questionnaire');
    const canonical = qParam?.valueCanonical ?? qParam?.valueUri ?? qParam?.valueString ?? one(p, 'identifier')?.valueIdentifier?.value;
    const q = (qParam?.resource?.resourceType === 'Questionnaire' ? (qParam.resource as Questionnaire) : undefined) ??
      (canonical ? (deps.content.byCanonical('Questionnaire', canonical) as Questionnaire | undefined) : deps.content.questionnaire);
    if (!q) throw OutcomeError.of(404, `unknown questionnaire ${canonical}`);
    const patientId = referenceId(one(p, 'subject')?.valueReference, 'Patient');
    if (!patientId) throw required('parameter "subject" (a Patient reference) is required');
    const coverageRef = one(p, 'coverage')?.valueReference?.reference;
    const orderRef = one(p, 'order')?.valueReference?.reference;
    const userRef = one(p, 'user')?.valueReference?.reference;

    const given = one(p, 'data')?.resource;
    if (given && given.resourceType !== 'Bundle') throw OutcomeError.of(400, 'parameter "data" must be a Bundle', { code: 'invalid' });
    let data = given as Bundle | undefined;
    const problems: string[] = [];
    let patientRead = true;
    if (data) checkPatient(patientId, 'the subject', data, []);
    else {
      const server = one(p, 'fhirServer')?.valueUrl ?? one(p, 'fhirServer')?.valueUri;
      if (!server) throw required('give the patient data as parameter "data" (a Bundle) or name a "fhirServer" to read it from');
      let client: FhirClient;
      try {
        client = new FhirClient({
          baseUrl: server,
          accessToken: one(p, 'accessToken')?.valueString || undefined,
          timeoutMs: deps.config.fhirTimeoutMs,
          maxPages: deps.config.fhirMaxPages,
          maxResponseBytes: deps.config.fhirMaxResponseBytes,
          signal: AbortSignal.timeout(deps.config.hookBudgetMs),
          policy: deps.config,
          allowedOrigins: access.allowedOrigins,
        });
      } catch {
        throw OutcomeError.of(400, `fhirServer ${server} is not a valid URL`, { code: 'invalid' });
      }
      const record = await assembleRecord({
        patientId, orders: [], prefetched: { resources: [], covered: new Set(), referenced: [], notes: [] }, client,
        requirements: deps.requirements, valueSets: deps.content.valueSets, reader: deps.reader,
      });
      // The same words whatever went wrong (refused address, closed port, timeout): no probing the network through errors.
      problems.push(...[...record.failedTypes].map((type) => `${type} could not be read from fhirServer`));
      patientRead = !record.failedTypes.has('Patient');
      data = record.bundle;
      warnings.push(...record.warnings.map((w) => w.diagnostics));
    }
    // Without the Patient there is nothing to evaluate: the response comes back empty, the issues say why.
    const results = patientRead
      ? await libraryResults(data, { orderId: referenceId(orderRef, 'MedicationRequest'), nonPreferred: deps.config.kineretNonPreferred, evaluationDate: today(deps.clock) }, deps)
      : async () => ({});
    const { response, outcome: issues } = await populate({
      questionnaire: q,
      context: { patient: `Patient/${patientId}`, coverage: coverageRef, order: orderRef, user: userRef },
      now: nowIso(deps.clock),
      evaluate: results,
    });
    for (const message of problems) issues.issue.push({ severity: 'warning', code: 'incomplete', diagnostics: message });
    return { status: 200, body: { resourceType: 'Parameters', parameter: [{ name: 'response', resource: response }, { name: 'issues', resource: issues }] } };
  });
}

/**
 * SDC $next-question for the adaptive Kineret form (src/dtr/adaptive.ts): the body is the adaptive
 * QuestionnaireResponse, bare or as Parameters `questionnaire-response` (SDC; `in` in earlier
 * drafts). Parameters may also carry `data`, the patient's record (a Bundle holding the response's
 * subject), so that the service fills what the record answers; without it the service knows the
 * answers only, and the items' CQL lets the DTR client fill them from the EHR. The answer is the
 * QuestionnaireResponse itself (the operation's only out parameter).
 */
export function nextQuestionOperation(body: unknown, deps: DtrDeps): Promise<FhirResult> {
  return answering(async (warnings) => {
    const kind = (body as { resourceType?: unknown } | null)?.resourceType;
    let raw: unknown = body;
    let data: Bundle | undefined;
    if (kind === 'Parameters') {
      const p = readParameters(body, deps, warnings);
      raw = (one(p, 'questionnaire-response') ?? one(p, 'in'))?.resource;
      if ((raw as { resourceType?: unknown } | undefined)?.resourceType !== 'QuestionnaireResponse') throw required('parameter "questionnaire-response" (the adaptive QuestionnaireResponse) is required');
      const given = one(p, 'data')?.resource;
      if (given && given.resourceType !== 'Bundle') throw OutcomeError.of(400, 'parameter "data" must be a Bundle', { code: 'invalid' });
      data = given as Bundle | undefined;
    } else if (kind !== 'QuestionnaireResponse') {
      throw OutcomeError.of(400, 'the body must be an adaptive QuestionnaireResponse, or Parameters with "questionnaire-response"', { code: 'invalid' });
    }
    const response = readResource<QuestionnaireResponse>(raw, 'the questionnaire-response', ['QuestionnaireResponse'], deps, warnings);
    if (!['in-progress', 'completed'].includes(response.status)) {
      throw OutcomeError.of(400, `an adaptive response in progress is ${response.status}; $next-question takes in-progress (or completed) responses`, { code: 'business-rule', expression: 'QuestionnaireResponse.status' });
    }
    const patientId = referenceId(response.subject, 'Patient');
    if (!patientId) throw OutcomeError.of(400, 'the response has no subject Patient', { code: 'required', expression: 'QuestionnaireResponse.subject' });
    checkPatient(patientId, 'the response\'s subject', data, [{ resource: response, where: 'questionnaire-response' }]);
    const form = adaptiveFormOf(response, servedForms(deps.content));
    const asked = new Set<string>();
    const collect = (items: Questionnaire['item']) => { for (const i of items ?? []) { asked.add(i.linkId); collect(i.item); } };
    collect(form.contained.item);
    const ctx = responseContext(response);
    const record = recordFor(patientId, data);
    const evaluate = await libraryResults(record, {
      answers: flattenAnswers(response),
      orderId: referenceId(ctx.order, 'MedicationRequest'),
      nonPreferred: deps.config.kineretNonPreferred,
      evaluationDate: today(deps.clock),
    }, deps);
    const next = await nextQuestion({
      form,
      response,
      asked,
      context: { patient: `Patient/${patientId}`, coverage: ctx.coverage, order: ctx.order },
      now: nowIso(deps.clock),
      evaluate,
    });
    return { status: 200, body: next };
  });
}

/** A response with the record it is evaluated against, and the evaluation date, read and checked. */
interface Submission {
  response: QuestionnaireResponse;
  data: Bundle | undefined;
  date: string;
}

/**
 * The Request stage of a determination: the response (a QuestionnaireResponse of the served
 * Questionnaire, about one Patient), the record (`data`, a Bundle holding that Patient and nothing
 * of another), and the date (the request's, else today by the clock). Answers are checked against
 * the Questionnaire: a completed response that cannot be evaluated is refused with 422.
 */
function readSubmission(p: Parameters, deps: DtrDeps, options: { dataRequired: boolean }): Submission {
  const response = one(p, 'response')?.resource as QuestionnaireResponse | undefined;
  if (response?.resourceType !== 'QuestionnaireResponse') throw required('parameter "response" (a QuestionnaireResponse) is required');
  const given = one(p, 'data')?.resource;
  if (given && given.resourceType !== 'Bundle') throw OutcomeError.of(400, 'parameter "data" must be a Bundle', { code: 'invalid' });
  const data = given as Bundle | undefined;
  if (!data && options.dataRequired) throw required('parameter "data" (a Bundle with the patient\'s record) is required: the determination is evaluated against that record');
  const dateParam = one(p, 'date');
  const date = dateParam?.valueDate ?? dateParam?.valueDateTime?.slice(0, 10) ?? (dateParam ? 'invalid' : today(deps.clock));
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw OutcomeError.of(400, `parameter "date" must be a date (YYYY-MM-DD); got ${JSON.stringify(dateParam)}`, { code: 'invalid' });
  checkResponseFor(response, data, deps);
  return { response, data, date };
}

/**
 * A response checked as a determination needs it (its status, its subject against the record, its answers
 * against the Questionnaire it names); the PAS channel checks the documentation it carries the same way.
 */
export function checkResponseFor(response: QuestionnaireResponse, data: Bundle | undefined, deps: Pick<DtrDeps, 'content'>): void {
  if (!['in-progress', 'completed', 'amended'].includes(response.status)) {
    throw OutcomeError.of(422, `a response with status ${response.status} cannot be evaluated (in-progress, completed or amended)`, { code: 'business-rule', expression: 'QuestionnaireResponse.status' });
  }
  const patientId = referenceId(response.subject, 'Patient');
  if (!patientId) throw OutcomeError.of(422, 'the response has no subject Patient', { code: 'required', expression: 'QuestionnaireResponse.subject' });
  // The record's Patient is the response's subject, and every resource of the record (the order and coverage the
  // response documents in qr-context among them) belongs to that patient.
  checkPatient(patientId, 'the response\'s subject', data, [{ resource: response, where: 'response' }]);
  const canonical = response.questionnaire;
  if (!canonical) throw OutcomeError.of(422, 'the response names no questionnaire', { code: 'required', expression: 'QuestionnaireResponse.questionnaire' });
  // An adaptive response (its contained Questionnaire, #id) answers the standard form's questions.
  const questionnaire = canonical.startsWith('#')
    ? adaptiveFormOf(response, servedForms(deps.content)).standard
    : deps.content.byCanonical('Questionnaire', canonical) as Questionnaire | undefined;
  if (!questionnaire) throw OutcomeError.of(422, `the response answers ${canonical}, which this service does not serve`, { code: 'not-found', expression: 'QuestionnaireResponse.questionnaire' });
  if (questionnaire === deps.content.adaptiveQuestionnaire) {
    throw OutcomeError.of(422, `the response names the adaptive questionnaire ${canonical} directly; an adaptive response names its contained Questionnaire (#${CONTAINED_ID})`, { code: 'business-rule', expression: 'QuestionnaireResponse.questionnaire' });
  }
  const issues = checkResponse(questionnaire, { ...response, questionnaire: `${questionnaire.url}|${questionnaire.version}` });
  if (issues.length) throw new OutcomeError(422, operationOutcome(issues));
}

/** $evaluate: a response (completed, or in-progress for a partial look), the patient's record and an optional date, into a determination. */
export function evaluateOperation(body: unknown, deps: DtrDeps): Promise<FhirResult> {
  return answering(async (warnings) => {
    const p = readParameters(body, deps, warnings);
    const s = readSubmission(p, deps, { dataRequired: true });
    return { status: 200, body: await runDetermination(s, deps) };
  });
}

/** The determination; an evaluation that could not finish in time is a 503 OperationOutcome saying so (no determination is made up). */
async function runDetermination(s: Submission, deps: DtrDeps): Promise<Parameters> {
  try {
    const { parameters } = await determine({ evaluator: deps.evaluator, response: s.response, data: s.data!, date: s.date, nonPreferred: deps.config.kineretNonPreferred });
    return parameters;
  } catch (e) {
    if (e instanceof EvaluationAbandoned) throw OutcomeError.of(503, `${e.clinicianMessage} No determination was made.`, { code: e.reason === 'timeout' ? 'timeout' : 'too-costly' });
    throw e;
  }
}

/** What to store for a submitted response: the response, and its determination or why there is none. */
export interface StoredSubmission {
  response: QuestionnaireResponse;
  determination: Parameters | OperationOutcome;
}

/**
 * POST /fhir/QuestionnaireResponse: the response alone (stored, with no determination: the service
 * never evaluates a response against a record it was not given), or Parameters with `response`,
 * `data` (the patient's record it is evaluated against) and optional `date`, as for $evaluate.
 */
export async function submitResponse(body: unknown, deps: DtrDeps): Promise<{ result: FhirResult; stored?: StoredSubmission }> {
  let stored: StoredSubmission | undefined;
  const result = await answering(async (warnings) => {
    const isParameters = (body as { resourceType?: unknown } | null)?.resourceType === 'Parameters';
    if (!isParameters) {
      if ((body as { resourceType?: unknown } | null)?.resourceType !== 'QuestionnaireResponse') {
        throw OutcomeError.of(400, 'the body must be a QuestionnaireResponse, or Parameters with "response" and "data" (the record it is evaluated against)', { code: 'invalid' });
      }
      const response = readResource<QuestionnaireResponse>(body, 'the body', ['QuestionnaireResponse'], deps, warnings);
      checkResponseFor(response, undefined, deps);
      stored = {
        response,
        determination: statusOutcome(404, 'no determination: the response was stored without the patient\'s record; submit it as Parameters with "response" and "data", or use $evaluate', { code: 'not-found' }),
      };
      return { status: 201, body: response };
    }
    const s = readSubmission(readParameters(body, deps, warnings), deps, { dataRequired: false });
    stored = {
      response: s.response,
      determination: s.data ? await runDetermination(s, deps) : statusOutcome(404, 'no determination: the response was stored without the patient\'s record ("data")', { code: 'not-found' }),
    };
    return { status: 201, body: s.response };
  });
  return { result, ...(result.status === 201 && stored ? { stored } : {}) };
}
