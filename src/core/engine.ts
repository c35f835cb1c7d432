/**
 * The evaluation core: compiled CQL + value sets loaded once, then evaluated per request against a
 * patient Bundle. Per-request state (the patient source, the executor's context) lives only in the
 * call; the shared objects are read-only after start-up, so requests can run concurrently.
 *
 * Patient data reaches cql-execution through our fast data source (./fast-source) unless the engine is
 * built with `source: 'stock'` (cql-exec-fhir's PatientSource, the reference implementation) or
 * `'stock-per-request'` (the same, its model info parsed per evaluation: a benchmark baseline).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as cql from 'cql-execution';
import { codeServiceFor, executeLibraries, liftContainedMedications, LibrarySet, toPlain } from './cql-data';
import { PatientSource } from 'cql-exec-fhir';
import type { Bundle, FhirResource, ValueSet } from 'fhir/r4';
import { HELPERS_LIBRARY, MAIN_LIBRARY, PREFILL_LIBRARY } from '../constants';
import { ELM_DIR, VALUESET_DIR } from '../paths';
import { FastPatientSource, fhirModelInfo } from './fast-source';
import { instrumentLibrary, TimingListener } from './timing';
import type {
  CriterionResult, DataSourceKind, Decision, EngineOptions, Evaluation, EvaluateOptions, PendReason, PendReasonKind, RawEvaluation, RequestType,
} from './types';

/** The request cannot be evaluated as given (not a Bundle, no Patient, ...). */
export class EvaluationInputError extends Error {
  override readonly name = 'EvaluationInputError';
}

export interface LoadedContent {
  elm: Record<string, unknown>;
  valueSets: ValueSet[];
}

/** Reads the compiled ELM and the expanded value sets from disk. */
export function loadContent(elmDir = ELM_DIR, valueSetDir = VALUESET_DIR): LoadedContent {
  const elm: Record<string, unknown> = {};
  for (const file of readdirSync(elmDir).filter((f) => f.endsWith('.json'))) {
    elm[path.basename(file, '.json')] = JSON.parse(readFileSync(path.join(elmDir, file), 'utf8'));
  }
  if (!elm[MAIN_LIBRARY]) throw new Error(`ELM for ${MAIN_LIBRARY} not found in ${elmDir}: run npm run build`);
  const valueSets = readdirSync(valueSetDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(valueSetDir, f), 'utf8')) as ValueSet);
  return { elm, valueSets };
}


type CqlPatientSource = ReturnType<typeof PatientSource.FHIRv401>;

const STOCK_OPTIONS = { requireProfileTagging: false };

export class KineretEngine {
  readonly source: DataSourceKind;
  /** Every compiled library, each resolved once (src/core/cql-data.ts). */
  private readonly set: LibrarySet;
  /** The libraries an evaluation runs by default: every library of the policy (their includes follow). */
  readonly libraryNames: string[];
  private readonly codeService: cql.CodeService;
  /** Stock source only: the FHIR model info parsed once; each request gets a source whose prototype is this one. */
  private stockTemplate: CqlPatientSource | undefined;
  /** A second, instrumented copy of the libraries, made on the first timed evaluation. */
  private timedSet: LibrarySet | undefined;

  constructor(
    readonly content: LoadedContent = loadContent(),
    options: EngineOptions = {},
  ) {
    if (!content.elm[HELPERS_LIBRARY]) throw new Error(`ELM for ${HELPERS_LIBRARY} is missing`);
    this.set = new LibrarySet(content.elm);
    this.libraryNames = Object.keys(content.elm).filter((name) => name !== HELPERS_LIBRARY).sort();
    for (const name of this.libraryNames) this.set.get(name);
    for (const name of [MAIN_LIBRARY, PREFILL_LIBRARY]) if (!this.libraryNames.includes(name)) throw new Error(`library ${name} is missing`);
    this.codeService = codeServiceFor(content.valueSets);
    this.source = options.source ?? 'fast';
    // The FHIR model info is parsed here, at start-up, rather than in the first request.
    if (this.source === 'fast') fhirModelInfo();
    if (this.source === 'stock') this.stockTemplate = PatientSource.FHIRv401(STOCK_OPTIONS);
  }

  /** A data source for one request, over the bundle with contained Medications lifted. */
  private sourceFor(bundle: Bundle): cql.DataProvider {
    const lifted = liftContainedMedications(bundle);
    if (this.source === 'fast') return new FastPatientSource([lifted]);
    if (this.source === 'stock-per-request') {
      const fresh = PatientSource.FHIRv401(STOCK_OPTIONS);
      fresh.loadBundles([lifted]);
      return fresh;
    }
    this.stockTemplate ??= PatientSource.FHIRv401(STOCK_OPTIONS);
    const source = Object.create(this.stockTemplate) as CqlPatientSource & { _index: number; _bundles: Bundle[] };
    source._index = 0;
    source._bundles = [lifted];
    return source;
  }

  private timed(): LibrarySet {
    if (!this.timedSet) {
      const set = new LibrarySet(this.content.elm);
      const seen = new Set<unknown>();
      for (const name of this.libraryNames) instrumentLibrary(set.get(name), seen as never);
      this.timedSet = set;
    }
    return this.timedSet;
  }

