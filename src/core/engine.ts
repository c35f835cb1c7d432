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
import type * as cql from 'cql-execution';
import { PatientSource } from 'cql-exec-fhir';
import type { Bundle, ValueSet } from 'fhir/r4';
import { HELPERS_LIBRARY, MAIN_LIBRARY, PREFILL_LIBRARY } from '../constants';
import { ELM_DIR, VALUESET_DIR } from '../paths';
import { LibrarySet, toPlain } from './cql-data';
import { EvaluationInputError, LibraryEvaluator, type LibraryResults } from './evaluator';
import { FastPatientSource, fhirModelInfo } from './fast-source';
import { instrumentLibrary, TimingListener } from './timing';
import type {
  CoveringAuthorization, CriterionResult, DataSourceKind, Decision, EngineOptions, Evaluation, EvaluateOptions, PendReason, PendReasonKind, RawEvaluation, RequestType,
} from './types';

export { EvaluationInputError };

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

/**
 * The server's evaluation of the policy libraries: the shared LibraryEvaluator (./evaluator.ts) over
 * the ELM and value sets on disk, with the data source chosen at construction, and typed results.
 */
export class KineretEngine {
  readonly source: DataSourceKind;
  private readonly evaluator: LibraryEvaluator;
  /** The libraries an evaluation runs by default: every library of the policy (their includes follow). */
  readonly libraryNames: string[];
  /** Stock source only: the FHIR model info parsed once; each request gets a source whose prototype is this one. */
  private stockTemplate: CqlPatientSource | undefined;
  /** A second, instrumented copy of the libraries, made on the first timed evaluation. */
  private timedSet: LibrarySet | undefined;

  constructor(
    readonly content: LoadedContent = loadContent(),
    options: EngineOptions = {},
  ) {
    if (!content.elm[HELPERS_LIBRARY]) throw new Error(`ELM for ${HELPERS_LIBRARY} is missing`);
    this.source = options.source ?? 'fast';
    this.evaluator = new LibraryEvaluator(content.elm, content.valueSets, MAIN_LIBRARY, (bundle) => this.sourceFor(bundle));
    this.libraryNames = Object.keys(content.elm).filter((name) => name !== HELPERS_LIBRARY).sort();
    // Every library resolved (and its ELM checked) at start-up, once.
    for (const name of this.libraryNames) this.evaluator.set.get(name);
    if (!this.libraryNames.includes(PREFILL_LIBRARY)) throw new Error(`ELM for ${PREFILL_LIBRARY} is missing`);
    // The FHIR model info is parsed here, at start-up, rather than in the first request.
    if (this.source === 'fast') fhirModelInfo();
    if (this.source === 'stock') this.stockTemplate = PatientSource.FHIRv401(STOCK_OPTIONS);
  }

  /** A data source for one request (the evaluator has lifted contained Medications already). */
  private sourceFor(bundle: Bundle): cql.DataProvider {
    if (this.source === 'fast') return new FastPatientSource([bundle]);
    if (this.source === 'stock-per-request') {
      const fresh = PatientSource.FHIRv401(STOCK_OPTIONS);
      fresh.loadBundles([bundle]);
      return fresh;
    }
    this.stockTemplate ??= PatientSource.FHIRv401(STOCK_OPTIONS);
    const source = Object.create(this.stockTemplate) as CqlPatientSource & { _index: number; _bundles: Bundle[] };
    source._index = 0;
    source._bundles = [bundle];
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
   * Every definition of the named libraries (by default every library of the policy) for the patient in
   * `bundle`, keyed by library name; each library's definitions are computed once, whichever library needs them.
   */
  async evaluateRaw(bundle: Bundle, options: EvaluateOptions, libraries: string[] = this.libraryNames): Promise<RawEvaluation> {
    if (!options.timing) return this.evaluator.evaluateRaw(bundle, options, { libraries });
    const listener = new TimingListener();
    const raw = await this.evaluator.evaluateRaw(bundle, options, { libraries, set: this.timed(), listener });
    return { ...raw, timings: listener.timings() };
  }

  /** The rule and prefill libraries' definitions as JSON-friendly values, keyed by library name (for prepopulation). */
  async evaluateLibraries(bundle: Bundle, options: EvaluateOptions): Promise<LibraryResults> {
    return this.evaluator.evaluateLibraries(bundle, options, [MAIN_LIBRARY, PREFILL_LIBRARY]);
  }

    /** Evaluates the policy for the patient in `bundle` and returns typed criterion results. */
  async evaluate(bundle: Bundle, options: EvaluateOptions): Promise<Evaluation> {
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
      authorizationOnFile: toCovering(results['Authorization On File']),
      prefill,
    };
  }
}

function toPendReason(value: unknown): PendReason {
  const t = value as Record<string, unknown>;
  return { kind: t.kind as PendReasonKind, criterion: typeof t.criterion === 'string' ? t.criterion : null, text: typeof t.text === 'string' ? t.text : '' };
}

function toCovering(value: unknown): CoveringAuthorization | null {
  const t = value as Record<string, unknown> | null | undefined;
  if (!t || typeof t.number !== 'string') return null;
  return { number: t.number, through: String(toPlain(t.through)), basis: t.basis === 'texas-annual' ? 'texas-annual' : 'current' };
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

