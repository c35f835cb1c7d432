/** Loads the scenario corpus from its JSON files (what every test of every feature runs against). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import type { Expectation, Scenario } from './fixtures/scenarios';

export const SCENARIO_DIR = path.join(__dirname, 'fixtures', 'scenarios');

export interface ScenarioFile extends Omit<Scenario, 'bundle'> {
  evaluationDate: string;
  bundle: Bundle;
}
export type { Expectation };

/**
 * The one evaluation date of the corpus: tests that drive scenarios through the service run it on
 * a clock fixed at this date (the service evaluates at its clock's today).
 */
export function corpusDate(scenarios: ScenarioFile[] = loadScenarios()): string {
  const dates = [...new Set(scenarios.map((s) => s.evaluationDate))];
  if (dates.length !== 1) throw new Error(`the corpus has ${dates.length} evaluation dates (${dates.join(', ')}); the service tests expect one`);
  return dates[0];
}

export function loadScenarios(): ScenarioFile[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(SCENARIO_DIR, f), 'utf8')) as ScenarioFile);
}
