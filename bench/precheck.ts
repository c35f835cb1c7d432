/**
 * The cost of the CRD pre-check "is this a Kineret order?" (src/crd/orders.ts: KineretProduct evaluated over
 * the draft orders), which runs on every order-sign, against a full policy evaluation of the same record in
 * the same process (the baseline).
 *
 *   npx tsx bench/precheck.ts [rounds]
 */
import type { Medication, MedicationRequest } from 'fhir/r4';
import { KineretEngine } from '../src/core/engine';
import { KineretMatcher, referenceLookup } from '../src/crd/orders';
import { loadScenarios } from '../test/corpus';
import { splitScenario } from '../test/hook-requests';
import { fmt, markdownTable, median, ratio } from './stats';

async function time(rounds: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await run(); // warm-up (JIT), not measured
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 300);
  const engine = new KineretEngine();
  const matcher = new KineretMatcher(engine);
  const s = loadScenarios().find((x) => x.name === 'ra-mtx-failure-approved')!;
  const { order, record } = splitScenario(s);
  const lookup = referenceLookup<Medication>(record, 'Medication');
  const other: MedicationRequest = { ...order, id: 'other', medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '6851', display: 'methotrexate' }] } };
  const five = [other, { ...other, id: 'o2' }, { ...other, id: 'o3' }, { ...other, id: 'o4' }, order];
  // The hook's worst case the security tests send: a hundred Kineret draft orders in one order-sign.
  const hundred = Array.from({ length: 100 }, (_, i) => ({ ...order, id: `k-${i}` }));
  const full = await time(Math.max(20, Math.round(rounds / 10)), () => engine.evaluate(s.bundle, { orderId: order.id, evaluationDate: s.evaluationDate }));
  const rows: [string, number][] = [
    ['pre-check, one non-Kineret order', await time(rounds, () => matcher.kineretOrders([other], lookup))],
    ['pre-check, one Kineret order', await time(rounds, () => matcher.kineretOrders([order], lookup))],
    ['pre-check, five draft orders', await time(rounds, () => matcher.kineretOrders(five, lookup))],
    ['pre-check, 100 Kineret draft orders', await time(Math.max(10, Math.round(rounds / 20)), () => matcher.kineretOrders(hundred, lookup))],
  ];
  console.log(markdownTable(['what', 'median ms', 'share of a full evaluation'], [
    ...rows.map(([name, ms]) => [name, fmt(ms), ratio(ms / full)]),
    ['baseline: full policy evaluation of the record', fmt(full), ratio(1)],
  ]));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
