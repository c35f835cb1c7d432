/**
 * Time per CQL definition and function for one evaluation, so content authors can find slow logic.
 *
 *   npm run cql-timing -- test/fixtures/scenarios/ra-mtx-failure-approved.json
 *   npm run cql-timing -- <scenario.json | bundle.json> [--answers] [--source fast|stock] [--top 30] [--json]
 *
 * The file is a corpus scenario (bundle, evaluationDate, options, answers) or a plain patient Bundle.
 * One evaluation runs first and is discarded, so the reported one is not charged for start-up and JIT warm-up.
 * Self time is a definition's own work; total time adds the definitions and functions it ran (a definition
 * another one needs is computed then and remembered, so its cost lands where it is first needed). Timing adds
 * some overhead of its own, so compare figures with each other rather than with untimed runs.
 */
import { systemClock, today } from '../src/core/clock';
import type { Bundle } from 'fhir/r4';
import { KineretEngine } from '../src/core/engine';
import type { DataSourceKind, DefinitionTiming, EvaluateOptions } from '../src/core/types';
import { readRecord } from './record-file';

interface Args {
  file: string;
  answers: boolean;
  source: DataSourceKind;
  top: number;
  json: boolean;
}

const USAGE = 'usage: npm run cql-timing -- <scenario.json | bundle.json> [--answers] [--source fast|stock] [--top N] [--json]';

function parseArgs(argv: string[]): Args {
  const args: Args = { file: '', answers: false, source: 'fast', top: 30, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--answers') args.answers = true;
    else if (a === '--json') args.json = true;
    else if (a === '--source') args.source = argv[++i] as DataSourceKind;
    else if (a === '--top') args.top = Number(argv[++i]);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else args.file = a;
  }
  if (!args.file) throw new Error(USAGE);
  if (!['fast', 'stock', 'stock-per-request'].includes(args.source)) throw new Error(`--source must be fast or stock\n${USAGE}`);
  if (!Number.isInteger(args.top) || args.top < 1) throw new Error(`--top must be a positive integer\n${USAGE}`);
  return args;
}

/** The bundle and evaluation options a file describes. */
function readInput(file: string, withAnswers: boolean): { bundle: Bundle; options: EvaluateOptions } {
  const record = readRecord(file);
  // A plain Bundle is evaluated as of today; a scenario at its own evaluation date.
  const options: EvaluateOptions = { evaluationDate: record.date ?? today(systemClock), nonPreferred: record.nonPreferred };
  if (withAnswers) options.answers = record.answers ?? [];
  return { bundle: record.bundle, options };
}

function table(timings: DefinitionTiming[], top: number): string {
  const rows = timings.slice(0, top).map((t) => [t.selfMs.toFixed(2), t.totalMs.toFixed(2), String(t.calls), t.kind, t.name]);
  const header = ['self ms', 'total ms', 'calls', 'kind', 'definition'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { bundle, options } = readInput(args.file, args.answers);
  const engine = new KineretEngine(undefined, { source: args.source });
  await engine.evaluateRaw(bundle, { ...options, timing: true }); // warm-up, also of the instrumented library
  const started = performance.now();
  const { timings = [], results } = await engine.evaluateRaw(bundle, { ...options, timing: true });
  const elapsed = performance.now() - started;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ file: args.file, source: args.source, elapsedMs: elapsed, timings }, null, 2)}\n`);
    return;
  }
  const definitions = timings.filter((t) => t.kind === 'definition').length;
  console.log(`${args.file}: ${(bundle.entry ?? []).length} resources, source ${args.source}${args.answers ? ', with answers' : ''}`);
  console.log(`timed evaluation ${elapsed.toFixed(1)} ms; ${definitions} definitions and ${timings.length - definitions} functions ran; decision ${String(results.KineretPA?.Decision)}`);
  console.log(`slowest ${Math.min(args.top, timings.length)} by self time:\n`);
  console.log(table(timings, args.top));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
