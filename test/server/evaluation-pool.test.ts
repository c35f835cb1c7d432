/**
 * The service with evaluation in worker threads (EVAL_WORKERS): requests are served while a large record
 * is evaluated, an evaluation over its time answers "could not be determined in time" (a hook card, a
 * $populate issue, a 503 OperationOutcome for $evaluate), a full queue is refused with 503 and Retry-After
 * (never recorded as an answer), and the same record is not evaluated twice (order-select then order-sign,
 * $questionnaire-package then $populate), while a result is never reused across different inputs (the member's
 * authorizations on file among them). No timed assertions: what finished first, what was answered.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, FhirResource, MedicationRequest, OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';
import request from 'supertest';
import { fixedClock } from '../../src/core/clock';
import type { Card } from '../../src/crd/types';
import { DRUGS, RXNORM } from '../fixtures/builder';
import { corpusDate, loadScenarios } from '../corpus';
import { fullPrefetch, orderSignRequest, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { answer, populateScenario } from '../support/responses';
import { memberRecord, pasBundle } from '../support/pas';
import { CRD } from '../../src/constants';
import { SYNTHETIC_PATIENT_ID, syntheticRecord } from '../../bench/synthetic';

jest.setTimeout(120_000);

const SIGN = '/cds-services/crd-order-sign';
const SELECT = '/cds-services/crd-order-select';
const scenario = loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;
const TIMED_OUT = 'The policy could not be determined in time for this patient\'s record.';

/** An order-sign call for a synthetic member with `size` resources of history (5,000: the largest accepted). */
function largeOrderSign(size: number) {
  const record = syntheticRecord(size);
  const resources = (record.entry ?? []).map((e) => e.resource as FhirResource);
  const order = resources.find((r) => r.id === 'kineret-order') as MedicationRequest;
  return {
    hookInstance: randomUUID(),
    hook: 'order-sign',
    context: { userId: 'Practitioner/dr-rheum', patientId: SYNTHETIC_PATIENT_ID, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] } },
    prefetch: fullPrefetch(resources.filter((r) => r !== order)),
  };
}

/** The same call for methotrexate: nothing to evaluate. */
function otherDrugSign() {
  const req = orderSignRequest(scenario);
  const order = { ...req.context.draftOrders.entry[0].resource, id: 'mtx-order', medicationCodeableConcept: { coding: [{ system: RXNORM, ...DRUGS.methotrexate }] } };
  return { ...req, context: { ...req.context, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] } } };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

const populateBody = (data: Bundle, patientId: string, orderId: string): Parameters => ({
  resourceType: 'Parameters',
  parameter: [
    { name: 'subject', valueReference: { reference: `Patient/${patientId}` } },
    { name: 'coverage', valueReference: { reference: 'Coverage/cov' } },
    { name: 'order', valueReference: { reference: `MedicationRequest/${orderId}` } },
    { name: 'data', resource: data },
  ],
});

describe('a large record in a worker', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ EVAL_WORKERS: '1', EVAL_TIMEOUT_MS: '400' });
  });
  afterAll(async () => {
    await t.services.evaluator.close();
    await t.services.store.close();
  });

  it('/health is answered while a 5,000-resource record is evaluated; the overrun answers "could not be determined in time"', async () => {
    let answered = false;
    const call = largeOrderSign(5000);
    const hook = t.post(SIGN, call).then((res) => {
      answered = true;
      return res;
    });
    await until('the evaluation runs', () => t.services.evaluator.stats().backend.running === 1);
    const health = await request(t.app).get('/health');
    expect(health.status).toBe(200);
    expect(answered).toBe(false);

    const res = await hook;
    expect(res.status).toBe(200);
    const card = res.body.cards[0] as Card;
    expect(card.summary).toBe('Kineret (anakinra) requires prior authorization; coverage could not be determined');
    expect(card.detail).toContain(TIMED_OUT);
    expect(res.body.systemActions ?? []).toEqual([]);
    expect(t.services.evaluator.stats().backend.replaced).toBe(1);
    // Answered, so recorded.
    expect(await t.services.store.findHookCalls(call.hookInstance)).toHaveLength(1);
  });
});

