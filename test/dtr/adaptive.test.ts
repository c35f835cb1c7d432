/**
 * Adaptive forms: the adaptive package, $next-question step by step, and the completed response
 * through $evaluate, for a scenario of every indication and request type in the corpus. The
 * clinician's answers are the scenario's scripted ones, given only when the form asks for them.
 */
import type { Bundle, Parameters, Questionnaire, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { DTR } from '../../src/constants';
import { fixedClock } from '../../src/core/clock';
import type { Answer } from '../../src/core/types';
import { corpusDate, loadScenarios, type ScenarioFile } from '../corpus';
import { startTestApp, type TestApp } from '../support/app';
import { fhirErrors } from '../support/fhir-validate';
import { adaptiveClient, asked, contained } from '../support/adaptive';
import { items, responseItems } from '../support/responses';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_BASE_URL: 'http://payer.test' }, { clock: fixedClock(corpusDate()) });
});
afterAll(async () => {
  await t.services.store.close();
});

const ADAPTIVE = 'http://payer.test/fhir/Questionnaire/kineret-pa-adaptive';
const scenarios = loadScenarios();
const byName = (name: string) => scenarios.find((s) => s.name === name)!;

const { packageInput, adaptivePackage, answerAsked, next, complete: completeForm } = adaptiveClient(() => t);
/** Runs the adaptive form to completion; every response is checked against the adaptive rules on the way. */
const complete = (s: ScenarioFile, answers: Answer[], data: Bundle | undefined = s.bundle) => completeForm(s, answers, data, checkAdaptiveResponse);

