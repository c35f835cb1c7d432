/**
 * Where the floor is, when a target is not met: profiles taken in the bench run itself.
 *
 * - The evaluation (a Kineret order-sign's time): the CQL definitions and functions that take the time
 *   (EvaluateOptions.timing, self time), and a CPU profile of the evaluation by package (node --cpu-prof of
 *   bench/profile-eval.ts in its own process, summarised by bench/cpuprofile-summary.ts).
 * - The service without an evaluation (a non-Kineret order-sign): a CPU profile of the service process under
 *   that load, by package and by frame, and what one durable write costs on the disk of the audit store
 *   (write and fdatasync of a 4 KiB page, the sync SQLite's commit waits for).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KineretEngine } from '../src/core/engine';
import type { DefinitionTiming } from '../src/core/types';
import { profileShares, type ProfileSummary } from './cpuprofile-summary';
import { load, startService, type Body } from './http';
import { median } from './stats';
import { SYNTHETIC_EVALUATION_DATE, syntheticRecord } from './synthetic';

export interface EvaluationFloor {
  resources: number;
  /** Median wall time of an untimed evaluation, and the slowest definitions and functions of a timed one. */
  evaluationMs: number;
  definitions: DefinitionTiming[];
  profile: ProfileSummary;
}

export interface ServiceFloor {
  profile: ProfileSummary;
  /** Median ms of one 4 KiB write + fdatasync in the audit store's directory. */
  syncMs: number;
}

/** The CQL's own costs and the evaluation's CPU profile on the synthetic record of `size` resources. */
export async function evaluationFloor(size: number): Promise<EvaluationFloor> {
  const engine = new KineretEngine();
  const bundle = syntheticRecord(size);
  const options = { evaluationDate: SYNTHETIC_EVALUATION_DATE };
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const started = performance.now();
    await engine.evaluateRaw(bundle, options);
    times.push(performance.now() - started);
  }
  await engine.evaluateRaw(bundle, { ...options, timing: true });
  const { timings = [] } = await engine.evaluateRaw(bundle, { ...options, timing: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'kineret-prof-'));
  try {
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', path.join(__dirname, 'profile-eval.ts'), String(size), 'fast', '40'], { stdio: 'ignore' });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('profile-eval wrote no CPU profile');
    return { resources: size, evaluationMs: median(times.slice(2)), definitions: timings.slice(0, 10), profile: profileShares(path.join(dir, file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The service's CPU profile under `body` at one connection for `seconds`, and the disk's sync latency. */
export async function serviceFloor(body: Body, seconds: number): Promise<ServiceFloor> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kineret-floor-'));
  const profDir = path.join(dataDir, 'prof');
  try {
    const service = await startService(dataDir, { cpuProfDir: profDir });
    try {
      await load(service.base, body, { connections: 1, amount: 20 });
      await load(service.base, body, { connections: 1, seconds });
    } finally {
      await service.stop();
    }
    // The main thread's profile is the largest (each worker thread writes its own, nearly idle).
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profDir, f));
    const profiles = files.map(profileShares).sort((a, b) => busy(b) - busy(a));
    return { profile: profiles[0], syncMs: syncLatency(dataDir) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Share of a profile that was not idle, in ms. */
function busy(p: ProfileSummary): number {
  const idle = p.byPackage.find(([name]) => name === '(idle)')?.[1] ?? 0;
  return p.totalMs * (1 - idle);
}

function syncLatency(dir: string): number {
  const file = path.join(dir, 'sync-probe');
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const samples: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      writeSync(fd, page);
      fdatasyncSync(fd);
      samples.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return median(samples);
}
