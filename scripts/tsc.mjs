#!/usr/bin/env node
/**
 * `tsc -p <tsconfig>`, skipped when nothing it read changed since its last successful run
 * (scripts/lib/up-to-date.mjs). The inputs are the files tsc itself lists (--listFiles: sources, JSON
 * modules, the .d.ts files of TypeScript's libs and of node_modules) and the tsconfig files; the outputs are
 * the files it reports writing (--listEmittedFiles). Diagnostics are printed as tsc prints them.
 *
 *   node scripts/tsc.mjs -p tsconfig.build.json     (BUILD_FORCE=1 or --force: always run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkStamp, ROOT, writeStamp } from './lib/up-to-date.mjs';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2).filter((a) => a !== '--force');
const project = args[args.indexOf('-p') + 1];
if (!args.includes('-p') || !project) {
  console.error('usage: node scripts/tsc.mjs -p <tsconfig.json> [tsc options]');
  process.exit(2);
}
const tsc = require.resolve('typescript/bin/tsc');
const typescriptVersion = JSON.parse(readFileSync(path.join(path.dirname(tsc), '..', 'package.json'), 'utf8')).version;

/** The tsconfig and every file it extends (relative paths only; a package's tsconfig is under node_modules). */
function configChain(file) {
  const chain = [];
  for (let f = path.resolve(ROOT, file); f && !chain.includes(f); ) {
    chain.push(f);
    const ext = JSON.parse(readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '')).extends;
    f = typeof ext === 'string' && ext.startsWith('.') ? path.resolve(path.dirname(f), ext.endsWith('.json') ? ext : `${ext}.json`) : null;
  }
  return chain;
}

const name = path.relative(ROOT, path.resolve(ROOT, project)).replace(/[\\/]/g, '_').replace(/\.json$/, '');
const stampFile = path.join(ROOT, 'build', 'stamps', `tsc-${name}.json`);
const key = { step: 'tsc', args, typescript: typescriptVersion, node: process.version };
const label = `tsc -p ${project}`;

if (checkStamp(stampFile, key).fresh) {
  console.log(`${label}: up to date`);
  process.exit(0);
}
rmSync(stampFile, { force: true });
const started = Date.now();
const run = spawnSync(process.execPath, [tsc, ...args, '--listFiles', '--listEmittedFiles'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const inputs = [];
const outputs = [];
const other = [];
for (const line of run.stdout.split('\n')) {
  if (line.startsWith('TSFILE: ')) outputs.push(line.slice('TSFILE: '.length));
  else if (path.isAbsolute(line) && existsSync(line)) inputs.push(line);
  else if (line.trim()) other.push(line);
}
if (other.length) console.log(other.join('\n'));
if (run.stderr) process.stderr.write(run.stderr);
if (run.status !== 0) process.exit(run.status ?? 1);
writeStamp(stampFile, key, [...inputs, ...configChain(project), fileURLToPath(import.meta.url)], outputs);
console.log(`${label}: ${outputs.length ? `compiled ${outputs.length} files` : 'type-checked'} in ${Date.now() - started} ms`);
