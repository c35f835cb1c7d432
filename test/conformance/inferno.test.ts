/**
 * The ONC Inferno server checks, reproduced against the started service (node dist/src/server.js,
 * configured as the README says for an Inferno run: test/conformance/service.ts). Each test names
 * the kit and the test id it encodes (inferno-framework/davinci-crd-test-kit, CRD STU 2.0.1;
 * inferno-framework/davinci-dtr-test-kit v0.17, DTR STU 2.0.1), sends what the kit sends and asserts
 * what it asserts, as far as it can be checked without the HL7 validator (profile rules are checked
 * by hand from the IG profiles at 2.0.1). The requests are the repository's examples/, which is what
 * a tester pastes into the kits' inputs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, CapabilityStatement, Extension, Library, MedicationRequest, Parameters, Questionnaire, QuestionnaireItem, QuestionnaireResponse } from 'fhir/r4';
import { ROOT } from '../../src/paths';
import { cardType } from '../support/cards';
import { PUBLIC_BASE, startService, type RunningService } from './service';

jest.setTimeout(120_000);

const example = <T = Record<string, unknown>>(name: string): T => JSON.parse(readFileSync(path.join(ROOT, 'examples', name), 'utf8')) as T;
const COVERAGE_INFO = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

interface Card { summary: string; indicator: string; source: { label?: string; topic?: { code?: string; system?: string } }; uuid?: string; detail?: string; links?: { label: string; url: string; type: string; appContext?: string }[]; suggestions?: unknown[]; selectionBehavior?: string }
interface Action { type: string; description: string; resource?: MedicationRequest; resourceId?: string }
interface HookResponse { cards: Card[]; systemActions?: Action[] }

/** crd_service_call_test: one JWT for the test (aud = the service URL), each body posted with it. */
async function callHook(serviceId: string, bodies: unknown[], alg: 'ES384' | 'RS384' = 'ES384') {
  const aud = `${PUBLIC_BASE}/cds-services/${serviceId}`;
  const token = await svc.infernoJwt(aud, alg);
  const out: { status: number; body: HookResponse }[] = [];
  for (const body of bodies) {
    const res = await fetch(`${svc.origin}/cds-services/${serviceId}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    out.push({ status: res.status, body: (await res.json()) as HookResponse });
  }
  return out;
}

const fresh = <T extends { hookInstance?: string }>(body: T): T => ({ ...structuredClone(body), hookInstance: crypto.randomUUID() });

/** The order-sign bodies a tester gives: a Kineret order failing a criterion, one without coverage, another drug. */
function orderSignBodies() {
  const kineret = example<{ hookInstance: string; prefetch: Record<string, unknown> }>('order-sign-kineret.json');
  const noCoverage = fresh(kineret);
  noCoverage.prefetch.coverage = { resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] };
  return [fresh(kineret), noCoverage, fresh(example('order-sign-other-drug.json'))];
}

/** cards_validation.rb: the required fields and their types, the summary under 140, the indicator, source.label and source.topic. */
function requiredCardProblems(card: Card): string[] {
  const p: string[] = [];
  if (typeof card.summary !== 'string' || card.summary.length >= 140) p.push('summary');
  if (!['info', 'warning', 'critical'].includes(card.indicator)) p.push('indicator');
  if (typeof card.source?.label !== 'string') p.push('source.label');
  if (typeof card.source?.topic?.code !== 'string' || typeof card.source?.topic?.system !== 'string') p.push('source.topic');
  return p;
}

/** cards_validation.rb valid_card_with_optionals?: uuid and detail strings, links with label, type and a URL, no appContext on absolute links. */
function optionalCardProblems(card: Card): string[] {
  const p: string[] = [];
  if (card.uuid !== undefined && typeof card.uuid !== 'string') p.push('uuid');
  if (card.detail !== undefined && typeof card.detail !== 'string') p.push('detail');
  if (card.suggestions?.length && !['at-most-one', 'any'].includes(card.selectionBehavior ?? '')) p.push('selectionBehavior');
  for (const l of card.links ?? []) {
    if (typeof l.label !== 'string' || !['absolute', 'smart'].includes(l.type)) p.push(`link ${l.label}`);
    try { new URL(l.url); } catch { p.push(`link url ${l.url}`); }
    if (l.type === 'absolute' && l.appContext) p.push('appContext on an absolute link');
  }
  return p;
}

/** suggestion_actions_validation.rb: type and description; create/update carry a FHIR resource. */
function actionProblems(a: Action): string[] {
  const p: string[] = [];
  if (typeof a.type !== 'string' || typeof a.description !== 'string') p.push('type/description');
  if (!['create', 'update', 'delete'].includes(a.type)) p.push('type');
  if (['create', 'update'].includes(a.type) && !a.resource?.resourceType) p.push('resource');
  return p;
}

describe('CRD server suite (davinci-crd-test-kit, CRD 2.0.1)', () => {
  let signed: { status: number; body: HookResponse }[];
  let selected: { status: number; body: HookResponse }[];
  beforeAll(async () => {
    signed = await callHook('crd-order-sign', orderSignBodies());
    selected = await callHook('crd-order-select', [fresh(example('order-select-kineret.json'))], 'RS384');
  });

  it('crd_discovery_endpoint_test, crd_discovery_services_validation: GET /cds-services (with the optional JWT) is 200 JSON; every service has string hook, description and id', async () => {
    const res = await fetch(`${svc.origin}/cds-services`, { headers: { Accept: 'application/json', Authorization: `Bearer ${await svc.infernoJwt(`${PUBLIC_BASE}/cds-services`)}` } });
    expect(res.status).toBe(200);
    const { services } = (await res.json()) as { services: Record<string, unknown>[] };
    expect(services.map((s) => `${s.hook}:${s.id}`)).toEqual(['order-sign:crd-order-sign', 'order-select:crd-order-select']);
    for (const s of services) for (const f of ['hook', 'description', 'id']) expect(typeof s[f]).toBe('string');
  });

  it('crd_service_call_test (order-sign, order-select): every body posted with one JWT per test answers 200 JSON (CDS_JTI_REUSE=allow; each reuse logged)', () => {
    expect(signed.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(selected.map((r) => r.status)).toEqual([200]);
    // The same jti was accepted again for the second and third bodies, and the log says so each time.
    expect(svc.output().match(/CDS_JTI_REUSE=allow: a CDS Hooks JWT id was used again/g)?.length).toBe(2);
  });

  it('crd_service_response_validation: cards valid; systemActions present on every order-sign response, its actions valid', () => {
    for (const [i, { body }] of [...signed, ...selected].entries()) {
      expect(Array.isArray(body.cards)).toBe(true);
      for (const c of body.cards) expect({ i, summary: c.summary, problems: requiredCardProblems(c) }).toEqual({ i, summary: c.summary, problems: [] });
      if (i < signed.length) expect({ i, systemActions: Array.isArray(body.systemActions) }).toEqual({ i, systemActions: true });
      for (const a of body.systemActions ?? []) expect(actionProblems(a)).toEqual([]);
    }
    // Issue 17 (1): the other drug and the patient without coverage still carry the array, empty.
    expect(signed[1].body.systemActions).toEqual([]);
    expect(signed[2].body).toEqual({ cards: [], systemActions: [] });
  });

  it('crd_card_optional_fields_validation: uuid, detail and links valid on every card', () => {
    for (const { body } of [...signed, ...selected]) for (const c of body.cards) expect({ summary: c.summary, problems: optionalCardProblems(c) }).toEqual({ summary: c.summary, problems: [] });
  });

  it('crd_launch_smart_app_card_validation, crd_external_reference_card_validation, crd_valid_instructions_card_received (order-sign): a Kineret order failing a criterion gets all three card types', () => {
    expect(signed[0].body.cards.map(cardType)).toEqual(['instructions', 'launch-smart-app', 'external-reference']);
    // Without coverage: what to do (Instructions), no DTR launch.
    expect(signed[1].body.cards.map(cardType)).toEqual(['instructions', 'instructions', 'external-reference']);
  });

  it('crd_valid_instructions_card_received (order-select): the notice is an Instructions card', () => {
    expect(selected[0].body.cards.map(cardType)).toEqual(['instructions']);
    expect(selected[0].body.systemActions).toBeUndefined();
  });

  it('crd_coverage_info_system_action_received, crd_coverage_info_system_action_validation: an update of the MedicationRequest with coverage-information, one assertion id per coverage', () => {
    const actions = signed[0].body.systemActions!;
    expect(actions).toHaveLength(1);
    const [a] = actions;
    expect(a.type).toBe('update');
    expect(a.resource!.resourceType).toBe('MedicationRequest');
    const infos = (a.resource!.extension ?? []).filter((e) => e.url === COVERAGE_INFO);
    expect(infos.length).toBeGreaterThan(0);
    const byCoverage = new Map<string, Set<string>>();
    for (const e of infos) {
      const sub = (url: string) => e.extension!.find((x: Extension) => x.url === url);
      const cov = sub('coverage')!.valueReference!.reference!;
      byCoverage.set(cov, new Set([...(byCoverage.get(cov) ?? []), sub('coverage-assertion-id')!.valueString!]));
      // CRD 2.0.1 invariants: covered != not-covered requires pa-needed; questionnaire requires doc-needed; doc-purpose requires reason.
      expect(sub('pa-needed')?.valueCode).toBe('auth-needed');
      expect(sub('doc-needed')?.valueCode).toBe('clinical');
      expect(sub('reason')).toBeDefined();
    }
    for (const ids of byCoverage.values()) expect(ids.size).toBe(1);
    // The client's order echoed unchanged but for the extension.
    const { extension: _e, ...echoed } = a.resource!;
    const original = (example<{ context: { draftOrders: Bundle } }>('order-sign-kineret.json').context.draftOrders.entry![0].resource) as MedicationRequest;
    expect(echoed).toEqual(original);
  });

  it('crd_external_reference_card_across_hooks_validation, crd_valid_instructions_card_received_across_hooks, crd_coverage_info_system_action_across_hooks_validation', () => {
    const cards = [...signed, ...selected].flatMap((r) => r.body.cards);
    expect(cards.some((c) => cardType(c) === 'external-reference')).toBe(true);
    expect(cards.some((c) => cardType(c) === 'instructions')).toBe(true);
    expect(signed.flatMap((r) => r.body.systemActions ?? []).some((a) => (a.resource?.extension ?? []).some((e) => e.url === COVERAGE_INFO))).toBe(true);
  });

  it('the hook JWT rules the kit relies on: RS384 as well as ES384, jku never fetched (keys from the registry), no sub required', async () => {
    const [res] = await callHook('crd-order-sign', [fresh(example('order-sign-other-drug.json'))], 'RS384');
    expect(res.status).toBe(200);
  });
});

/** A Backend Services token as the kit's OAuth credentials get it. */
async function dtrToken(scope = 'system/*.rs system/QuestionnaireResponse.cr'): Promise<string> {
  const res = await svc.token(scope);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

async function fhirPost(p: string, body: unknown, token: string) {
  const res = await fetch(`${svc.origin}/fhir${p}`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json', Authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const bundlesOf = (out: Record<string, unknown>): Bundle[] => (out.resourceType === 'Bundle' ? [out as unknown as Bundle]
  : ((out as unknown as Parameters).parameter ?? []).map((p) => p.resource).filter((r): r is Bundle => r?.resourceType === 'Bundle'));
const entriesOf = <T>(bundles: Bundle[], type: string) => bundles.flatMap((b) => (b.entry ?? []).map((e) => e.resource)).filter((r) => r?.resourceType === type) as T[];
const itemsOf = (list: QuestionnaireItem[] | undefined): QuestionnaireItem[] => (list ?? []).flatMap((i) => [i, ...itemsOf(i.item)]);

/** cql_test.rb check_libraries: at least one Library, each with text/cql and application/elm+json data, names unique. */
function checkLibraries(libraries: Library[]): void {
  expect(libraries.length).toBeGreaterThan(0);
  const names = libraries.map((l) => l.name);
  expect(new Set(names).size).toBe(names.length);
  for (const l of libraries) {
    expect({ lib: l.name, types: l.content!.filter((c) => c.data).map((c) => c.contentType).sort() }).toEqual({ lib: l.name, types: ['application/elm+json', 'text/cql'] });
    // Issue 17 (7): only profiles within DTR 2.0.1 and its dependencies (SDC 3.0.0, US Core, HRex, CRD, FHIR core).
    for (const p of l.meta?.profile ?? []) expect(p).toMatch(/^http:\/\/hl7\.org\/fhir\/(uv\/sdc|us\/davinci-dtr|us\/core|us\/davinci-hrex|us\/davinci-crd)\/StructureDefinition\/|^http:\/\/hl7\.org\/fhir\/StructureDefinition\//);
  }
}

/** cql_test.rb verify_questionnaire_extensions: cqf-library canonicals found among the Library urls; launchContext, variable, itemPopulationContext in CQL. */
function checkQuestionnaireExtensions(qs: Questionnaire[], libraryUrls: string[]): void {
  for (const q of qs) {
    const cqf = (q.extension ?? []).filter((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/cqf-library');
    expect(cqf.length).toBeGreaterThan(0);
    for (const e of cqf) expect(libraryUrls).toContain(e.valueCanonical);
    for (const e of q.extension ?? []) if (e.valueExpression) expect(e.valueExpression.language).toBe('text/cql');
  }
}

/** cql_test.rb verify_questionnaire_items: prepopulation shown by item expressions, all text/cql, each naming a library of the package. */
function checkQuestionnaireItems(qs: Questionnaire[], libraryNames: string[]): void {
  const expressions = qs.flatMap((q) => itemsOf(q.item)).flatMap((i) => (i.extension ?? []).filter((e) => e.valueExpression).map((e) => e.valueExpression!));
  expect(expressions.length).toBeGreaterThan(0);
  for (const x of expressions) {
    expect(x.language).toBe('text/cql');
    expect(libraryNames.some((n) => x.expression!.startsWith(`"${n}"`))).toBe(true);
  }
}

describe('DTR payer server suite (davinci-dtr-test-kit v0.17, DTR 2.0.1)', () => {
  it('Backend Services with the wildcard scopes testers ask for (system/*.read, system/*.rs): granted as the registration allows (issue 17, 5)', async () => {
    for (const scope of ['system/*.read', 'system/*.rs']) {
      const res = await svc.token(scope);
      expect({ scope, status: res.status }).toEqual({ scope, status: 200 });
      expect(String(res.body.scope).length).toBeGreaterThan(0);
      // The token reads what the DTR client needs.
      for (const p of ['/fhir/Questionnaire/kineret-pa', '/fhir/Library/FHIRHelpers', '/fhir/ValueSet?_id=caps']) {
        const read = await fetch(`${svc.origin}${p}`, { headers: { Authorization: `Bearer ${res.body.access_token}` } });
        expect({ scope, p, status: read.status }).toEqual({ scope, p, status: 200 });
      }
    }
  });

  it('/fhir/metadata: the DTR payer service, rest.security naming SMART Backend Services and the token endpoint, supportedProfile (issue 17, 7)', async () => {
    const cs = (await (await fetch(`${svc.origin}/fhir/metadata`)).json()) as CapabilityStatement;
    expect(cs.instantiates).toEqual(['http://hl7.org/fhir/us/davinci-dtr/CapabilityStatement/dtr-payer-service']);
    const rest = cs.rest![0];
    expect(rest.security!.service![0].coding![0].code).toBe('SMART-on-FHIR');
    expect(JSON.stringify(rest.security!.extension)).toContain(`${PUBLIC_BASE}/auth/token`);
    const q = rest.resource!.find((r) => r.type === 'Questionnaire')!;
    expect(q.supportedProfile).toEqual(expect.arrayContaining(['http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire', 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaire-adapt-search']));
    expect(q.operation!.map((o) => o.name)).toEqual(expect.arrayContaining(['questionnaire-package', 'next-question']));
  });

  describe('static (payer_server_static_package)', () => {
    let out: { status: number; body: Record<string, unknown> };
    let bundles: Bundle[];
    beforeAll(async () => {
      out = await fhirPost('/Questionnaire/$questionnaire-package', example('questionnaire-package.json'), await dtrToken('system/*.read'));
      bundles = bundlesOf(out.body);
    });

    it('dtr_v201_payer_static_form_response_test: 200 or 201, a Parameters whose PackageBundle is a collection with the Questionnaire first', () => {
      expect([200, 201]).toContain(out.status);
      expect(out.body.resourceType).toBe('Parameters');
      expect((out.body as unknown as Parameters).parameter!.map((p) => p.name)).toContain('PackageBundle');
      expect(bundles).toHaveLength(1);
      expect(bundles[0].type).toBe('collection');
      expect(bundles[0].entry![0].resource!.resourceType).toBe('Questionnaire');
      // dtr-std-questionnaire: text 1..1 (issue 17, 2), subjectType Patient.
      const q = bundles[0].entry![0].resource as Questionnaire;
      expect(q.meta!.profile).toEqual(['http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire']);
      expect(q.text?.status).toBe('generated');
      expect(q.text?.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
      expect(q.subjectType).toEqual(['Patient']);
      // Every profiled conformance resource of the package carries its narrative.
      for (const r of bundles[0].entry!.map((e) => e.resource!).filter((r) => ['Questionnaire', 'Library', 'ValueSet'].includes(r.resourceType))) {
        expect({ id: `${r.resourceType}/${r.id}`, text: Boolean((r as { text?: unknown }).text) }).toEqual({ id: `${r.resourceType}/${r.id}`, text: true });
      }
    });

    it('dtr_v201_payer_static_form_libraries_test', () => checkLibraries(entriesOf<Library>(bundles, 'Library')));

    it('dtr_v201_payer_static_form_extensions_test', () => {
      checkQuestionnaireExtensions(entriesOf<Questionnaire>(bundles, 'Questionnaire'), entriesOf<Library>(bundles, 'Library').map((l) => l.url!));
    });

    it('dtr_v201_payer_static_form_expressions_test', () => {
      checkQuestionnaireItems(entriesOf<Questionnaire>(bundles, 'Questionnaire'), entriesOf<Library>(bundles, 'Library').map((l) => l.name!));
    });
  });

  describe('adaptive (payer_server_adaptive_questionnaire)', () => {
    let out: { status: number; body: Record<string, unknown> };
    let bundles: Bundle[];
    let nexts: { status: number; body: Record<string, unknown> }[];
    beforeAll(async () => {
      const token = await dtrToken();
      // The tester's inputs: the package request at the custom endpoint of the adaptive questionnaire, then the next-question requests in order.
      out = await fhirPost('/Questionnaire/kineret-pa-adaptive/$questionnaire-package', example('questionnaire-package.json'), token);
      bundles = bundlesOf(out.body);
      nexts = [];
      for (const body of example<QuestionnaireResponse[]>('next-question-requests.json')) nexts.push(await fhirPost('/Questionnaire/$next-question', body, token));
    });

    it('payer_server_adaptive_response_validation_test: 200 or 201 and a package', () => {
      expect([200, 201]).toContain(out.status);
      expect(bundles).toHaveLength(1);
      expect(bundles[0].entry![0].resource!.resourceType).toBe('Questionnaire');
    });

    it('payer_server_adaptive_response_search_validation_test: the Questionnaire is a dtr-questionnaire-adapt-search', () => {
      const q = bundles[0].entry![0].resource as Questionnaire;
      expect(q.meta!.profile).toEqual(['http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaire-adapt-search']);
      expect(q.extension!.some((e) => e.url === 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive')).toBe(true);
    });

    it('dtr_v201_payer_adaptive_form_libraries_test, _extensions_test, _expressions_test', () => {
      const libraries = entriesOf<Library>(bundles, 'Library');
      checkLibraries(libraries);
      const qs = entriesOf<Questionnaire>(bundles, 'Questionnaire');
      checkQuestionnaireExtensions(qs, libraries.map((l) => l.url!));
      checkQuestionnaireItems(qs, libraries.map((l) => l.name!));
    });

    it('payer_server_next_response_validation_test: every $next-question answers 200 with a QuestionnaireResponse (issue 17, 6)', () => {
      expect(nexts.map((n) => n.status)).toEqual(nexts.map(() => 200));
      for (const n of nexts) {
        expect(n.body.resourceType).toBe('QuestionnaireResponse');
        const qr = n.body as unknown as QuestionnaireResponse;
        const q = qr.contained!.find((r) => r.resourceType === 'Questionnaire') as Questionnaire;
        expect(qr.questionnaire).toBe(`#${q.id}`);
        // dtr-questionnaire-adapt: text 1..1, derivedFrom 1..1, no enableWhen; sdc-questionnaire-adapt: no url or version, item.text 1..1.
        expect(q.text?.div).toBeDefined();
        expect(q.derivedFrom).toHaveLength(1);
        expect([q.url, q.version]).toEqual([undefined, undefined]);
        for (const i of itemsOf(q.item)) expect([i.enableWhen, typeof i.text]).toEqual([undefined, 'string']);
      }
    });

    it('dtr_v201_payer_adaptive_next_question_extensions_test, _expressions_test: the contained Questionnaires show prepopulation in CQL', () => {
      const libraries = entriesOf<Library>(bundles, 'Library');
      const qs = nexts.flatMap((n) => ((n.body as unknown as QuestionnaireResponse).contained ?? []).filter((r): r is Questionnaire => r.resourceType === 'Questionnaire'));
      checkQuestionnaireExtensions(qs, libraries.map((l) => l.url!));
      checkQuestionnaireItems(qs, libraries.map((l) => l.name!));
    });

    it('payer_server_adaptive_completion_test: the sequence ends with a completed response, which $evaluate accepts', async () => {
      const last = nexts[nexts.length - 1].body as unknown as QuestionnaireResponse;
      expect(nexts.map((n) => (n.body as unknown as QuestionnaireResponse).status)).toEqual([...nexts.slice(1).map(() => 'in-progress'), 'completed']);
      const data = example<Parameters>('populate.json').parameter!.find((p) => p.name === 'data')!.resource;
      const det = await fhirPost('/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: last }, { name: 'data', resource: data }, { name: 'date', valueDate: '2026-11-28' }] }, await dtrToken());
      expect(det.status).toBe(200);
      expect((det.body as unknown as Parameters).parameter!.find((p) => p.name === 'decision')!.valueCode).toBe('approved');
    });
  });
});
