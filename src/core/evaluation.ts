/**
 * Policy evaluation as a service: the one function the CRD hook, the DTR operations (and any new channel)
 * call to evaluate the policy for a patient record,
 *
 *   const evaluation = await services.evaluator.evaluate({ kind: 'decision', bundle, options, deadline });
 *   const libraries = await services.evaluator.evaluate({ kind: 'libraries', bundle, options });
 *
 * `decision` answers the typed Evaluation (criteria, decision, prefill); `libraries` every definition of
 * the policy's libraries as JSON values (questionnaire population). Behind it:
 *
 * - a backend that runs the evaluation: a pool of worker threads (./pool.ts, the default: evaluation never
 *   holds the event loop, and one that overruns its time is terminated) or this thread (./evaluate-here.ts,
 *   EVAL_WORKERS=0: tests, development; no time bound during an evaluation). This module does not load the
 *   engine: with workers, the main thread never loads cql-execution;
 * - a bounded cache keyed by a digest of everything that can change the result: the kind, the options
 *   (answers, order, plan flag, authorizations on file, evaluation date: the clock's day or the request's), the
 *   record's resources in order and the
 *   compiled content, within the caller's partition (its client). The same record evaluated again for the same
 *   client (order-select then order-sign, $questionnaire-package then $populate, a retried call) is answered
 *   from it; concurrent identical requests share one evaluation.
 *
 * Results are plain JSON (records as their FHIR JSON, CQL values in JSON form: toWire in ./evaluate-here.ts),
 * the same in both backends; each caller gets its own copy.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from 'fhir/r4';
import { EvaluationAbandoned, EvaluationBusy } from './errors';
import type { LibraryResults } from './evaluator';
import { EvaluationInputError, patientIdOf } from './record';
import type { Evaluation, EvaluateOptions } from './types';

export type EvaluationKind = 'decision' | 'libraries';

export interface EvaluationResults {
  decision: Evaluation;
  libraries: LibraryResults;
}

/** What changes an evaluation's result besides the record (the CLI's `timing` is not offered here). */
export type EvaluationOptions = Omit<EvaluateOptions, 'timing'>;

export interface EvaluationRequest<K extends EvaluationKind = EvaluationKind> {
  kind: K;
  /** The patient's record: a Bundle with exactly one Patient. */
  bundle: Bundle;
  options: EvaluationOptions;
  /**
   * When the answer stops being of use (performance.now() milliseconds): the caller stops waiting, with
   * EvaluationAbandoned('timeout'). Default: EVAL_TIMEOUT_MS from now.
   */
  deadline?: number;
  /**
   * Whose request this is (a client's identity): results are reused only within one partition, so that the
   * time of an answer tells no client what another evaluated.
   */
  partition?: string;
}

/** The one function callers use. */
export interface PolicyEvaluator {
  evaluate<K extends EvaluationKind>(request: EvaluationRequest<K>): Promise<EvaluationResults[K]>;
}

/** One evaluation as a backend runs it: the record both as given and serialized (what workers receive). */
export interface EvaluationJob {
  kind: EvaluationKind;
  bundle: Bundle;
  /** The record as JSON: a collection Bundle of the record's resources, in order. */
  record: string;
  options: EvaluationOptions;
  /** performance.now() milliseconds. */
  deadline: number;
}

export interface BackendStats {
  kind: 'workers' | 'in-process';
  workers: number;
  /** Workers ready and waiting for work. */
  idle: number;
  /** Evaluations running now. */
  running: number;
  /** Evaluations waiting for a worker. */
  queued: number;
  /** Workers terminated because an evaluation overran its time or memory, since start. */
  replaced: number;
}

/** Runs evaluations; resolves with the result as JSON text. */
export interface EvaluationBackend {
  run(job: EvaluationJob): Promise<string>;
  /** Runs the job only if it can start now on an idle worker; undefined when it cannot (nothing queued). */
  runIfIdle(job: EvaluationJob): Promise<string> | undefined;
  stats(): BackendStats;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// The service: digest, cache, shared in-flight evaluations

export interface EvaluationServiceOptions {
  /** Default time allowed for one evaluation (ms), when the request names no deadline. */
  timeoutMs: number;
  /** Largest number of cached results (0: no cache). */
  cacheEntries: number;
  /** Largest total size of cached results (bytes of JSON). */
  cacheBytes: number;
  /** Identifies the compiled content (ELM and value sets): part of every cache key. */
  contentDigest: string;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Requests that joined an evaluation already running for the same key. */
  shared: number;
  /** Evaluations started ahead of a request (prepare()). */
  prepared: number;
}

/** The record as evaluated: its resources in order, in a collection Bundle (entry fields other than the resource do not count). */
export function serializeRecord(bundle: Bundle): string {
  return JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: (bundle.entry ?? []).filter((e) => e.resource).map((e) => ({ resource: e.resource })) });
}

/**
 * Every option in the key, by name: the evaluation date, the order, the plan flag, the answers and the
 * authorizations on file (defaults written out, so that an option left out and its default give one key).
 * An option added to EvaluateOptions and not named here fails to compile (`rest` must be empty).
 */
