/**
 * The payer's CQL, evaluated in the browser: cql-execution over cql-exec-fhir, with the ELM of the
 * package's Libraries and a code service built from the package's expanded ValueSets. Parameters
 * and value conversions mirror the server's engine (src/core/engine.ts, which reads files with
 * node:fs and so cannot run here), so that the same prepopulation core gives the same answers.
 */
import * as cql from 'cql-execution';
import { PatientSource } from 'cql-exec-fhir';
import type { Bundle, FhirResource, Library, ValueSet } from 'fhir/r4';
import type { LibraryResults } from '../../src/dtr/populate';
import { codeServiceFor, executeLibraries, LibrarySet, liftContainedMedications, toPlain } from '../../src/core/cql-data';
import { elmOf } from './package';

export interface EvaluationOptions {
  /** The order being documented (the CQL's "Order Id" parameter). */
  orderId?: string;
  /** The plan's formulary status of Kineret ("Kineret Is Non-Preferred"). */
  nonPreferred: boolean;
  /** Evaluation date (YYYY-MM-DD); noon UTC, like the server, so that the day does not depend on the time zone. */
  date: string;
}

/** One criterion as the CQL reports it (the "Criteria" definition). */
export interface CriterionResult {
  code: string;
  status: 'met' | 'not-met' | 'unknown';
  source: string;
  reason: string;
  evidence: string[];
}


export class BrowserEvaluator {
  private readonly library: cql.Library;
  private readonly codes: cql.CodeService;

  constructor(libraries: Library[], valueSets: ValueSet[], private readonly mainLibrary: string) {
    const elm: Record<string, unknown> = {};
    for (const lib of libraries) if (lib.name) elm[lib.name] = elmOf(lib);
    if (!elm[mainLibrary]) throw new Error(`the package has no Library ${mainLibrary}`);
    // Each library resolved once and evaluated in one shared context per library, as on the server.
    this.library = new LibrarySet(elm).get(mainLibrary);
    this.codes = codeServiceFor(valueSets);
  }

  /** Every definition of the main library for the one patient in `bundle`, keyed by library name. */
  async evaluate(bundle: Bundle, options: EvaluationOptions): Promise<LibraryResults> {
    const patient = (bundle.entry ?? []).map((e) => e.resource).find((r) => r?.resourceType === 'Patient');
    if (!patient?.id) throw new Error('the patient data holds no Patient');
    const source = PatientSource.FHIRv401({ requireProfileTagging: false });
    source.loadBundles([liftContainedMedications(bundle)]);
    // cql-execution type-checks parameters: absent values are left out or null, never undefined.
    const parameters = { Answers: [], 'Order Id': options.orderId ?? null, 'Kineret Is Non-Preferred': options.nonPreferred };
    const when = cql.DateTime.parse(`${options.date}T12:00:00.000Z`);
    if (!when) throw new Error(`invalid evaluation date ${options.date}`);
    const results = await executeLibraries({ libraries: [this.library], source, codeService: this.codes, parameters, executionDateTime: when });
    const raw = results?.[this.mainLibrary];
    if (!raw) throw new Error(`the CQL gave no results for Patient/${patient.id}`);
    const plain: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) plain[name] = toPlain(value);
    return { [this.mainLibrary]: plain };
  }
}

/** The criterion results of the main library ("Criteria"), for showing evidence next to the answers. */
export function criteriaOf(results: LibraryResults, mainLibrary: string): CriterionResult[] {
  const list = results[mainLibrary]?.Criteria;
  if (!Array.isArray(list)) return [];
  return list.map((value) => {
    const t = value as Record<string, unknown>;
    return {
      code: String(t.code),
      status: t.status === 'met' || t.status === 'not-met' ? t.status : 'unknown',
      source: typeof t.source === 'string' ? t.source : 'none',
      reason: typeof t.reason === 'string' ? t.reason : '',
      evidence: Array.isArray(t.evidence) ? t.evidence.filter((e): e is string => typeof e === 'string') : [],
    };
  });
}
