/**
 * What public CDS clients send, replayed at the wire level (issue 12): the CDS Hooks sandbox's
 * draft order with `category` as an object; the Da Vinci request generator's empty
 * `fhirAuthorization.access_token`, constant `hookInstance` and its own narrow prefetch key holding
 * only the draft order; and prefetch taken per discovery template. And how the Da Vinci DTR reference
 * app runs the package's CQL: with only the libraries the main library includes.
 */
import * as cql from 'cql-execution';
import { PatientSource } from 'cql-exec-fhir';
import type { Bundle, FhirResource, Library, MedicationRequest, Parameters, Questionnaire, ValueSet } from 'fhir/r4';
import { DTR } from '../../src/constants';
import { fixedClock } from '../../src/core/clock';
import { codeServiceFor } from '../../src/core/cql-data';
import { parseExecutionDate } from '../../src/core/evaluator';
import type { Card } from '../../src/crd/types';
import { corpusDate, loadScenarios } from '../corpus';
import { fullPrefetch, searchset, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { startFhirStub, type FhirStub } from '../support/fhir-stub';

const PATH = '/cds-services/crd-order-sign';
const scenario = loadScenarios().find((s) => s.name === 'concurrent-tnf-not-met')!;
const { order, record, patientId } = splitScenario(scenario);
const TNF_WARNING = 'Kineret (anakinra) criteria not met on the record: No concurrent biologic, JAK or PDE4 inhibitor';
/** The order-sign card set for a request failing one criterion: the failing criterion first, then the PA card and the guideline. */
const TNF_CARDS = [TNF_WARNING, 'Prior authorization required for Kineret (anakinra)', 'Kineret (anakinra) coverage guideline'];

let t: TestApp;
let ehr: FhirStub;
beforeAll(async () => {
  t = await startTestApp({ HOOK_BUDGET_MS: '3000' }, { clock: fixedClock(corpusDate()) });
  ehr = await startFhirStub(record);
  t.allowFhirServer(ehr.url);
});
afterAll(async () => {
  await ehr.close();
  await t.services.store.close();
});
beforeEach(() => {
  ehr.requests.length = 0;
  ehr.authorizations.length = 0;
});

const summaries = (cards: Card[]) => cards.map((c) => c.summary);

describe('the CDS Hooks sandbox', () => {
  it('"Sign Order" with MedicationRequest.category as an object is answered as if it were a list', async () => {
    const draft = { ...structuredClone(order), id: 'request-123', category: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'outpatient' }] } };
    const res = await t.post(PATH, {
      hookInstance: crypto.randomUUID(), hook: 'order-sign', fhirServer: ehr.url,
      context: { userId: 'Practitioner/dr-rheum', patientId, draftOrders: { resourceType: 'Bundle', entry: [{ resource: draft }] } },
    });
    expect(res.status).toBe(200);
    expect(summaries(res.body.cards)).toEqual(TNF_CARDS);
    expect(res.body.systemActions.map((a: { resource: MedicationRequest }) => [a.resource.id, a.resource.category])).toEqual([['request-123', [draft.category]]]);
    expect(JSON.stringify(res.body.cards)).not.toMatch(/is not a function|ELM|Local ID/);
  });
});

describe('the Da Vinci request generator', () => {
  /** Its order-sign: an open FHIR server (empty token), a constant hookInstance, its own prefetch key with only the draft order. */
  const generatorCall = (draft: MedicationRequest) => ({
    hook: 'order-sign',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    fhirServer: ehr.url,
    fhirAuthorization: { access_token: '', token_type: 'Bearer', expires_in: 300, scope: 'patient/Patient.read patient/MedicationRequest.read', subject: 'cds-service' },
    context: { userId: 'Practitioner/dr-rheum', patientId, draftOrders: { resourceType: 'Bundle', entry: [{ resource: draft }] } },
    prefetch: { medicationRequestBundle: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft }] } },
  });
  const methotrexate: MedicationRequest = { ...structuredClone(order), id: 'mtx-order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '105585', display: 'methotrexate 2.5 MG Oral Tablet' }] } };

  it('its narrow prefetch key never stands in for the history: the history is queried, the current adalimumab found, the warning given', async () => {
    const res = await t.post(PATH, { ...generatorCall(order), hookInstance: crypto.randomUUID() });
    expect(res.status).toBe(200);
    expect(summaries(res.body.cards)).toEqual(TNF_CARDS);
    expect(res.body.cards[0].detail).toContain('\n- No concurrent biologic, JAK or PDE4 inhibitor — ');
    expect(ehr.requests.some((u) => u.startsWith(`/fhir/MedicationRequest?patient=${patientId}`))).toBe(true);
  });

  it('an empty access_token means "no token": the open FHIR server is queried without Authorization', async () => {
    const res = await t.post(PATH, { ...generatorCall(order), hookInstance: crypto.randomUUID() });
    expect(res.status).toBe(200);
    expect(ehr.authorizations.length).toBeGreaterThan(5);
    expect(ehr.authorizations.every((a) => a === undefined)).toBe(true);
  });

  it('a constant hookInstance across different orders: each is answered and recorded; a true retry replays its own answer', async () => {
    const first = await t.post(PATH, generatorCall(order));
    const second = await t.post(PATH, generatorCall(methotrexate));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(summaries(first.body.cards)).toEqual(TNF_CARDS);
    expect(second.body).toEqual({ cards: [], systemActions: [] });
    const retry = await t.post(PATH, generatorCall(order));
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const calls = await t.services.store.findHookCalls('d1577c69-dfbe-44ad-ba6d-3e05e953b2ea');
    expect(calls.map((c) => [c.status, c.orderIds])).toEqual([[200, ['MedicationRequest/kineret-order']], [200, []]]);
    expect(retry.headers['x-replayed-from']).toBe(calls[0].requestId);
  });
});

