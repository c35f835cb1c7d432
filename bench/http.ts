/**
 * HTTP benchmark: the real service (dist/src/server.js, started as a child process on a loopback port, with
 * AUTH=off and its audit store in a temporary SQLite file) against an echo app that only parses the JSON
 * body and returns it (bench/echo-server.ts, also its own process), with the same bodies, driven by
 * autocannon from this process. Then the DTR operations; then the evaluation workers (throughput at four
 * connections with 0, 1 and 2 workers, /health while 5,000-resource hooks run); then the peak RSS of a fresh
 * service process under a mixed load.
 *
 * Every order-sign body gets a fresh hookInstance (the service answers a repeated hookInstance from its
 * audit record instead of evaluating again) and, where the evaluation cache is on, a fresh Patient
 * meta.versionId (a record the service has not seen: the cache would answer a repeated one), spliced into
 * the serialized body so the client stays cheap. The latency rows run with the cache off (every request
 * evaluates), except the row that measures the cache itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type { Bundle, FhirResource, MedicationRequest } from 'fhir/r4';
import { DRUGS, RXNORM } from '../test/fixtures/builder';
import { fullPrefetch } from '../test/hook-requests';
import { percentile } from './stats';
import { SYNTHETIC_PATIENT_ID, syntheticRecord } from './synthetic';

const ROOT = path.resolve(__dirname, '..');
/** Placeholders replaced by a fresh UUID in every request: the hookInstance, and a record's version (see above). */
const HOOK_INSTANCE = '@@HOOK-INSTANCE@@';
const RECORD_VERSION = '@@RECORD-VERSION@@';

export interface HttpSettings {
  /** Seconds per order-sign run (one connection). */
  seconds: number;
  /** Requests for the 5,000-resource run (each takes seconds). */
  heavyRequests: number;
  /** Seconds per DTR operation run. */
  dtrSeconds: number;
  /** Seconds of the mixed load for peak RSS. */
  loadSeconds: number;
  /** Seconds of each worker run (throughput at four connections; /health under 5,000-resource hooks). */
  workerSeconds: number;
  /** When set, the service of the latency runs writes a V8 CPU profile here (node --cpu-prof) when it stops. */
  cpuProfDir?: string;
  log(line: string): void;
}

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  durationS: number;
  throughputRps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface HttpRow {
  name: string;
  path: string;
  bodyBytes: number;
  connections: number;
  service: LoadResult;
  echo: LoadResult;
  /** Service p50 over echo p50. */
  ratioP50: number;
  /** What the first service answer was checked for, and whether it passed. */
  check: string;
}

export interface RssReport {
  seconds: number;
  mix: string;
  startRssMb: number;
  peakRssMb: number;
  maxSampledRssMb: number;
  requests: Record<string, LoadResult>;
}

export interface ThroughputRow {
  workers: number;
  connections: number;
  result: LoadResult;
}

export interface HealthRow {
  workers: number;
  /** The 5,000-resource order-sign stream that ran meanwhile. */
  heavy: LoadResult;
  health: LoadResult;
}

export interface HttpReport {
  orderSign: HttpRow[];
  dtr: HttpRow[];
  /** Kineret order-sign on 200-resource records at four connections, by number of evaluation workers. */
  throughput: ThroughputRow[];
  /** /health while 5,000-resource order-sign calls are evaluated, by number of evaluation workers. */
  health: HealthRow[];
  /** Peak RSS under order-sign load on 200-resource records, then with a 5,000-resource stream added. */
  rss: RssReport[];
  /** The service's evaluation workers in the latency and RSS runs (EVAL_WORKERS default: the cores). */
  defaultWorkers: number;
}

// ---------------------------------------------------------------------------------------------------------
// Processes

