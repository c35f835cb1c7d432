/**
 * Runs only inside scripts/test-clock-ahead.mjs (npm test runs that script after the suite): proves
 * that the clock of the Jest process running these tests, a worker included, is really years ahead.
 */
const realNow = Number(process.env.CLOCK_AHEAD_REAL_NOW);
const years = Number(process.env.CLOCK_AHEAD_YEARS);
const run = Number.isFinite(realNow) && Number.isFinite(years) ? test : test.skip;

run('the system clock of this Jest process is years ahead (faketime)', () => {
  const ahead = (Date.now() - realNow) / (365.25 * 86_400_000);
  expect(Math.round(ahead * 10) / 10).toBeGreaterThanOrEqual(years - 0.1);
  expect(new Date().getUTCFullYear()).toBeGreaterThanOrEqual(new Date(realNow).getUTCFullYear() + years);
  // A Jest worker, not only the parent: the preload reaches every process of the run.
  expect({ worker: typeof process.send === 'function', preload: process.env.LD_PRELOAD ?? '' }).toEqual({ worker: true, preload: expect.stringContaining('faketime') });
});