describe('a full evaluation queue', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ EVAL_WORKERS: '1', EVAL_QUEUE_LIMIT: '0', EVAL_TIMEOUT_MS: '30000' });
  });
  afterAll(async () => {
    await t.services.evaluator.close();
    await t.services.store.close();
  });

  it('refuses hooks and DTR operations that need an evaluation with 503 and Retry-After; others are answered', async () => {
    const big = t.post(SIGN, largeOrderSign(5000));
    await until('the evaluation runs', () => t.services.evaluator.stats().backend.running === 1);

    const kineret = orderSignRequest(scenario);
    const refused = await t.post(SIGN, kineret);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body).toEqual({ error: 'busy', message: 'every policy evaluation worker is busy and the queue is full; retry after the number of seconds in Retry-After' });

    const { patientId, order } = splitScenario(scenario);
    const populate = await t.fhirPost('/fhir/Questionnaire/$populate', populateBody(scenario.bundle, patientId, order.id!));
    expect(populate.status).toBe(503);
    expect(Number(populate.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((populate.body as OperationOutcome).issue[0]).toMatchObject({ severity: 'error', code: 'transient' });

    const other = await t.post(SIGN, otherDrugSign());
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ cards: [], systemActions: [] });
    expect((await request(t.app).get('/health')).status).toBe(200);

    expect((await big).status).toBe(200);
    // A refusal is not an answer: nothing recorded for it, and the same call later is evaluated (once the
    // worker is free again: the large record may have overrun the hook's budget and its worker been replaced).
    await until('a worker is free', () => t.services.evaluator.stats().backend.idle === 1);
    expect(await t.services.store.findHookCalls(kineret.hookInstance)).toEqual([]);
    const later = await t.post(SIGN, kineret);
    expect(later.status).toBe(200);
    expect((later.body.cards[0] as Card).summary).toMatch(/Prior authorization required/);
  });
});

describe('no evaluation twice for the same data', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ EVAL_WORKERS: '1' }, { clock: fixedClock(corpusDate()) });
  });
  afterAll(async () => {
    await t.services.evaluator.close();
    await t.services.store.close();
  });

  it('order-select starts the evaluation (same prefetch as order-sign); order-sign for the same order and record reuses it', async () => {
    const sign = orderSignRequest(scenario);
    const select = { ...sign, hookInstance: randomUUID(), hook: 'order-select', context: { ...sign.context, selections: ['MedicationRequest/kineret-order'] } };
    const before = t.services.evaluator.stats().cache;
    expect((await t.post(SELECT, select)).status).toBe(200);
    const signed = await t.post(SIGN, sign);
    expect(signed.status).toBe(200);
    expect((signed.body.cards[0] as Card).detail).toContain('The record suggests');
    // One evaluation: started by order-select, taken by order-sign (still running, or done and cached).
    const after = t.services.evaluator.stats().cache;
    expect(after.prepared - before.prepared).toBe(1);
    expect(after.misses - before.misses).toBe(0);
    expect(after.hits + after.shared - before.hits - before.shared).toBe(1);

    // A changed record is evaluated again.
    const changed = orderSignRequest(scenario);
    (changed.prefetch.patient as { birthDate: string }).birthDate = '1971-01-01';
    expect((await t.post(SIGN, changed)).status).toBe(200);
    expect(t.services.evaluator.stats().cache.misses - before.misses).toBe(1);
  });

  it('$questionnaire-package then $populate for the same record evaluate once; $evaluate with answers is its own evaluation', async () => {
    const { patientId, order, record } = splitScenario(scenario);
    const patient = record.find((r) => r.resourceType === 'Patient')!;
    const coverage = record.find((r) => r.resourceType === 'Coverage')!;
    const others = record.filter((r) => r !== patient && r !== coverage);
    const before = t.services.evaluator.stats().cache;
    const pkg = await t.fhirPost('/fhir/Questionnaire/$questionnaire-package', {
      resourceType: 'Parameters',
      parameter: [{ name: 'coverage', resource: coverage }, { name: 'order', resource: order }, ...[patient, ...others].map((resource) => ({ name: 'referenced', resource }))],
    });
    expect(pkg.status).toBe(200);
    // The record the package evaluated: the Patient, the coverage, the order, then what was referenced.
    const data: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [patient, coverage, order, ...others].map((resource) => ({ resource })) };
    const populated = await t.fhirPost('/fhir/Questionnaire/$populate', populateBody(data, patientId, order.id!));
    expect(populated.status).toBe(200);
    const after = t.services.evaluator.stats().cache;
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(1);
    const fromPackage = (pkg.body as Parameters).parameter![0].resource as Bundle;
    const packaged = fromPackage.entry!.find((e) => e.resource?.resourceType === 'QuestionnaireResponse')!.resource as QuestionnaireResponse;
    const response = (populated.body as Parameters).parameter!.find((p) => p.name === 'response')!.resource as QuestionnaireResponse;
    expect(response.item).toEqual(packaged.item);

    const q = t.services.content.questionnaire;
    const completed = answer(q, await populateScenario(t.services.engine, q, scenario), scenario.answers!);
    const evaluated = await t.fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: completed }, { name: 'data', resource: scenario.bundle }] });
    expect(evaluated.status).toBe(200);
    expect(t.services.evaluator.stats().cache.misses - before.misses).toBe(2);
  });
});