interface Target {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitHealthy(base: string, child: ChildProcess, deadline = Date.now() + 60_000): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${base}: the process exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base} did not become healthy`);
}

async function startProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Target> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitHealthy(base, child);
  return {
    base,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/**
 * The service as deployed (npm start), with authentication off and a throw-away audit database.
 * `workers` sets EVAL_WORKERS (default: the cores); `cache` false turns the evaluation cache off.
 */
export async function startService(dataDir: string, options: { cpuProfDir?: string; workers?: number; cache?: boolean } = {}): Promise<Target> {
  const profile = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  return startProcess([...profile, path.join(ROOT, 'dist', 'src', 'server.js')], {
    AUTH: 'off',
    SANDBOX: 'off',
    LOG_LEVEL: 'silent',
    DATABASE_URL: path.join(dataDir, `audit-${randomUUID()}.sqlite`),
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    PUBLIC_BASE_URL: 'http://localhost:3000',
    ...(options.workers !== undefined ? { EVAL_WORKERS: String(options.workers) } : {}),
    ...(options.cache === false ? { EVAL_CACHE_ENTRIES: '0' } : {}),
  });
}

async function startEcho(): Promise<Target> {
  return startProcess(['--import', 'tsx', path.join(__dirname, 'echo-server.ts')], {});
}

/** Resident set size now and its high-water mark, from /proc (Linux). */
function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

// ---------------------------------------------------------------------------------------------------------
// Request bodies

export interface Body {
  name: string;
  path: string;
  method?: 'GET' | 'POST';
  contentType: string;
  /** The serialized body, cut at its placeholders (odd indexes), each replaced by a fresh UUID per request. */
  parts: string[];
  /** Checks the first answer; returns what was checked or throws. */
  check(status: number, body: string): string;
}

function bodyOf(text: string): string[] {
  return text.split(new RegExp(`(${HOOK_INSTANCE}|${RECORD_VERSION})`));
}

function bodyBytes(body: Body): number {
  return Buffer.byteLength(body.parts.map((p, i) => (i % 2 ? randomUUID() : p)).join(''));
}

/** The same body with the record's version fixed: the evaluation cache can answer it after the first request. */
function sameRecord(body: Body, name: string): Body {
  return { ...body, name, parts: bodyOf(body.parts.map((p) => (p === RECORD_VERSION ? 'fixed' : p)).join('')) };
}

/** An order-sign request as test/hook-requests.ts builds them: the full prefetch in searchset Bundles. */
function orderSign(name: string, record: Bundle, order: MedicationRequest, kineret: boolean): Body {
  const resources = (record.entry ?? []).map((e) => e.resource as FhirResource).filter((r) => r.id !== 'kineret-order')
    .map((r) => (r.resourceType === 'Patient' ? { ...r, meta: { ...r.meta, versionId: RECORD_VERSION } } : r));
  const request = {
    hookInstance: HOOK_INSTANCE,
    hook: 'order-sign',
    context: {
      userId: 'Practitioner/dr-rheum',
      patientId: SYNTHETIC_PATIENT_ID,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] },
    },
    prefetch: fullPrefetch(resources),
  };
  return {
    name,
    path: '/cds-services/crd-order-sign',
    contentType: 'application/json',
    parts: bodyOf(JSON.stringify(request)),
    check(status, text) {
      const cards = (JSON.parse(text) as { cards?: unknown[] }).cards ?? [];
      if (status !== 200 || (kineret ? cards.length === 0 : cards.length > 0)) throw new Error(`${name}: unexpected answer ${status} ${text.slice(0, 300)}`);
      return kineret ? `200, ${cards.length} cards` : '200, no cards';
    },
  };
}

function kineretOrderOf(record: Bundle): MedicationRequest {
  return (record.entry ?? []).map((e) => e.resource).find((r) => r?.id === 'kineret-order') as MedicationRequest;
}

/** The same draft order for methotrexate: not Kineret, so no evaluation and no cards. */
function methotrexateOrder(record: Bundle): MedicationRequest {
  return { ...kineretOrderOf(record), id: 'mtx-order', medicationCodeableConcept: { coding: [{ system: RXNORM, ...DRUGS.methotrexate }] } };
}

/** A DTR request from examples/, its Coverage given a fresh version per request (a record the cache has not seen). */
function dtrBody(name: string, operation: string, example: string): Body {
  const json = JSON.parse(readFileSync(path.join(ROOT, 'examples', example), 'utf8')) as unknown;
  let marked = false;
  const mark = (v: unknown): void => {
    if (marked || !v || typeof v !== 'object') return;
    if ((v as { resourceType?: unknown }).resourceType === 'Coverage') {
      (v as { meta?: object }).meta = { ...(v as { meta?: object }).meta, versionId: RECORD_VERSION };
      marked = true;
      return;
    }
    for (const x of Object.values(v)) mark(x);
  };
  mark(json);
  return {
    name,
    path: `/fhir/${operation}`,
    contentType: 'application/fhir+json',
    parts: bodyOf(JSON.stringify(json)),
    check(status, text) {
      if (status !== 200) throw new Error(`${name}: unexpected answer ${status} ${text.slice(0, 300)}`);
      return `200, ${(JSON.parse(text) as { resourceType?: string }).resourceType}`;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Load

interface LoadOptions {
  connections: number;
  seconds?: number;
  amount?: number;
}

/**
 * One autocannon run. Latencies come from autocannon's per-response timings (float ms): its own histogram
 * keeps whole milliseconds, too coarse next to a sub-millisecond echo.
 */
export async function load(base: string, body: Body, options: LoadOptions, onFirst?: (status: number, text: string) => void): Promise<LoadResult> {
  let first = true;
  const fresh = () => (body.parts.length === 1 ? body.parts[0] : body.parts.map((p, i) => (i % 2 ? randomUUID() : p)).join(''));
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}${body.path}`,
        method: body.method ?? 'POST',
        headers: body.method === 'GET' ? {} : { 'content-type': body.contentType },
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
        timeout: 120,
        requests: [
          {
            setupRequest: (request) => (body.method === 'GET' ? request : { ...request, body: fresh() }),
            onResponse: (status, text) => {
              if (first && onFirst) onFirst(status, text);
              first = false;
            },
          },
        ],
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const ok = result['2xx'];
  return {
    requests: ok,
    non2xx: result.non2xx,
    errors: result.errors,
    durationS: result.duration,
    throughputRps: ok / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function compare(service: Target, echo: Target, body: Body, options: LoadOptions, settings: HttpSettings): Promise<HttpRow> {
  let firstAnswer: [number, string] = [0, 'no answer'];
  // Warm-up (JIT, lazy initialisation), not measured; the first answer is checked.
  await load(service.base, body, { connections: 1, amount: options.amount ? 1 : 5 }, (status, text) => (firstAnswer = [status, text]));
  const check = body.check(...firstAnswer);
  await load(echo.base, body, { connections: 1, amount: options.amount ? 1 : 5 });
  const serviceResult = await load(service.base, body, options);
  const echoResult = await load(echo.base, body, options);
  const row: HttpRow = {
    name: body.name,
    path: body.path,
    bodyBytes: bodyBytes(body),
    connections: options.connections,
    service: serviceResult,
    echo: echoResult,
    ratioP50: serviceResult.p50Ms / echoResult.p50Ms,
    check,
  };
  if (serviceResult.non2xx || serviceResult.errors) throw new Error(`${body.name}: ${serviceResult.non2xx} non-2xx answers, ${serviceResult.errors} errors`);
  settings.log(`  ${body.name}: p50 ${serviceResult.p50Ms.toFixed(2)} ms (echo ${echoResult.p50Ms.toFixed(2)} ms), ${serviceResult.throughputRps.toFixed(1)} req/s`);
  return row;
}

export interface Stream {
  name: string;
  body: Body;
  connections: number;
}

/** A fresh service under concurrent streams for `seconds`: its resident set sampled, and its high-water mark. */
export async function measureRss(dataDir: string, mix: string, streams: Stream[], seconds: number): Promise<RssReport> {
  const service = await startService(dataDir);
  try {
    const startRssMb = memoryOf(service.pid).rssMb;
    let maxSampledRssMb = startRssMb;
    const sampler = setInterval(() => (maxSampledRssMb = Math.max(maxSampledRssMb, memoryOf(service.pid).rssMb)), 250);
    const results = await Promise.all(streams.map((s) => load(service.base, s.body, { connections: s.connections, seconds })));
    clearInterval(sampler);
    return {
      seconds,
      mix,
      startRssMb,
      peakRssMb: memoryOf(service.pid).hwmMb,
      maxSampledRssMb,
      requests: Object.fromEntries(streams.map((s, i) => [`${s.name}, ${s.connections} connection${s.connections > 1 ? 's' : ''}`, results[i]])),
    };
  } finally {
    await service.stop();
  }
}

/** The non-Kineret order-sign of the latency runs (200-resource prefetch). */
export function nonKineretOrderSign(): Body {
  const record = syntheticRecord(200);
  return orderSign('order-sign, non-Kineret order, 200-resource prefetch', record, methotrexateOrder(record), false);
}

const HEALTH: Body = {
  name: '/health',
  path: '/health',
  method: 'GET',
  contentType: 'application/json',
  parts: [''],
  check: (status) => {
    if (status !== 200) throw new Error(`/health answered ${status}`);
    return '200';
  },
};

/** Kineret order-sign on 200-resource records at four connections, on a fresh service with `workers` evaluation workers. */
async function throughput(dataDir: string, body: Body, workers: number, settings: HttpSettings): Promise<ThroughputRow> {
  const service = await startService(dataDir, { workers });
  try {
    await load(service.base, body, { connections: 1, amount: 4 });
    const result = await load(service.base, body, { connections: 4, seconds: settings.workerSeconds });
    settings.log(`  ${workers} workers, 4 connections: ${result.throughputRps.toFixed(1)} req/s (p50 ${result.p50Ms.toFixed(0)} ms)`);
    return { workers, connections: 4, result };
  } finally {
    await service.stop();
  }
}

/** /health at one connection while 5,000-resource order-sign calls run at two, on a fresh service with `workers` workers. */
async function healthUnderLoad(dataDir: string, heavyBody: Body, workers: number, settings: HttpSettings): Promise<HealthRow> {
  const service = await startService(dataDir, { workers });
  try {
    const [heavy, health] = await Promise.all([
      load(service.base, heavyBody, { connections: 2, seconds: settings.workerSeconds }),
      load(service.base, HEALTH, { connections: 1, seconds: settings.workerSeconds }),
    ]);
    settings.log(`  ${workers} workers: /health p99 ${health.p99Ms.toFixed(1)} ms while ${heavy.requests} 5,000-resource calls were answered`);
    return { workers, heavy, health };
  } finally {
    await service.stop();
  }
}

/** The order-sign bodies of the runs: non-Kineret and Kineret on 200 resources, Kineret on 5,000. */
export function orderSignBodies(): { other: Body; kineret200: Body; kineret5000: Body } {
  const record200 = syntheticRecord(200);
  const record5000 = syntheticRecord(5000);
  return {
    other: orderSign('order-sign, non-Kineret order, 200-resource prefetch', record200, methotrexateOrder(record200), false),
    kineret200: orderSign('order-sign, Kineret order, 200-resource prefetch', record200, kineretOrderOf(record200), true),
    kineret5000: orderSign('order-sign, Kineret order, 5,000-resource prefetch', record5000, kineretOrderOf(record5000), true),
  };
}

export async function runHttpBench(settings: HttpSettings): Promise<HttpReport> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kineret-bench-'));
  const bodies = orderSignBodies();
  const dtr = [
    dtrBody('$questionnaire-package', 'Questionnaire/$questionnaire-package', 'questionnaire-package.json'),
    dtrBody('$populate', 'Questionnaire/$populate', 'populate.json'),
    dtrBody('$evaluate', 'QuestionnaireResponse/$evaluate', 'evaluate.json'),
  ];
  const defaultWorkers = Math.max(1, availableParallelism());
  // Every request evaluates (the cache is off) but the one row that measures the cache.
  const [service, echo] = [await startService(dataDir, { cpuProfDir: settings.cpuProfDir, cache: false }), await startEcho()];
  let cached: Target | undefined;
  try {
    const orderSignRows = [
      await compare(service, echo, bodies.other, { connections: 1, seconds: settings.seconds }, settings),
      await compare(service, echo, bodies.kineret200, { connections: 1, seconds: settings.seconds }, settings),
    ];
    cached = await startService(dataDir);
    orderSignRows.push(await compare(cached, echo, sameRecord(bodies.kineret200, 'order-sign, Kineret order, 200-resource prefetch, the same record again (evaluation cache)'), { connections: 1, seconds: settings.seconds }, settings));
    await cached.stop();
    orderSignRows.push(await compare(service, echo, bodies.kineret5000, { connections: 1, amount: settings.heavyRequests }, settings));
    const dtrRows: HttpRow[] = [];
    for (const body of dtr) dtrRows.push(await compare(service, echo, body, { connections: 1, seconds: settings.dtrSeconds }, settings));
    await service.stop();

    settings.log(`  evaluation workers: throughput at 4 connections, ${settings.workerSeconds} s per run...`);
    const throughputRows: ThroughputRow[] = [];
    for (const workers of [0, 1, 2]) throughputRows.push(await throughput(dataDir, bodies.kineret200, workers, settings));
    settings.log(`  evaluation workers: /health while 5,000-resource hooks run, ${settings.workerSeconds} s per run...`);
    const healthRows: HealthRow[] = [];
    for (const workers of [0, defaultWorkers]) healthRows.push(await healthUnderLoad(dataDir, bodies.kineret5000, workers, settings));

    const kineret200 = { name: 'Kineret, 200 resources', body: bodies.kineret200, connections: 7 };
    const other = { name: 'non-Kineret, 200 resources', body: bodies.other, connections: 1 };
    const kineret5000 = { name: 'Kineret, 5,000 resources', body: bodies.kineret5000, connections: 1 };
    const rss: RssReport[] = [];
    settings.log(`  order-sign load for ${settings.loadSeconds} s on a fresh service process...`);
    rss.push(await measureRss(dataDir, 'order-sign on 200-resource records', [kineret200, other], settings.loadSeconds));
    settings.log(`  the same with a 5,000-resource stream, ${settings.loadSeconds} s on a fresh service process...`);
    rss.push(await measureRss(dataDir, 'order-sign on 200-resource records plus a 5,000-resource stream', [{ ...kineret200, connections: 6 }, kineret5000, other], settings.loadSeconds));
    return { orderSign: orderSignRows, dtr: dtrRows, throughput: throughputRows, health: healthRows, rss, defaultWorkers };
  } finally {
    await Promise.all([service.stop(), echo.stop(), cached?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
