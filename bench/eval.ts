/**
 * Evaluation benchmark: the policy library over the same ELM and the same data through three data sources,
 * runs interleaved (the order rotates every round) so that machine noise falls on all three alike:
 *
 * - fast: our source (src/core/fast-source.ts), the engine's default;
 * - stock per request: cql-exec-fhir's PatientSource.FHIRv401() built for every evaluation, as public
 *   examples do (the model info is parsed every time);
 * - stock, model info reused: one parsed PatientSource, a per-request source on top of it (the engine's
 *   previous behaviour).
 *
 * Every dataset is also checked once for identical results (every definition, canonical form).
 */
import type { Bundle } from 'fhir/r4';
import { KineretEngine, loadContent } from '../src/core/engine';
import type { DataSourceKind, EvaluateOptions } from '../src/core/types';
import { loadScenarios } from '../test/corpus';
import { canonicalJson } from '../test/support/cql-canonical';
import { median, sum } from './stats';
import { SYNTHETIC_EVALUATION_DATE, syntheticRecord } from './synthetic';

export const SOURCES: DataSourceKind[] = ['fast', 'stock-per-request', 'stock'];

export interface EvalRow {
  dataset: string;
  resources: number;
  rounds: number;
  /** Median wall time of one evaluation (ms) per source. */
  medianMs: Record<DataSourceKind, number>;
  samplesMs: Record<DataSourceKind, number[]>;
  /** Definitions whose values differ between fast and stock (0 expected). */
  divergentDefinitions: number;
}

export interface EvalReport {
  scenarios: EvalRow[];
  synthetic: EvalRow[];
}

export interface EvalSettings {
  scenarioRounds: number;
  sizes: number[];
  /** Rounds for a synthetic record of a given size. */
  roundsFor(size: number): number;
  log(line: string): void;
}

type Engines = Record<DataSourceKind, KineretEngine>;

async function timeOnce(engine: KineretEngine, bundle: Bundle, options: EvaluateOptions): Promise<number> {
  const started = performance.now();
  await engine.evaluateRaw(bundle, options);
  return performance.now() - started;
}

async function divergences(engines: Engines, bundle: Bundle, options: EvaluateOptions): Promise<number> {
  const [a, b] = [await engines.fast.evaluateRaw(bundle, options), await engines.stock.evaluateRaw(bundle, options)];
  const flat = (r: typeof a) => new Map(Object.entries(r.results).flatMap(([lib, values]) => Object.entries(values).map(([n, v]) => [`${lib}.${n}`, v] as const)));
  const [fa, fb] = [flat(a), flat(b)];
  const names = new Set([...fa.keys(), ...fb.keys()]);
  return [...names].filter((n) => canonicalJson(fa.get(n)) !== canonicalJson(fb.get(n))).length;
}

/** `rounds` interleaved runs of every source; the first source of each round rotates. */
async function measure(engines: Engines, bundle: Bundle, options: EvaluateOptions, rounds: number): Promise<Record<DataSourceKind, number[]>> {
  const samples: Record<DataSourceKind, number[]> = { fast: [], stock: [], 'stock-per-request': [] };
  for (let round = 0; round < rounds; round++) {
    const order = SOURCES.map((_, i) => SOURCES[(i + round) % SOURCES.length]);
    for (const source of order) samples[source].push(await timeOnce(engines[source], bundle, options));
  }
  return samples;
}

async function row(engines: Engines, dataset: string, bundle: Bundle, options: EvaluateOptions, rounds: number): Promise<EvalRow> {
  const divergent = await divergences(engines, bundle, options);
  const samplesMs = await measure(engines, bundle, options, rounds);
  const medianMs = Object.fromEntries(SOURCES.map((s) => [s, median(samplesMs[s])])) as Record<DataSourceKind, number>;
  return { dataset, resources: (bundle.entry ?? []).length, rounds, medianMs, samplesMs, divergentDefinitions: divergent };
}

/** The corpus as one row: summed per-scenario medians (the time to evaluate every scenario once). */
export function corpusRow(scenarios: EvalRow[]): EvalRow {
  const total = (s: DataSourceKind) => sum(scenarios.map((r) => r.medianMs[s]));
  return {
    dataset: `corpus (${scenarios.length} scenarios, total)`,
    resources: sum(scenarios.map((r) => r.resources)),
    rounds: scenarios[0]?.rounds ?? 0,
    medianMs: { fast: total('fast'), stock: total('stock'), 'stock-per-request': total('stock-per-request') },
    samplesMs: { fast: [], stock: [], 'stock-per-request': [] },
    divergentDefinitions: sum(scenarios.map((r) => r.divergentDefinitions)),
  };
}

export async function runEvalBench(settings: EvalSettings): Promise<EvalReport> {
  const content = loadContent();
  const engines: Engines = {
    fast: new KineretEngine(content, { source: 'fast' }),
    stock: new KineretEngine(content, { source: 'stock' }),
    'stock-per-request': new KineretEngine(content, { source: 'stock-per-request' }),
  };
  const scenarios = loadScenarios();
  // Warm-up: every source over a few scenarios (JIT, lazy model info), not measured.
  for (const s of scenarios.slice(0, 5)) await measure(engines, s.bundle, { evaluationDate: s.evaluationDate, ...s.options }, 2);

  const scenarioRows: EvalRow[] = [];
  for (const s of scenarios) {
    scenarioRows.push(await row(engines, s.name, s.bundle, { evaluationDate: s.evaluationDate, ...s.options }, settings.scenarioRounds));
  }
  settings.log(`  corpus: ${scenarioRows.length} scenarios x ${settings.scenarioRounds} rounds done`);

  const synthetic: EvalRow[] = [];
  for (const size of settings.sizes) {
    const rounds = settings.roundsFor(size);
    const r = await row(engines, `synthetic ${size}`, syntheticRecord(size), { evaluationDate: SYNTHETIC_EVALUATION_DATE }, rounds);
    settings.log(`  synthetic ${size}: fast ${r.medianMs.fast.toFixed(0)} ms, stock ${r.medianMs.stock.toFixed(0)} ms (${rounds} rounds)`);
    synthetic.push(r);
  }
  return { scenarios: scenarioRows, synthetic };
}
