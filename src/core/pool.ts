/**
 * The evaluation worker pool: CQL evaluation off the event loop. Each worker thread loads the compiled
 * ELM, the value sets and the FHIR model info once (./pool-worker.ts) and then evaluates one record at a
 * time. The pool
 *
 * - keeps `size` workers (EVAL_WORKERS, by default the cores available);
 * - queues at most `queueLimit` evaluations when every worker is busy, and refuses more with EvaluationBusy
 *   (the HTTP layer answers 503 with Retry-After), so load beyond capacity is refused, not piled up;
 * - drops an evaluation still queued when its caller's deadline passes (the caller gets EvaluationAbandoned,
 *   an expected failure: "could not be determined in time"), and never starts one whose deadline has passed;
 * - gives a running evaluation at most `timeoutMs` (EVAL_TIMEOUT_MS): one that overruns it is abandoned, its
 *   worker terminated (an evaluation cannot be interrupted otherwise) and replaced. A caller whose own deadline
 *   (a hook's budget) passes first stops waiting (src/core/evaluation.ts); its evaluation, now overdue, runs on
 *   within that bound while nothing waits for a worker, and its result goes to the cache, where a retry finds
 *   it; as soon as other work waits, an overdue evaluation is ended to make room (so that under overload late
 *   work does not pile up, nor its memory);
 * - replaces a worker that dies (out of memory: EvaluationAbandoned('memory'); anything else: a defect).
 *
 * Records travel as JSON text (parsed in the worker, off the event loop) and results come back as JSON
 * text (./evaluation.ts).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EvaluationAbandoned, EvaluationBusy } from './errors';
import { EvaluationInputError } from './record';
import type { BackendStats, EvaluationBackend, EvaluationJob } from './evaluation';

export interface PoolOptions {
  size: number;
  /** Evaluations that may wait for a worker; beyond, EvaluationBusy. */
  queueLimit: number;
  /** Longest time one evaluation may run (ms). */
  timeoutMs: number;
  /** Old-generation heap limit of each worker (MB); a worker over it dies and the evaluation is abandoned. */
  heapMb?: number;
  /** Young-generation size of each worker (MB): V8's default lets a busy worker's nursery grow to tens of MB. */
  youngMb?: number;
  /** The worker's module (default ./pool-worker next to this file; a .ts file is loaded through tsx). */
  workerFile?: string;
  /** Passed to the worker module as workerData.data. */
  workerData?: unknown;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void; error(o: object, msg: string): void };
}

/** Messages from a worker. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; json: string }
  | { type: 'result'; id: number; ok: false; error: { name: string; message: string; stack?: string } };

/** Messages to a worker. */
export interface JobMessage {
  id: number;
  kind: EvaluationJob['kind'];
  record: string;
  options: EvaluationJob['options'];
}

interface Pending {
  id: number;
  job: EvaluationJob;
  resolve(json: string): void;
  reject(e: unknown): void;
  timer?: NodeJS.Timeout;
  /** Fires at the caller's deadline while the evaluation runs: from then on it is overdue. */
  deadlineTimer?: NodeJS.Timeout;
  overdue?: boolean;
  startedAt?: number;
}

interface Slot {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'retired';
  pending?: Pending;
}