/** SDC sdc-questionnaireresponse-adapt and DTR dtr-questionnaire-adapt, as far as they can be checked here. */
function checkAdaptiveResponse(qr: QuestionnaireResponse): void {
  expect(fhirErrors(qr)).toEqual([]);
  expect(qr.questionnaire).toBe('#adaptive');
  expect(qr.meta?.profile).toContain(DTR.adaptiveQuestionnaireResponseProfile);
  const q = contained(qr);
  expect(q.id).toBe('adaptive');
  expect(q.meta?.profile).toEqual([DTR.adaptiveQuestionnaireProfile]);
  expect(q.derivedFrom).toEqual([`${ADAPTIVE}|1.0.0`]);
  expect(q.url).toBeUndefined();
  expect(q.version).toBeUndefined();
  expect(q.text?.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
  for (const i of items(q.item)) {
    expect(i.enableWhen).toBeUndefined();
    expect(i.enableBehavior).toBeUndefined();
    expect(i.text?.length).toBeGreaterThan(0);
  }
  // The response answers only what was asked.
  const ids = new Set(items(q.item).map((i) => i.linkId));
  for (const i of responseItems(qr.item)) expect(ids.has(i.linkId)).toBe(true);
}

describe('the adaptive Questionnaire and package', () => {
  it('is served beside the standard one: DTR adapt-search, $next-question at the payer base, the CQL libraries and the opening questions', async () => {
    const res = await t.fhirGet('/fhir/Questionnaire/kineret-pa-adaptive');
    expect(res.status).toBe(200);
    const q = res.body as Questionnaire;
    expect(q.url).toBe(ADAPTIVE);
    expect(q.meta?.profile).toEqual([DTR.adaptiveSearchQuestionnaireProfile]);
    expect(q.extension!.find((e) => e.url.endsWith('sdc-questionnaire-questionnaireAdaptive'))).toEqual({ url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive', valueUrl: 'http://payer.test/fhir' });
    expect(q.extension!.find((e) => e.url === DTR.cqfLibrary)!.valueCanonical).toBe(t.services.content.questionnaire.extension!.find((e) => e.url === DTR.cqfLibrary)!.valueCanonical);
    expect(q.derivedFrom).toEqual(['http://payer.test/fhir/Questionnaire/kineret-pa|1.0.0']);
    expect(items(q.item).map((i) => i.linkId)).toEqual(['request', 'request-type', 'indication']);
    expect(fhirErrors(q)).toEqual([]);
  });

  it.each([
    ['by canonical', '/fhir/Questionnaire/$questionnaire-package', ADAPTIVE],
    ['on the Questionnaire instance', '/fhir/Questionnaire/kineret-pa-adaptive/$questionnaire-package', null],
  ])('the package %s: the adaptive Questionnaire first, a response that contains the opening questions, prefilled, the Libraries', async (_n, path, canonical) => {
    const s = byName('ra-mtx-failure-approved');
    const res = await t.fhirPost(path, packageInput(s, canonical));
    expect(res.status).toBe(200);
    const bundle = (res.body as Parameters).parameter!.find((p) => p.name === 'PackageBundle')!.resource as Bundle;
    expect(fhirErrors(res.body)).toEqual([]);
    expect(bundle.entry![0].resource!.id).toBe('kineret-pa-adaptive');
    const qr = bundle.entry!.find((e) => e.resource?.resourceType === 'QuestionnaireResponse')!.resource as QuestionnaireResponse;
    checkAdaptiveResponse(qr);
    expect(qr.status).toBe('in-progress');
    expect(qr.meta?.profile).toEqual([DTR.questionnaireResponseProfile, DTR.adaptiveQuestionnaireResponseProfile]);
    expect(qr.extension!.filter((e) => e.url === DTR.qrContext).map((e) => e.valueReference!.reference)).toEqual(['Coverage/cov', 'MedicationRequest/kineret-order']);
    expect(asked(qr)).toEqual(['request', 'request-type', 'indication']);
    // Prefilled from what the package was given (the order: an initial request).
    const requestType = responseItems(qr.item).find((i) => i.linkId === 'request-type')!;
    expect(requestType.answer![0].valueCoding!.code).toBe('initial');
    expect(requestType.answer![0].extension).toEqual([{ url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'auto' }] }]);
    const libraries = bundle.entry!.filter((e) => e.resource?.resourceType === 'Library').map((e) => e.resource!);
    expect(libraries.length).toBeGreaterThan(1);
  });
});

describe('$next-question', () => {
  const s = byName('concurrent-tnf-not-met');

  it('asks what applies, step by step: the indication\'s criteria for RA, follow-ups as answers call for them, prefilled from the record, then completed', async () => {
    const { qr, steps } = await complete(s, s.answers ?? []);
    // The RA questions, never another indication's; no continuation questions on an initial request.
    const all = steps.flat();
    expect(all).toEqual(expect.arrayContaining(['ra-moderate-severe', 'ra-mtx-max-dose-not-at-goal', 'no-concurrent-biologic', 'prescriber-specialty', 'weight-kg']));
    for (const id of ['caps', 'nlrp3-mutation', 'jia', 'dira', 'misc', 'continuation', 'adherence-85']) expect(all).not.toContain(id);
    expect(steps.length).toBeGreaterThan(3);
    // What the record shows came prefilled (origin auto), and the clinician's answers stayed theirs.
    const route = responseItems(qr.item).find((i) => i.linkId === 'route-subcutaneous')!;
    expect(route.answer![0].valueBoolean).toBe(true);
    expect(route.answer![0].extension![0].extension![0]).toEqual({ url: 'source', valueCode: 'auto' });
  });

  it('a changed answer withdraws the questions that no longer apply and asks the new ones', async () => {
    const { qr } = await adaptivePackage(s);
    const ra = await next(await answerAsked(qr, [], s), s.bundle);
    const afterRa = ra.body as QuestionnaireResponse;
    expect(asked(afterRa)).toContain('ra-moderate-severe');
    const changed = await answerAsked(afterRa, [{ linkId: 'indication', valueCode: 'CAPS', origin: 'override' }]);
    const caps = (await next(changed, s.bundle)).body as QuestionnaireResponse;
    expect(asked(caps)).not.toContain('ra-moderate-severe');
    expect(responseItems(caps.item).map((i) => i.linkId)).not.toContain('ra-moderate-severe');
    expect(asked(caps)).toEqual(expect.arrayContaining(['caps', 'nlrp3-mutation', 'caps-manifestations']));
  });

  it('a bare QuestionnaireResponse (no record): the service knows the answers only, and still completes the form', async () => {
    const { qr } = await complete(s, [
      { linkId: 'request-type', valueCode: 'initial', origin: 'manual' }, { linkId: 'indication', valueCode: 'RA', origin: 'manual' },
      ...(s.answers ?? []),
    ], undefined);
    expect(asked(qr)).toEqual(expect.arrayContaining(['ra', 'all-indications', 'prescriber', 'dosing']));
  });

  it.each([
    ['not an adaptive response (the standard questionnaire)', (qr: QuestionnaireResponse) => ({ ...qr, questionnaire: 'http://payer.test/fhir/Questionnaire/kineret-pa|1.0.0' }), /contained Questionnaire/],
    ['a contained Questionnaire derived from another form', (qr: QuestionnaireResponse) => ({ ...qr, contained: [{ ...contained(qr), derivedFrom: ['http://elsewhere/Questionnaire/x'] }] }), /derives from http:\/\/elsewhere/],
    ['an answer to a question not asked', (qr: QuestionnaireResponse) => ({ ...qr, item: [...qr.item!, { linkId: 'weight-kg', answer: [{ valueDecimal: 70 }] }] }), /"weight-kg", which was not asked/],
    ['an answer of the wrong type', (qr: QuestionnaireResponse) => ({ ...qr, item: [{ linkId: 'request', item: [{ linkId: 'request-type', answer: [{ valueBoolean: true }] }] }] }), /request-type/],
    ['a required question left unanswered', (qr: QuestionnaireResponse) => ({ ...qr, item: [{ linkId: 'request', item: [{ linkId: 'request-type' }, { linkId: 'indication' }] }] }), /is required: answer it before the next questions/],
  ])('%s is a 400 OperationOutcome saying why', async (_n, change, message) => {
    const { qr } = await adaptivePackage(s);
    const res = await next(change(qr) as QuestionnaireResponse);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue.map((i: { diagnostics: string }) => i.diagnostics).join(' ')).toMatch(message);
  });

  it('is also served at [base]/$next-question, and needs a token with Questionnaire read', async () => {
    const { qr } = await adaptivePackage(s);
    expect((await t.fhirPost('/fhir/$next-question', await answerAsked(qr, [{ linkId: 'indication', valueCode: 'RA', origin: 'manual' }]))).status).toBe(200);
    const token = await t.dtrToken('system/QuestionnaireResponse.cr');
    const { default: request } = await import('supertest');
    const refused = await request(t.app).post('/fhir/Questionnaire/$next-question').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`).send(JSON.stringify(qr));
    expect(refused.status).toBe(403);
  });
});

/** One scenario per indication and request type of the corpus (the first with scripted answers where there is one). */
function perIndication(): ScenarioFile[] {
  const groups = new Map<string, ScenarioFile[]>();
  for (const s of scenarios) {
    const e = s.withAnswers ?? s.record;
    // A JIA of unstated subtype is no indication of the form: its required question stays open (see below).
    if (e.indication === 'JIA') continue;
    const key = `${e.indication}/${e.requestType}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((g) => g.find((s) => s.answers?.length) ?? g[0]);
}

describe('the adaptive form completes for every indication, and $evaluate gives what the standard form gives', () => {
  it('a JIA whose subtype nobody gives: the form does not go on without the (required) indication', async () => {
    const s = byName('jia-subtype-unspecified-pended');
    const { qr } = await adaptivePackage(s);
    const res = await next(await answerAsked(qr, s.answers ?? [], s), s.bundle);
    expect(res.status).toBe(400);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toEqual(["QuestionnaireResponse.repeat(item).where(linkId='indication')"]);
  });

  const chosen = perIndication();
  it('covers every indication of the corpus, initial and continuation', () => {
    const keys = chosen.map((s) => `${(s.withAnswers ?? s.record).indication}/${(s.withAnswers ?? s.record).requestType}`);
    expect(keys).toEqual(expect.arrayContaining(['RA/initial', 'CAPS/initial', 'SJIA/initial', 'PJIA/initial', 'DIRA/initial', 'MISC/initial', 'RA/continuation']));
  });

  it.each(chosen.map((s) => [s.name, s] as const))('%s', async (_n, s) => {
    const { qr } = await complete(s, s.withAnswers ? (s.answers ?? []) : []);
    const res = await t.fhirPost('/fhir/QuestionnaireResponse/$evaluate', {
      resourceType: 'Parameters',
      parameter: [{ name: 'response', resource: qr }, { name: 'data', resource: s.bundle }, { name: 'date', valueDate: s.evaluationDate }],
    });
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
    const out = res.body as Parameters;
    const expected = s.withAnswers ?? s.record;
    expect(out.parameter!.find((p) => p.name === 'decision')!.valueCode).toBe(expected.decision);
    const statuses = Object.fromEntries(out.parameter!.filter((p) => p.name === 'criterion').map((c) => [
      c.part!.find((x) => x.name === 'code')!.valueCoding!.code, c.part!.find((x) => x.name === 'status')!.valueCode]));
    expect(statuses).toEqual(expected.criteria);
  });
});