describe('the Da Vinci DTR reference app', () => {
  interface Elm { library: { identifier: { id: string; version?: string }; includes?: { def: { path: string; version?: string }[] } } }
  const elmOf = (l: Library): Elm => JSON.parse(Buffer.from(l.content!.find((c) => c.contentType === 'application/elm+json')!.data!, 'base64').toString('utf8')) as Elm;

  it("runs the package's CQL with only the libraries the Questionnaire's library includes, and the prefill comes out", async () => {
    const coverage = record.find((r) => r.resourceType === 'Coverage');
    const res = await t.fhirPost('/fhir/Questionnaire/$questionnaire-package', { resourceType: 'Parameters', parameter: [
      { name: 'coverage', resource: coverage }, { name: 'questionnaire', valueCanonical: t.services.content.questionnaire.url },
    ] });
    expect(res.status).toBe(200);
    const bundle = (res.body as Parameters).parameter!.find((p) => p.name === 'PackageBundle')!.resource as Bundle;
    const resources = bundle.entry!.map((e) => e.resource!);
    const q = resources.find((r): r is Questionnaire => r.resourceType === 'Questionnaire')!;
    const libraries = resources.filter((r): r is Library => r.resourceType === 'Library');
    const mainUrl = q.extension!.find((e) => e.url === DTR.cqfLibrary)!.valueCanonical!;
    const main = elmOf(libraries.find((l) => l.url === mainUrl)!);
    const others = libraries.filter((l) => l.url !== mainUrl).map(elmOf);
    // As the app does (src/App.jsx, executionInputs.elmDependencies): the main library's includes, matched by id and version.
    const direct = (main.library.includes?.def ?? []).map((i) => others.find((e) => e.library.identifier.id === i.path && e.library.identifier.version === i.version));
    expect(direct.every(Boolean)).toBe(true);
    const source = PatientSource.FHIRv401();
    source.loadBundles([{ resourceType: 'Bundle', type: 'collection', entry: [...record, order].map((resource) => ({ resource })) }]);
    const lib = new cql.Library(main, new cql.Repository(direct as Elm[]));
    const codes = codeServiceFor(resources.filter((r): r is ValueSet => r.resourceType === 'ValueSet'));
    // The app evaluates at its own now; here the corpus's day, so that the suite passes with the clock ahead.
    const results = await new cql.Executor(lib, codes, {}).exec(source, parseExecutionDate(corpusDate()));
    const prefill = Object.values(results.patientResults)[0] as Record<string, unknown>;
    expect([prefill.Indication, prefill.RequestType, prefill.NoConcurrentBiologic]).toEqual(['RA', 'initial', false]);
  });
});

describe('prefetch taken per discovery template', () => {
  const selfLinked = (resources: FhirResource[], self: string): Bundle => ({ ...searchset(resources), link: [{ relation: 'self', url: self }] });
  const medicationRequests = record.filter((r) => r.resourceType === 'MedicationRequest');

  it("a client's own key whose Bundle is recognisably the same whole-patient search stands in for the template", async () => {
    const { medicationRequests: _ours, ...prefetch } = fullPrefetch(record);
    const res = await t.post(PATH, { ...request({ ...prefetch, myMeds: selfLinked(medicationRequests, `https://ehr.example/fhir/MedicationRequest?patient=Patient/${patientId}&_count=100`) }) });
    expect(res.status).toBe(200);
    expect(summaries(res.body.cards)).toEqual(TNF_CARDS);
    expect(ehr.requests.filter((u) => !u.startsWith('/fhir/Organization/'))).toEqual([]);
  });

  it('a narrower search (another filter) does not, nor does an incomplete searchset under our own key: both are queried', async () => {
    const { medicationRequests: _ours, ...prefetch } = fullPrefetch(record);
    await t.post(PATH, request({ ...prefetch, activeMeds: selfLinked(medicationRequests, `MedicationRequest?patient=${patientId}&status=active`) }));
    expect(ehr.requests.filter((u) => u.startsWith('/fhir/MedicationRequest?'))).toEqual([`/fhir/MedicationRequest?patient=${patientId}`]);
    ehr.requests.length = 0;
    const paged: Bundle = { ...searchset(medicationRequests.slice(0, 1)), link: [{ relation: 'next', url: `${ehr.url}/MedicationRequest?patient=${patientId}&_offset=1` }] };
    const res = await t.post(PATH, request({ ...prefetch, medicationRequests: paged }));
    expect(ehr.requests.filter((u) => u.startsWith('/fhir/MedicationRequest?'))).toEqual([`/fhir/MedicationRequest?patient=${patientId}`]);
    expect(summaries(res.body.cards)).toEqual(TNF_CARDS);
  });

  function request(prefetch: Record<string, unknown>) {
    return {
      hookInstance: crypto.randomUUID(), hook: 'order-sign', fhirServer: ehr.url, fhirAuthorization: { access_token: 'token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds-service' },
      context: { userId: 'Practitioner/dr-rheum', patientId, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] } },
      prefetch,
    };
  }
});
