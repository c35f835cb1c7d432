/**
 * The payer's CQL, evaluated in the browser with the server's own evaluator
 * (src/core/evaluator.ts): the ELM of the package's Libraries, a code service built from the
 * package's expanded ValueSets, cql-exec-fhir's FHIR 4.0.1 data source. The same prepopulation core
 * (src/dtr/populate.ts) then gives the same answers as the server's.
 */
import type { Bundle, Library, ValueSet } from 'fhir/r4';
import { LibraryEvaluator, type LibraryResults } from '../../src/core/evaluator';
import type { Answer } from '../../src/core/types';
import { elmOf } from './package';

export interface EvaluationOptions {
  /** The order being documented (the CQL's "Order Id" parameter). */
  orderId?: string;
  /** The plan's formulary status of Kineret ("Kineret Is Non-Preferred"). */
  nonPreferred: boolean;
  /** Evaluation date (YYYY-MM-DD); noon UTC, like the server, so that the day does not depend on the time zone. */
  date: string;
  /** The clinician's answers so far (flattened as the server flattens a response), when deciding what is still needed. */
  answers?: Answer[];
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
  private readonly evaluator: LibraryEvaluator;

  constructor(libraries: Library[], valueSets: ValueSet[], mainLibrary: string) {
    const elm: Record<string, unknown> = {};
    for (const lib of libraries) if (lib.name) elm[lib.name] = elmOf(lib);
    if (!elm[mainLibrary]) throw new Error(`the package has no Library ${mainLibrary}`);
    this.evaluator = new LibraryEvaluator(elm, valueSets, mainLibrary);
  }

  /** Every definition of the main library for the one patient in `bundle`, keyed by library name. */
  evaluate(bundle: Bundle, options: EvaluationOptions): Promise<LibraryResults> {
    return this.evaluator.evaluateLibraries(bundle, { orderId: options.orderId, nonPreferred: options.nonPreferred, evaluationDate: options.date, answers: options.answers });
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
