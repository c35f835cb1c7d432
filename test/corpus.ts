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

export function loadScenarios(): ScenarioFile[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(SCENARIO_DIR, f), 'utf8')) as ScenarioFile);
}
