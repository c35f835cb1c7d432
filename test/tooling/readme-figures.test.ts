/**
 * The README's measured figures are generated (scripts/readme-figures.ts): every `<!-- figures:NAME -->`
 * block must be exactly what the committed report bench/figures/NAME.json gives. The benchmarks take
 * minutes and vary from run to run, so they are not run here: what is checked is that nobody typed or
 * edited a figure, and that the generator renders any report's tables (the benches will change theirs).
 */
import { readFileSync } from 'node:fs';
import type { FigureReport } from '../../bench/report';
import { blockNames, parseReport, readReports, README, renderFigures, replaceBlocks } from '../../scripts/readme-figures';

const report = (over: Partial<FigureReport> = {}): FigureReport => ({
  name: 'demo',
  generatedAt: '2026-11-30T10:00:00.000Z',
  command: 'DEMO_SECONDS=5 npm run demo',
  elapsedSeconds: 61.4,
  machine: { cpus: 2, cpuModel: 'Some CPU ', memoryGb: 23.46, node: 'v20.20.2', platform: 'linux 6.1' },
  tables: [
    { id: 'a', title: 'First:', columns: ['name', 'ms'], rows: [['x', '1.50'], ['y', '12.0']], notes: ['One note.', 'Two.'] },
    { id: 'b', title: 'Second:', columns: ['k', 'v', 'ok'], rows: [['p', '3x', 'yes']] },
  ],
  ...over,
});

describe('README figures', () => {
  const readme = readFileSync(README, 'utf8');
  const reports = readReports();

  it('has a block for each committed report, and each block is what its report gives (npm run readme:figures)', () => {
    expect(blockNames(readme).sort()).toEqual([...reports.keys()].sort());
    expect(replaceBlocks(readme, reports)).toBe(readme);
  });

  it('the performance and install figures come from their scripts', () => {
    expect(reports.get('performance')?.command).toMatch(/npm run bench\b/);
    expect(reports.get('install')?.command).toMatch(/npm run bench:install\b/);
  });
});

describe('the generator', () => {
  it('renders where and how a report was measured, then every table with its notes', () => {
    const text = renderFigures(report());
    expect(text.split('\n\n')[0]).toBe('Measured 2026-11-30 with `DEMO_SECONDS=5 npm run demo` (61 s) on 2 CPUs (Some CPU), 23.5 GiB, Node v20.20.2, linux 6.1.');
    expect(text).toContain('First:\n\n| name |   ms |\n|------|-----:|\n| x    | 1.50 |\n| y    | 12.0 |\n\nOne note. Two.');
    expect(text).toContain('Second:\n\n| k |  v | ok  |\n|---|---:|-----|\n| p | 3x | yes |');
  });

  it('rewrites only the blocks, keeps the prose, and is idempotent', () => {
    const doc = 'Intro.\n\n<!-- figures:demo (generated) -->\nold figures\n<!-- /figures:demo -->\n\nOutro.\n';
    const once = replaceBlocks(doc, new Map([['demo', report()]]));
    expect(once.startsWith('Intro.\n\n<!-- figures:demo (generated) -->\nMeasured 2026-11-30')).toBe(true);
    expect(once.endsWith('<!-- /figures:demo -->\n\nOutro.\n')).toBe(true);
    expect(once).not.toContain('old figures');
    expect(replaceBlocks(once, new Map([['demo', report()]]))).toBe(once);
    // a new bench table shows up with no change to the generator
    const more = report({ tables: [...report().tables, { id: 'c', title: 'Third, new:', columns: ['z'], rows: [['1']] }] });
    expect(replaceBlocks(once, new Map([['demo', more]]))).toContain('Third, new:\n\n| z |');
  });

  it('refuses a block without a report, a block without its end, and a malformed report', () => {
    expect(() => replaceBlocks('<!-- figures:nope -->\nx\n<!-- /figures:nope -->', new Map())).toThrow(/no report bench\/figures\/nope\.json/);
    expect(() => replaceBlocks('<!-- figures:demo -->\nx\n', new Map([['demo', report()]]))).toThrow(/without its closing/);
    const bad = { ...report(), tables: [{ id: 'a', title: 't', columns: ['one', 'two'], rows: [['only one']] }] };
    expect(() => parseReport(JSON.stringify(bad), 'bad.json')).toThrow(/bad\.json is not a figures report.*tables/);
    expect(() => parseReport(JSON.stringify({ ...report(), generatedAt: 'yesterday' }), 'x.json')).toThrow(/generatedAt/);
  });
});
