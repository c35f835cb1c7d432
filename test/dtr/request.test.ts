/**
 * The DTR Request stage: answers checked against the Questionnaire (linkIds, answer types, answer
 * options, required items on a completed response), FHIR read strictly, one patient per call; each
 * refusal with its exact status and OperationOutcome.
 */
import type { Bundle, Coverage, MedicationRequest, Parameters, Questionnaire, QuestionnaireResponse } from 'fhir/r4';
import { fixedClock } from '../../src/core/clock';
import { corpusDate, loadScenarios } from '../corpus';
import { splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { answer, populateScenario, responseItems } from '../support/responses';

const EVALUATE = '/fhir/QuestionnaireResponse/$evaluate';
const scenarios = loadScenarios();
const approvable = scenarios.find((s) => s.name === 'ra-mtx-failure-approved')!;
let t: TestApp;
let q: Questionnaire;
let completed: QuestionnaireResponse;
beforeAll(async () => {
  t = await startTestApp({}, { clock: fixedClock(corpusDate()) });
  q = t.services.content.questionnaire;
  completed = answer(q, await populateScenario(t.services.engine, q, approvable), approvable.answers!);
});
afterAll(async () => {
  await t.services.store.close();
});

const evaluate = (response: unknown, data: unknown = approvable.bundle) =>
  t.fhirPost(EVALUATE, { resourceType: 'Parameters', parameter: [{ name: 'response', resource: response }, { name: 'data', resource: data }] });
const itemOf = (qr: QuestionnaireResponse, linkId: string) => responseItems(qr.item).find((i) => i.linkId === linkId)!;
const at = (linkId: string) => [`QuestionnaireResponse.repeat(item).where(linkId='${linkId}')`];
const issues = (body: { issue: { severity: string; code: string; expression?: string[]; diagnostics?: string }[] }) => body.issue.map((i) => [i.code, i.expression, i.diagnostics]);

test('the completed response of an approvable case is approved (the baseline of the cases below)', async () => {
  expect(completed.status).toBe('completed');
  const res = await evaluate(completed);
  expect(res.status).toBe(200);
  expect((res.body as Parameters).parameter!.find((p) => p.name === 'decision')!.valueCode).toBe('approved');
});

describe('answers checked against the Questionnaire', () => {
  test('valueBoolean "yes" is not FHIR: 422 naming the element and the item', async () => {
    const qr = structuredClone(completed);
    itemOf(qr, 'no-active-infection').answer = [{ valueBoolean: 'yes' as never }];
    const res = await evaluate(qr);
    expect(res.status).toBe(422);
    const [code, expression, diagnostics] = issues(res.body)[0];
    expect(res.body.issue).toHaveLength(1);
    expect(code).toBe('value');
    expect(expression![0]).toMatch(/^Parameters\.parameter\[0\]\.resource\.item\[\d+\]\.item\[\d+\]\.answer\[0\]\.valueBoolean$/);
    expect(diagnostics).toBe(`the body: ${expression![0]} is the string "yes", not a FHIR boolean (item "no-active-infection")`);
  });

  test('a string where a boolean belongs: 422 with the linkId', async () => {
    const qr = structuredClone(completed);
    itemOf(qr, 'no-active-infection').answer = [{ valueString: 'yes' }];
    const res = await evaluate(qr);
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([['value', at('no-active-infection'), 'item "no-active-infection" (boolean) is answered with valueString; it takes valueBoolean']]);
  });

  test('item: "garbage" is refused', async () => {
    const res = await evaluate({ ...completed, item: 'garbage' });
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([['structure', ['Parameters.parameter[0].resource.item'], 'the body: Parameters.parameter[0].resource.item is the string "garbage" where FHIR R4 has a list of item elements']]);
  });

  test('an unknown linkId, an answer outside the options, two answers to a single item: each refused with its linkId', async () => {
    const qr = structuredClone(completed);
    qr.item!.push({ linkId: 'made-up', answer: [{ valueBoolean: true }] });
    itemOf(qr, 'indication').answer = [{ valueCoding: { code: 'GOUT' } }];
    itemOf(qr, 'route-subcutaneous').answer = [{ valueBoolean: true }, { valueBoolean: false }];
    const res = await evaluate(qr);
    expect(res.status).toBe(422);
    const options = q.item!.flatMap((i) => i.item ?? []).find((i) => i.linkId === 'indication')!.answerOption!.map((o) => o.valueCoding!.code).join(', ');
    expect(issues(res.body)).toEqual([
      ['code-invalid', at('indication'), `"GOUT" is not an answer option of item "indication" (${options})`],
      ['structure', at('route-subcutaneous'), 'item "route-subcutaneous" takes one answer, not 2'],
      ['not-found', at('made-up'), `linkId "made-up" is not an item of ${q.url}|${q.version}`],
    ]);
  });

  test('a completed response without a required answer cannot be evaluated (422); in progress it is evaluated as it stands', async () => {
    const qr = structuredClone(completed);
    delete itemOf(qr, 'indication').answer;
    const res = await evaluate(qr);
    expect(res.status).toBe(422);
    const text = q.item!.flatMap((i) => i.item ?? []).find((i) => i.linkId === 'indication')!.text;
    expect(issues(res.body)).toEqual([['required', at('indication'), `item "indication" (${text}) is required on a completed response`]]);
    const partial = await evaluate({ ...qr, status: 'in-progress' });
    expect(partial.status).toBe(200);
    expect((partial.body as Parameters).parameter!.find((p) => p.name === 'decision')!.valueCode).toBe('approved');
  });

  test('a response with another status, or for another questionnaire, is refused', async () => {
    const wrongStatus = await evaluate({ ...completed, status: 'entered-in-error' });
    expect(wrongStatus.status).toBe(422);
    expect(issues(wrongStatus.body)).toEqual([['business-rule', ['QuestionnaireResponse.status'], 'a response with status entered-in-error cannot be evaluated (in-progress, completed or amended)']]);
    const other = await evaluate({ ...completed, questionnaire: 'http://elsewhere.example/Questionnaire/x|1' });
    expect(other.status).toBe(422);
    expect(issues(other.body)).toEqual([['not-found', ['QuestionnaireResponse.questionnaire'], 'the response answers http://elsewhere.example/Questionnaire/x|1, which this service does not serve']]);
  });

  test('an invalid date is a 400', async () => {
    const res = await t.fhirPost(EVALUATE, { resourceType: 'Parameters', parameter: [{ name: 'response', resource: completed }, { name: 'data', resource: approvable.bundle }, { name: 'date', valueString: 'tomorrow' }] });
    expect(res.status).toBe(400);
    expect(issues(res.body)).toEqual([['invalid', undefined, 'parameter "date" must be a date (YYYY-MM-DD); got {"name":"date","valueString":"tomorrow"}']]);
  });
});

describe('one patient per call', () => {
  test("$evaluate: a response whose subject is not the record's Patient is refused", async () => {
    const res = await evaluate({ ...completed, subject: { reference: 'Patient/someone-else' } });
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([
      ['business-rule', ['Patient.id'], 'data.entry[0].resource (Patient/ra-mtx) is Patient/ra-mtx, but the response\'s subject is Patient/someone-else: one request is about one patient'],
      ...(approvable.bundle.entry ?? []).slice(1).filter((e) => (e.resource as { subject?: unknown; beneficiary?: unknown }).subject || (e.resource as { beneficiary?: unknown }).beneficiary).map((e) => {
        const element = (e.resource as { beneficiary?: unknown }).beneficiary ? 'beneficiary' : 'subject';
        const index = approvable.bundle.entry!.indexOf(e);
        return ['business-rule', [`${e.resource!.resourceType}.${element}`], `data.entry[${index}].resource (${e.resource!.resourceType}/${e.resource!.id}) names Patient/ra-mtx as ${element}, but the response's subject is Patient/someone-else: one request is about one patient`];
      }),
    ]);
  });

  test('$evaluate: data with no Patient, or two, is refused', async () => {
    const without: Bundle = { ...approvable.bundle, entry: approvable.bundle.entry!.filter((e) => e.resource!.resourceType !== 'Patient') };
    const none = await evaluate(completed, without);
    expect(none.status).toBe(422);
    expect(issues(none.body)).toEqual([['required', ['Bundle.entry.resource.ofType(Patient)'], 'the data Bundle must hold the one Patient the call is about (Patient/ra-mtx); it holds 0']]);
    const twice: Bundle = { ...approvable.bundle, entry: [...approvable.bundle.entry!, { resource: { resourceType: 'Patient', id: 'ra-mtx-2' } }] };
    const two = await evaluate(completed, twice);
    expect(two.status).toBe(422);
    expect(issues(two.body)[0]).toEqual(['business-rule', ['Bundle.entry.resource.ofType(Patient)'], 'the data Bundle must hold the one Patient the call is about (Patient/ra-mtx); it holds 2']);
  });

  test('$evaluate: the order the response documents, in the record, for another patient is refused', async () => {
    const data = structuredClone(approvable.bundle);
    const order = data.entry!.find((e) => e.resource!.resourceType === 'MedicationRequest' && e.resource!.id === 'kineret-order')!.resource as MedicationRequest;
    order.subject = { reference: 'Patient/someone-else' };
    const res = await evaluate(completed, data);
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([['business-rule', ['MedicationRequest.subject'], `data.entry[${data.entry!.findIndex((e) => e.resource === order)}].resource (MedicationRequest/kineret-order) names Patient/someone-else as subject, but the response's subject is Patient/ra-mtx: one request is about one patient`]]);
  });

  test('$populate: data about another patient than the subject is refused', async () => {
    const res = await t.fhirPost('/fhir/Questionnaire/$populate', { resourceType: 'Parameters', parameter: [
      { name: 'subject', valueReference: { reference: 'Patient/someone-else' } }, { name: 'data', resource: approvable.bundle }] });
    expect(res.status).toBe(422);
    expect(issues(res.body)[0]).toEqual(['business-rule', ['Patient.id'], 'data.entry[0].resource (Patient/ra-mtx) is Patient/ra-mtx, but the subject is Patient/someone-else: one request is about one patient']);
  });

  test('$questionnaire-package: an order for another patient than the coverage\'s beneficiary is refused', async () => {
    const { order, record } = splitScenario(approvable);
    const coverage = record.find((r) => r.resourceType === 'Coverage') as Coverage;
    const res = await t.fhirPost('/fhir/Questionnaire/$questionnaire-package', { resourceType: 'Parameters', parameter: [
      { name: 'coverage', resource: coverage }, { name: 'order', resource: { ...order, subject: { reference: 'Patient/someone-else' } } }] });
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([['business-rule', ['MedicationRequest.subject'], 'order[0] (MedicationRequest/kineret-order) names Patient/someone-else as subject, but the coverage\'s beneficiary is Patient/ra-mtx: one request is about one patient']]);
  });
});

describe('no Coverage in the record', () => {
  // Without an active Coverage the plan is unknown, so the CQL pends (with a plan-unknown reason) and gives no period.
  test('the plan is unknown: never an approval with a made-up duration', async () => {
    const data: Bundle = { ...approvable.bundle, entry: approvable.bundle.entry!.filter((e) => e.resource!.resourceType !== 'Coverage') };
    const res = await evaluate(completed, data);
    expect(res.status).toBe(200);
    const out = res.body as Parameters;
    expect(out.parameter!.find((p) => p.name === 'decision')!.valueCode).toBe('pended');
    expect(out.parameter!.filter((p) => p.name === 'approvalPeriod')).toEqual([]);
    const kinds = out.parameter!.filter((p) => p.name === 'pendReason').map((p) => p.part!.find((x) => x.name === 'kind')!.valueCode);
    expect(kinds).toEqual(['plan-unknown']);
  });
});
