/**
 * Builds the browser pages: the SMART DTR app (web/dtr), the sandbox EHR page (web/sandbox) and the
 * reviewer workbench (web/review), bundled with esbuild from npm packages only (no CDN), into
 * dist/web/. Type-checking is done by `tsc -p web/tsconfig.json` in `npm run build`; esbuild only bundles. Skipped when nothing it read
 * (esbuild's metafile lists every bundled file) changed since its last successful run
 * (scripts/lib/up-to-date.mjs; BUILD_FORCE=1 runs it anyway).
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { checkStamp, filesUnder, writeStamp } from './lib/up-to-date.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// WEB_OUT: another output folder (the build's tests use one).
const out = process.env.WEB_OUT ? path.resolve(process.env.WEB_OUT) : path.join(root, 'dist', 'web');
const shim = (name) => path.join(root, 'web', 'shims', `${name}.ts`);

/**
 * cql-exec-fhir and xml2js were written for Node: the model info is parsed from a string (fs is
 * never read), xml2js needs an event emitter and setImmediate. Small shims stand in for them, and
 * the model infos of FHIR versions the app does not use (1.0.2, 3.0.0, 4.0.0: about 1.7 MB) are left out.
 */
const browserShims = {
  name: 'browser-shims',
  setup(b) {
    b.onResolve({ filter: /^(fs|timers)$/ }, (args) => ({ path: shim(args.path === 'fs' ? 'empty' : args.path) }));
    // require('events') is the EventEmitter class itself in Node, and xml2js extends it as such.
    b.onResolve({ filter: /^events$/ }, () => ({ path: 'events', namespace: 'events-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'events-shim' }, () => ({
      contents: `module.exports = require(${JSON.stringify(shim('events'))}).EventEmitter;`, loader: 'js', resolveDir: root,
    }));
    b.onResolve({ filter: /fhir-modelinfo-(1\.0\.2|3\.0\.0|4\.0\.0)\.xml\.js$/ }, () => ({ path: 'unused-modelinfo', namespace: 'empty-string' }));
    b.onLoad({ filter: /.*/, namespace: 'empty-string' }, () => ({ contents: 'module.exports = "";', loader: 'js' }));
  },
};

/** Copies the pages and styles of a folder; returns the files copied. */
function copyStatic(from, to) {
  mkdirSync(to, { recursive: true });
  const copied = readdirSync(from).filter((f) => /\.(html|css|svg)$/.test(f)).map((f) => path.join(from, f));
  for (const f of copied) copyFileSync(f, path.join(to, path.basename(f)));
  return copied;
}

const stampFile = `${out}.stamp.json`;
const esbuildVersion = JSON.parse(readFileSync(path.join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
const key = { step: 'web', out: path.relative(root, out), esbuild: esbuildVersion, node: process.version };
if (checkStamp(stampFile, key).fresh) {
  console.log(`web: up to date (${path.relative(process.cwd(), out)})`);
  process.exit(0);
}

const started = Date.now();
// A clean output folder: no stale bundle is ever served.
rmSync(stampFile, { force: true });
rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: {
    'dtr/launch': path.join(root, 'web', 'dtr', 'launch.ts'),
    'dtr/app': path.join(root, 'web', 'dtr', 'main.ts'),
    'sandbox/app': path.join(root, 'web', 'sandbox', 'main.ts'),
    'review/app': path.join(root, 'web', 'review', 'main.ts'),
  },
  outdir: out,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  // FHIRCLIENT_PURE: fhirclient's build for current browsers, without its fetch and AbortController
  // polyfills. It uses the browser's own WebCrypto (globalThis.crypto); its fallback package,
  // isomorphic-webcrypto, is replaced by an empty one in package.json "overrides".
  define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"', FHIRCLIENT_PURE: 'true' },
  plugins: [browserShims],
  logLevel: 'warning',
  absWorkingDir: root,
  metafile: true,
});
const pages = [
  ...copyStatic(path.join(root, 'web', 'dtr'), path.join(out, 'dtr')),
  ...copyStatic(path.join(root, 'web', 'sandbox'), path.join(out, 'sandbox')),
  ...copyStatic(path.join(root, 'web', 'review'), path.join(out, 'review')),
];
// Inputs in esbuild's virtual namespaces ("events-shim:events") are not files; the files they load are listed too.
const bundled = Object.keys(result.metafile.inputs).filter((f) => !/^[a-z-]+:/.test(f)).map((f) => path.join(root, f));
// esbuild also reads the tsconfig files nearest to the sources it bundles.
const configs = [path.join(root, 'tsconfig.json'), path.join(root, 'web', 'tsconfig.json')];
writeStamp(stampFile, key, [...bundled, ...pages, ...configs, fileURLToPath(import.meta.url)], filesUnder(out));
console.log(`web: built ${path.relative(process.cwd(), out)} (DTR app, sandbox page, reviewer workbench) in ${Date.now() - started} ms`);
