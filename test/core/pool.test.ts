/**
 * The evaluation worker pool (src/core/pool.ts): work runs on worker threads, the queue is bounded, an
 * evaluation that overruns its time is abandoned and its worker replaced, a dead worker is replaced. The
 * mechanics run on a stand-in worker (test/support/fake-eval-worker.js) that holds its thread as long as
 * the job says; then the real worker evaluates corpus scenarios exactly as this thread does. No timed
 * assertions: only what finished, in which order, and on which thread.
 */
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { loadContent, KineretEngine } from '../../src/core/engine';
import { EvaluationAbandoned, EvaluationBusy } from '../../src/core/errors';
import { serializeRecord, type EvaluationJob } from '../../src/core/evaluation';
import { InProcessBackend, runOnEngine } from '../../src/core/evaluate-here';
import { EvaluationInputError } from '../../src/core/evaluator';
import { WorkerPool } from '../../src/core/pool';
import { syntheticRecord, SYNTHETIC_EVALUATION_DATE } from '../../bench/synthetic';
import { loadScenarios } from '../corpus';

const FAKE = path.join(__dirname, '..', 'support', 'fake-eval-worker.js');

function job(orderId: string, deadline = Infinity): EvaluationJob {
  const bundle = { resourceType: 'Bundle' as const, type: 'collection' as const, entry: [] };
  return { kind: 'decision', bundle, record: '{}', options: { orderId, evaluationDate: '2026-11-30' }, deadline };
}

const answer = (json: string) => JSON.parse(json) as { thread: number; jobs: number };

async function pool(options: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}): Promise<WorkerPool> {
  const p = new WorkerPool({ size: 1, queueLimit: 4, timeoutMs: 60_000, workerFile: FAKE, ...options });
  await p.ready();
  return p;
}

