/**
 * The CRD Request stage, call by call: one patient per call (a mismatch is refused, never
 * answered); sloppy-but-clear FHIR read as meant, the ambiguous refused with 422 and an
 * OperationOutcome naming the element; expected failures as an honest card, each problem once in
 * clinician words; defects as a logged 500, never a card.
 */
import { PA_SUMMARY } from '../../src/crd/cards';
import type { Coverage, MedicationRequest, Patient } from 'fhir/r4';
import { fixedClock } from '../../src/core/clock';
import type { Card, HookResponse } from '../../src/crd/types';
import { corpusDate, loadScenarios } from '../corpus';
import { fullPrefetch, orderSignRequest, searchset, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { startFhirStub } from '../support/fhir-stub';

const PATH = '/cds-services/crd-order-sign';
const scenario = loadScenarios().find((s) => s.name === 'concurrent-tnf-not-met')!;
const { record } = splitScenario(scenario);
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ HOOK_BUDGET_MS: '1500', FHIR_TIMEOUT_MS: '1000' }, { clock: fixedClock(corpusDate()) });
});
afterAll(async () => {
  await t.services.store.close();
});

/** Card markdown escapes punctuation (src/crd/markdown.ts): the expected problem lines below are written escaped. */
/** Cards without their random uuids, for comparing two answers. */
const stable = (body: HookResponse) => JSON.parse(JSON.stringify(body, (k, v) => (k === 'uuid' || k === 'coverage-assertion-id' ? undefined : k === 'extension' && Array.isArray(v) ? v.map((e: { url: string; extension?: { url: string }[] }) => ({ ...e, extension: e.extension?.filter((x) => x.url !== 'coverage-assertion-id') })) : v)));

describe('one patient per call', () => {
  const other = 'someone-else';

  it('a prefetched Patient that is not context.patientId is refused (never answered for the prefetched patient)', async () => {
    const req = orderSignRequest(scenario);
    (req.prefetch as Record<string, Patient>).patient = { resourceType: 'Patient', id: other, birthDate: '1970-01-01' };
    const res = await t.post(PATH, req);
    expect(res.status).toBe(422);
    expect(res.body.cards).toBeUndefined();
    expect(res.body.operationOutcome).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', expression: ['Patient.id'],
      diagnostics: `prefetch.patient (Patient/${other}) is Patient/${other}, but context.patientId is Patient/ra-tnf: one request is about one patient` }] });
  });

  it('order-select: a draft order for another patient is refused too', async () => {
    const req = orderSignRequest(scenario);
    (req.context.draftOrders.entry[0].resource as MedicationRequest).subject = { reference: `Patient/${other}` };
    const res = await t.post('/cds-services/crd-order-select', { ...req, hook: 'order-select', prefetch: undefined, context: { ...req.context, selections: ['MedicationRequest/kineret-order'] } });
    expect(res.status).toBe(422);
    expect(res.body.operationOutcome.issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression])).toEqual([['business-rule', ['MedicationRequest.subject']]]);
  });

  it('a draft order for another patient is refused', async () => {
    const req = orderSignRequest(scenario);
    (req.context.draftOrders.entry[0].resource as MedicationRequest).subject = { reference: `Patient/${other}` };
    const res = await t.post(PATH, req);
    expect(res.status).toBe(422);
    expect(res.body.operationOutcome.issue).toEqual([{ severity: 'error', code: 'business-rule', expression: ['MedicationRequest.subject'],
      diagnostics: `context.draftOrders.entry[0].resource (MedicationRequest/kineret-order) names Patient/${other} as subject, but context.patientId is Patient/ra-tnf: one request is about one patient` }]);
  });

  it('a coverage whose beneficiary is another patient is refused', async () => {
    const prefetch = fullPrefetch(record);
    const coverage = structuredClone(record.find((r) => r.resourceType === 'Coverage')) as Coverage;
    coverage.beneficiary = { reference: `https://ehr.example/fhir/Patient/${other}` };
    prefetch.coverage = searchset([coverage]);
    const res = await t.post(PATH, orderSignRequest(scenario, { prefetch }));
    expect(res.status).toBe(422);
    expect(res.body.operationOutcome.issue).toEqual([{ severity: 'error', code: 'business-rule', expression: ['Coverage.beneficiary'],
      diagnostics: `prefetch.coverage.entry[0].resource (Coverage/cov) names Patient/${other} as beneficiary, but context.patientId is Patient/ra-tnf: one request is about one patient` }]);
  });

  it("an EHR that answers a search with another patient's records: those data are not used, and the card says so once", async () => {
    const foreign = { ...(record.find((r) => r.resourceType === 'Condition')!), id: 'foreign', subject: { reference: `Patient/${other}` } };
    const stub = await startFhirStub([...record, foreign as never], { ignorePatient: true });
    t.allowFhirServer(stub.url);
    try {
      const full = fullPrefetch(record);
      const { conditions: _left, ...prefetch } = full;
      const res = await t.post(PATH, orderSignRequest(scenario, { prefetch, fhirServer: stub.url }));
      expect(res.status).toBe(200);
      expect(stub.requests.filter((u) => u.startsWith('/fhir/Condition?')).length).toBeGreaterThan(0);
      expect(JSON.stringify(res.body.cards)).not.toContain(other);
      const detail = (res.body.cards as Card[]).find((c) => c.summary === PA_SUMMARY)!.detail!;
      expect(detail.split('\n').filter((l) => l.startsWith('- The EHR'))).toEqual(['- The EHR answered with records of another patient\\: diagnoses could not be read.']);
      // Without the diagnoses the indication is not known from the record: the form asks.
      expect(detail.slice(detail.indexOf('You will be asked about:'))).toContain('\n- Covered indication — ');
    } finally {
      await stub.close();
    }
  });
});

