import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type {
  Bundle, Library, Parameters, Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem,
} from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM, DTR } from '../../src/constants';
import { CRITERIA_CODE_SYSTEM_RESOURCE } from '../../src/core/criteria';
import type { Answer } from '../../src/core/types';
import { flattenAnswers } from '../../src/dtr/answers';
import { parseCqlIdentifier, populate } from '../../src/dtr/populate';
import { CQL_DIR, QUESTIONNAIRE_DIR } from '../../src/paths';
import { fixedClock } from '../../src/core/clock';
import { corpusDate, loadScenarios, type ScenarioFile } from '../corpus';
import { orderSignRequest, splitScenario } from '../hook-requests';
import { answer as answerResponse, items, populateScenario as populateResponse, responseItems } from '../support/responses';
import { startTestApp, type TestApp } from '../support/app';
import { fhirErrors } from '../support/fhir-validate';
import { criteriaOnCards } from '../support/cards';

let t: TestApp;
/** The same service for a plan that lists Kineret as non-preferred (KINERET_NON_PREFERRED). */
let tNonPreferred: TestApp;
let services: TestApp['services'];
let q: Questionnaire;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_BASE_URL: 'http://payer.test' }, { clock: fixedClock(corpusDate()) });
  tNonPreferred = await startTestApp({ PUBLIC_BASE_URL: 'http://payer.test', KINERET_NON_PREFERRED: 'true' }, { clock: fixedClock(corpusDate()) });
  services = t.services;
  q = services.content.questionnaire;
});
afterAll(async () => {
  await t.services.store.close();
  await tNonPreferred.services.store.close();
});
const scenarios = loadScenarios();
const fhirPost = (p: string, body: unknown) => t.fhirPost(p, body);
const get = (p: string, query?: Record<string, string | number>) => t.fhirGet(p, query);

/** The app for the scenario's plan: one that lists Kineret as non-preferred, or the default. */
const appFor = (s: ScenarioFile): TestApp => (s.options?.nonPreferred ? tNonPreferred : t);
const populateScenario = (s: ScenarioFile) => populateResponse(services.engine, appFor(s).services.content.questionnaire, s);
const answer = (qr: QuestionnaireResponse, answers: Answer[]) => answerResponse(q, qr, answers);

