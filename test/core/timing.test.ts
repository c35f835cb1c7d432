/** Per-definition timing (EvaluateOptions.timing): off by default, same results when on, figures per evaluation. */
import { KineretEngine, loadContent } from '../../src/core/engine';
import { loadScenarios } from '../corpus';
import { canonicalJson } from '../support/cql-canonical';

const engine = new KineretEngine(loadContent());
const scenario = loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;
const options = { evaluationDate: scenario.evaluationDate, answers: scenario.answers };

describe('CQL timing', () => {
  it('is off by default', async () => {
    expect((await engine.evaluateRaw(scenario.bundle, options)).timings).toBeUndefined();
  });

  it('leaves every result as it was and times definitions and functions', async () => {
    const plain = await engine.evaluateRaw(scenario.bundle, options);
    const timed = await engine.evaluateRaw(scenario.bundle, { ...options, timing: true });
    for (const library of Object.keys(plain.results)) {
      for (const name of Object.keys(plain.results[library])) {
        expect([library, name, canonicalJson(timed.results[library][name])]).toEqual([library, name, canonicalJson(plain.results[library][name])]);
      }
    }
    const timings = timed.timings ?? [];
    const byName = new Map(timings.map((t) => [t.name, t]));
    expect(byName.get('KineretPA.Decision')).toMatchObject({ kind: 'definition' });
    // Definitions of included libraries are timed too, each computed once however many libraries need it.
    expect(byName.get('KineretRequest.Requested Order')).toMatchObject({ kind: 'definition', calls: 1 });
    expect(timings.some((t) => t.kind === 'function' && t.name.startsWith('FHIRHelpers.ToConcept('))).toBe(true);
    for (const t of timings) {
      expect(t.calls).toBeGreaterThan(0);
      expect(t.selfMs).toBeGreaterThanOrEqual(-0.001);
      expect(t.selfMs).toBeLessThanOrEqual(t.totalMs + 0.001);
    }
    // Sorted by self time, slowest first.
    expect(timings.map((t) => t.selfMs)).toEqual([...timings.map((t) => t.selfMs)].sort((a, b) => b - a));
  });

  it('nests: self times add up to no more than the evaluation took (a List of criteria is not charged to each element)', async () => {
    const started = performance.now();
    const { timings = [] } = await engine.evaluateRaw(scenario.bundle, { ...options, timing: true });
    const wall = performance.now() - started;
    const self = timings.reduce((sum, t) => sum + t.selfMs, 0);
    expect(self).toBeLessThanOrEqual(wall + 1);
  });

  it('keeps the figures of concurrent evaluations apart', async () => {
    const calls = async () => new Map(((await engine.evaluateRaw(scenario.bundle, { ...options, timing: true })).timings ?? []).map((t) => [t.name, t.calls]));
    const alone = await calls();
    const [a, b] = await Promise.all([calls(), calls()]);
    expect(a).toEqual(alone);
    expect(b).toEqual(alone);
  });
});
