import { existsSync } from 'node:fs';
import path from 'node:path';

/** The project root: the nearest folder above this module that holds package.json (works from src/ and dist/). */
function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${start}`);
    dir = parent;
  }
  return dir;
}

export const ROOT = findRoot(__dirname);
export const ELM_DIR = path.join(ROOT, 'build', 'elm');
export const CQL_DIR = path.join(ROOT, 'cql');
export const VALUESET_DIR = path.join(ROOT, 'valuesets');
export const QUESTIONNAIRE_DIR = path.join(ROOT, 'questionnaires');
/** The scenario corpus, read as data by the sandbox EHR (no test code is loaded). */
export const SCENARIO_DIR = path.join(ROOT, 'test', 'fixtures', 'scenarios');
/** Browser bundles and pages built by scripts/build-web.mjs (the DTR app and the sandbox EHR page). */
export const WEB_DIST_DIR = path.join(ROOT, 'dist', 'web');
/** FHIR R4 element shapes distilled from the StructureDefinitions by scripts/build-fhir-shapes.mjs. */
export const FHIR_SHAPES_FILE = path.join(ROOT, 'build', 'fhir', 'r4-shapes.json');
