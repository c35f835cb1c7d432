/**
 * The evaluation service (src/core/evaluation.ts): a result is reused only when nothing that can change it
 * changed (record, order, answers, plan flag, authorizations on file, the evaluation date, the kind of result), the cache is bounded,
 * concurrent identical requests share one evaluation, and a failure is never remembered.
 */
import type { Bundle } from 'fhir/r4';
import { KineretEngine, loadContent } from '../../src/core/engine';
import { EvaluationService, type EvaluationBackend, type EvaluationJob, type EvaluationServiceOptions } from '../../src/core/evaluation';
import { InProcessBackend } from '../../src/core/evaluate-here';
import { EvaluationInputError } from '../../src/core/evaluator';
import { loadScenarios } from '../corpus';

const content = loadContent();
const engine = new KineretEngine(content);
const scenario = loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;
const base = { evaluationDate: scenario.evaluationDate, ...scenario.options };
const onFile = { number: 'KPA-1', indication: 'RA', start: '2026-06-01', end: '2026-12-31', issued: '2026-06-01' };

/** The in-process backend, counting what it really ran. */
class Counting implements EvaluationBackend {
  readonly inner = new InProcessBackend(() => engine);
  runs: EvaluationJob[] = [];
  fail = false;
  async run(job: EvaluationJob): Promise<string> {
    this.runs.push(job);
    if (this.fail) throw new Error('boom');
    return this.inner.run(job);
  }
  runIfIdle(job: EvaluationJob) {
    return this.inner.stats().running === 0 ? this.run(job) : undefined;
  }
  stats() {
    return this.inner.stats();
  }
  close() {
    return this.inner.close();
  }
}

function service(options: Partial<EvaluationServiceOptions> = {}) {
  const backend = new Counting();
  const evaluator = new EvaluationService(backend, { timeoutMs: 60_000, cacheEntries: 100, cacheBytes: 32 * 1024 * 1024, contentDigest: 'test', ...options });
  return { backend, evaluator };
}

const withResource = (bundle: Bundle, change: (entries: NonNullable<Bundle['entry']>) => void): Bundle => {
  const copy = structuredClone(bundle);
  change(copy.entry!);
  return copy;
};

test('the same record, options and day again is answered from the cache, each caller with its own copy', async () => {
  const { backend, evaluator } = service();
  const first = await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base });
  expect(first.decision).toBe(scenario.record.decision);
  first.criteria.length = 0; // a caller changing its copy changes nothing for the next
  const again = await evaluator.evaluate({ kind: 'decision', bundle: structuredClone(scenario.bundle), options: { ...base } });
  expect(backend.runs).toHaveLength(1);
  expect(again.criteria.length).toBeGreaterThan(0);
  expect(evaluator.stats().cache).toMatchObject({ hits: 1, misses: 1, entries: 1 });
});

test('anything that can change the result is a different key', async () => {
  const { backend, evaluator } = service();
  const variants: [string, Bundle, typeof base & Record<string, unknown>, 'decision' | 'libraries'][] = [
    ['as given', scenario.bundle, base, 'decision'],
    ['the next day', scenario.bundle, { ...base, evaluationDate: '2026-12-01' }, 'decision'],
    ['another order', scenario.bundle, { ...base, orderId: 'other-order' }, 'decision'],
    ['non-preferred on the plan', scenario.bundle, { ...base, nonPreferred: true }, 'decision'],
    ['with answers', scenario.bundle, { ...base, answers: scenario.answers ?? [{ linkId: 'x', valueBoolean: true }] }, 'decision'],
    ['an authorization on file', scenario.bundle, { ...base, authorizationsOnFile: [onFile] }, 'decision'],
    ['another authorization on file', scenario.bundle, { ...base, authorizationsOnFile: [{ ...onFile, end: '2026-12-30' }] }, 'decision'],
    ['two authorizations on file', scenario.bundle, { ...base, authorizationsOnFile: [onFile, { ...onFile, number: 'KPA-2' }] }, 'decision'],
    ['library results', scenario.bundle, base, 'libraries'],
    ['a resource changed', withResource(scenario.bundle, (e) => void ((e[e.length - 1].resource as { id: string }).id += '-2')), base, 'decision'],
    ['resources in another order', withResource(scenario.bundle, (e) => e.reverse()), base, 'decision'],
  ];
  for (const [, bundle, options, kind] of variants) await evaluator.evaluate({ kind, bundle, options });
  expect(backend.runs).toHaveLength(variants.length);
  // Another client's request for the same record is its own: answer times tell no client what another evaluated.
  await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base, partition: 'https://other-ehr.example' });
  expect(backend.runs).toHaveLength(variants.length + 1);
  expect(evaluator.stats().cache.hits).toBe(0);
});

