/**
 * The compiled policy content as loaded from disk: ELM by library name and the expanded value sets. Plain
 * JSON, no engine: the service's main thread reads it (data requirements, DTR content, the Kineret matcher)
 * without loading cql-execution, which only the evaluation workers need.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ValueSet } from 'fhir/r4';
import { MAIN_LIBRARY } from '../constants';
import { ELM_DIR, VALUESET_DIR } from '../paths';

export interface LoadedContent {
  elm: Record<string, unknown>;
  valueSets: ValueSet[];
}

/** Reads the compiled ELM and the expanded value sets from disk. */
export function loadContent(elmDir = ELM_DIR, valueSetDir = VALUESET_DIR): LoadedContent {
  const elm: Record<string, unknown> = {};
  for (const file of readdirSync(elmDir).filter((f) => f.endsWith('.json'))) {
    elm[path.basename(file, '.json')] = JSON.parse(readFileSync(path.join(elmDir, file), 'utf8'));
  }
  if (!elm[MAIN_LIBRARY]) throw new Error(`ELM for ${MAIN_LIBRARY} not found in ${elmDir}: run npm run build`);
  const valueSets = readdirSync(valueSetDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(valueSetDir, f), 'utf8')) as ValueSet);
  return { elm, valueSets };
}
