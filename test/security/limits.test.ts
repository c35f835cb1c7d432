/**
 * Bounded work (issue 15, finding 5) and card markdown (low finding): the limits on draft orders
 * and on the resources a request brings, the hook budget between evaluations, and record-derived
 * text escaped in cards.
 */
import { randomUUID } from 'node:crypto';
import type { FhirResource } from 'fhir/r4';
import { execFileSync } from 'node:child_process';
import { escapeMarkdown } from '../../src/crd/markdown';
import { ROOT } from '../../src/paths';
import { jsonTextTooDeep } from '../../src/http/errors';
import { countResources, hookOverLimit } from '../../src/security/limits';
import { loadScenarios } from '../corpus';
import { orderSignRequest, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';
import { startFhirStub } from '../support/fhir-stub';

jest.setTimeout(120_000);

/** Renders markdown with marked (the renderer the sandbox page uses; ESM-only, so in a child process). */
function render(markdowns: string[]): string[] {
  const script = "import { marked } from 'marked'; let s = ''; process.stdin.on('data', (c) => (s += c)); process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(s).map((m) => marked.parse(m)))));";
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(markdowns), cwd: ROOT }).toString()) as string[];
}

const path = '/cds-services/crd-order-sign';
const scenario = () => loadScenarios().find((s) => s.name === 'ra-mtx-failure-approved')!;

