import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CQL_DIR, ELM_DIR, ROOT } from '../../src/paths';

function build(cqlDir: string, outDir: string) {
  return spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-cql.mjs')], {
    env: { ...process.env, CQL_DIR: cqlDir, ELM_OUT: outDir },
    cwd: ROOT,
    encoding: 'utf8',
  });
}

describe('CQL build', () => {
  it('fails on a translation error and names file:line:col', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cql-'));
    copyFileSync(path.join(CQL_DIR, 'FHIRHelpers.cql'), path.join(dir, 'FHIRHelpers.cql'));
    writeFileSync(
      path.join(dir, 'Broken.cql'),
      "library Broken version '1'\nusing FHIR version '4.0.1'\ninclude FHIRHelpers version '4.0.1'\ncontext Patient\ndefine X:\n  1 + 'one'\n",
    );
    const result = build(dir, path.join(dir, 'out'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Broken\.cql:6:\d+ error: Could not resolve call to operator Add/);
  }, 60_000);

  it('build output carries the library identity and its includes (ELM is generated, never committed)', () => {
    const elm = JSON.parse(readFileSync(path.join(ELM_DIR, 'KineretPA.json'), 'utf8'));
    expect(elm.library.identifier).toEqual({ id: 'KineretPA', version: '1.0.0' });
    expect(elm.library.includes.def.map((d: { path: string }) => d.path)).toEqual([
      'FHIRHelpers', 'KineretRequest', 'KineretAllIndications', 'KineretDosing', 'KineretRA', 'KineretCAPS', 'KineretJIA', 'KineretDIRA',
      'KineretMISC', 'KineretContinuation',
    ]);
  });

  it('declares every code system, value set and code once, in KineretTerminology', () => {
    const declaring = readdirSync(ELM_DIR).filter((f) => f.endsWith('.json')).filter((f) => {
      const lib = JSON.parse(readFileSync(path.join(ELM_DIR, f), 'utf8')).library;
      return lib.valueSets?.def?.length || lib.codes?.def?.length || lib.codeSystems?.def?.length;
    });
    expect(declaring).toEqual(['KineretTerminology.json']);
  });
});
