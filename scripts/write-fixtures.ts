/**
 * Writes the scenario corpus (test/fixtures/scenarios.ts) to test/fixtures/scenarios/<name>.json:
 * the patient Bundle plus the machine-readable expected result of every criterion.
 * Run with `npm run fixtures`; a test fails when the JSON files are stale.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EVALUATION_DATE, SCENARIOS } from '../test/fixtures/scenarios';

export const SCENARIO_DIR = path.join(__dirname, '..', 'test', 'fixtures', 'scenarios');

export function scenarioFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const s of SCENARIOS) {
    const { bundle, ...rest } = s;
    files.set(`${s.name}.json`, `${JSON.stringify({ ...rest, evaluationDate: EVALUATION_DATE, bundle }, null, 2)}\n`);
  }
  return files;
}

if (require.main === module) {
  mkdirSync(SCENARIO_DIR, { recursive: true });
  for (const f of readdirSync(SCENARIO_DIR)) rmSync(path.join(SCENARIO_DIR, f));
  for (const [name, text] of scenarioFiles()) writeFileSync(path.join(SCENARIO_DIR, name), text);
  console.log(`wrote ${SCENARIOS.length} scenarios to ${path.relative(process.cwd(), SCENARIO_DIR)}/`);
}