describe('limits per request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_DRAFT_ORDERS: '20', MAX_PREFETCH_RESOURCES: '2000' });
  });
  afterAll(async () => {
    await t.services.store.close();
  });

  it('the depth scan counts nesting outside strings only, escapes included', () => {
    const enc = (x: string) => Buffer.from(x);
    expect(jsonTextTooDeep(enc('[[[]]]'), 3)).toBe(false);
    expect(jsonTextTooDeep(enc('[[[[]]]]'), 3)).toBe(true);
    expect(jsonTextTooDeep(enc(JSON.stringify({ a: '[[[[[[[[', b: '\\"[[[[[', c: [[1]] })), 3)).toBe(false);
    expect(jsonTextTooDeep(enc(`{"a":"\\\\","b":[[[[1]]]]}`), 3)).toBe(true);
  });

  it('counts resources at any depth (Bundle entries, contained, Parameters parts)', () => {
    const obs = { resourceType: 'Observation', contained: [{ resourceType: 'Medication' }] };
    expect(countResources({ a: { resourceType: 'Bundle', entry: [{ resource: obs }, { resource: obs }] }, b: [obs] })).toBe(6);
    expect(countResources(null)).toBe(0);
    expect(hookOverLimit({ context: { draftOrders: { entry: new Array(3) } } }, { maxDraftOrders: 2, maxPrefetchResources: 10 })).toMatch(/MAX_DRAFT_ORDERS/);
  });

  it('a prefetch of 30,000 resources is refused with 422 naming MAX_PREFETCH_RESOURCES, before any evaluation', async () => {
    const req = orderSignRequest(scenario());
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${req.context.patientId}` } };
    (req.prefetch as Record<string, unknown>).observations = { resourceType: 'Bundle', type: 'searchset', entry: Array.from({ length: 30_000 }, (_, i) => ({ resource: { ...observation, id: `o${i}` } })) };
    const res = await t.post(path, req);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: 'over-limit' });
    expect(res.body.message).toMatch(/more than 2000 FHIR resources.*MAX_PREFETCH_RESOURCES/);
    expect(await t.services.store.findHookCalls(req.hookInstance)).toEqual([]);
  });

  it('more draft orders than MAX_DRAFT_ORDERS is a 422', async () => {
    const req = orderSignRequest(scenario());
    const order = req.context.draftOrders.entry[0].resource;
    req.context.draftOrders.entry = Array.from({ length: 21 }, (_, i) => ({ resource: { ...order, id: `o${i}` } }));
    const res = await t.post(path, req);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/21 entries; at most 20.*MAX_DRAFT_ORDERS/);
  });

  it('a record fetched from the EHR that is larger than MAX_PREFETCH_RESOURCES is not evaluated: the card says so', async () => {
    const { patientId, record } = splitScenario(scenario());
    // AllergyIntolerance is read whole (no code filter), so the EHR sends all 2,500.
    const filler: FhirResource[] = Array.from({ length: 2500 }, (_, i) => ({ resourceType: 'AllergyIntolerance', id: `a${i}`, code: { text: 'x' }, patient: { reference: `Patient/${patientId}` } }));
    const stub = await startFhirStub([...record, ...filler], { pageSize: 1000 });
    t.allowFhirServer(stub.url);
    try {
      const res = await t.post(path, orderSignRequest(scenario(), { prefetch: {}, fhirServer: stub.url }));
      expect(res.status).toBe(200);
      expect(res.body.cards[0].summary).toMatch(/could not be determined/);
      expect(res.body.cards[0].detail).toMatch(/more than 2000 resources/);
      expect(res.body.systemActions ?? []).toEqual([]);
    } finally {
      await stub.close();
    }
  });

  it('DTR operations refuse patient data over MAX_PREFETCH_RESOURCES with a 422 OperationOutcome', async () => {
    const { patientId, record } = splitScenario(scenario());
    const filler: FhirResource[] = Array.from({ length: 2500 }, (_, i) => ({ resourceType: 'Observation', id: `f${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patientId}` } }));
    const data = { resourceType: 'Bundle', type: 'collection', entry: [...record, ...filler].map((resource) => ({ resource })) };
    for (const [op, body] of [
      ['/fhir/QuestionnaireResponse/$evaluate', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: { resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: `Patient/${patientId}` } } }, { name: 'data', resource: data }] }],
      ['/fhir/Questionnaire/$populate', { resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: { reference: `Patient/${patientId}` } }, { name: 'data', resource: data }] }],
    ] as const) {
      const res = await t.fhirPost(op, body);
      expect({ op, status: res.status }).toEqual({ op, status: 422 });
      expect(res.body.issue[0]).toMatchObject({ code: 'too-costly' });
      expect(res.body.issue[0].diagnostics).toMatch(/MAX_PREFETCH_RESOURCES/);
    }
  });
});

describe('the hook budget bounds evaluation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ HOOK_BUDGET_MS: '300' });
  });
  afterAll(async () => {
    await t.services.store.close();
  });

  it('100 Kineret draft orders: no evaluation starts once the budget is spent; the rest are honestly not determined in time', async () => {
    const req = orderSignRequest(scenario());
    const order = req.context.draftOrders.entry[0].resource;
    req.context.draftOrders.entry = Array.from({ length: 100 }, (_, i) => ({ resource: { ...order, id: `kineret-${i}` } }));
    const started = performance.now();
    const res = await t.post(path, req);
    const evaluatedFor = performance.now() - started;
    expect(res.status).toBe(200);
    const card = res.body.cards[0];
    expect(card.detail).toMatch(/could not be evaluated for every order within the time allowed/);
    expect(card.detail).toMatch(/The policy criteria could not be evaluated for this order/);
    // Honest, never an approval: every order is still flagged for prior authorization.
    expect(card.summary).toMatch(/Prior authorization required/);
    // Not a timing assertion on the machine: the count of evaluations made is what the budget bounds.
    const evaluated = (card.detail.match(/The record suggests/g) ?? []).length;
    expect(evaluated).toBeGreaterThanOrEqual(1);
    expect(evaluated).toBeLessThan(100);
    void evaluatedFor;
  });
});

describe('card markdown', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.services.store.close();
  });

  it('an order name and id from the request cannot put links, images, HTML or structure in a card', async () => {
    const req = orderSignRequest(scenario());
    const order = req.context.draftOrders.entry[0].resource as unknown as Record<string, unknown>;
    const evil = 'Kineret [click here](https://evil.example/phish) ![x](https://evil.example/t.png) <img src=x onerror=alert(1)> **urgent** www.evil.example\n# Approved';
    order.medicationCodeableConcept = { ...(order.medicationCodeableConcept as object), text: evil };
    const res = await t.post(path, { ...req, hookInstance: randomUUID() });
    expect(res.status).toBe(200);
    const details = (res.body.cards as { detail: string }[]).map((c) => c.detail);
    expect(details.join('\n')).toContain('click here');
    for (const html of render(details)) {
      expect(html).not.toMatch(/<a |<img|onerror=alert\(1\)>|<h1|<strong>urgent/i);
    }
    expect(render(details)[0]).toContain('[click here](https://evil.example/phish)');
  });

  it('escapes inline markup, HTML, autolinks and block starts; plain words stay as they are', () => {
    expect(escapeMarkdown('Kineret 100 mg/0.67 mL')).toBe('Kineret 100 mg/0.67 mL');
    expect(escapeMarkdown('# h')).toBe('\\# h');
    expect(escapeMarkdown('1. x')).toBe('1\\. x');
    expect(escapeMarkdown('a\nb')).toBe('a b');
    const cases = [['[a](http://b)', /<a /], ['<b>x</b>', /<b>/], ['http://evil.example', /<a /], ['x@evil.example', /<a /], ['www.evil.example', /<a /], ['`x`', /<code/], ['*x*', /<em/], ['> q', /<blockquote/], ['- x', /<li>\s*<ul/]] as const;
    const html = render([...cases.map(([text]) => `- ${escapeMarkdown(text)}`), `| h |\n|---|\n| ${escapeMarkdown('a | b')} |`]);
    cases.forEach(([text, forbidden], i) => expect({ text, markup: forbidden.test(html[i]) }).toEqual({ text, markup: false }));
    expect(html[cases.length].match(/<td/g)).toHaveLength(1);
  });
});
