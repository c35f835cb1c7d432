/**
 * The one library evaluator: compiled ELM, a code service over expanded value sets, and a data
 * source per request, evaluated for the one Patient of a Bundle at a given date with the policy's
 * parameters. The server's engine (./engine.ts: ELM and value sets read from disk, the fast data
 * source, timing) and the DTR app in the browser (web/dtr/cql.ts: ELM and expansions from the
 * package, cql-exec-fhir's source) both evaluate through it. The policy is a set of libraries
 * (cql/README.md); each evaluation names the ones it needs, and a library included by several others
 * is still evaluated once per patient (./cql-data.ts). Browser-safe.
 */
import * as cql from 'cql-execution';
import { PatientSource } from 'cql-exec-fhir';
import type { Bundle, FhirResource, ValueSet } from 'fhir/r4';
import { codeServiceFor, executeLibraries, LibrarySet, liftContainedMedications, toPlain, type ExecuteOptions } from './cql-data';
import type { EvaluateOptions, RawEvaluation } from './types';

/** The request cannot be evaluated as given (not a Bundle, no Patient, a bad date). */
export class EvaluationInputError extends Error {
  override readonly name = 'EvaluationInputError';
}

/** Results of evaluating a library: library name -> definition name -> value. */
export type LibraryResults = Record<string, Record<string, unknown>>;

/** A data source for one request over a Bundle (contained Medications already lifted). */
export type SourceFactory = (bundle: Bundle) => cql.DataProvider;

/** cql-exec-fhir's PatientSource for FHIR 4.0.1, built for the request. */
export const stockSource: SourceFactory = (bundle) => {
  const source = PatientSource.FHIRv401({ requireProfileTagging: false });
  source.loadBundles([bundle]);
  return source;
};

export class LibraryEvaluator {
  /** Every compiled library, each resolved once (./cql-data.ts). */
  readonly set: LibrarySet;
  private readonly codeService: cql.CodeService;

  constructor(
    elm: Record<string, unknown>,
    valueSets: ValueSet[],
    readonly mainLibrary: string,
    private readonly sourceFor: SourceFactory = stockSource,
  ) {
    this.set = new LibrarySet(elm);
    this.set.get(mainLibrary);
    this.codeService = codeServiceFor(valueSets);
  }

  /**
   * Every definition of the named libraries (by default the main library) for the Patient of `bundle`,
   * as cql-execution returns them, keyed by library name; each library's definitions are computed once,
   * whichever library needs them. `run` swaps in another copy of the libraries and a message listener (timing).
   */
  async evaluateRaw(
    bundle: Bundle,
    options: EvaluateOptions,
    run: { libraries?: string[]; set?: LibrarySet; listener?: ExecuteOptions['messageListener'] } = {},
  ): Promise<RawEvaluation> {
    const patientId = patientIdOf(bundle);
    const executionDateTime = parseExecutionDate(options.evaluationDate);
    const parameters = {
      // cql-execution type-checks parameters: absent tuple elements must be left out, not null.
      Answers: (options.answers ?? []).map(
        (a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null && v !== undefined)),
      ),
      'Order Id': options.orderId ?? null,
      'Kineret Is Non-Preferred': options.nonPreferred ?? false,
      'Authorizations On File': (options.authorizationsOnFile ?? []).map((a) => ({
        number: a.number, indication: a.indication, start: cqlDate(a.start), end: cqlDate(a.end), issued: cqlDate(a.issued),
      })),
    };
    const set = run.set ?? this.set;
    const results = await executeLibraries({
      libraries: (run.libraries ?? [this.mainLibrary]).map((name) => set.get(name)),
      source: this.sourceFor(liftContainedMedications(bundle)),
      codeService: this.codeService,
      parameters,
      executionDateTime,
      messageListener: run.listener,
    });
    if (!results) throw new EvaluationInputError(`no results for Patient/${patientId}`);
    return { patientId, results, evaluationDate: options.evaluationDate };
  }

  /** Every definition of the named libraries (by default the main library) as JSON-friendly values, keyed by library name. */
  async evaluateLibraries(bundle: Bundle, options: EvaluateOptions, libraries: string[] = [this.mainLibrary]): Promise<LibraryResults> {
    const { results } = await this.evaluateRaw(bundle, options, { libraries });
    const plain: LibraryResults = {};
    for (const [library, values] of Object.entries(results)) {
      plain[library] = {};
      for (const [name, value] of Object.entries(values)) plain[library][name] = toPlain(value);
    }
    return plain;
  }
}

/** The id of the one Patient of the Bundle. */
export function patientIdOf(bundle: Bundle): string {
  if (!bundle || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
    throw new EvaluationInputError('patient data must be a FHIR Bundle with entries');
  }
  const patients = bundle.entry.map((e) => e.resource).filter((r): r is FhirResource & { resourceType: 'Patient' } => r?.resourceType === 'Patient');
  if (patients.length !== 1) throw new EvaluationInputError(`patient data must hold exactly one Patient (found ${patients.length})`);
  const id = patients[0].id;
  if (!id) throw new EvaluationInputError('the Patient resource has no id');
  return id;
}

function cqlDate(value: string): cql.Date {
  const parsed = cql.Date.parse(value.slice(0, 10));
  if (!parsed) throw new EvaluationInputError(`invalid date in an authorization on file: ${value}`);
  return parsed;
}

/** A date (noon UTC, so that the day does not depend on the time zone) or date-time as cql-execution's execution time. */
export function parseExecutionDate(value: string): cql.DateTime {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00.000Z` : value;
  const parsed = cql.DateTime.parse(date);
  if (!parsed) throw new EvaluationInputError(`invalid evaluation date: ${value}`);
  return parsed;
}
