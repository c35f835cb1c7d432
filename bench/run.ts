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
 * BENCH_DTR_SECONDS (5), BENCH_WORKER_SECONDS (15: each throughput and /health run), BENCH_CPU_PROF=<dir>
 * (the service of the latency runs writes a CPU profile there; summarise it with bench/cpuprofile-summary.ts).
 * `npm run bench` builds first: the HTTP half runs dist/src/server.js.
 *
 * When a target is not met, the report says where the floor is, from profiles taken in the same run
 * (bench/floors.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corpusRow, runEvalBench, type EvalReport, type EvalRow } from './eval';
import { evaluationFloor, serviceFloor, type EvaluationFloor, type ServiceFloor } from './floors';
import { nonKineretOrderSign, runHttpBench, type HttpReport, type HttpRow } from './http';
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

const KINERET_200 = 'order-sign, Kineret order, 200-resource prefetch';
const NON_KINERET = 'order-sign, non-Kineret order, 200-resource prefetch';

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
    const row = (name: string) => http.orderSign.find((r) => r.name === name)!;
    const [other, k200] = [row(NON_KINERET), row(KINERET_200)];
    out.push({ target: 'order-sign non-Kineret p50 within 2x of echo p50', measured: ratio(other.ratioP50), met: other.ratioP50 <= 2 });
    out.push({ target: 'order-sign Kineret, 200-resource prefetch, p50 within 10x of echo p50', measured: ratio(k200.ratioP50), met: k200.ratioP50 <= 10 });
    out.push({ target: 'order-sign Kineret, 200-resource prefetch, p50 within 5x of echo p50 (the goal)', measured: ratio(k200.ratioP50), met: k200.ratioP50 <= 5 });
    const health = http.health.find((h) => h.workers === http.defaultWorkers);
    if (health) {
      out.push({ target: `/health p99 < 50 ms while 5,000-resource hooks are evaluated (${health.workers} workers)`, measured: `${fmt(health.health.p99Ms)} ms`, met: health.health.p99Ms < 50 });
    }
    const [one, two] = [http.throughput.find((t) => t.workers === 1), http.throughput.find((t) => t.workers === 2)];
    if (one && two) {
      const gain = two.result.throughputRps / one.result.throughputRps;
      out.push({ target: 'throughput at 4 connections, 2 workers >= 1.7x 1 worker', measured: ratio(gain), met: gain >= 1.7 });
    }
    for (const rss of http.rss) {
      out.push({ target: `peak RSS, ${rss.seconds} s of ${rss.mix}, < 300 MB`, measured: `${fmt(rss.peakRssMb)} MB`, met: rss.peakRssMb < 300 });
    }
  }
  return out;
}


const share = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The floor of a Kineret order-sign: what the evaluation is of the answer, the CQL that takes it, its profile. */
function kineretFloorTables(floor: EvaluationFloor, http: HttpReport): ReportTable[] {
  const k200 = http.orderSign.find((r) => r.name === KINERET_200)!;
  const other = http.orderSign.find((r) => r.name === NON_KINERET)!;
  const split: ReportTable = {
    id: 'floor-kineret',
    title: `Where a Kineret order-sign's time goes (200-resource record; the target is not met):`,
    columns: ['part', 'ms', 'share of the p50'],
    rows: [
      ['order-sign p50 (HTTP, one connection)', fmt(k200.service.p50Ms), '100%'],
      [`the policy evaluation alone (median of ${12 - 2}, this process)`, fmt(floor.evaluationMs), share(floor.evaluationMs / k200.service.p50Ms)],
      ['everything but the evaluation (non-Kineret order-sign p50)', fmt(other.service.p50Ms), share(other.service.p50Ms / k200.service.p50Ms)],
      ['echo p50 (parse the body, send it back)', fmt(k200.echo.p50Ms), share(k200.echo.p50Ms / k200.service.p50Ms)],
    ],
    notes: ['The evaluation is the floor: within it, the CQL below (self time, one timed evaluation) and the engine (the profile after).'],
  };
  const definitions: ReportTable = {
    id: 'floor-kineret-cql',
    title: 'The slowest CQL definitions and functions of one evaluation (200 resources; self time, their own work):',
    columns: ['definition or function', 'self ms', 'total ms', 'calls'],
    rows: floor.definitions.map((d) => [d.name, fmt(d.selfMs), fmt(d.totalMs), String(d.calls)]),
  };
  const profile: ReportTable = {
    id: 'floor-kineret-profile',
    title: `CPU profile of the evaluation (200 resources, 40 runs, start-up included), self time by package:`,
    columns: ['package', 'self time'],
    rows: floor.profile.byPackage.slice(0, 10).map(([name, x]) => [name, share(x)]),
  };
  return [split, definitions, profile];
}

