#!/usr/bin/env node
// Compiles every CQL library in cql/ to ELM JSON in build/elm/ with the reference translator
// (@cqframework/cql), against the FHIR 4.0.1 model info that cql-exec-fhir ships.
// Translator errors fail the build with file:line:col; warnings are printed. Skipped when nothing it reads
// changed since its last successful run (scripts/lib/up-to-date.mjs; BUILD_FORCE=1 runs it anyway).
import { readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CqlTranslator,
  LibraryManager,
  ModelManager,
  createLibrarySourceProvider,
  createModelInfoProvider,
  createUcumService,
  stringAsSource,
} from '@cqframework/cql/cql-to-elm';
import { SystemModelInfoProvider } from '@cqframework/cql/cql';
import { checkStamp, writeStamp } from './lib/up-to-date.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cqlDir = process.env.CQL_DIR ? path.resolve(process.env.CQL_DIR) : path.join(root, 'cql');
const outDir = process.env.ELM_OUT ? path.resolve(process.env.ELM_OUT) : path.join(root, 'build', 'elm');

const fhirModelInfoFile = require.resolve('cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml');
const fhirModelInfo = readFileSync(fhirModelInfoFile, 'utf8');
const ucum = require('@lhncbc/ucum-lhc').UcumLhcUtils.getInstance();

/** Reads every .cql file and indexes it by its declared library name. */
function readLibraries() {
  const libraries = new Map();
  for (const file of readdirSync(cqlDir).filter((f) => f.endsWith('.cql')).sort()) {
    const text = readFileSync(path.join(cqlDir, file), 'utf8');
    const match = /^\s*library\s+"?([A-Za-z0-9_]+)"?(?:\s+version\s+'([^']+)')?/m.exec(text);
    if (!match) {
      console.error(`${path.relative(process.cwd(), path.join(cqlDir, file))}:1:1 error: no library declaration`);
      process.exitCode = 1;
      continue;
    }
    libraries.set(match[1], { file, text, name: match[1], version: match[2] ?? null });
  }
  return libraries;
}

function newLibraryManager(libraries) {
  const modelManager = new ModelManager();
  modelManager.modelInfoLoader.registerModelInfoProvider(new SystemModelInfoProvider());
  modelManager.modelInfoLoader.registerModelInfoProvider(
    createModelInfoProvider((id, _system, version) =>
      id === 'FHIR' && (!version || version === '4.0.1') ? stringAsSource(fhirModelInfo) : null,
    ),
  );
  const ucumService = createUcumService(
    (value, from, to) => {
      const result = ucum.convertUnitTo(from, Number(value), to);
      if (result.status !== 'succeeded') throw new Error(`cannot convert ${from} to ${to}`);
      return String(result.toVal);
    },
    (unit) => {
      const result = ucum.validateUnitString(unit);
      return result.status === 'valid' ? null : (result.msg ?? []).join('; ') || `invalid unit ${unit}`;
    },
    () => {
      throw new Error('UCUM multiplication is not supported at compile time');
    },
    () => {
      throw new Error('UCUM division is not supported at compile time');
    },
  );
  const libraryManager = new LibraryManager(modelManager, undefined, undefined, ucumService);
  libraryManager.librarySourceLoader.registerProvider(
    createLibrarySourceProvider((id) => {
      const lib = libraries.get(id);
      return lib ? stringAsSource(lib.text) : null;
    }),
  );
  return libraryManager;
}

/**
 * The translator's TrackBack is a Kotlin object with mangled property names; its toString()
 * is stable: TrackBack{library='...', startLine=4, startChar=3, endLine=4, endChar=9}.
 */
function describe(exception, file, libraries) {
  const text = exception.locator ? String(exception.locator) : '';
  const line = /startLine=(\d+)/.exec(text)?.[1] ?? '1';
  const col = /startChar=(\d+)/.exec(text)?.[1] ?? '1';
  // An error inside an included library names that library's file, not the includer's: the TrackBack holds the
  // library's identifier (an object with an `id`) under a mangled property name.
  const identifier = Object.values(exception.locator ?? {}).find((v) => v && typeof v === 'object' && typeof v.id === 'string');
  const where = (identifier && libraries.get(identifier.id)?.file) || file.file;
  return `${path.relative(process.cwd(), path.join(cqlDir, where))}:${line}:${col}`;
}

/**
 * The translator (Kotlin/JS) writes "kotlin-logging: initializing... active logger factory: ..." to stdout
 * the first time it logs, and the switch that turns that off is not exported: the line (and the newline
 * written after it) are dropped, everything else passes.
 */
function withoutKotlinLoggingBanner(run) {
  const write = process.stdout.write;
  let dropNewline = false;
  process.stdout.write = function (chunk, ...rest) {
    if (typeof chunk === 'string' && chunk.startsWith('kotlin-logging: initializing')) {
      dropNewline = !chunk.endsWith('\n');
      return true;
    }
    if (dropNewline && chunk === '\n') {
      dropNewline = false;
      return true;
    }
    dropNewline = false;
    return write.call(this, chunk, ...rest);
  };
  try {
    return run();
  } finally {
    process.stdout.write = write;
  }
}

const stampFile = `${outDir}.stamp.json`;
const packageFile = (name) => path.join(root, 'node_modules', name, 'package.json');

function main() {
  const libraries = readLibraries();
  const inputs = [
    ...[...libraries.values()].map((l) => path.join(cqlDir, l.file)),
    fhirModelInfoFile,
    fileURLToPath(import.meta.url),
    packageFile('@cqframework/cql'),
    packageFile('@lhncbc/ucum-lhc'),
  ];
  const key = { step: 'cql', cqlDir: path.relative(root, cqlDir), outDir: path.relative(root, outDir), node: process.version };
  const rel = path.relative(process.cwd(), outDir);
  if (process.exitCode !== 1 && checkStamp(stampFile, key).fresh) {
    console.log(`cql: up to date (${libraries.size} libraries in ${rel}/)`);
    return;
  }
  rmSync(stampFile, { force: true });
  mkdirSync(outDir, { recursive: true });
  let failed = process.exitCode === 1;
  // One library manager for the whole set: an included library is translated once and reused.
  const libraryManager = newLibraryManager(libraries);
  // An error in a library is reported by every library that includes it: print each once.
  const printed = new Set();
  const once = (line, print) => {
    if (!printed.has(line)) print(line);
    printed.add(line);
  };
  const outputs = [];
  for (const lib of libraries.values()) {
    const translator = withoutKotlinLoggingBanner(() => CqlTranslator.fromText(lib.text, libraryManager));
    const errors = translator.errors.asJsReadonlyArrayView();
    const warnings = translator.warnings.asJsReadonlyArrayView();
    for (const w of warnings) once(`${describe(w, lib, libraries)} warning: ${w.message}`, console.warn);
    if (errors.length > 0) {
      for (const e of errors) once(`${describe(e, lib, libraries)} error: ${e.message}`, console.error);
      failed = true;
      continue;
    }
    const elm = JSON.parse(withoutKotlinLoggingBanner(() => translator.toJson()));
    const out = path.join(outDir, `${lib.name}.json`);
    writeFileSync(out, JSON.stringify(elm));
    outputs.push(out);
  }
  if (failed) {
    console.error('CQL translation failed');
    process.exit(1);
  }
  writeStamp(stampFile, key, inputs, outputs);
  console.log(`cql: compiled ${libraries.size} CQL libraries to ${rel}/`);
}

main();