// Loads the worker module; TypeScript sources (tests, tsx) through tsx's CommonJS hook.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.file.endsWith('.ts')) require('tsx/cjs');
require(workerData.file);
`;

const DEFAULT_WORKER = path.join(__dirname, `pool-worker${path.extname(__filename)}`);

export class WorkerPool implements EvaluationBackend {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private replaced = 0;
  /** Consecutive workers that died before they were ready (backs off replacement). */
  private failedStarts = 0;
  /** Smoothed run time of an evaluation (ms), for Retry-After. */
  private averageMs = 1000;
  private readonly started: Promise<void>;
  private startedSettle!: { resolve(): void; reject(e: Error): void; pending: number };

  constructor(private readonly options: PoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`a worker pool needs at least one worker (got ${options.size})`);
    this.started = new Promise<void>((resolve, reject) => {
      this.startedSettle = { resolve, reject, pending: options.size };
    });
    this.started.catch(() => undefined);
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  /** Resolves when every first worker has loaded the content; rejects if one fails to start. */
  ready(): Promise<void> {
    return this.started;
  }

  run(job: EvaluationJob): Promise<string> {
    if (this.closed) return Promise.reject(new EvaluationBusy(1, 'the evaluation pool is shutting down'));
    const idle = this.queue.length === 0 ? this.slots.find((s) => s.state === 'idle') : undefined;
    if (!idle && this.queue.length >= this.options.queueLimit) {
      return Promise.reject(new EvaluationBusy(this.retryAfterSeconds(), `${this.running()} evaluations running and ${this.queue.length} queued (EVAL_QUEUE_LIMIT ${this.options.queueLimit})`));
    }
    return new Promise<string>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, job, resolve, reject };
      if (idle) return this.dispatch(idle, pending);
      // Work waits: an evaluation nobody waits for any more gives up its worker.
      const overdue = this.slots.find((s) => s.state === 'busy' && s.pending?.overdue);
      if (overdue) this.abandon(overdue, overdue.pending!, performance.now() - (overdue.pending!.startedAt ?? 0), 'overdue');
      const wait = job.deadline - performance.now();
      if (wait <= 0) return reject(new EvaluationAbandoned('timeout', 'the deadline passed before the evaluation could start'));
      if (Number.isFinite(wait)) {
        pending.timer = setTimeout(() => {
          const at = this.queue.indexOf(pending);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new EvaluationAbandoned('timeout', `no worker was free within ${Math.round(wait)} ms`));
        }, wait);
        pending.timer.unref();
      }
      this.queue.push(pending);
    });
  }

  runIfIdle(job: EvaluationJob): Promise<string> | undefined {
    if (this.closed || this.queue.length > 0 || !this.slots.some((s) => s.state === 'idle')) return undefined;
    return this.run(job);
  }

  stats(): BackendStats {
    return {
      kind: 'workers',
      workers: this.slots.length,
      idle: this.slots.filter((s) => s.state === 'idle').length,
      running: this.running(),
      queued: this.queue.length,
      replaced: this.replaced,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(new EvaluationBusy(1, 'the evaluation pool is shutting down'));
    }
    await Promise.all(this.slots.map((slot) => {
      slot.state = 'retired';
      if (slot.pending) this.settle(slot, (p) => p.reject(new EvaluationBusy(1, 'the evaluation pool is shutting down')));
      return slot.worker.terminate();
    }));
  }

  private running(): number {
    return this.slots.filter((s) => s.state === 'busy').length;
  }

  private retryAfterSeconds(): number {
    const ahead = this.queue.length + this.running();
    return Math.min(60, Math.max(1, Math.ceil((ahead * this.averageMs) / this.slots.length / 1000)));
  }

  private spawn(): Slot {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { file: this.options.workerFile ?? DEFAULT_WORKER, data: this.options.workerData },
      resourceLimits: {
        ...(this.options.heapMb ? { maxOldGenerationSizeMb: this.options.heapMb } : {}),
        ...(this.options.youngMb ? { maxYoungGenerationSizeMb: this.options.youngMb } : {}),
      },
    });
    const slot: Slot = { worker, state: 'starting' };
    worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    worker.on('error', (e: Error & { code?: string }) => this.onFailure(slot, e));
    worker.on('exit', (code) => {
      if (slot.state !== 'retired') this.onFailure(slot, new Error(`the evaluation worker exited with code ${code}`));
    });
    return slot;
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (slot.state === 'retired') return;
    if (m.type === 'ready') {
      slot.state = 'idle';
      // An idle worker does not keep the process alive (a starting or busy one does). After the listeners:
      // adding a 'message' listener refs the worker again.
      slot.worker.unref();
      this.failedStarts = 0;
      if (this.startedSettle.pending > 0 && --this.startedSettle.pending === 0) this.startedSettle.resolve();
      this.pump();
      return;
    }
    const pending = slot.pending;
    if (!pending || pending.id !== m.id) return;
    this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - (pending.startedAt ?? performance.now()));
    this.settle(slot, (p) => (m.ok ? p.resolve(m.json) : p.reject(workerError(m.error))));
    slot.state = 'idle';
    slot.worker.unref();
    this.pump();
  }

  /** A worker died (its own error, out of memory, an exit): its evaluation fails and a new worker takes its place. */
  private onFailure(slot: Slot, e: Error & { code?: string }): void {
    if (slot.state === 'retired') return;
    const starting = slot.state === 'starting';
    slot.state = 'retired';
    if (slot.pending) {
      const failure = e.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new EvaluationAbandoned('memory', `the evaluation worker ran out of memory (${this.options.heapMb ?? 'default'} MB heap)`)
        : Object.assign(new Error(`evaluation worker failed: ${e.message}`), { stack: e.stack });
      this.settle(slot, (p) => p.reject(failure));
    }
    if (starting) {
      this.failedStarts++;
      this.options.log?.error({ error: e.message, failedStarts: this.failedStarts }, 'evaluation worker failed to start');
      if (this.startedSettle.pending > 0) {
        this.startedSettle.pending = 0;
        this.startedSettle.reject(new Error(`an evaluation worker failed to start: ${e.message}`));
      }
    } else this.options.log?.warn({ error: e.message, code: e.code }, 'evaluation worker died; replacing it');
    void slot.worker.terminate();
    this.replace(slot, starting ? Math.min(30_000, 500 * 2 ** (this.failedStarts - 1)) : 0);
  }

  private replace(slot: Slot, delayMs: number): void {
    if (this.closed) return;
    this.replaced++;
    const respawn = () => {
      if (this.closed) return;
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots[at] = this.spawn();
    };
    if (delayMs > 0) setTimeout(respawn, delayMs).unref();
    else respawn();
  }

  private dispatch(slot: Slot, pending: Pending): void {
    clearTimeout(pending.timer);
    slot.state = 'busy';
    slot.pending = pending;
    slot.worker.ref();
    pending.startedAt = performance.now();
    const limit = this.options.timeoutMs;
    if (pending.job.deadline <= pending.startedAt) {
      slot.state = 'idle';
      slot.pending = undefined;
      slot.worker.unref();
      pending.reject(new EvaluationAbandoned('timeout', 'the deadline passed before the evaluation could start'));
      return this.pump();
    }
    pending.timer = setTimeout(() => this.abandon(slot, pending, limit, 'timeout'), limit);
    pending.timer.unref();
    const untilDeadline = pending.job.deadline - pending.startedAt;
    if (untilDeadline < limit) {
      pending.deadlineTimer = setTimeout(() => {
        if (slot.pending !== pending) return;
        pending.overdue = true;
        if (this.queue.length > 0) this.abandon(slot, pending, untilDeadline, 'overdue');
      }, untilDeadline);
      pending.deadlineTimer.unref();
    }
    const message: JobMessage = { id: pending.id, kind: pending.job.kind, record: pending.job.record, options: pending.job.options };
    slot.worker.postMessage(message);
  }

  /**
   * The evaluation overran its time, or is overdue while other work waits: the only way to stop it is to end its
   * worker.
   */
  private abandon(slot: Slot, pending: Pending, limitMs: number, why: 'timeout' | 'overdue'): void {
    if (slot.pending !== pending || slot.state === 'retired') return;
    slot.state = 'retired';
    this.settle(slot, (p) => p.reject(new EvaluationAbandoned('timeout', why === 'timeout'
      ? `the evaluation did not finish within ${Math.round(limitMs)} ms`
      : `the evaluation was past its caller's deadline (${Math.round(limitMs)} ms) while other work waited`)));
    this.options.log?.warn({ limitMs: Math.round(limitMs), why }, why === 'timeout'
      ? 'evaluation overran its time: worker terminated and replaced'
      : 'overdue evaluation ended for waiting work: worker terminated and replaced');
    void slot.worker.terminate();
    this.replace(slot, 0);
  }

  private settle(slot: Slot, how: (p: Pending) => void): void {
    const pending = slot.pending;
    if (!pending) return;
    slot.pending = undefined;
    clearTimeout(pending.timer);
    clearTimeout(pending.deadlineTimer);
    how(pending);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.state === 'idle') this.dispatch(slot, this.queue.shift()!);
    }
  }
}

/** A worker's error as an error of this thread: input errors keep their type; anything else is a defect with the worker's stack. */
function workerError(e: { name: string; message: string; stack?: string }): Error {
  if (e.name === 'EvaluationInputError') return new EvaluationInputError(e.message);
  const error = new Error(e.message);
  error.name = e.name;
  error.stack = `${e.stack ?? `${e.name}: ${e.message}`}\n    (in an evaluation worker)`;
  return error;
}
