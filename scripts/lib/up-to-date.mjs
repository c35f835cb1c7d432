/**
 * Content-hash stamps for the build steps (CQL to ELM, tsc, the web bundle), so that a build with nothing
 * changed skips them. After a successful run a step records, in its stamp file:
 *
 * - its key (settings, tool and Node versions: anything besides files that decides the output);
 * - the SHA-256 of every file it read (the inputs, as the tool itself reports them: tsc --listFiles,
 *   esbuild's metafile, the CQL files) plus npm's record of node_modules (node_modules/.package-lock.json);
 * - the names in every folder that holds an input, so that a new or removed file that the tool could
 *   now pick up (a new module, an index.ts, a new .cql) counts as a change;
 * - the SHA-256 of every file it wrote (the outputs), so a deleted or edited output is rebuilt.
 *
 * The next run skips only when all of these are the same. Content, not modification times: a checkout, a
 * copy or a touch changes no hash, and an edit that keeps the mtime still changes one.
 * `BUILD_FORCE=1` (or `--force`) runs every step regardless.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STAMP_VERSION = 1;
/** Always an input: a changed install (npm ci, npm install) changes this file. */
const NPM_TREE = path.join(ROOT, 'node_modules', '.package-lock.json');
/** This module: a change to how freshness is decided rebuilds everything once. */
const SELF = fileURLToPath(import.meta.url);

export const forced = () => process.env.BUILD_FORCE === '1' || process.argv.includes('--force');

function sha256(file) {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null; // missing (or unreadable): recorded as such, so its appearance is a change too
  }
}

/** The names in a folder (the stamp file itself left out, should it sit among the inputs). */
function listing(dir, stampFile) {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => path.join(dir, e.name) !== path.resolve(stampFile))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort().join('\n');
  } catch {
    return null;
  }
}

const rel = (file) => path.relative(ROOT, path.resolve(ROOT, file));
const abs = (file) => path.resolve(ROOT, file);

/**
 * Records a successful run. `inputs` and `outputs` are file paths (absolute, or relative to the project
 * root); missing inputs are recorded as missing.
 */
export function writeStamp(stampFile, key, inputs, outputs) {
  const files = [...new Set([...inputs.map(rel), rel(NPM_TREE), rel(SELF)])].sort();
  const dirs = [...new Set(files.map((f) => path.dirname(f)))].sort();
  const stamp = {
    version: STAMP_VERSION,
    key,
    inputs: Object.fromEntries(files.map((f) => [f, sha256(abs(f))])),
    folders: Object.fromEntries(dirs.map((d) => [d, listing(abs(d), stampFile)])),
    outputs: Object.fromEntries([...new Set(outputs.map(rel))].sort().map((f) => [f, sha256(abs(f))])),
  };
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, `${JSON.stringify(stamp, null, 1)}\n`);
}

/**
 * Whether the step can be skipped: `{ fresh: true }`, or `{ fresh: false, reason }` naming the first
 * difference found (for the build's one line of output).
 */
export function checkStamp(stampFile, key) {
  if (forced()) return { fresh: false, reason: 'forced' };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return { fresh: false, reason: 'no previous build' };
  }
  if (stamp?.version !== STAMP_VERSION || !stamp.inputs || !stamp.outputs || !stamp.folders || JSON.stringify(stamp.key) !== JSON.stringify(key)) return { fresh: false, reason: 'settings changed' };
  for (const [file, hash] of Object.entries(stamp.outputs)) {
    if (hash === null || sha256(abs(file)) !== hash) return { fresh: false, reason: `${file} missing or changed` };
  }
  for (const [file, hash] of Object.entries(stamp.inputs)) {
    if (sha256(abs(file)) !== hash) return { fresh: false, reason: `${file} changed` };
  }
  for (const [dir, names] of Object.entries(stamp.folders)) {
    if (listing(abs(dir), stampFile) !== names) return { fresh: false, reason: `files added or removed in ${dir}/` };
  }
  return { fresh: true };
}

/** Every file under a folder (for outputs written to a folder of their own). */
export function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .filter((f) => statSync(f).isFile());
}
