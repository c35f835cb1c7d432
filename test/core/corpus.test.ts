import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KineretEngine } from '../../src/core/engine';
import type { Evaluation } from '../../src/core/types';
import { scenarioFiles } from '../../scripts/write-fixtures';
import { loadScenarios, SCENARIO_DIR, type Expectation } from '../corpus';
import { ROOT } from '../../src/paths';

const engine = new KineretEngine();
const scenarios = loadScenarios();

function check(result: Evaluation, expected: Expectation): void {
  const actual = Object.fromEntries(result.criteria.map((c) => [c.code, c.status]));
  expect({ indication: result.indication, requestType: result.requestType, criteria: actual }).toEqual({
    indication: expected.indication,
    requestType: expected.requestType,
    criteria: expected.criteria,
  });
  expect(result.decision).toBe(expected.decision);
  // Pended with reasons, never denied: a not-met criterion (an off-label indication is referred to the Off-Label
  // policy review), a criterion nothing decides yet, and an unknown plan each give a reason; none means approved.
  const reasons = Object.entries(expected.criteria).flatMap(([code, status]) =>
    status === 'not-met' ? [`${code === 'IND' ? 'off-label' : 'not-met'}:${code}`]
      : status === 'unknown' ? [`${expected.review?.includes(code) ? 'review' : 'missing'}:${code}`] : []);
  if (expected.planUnknown) reasons.unshift('plan-unknown:');
  expect(result.pendReasons.map((r) => `${r.kind}:${r.criterion ?? ''}`).sort()).toEqual(reasons.sort());
  expect(result.decision).toBe(reasons.length ? 'pended' : 'approved');
  for (const r of result.pendReasons) expect(r.text.length).toBeGreaterThan(0);
  if (expected.approvalMonths !== undefined) expect(result.approvalMonths).toBe(expected.approvalMonths);
  if (expected.planUnknown) expect(result.approvalMonths).toBeNull();
  if (expected.coverageReference !== undefined) expect(result.coverageReference).toBe(expected.coverageReference);
  if (expected.texasRuleApplies !== undefined) expect(result.texasRuleApplies).toBe(expected.texasRuleApplies);
  for (const [code, refs] of Object.entries(expected.evidence ?? {})) {
    const criterion = result.criteria.find((c) => c.code === code);
    expect(criterion?.evidence).toEqual(expect.arrayContaining(refs));
  }
  for (const c of result.criteria) {
    expect(c.reason.length).toBeGreaterThan(0);
    if (c.status === 'not-met' && c.source === 'record') expect(c.evidence.length).toBeGreaterThan(0);
  }
}

describe('cql/README.md Interpretations', () => {
  const readme = readFileSync(path.join(ROOT, 'cql', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Interpretations'), readme.indexOf('## Approval duration'));
  const policy = readFileSync(path.join(ROOT, 'policy', 'kineret-anakinra-coverage-guideline.txt'), 'utf8').replace(/\s+/g, ' ');
  const items = section.split(/\n(?=\d+\. )/).slice(1);

  it('quotes the policy text verbatim in every decision', () => {
    expect(items.length).toBeGreaterThanOrEqual(25);
    for (const item of items) {
      const quotes = [...item.matchAll(/“([^”]+)”/g)].map((m) => m[1].replace(/\s+/g, ' '));
      expect({ item: item.slice(0, 60), quotes: quotes.length > 0 }).toEqual({ item: item.slice(0, 60), quotes: true });
      for (const q of quotes) for (const part of q.split('...').map((x) => x.trim()).filter(Boolean)) {
        expect({ part, inPolicy: policy.includes(part) }).toEqual({ part, inPolicy: true });
      }
    }
  });

  it('names corpus scenarios that exist', () => {
    const names = new Set(scenarios.map((s) => s.name));
    const cited = [...section.matchAll(/\*([^*]+)\.\*/g)].flatMap((m) => [...m[1].matchAll(/`([a-z0-9-]+)`/g)].map((x) => x[1]));
    expect(cited.length).toBeGreaterThan(40);
    for (const name of cited) expect({ name, exists: names.has(name) }).toEqual({ name, exists: true });
  });
});

describe('scenario corpus', () => {
  it('has at least 30 scenarios and the JSON files match scenarios.ts', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
    for (const [name, text] of scenarioFiles()) {
      expect(readFileSync(path.join(SCENARIO_DIR, name), 'utf8')).toBe(text);
    }
  });

  describe.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    it('record alone gives the expected result of every criterion', async () => {
      const result = await engine.evaluate(scenario.bundle, { evaluationDate: scenario.evaluationDate, ...scenario.options });
      check(result, scenario.record);
    });
    if (scenario.withAnswers) {
      it('record plus the scripted clinician answers gives the expected decision', async () => {
        const result = await engine.evaluate(scenario.bundle, {
          evaluationDate: scenario.evaluationDate,
          answers: scenario.answers,
          ...scenario.options,
        });
        check(result, scenario.withAnswers!);
      });
    }
  });
});
