/**
 * Evaluates the policy on one synthetic record repeatedly, for profiling one data source on its own:
 *
 *   node --cpu-prof --cpu-prof-dir=bench/results/prof --import tsx bench/profile-eval.ts [size=200] [source=fast] [runs=20]
 *   npx tsx bench/cpuprofile-summary.ts bench/results/prof/<file>.cpuprofile
 */
import { KineretEngine } from '../src/core/engine';
import type { DataSourceKind } from '../src/core/types';
import { median } from './stats';
import { SYNTHETIC_EVALUATION_DATE, syntheticRecord } from './synthetic';

async function main(): Promise<void> {
  const [size = '200', source = 'fast', runs = '20'] = process.argv.slice(2);
  const engine = new KineretEngine(undefined, { source: source as DataSourceKind });
  const bundle = syntheticRecord(Number(size));
  const times: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const started = performance.now();
    await engine.evaluateRaw(bundle, { evaluationDate: SYNTHETIC_EVALUATION_DATE });
    times.push(performance.now() - started);
  }
  console.log(`${source}, ${size} resources: median ${median(times.slice(1)).toFixed(1)} ms over ${times.length - 1} runs (first run ${times[0].toFixed(0)} ms)`);
}

void main();
