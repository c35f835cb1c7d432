/**
 * The build skips a step only when nothing it reads changed (scripts/lib/up-to-date.mjs): a changed input,
 * a new file beside the inputs, a missing or edited output or other settings always run it again, and a
 * new modification time alone does not. Checked on the stamp module itself and end to end on each step
 * (CQL, tsc, the web bundle), in temporary folders so the project's own build is left alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const node = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BUILD_FORCE: '', ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
const temp = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));

/** Edits a file's content while keeping its modification time: only a content hash can see it. */
function editKeepingMtime(file: string, text: string): void {
  const before = new Date(Date.now() - 3_600_000);
  utimesSync(file, before, before);
  writeFileSync(file, text);
  utimesSync(file, before, before);
}

describe('stamp module', () => {
  // Each case runs in a fresh Node process (the module is ESM): prints fresh/stale:reason after a change.
  const script = (dir: string, change: string) => `
    import { writeFileSync, readFileSync, rmSync, utimesSync } from 'node:fs';
    import { checkStamp, writeStamp } from ${JSON.stringify(path.join(ROOT, 'scripts', 'lib', 'up-to-date.mjs'))};
    const d = ${JSON.stringify(dir)};
    writeFileSync(d + '/in.txt', 'one');
    writeFileSync(d + '/out.txt', 'built');
    writeStamp(d + '/stamp.json', { setting: 1 }, [d + '/in.txt', d + '/absent.txt'], [d + '/out.txt']);
    let key = { setting: 1 };
    ${change}
    const r = checkStamp(d + '/stamp.json', key);
    console.log(r.fresh ? 'fresh' : 'stale:' + r.reason);
  `;
  const check = (change: string, env: NodeJS.ProcessEnv = {}) => {
    const dir = temp('stamp-');
    try {
      const r = node(['--input-type=module', '-e', script(dir, change)], env);
      expect(r.status).toBe(0);
      return r.out.trim();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('is fresh when nothing changed, and when only modification times changed', () => {
    expect(check('')).toBe('fresh');
    expect(check("const t = new Date(Date.now() + 60000); utimesSync(d + '/in.txt', t, t); utimesSync(d + '/out.txt', t, t);")).toBe('fresh');
  });

  it('is stale when an input changes, even with its old modification time', () => {
    expect(check("const s = (f) => { const t = new Date(0); utimesSync(f, t, t); }; s(d + '/in.txt'); writeFileSync(d + '/in.txt', 'two'); s(d + '/in.txt');")).toMatch(/^stale:.*in\.txt changed$/);
  });

  it('is stale when a missing input appears or an input disappears', () => {
    expect(check("writeFileSync(d + '/absent.txt', 'now here');")).toMatch(/^stale:.*absent\.txt changed$/);
    expect(check("rmSync(d + '/in.txt');")).toMatch(/^stale:.*in\.txt changed$/);
  });

  it('is stale when a file is added beside the inputs (a tool could pick it up)', () => {
    expect(check("writeFileSync(d + '/new-module.ts', '');")).toMatch(/^stale:files added or removed in /);
  });

  it('is stale when an output is missing or was edited', () => {
    expect(check("rmSync(d + '/out.txt');")).toMatch(/^stale:.*out\.txt missing or changed$/);
    expect(check("writeFileSync(d + '/out.txt', 'hand-edited');")).toMatch(/^stale:.*out\.txt missing or changed$/);
  });

  it('is stale when the settings differ, when the stamp is unreadable, and when forced', () => {
    expect(check('key = { setting: 2 };')).toBe('stale:settings changed');
    expect(check("writeFileSync(d + '/stamp.json', '{');")).toBe('stale:no previous build');
    expect(check('', { BUILD_FORCE: '1' })).toBe('stale:forced');
  });
});

describe('build steps', () => {
  jest.setTimeout(120_000);

  it('CQL: compiles, then skips, then compiles again after a content change, a new library or a lost output', () => {
    const dir = temp('cql-stamp-');
    const cql = path.join(dir, 'cql');
    const out = path.join(dir, 'elm');
    mkdirSync(cql);
    const lib = path.join(cql, 'Tiny.cql');
    writeFileSync(lib, "library Tiny version '1'\ndefine X: 1 + 1\n");
    const build = () => node([path.join('scripts', 'build-cql.mjs')], { CQL_DIR: cql, ELM_OUT: out });
    try {
      expect(build().out).toMatch(/cql: compiled 1 CQL librar/);
      expect(build().out).toMatch(/cql: up to date/);

      editKeepingMtime(lib, "library Tiny version '1'\ndefine X: 2 + 2\n");
      expect(build().out).toMatch(/cql: compiled 1 CQL librar/);
      expect(readFileSync(path.join(out, 'Tiny.json'), 'utf8')).toContain('"value":"2"');
      expect(build().out).toMatch(/cql: up to date/);

      writeFileSync(path.join(cql, 'Other.cql'), "library Other version '1'\ndefine Y: 3\n");
      expect(build().out).toMatch(/cql: compiled 2 CQL librar/);

      rmSync(path.join(out, 'Other.json'));
      expect(build().out).toMatch(/cql: compiled 2 CQL librar/);
      expect(existsSync(path.join(out, 'Other.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${out}.stamp.json`, { force: true });
    }
  });

  it('tsc: compiles, skips, and compiles again after a source edit or a new source file', () => {
    const dir = temp('tsc-stamp-');
    const config = path.join(dir, 'tsconfig.json');
    writeFileSync(config, JSON.stringify({ compilerOptions: { outDir: 'out', rootDir: '.', strict: true, types: [], lib: ['ES2022'], target: 'ES2022', module: 'commonjs' }, include: ['src/**/*.ts'] }));
    mkdirSync(path.join(dir, 'src'));
    writeFileSync(path.join(dir, 'src', 'a.ts'), 'export const a: number = 1;\n');
    const build = () => node([path.join('scripts', 'tsc.mjs'), '-p', config]);
    const stamp = path.join(ROOT, 'build', 'stamps', `tsc-${path.relative(ROOT, config).replace(/[\\/]/g, '_').replace(/\.json$/, '')}.json`);
    try {
      expect(build().out).toMatch(/compiled 1 files/);
      expect(build().out).toMatch(/up to date/);

      editKeepingMtime(path.join(dir, 'src', 'a.ts'), 'export const a: number = 2;\n');
      expect(build().out).toMatch(/compiled 1 files/);
      expect(readFileSync(path.join(dir, 'out', 'src', 'a.js'), 'utf8')).toContain('exports.a = 2');

      writeFileSync(path.join(dir, 'src', 'b.ts'), 'export const b = 1;\n');
      expect(build().out).toMatch(/compiled 2 files/);

      writeFileSync(path.join(dir, 'src', 'b.ts'), 'export const b: string = 1;\n');
      const failed = build();
      expect(failed.status).not.toBe(0);
      expect(failed.out).toMatch(/b\.ts.*error TS2322/);
      expect(build().status).not.toBe(0); // a failed run leaves no stamp: still not up to date
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(stamp, { force: true });
    }
  });

  it('web: records what esbuild bundled, skips when unchanged, rebuilds a lost output', () => {
    const dir = temp('web-stamp-');
    const out = path.join(dir, 'web');
    const build = () => node([path.join('scripts', 'build-web.mjs')], { WEB_OUT: out });
    try {
      expect(build().out).toMatch(/web: built/);
      const stamp = JSON.parse(readFileSync(`${out}.stamp.json`, 'utf8')) as { inputs: Record<string, string> };
      const inputs = Object.keys(stamp.inputs);
      for (const f of ['web/dtr/main.ts', 'web/dtr/index.html', 'web/sandbox/main.ts', 'src/dtr/populate.ts', 'web/tsconfig.json', 'scripts/build-web.mjs']) expect(inputs).toContain(f);
      expect(inputs.some((f) => f.startsWith('node_modules/fhirclient/'))).toBe(true);
      expect(build().out).toMatch(/web: up to date/);

      rmSync(path.join(out, 'dtr', 'app.js'));
      expect(build().out).toMatch(/web: built/);
      expect(existsSync(path.join(out, 'dtr', 'app.js'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