  /**
   * Evaluates every definition of the named libraries (by default every library of the policy) for the
   * patient in `bundle`; each library's definitions are computed once, whichever library needs them.
   */
  async evaluateRaw(bundle: Bundle, options: EvaluateOptions = {}, libraries: string[] = this.libraryNames): Promise<RawEvaluation> {
    const patientId = patientIdOf(bundle);
    const evaluationDate = options.evaluationDate ?? new Date().toISOString();
    const executionDateTime = parseExecutionDate(evaluationDate);
    const parameters = {
      // cql-execution type-checks parameters: absent tuple elements must be left out, not null.
      Answers: (options.answers ?? []).map(
        (a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null && v !== undefined)),
      ),
      'Order Id': options.orderId ?? null,
      'Kineret Is Non-Preferred': options.nonPreferred ?? false,
    };
    const listener = options.timing ? new TimingListener() : undefined;
    const set = listener ? this.timed() : this.set;
    const results = await executeLibraries({
      libraries: libraries.map((name) => set.get(name)),
      source: this.sourceFor(bundle),
      codeService: this.codeService,
      parameters,
      executionDateTime,
      messageListener: listener,
    });
    if (!results) throw new EvaluationInputError(`no results for Patient/${patientId}`);
    return { patientId, results, evaluationDate, ...(listener ? { timings: listener.timings() } : {}) };
  }

  /** Every definition of the policy's libraries as JSON-friendly values, keyed by library name (for prepopulation). */
  async evaluateLibraries(bundle: Bundle, options: EvaluateOptions = {}): Promise<Record<string, Record<string, unknown>>> {
    const { results } = await this.evaluateRaw(bundle, options, [MAIN_LIBRARY, PREFILL_LIBRARY]);
    const plain: Record<string, Record<string, unknown>> = {};
    for (const [library, values] of Object.entries(results)) {
      plain[library] = {};
      for (const [name, value] of Object.entries(values)) plain[library][name] = toPlain(value);
    }
    return plain;
  }

  /** Evaluates the policy for the patient in `bundle` and returns typed criterion results. */
  async evaluate(bundle: Bundle, options: EvaluateOptions = {}): Promise<Evaluation> {
    const raw = await this.evaluateRaw(bundle, options, [MAIN_LIBRARY, PREFILL_LIBRARY]);
    const { patientId, evaluationDate } = raw;
    const results = raw.results[MAIN_LIBRARY];
    const str = (name: string): string | null => (typeof results[name] === 'string' ? (results[name] as string) : null);
    const prefill: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw.results[PREFILL_LIBRARY])) prefill[name] = toPlain(value);
    return {
      patientId,
      evaluationDate,
      indication: str('Indication'),
      recordIndication: str('Record Indication'),
      requestType: (str('Request Type') ?? 'initial') as RequestType,
      recordRequestType: (str('Record Request Type') ?? 'initial') as RequestType,
      decision: str('Decision') as Decision,
      pendReasons: ((results['Pend Reasons'] as unknown[]) ?? []).map(toPendReason),
      criteria: ((results['Criteria'] as unknown[]) ?? []).map(toCriterion),
      approvalMonths: typeof results['Approval Duration Months'] === 'number' ? (results['Approval Duration Months'] as number) : null,
      approvalReason: str('Approval Duration Reason') ?? '',
      texasRuleApplies: results['Texas Rule Applies'] === true,
      texasMarketplace: results['Is Texas Marketplace'] === true,
      orderReference: str('Order Reference'),
      coverageReference: str('Coverage Reference'),
      prefill,
    };
  }
}

export { liftContainedMedications };

function patientIdOf(bundle: Bundle): string {
  if (!bundle || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
    throw new EvaluationInputError('patient data must be a FHIR Bundle with entries');
  }
  const patients = bundle.entry.map((e) => e.resource).filter((r): r is FhirResource & { resourceType: 'Patient' } => r?.resourceType === 'Patient');
  if (patients.length !== 1) throw new EvaluationInputError(`patient data must hold exactly one Patient (found ${patients.length})`);
  const id = patients[0].id;
  if (!id) throw new EvaluationInputError('the Patient resource has no id');
  return id;
}

function parseExecutionDate(value: string): cql.DateTime {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00.000Z` : value;
  const parsed = cql.DateTime.parse(date);
  if (!parsed) throw new EvaluationInputError(`invalid evaluation date: ${value}`);
  return parsed;
}

function toPendReason(value: unknown): PendReason {
  const t = value as Record<string, unknown>;
  return { kind: t.kind as PendReasonKind, criterion: typeof t.criterion === 'string' ? t.criterion : null, text: typeof t.text === 'string' ? t.text : '' };
}

function toCriterion(value: unknown): CriterionResult {
  const t = value as Record<string, unknown>;
  return {
    code: String(t.code),
    status: t.status as CriterionResult['status'],
    source: (t.source ?? 'none') as CriterionResult['source'],
    evidence: Array.isArray(t.evidence) ? (t.evidence as unknown[]).filter((e): e is string => typeof e === 'string') : [],
    reason: typeof t.reason === 'string' ? t.reason : '',
  };
}

