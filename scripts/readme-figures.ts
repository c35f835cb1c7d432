/**
 * The README's measured figures, generated: every block between `<!-- figures:NAME ... -->` and
 * `<!-- /figures:NAME -->` in README.md is rendered from the committed report bench/figures/NAME.json
 * (the JSON a bench script wrote: bench/report.ts). Nothing in a block is typed by hand, and
 * test/readme/figures.test.ts fails when a block differs from what its report gives.
 *
 *   npm run readme:figures                                  rewrite the blocks from bench/figures/*.json
 *   npm run readme:figures -- bench/results/latest.json     first take a fresh report as the snapshot
 *   npm run readme:figures -- --check                       exit 1 when the README is not what the reports give
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderTable, type FigureReport } from '../bench/report';

export const ROOT = path.resolve(__dirname, '..');
export const FIGURES_DIR = path.join(ROOT, 'bench', 'figures');
export const README = path.join(ROOT, 'README.md');

const BLOCK = /<!-- figures:([a-z0-9-]+)\b[^>]*-->\n([\s\S]*?)<!-- \/figures:\1 -->/g;

export function parseReport(text: string, source: string): FigureReport {
  const r = JSON.parse(text) as Partial<FigureReport>;
  const problems: string[] = [];
  if (typeof r.name !== 'string' || !/^[a-z0-9-]+$/.test(r.name)) problems.push('name');
  if (typeof r.generatedAt !== 'string' || Number.isNaN(Date.parse(r.generatedAt))) problems.push('generatedAt');
  if (typeof r.command !== 'string') problems.push('command');
  if (typeof r.elapsedSeconds !== 'number') problems.push('elapsedSeconds');
  if (!r.machine || typeof r.machine.cpus !== 'number' || typeof r.machine.node !== 'string') problems.push('machine');
  if (r.notes !== undefined && !(Array.isArray(r.notes) && r.notes.every((n) => typeof n === 'string'))) problems.push('notes');
  const tablesOk = Array.isArray(r.tables) && r.tables.length > 0 && r.tables.every((t) =>
    typeof t.id === 'string' && typeof t.title === 'string' && Array.isArray(t.columns) && Array.isArray(t.rows) &&
    t.rows.every((row) => Array.isArray(row) && row.length === t.columns.length && row.every((c) => typeof c === 'string')));
  if (!tablesOk) problems.push('tables');
  if (problems.length) throw new Error(`${source} is not a figures report (bench/report.ts): bad or missing ${problems.join(', ')}`);
  return r as FigureReport;
}

/** The text of one README block: where and how the figures were measured, then every table of the report. */
export function renderFigures(r: FigureReport): string {
  const m = r.machine;
  const machine = [`${m.cpus} CPUs${m.cpuModel ? ` (${m.cpuModel.trim()})` : ''}`, `${m.memoryGb.toFixed(1)} GiB`, `Node ${m.node}`, m.platform].join(', ');
  const header = `Measured ${r.generatedAt.slice(0, 10)} with \`${r.command}\` (${Math.round(r.elapsedSeconds)} s) on ${machine}.`;
  const notes = r.notes?.length ? ` ${r.notes.join(' ')}` : '';
  return [header + notes, ...r.tables.map(renderTable)].join('\n\n');
}

export function blockNames(readme: string): string[] {
  return [...readme.matchAll(BLOCK)].map((m) => m[1]);
}

/** The README with every figures block rewritten from its report; a block without a report is an error. */
export function replaceBlocks(readme: string, reports: ReadonlyMap<string, FigureReport>): string {
  const opened = [...readme.matchAll(/<!-- figures:([a-z0-9-]+)\b/g)].map((m) => m[1]);
  const names = blockNames(readme);
  const unclosed = opened.filter((n) => !names.includes(n));
  if (unclosed.length) throw new Error(`README: figures block without its closing <!-- /figures:NAME -->: ${unclosed.join(', ')}`);
  return readme.replace(BLOCK, (whole, name: string, _body: string) => {
    const report = reports.get(name);
    if (!report) throw new Error(`README: no report bench/figures/${name}.json for the figures block "${name}"`);
    const opening = whole.slice(0, whole.indexOf('-->') + 3);
    return `${opening}\n${renderFigures(report)}\n<!-- /figures:${name} -->`;
  });
}

export function readReports(dir = FIGURES_DIR): Map<string, FigureReport> {
  const reports = new Map<string, FigureReport>();
  if (!existsSync(dir)) return reports;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const report = parseReport(readFileSync(path.join(dir, file), 'utf8'), path.join('bench', 'figures', file));
    if (`${report.name}.json` !== file) throw new Error(`bench/figures/${file} holds the report "${report.name}"`);
    reports.set(report.name, report);
  }
  return reports;
}

function main(args: string[]): void {
  const check = args.includes('--check');
  for (const file of args.filter((a) => !a.startsWith('--'))) {
    const report = parseReport(readFileSync(file, 'utf8'), file);
    const target = path.join(FIGURES_DIR, `${report.name}.json`);
    copyFileSync(file, target);
    console.log(`readme:figures: ${path.relative(ROOT, target)} <- ${file} (${report.command}, ${report.generatedAt})`);
  }
  const before = readFileSync(README, 'utf8');
  const after = replaceBlocks(before, readReports());
  if (check) {
    if (after !== before) {
      console.error('README.md: the figures blocks differ from bench/figures/*.json; run npm run readme:figures');
      process.exit(1);
    }
    console.log('README.md figures are what bench/figures/*.json give');
    return;
  }
  if (after !== before) writeFileSync(README, after);
  console.log(`readme:figures: ${after === before ? 'README.md unchanged' : 'README.md rewritten'} (${blockNames(after).join(', ') || 'no blocks'})`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`readme:figures: ${(e as Error).message}`);
    process.exit(1);
  }
}
