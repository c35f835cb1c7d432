/**
 * HTTP benchmark: the real service (dist/src/server.js, started as a child process on a loopback port, with
 * AUTH=off and its audit store in a temporary SQLite file) against an echo app that only parses the JSON
 * body and returns it (bench/echo-server.ts, also its own process), with the same bodies, driven by
 * autocannon from this process. Then the DTR operations, then the peak RSS of a fresh service process
 * under a mixed load.
 *
 * Every order-sign body gets a fresh hookInstance (the service answers a repeated hookInstance from its
 * audit record instead of evaluating again), spliced into the serialized body so the client stays cheap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type { Bundle, FhirResource, MedicationRequest } from 'fhir/r4';
import { DRUGS, RXNORM } from '../test/fixtures/builder';
import { fullPrefetch } from '../test/hook-requests';
import { percentile } from './stats';
import { SYNTHETIC_PATIENT_ID, syntheticRecord } from './synthetic';

const ROOT = path.resolve(__dirname, '..');
const HOOK_INSTANCE = '00000000-0000-4000-8000-000000000000';

export interface HttpSettings {
  /** Seconds per order-sign run (one connection). */
  seconds: number;
  /** Requests for the 5,000-resource run (each takes seconds). */
  heavyRequests: number;
  /** Seconds per DTR operation run. */
  dtrSeconds: number;
  /** Seconds of the mixed load for peak RSS. */
  loadSeconds: number;
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

export interface HttpReport {
  orderSign: HttpRow[];
  dtr: HttpRow[];
  /** Peak RSS under order-sign load on 200-resource records, then with a 5,000-resource stream added. */
  rss: RssReport[];
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

/** The service as deployed (npm start), with authentication off and a throw-away audit database. */
async function startService(dataDir: string, cpuProfDir?: string): Promise<Target> {
  const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  return startProcess([...profile, path.join(ROOT, 'dist', 'src', 'server.js')], {
    AUTH: 'off',
    SANDBOX: 'off',
    LOG_LEVEL: 'silent',
    DATABASE_URL: path.join(dataDir, `audit-${randomUUID()}.sqlite`),
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    PUBLIC_BASE_URL: 'http://localhost:3000',
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

interface Body {
  name: string;
  path: string;
  contentType: string;
  /** The serialized body, cut at the hookInstance placeholder when each request needs a fresh one. */
  parts: [string] | [string, string];
  /** Checks the first answer; returns what was checked or throws. */
  check(status: number, body: string): string;
}

function bodyBytes(body: Body): number {
  return Buffer.byteLength(body.parts.join(HOOK_INSTANCE));
}

/** An order-sign request as test/hook-requests.ts builds them: the full prefetch in searchset Bundles. */
function orderSign(name: string, record: Bundle, order: MedicationRequest, kineret: boolean): Body {
  const resources = (record.entry ?? []).map((e) => e.resource as FhirResource).filter((r) => r.id !== 'kineret-order');
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
  const [before, after] = JSON.stringify(request).split(HOOK_INSTANCE);
  return {
    name,
    path: '/cds-services/crd-order-sign',
    contentType: 'application/json',
    parts: [before, after],
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

function dtrBody(name: string, operation: string, example: string): Body {
  return {
    name,
    path: `/fhir/${operation}`,
    contentType: 'application/fhir+json',
    parts: [readFileSync(path.join(ROOT, 'examples', example), 'utf8')],
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
async function load(base: string, body: Body, options: LoadOptions, onFirst?: (status: number, text: string) => void): Promise<LoadResult> {
  let first = true;
  const fresh = () => (body.parts.length === 2 ? body.parts[0] + randomUUID() + body.parts[1] : body.parts[0]);
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}${body.path}`,
        method: 'POST',
        headers: { 'content-type': body.contentType },
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
        timeout: 120,
        requests: [
          {
            setupRequest: (request) => ({ ...request, body: fresh() }),
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

interface Stream {
  name: string;
  body: Body;
  connections: number;
}

/** A fresh service under concurrent streams for `seconds`: its resident set sampled, and its high-water mark. */
async function measureRss(dataDir: string, mix: string, streams: Stream[], seconds: number): Promise<RssReport> {
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

export async function runHttpBench(settings: HttpSettings): Promise<HttpReport> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kineret-bench-'));
  const record200 = syntheticRecord(200);
  const record5000 = syntheticRecord(5000);
  const bodies = {
    other: orderSign('order-sign, non-Kineret order, 200-resource prefetch', record200, methotrexateOrder(record200), false),
    kineret200: orderSign('order-sign, Kineret order, 200-resource prefetch', record200, kineretOrderOf(record200), true),
    kineret5000: orderSign('order-sign, Kineret order, 5,000-resource prefetch', record5000, kineretOrderOf(record5000), true),
  };
  const dtr = [
    dtrBody('$questionnaire-package', 'Questionnaire/$questionnaire-package', 'questionnaire-package.json'),
    dtrBody('$populate', 'Questionnaire/$populate', 'populate.json'),
    dtrBody('$evaluate', 'QuestionnaireResponse/$evaluate', 'evaluate.json'),
  ];
  const [service, echo] = [await startService(dataDir, settings.cpuProfDir), await startEcho()];
  try {
    const orderSignRows = [
      await compare(service, echo, bodies.other, { connections: 1, seconds: settings.seconds }, settings),
      await compare(service, echo, bodies.kineret200, { connections: 1, seconds: settings.seconds }, settings),
      await compare(service, echo, bodies.kineret5000, { connections: 1, amount: settings.heavyRequests }, settings),
    ];
    const dtrRows: HttpRow[] = [];
    for (const body of dtr) dtrRows.push(await compare(service, echo, body, { connections: 1, seconds: settings.dtrSeconds }, settings));
    await service.stop();
    const kineret200 = { name: 'Kineret, 200 resources', body: bodies.kineret200, connections: 7 };
    const other = { name: 'non-Kineret, 200 resources', body: bodies.other, connections: 1 };
    const kineret5000 = { name: 'Kineret, 5,000 resources', body: bodies.kineret5000, connections: 1 };
    const rss: RssReport[] = [];
    settings.log(`  order-sign load for ${settings.loadSeconds} s on a fresh service process...`);
    rss.push(await measureRss(dataDir, 'order-sign on 200-resource records', [kineret200, other], settings.loadSeconds));
    settings.log(`  the same with a 5,000-resource stream, ${settings.loadSeconds} s on a fresh service process...`);
    rss.push(await measureRss(dataDir, 'order-sign on 200-resource records plus a 5,000-resource stream', [{ ...kineret200, connections: 6 }, kineret5000, other], settings.loadSeconds));
    return { orderSign: orderSignRows, dtr: dtrRows, rss };
  } finally {
    await Promise.all([service.stop(), echo.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
