import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValueSet } from 'fhir/r4';
import { loadContent } from '../../src/core/engine';
import { SYSTEMS } from '../../src/constants';
import { ELM_DIR, ROOT } from '../../src/paths';

const { valueSets } = loadContent();

/** LOINC check digit (mod 10, as published by Regenstrief). */
function loincValid(code: string): boolean {
  const m = /^(\d{1,7})-(\d)$/.exec(code);
  if (!m) return false;
  const digits = m[1].padStart(7, '0').split('').map(Number).reverse();
  let sum = 0;
  digits.forEach((d, i) => {
    if (i % 2 === 0) {
      const x = d * 2;
      sum += Math.floor(x / 10) + (x % 10);
    } else sum += d;
  });
  return (10 - (sum % 10)) % 10 === Number(m[2]);
}

/** SNOMED CT identifiers carry a Verhoeff check digit. */
function verhoeffValid(code: string): boolean {
  const d = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]];
  const p = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]];
  let c = 0;
  code.split('').reverse().map(Number).forEach((n, i) => { c = d[c][p[i % 8][n]]; });
  return c === 0;
}

const wellFormed: Record<string, (code: string) => boolean> = {
  [SYSTEMS.rxnorm]: (c) => /^\d{1,8}$/.test(c),
  [SYSTEMS.ndc]: (c) => /^(\d{4,5}-\d{3,4}-\d{1,2}|\d{11})$/.test(c),
  [SYSTEMS.icd10cm]: (c) => /^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/.test(c),
  [SYSTEMS.snomed]: (c) => /^\d{6,18}$/.test(c) && verhoeffValid(c),
  [SYSTEMS.loinc]: (c) => (/^LA\d+-\d$/.test(c) ? true : loincValid(c)),
  [SYSTEMS.nucc]: (c) => /^[0-9]{3}[0-9A-Z]{6}X$/.test(c),
  [SYSTEMS.hgnc]: (c) => /^HGNC:\d+$/.test(c),
  [SYSTEMS.hgncLegacy]: (c) => /^HGNC:\d+$/.test(c),
};

describe('value sets', () => {
  it('are up to date with terminology/valuesets.mjs', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-valuesets.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every value set the CQL references exists and is expanded', () => {
    const elm = JSON.parse(readFileSync(path.join(ELM_DIR, 'KineretTerminology.json'), 'utf8'));
    const referenced: string[] = elm.library.valueSets.def.map((d: { id: string }) => d.id);
    expect(referenced.length).toBeGreaterThan(20);
    const byUrl = new Map(valueSets.map((vs) => [vs.url, vs] as const));
    for (const url of referenced) {
      const vs = byUrl.get(url) as ValueSet;
      expect({ url, found: vs?.url }).toEqual({ url, found: url });
      expect(vs.expansion?.contains?.length).toBeGreaterThan(0);
      expect(vs.expansion?.total).toBe(vs.expansion?.contains?.length);
    }
  });

  it('codes are well-formed for their system, and the expansion equals the compose', () => {
    for (const vs of valueSets) {
      const composed = (vs.compose?.include ?? []).flatMap((inc) => (inc.concept ?? []).map((c) => `${inc.system}|${c.code}`));
      const expanded = (vs.expansion?.contains ?? []).map((c) => `${c.system}|${c.code}`);
      expect(expanded.sort()).toEqual(composed.sort());
      for (const c of vs.expansion?.contains ?? []) {
        const check = wellFormed[c.system ?? ''];
        expect({ vs: vs.id, system: c.system, code: c.code, known: Boolean(check) }).toEqual({ vs: vs.id, system: c.system, code: c.code, known: true });
        expect({ vs: vs.id, code: c.code, ok: check(c.code!) }).toEqual({ vs: vs.id, code: c.code, ok: true });
      }
    }
  });

  it('checks digits: a mistyped LOINC or SNOMED code is caught', () => {
    expect(loincValid('29463-7')).toBe(true);
    expect(loincValid('29463-8')).toBe(false);
    expect(verhoeffValid('34206005')).toBe(true);
    expect(verhoeffValid('34206006')).toBe(false);
  });
});
