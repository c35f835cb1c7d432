#!/usr/bin/env node
// Writes one FHIR R4 ValueSet (compose + expansion) per entry of terminology/valuesets.mjs to valuesets/.
// `--check` compares instead of writing and fails when the committed files are stale.
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VALUE_SETS, SYSTEMS } from '../terminology/valuesets.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = path.join(root, 'terminology', 'sources');
const content = JSON.parse(readFileSync(path.join(root, 'terminology', 'content.json'), 'utf8'));

function readTsv(file) {
  return readFileSync(path.join(sources, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('code\t'))
    .map((l) => l.split('\t'));
}

function vsac364Products(ingredients) {
  const text = readFileSync(path.join(sources, 'vsac_2.16.840.1.113762.1.4.1248.364_immunosuppressive_urology.txt'), 'utf8');
  const seen = new Map();
  for (const m of text.matchAll(/"code": "(\d+)", "display": "([^"]+)"/g)) {
    if (ingredients.some((i) => m[2].toLowerCase().includes(i))) seen.set(m[1], m[2]);
  }
  return [...seen.entries()];
}

function conceptsOf(part) {
  if (part.concepts) return part.concepts;
  if (part.vsac364) return vsac364Products(part.vsac364);
  let rows = readTsv(part.tsv);
  if (part.group) rows = rows.filter((r) => r[2] === part.group);
  if (part.prefixes) rows = rows.filter((r) => part.prefixes.some((p) => r[0].startsWith(p)));
  if (part.exclude) rows = rows.filter((r) => !part.exclude.includes(r[0]));
  return rows.map((r) => [r[0], r[1]]);
}

export function buildValueSets() {
  return VALUE_SETS.map((def) => {
    const bySystem = new Map();
    for (const part of def.include) {
      const system = SYSTEMS[part.system];
      const list = bySystem.get(system) ?? new Map();
      for (const [code, display] of conceptsOf(part)) if (!list.has(code)) list.set(code, display);
      bySystem.set(system, list);
    }
    const include = [...bySystem.entries()].map(([system, list]) => ({
      system,
      concept: [...list.entries()].map(([code, display]) => ({ code, display })),
    }));
    const contains = include.flatMap((inc) => inc.concept.map((c) => ({ system: inc.system, code: c.code, display: c.display })));
    return {
      resourceType: 'ValueSet',
      id: def.id,
      url: `${content.base}/ValueSet/${def.id}`,
      version: content.version,
      name: def.id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(''),
      title: def.title,
      status: 'active',
      experimental: false,
      date: content.valueSetDate,
      publisher: 'Kineret prior authorization service',
      description: `${def.description} Source: ${def.source}.`,
      compose: { include },
      expansion: {
        identifier: `urn:uuid:kineret-pa-${def.id}-${content.version}`.replace(/[^a-z0-9:-]/gi, '-'),
        timestamp: `${content.valueSetDate}T00:00:00Z`,
        total: contains.length,
        contains,
      },
    };
  });
}

function main() {
  const check = process.argv.includes('--check');
  const outDir = path.join(root, 'valuesets');
  mkdirSync(outDir, { recursive: true });
  const stale = [];
  const expected = new Set();
  for (const vs of buildValueSets()) {
    const file = path.join(outDir, `${vs.id}.json`);
    const text = `${JSON.stringify(vs, null, 2)}\n`;
    expected.add(`${vs.id}.json`);
    if (check) {
      let current = '';
      try { current = readFileSync(file, 'utf8'); } catch { /* missing */ }
      if (current !== text) stale.push(path.relative(root, file));
    } else writeFileSync(file, text);
  }
  for (const f of readdirSync(outDir)) if (!expected.has(f)) stale.push(`valuesets/${f} (no definition)`);
  if (stale.length) {
    console.error(`value sets are stale; run npm run valuesets:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  if (!check) console.log(`wrote ${expected.size} value sets to valuesets/`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
