/**
 * The library executor (src/core/cql-data.ts executeLibraries): one context per library per evaluation,
 * whichever library needs a definition first, so results do not depend on which library runs first, and a
 * parameter given as null stays null inside queries and functions of included libraries.
 */
import { KineretEngine, loadContent } from '../../src/core/engine';
import { loadScenarios } from '../corpus';
import { canonicalJson } from '../support/cql-canonical';

const engine = new KineretEngine(loadContent());
const scenarios = loadScenarios();

describe('library executor', () => {
  it.each(['ra-mtx-failure-approved', 'continuation-adherent-approved', 'kineret-order-via-contained-medication'])(
    '%s: the rule gives the same values whether it runs alone or after the libraries it includes',
    async (name) => {
      const s = scenarios.find((x) => x.name === name)!;
      const options = { evaluationDate: s.evaluationDate, answers: s.answers, ...s.options };
      const alone = await engine.evaluateRaw(s.bundle, options, ['KineretPA']);
      const after = await engine.evaluateRaw(s.bundle, options, ['KineretRequest', 'KineretMedications', 'KineretPA']);
      expect(canonicalJson(alone.results.KineretPA)).toBe(canonicalJson(after.results.KineretPA));
      // "Requested Order" runs first inside a query of "Has Kineret History" when the rule runs alone; with the
      // "Order Id" parameter given as null it must still find the order.
      expect(alone.results.KineretPA['Order Reference']).toBe('MedicationRequest/kineret-order');
    },
  );

  it('evaluates only the libraries asked for, keyed by library name', async () => {
    const s = scenarios[0];
    const raw = await engine.evaluateRaw(s.bundle, { evaluationDate: s.evaluationDate }, ['KineretProduct']);
    expect(Object.keys(raw.results)).toEqual(['KineretProduct']);
    expect(Object.keys(raw.results.KineretProduct)).toEqual(expect.arrayContaining(['Kineret Orders']));
  });
});