/** The floor of a non-Kineret order-sign: the service's profile and the disk's sync. */
function serviceFloorTables(floor: ServiceFloor): ReportTable[] {
  const idle = floor.profile.byPackage.find(([name]) => name === '(idle)')?.[1] ?? 0;
  const busyShare = (x: number) => share(x / (1 - idle));
  return [
    {
      id: 'floor-non-kineret',
      title: 'CPU profile of the service under non-Kineret order-sign calls (200-resource prefetch, one connection; the target is not met), self time by package, idle left out:',
      columns: ['package', 'share of busy time'],
      rows: floor.profile.byPackage.filter(([name]) => name !== '(idle)').slice(0, 10).map(([name, x]) => [name, busyShare(x)]),
    },
    {
      id: 'floor-non-kineret-frames',
      title: 'Its top frames by self time:',
      columns: ['frame', 'share of busy time'],
      rows: floor.profile.frames.filter(([name]) => !name.startsWith('(idle)')).slice(0, 12).map(([name, x]) => [name, busyShare(x)]),
      notes: [`One durable write on the audit store's disk (4 KiB, fdatasync) took ${fmt(floor.syncMs)} ms (median of 200) in this run: at one connection every answer waits for one, the floor below which an audited answer cannot go; concurrent answers share one (group commit).`],
    },
  ];
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
      workerSeconds: env('BENCH_WORKER_SECONDS', 15),
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
  const floors: { kineret?: EvaluationFloor; nonKineret?: ServiceFloor } = {};
  if (httpReport) {
    tables.push(httpTable('http-order-sign', 'HTTP, one connection (autocannon; echo = an app that parses the JSON body and returns it; the service evaluates every request, but where the row says the cache answers):', httpReport.orderSign));
    tables.push(httpTable('http-dtr', 'DTR operations, one connection (bodies from examples/, a record the service has not seen each time):', httpReport.dtr));
    const one = httpReport.throughput.find((t) => t.workers === 1);
    tables.push({
      id: 'workers-throughput',
      title: `Kineret order-sign on 200-resource records at 4 connections, by evaluation workers (a fresh service each; ${httpReport.defaultWorkers} is the default here; 0 evaluates on the event loop):`,
      columns: ['workers', 'answered', 'req/s', 'p50 ms', 'p99 ms', 'req/s vs 1 worker'],
      rows: httpReport.throughput.map((t) => [String(t.workers), String(t.result.requests), fmt(t.result.throughputRps), fmt(t.result.p50Ms), fmt(t.result.p99Ms), one ? ratio(t.result.throughputRps / one.result.throughputRps) : '-']),
    });
    tables.push({
      id: 'workers-health',
      title: '/health at one connection while 5,000-resource Kineret order-sign calls run at two (a fresh service each):',
      columns: ['workers', '5,000-resource calls answered', 'their p50 ms', '/health answered', '/health p50 ms', '/health p99 ms'],
      rows: httpReport.health.map((h) => [String(h.workers), String(h.heavy.requests), fmt(h.heavy.p50Ms), String(h.health.requests), fmt(h.health.p50Ms), fmt(h.health.p99Ms)]),
    });
    httpReport.rss.forEach((rss, i) => {
      tables.push({
        id: `rss-${i + 1}`,
        title: `Peak RSS of a fresh service process (${httpReport!.defaultWorkers} evaluation workers included), ${rss.seconds} s of ${rss.mix}: ${fmt(rss.peakRssMb)} MB (VmHWM; ${fmt(rss.startRssMb)} MB after start-up):`,
        columns: ['order-sign stream (concurrent)', 'answered', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
        rows: Object.entries(rss.requests).map(([name, r]) => [name, String(r.requests), fmt(r.throughputRps), fmt(r.p50Ms), fmt(r.p99Ms), String(r.non2xx + r.errors)]),
      });
    });
    // Where the floor is, for the targets not met.
    const unmet = (prefix: string) => goals.some((g) => g.target.startsWith(prefix) && !g.met);
    if (unmet('order-sign Kineret')) {
      log('floor: profiling the evaluation...');
      floors.kineret = await evaluationFloor(200);
      tables.push(...kineretFloorTables(floors.kineret, httpReport));
    }
    if (unmet('order-sign non-Kineret')) {
      log('floor: profiling the service without evaluation...');
      floors.nonKineret = await serviceFloor(nonKineretOrderSign(), settings.http.seconds);
      tables.push(...serviceFloorTables(floors.nonKineret));
    }
  }
  tables.push({ id: 'targets', title: 'Targets:', columns: ['target', 'measured', 'met'], rows: goals.map((g) => [g.target, g.measured, g.met ? 'yes' : 'no']) });
  console.log(`\n${tables.map(renderTable).join('\n\n')}\n`);

  const out = path.join(__dirname, 'results', 'latest.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: os.totalmem() / 2 ** 30, node: process.version, platform: `${os.platform()} ${os.release()}` };
  const { seconds, heavyRequests, dtrSeconds, loadSeconds, workerSeconds } = settings.http;
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
      http: { seconds, heavyRequests, dtrSeconds, loadSeconds, workerSeconds },
    },
    eval: evalReport,
    http: httpReport,
    floors,
    targets: goals,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)} in ${report.elapsedSeconds.toFixed(0)} s`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
