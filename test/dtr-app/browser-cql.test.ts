/**
 * The DTR app evaluates the payer's CQL itself, from the package alone (ELM in the Libraries,
 * expanded ValueSets), and feeds the same prepopulation core as the server. For scenarios of every
 * indication, the app's population must equal the server's, answer for answer, and the evidence
 * shown beside an answer must be the criterion's.
 */
import { readdirSync } from 'node:fs';
import type { Bundle, Parameters, QuestionnaireResponse } from 'fhir/r4';
import { CQL_DIR } from '../../src/paths';
import { questionnairePackage } from '../../src/dtr/operations';
import { populate } from '../../src/dtr/populate';
import { BrowserEvaluator, criteriaOf } from '../../web/dtr/cql';
import { evidenceFor } from '../../web/dtr/evidence';
import { mainLibraryName, readPackage, type QuestionnairePackage } from '../../web/dtr/package';
import { fixedClock } from '../../src/core/clock';
import { corpusDate, loadScenarios, type ScenarioFile } from '../corpus';
import { splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';

jest.setTimeout(60_000);

const SAMPLE = [
  'ra-mtx-failure-approved', 'concurrent-tnf-not-met', 'caps-genetic-only', 'sjia-nsaid-trial-approved', 'dira-il1rn-confirmed',
  'misc-refractory-texas-marketplace-6-months', 'continuation-adherent-approved', 'kineret-order-via-contained-medication',
  'non-preferred-product-alternatives-documented', 'record-missing-data-unknown-not-false',
];

let t: TestApp;
let pkg: QuestionnairePackage;
let evaluator: BrowserEvaluator;
const scenarios = loadScenarios().filter((s) => SAMPLE.includes(s.name));

beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(corpusDate()) });
  const first = splitScenario(scenarios[0]);
  const coverage = first.record.find((r) => r.resourceType === 'Coverage')!;
  const result = await questionnairePackage(
    { resourceType: 'Parameters', parameter: [{ name: 'coverage', resource: coverage }, { name: 'order', resource: first.order }] },
    t.services,
  );
  pkg = readPackage(result.body as Parameters);
  evaluator = new BrowserEvaluator(pkg.libraries, pkg.valueSets, mainLibraryName(pkg.questionnaire)!);
});

afterAll(async () => {
  await t.services.store.close();
});

function answers(qr: QuestionnaireResponse): unknown {
  return JSON.parse(JSON.stringify(qr.item));
}

async function both(s: ScenarioFile) {
  const { patientId, order } = splitScenario(s);
  const context = { patient: `Patient/${patientId}`, coverage: 'Coverage/cov', order: `MedicationRequest/${order.id}` };
  const nonPreferred = s.options?.nonPreferred ?? false;
  const now = '2026-01-01T00:00:00Z';
  const server = await populate({ questionnaire: pkg.questionnaire, context, now, evaluate: () => t.services.engine.evaluateLibraries(s.bundle, { orderId: order.id, evaluationDate: s.evaluationDate, nonPreferred }) });
  let results = {};
  const app = await populate({ questionnaire: pkg.questionnaire, context, now, evaluate: async () => (results = await evaluator.evaluate(s.bundle as Bundle, { orderId: order.id, date: s.evaluationDate, nonPreferred })) });
  return { server, app, results };
}

test('the package carries every library and value set the CQL needs', () => {
  expect(pkg.libraries.map((l) => l.name).sort()).toEqual(readdirSync(CQL_DIR).filter((f) => f.endsWith('.cql')).map((f) => f.replace(/\.cql$/, '')).sort());
  expect(pkg.valueSets.length).toBeGreaterThan(10);
  expect(scenarios).toHaveLength(SAMPLE.length);
});

test.each(SAMPLE)('%s: the browser evaluation populates exactly what the server does', async (name) => {
  const s = scenarios.find((x) => x.name === name)!;
  const { server, app, results } = await both(s);
  expect(answers(app.response)).toEqual(answers(server.response));
  expect(app.populated).toEqual(server.populated);
  expect(app.outcome).toEqual(server.outcome);
  // Evidence shown next to a populated answer is the cited criterion's.
  const criteria = criteriaOf(results, 'KineretPrefill');
  expect(criteria.length).toBeGreaterThan(5);
  const evidence = evidenceFor({ questionnaire: pkg.questionnaire, populated: app.populated, criteria, bundle: s.bundle });
  for (const [linkId, e] of evidence) {
    expect(e.linkId).toBe(linkId);
    for (const c of e.criteria) expect(e.records.map((r) => r.reference)).toEqual(expect.arrayContaining(c.evidence));
  }
});
