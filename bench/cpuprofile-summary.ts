/**
 * Summarises a V8 CPU profile (node --cpu-prof): the top frames by self time, and self time per package
 * (node_modules/<name>, or the project folder) so that the floor of a pipeline is visible at a glance.
 *
 *   npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=25] [--inclusive <regex>]
 *
 * With --inclusive, also lists the frames matching the regex by inclusive time (time with the frame on the
 * stack), e.g. --inclusive 'toDistinctList|findRecords'.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*node_modules\//, '').replace(/^.*?\/(src|bench|test|dist)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
}

function packageOf(frame: CallFrame): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (m) return m[1];
  if (/\/(src|dist\/src)\/core\//.test(frame.url)) return 'project: src/core';
  if (/\/(src|dist\/src)\//.test(frame.url)) return 'project: src (other)';
  if (frame.url.startsWith('node:')) return 'node internals';
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : 'native';
  return 'other';
}

const pct = (part: number, total: number) => `${((part / total) * 100).toFixed(1).padStart(5)}%`;

export interface ProfileSummary {
  totalMs: number;
  /** Self time share (0..1) by package, largest first. */
  byPackage: [string, number][];
  /** Self time share by frame, largest first. */
  frames: [string, number][];
}

interface Tally {
  /** Sampled time, microseconds. */
  total: number;
  self: Map<string, number>;
  byPackage: Map<string, number>;
  /** Inclusive time of the frames matching the pattern (empty without one). */
  inclusive: Map<string, number>;
}

/** Self time by frame and by package, and inclusive time of the frames matching `inclusive`. */
function tally(profile: CpuProfile, inclusive?: RegExp): Tally {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
  const t: Tally = { total: 0, self: new Map(), byPackage: new Map(), inclusive: new Map() };
  const add = (m: Map<string, number>, key: string, dt: number) => m.set(key, (m.get(key) ?? 0) + dt);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t.total += dt;
    const frame = nodes.get(id)!.callFrame;
    add(t.self, label(frame), dt);
    add(t.byPackage, packageOf(frame), dt);
    if (!inclusive) return;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const l = label(nodes.get(at)!.callFrame);
      if (inclusive.test(l) && !seen.has(l)) {
        seen.add(l);
        add(t.inclusive, l, dt);
      }
    }
  });
  return t;
}

const largestFirst = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);

/** Self time by package and by frame of a profile, as shares: what the bench reports as the floor of a run. */
export function profileShares(file: string): ProfileSummary {
  const t = tally(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const shares = (m: Map<string, number>) => largestFirst(m).map(([k, v]): [string, number] => [k, v / t.total]);
  return { totalMs: t.total / 1000, byPackage: shares(t.byPackage), frames: shares(t.self) };
}

function summarise(profile: CpuProfile, top: number, inclusive?: RegExp): string {
  const t = tally(profile, inclusive);
  const list = (m: Map<string, number>, n: number) =>
    largestFirst(m).slice(0, n).map(([k, v]) => `${pct(v, t.total)}  ${k}`).join('\n');
  const out = [`${(t.total / 1e6).toFixed(1)} s sampled`, '', 'self time by package:', list(t.byPackage, 15), '', `top ${top} frames by self time:`, list(t.self, top)];
  if (inclusive) out.push('', `inclusive time of frames matching ${inclusive}:`, list(t.inclusive, top));
  return out.join('\n');
}

function main(): void {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) throw new Error('usage: npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top] [--inclusive <regex>]');
  const i = rest.indexOf('--inclusive');
  const inclusive = i >= 0 ? new RegExp(rest[i + 1]) : undefined;
  const top = Number(rest.find((a, j) => /^\d+$/.test(a) && rest[j - 1] !== '--inclusive') ?? 25);
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top, inclusive));
}

if (require.main === module) main();