describe('lenient reading, strict meaning', () => {
  it('a single object where FHIR has a list (MedicationRequest.category) is read as a list of one, answered as if sent right, and logged', async () => {
    const right = orderSignRequest(scenario);
    const sloppy = structuredClone(right);
    sloppy.hookInstance = crypto.randomUUID();
    const order = sloppy.context.draftOrders.entry[0].resource as unknown as Record<string, unknown>;
    order.category = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'outpatient' }] };
    (right.context.draftOrders.entry[0].resource as MedicationRequest).category = [order.category as never];
    const warn = jest.spyOn(t.services.log, 'warn');
    try {
      const [a, b] = [await t.post(PATH, right), await t.post(PATH, sloppy)];
      expect(b.status).toBe(200);
      expect(stable(b.body)).toEqual(stable(a.body));
      expect(b.body.systemActions[0].resource.category).toEqual([order.category]);
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ hookInstance: sloppy.hookInstance, warnings: [
        'context.draftOrders: Bundle.entry[0].resource.category holds a single CodeableConcept where FHIR R4 has a list; read as a list of one',
      ] }), 'hook request read leniently');
    } finally {
      warn.mockRestore();
    }
  });

  it('a list of one where FHIR has a single value, null and empty strings are read as meant', async () => {
    const req = orderSignRequest(scenario);
    const order = req.context.draftOrders.entry[0].resource as unknown as Record<string, unknown>;
    order.subject = [order.subject];
    order.note = null;
    order.groupIdentifier = '';
    const res = await t.post(PATH, req);
    expect(res.status).toBe(200);
    expect(res.body.systemActions[0].resource.subject).toEqual({ reference: 'Patient/ra-tnf' });
    expect('note' in res.body.systemActions[0].resource).toBe(false);
  });

  it.each([
    ['two variants of one choice element', (o: Record<string, unknown>) => { o.medicationReference = { reference: 'Medication/x' }; },
      'structure', 'Bundle.entry[0].resource.medication[x]', 'context.draftOrders: Bundle.entry[0].resource.medication[x] is given twice (medicationCodeableConcept and medicationReference); FHIR allows one'],
    ['"yes" where a boolean belongs', (o: Record<string, unknown>) => { o.doNotPerform = 'yes'; },
      'value', 'Bundle.entry[0].resource.doNotPerform', 'context.draftOrders: Bundle.entry[0].resource.doNotPerform is the string "yes", not a FHIR boolean'],
    ['two values where one belongs', (o: Record<string, unknown>) => { o.subject = [{ reference: 'Patient/ra-tnf' }, { reference: 'Patient/ra-tnf' }]; },
      'structure', 'Bundle.entry[0].resource.subject', 'context.draftOrders: Bundle.entry[0].resource.subject holds 2 values where FHIR R4 allows one Reference'],
    ['an unknown resource type', (o: Record<string, unknown>) => { o.contained = [{ resourceType: 'Medicine', id: 'm' }]; },
      'structure', 'Bundle.entry[0].resource.contained[0].resourceType', 'context.draftOrders: Bundle.entry[0].resource.contained[0].resourceType "Medicine" is not a FHIR R4 resource type'],
  ])('%s is refused with 422 and an OperationOutcome naming the element', async (_n, spoil, code, expression, diagnostics) => {
    const req = orderSignRequest(scenario);
    spoil(req.context.draftOrders.entry[0].resource as unknown as Record<string, unknown>);
    const res = await t.post(PATH, req);
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('invalid-request');
    expect(res.body.message).toBe(diagnostics);
    expect(res.body.operationOutcome).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, expression: [expression], diagnostics }] });
  });
});