describe('the Questionnaire', () => {
  let all: QuestionnaireItem[];
  let definitions: Set<string>;
  const cql = readdirSync(CQL_DIR).filter((f) => f.endsWith('.cql')).map((f) => readFileSync(path.join(CQL_DIR, f), 'utf8')).join('\n');
  beforeAll(() => {
    all = items(q.item);
    const elm = services.engine.content.elm.KineretPrefill as { library: { statements: { def: { name: string }[] } } };
    definitions = new Set(elm.library.statements.def.map((d) => d.name));
  });

  it('is a DTR standard questionnaire whose canonical is on the public base', () => {
    expect(q.meta?.profile).toContain(DTR.stdQuestionnaireProfile);
    expect(q.url).toBe('http://payer.test/fhir/Questionnaire/kineret-pa');
    expect(q.subjectType).toEqual(['Patient']);
    const source = JSON.parse(readFileSync(path.join(QUESTIONNAIRE_DIR, 'kineret-pa.json'), 'utf8')) as Questionnaire;
    expect(q.effectivePeriod).toEqual(source.effectivePeriod);
    expect(q.effectivePeriod?.start).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(q.version).toBe('1.0.0');
    const lib = q.extension!.find((e) => e.url === DTR.cqfLibrary)!.valueCanonical;
    expect(services.content.libraries.map((l) => l.url)).toContain(lib);
    const contexts = q.extension!.filter((e) => e.url === DTR.launchContext).map((e) => e.extension!.find((x) => x.url === 'name')!.valueCoding!.code);
    expect(contexts.sort()).toEqual(['patient', 'user']);
    expect(fhirErrors(q)).toEqual([]);
  });

  it('has unique linkIds, and every linkId the CQL reads is an item', () => {
    const ids = all.map((i) => i.linkId);
    expect(new Set(ids).size).toBe(ids.length);
    const read = new Set([...cql.matchAll(/"(?:Answer|Bool|Text|Documented|Answered)"\('([^']+)'\)/g)].map((m) => m[1]));
    expect(read.size).toBeGreaterThan(20);
    // Every item the CQL reads exists in the Questionnaire a non-preferred plan serves (the fullest one).
    const served = new Set(items(tNonPreferred.services.content.questionnaire.item).map((i) => i.linkId));
    for (const id of read) expect({ id, inQuestionnaire: served.has(id) }).toEqual({ id, inQuestionnaire: true });
  });

  it('initialExpressions are "KineretPrefill".Identifier references to existing definitions (no quoted names), and items stay editable', () => {
    let count = 0;
    for (const item of all) {
      expect(item.readOnly).toBeUndefined();
      expect((item.extension ?? []).some((e) => e.url.endsWith('questionnaire-hidden'))).toBe(false);
      const expr = (item.extension ?? []).find((e) => e.url === DTR.initialExpression)?.valueExpression;
      if (!expr) continue;
      count++;
      expect(expr.language).toBe('text/cql');
      // The DTR form "LibraryName".statementName, the statement a plain identifier: readers that strip the
      // quotes and readers that do not resolve it alike.
      expect(expr.expression).toMatch(/^"KineretPrefill"\.[A-Za-z][A-Za-z0-9]*$/);
      const parsed = parseCqlIdentifier(expr.expression!)!;
      expect(parsed.library).toBe('KineretPrefill');
      expect({ item: item.linkId, defined: definitions.has(parsed.definition) }).toEqual({ item: item.linkId, defined: true });
    }
    expect(count).toBeGreaterThan(10);
  });

  it('items carry criterion codes from the project CodeSystem, and every criterion a clinician can answer has an item', () => {
    const codes = new Set(CRITERIA_CODE_SYSTEM_RESOURCE.concept!.map((c) => c.code));
    const used = new Set<string>();
    for (const item of all) for (const c of item.code ?? []) {
      expect(c.system).toBe(CRITERIA_CODE_SYSTEM);
      expect(codes.has(c.code!)).toBe(true);
      used.add(c.code!);
    }
    for (const code of codes) if (code !== 'AGE' && code !== 'ALL-3') expect({ code, hasItem: used.has(code) }).toEqual({ code, hasItem: true });
    // "IF THIS IS A NON-FORMULARY/NON-PREFERRED PRODUCT": asked only by a plan that lists Kineret as non-preferred.
    expect(used.has('ALL-3')).toBe(false);
    const nonPreferred = items(tNonPreferred.services.content.questionnaire.item);
    expect(nonPreferred.filter((i) => i.code?.some((c) => c.code === 'ALL-3')).map((i) => i.linkId)).toEqual(['preferred-alternatives-tried', 'preferred-alternatives-doc']);
  });

  it('documentation items accept both an attachment and a text answer; enableWhen names existing items', () => {
    const ids = new Set(all.map((i) => i.linkId));
    for (const doc of all.filter((i) => i.linkId.endsWith('-doc') || i.linkId === 'consultation-notes')) {
      expect(doc.item?.map((c) => c.type).sort()).toEqual(['attachment', 'text']);
    }
    for (const i of all) for (const w of i.enableWhen ?? []) expect(ids.has(w.question)).toBe(true);
  });
});

describe('Library, ValueSet and CodeSystem resources', () => {
  it('Libraries carry CQL and ELM, depends-on every include, and data requirements from the ELM (includes too)', () => {
    const main = services.content.libraries.find((l) => l.name === 'KineretPA') as Library;
    expect(main.type?.coding?.[0].code).toBe('logic-library');
    expect(main.content?.map((c) => c.contentType)).toEqual(['text/cql', 'application/elm+json']);
    expect(Buffer.from(main.content![0].data!, 'base64').toString()).toContain('library KineretPA');
    expect(main.meta?.profile).toEqual(['http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-library']);
    expect(main.relatedArtifact).toEqual(expect.arrayContaining([
      { type: 'depends-on', display: 'FHIRHelpers 4.0.1', url: 'http://payer.test/fhir/Library/FHIRHelpers', resource: 'http://payer.test/fhir/Library/FHIRHelpers|4.0.1' },
      { type: 'depends-on', display: 'KineretRequest 1.0.0', url: 'http://payer.test/fhir/Library/KineretRequest', resource: 'http://payer.test/fhir/Library/KineretRequest|1.0.0' },
    ]));
    // Every include is a depends-on, and every depends-on resolves to a served Library.
    const urls = new Set(services.content.libraries.map((l) => `${l.url}|${l.version}`));
    for (const lib of services.content.libraries) {
      const elm = services.engine.content.elm[lib.name!] as { library: { includes?: { def: { path: string }[] } } };
      expect((lib.relatedArtifact ?? []).map((r) => r.resource!.replace(/^.*\/Library\/([^|]+)\|.*$/, '$1')).sort())
        .toEqual((elm.library.includes?.def ?? []).map((d) => d.path).sort());
      for (const r of lib.relatedArtifact ?? []) expect(urls.has(r.resource!)).toBe(true);
    }
    // The questionnaire's library states all the data the evaluation needs, its includes' retrieves included.
    const prefill = services.content.libraries.find((l) => l.name === 'KineretPrefill') as Library;
    const condition = prefill.dataRequirement!.find((d) => d.type === 'Condition')!;
    expect(condition.codeFilter!.map((f) => f.valueSet)).toContain('http://kineret-pa.example/fhir/ValueSet/rheumatoid-arthritis');
    expect(prefill.dataRequirement!.map((d) => d.type)).toEqual(expect.arrayContaining(['Coverage', 'MedicationRequest', 'MedicationDispense', 'Observation', 'AllergyIntolerance']));
    for (const r of services.content.all()) expect({ id: `${r.resourceType}/${r.id}`, errors: fhirErrors(r) }).toEqual({ id: `${r.resourceType}/${r.id}`, errors: [] });
  });
});

describe('$questionnaire-package', () => {
  const s = scenarios.find((x) => x.name === 'ra-mtx-failure-approved')!;
  const { order, record } = splitScenario(s);
  const coverage = record.find((r) => r.resourceType === 'Coverage');
  const input: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'coverage', resource: coverage },
      { name: 'order', resource: order },
      { name: 'context', valueString: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea' },
    ],
  };

  it.each(['/fhir/Questionnaire/$questionnaire-package', '/fhir/$questionnaire-package'])('%s returns a package obeying the DTR rules', async (p) => {
    const res = await fhirPost(p, input);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
    const out = res.body as Parameters;
    expect(fhirErrors(out)).toEqual([]);
    const bundle = out.parameter!.find((x) => x.name === 'PackageBundle')!.resource as Bundle;
    expect(bundle.type).toBe('collection');
    const types = bundle.entry!.map((e) => e.resource!.resourceType);
    expect(types[0]).toBe('Questionnaire');
    expect(types.filter((t) => t === 'QuestionnaireResponse')).toHaveLength(1);
    const pq = bundle.entry![0].resource as Questionnaire;
    const qr = bundle.entry!.find((e) => e.resource!.resourceType === 'QuestionnaireResponse')!.resource as QuestionnaireResponse;
    expect(qr.questionnaire).toBe(`${pq.url}|${pq.version}`);
    expect(qr.status).toBe('in-progress');
    const libraries = bundle.entry!.filter((e) => e.resource!.resourceType === 'Library').map((e) => e.resource as Library);
    for (const cqf of pq.extension!.filter((e) => e.url === DTR.cqfLibrary)) expect(libraries.map((l) => l.url)).toContain(cqf.valueCanonical);
    for (const lib of libraries) {
      expect(lib.content!.map((c) => c.contentType).sort()).toEqual(['application/elm+json', 'text/cql']);
      for (const dep of lib.relatedArtifact ?? []) expect(libraries.map((l) => `${l.url}|${l.version}`)).toContain(dep.resource);
    }
    const valueSetUrls = bundle.entry!.filter((e) => e.resource!.resourceType === 'ValueSet').map((e) => e.resource as { url: string; expansion?: { contains?: unknown[] } });
    const elm = services.engine.content.elm.KineretTerminology as { library: { valueSets: { def: { id: string }[] } } };
    for (const d of elm.library.valueSets.def) expect(valueSetUrls.map((v) => v.url)).toContain(d.id);
    for (const v of valueSetUrls) expect(v.expansion?.contains?.length).toBeGreaterThan(0);
    const ctx = qr.extension!.filter((e) => e.url === DTR.qrContext).map((e) => e.valueReference!.reference);
    expect(ctx).toEqual(['Coverage/cov', 'MedicationRequest/kineret-order']);
    expect(qr.extension!.find((e) => e.url === DTR.intendedUse)!.valueCodeableConcept!.coding![0].code).toBe('withpa');
    const answered = responseItems(qr.item).filter((i) => i.answer?.length);
    expect(answered.map((i) => i.linkId)).toEqual(expect.arrayContaining(['request-type', 'route-subcutaneous', 'dose-mg-per-day']));
    for (const i of answered) for (const a of i.answer!) {
      expect(a.extension).toEqual([{ url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'auto' }] }]);
    }
  });

  it.each([
    ['a body that is not Parameters', { resourceType: 'Bundle' }, 400, /Parameters/],
    ['no coverage', { resourceType: 'Parameters', parameter: [{ name: 'order', resource: order }] }, 400, /coverage/],
    ['no order, questionnaire or context', { resourceType: 'Parameters', parameter: [{ name: 'coverage', resource: coverage }] }, 400, /dtr-1/],
    ['an unknown questionnaire', { resourceType: 'Parameters', parameter: [{ name: 'coverage', resource: coverage }, { name: 'questionnaire', valueCanonical: 'http://elsewhere/Questionnaire/x' }] }, 404, /unknown questionnaire/],
  ])('%s is a 4xx OperationOutcome naming the problem', async (_n, body, status, message) => {
    const res = await fhirPost('/fhir/Questionnaire/$questionnaire-package', body);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toMatch(message);
  });

  it('malformed JSON on /fhir is a 400 OperationOutcome', async () => {
    const res = await request(t.app).post('/fhir/Questionnaire/$questionnaire-package').set('Content-Type', 'application/fhir+json')
      .set('Authorization', `Bearer ${await t.dtrToken()}`).send('{');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('read, search, $expand, metadata, $log-questionnaire-errors', () => {
  it('reads and searches content by id and by url', async () => {
    expect((await get('/fhir/Questionnaire/kineret-pa')).body.url).toBe('http://payer.test/fhir/Questionnaire/kineret-pa');
    const byUrl = await get('/fhir/Questionnaire', { url: 'http://payer.test/fhir/Questionnaire/kineret-pa' });
    expect(byUrl.body.total).toBe(1);
    const lib = await get('/fhir/Library', { url: 'http://payer.test/fhir/Library/FHIRHelpers|4.0.1' });
    expect(lib.body.entry[0].resource.name).toBe('FHIRHelpers');
    expect((await get('/fhir/CodeSystem/kineret-pa-criteria')).body.concept.length).toBeGreaterThan(20);
    expect((await get('/fhir/ValueSet', { _id: 'caps' })).body.entry[0].resource.id).toBe('caps');
    const missing = await get('/fhir/Library/Nope');
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe('OperationOutcome');
    expect((await get('/fhir/Patient/1')).status).toBe(404);
  });

  it('$expand returns the pinned expansion, filtered and paged', async () => {
    const res = await get('/fhir/ValueSet/$expand', { url: 'http://kineret-pa.example/fhir/ValueSet/tnf-inhibitors', filter: 'adalimumab', count: 2 });
    expect(res.status).toBe(200);
    expect(res.body.expansion.contains.length).toBeLessThanOrEqual(2);
    expect(res.body.expansion.contains.every((c: { display: string }) => c.display.toLowerCase().includes('adalimumab'))).toBe(true);
    expect((await get('/fhir/ValueSet/$expand', { url: 'http://x/none' })).status).toBe(404);
  });

  it('metadata is a CapabilityStatement naming the operations served', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    expect(res.body.fhirVersion).toBe('4.0.1');
    const ops = res.body.rest[0].resource.flatMap((r: { operation?: { name: string }[] }) => (r.operation ?? []).map((o) => o.name));
    expect(ops).toEqual(expect.arrayContaining(['questionnaire-package', 'next-question', 'populate', 'log-questionnaire-errors', 'expand', 'evaluate']));
    // How to authenticate: SMART Backend Services at the token endpoint.
    const security = res.body.rest[0].security;
    expect(security.service[0].coding[0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
    expect(security.extension[0]).toEqual({ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: 'http://payer.test/auth/token' }] });
    const smart = await request(t.app).get('/fhir/.well-known/smart-configuration');
    expect(smart.body.token_endpoint).toBe('http://payer.test/auth/token');
    // The profiles served, each one the profile the served resources claim.
    const supported = Object.fromEntries(res.body.rest[0].resource.map((r: { type: string; supportedProfile?: string[] }) => [r.type, r.supportedProfile ?? []]));
    expect(supported.Questionnaire).toEqual([DTR.stdQuestionnaireProfile, DTR.adaptiveSearchQuestionnaireProfile]);
    for (const r of services.content.all()) for (const profile of r.meta?.profile ?? []) expect({ type: r.resourceType, profile, supported: supported[r.resourceType]?.includes(profile) }).toEqual({ type: r.resourceType, profile, supported: true });
    expect(fhirErrors(res.body)).toEqual([]);
  });

  it('$log-questionnaire-errors stores the errors and answers 200', async () => {
    const res = await fhirPost('/fhir/Questionnaire/$log-questionnaire-errors', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'questionnaire', valueCanonical: 'http://payer.test/fhir/Questionnaire/kineret-pa|1.0.0' },
        { name: 'operationOutcome', resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'CQL failed' }] } },
      ],
    });
    expect(res.status).toBe(200);
    expect(await services.store.recentDtrEvents('questionnaire-errors', 5)).toHaveLength(1);
  });

  it('answers CORS preflight on /fhir with the Authorization header allowed', async () => {
    const res = await request(t.app).options('/fhir/Questionnaire/$questionnaire-package').set('Origin', 'https://dtr.example').set('Access-Control-Request-Headers', 'authorization');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
  });
});