describe('DTR operations over their time', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ EVAL_WORKERS: '1', EVAL_TIMEOUT_MS: '1' }, { clock: fixedClock(corpusDate()) });
  });
  afterAll(async () => {
    await t.services.evaluator.close();
    await t.services.store.close();
  });

  it('$evaluate answers 503 with a timeout OperationOutcome; $populate an unpopulated response saying why', async () => {
    const q = t.services.content.questionnaire;
    const completed = answer(q, await populateScenario(t.services.engine, q, scenario), scenario.answers!);
    const evaluated = await t.fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: completed }, { name: 'data', resource: scenario.bundle }] });
    expect(evaluated.status).toBe(503);
    expect(evaluated.headers['retry-after']).toBeUndefined();
    expect((evaluated.body as OperationOutcome).issue).toEqual([{ severity: 'error', code: 'timeout', diagnostics: `${TIMED_OUT} No determination was made.` }]);

    const { patientId, order } = splitScenario(scenario);
    const populated = await t.fhirPost('/fhir/Questionnaire/$populate', populateBody(scenario.bundle, patientId, order.id!));
    expect(populated.status).toBe(200);
    const issues = ((populated.body as Parameters).parameter!.find((p) => p.name === 'issues')!.resource as OperationOutcome).issue;
    expect(issues).toContainEqual({ severity: 'error', code: 'exception', diagnostics: `the questionnaire's CQL could not be evaluated: ${TIMED_OUT}` });
  });

  it('PAS $submit answers 503 with a timeout OperationOutcome and files nothing: the same request sent again is not a duplicate', async () => {
    t.addDtrClient('pas-ehr', ['system/Claim.c', 'system/ClaimResponse.r']);
    const token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
    const q = t.services.content.questionnaire;
    const completed = answer(q, await populateScenario(t.services.engine, q, scenario), scenario.answers!);
    const bundle = pasBundle(scenario, completed, { identifier: `PA-${randomUUID()}` });
    for (let i = 0; i < 2; i++) {
      const res = await request(t.app).post('/fhir/Claim/$submit').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`).send(JSON.stringify(bundle));
      expect(res.status).toBe(503);
      expect((res.body as OperationOutcome).issue).toEqual([{ severity: 'error', code: 'timeout', diagnostics: `${TIMED_OUT} The request was not filed; send it again.` }]);
    }
    expect(await t.services.pas.queue()).toEqual([]);
    expect(await t.services.pas.recentlyDecided(10)).toEqual([]);
  });
});

describe('authorizations on file are an input of the evaluation, and of its cache key', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ EVAL_WORKERS: '1' }, { clock: fixedClock(`${corpusDate()}T09:30:00Z`) });
    t.addDtrClient('pas-ehr', ['system/Claim.c', 'system/ClaimResponse.r']);
    token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
  });
  afterAll(async () => {
    await t.services.evaluator.close();
    await t.services.store.close();
  });

  /** order-sign for one draft order of the member (the same order id each time), the record as prefetch. */
  const orderSign = () => {
    const record = memberRecord(scenario);
    const original = record.find((r) => r.resourceType === 'MedicationRequest' && r.id === 'kineret-order') as MedicationRequest;
    const order: MedicationRequest = { ...structuredClone(original), id: 'renewal-1', status: 'draft' };
    return t.post(SIGN, {
      hookInstance: randomUUID(),
      hook: 'order-sign',
      context: { userId: 'Practitioner/dr-rheum', patientId: scenario.bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!.id, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] } },
      prefetch: fullPrefetch(record.filter((r) => r !== original)),
    });
  };
  const paNeeded = (body: { systemActions?: { resource: MedicationRequest }[] }) => {
    const ext = body.systemActions![0].resource.extension!.find((e) => e.url === CRD.coverageInformationUrl)!;
    return Object.fromEntries((ext.extension ?? []).map((e) => [e.url, e.valueCode ?? e.valueString])) as Record<string, string | undefined>;
  };

  it('the same order and record after an approval is evaluated again (satisfied by it), not answered from the cache; PAS $submit evaluates through the pool', async () => {
    const before = t.services.evaluator.stats().cache;
    const first = await orderSign();
    expect(first.status).toBe(200);
    expect(paNeeded(first.body)['pa-needed']).toBe('auth-needed');
    const again = await orderSign();
    expect(paNeeded(again.body)['pa-needed']).toBe('auth-needed');
    let now = t.services.evaluator.stats().cache;
    expect([now.misses - before.misses, now.hits - before.hits]).toEqual([1, 1]);

    const q = t.services.content.questionnaire;
    const qr = answer(q, await populateScenario(t.services.engine, q, scenario), scenario.answers ?? []);
    const submitted = await request(t.app).post('/fhir/Claim/$submit').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`)
      .send(JSON.stringify(pasBundle(scenario, qr, { identifier: `PA-${randomUUID()}` })));
    expect(submitted.status).toBe(200);
    const preAuthRef = ((submitted.body as Bundle).entry![0].resource as { preAuthRef?: string }).preAuthRef;
    expect(preAuthRef).toMatch(/^KPA-/);
    now = t.services.evaluator.stats().cache;
    expect(now.misses - before.misses).toBe(2); // the PAS evaluation: the worker's, not this thread's

    const after = await orderSign();
    expect(after.status).toBe(200);
    expect(paNeeded(after.body)).toMatchObject({ 'pa-needed': 'satisfied', 'satisfied-pa-id': preAuthRef });
    now = t.services.evaluator.stats().cache;
    expect([now.misses - before.misses, now.hits - before.hits]).toEqual([3, 1]);
  });
});