describe('errors as API, bugs as bugs', () => {
  it('an EHR that fails every query: "could not be determined", the problem said once in clinician words', async () => {
    const stub = await startFhirStub(record, { failWith: 500 });
    t.allowFhirServer(stub.url);
    try {
      const res = await t.post(PATH, orderSignRequest(scenario, { prefetch: {}, fhirServer: stub.url }));
      expect(res.status).toBe(200);
      expect(res.body.systemActions).toEqual([]);
      expect(res.body.cards).toHaveLength(2);
      const card = res.body.cards[0] as Card;
      expect(card.summary).toBe('Kineret (anakinra) requires prior authorization; coverage could not be determined');
      expect(card.detail!.split('\n').filter((l) => l.startsWith('- '))).toEqual([
        '- The EHR answered with an error\\: allergies, diagnoses, the patient\'s coverage, medication history, lab results and vital signs, the patient\'s demographics and the prescriber\'s specialty could not be read.',
      ]);
      expect(card.detail).not.toMatch(/found 0|Patient\(|ELM|HTTP 500|\/fhir\//);
    } finally {
      await stub.close();
    }
  });

  it('an EHR that sends malformed FHIR: the data it sent are not used, and the card says so', async () => {
    const broken = record.map((r) => (r.resourceType === 'Condition' ? { ...r, clinicalStatus: 'active' } : r));
    const stub = await startFhirStub(broken as never);
    t.allowFhirServer(stub.url);
    try {
      const { conditions: _c, ...prefetch } = fullPrefetch(record);
      const res = await t.post(PATH, orderSignRequest(scenario, { prefetch, fhirServer: stub.url }));
      expect(res.status).toBe(200);
      const pa = (res.body.cards as Card[]).find((c) => c.summary === PA_SUMMARY)!;
      expect(pa.detail!.split('\n').filter((l) => l.startsWith('- The EHR'))).toEqual(['- The EHR sent data that could not be read\\: diagnoses could not be read.']);
    } finally {
      await stub.close();
    }
  });

  it('a defect in the evaluation is a 500 with its stack logged, never a card', async () => {
    const boom = jest.spyOn(t.services.engine, 'evaluate').mockRejectedValue(new TypeError('data.map is not a function (ELM Local ID 2055)'));
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await t.post(PATH, orderSignRequest(scenario));
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'internal-error', message: 'the service failed to handle the request' });
      expect(JSON.stringify(res.body)).not.toContain('ELM');
      const line = JSON.parse(String(logged.mock.calls[0][0])) as { msg: string; error: string; stack: string };
      expect(line.msg).toBe('unhandled error');
      expect(line.error).toBe('TypeError: data.map is not a function (ELM Local ID 2055)');
      expect(line.stack).toMatch(/^TypeError: data\.map is not a function[\s\S]*\n\s+at /);
    } finally {
      boom.mockRestore();
      logged.mockRestore();
    }
  });
});
