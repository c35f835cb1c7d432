/**
 * Evaluation on this thread: what an evaluation worker does with a job (./pool-worker.ts), and the backend
 * of EVAL_WORKERS=0 (tests, development). Results leave as JSON text, the same from both.
 */
import * as cql from 'cql-execution';
import { Uncertainty } from 'cql-execution/lib/datatypes/uncertainty';
import type { Bundle } from 'fhir/r4';
import type { KineretEngine } from './engine';
import { EvaluationAbandoned } from './errors';
import type { BackendStats, EvaluationBackend, EvaluationJob, EvaluationKind, EvaluationOptions } from './evaluation';

// ---------------------------------------------------------------------------------------------------------
// Results as JSON

/**
 * A cql-execution result as JSON: FHIR records as their JSON, dates as their CQL text, quantities as
 * {value, unit}, codes and concepts as their fields, intervals as {low, high, lowClosed, highClosed},
 * tuples field by field. The same function serializes the results of both backends, so a worker's answer
 * and this thread's are the same text.
 */
export function toWire(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      break;
    default:
      return null;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value instanceof cql.DateTime || value instanceof cql.Date) return value.toString();
  if (value instanceof cql.Quantity) return { value: toWire(value.value), unit: value.unit ?? null };
  if (value instanceof cql.Code) return dropNulls({ code: value.code, system: value.system, version: value.version, display: value.display });
  if (value instanceof cql.Concept) return dropNulls({ codes: toWire(value.codes), display: value.display });
  if (value instanceof cql.Interval) {
    return { low: toWire(value.low), high: toWire(value.high), lowClosed: value.lowClosed, highClosed: value.highClosed };
  }
  if (value instanceof Uncertainty) return { low: toWire(value.low), high: toWire(value.high) };
  if (value instanceof cql.Ratio) return { numerator: toWire(value.numerator), denominator: toWire(value.denominator) };
  // A FHIR record (ours or cql-exec-fhir's): the JSON it reads.
  const json = (value as { _json?: unknown })._json;
  if (json !== undefined && typeof (value as { getTypeInfo?: unknown }).getTypeInfo === 'function') return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
  return out;
}

function dropNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** Runs one job on an engine and serializes its result: the work of a worker, and of the in-process backend. */
export async function runOnEngine(engine: KineretEngine, kind: EvaluationKind, bundle: Bundle, options: EvaluationOptions): Promise<string> {
  if (kind === 'libraries') {
    const libraries = await engine.evaluateLibraries(bundle, options);
    const out: Record<string, Record<string, unknown>> = {};
    for (const [library, values] of Object.entries(libraries)) {
      out[library] = {};
      for (const [name, value] of Object.entries(values)) out[library][name] = toWire(value);
    }
    return JSON.stringify(out);
  }
  const evaluation = await engine.evaluate(bundle, options);
  const prefill: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(evaluation.prefill)) prefill[name] = toWire(value);
  return JSON.stringify({ ...evaluation, prefill });
}

// ---------------------------------------------------------------------------------------------------------
// This thread

/**
 * Evaluates on the calling thread (EVAL_WORKERS=0), one evaluation at a time: no queue bound, and no time
 * bound once an evaluation has started (the deadline is checked when its turn comes).
 */
export class InProcessBackend implements EvaluationBackend {
  private running = 0;
  private waiting = 0;
  private turn: Promise<unknown> = Promise.resolve();

  /** `engine` is asked for on the first evaluation (it parses the model info). */
  constructor(private readonly engine: () => KineretEngine) {}

  run(job: EvaluationJob): Promise<string> {
    this.waiting++;
    const result = this.turn.then(async () => {
      this.waiting--;
      if (performance.now() > job.deadline) throw new EvaluationAbandoned('timeout', 'the deadline passed before the evaluation started');
      this.running++;
      try {
        return await runOnEngine(this.engine(), job.kind, job.bundle, job.options);
      } finally {
        this.running--;
      }
    });
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** Never: on this thread a speculative evaluation would hold up the requests that follow. */
  runIfIdle(): undefined {
    return undefined;
  }

  stats(): BackendStats {
    return { kind: 'in-process', workers: 0, idle: 0, running: this.running, queued: this.waiting, replaced: 0 };
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
