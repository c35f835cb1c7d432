/**
 * Install size and time: `npm ci` of this tree's package.json and package-lock.json, and optionally of an
 * earlier commit's, each in its own folder under build/install-bench/, runs interleaved so that the
 * shared machine's noise falls on both alike. Writes bench/results/install.json (bench/report.ts), which
 * `npm run readme:figures -- bench/results/install.json` puts in the README.
 *
 *   npm run bench:install -- --before 8e9465c --runs 3
 *
 * Every run starts without node_modules (`rm -rf node_modules && npm ci --no-audit --no-fund`, only
 * npm ci timed) and with npm's cache as it is on the machine (warm once anything was installed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNote, type FigureReport } from './report';
import { fmt, median } from './stats';

const ROOT = path.resolve(__dirname, '..');
const WORK = path.join(ROOT, 'build', 'install-bench');

interface Variant {
  label: string;
  commit: string;
  dir: string;
  runs: { seconds: number; packages: number; warnings: string[] }[];
  sizeMb?: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

function prepare(label: string, ref: string | null): Variant {
  const dir = path.join(WORK, label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) {
    const text = ref ? git('show', `${ref}:${file}`) : readFileSync(path.join(ROOT, file), 'utf8');
    writeFileSync(path.join(dir, file), `${text.trimEnd()}\n`);
  }
  const head = git('rev-parse', '--short', ref ?? 'HEAD');
  const dirty = !ref && git('status', '--porcelain', '--', 'package.json', 'package-lock.json') !== '';
  return { label, commit: dirty ? `${head}, modified` : head, dir, runs: [] };
}

function install(v: Variant, log: (l: string) => void): void {
  rmSync(path.join(v.dir, 'node_modules'), { recursive: true, force: true });
  const started = process.hrtime.bigint();
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: v.dir, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`npm ci failed for ${v.label}:\n${r.stdout}\n${r.stderr}`);
  const out = `${r.stdout}\n${r.stderr}`;
  const packages = Number(/added (\d+) packages?/.exec(out)?.[1] ?? NaN);
  const warnings = out.split('\n').filter((l) => /^npm warn/i.test(l));
  v.runs.push({ seconds, packages, warnings });
  log(`${v.label}: npm ci ${seconds.toFixed(1)} s, ${packages} packages, ${warnings.length} warning lines (load ${os.loadavg()[0].toFixed(2)})`);
}

function sizeMb(dir: string): number {
  return Number(execFileSync('du', ['-sk', path.join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]) / 1024;
}

function main(): void {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const runs = Number(arg('--runs') ?? 3);
  const before = arg('--before');
  const variants = [...(before ? [prepare('before', before)] : []), prepare('after', null)];
  const loads = [os.loadavg()[0]];
  for (let i = 0; i < runs; i++) for (const v of i % 2 ? [...variants].reverse() : variants) install(v, log);
  loads.push(os.loadavg()[0]);
  for (const v of variants) {
    v.sizeMb = sizeMb(v.dir);
    rmSync(v.dir, { recursive: true, force: true });
  }
  const row = (v: Variant) => {
    const times = v.runs.map((r) => r.seconds);
    return [
      `${v.label === 'before' ? 'before' : 'this tree'} (${v.commit})`,
      String(v.runs[v.runs.length - 1].packages),
      `${fmt(v.sizeMb!)} MB`,
      times.map((t) => t.toFixed(0)).join(', '),
      fmt(median(times)),
      `${fmt(Math.min(...times))} to ${fmt(Math.max(...times))}`,
      String(v.runs[v.runs.length - 1].warnings.length),
    ];
  };
  const notes = [`${runs} runs each, interleaved, npm ${execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim()} with its cache warm.`];
  if (variants.length === 2) {
    const [b, a] = variants;
    const t = median(a.runs.map((r) => r.seconds)) / median(b.runs.map((r) => r.seconds));
    notes.push(`This tree / before: ${t.toFixed(2)}x the time, ${(a.sizeMb! / b.sizeMb!).toFixed(2)}x the size.`);
  }
  const report: FigureReport = {
    name: 'install',
    generatedAt: new Date().toISOString(),
    command: `npm run bench:install --${before ? ` --before ${before}` : ''} --runs ${runs}`,
    elapsedSeconds: (Date.now() - started) / 1000,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: os.totalmem() / 2 ** 30, node: process.version, platform: `${os.platform()} ${os.release()}` },
    notes: [loadNote(loads[0], loads[1])],
    tables: [{
      id: 'npm-ci',
      title: 'A clean install, `rm -rf node_modules && npm ci --no-audit --no-fund`:',
      columns: ['install', 'packages', 'node_modules', 'npm ci runs, s', 'median s', 'spread s', 'npm warn lines'],
      rows: variants.map(row),
      notes,
    }],
    runs: variants.map((v) => ({ label: v.label, commit: v.commit, sizeMb: v.sizeMb, runs: v.runs })),
  };
  const out = path.join(__dirname, 'results', 'install.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)}`);
}

main();
