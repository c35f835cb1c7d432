/**
 * Builds the browser pages: the SMART DTR app (web/dtr) and the sandbox EHR page (web/sandbox),
 * bundled with esbuild from npm packages only (no CDN), into dist/web/. Type-checking is done by
 * `tsc -p web/tsconfig.json` in `npm run build`; esbuild only bundles.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'web');
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

function copyStatic(from, to) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (/\.(html|css|svg)$/.test(f)) copyFileSync(path.join(from, f), path.join(to, f));
}

const started = Date.now();
// A clean output folder: no stale bundle is ever served.
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: {
    'dtr/launch': path.join(root, 'web', 'dtr', 'launch.ts'),
    'dtr/app': path.join(root, 'web', 'dtr', 'main.ts'),
    'sandbox/app': path.join(root, 'web', 'sandbox', 'main.ts'),
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
});
copyStatic(path.join(root, 'web', 'dtr'), path.join(out, 'dtr'));
copyStatic(path.join(root, 'web', 'sandbox'), path.join(out, 'sandbox'));
console.log(`web: built dist/web (DTR app, sandbox page) in ${Date.now() - started} ms`);