describe('population and determination over the corpus', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_n, s) => {
    const qr = await populateScenario(s);
    expect(fhirErrors(qr)).toEqual([]);
    const answers = new Map(flattenAnswers(qr).map((a) => [a.linkId, a] as const));
    // Population gives the answers the record supports, and leaves the rest empty.
    const rec = s.record;
    if (rec.indication && rec.indication !== 'JIA') expect(answers.get('indication')?.valueCode).toBe(rec.indication);
    else expect(answers.has('indication')).toBe(false);
    expect(answers.get('request-type')?.valueCode).toBe(rec.requestType);
    const expectBool = (linkId: string, status: string | undefined) => {
      if (status === 'not-met') expect({ linkId, v: answers.get(linkId)?.valueBoolean }).toEqual({ linkId, v: false });
      else if (linkId !== 'route-subcutaneous' || status === 'unknown') expect({ linkId, has: answers.has(linkId) }).toEqual({ linkId, has: false });
    };
    // ALL-1 is an initial criterion; a continuation's record may still prefill the (initial-only) item.
    if (rec.requestType === 'initial') expectBool('no-active-infection', rec.criteria['ALL-1']);
    expectBool('no-concurrent-biologic', rec.criteria['ALL-2']);
    expectBool('no-hypersensitivity', rec.criteria['ALL-CI']);
    expectBool('route-subcutaneous', rec.criteria['ALL-ROUTE']);
    if (rec.criteria['ALL-ROUTE'] === 'met') expect(answers.get('route-subcutaneous')?.valueBoolean).toBe(true);
    if (rec.criteria.PRESC === 'met') expect(['rheumatology', 'genetics', 'dermatology']).toContain(answers.get('prescriber-specialty')?.valueCode);
    for (const a of answers.values()) expect(a.origin).toBe('auto');

    // The populated response plus the scripted answers, evaluated with the record, gives the expected decision.
    const expected = s.withAnswers ?? s.record;
    const completed = answer(qr, s.withAnswers ? (s.answers ?? []) : []);
    const res = await appFor(s).fhirPost('/fhir/QuestionnaireResponse/$evaluate', {
      resourceType: 'Parameters',
      parameter: [{ name: 'response', resource: completed }, { name: 'data', resource: s.bundle }, { name: 'date', valueDate: s.evaluationDate }],
    });
    expect(res.status).toBe(200);
    const out = res.body as Parameters;
    expect(fhirErrors(out)).toEqual([]);
    const get = (name: string) => out.parameter!.filter((p) => p.name === name);
    expect(get('decision')[0].valueCode).toBe(expected.decision);
    expect(get('requestType')[0].valueCode).toBe(expected.requestType);
    const statuses = Object.fromEntries(get('criterion').map((c) => [
      c.part!.find((x) => x.name === 'code')!.valueCoding!.code, c.part!.find((x) => x.name === 'status')!.valueCode]));
    expect(statuses).toEqual(expected.criteria);
    if (expected.decision === 'approved') {
      expect(get('pendReason')).toHaveLength(0);
      const period = get('approvalPeriod')[0].valuePeriod!;
      expect(period.start).toBe(s.evaluationDate);
      if (expected.approvalMonths === 12) expect(period.end).toBe('2027-11-28');
      if (expected.approvalMonths === 6) expect(period.end).toBe('2027-05-28');
    } else expect(get('approvalPeriod')).toHaveLength(0);
    if (expected.decision === 'pended') {
      expect(get('note')[0].valueString).toMatch(/clinical reviewer, who decides; no request is denied automatically/);
      const kinds = get('pendReason').map((r) => r.part!.find((x) => x.name === 'kind')!.valueCode);
      expect(kinds.length).toBeGreaterThan(0);
      if (expected.planUnknown) expect(kinds).toContain('plan-unknown');
    }
  });

  it('the determination and the CRD card agree on every criterion the record decides', async () => {
    for (const s of scenarios) {
      const hook = await appFor(s).post('/cds-services/crd-order-sign', orderSignRequest(s));
      const qr = await populateScenario(s);
      const det = await appFor(s).fhirPost('/fhir/QuestionnaireResponse/$evaluate', {
        resourceType: 'Parameters',
        parameter: [{ name: 'response', resource: qr }, { name: 'data', resource: s.bundle }],
      });
      expect({ scenario: s.name, status: det.status, body: det.status === 200 ? null : det.body }).toEqual({ scenario: s.name, status: 200, body: null });
      const { statuses } = criteriaOnCards(hook.body.cards);
      // No coverage for the order (none on record, or none active for the drug: the plan is unknown) means no PA card.
      const hasCoverage = !s.record.planUnknown && (s.bundle.entry ?? []).some((e) => e.resource?.resourceType === 'Coverage');
      for (const c of (det.body as Parameters).parameter!.filter((p) => p.name === 'criterion')) {
        const display = c.part!.find((x) => x.name === 'code')!.valueCoding!.display!;
        const status = c.part!.find((x) => x.name === 'status')!.valueCode!;
        // Without coverage there is no PA card: only what fails is on the cards.
        if (status === 'unknown' || (!hasCoverage && status === 'met')) continue;
        expect({ scenario: s.name, display, onCard: statuses[display] }).toEqual({ scenario: s.name, display, onCard: status });
      }
    }
  }, 60_000);

  it('answers marked override take precedence over the record', async () => {
    const s = scenarios.find((x) => x.name === 'concurrent-tnf-not-met')!;
    const qr = await populateScenario(s);
    const run = async (origin: Answer['origin']) => {
      const completed = answer(qr, [m('no-concurrent-biologic', origin)]);
      const res = await fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: completed }, { name: 'data', resource: s.bundle }] });
      return (res.body as Parameters).parameter!.filter((p) => p.name === 'criterion')
        .find((c) => c.part!.find((x) => x.name === 'code')!.valueCoding!.code === 'ALL-2')!.part!;
    };
    const m = (linkId: string, origin: Answer['origin']): Answer => ({ linkId, valueBoolean: true, origin });
    const manual = await run('manual');
    expect(manual.find((x) => x.name === 'status')!.valueCode).toBe('not-met');
    const override = await run('override');
    expect(override.find((x) => x.name === 'status')!.valueCode).toBe('met');
    expect(override.find((x) => x.name === 'source')!.valueCode).toBe('clinician');
  });

  it('POST /fhir/QuestionnaireResponse with its record (Parameters: response, data) stores it, and its determination is the one of that record', async () => {
    const s = scenarios.find((x) => x.name === 'ra-mtx-failure-approved')!;
    const qr = answer(await populateScenario(s), s.answers!);
    expect(qr.status).toBe('completed');
    const res = await fhirPost('/fhir/QuestionnaireResponse', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: qr }, { name: 'data', resource: s.bundle }] });
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(/^http:\/\/payer\.test\/fhir\/QuestionnaireResponse\/[0-9a-f-]+\/_history\/1$/);
    const id = res.body.id;
    expect(res.body).toMatchObject({ resourceType: 'QuestionnaireResponse', id, status: 'completed', subject: qr.subject });
    const det = await get(`/fhir/QuestionnaireResponse/${id}/$determination`);
    expect(det.status).toBe(200);
    // The same as $evaluate with that record at the same date: approved (the stub Patient once made it pended).
    const evaluated = await fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: qr }, { name: 'data', resource: s.bundle }] });
    expect(det.body).toEqual(evaluated.body);
    expect(det.body.parameter.find((p: { name: string }) => p.name === 'decision').valueCode).toBe('approved');
    expect((await get(`/fhir/QuestionnaireResponse/${id}`)).body.id).toBe(id);
  });

  it('a response stored without its record says it has no determination instead of evaluating a stub', async () => {
    const s = scenarios.find((x) => x.name === 'ra-mtx-failure-approved')!;
    const qr = answer(await populateScenario(s), s.answers!);
    const res = await fhirPost('/fhir/QuestionnaireResponse', qr);
    expect(res.status).toBe(201);
    const det = await get(`/fhir/QuestionnaireResponse/${res.body.id}/$determination`);
    expect(det.status).toBe(404);
    expect(det.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found',
      diagnostics: 'no determination: the response was stored without the patient\'s record; submit it as Parameters with "response" and "data", or use $evaluate' }] });
  });

  it('$evaluate without a response, or without the record, is a 400 naming the missing parameter', async () => {
    const none = await fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [] });
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'required', diagnostics: 'parameter "response" (a QuestionnaireResponse) is required' }] });
    const s = scenarios.find((x) => x.name === 'ra-mtx-failure-approved')!;
    const noData = await fhirPost('/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: await populateScenario(s) }] });
    expect(noData.status).toBe(400);
    expect(noData.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'required',
      diagnostics: 'parameter "data" (a Bundle with the patient\'s record) is required: the determination is evaluated against that record' }] });
  });

  it('$populate fills a response from a data Bundle, SDC style', async () => {
    const s = scenarios.find((x) => x.name === 'caps-genetic-only')!;
    const res = await fhirPost('/fhir/Questionnaire/$populate', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'questionnaire', valueCanonical: 'http://payer.test/fhir/Questionnaire/kineret-pa|1.0.0' },
        { name: 'subject', valueReference: { reference: 'Patient/caps-gen' } },
        { name: 'coverage', valueReference: { reference: 'Coverage/cov' } },
        { name: 'order', valueReference: { reference: 'MedicationRequest/kineret-order' } },
        { name: 'data', resource: s.bundle },
      ],
    });
    expect(res.status).toBe(200);
    const qr = res.body.parameter.find((p: { name: string }) => p.name === 'response').resource as QuestionnaireResponse;
    const answers = new Map(flattenAnswers(qr).map((a) => [a.linkId, a] as const));
    expect(answers.get('indication')?.valueCode).toBe('CAPS');
    expect(answers.get('nlrp3-mutation')?.valueBoolean).toBe(true);
    expect(answers.get('weight-kg')?.valueDecimal).toBe(20);
    const issues = res.body.parameter.find((p: { name: string }) => p.name === 'issues').resource;
    expect(issues.issue.some((i: { diagnostics: string }) => /does not answer/.test(i.diagnostics))).toBe(true);
  });
});

describe('population never throws on odd data', () => {
  it('reports a failed evaluation and an unknown definition as issues', async () => {
    const broken = structuredClone(q);
    (broken.item![0].item![0].extension![0].valueExpression as { expression: string }).expression = '"KineretPrefill".NoSuchDefinition';
    const failing = await populate({ questionnaire: q, context: { patient: 'Patient/x' }, now: '2026-11-28T12:00:00Z', evaluate: async () => { throw new Error('boom'); } });
    expect(failing.outcome.issue.some((i) => i.severity === 'error' && /boom/.test(i.diagnostics!))).toBe(true);
    const odd = await populate({ questionnaire: broken, context: { patient: 'Patient/x', coverage: 'Coverage/c', order: 'MedicationRequest/o' }, now: '2026-11-28T12:00:00Z',
      evaluate: async () => ({ KineretPrefill: { Indication: 42, WeightKg: 'heavy' } }) });
    const msgs = odd.outcome.issue.map((i) => i.diagnostics);
    expect(msgs.some((d) => /NoSuchDefinition/.test(d!))).toBe(true);
    expect(msgs.some((d) => /does not fit/.test(d!))).toBe(true);
  });
});
