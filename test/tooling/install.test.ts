/**
 * The lean install (README, "Install size"), checked on package-lock.json so that an upgrade cannot bring
 * the unused trees back unnoticed: lforms is installed for its prebuilt files only, fhirclient without its
 * mobile crypto fallback, and every package that has an install script was reviewed in allowScripts (npm
 * warns at every install about the others).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  overrides: Record<string, Record<string, string>>;
  allowScripts: Record<string, boolean>;
};
interface LockEntry { name?: string; version?: string; dependencies?: Record<string, string>; hasInstallScript?: boolean; link?: boolean }
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const EMPTY = '@favware/skip-dependency';

/** Node's resolution over the lock's folders: the entry a package at `from` gets for `name`. */
function resolve(from: string, name: string): [string, LockEntry] | undefined {
  for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[key]) return [key, lock.packages[key]];
    if (!base) return undefined;
  }
}
const nameOf = (key: string, e: LockEntry) => e.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

it.each(['lforms', 'fhirclient'])('what %s does not need at run time is overridden with an empty package', (parent) => {
  const entry = lock.packages[`node_modules/${parent}`];
  const overridden = Object.keys(pkg.overrides[parent] ?? {});
  const expected = parent === 'lforms' ? Object.keys(entry.dependencies ?? {}) : ['core-js', 'isomorphic-webcrypto'];
  // lforms: every dependency is an input of its prebuilt bundles. A new one in an upgrade must be added too.
  expect(overridden.sort()).toEqual(expect.arrayContaining(expected.sort()));
  for (const dep of expected) {
    const found = resolve(`node_modules/${parent}`, dep);
    expect(found && `${dep} -> ${nameOf(...found)}`).toBe(`${dep} -> ${EMPTY}`);
  }
});

it('no mobile toolchain and no Angular is installed', () => {
  const installed = new Set(Object.entries(lock.packages).filter(([k]) => k).map(([k, e]) => nameOf(k, e)));
  for (const heavy of ['expo', 'react-native', 'hermes-compiler', 'metro', '@angular/core', 'ng-zorro-antd', 'isomorphic-webcrypto']) {
    expect(installed.has(heavy) ? heavy : null).toBeNull();
  }
});

it('every package with an install script is reviewed in allowScripts (a quiet install)', () => {
  const withScripts = Object.entries(lock.packages).filter(([k, e]) => k && e.hasInstallScript).map(([k, e]) => nameOf(k, e));
  expect(withScripts.filter((n) => !(n in pkg.allowScripts))).toEqual([]);
  // and nothing is allowed that is not installed any more
  expect(Object.keys(pkg.allowScripts).filter((n) => !withScripts.includes(n))).toEqual([]);
});

it('the LHC-Forms files the DTR page loads are in the lforms package (served from node_modules)', () => {
  const html = readFileSync(path.join(ROOT, 'web', 'dtr', 'index.html'), 'utf8');
  const files = [...html.matchAll(/\/dtr\/vendor\/lforms\/([^"']+)/g)].map((m) => m[1]);
  expect(files.length).toBeGreaterThanOrEqual(5);
  for (const f of files) expect(existsSync(path.join(ROOT, 'node_modules', 'lforms', 'dist', 'lforms', f)) ? f : `missing: ${f}`).toBe(f);
});