describe('worker pool mechanics (stand-in worker)', () => {
  test('evaluations run on worker threads, two at once with two workers', async () => {
    const p = await pool({ size: 2 });
    try {
      const [a, b] = (await Promise.all([p.run(job('busy:300')), p.run(job('busy:300'))])).map(answer);
      expect(a.thread).not.toBe(threadId);
      expect(b.thread).not.toBe(threadId);
      expect(a.thread).not.toBe(b.thread);
    } finally {
      await p.close();
    }
  });

  test('a full queue refuses with EvaluationBusy and a Retry-After; what was accepted still finishes', async () => {
    const p = await pool({ size: 1, queueLimit: 1 });
    try {
      const running = p.run(job('busy:400'));
      const queued = p.run(job('busy:1'));
      expect(p.stats()).toMatchObject({ running: 1, queued: 1 });
      const refused = await p.run(job('busy:1')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(EvaluationBusy);
      expect((refused as EvaluationBusy).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(answer(await running).jobs).toBe(1);
      expect(answer(await queued).jobs).toBe(2);
    } finally {
      await p.close();
    }
  });

  test('an evaluation over its time is abandoned, its worker terminated and replaced', async () => {
    const p = await pool({ size: 1, timeoutMs: 200 });
    try {
      const before = answer(await p.run(job('busy:1'))).thread;
      const overrun = await p.run(job('busy:60000')).catch((e: unknown) => e);
      expect(overrun).toBeInstanceOf(EvaluationAbandoned);
      expect((overrun as EvaluationAbandoned).reason).toBe('timeout');
      expect((overrun as EvaluationAbandoned).clinicianMessage).toBe('The policy could not be determined in time for this patient\'s record.');
      const after = answer(await p.run(job('busy:1')));
      expect(after.thread).not.toBe(before);
      expect(after.jobs).toBe(1);
      expect(p.stats().replaced).toBe(1);
    } finally {
      await p.close();
    }
  });

  test('a queued evaluation whose deadline passes is dropped without running', async () => {
    const p = await pool({ size: 1 });
    try {
      const running = p.run(job('busy:500'));
      const late = await p.run(job('busy:1', performance.now() + 100)).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(EvaluationAbandoned);
      expect(answer(await running).jobs).toBe(1);
      expect(answer(await p.run(job('busy:1'))).jobs).toBe(2); // the dropped one never reached the worker
      expect(p.stats()).toMatchObject({ queued: 0, replaced: 0 });
    } finally {
      await p.close();
    }
  });

  test('an evaluation past its caller\'s deadline runs on while nothing waits, and makes room as soon as work waits', async () => {
    const p = await pool({ size: 1 });
    try {
      // Nothing waits: the overdue evaluation finishes (its result is what a retry will find in the cache).
      expect(answer(await p.run(job('busy:400', performance.now() + 50))).jobs).toBe(1);
      expect(p.stats().replaced).toBe(0);
      // Work arrives while one is overdue: the overdue one ends and the new one runs on a new worker.
      const overdue = p.run(job('busy:60000', performance.now() + 50)).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      const waiting = p.run(job('busy:1'));
      expect(await overdue).toBeInstanceOf(EvaluationAbandoned);
      expect(answer(await waiting).jobs).toBe(1);
      expect(p.stats().replaced).toBe(1);
    } finally {
      await p.close();
    }
  });

  test('a worker that dies fails its evaluation as a defect and is replaced', async () => {
    const p = await pool({ size: 1 });
    try {
      const died = await p.run(job('crash')).catch((e: unknown) => e);
      expect(died).toBeInstanceOf(Error);
      expect(died).not.toBeInstanceOf(EvaluationAbandoned);
      expect((died as Error).message).toMatch(/evaluation worker failed: worker crashed/);
      expect(answer(await p.run(job('busy:1'))).jobs).toBe(1);
      expect(p.stats().replaced).toBe(1);
    } finally {
      await p.close();
    }
  });

  test('input errors keep their type across the thread boundary', async () => {
    const p = await pool();
    try {
      await expect(p.run(job('input'))).rejects.toBeInstanceOf(EvaluationInputError);
    } finally {
      await p.close();
    }
  });

  test('a worker that cannot start fails the pool start-up', async () => {
    const p = new WorkerPool({ size: 1, queueLimit: 1, timeoutMs: 1000, workerFile: FAKE, workerData: { failStart: true } });
    await expect(p.ready()).rejects.toThrow(/failed to start: cannot load the content/);
    await p.close();
  });

  test('closing refuses what is queued and stops the workers', async () => {
    const p = await pool({ size: 1 });
    const running = p.run(job('busy:300')).catch((e: unknown) => e);
    const queued = p.run(job('busy:1')).catch((e: unknown) => e);
    await p.close();
    expect(await queued).toBeInstanceOf(EvaluationBusy);
    expect(await running).toBeInstanceOf(EvaluationBusy);
    expect(p.runIfIdle(job('busy:1'))).toBeUndefined();
  });
});

describe('the real evaluation worker', () => {
  const content = loadContent();
  const here = new InProcessBackend(() => new KineretEngine(content));
  let workers: WorkerPool;
  beforeAll(async () => {
    workers = new WorkerPool({ size: 1, queueLimit: 4, timeoutMs: 60_000 });
    await workers.ready();
  }, 120_000);
  afterAll(() => workers.close());

  const jobOf = (kind: EvaluationJob['kind'], bundle: EvaluationJob['bundle'], options: EvaluationJob['options']): EvaluationJob =>
    ({ kind, bundle, record: serializeRecord(bundle), options, deadline: Infinity });

  test('answers exactly what this thread answers, for decisions and library results', async () => {
    const scenarios = loadScenarios();
    // One scenario per indication, on the record alone and with the scripted answers: the result text must be the same.
    const picked = [...new Map(scenarios.map((s) => [s.record.indication, s])).values()];
    expect(picked.length).toBeGreaterThanOrEqual(6);
    for (const s of picked) {
      const runs = [{ evaluationDate: s.evaluationDate, ...s.options }, ...(s.answers ? [{ evaluationDate: s.evaluationDate, ...s.options, answers: s.answers }] : [])];
      for (const options of runs) {
        for (const kind of ['decision', 'libraries'] as const) {
          const j = jobOf(kind, s.bundle, options);
          expect({ scenario: s.name, kind, json: await workers.run(j) }).toEqual({ scenario: s.name, kind, json: await here.run(j) });
        }
      }
    }
  }, 120_000);

  test('a 5,000-resource record over a short limit is abandoned, and the next evaluation is served', async () => {
    const short = new WorkerPool({ size: 1, queueLimit: 1, timeoutMs: 300 });
    try {
      await short.ready();
      const big = syntheticRecord(5000);
      const overrun = await short.run(jobOf('decision', big, { evaluationDate: SYNTHETIC_EVALUATION_DATE })).catch((e: unknown) => e);
      expect(overrun).toBeInstanceOf(EvaluationAbandoned);
      const small = syntheticRecord(50);
      const options = { evaluationDate: SYNTHETIC_EVALUATION_DATE };
      expect(await short.run(jobOf('decision', small, options))).toBe(await runOnEngine(new KineretEngine(content), 'decision', small, options));
    } finally {
      await short.close();
    }
  }, 120_000);
});
