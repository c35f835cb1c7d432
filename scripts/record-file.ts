/** Reading a record file for the command-line tools: a plain patient Bundle or a corpus scenario file. */
import { readFileSync } from 'node:fs';
import type { Bundle } from 'fhir/r4';
import type { Answer } from '../src/core/types';

/** The parts of a corpus scenario file (test/fixtures/scenarios/*.json) the tools read. */
export interface ScenarioLike {
  resourceType?: string;
  bundle?: Bundle;
  evaluationDate?: string;
  options?: { nonPreferred?: boolean };
  answers?: Answer[];
}

export function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The record, evaluation date, plan options and scripted answers a file gives (a plain Bundle gives only the record). */
export function readRecord(file: string): { bundle: Bundle; date?: string; nonPreferred?: boolean; answers?: Answer[] } {
  const input = readJson(file) as ScenarioLike;
  if (input?.resourceType === 'Bundle') return { bundle: input as Bundle };
  if (input?.bundle?.resourceType === 'Bundle') {
    return { bundle: input.bundle, date: input.evaluationDate, nonPreferred: input.options?.nonPreferred, answers: input.answers };
  }
  throw new Error(`${file} is neither a FHIR Bundle nor a scenario file with a bundle`);
}
