#!/usr/bin/env node
// Runs the corpus-driven tests again with the system clock years ahead (Debian's faketime), to prove
// that no result depends on the day the suite runs: the service takes its dates from the request or
// its Clock, the corpus is evaluated at its own date and the sandbox moves its patients to its day.
//
// First checks that libfaketime really moves Node's clock, in this process's children and in Jest's
// workers (test/clock-ahead.test.ts asserts it inside the run). Without faketime: fails in CI
// (CI or KINERET_REQUIRE_FAKETIME set), and says clearly that it skipped anywhere else.
import { spawnSync } from 'node:child_process';

const YEARS = Number(process.env.CLOCK_AHEAD_YEARS ?? 7);
const FILES = [
  'test/clock-ahead.test.ts',
  'test/core/corpus.test.ts',
  'test/core/differential.test.ts',
  'test/crd/clients.test.ts',
  'test/crd/hook.test.ts',
  'test/crd/request.test.ts',
  'test/dtr/dtr.test.ts',
  'test/dtr/request.test.ts',
  'test/dtr-app/browser-cql.test.ts',
  'test/pas/on-file.test.ts',
  'test/pas/review.test.ts',
  'test/pas/submit.test.ts',
  'test/sandbox/dates.test.ts',
  'test/sandbox/sandbox.test.ts',
];
const required = Boolean(process.env.CI || process.env.KINERET_REQUIRE_FAKETIME);

function fail(message) {
  console.error(`\nclock-ahead: FAILED: ${message}\n`);
  process.exit(1);
}

const probe = spawnSync('faketime', ['--version'], { encoding: 'utf8' });
if (probe.error) {
  const message = 'faketime is not installed (Debian: apt-get install faketime), so the corpus-driven tests did not run with the clock ahead';
  if (required) fail(message);
  console.warn(`\nclock-ahead: SKIPPED: ${message}.\n`);
  process.exit(0);
}

const offset = `+${YEARS}y`;
const realNow = Date.now();
const shifted = spawnSync('faketime', ['-f', offset, process.execPath, '-e', 'process.stdout.write(String(Date.now()))'], { encoding: 'utf8' });
const aheadYears = (Number(shifted.stdout) - realNow) / (365.25 * 86_400_000);
if (shifted.status !== 0 || !(Math.abs(aheadYears - YEARS) < 0.1)) {
  fail(`faketime ${offset} did not move Node's clock (child read ${shifted.stdout || shifted.stderr}, ${aheadYears.toFixed(2)} years ahead)`);
}
console.log(`clock-ahead: Node's clock under faketime ${offset}: ${new Date(Number(shifted.stdout)).toISOString()} (${aheadYears.toFixed(2)} years ahead)`);

const jest = spawnSync('faketime', ['-f', offset, process.execPath, 'node_modules/jest/bin/jest.js', '--maxWorkers=2', ...FILES], {
  stdio: 'inherit',
  env: { ...process.env, CLOCK_AHEAD_REAL_NOW: String(realNow), CLOCK_AHEAD_YEARS: String(YEARS) },
});
if (jest.status !== 0) fail(`the corpus-driven tests failed with the clock ${YEARS} years ahead`);
console.log(`clock-ahead: the corpus-driven tests passed with the clock ${YEARS} years ahead`);
