/**
 * Performance benchmarks (issue 7): `npm run bench`. Prints the tables and writes bench/results/latest.json
 * (bench/report.ts: the tables travel in the JSON; `npm run readme:figures` puts them in the README).
 *
 *   npm run bench                                  everything (about 10 minutes on 2 cores)
 *   BENCH_LOAD_SECONDS=15 npm run bench            shorter RSS load (default 60 s)
 *   BENCH_ONLY=eval|http npm run bench             one half only
 *
 * Other knobs: BENCH_SIZES (200,1000,5000), BENCH_SCENARIO_ROUNDS (3), BENCH_ROUNDS (rounds for every
 * synthetic size; default 9/5/3 by size), BENCH_HTTP_SECONDS (10), BENCH_HEAVY_REQUESTS (6),
 * BENCH_DTR_SECONDS (5), BENCH_CPU_PROF=<dir> (the service of the latency runs writes a CPU profile there;
 * summarise it with bench/cpuprofile-summary.ts). `npm run bench` builds first: the HTTP half runs
 * dist/src/server.js.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corpusRow, runEvalBench, type EvalReport, type EvalRow } from './eval';
import { runHttpBench, type HttpReport, type HttpRow } from './http';
import { commandLine, loadNote, renderTable, type FigureReport, type ReportTable } from './report';
import { fmt, median, ratio } from './stats';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return value;
};

const only = process.env.BENCH_ONLY ?? 'all';
const sizes = (process.env.BENCH_SIZES ?? '200,1000,5000').split(',').map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);

function evalTable(report: EvalReport): ReportTable {
  const rowOf = (r: EvalRow): string[] => [
    r.dataset,
    String(r.resources),
    fmt(r.medianMs.fast),
    fmt(r.medianMs['stock-per-request']),
    fmt(r.medianMs.stock),
    ratio(r.medianMs['stock-per-request'] / r.medianMs.fast),
    ratio(r.medianMs.stock / r.medianMs.fast),
    r.dataset.startsWith('synthetic') ? fmt((r.medianMs.fast / r.resources) * 1000) : '-',
    r.divergentDefinitions === 0 ? 'yes' : `NO (${r.divergentDefinitions})`,
  ];
  return {
    id: 'evaluation',
    title: 'Evaluation of the policy library, median ms per evaluation (runs interleaved):',
    columns: ['dataset', 'resources', 'ours ms', 'stock per request ms', 'stock reused ms', 'per request / ours', 'reused / ours', 'ours ms per 1,000 res.', 'identical'],
    rows: [rowOf(corpusRow(report.scenarios)), ...report.synthetic.map(rowOf)],
    notes: report.scenarios.length > 0 ? [scenarioSpread(report)] : [],
  };
}

/** One line on the spread over the corpus scenarios (each scenario's row is in the JSON). */
function scenarioSpread(report: EvalReport): string {
  const spread = (values: number[], f: (n: number) => string) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${f(median(sorted))} (${f(sorted[0])} to ${f(sorted[sorted.length - 1])})`;
  };
  const rows = report.scenarios;
  return [
    `Per corpus scenario (${rows.length}), median (min to max): ours ${spread(rows.map((r) => r.medianMs.fast), (n) => `${fmt(n)} ms`)};`,
    `stock reused / ours ${spread(rows.map((r) => r.medianMs.stock / r.medianMs.fast), ratio)};`,
    `stock per request / ours ${spread(rows.map((r) => r.medianMs['stock-per-request'] / r.medianMs.fast), ratio)}.`,
  ].join(' ');
}

function httpTable(id: string, title: string, rows: HttpRow[]): ReportTable {
  return {
    id,
    title,
    columns: ['request', 'body KB', 'req/s', 'p50 ms', 'p99 ms', 'echo req/s', 'echo p50 ms', 'echo p99 ms', 'p50 / echo p50'],
    rows: rows.map((r) => [
      r.name, fmt(r.bodyBytes / 1024), fmt(r.service.throughputRps), fmt(r.service.p50Ms), fmt(r.service.p99Ms),
      fmt(r.echo.throughputRps), fmt(r.echo.p50Ms), fmt(r.echo.p99Ms), ratio(r.ratioP50),
    ]),
  };
}

interface Target {
  target: string;
  measured: string;
  met: boolean;
}

function targets(evalReport: EvalReport | undefined, http: HttpReport | undefined): Target[] {
  const out: Target[] = [];
  const synthetic = (n: number) => evalReport?.synthetic.find((r) => r.resources === n);
  const r200 = synthetic(200);
  if (r200) {
    const perRequest = r200.medianMs['stock-per-request'] / r200.medianMs.fast;
    const reused = r200.medianMs.stock / r200.medianMs.fast;
    out.push({ target: 'evaluation, 200 resources: >= 10x faster than stock per request', measured: ratio(perRequest), met: perRequest >= 10 });
    out.push({ target: 'evaluation, 200 resources: >= 3x faster than stock with reused model info', measured: ratio(reused), met: reused >= 3 });
  }
  const [r1000, r5000] = [synthetic(1000), synthetic(5000)];
  if (r1000 && r5000) {
    const per1000At5000 = r5000.medianMs.fast / 5;
    out.push({ target: 'time per 1,000 resources at 5,000 <= at 1,000', measured: `${fmt(per1000At5000)} ms vs ${fmt(r1000.medianMs.fast)} ms`, met: per1000At5000 <= r1000.medianMs.fast });
  }
  if (http) {
    const [other, k200] = http.orderSign;
    out.push({ target: 'order-sign non-Kineret p50 within 1.2x of echo p50', measured: ratio(other.ratioP50), met: other.ratioP50 <= 1.2 });
    out.push({ target: 'order-sign Kineret, 200-resource prefetch, p50 within 5x of echo p50', measured: ratio(k200.ratioP50), met: k200.ratioP50 <= 5 });
    for (const rss of http.rss) {
      out.push({ target: `peak RSS, ${rss.seconds} s of ${rss.mix}, < 300 MB`, measured: `${fmt(rss.peakRssMb)} MB`, met: rss.peakRssMb < 300 });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const startLoad = os.loadavg()[0];
  const settings = {
    eval: {
      scenarioRounds: env('BENCH_SCENARIO_ROUNDS', 3),
      sizes,
      roundsFor: (size: number) => env('BENCH_ROUNDS', size <= 300 ? 9 : size <= 1500 ? 5 : 3),
      log,
    },
    http: {
      seconds: env('BENCH_HTTP_SECONDS', 10),
      heavyRequests: env('BENCH_HEAVY_REQUESTS', 6),
      dtrSeconds: env('BENCH_DTR_SECONDS', 5),
      loadSeconds: env('BENCH_LOAD_SECONDS', 60),
      cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
      log,
    },
  };
  let evalReport: EvalReport | undefined;
  let httpReport: HttpReport | undefined;
  if (only === 'all' || only === 'eval') {
    log('evaluation benchmark...');
    evalReport = await runEvalBench(settings.eval);
  }
  if (only === 'all' || only === 'http') {
    log('HTTP benchmark...');
    httpReport = await runHttpBench(settings.http);
  }
  const goals = targets(evalReport, httpReport);
  const tables: ReportTable[] = [];
  if (evalReport) tables.push(evalTable(evalReport));
  if (httpReport) {
    tables.push(httpTable('http-order-sign', 'HTTP, one connection (autocannon; echo = an app that parses the JSON body and returns it):', httpReport.orderSign));
    tables.push(httpTable('http-dtr', 'DTR operations, one connection (bodies from examples/):', httpReport.dtr));
    httpReport.rss.forEach((rss, i) => {
      tables.push({
        id: `rss-${i + 1}`,
        title: `Peak RSS of a fresh service process, ${rss.seconds} s of ${rss.mix}: ${fmt(rss.peakRssMb)} MB (VmHWM; ${fmt(rss.startRssMb)} MB after start-up):`,
        columns: ['order-sign stream (concurrent)', 'answered', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
        rows: Object.entries(rss.requests).map(([name, r]) => [name, String(r.requests), fmt(r.throughputRps), fmt(r.p50Ms), fmt(r.p99Ms), String(r.non2xx + r.errors)]),
      });
    });
  }
  tables.push({ id: 'targets', title: 'Targets:', columns: ['target', 'measured', 'met'], rows: goals.map((g) => [g.target, g.measured, g.met ? 'yes' : 'no']) });
  console.log(`\n${tables.map(renderTable).join('\n\n')}\n`);

  const out = path.join(__dirname, 'results', 'latest.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: os.totalmem() / 2 ** 30, node: process.version, platform: `${os.platform()} ${os.release()}` };
  const { seconds, heavyRequests, dtrSeconds, loadSeconds } = settings.http;
  const report: FigureReport = {
    name: 'performance',
    generatedAt: new Date().toISOString(),
    command: commandLine('npm run bench', process.env, 'BENCH_'),
    elapsedSeconds: (Date.now() - started) / 1000,
    machine,
    notes: [loadNote(startLoad, os.loadavg()[0])],
    tables,
    settings: {
      eval: { scenarioRounds: settings.eval.scenarioRounds, sizes, rounds: sizes.map((n) => settings.eval.roundsFor(n)) },
      http: { seconds, heavyRequests, dtrSeconds, loadSeconds },
    },
    eval: evalReport,
    http: httpReport,
    targets: goals,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)} in ${report.elapsedSeconds.toFixed(0)} s`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