test('a result with an authorization on file is never the answer without it (and back), nor on another day', async () => {
  const { backend, evaluator } = service();
  const options = { ...base, orderId: 'kineret-order' };
  const covered = await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: { ...options, authorizationsOnFile: [onFile] } });
  expect(covered.authorizationOnFile).toEqual({ number: 'KPA-1', through: '2026-12-31', basis: 'current' });
  expect((await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options })).authorizationOnFile).toBeNull();
  expect((await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: { ...options, authorizationsOnFile: [] } })).authorizationOnFile).toBeNull();
  // After the authorization's end the same inputs otherwise are another evaluation, and it covers nothing.
  expect((await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: { ...options, evaluationDate: '2027-01-02', authorizationsOnFile: [onFile] } })).authorizationOnFile).toBeNull();
  expect((await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: { ...options, authorizationsOnFile: [{ ...onFile }] } })).authorizationOnFile).toEqual(covered.authorizationOnFile);
  // Left out and empty are the same input (one key); the rest were evaluated each.
  expect(backend.runs).toHaveLength(3);
  expect(evaluator.stats().cache.hits).toBe(2);
});

test('what evaluation does not read (Bundle type, id, fullUrl, search) does not change the key', async () => {
  const { backend, evaluator } = service();
  await evaluator.evaluate({ kind: 'libraries', bundle: scenario.bundle, options: base });
  const dressed: Bundle = {
    resourceType: 'Bundle', id: 'b1', type: 'searchset',
    entry: scenario.bundle.entry!.map((e, i) => ({ fullUrl: `urn:uuid:${i}`, search: { mode: 'match' }, resource: e.resource })),
  };
  await evaluator.evaluate({ kind: 'libraries', bundle: dressed, options: base });
  expect(backend.runs).toHaveLength(1);
});

test('concurrent identical requests share one evaluation', async () => {
  const { backend, evaluator } = service();
  const [a, b] = await Promise.all([1, 2].map(() => evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base })));
  expect(a).toEqual(b);
  expect(backend.runs).toHaveLength(1);
  expect(evaluator.stats().cache).toMatchObject({ shared: 1, misses: 1 });
});

test('the cache is bounded by entries (least recently used goes first) and by size', async () => {
  const { backend, evaluator } = service({ cacheEntries: 2 });
  const on = (day: string) => evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: { ...base, evaluationDate: day } });
  await on('2026-11-01');
  await on('2026-11-02');
  await on('2026-11-01'); // used: the 2nd is now the oldest
  await on('2026-11-03'); // evicts the 2nd
  expect(backend.runs).toHaveLength(3);
  await on('2026-11-01');
  expect(backend.runs).toHaveLength(3);
  await on('2026-11-02');
  expect(backend.runs).toHaveLength(4);
  expect(evaluator.stats().cache.entries).toBe(2);

  const tiny = service({ cacheBytes: 100 });
  await tiny.evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base });
  await tiny.evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base });
  expect(tiny.backend.runs).toHaveLength(2);
  expect(tiny.evaluator.stats().cache).toMatchObject({ entries: 0, bytes: 0 });
});

test('a failed evaluation is not remembered', async () => {
  const { backend, evaluator } = service();
  backend.fail = true;
  await expect(evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base })).rejects.toThrow('boom');
  backend.fail = false;
  await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base });
  expect(backend.runs).toHaveLength(2);
});

test('a record that cannot be evaluated is refused before any work', async () => {
  const { backend, evaluator } = service();
  const noPatient: Bundle = { resourceType: 'Bundle', type: 'collection', entry: scenario.bundle.entry!.filter((e) => e.resource?.resourceType !== 'Patient') };
  await expect(evaluator.evaluate({ kind: 'decision', bundle: noPatient, options: base })).rejects.toBeInstanceOf(EvaluationInputError);
  expect(backend.runs).toHaveLength(0);
});

test('prepare() starts an evaluation only when idle, and a later request reuses it', async () => {
  const { backend, evaluator } = service();
  evaluator.prepare({ kind: 'decision', bundle: scenario.bundle, options: base });
  const later = await evaluator.evaluate({ kind: 'decision', bundle: scenario.bundle, options: base });
  expect(later.decision).toBe(scenario.record.decision);
  expect(backend.runs).toHaveLength(1);
  evaluator.prepare({ kind: 'decision', bundle: scenario.bundle, options: base }); // cached already: nothing runs
  expect(backend.runs).toHaveLength(1);
  const off = service({ cacheEntries: 0 });
  off.evaluator.prepare({ kind: 'decision', bundle: scenario.bundle, options: base }); // no cache to keep it in: nothing runs
  expect(off.backend.runs).toHaveLength(0);
});
