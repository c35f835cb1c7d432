/**
 * The shape every measurement script in bench/ writes (bench/results/<name>.json) and what the README's
 * generated figures are made of (scripts/readme-figures.ts). A report carries its tables as text cells,
 * already formatted by the script that measured them, so the README generator knows nothing about any
 * benchmark: a bench that changes its tables changes the README by `npm run readme:figures` alone.
 */
import os from 'node:os';
import { markdownTable } from './stats';

export interface ReportTable {
  /** Stable name of the table within its report. */
  id: string;
  /** One line that says what was measured and how (printed above the table). */
  title: string;
  columns: string[];
  rows: string[][];
  /** Sentences printed under the table. */
  notes?: string[];
}

export interface FigureReport {
  /** Which figures these are: the README's block `<!-- figures:NAME -->` shows this report. */
  name: string;
  generatedAt: string;
  /** The command that produced the report, with every setting that was not the default. */
  command: string;
  elapsedSeconds: number;
  machine: { cpus: number; cpuModel?: string; memoryGb: number; node: string; platform: string };
  /** Sentences on the conditions of the run (printed after where and how it was measured). */
  notes?: string[];
  tables: ReportTable[];
  [more: string]: unknown;
}

export function renderTable(t: ReportTable): string {
  const notes = t.notes?.length ? `\n\n${t.notes.join(' ')}` : '';
  return `${t.title}\n\n${markdownTable(t.columns, t.rows)}${notes}`;
}

/** The benchmark's own settings from the environment, as a command line a reader can repeat. */
export function commandLine(script: string, env: NodeJS.ProcessEnv, prefix: string): string {
  const set = Object.keys(env).filter((k) => k.startsWith(prefix) && env[k] !== undefined && env[k] !== '').sort();
  return [...set.map((k) => `${k}=${env[k]}`), script].join(' ');
}

/** The load average at the start and the end of a run: the machine may be shared with other work. */
export function loadNote(startLoad: number, endLoad: number): string {
  return `Load average ${startLoad.toFixed(1)} at the start, ${endLoad.toFixed(1)} at the end (${os.cpus().length} CPUs; the machine may be shared).`;
}