function optionsKey(o: EvaluationOptions): string {
  const { evaluationDate, orderId, nonPreferred, answers, authorizationsOnFile, ...rest } = o;
  const unnamed: Record<string, never> = rest;
  return canonicalJson({ evaluationDate, orderId: orderId ?? null, nonPreferred: nonPreferred ?? false, answers: answers ?? [], authorizationsOnFile: authorizationsOnFile ?? [], unnamed });
}

/** JSON with object keys in sorted order: the same value, however its objects were built, gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v);
}

/** A digest of the compiled content, for cache keys: ELM and value sets as loaded. */
export function contentDigestOf(content: { elm: Record<string, unknown>; valueSets: unknown[] }): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(content.elm).sort()) hash.update(name).update(JSON.stringify(content.elm[name]));
  hash.update(JSON.stringify(content.valueSets));
  return hash.digest('hex');
}

export class EvaluationService implements PolicyEvaluator {
  private readonly cache = new Map<string, string>();
  private cachedBytes = 0;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly counts = { hits: 0, misses: 0, shared: 0, prepared: 0 };

  constructor(
    readonly backend: EvaluationBackend,
    private readonly options: EvaluationServiceOptions,
  ) {}

  async evaluate<K extends EvaluationKind>(request: EvaluationRequest<K>): Promise<EvaluationResults[K]> {
    const job = this.jobOf(request);
    const key = this.keyOf(job, request.partition);
    const cached = this.fromCache(key);
    if (cached !== undefined) return JSON.parse(cached) as EvaluationResults[K];
    let running = this.inflight.get(key);
    if (running) this.counts.shared++;
    else {
      this.counts.misses++;
      running = this.start(key, this.backend.run(job));
    }
    return JSON.parse(await withDeadline(running, job.deadline)) as EvaluationResults[K];
  }

  /**
   * Starts an evaluation whose result a later request will likely want (order-select before order-sign),
   * only if a worker is idle now: it never waits in the queue nor takes a place there. Failures are
   * ignored: the later request evaluates for itself.
   */
  prepare(request: EvaluationRequest): void {
    let job: EvaluationJob;
    try {
      job = this.jobOf(request);
    } catch {
      return;
    }
    const key = this.keyOf(job, request.partition);
    if (this.options.cacheEntries === 0 || this.cache.has(key) || this.inflight.has(key)) return;
    const run = this.backend.runIfIdle(job);
    if (!run) return;
    this.counts.prepared++;
    void this.start(key, run);
  }

  stats(): { backend: BackendStats; cache: CacheStats } {
    return { backend: this.backend.stats(), cache: { entries: this.cache.size, bytes: this.cachedBytes, ...this.counts } };
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private jobOf(request: EvaluationRequest): EvaluationJob {
    patientIdOf(request.bundle); // refuses what cannot be evaluated before any work (EvaluationInputError)
    if (typeof request.options.evaluationDate !== 'string') throw new EvaluationInputError('an evaluation date is required');
    const { timing: _timing, ...options } = request.options as EvaluateOptions;
    return {
      kind: request.kind,
      bundle: request.bundle,
      record: serializeRecord(request.bundle),
      options,
      deadline: request.deadline ?? performance.now() + this.options.timeoutMs,
    };
  }

  private keyOf(job: EvaluationJob, partition = ''): string {
    return createHash('sha256')
      .update(`${job.kind}\n${this.options.contentDigest}\n${JSON.stringify(partition)}\n${optionsKey(job.options)}\n`)
      .update(job.record)
      .digest('base64');
  }

  private start(key: string, run: Promise<string>): Promise<string> {
    const shared = run.then(
      (json) => {
        this.inflight.delete(key);
        this.remember(key, json);
        return json;
      },
      (e: unknown) => {
        this.inflight.delete(key);
        throw e;
      },
    );
    // Whoever waits may stop waiting (its deadline); the outcome is then nobody's concern but the cache's.
    shared.catch(() => undefined);
    this.inflight.set(key, shared);
    return shared;
  }

  private fromCache(key: string): string | undefined {
    const json = this.cache.get(key);
    if (json === undefined) return undefined;
    this.counts.hits++;
    // Most recently used last: Map keeps insertion order, so eviction takes the first keys.
    this.cache.delete(key);
    this.cache.set(key, json);
    return json;
  }

  private remember(key: string, json: string): void {
    const { cacheEntries, cacheBytes } = this.options;
    if (cacheEntries === 0 || json.length > cacheBytes || this.cache.has(key)) return;
    this.cache.set(key, json);
    this.cachedBytes += json.length;
    for (const [oldest, value] of this.cache) {
      if (this.cache.size <= cacheEntries && this.cachedBytes <= cacheBytes) break;
      this.cache.delete(oldest);
      this.cachedBytes -= value.length;
    }
  }
}

/** Waits for `run`, but no longer than `deadline` (a request that joined another's evaluation keeps its own deadline). */
function withDeadline(run: Promise<string>, deadline: number): Promise<string> {
  const left = deadline - performance.now();
  if (!Number.isFinite(left)) return run;
  if (left <= 0) return Promise.reject(new EvaluationAbandoned('timeout', 'the deadline passed while waiting for an evaluation'));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new EvaluationAbandoned('timeout', 'the deadline passed while waiting for an evaluation')), left);
    timer.unref();
    run.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export { EvaluationAbandoned, EvaluationBusy };
