import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { loadScenarios } from '../corpus';
import { orderSignRequest, splitScenario } from '../hook-requests';
import { startTestApp, type TestApp } from '../support/app';

let t: TestApp;
const path = '/cds-services/crd-order-sign';
const scenario = loadScenarios().find((s) => s.name === 'concurrent-tnf-not-met')!;

beforeAll(async () => {
  t = await startTestApp({ BODY_LIMIT_BYTES: String(2 * 1024 * 1024), HOOK_BUDGET_MS: '1500', FHIR_TIMEOUT_MS: '1000', FHIR_MAX_RESPONSE_BYTES: String(1024 * 1024) });
});
afterAll(async () => {
  await t.services.store.close();
});

const signed = async (body: string, contentType = 'application/json') =>
  request(t.app).post(path).set('Content-Type', contentType).set('Authorization', `Bearer ${await t.cdsJwt(path)}`).send(body);

describe('hostile input never crashes the service nor answers 500', () => {
  it('malformed JSON is 400; a wrong content type is 415; a body over the limit is 413', async () => {
    expect((await signed('{"hook": "order-sign", ')).status).toBe(400);
    expect((await signed('hook=order-sign', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await signed('<xml/>', 'text/xml')).status).toBe(415);
    const big = JSON.stringify({ ...orderSignRequest(scenario), padding: 'x'.repeat(3 * 1024 * 1024) });
    const res = await signed(big);
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload-too-large');
  });

  it('deeply nested JSON is refused with 400', async () => {
    const depth = 5000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const body = JSON.stringify(orderSignRequest(scenario)).replace(/}$/, `, "deep": ${nested}}`);
    const res = await signed(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/nested/);
  });

  it('huge draftOrders are refused with 422', async () => {
    const req = orderSignRequest(scenario);
    const order = req.context.draftOrders.entry[0].resource;
    req.context.draftOrders.entry = Array.from({ length: 500 }, (_, i) => ({ resource: { ...order, id: `o${i}` } }));
    const res = await t.post(path, req);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/draftOrders/);
  });

  it('resources of the wrong type and shape, invalid dates and codes are refused with 422 and an OperationOutcome naming each element', async () => {
    const req = orderSignRequest(scenario);
    const order = req.context.draftOrders.entry[0].resource as unknown as Record<string, unknown>;
    req.context.draftOrders.entry.push({ resource: { resourceType: 'Patient', id: 'x' } as never });
    req.context.draftOrders.entry.push({ resource: { resourceType: 'MedicationRequest', id: 'weird', medicationCodeableConcept: 'kineret', dosageInstruction: 'daily' } as never });
    order.authoredOn = 'yesterday';
    const prefetch = req.prefetch as Record<string, unknown>;
    (prefetch.patient as Record<string, unknown>).birthDate = 'not-a-date';
    prefetch.conditions = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Condition', id: 'c', code: 42, clinicalStatus: 'active' } }] };
    prefetch.medicationRequests = { resourceType: 'Bundle', entry: 'nope' };
    const res = await t.post(path, req);
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('invalid-request');
    expect(res.body.operationOutcome.issue.map((i: { severity: string; code: string; expression: string[]; diagnostics: string }) => [i.severity, i.code, i.expression, i.diagnostics])).toEqual([
      ['error', 'value', ['Bundle.entry[0].resource.authoredOn'], 'context.draftOrders: Bundle.entry[0].resource.authoredOn is the string "yesterday", not a FHIR dateTime'],
      ['error', 'structure', ['Bundle.entry[2].resource.medicationCodeableConcept'], 'context.draftOrders: Bundle.entry[2].resource.medicationCodeableConcept is the string "kineret" where FHIR R4 has a CodeableConcept'],
      ['error', 'structure', ['Bundle.entry[2].resource.dosageInstruction'], 'context.draftOrders: Bundle.entry[2].resource.dosageInstruction is the string "daily" where FHIR R4 has a list of Dosage'],
      ['error', 'value', ['Patient.birthDate'], 'prefetch.patient: Patient.birthDate is the string "not-a-date", not a FHIR date'],
      ['error', 'structure', ['Bundle.entry[0].resource.code'], 'prefetch.conditions: Bundle.entry[0].resource.code is the number 42 where FHIR R4 has a CodeableConcept'],
      ['error', 'structure', ['Bundle.entry[0].resource.clinicalStatus'], 'prefetch.conditions: Bundle.entry[0].resource.clinicalStatus is the string "active" where FHIR R4 has a CodeableConcept'],
      ['error', 'structure', ['Bundle.entry'], 'prefetch.medicationRequests: Bundle.entry is the string "nope" where FHIR R4 has a list of entry elements'],
    ]);
  });

  it('a duplicated hookInstance: the same call again gets the recorded answer; a different call is answered and recorded as a distinct call', async () => {
    const req = orderSignRequest(scenario);
    const first = await t.post(path, req);
    expect(first.status).toBe(200);
    const retry = await t.post(path, req);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['x-replayed-from']).toBeTruthy();
    const changed = await t.post(path, { ...req, context: { ...req.context, userId: 'Practitioner/someone-else' } });
    expect(changed.status).toBe(200);
    expect(changed.headers['x-replayed-from']).toBeUndefined();
    const calls = await t.services.store.findHookCalls(req.hookInstance);
    expect(calls.map((c) => c.status)).toEqual([200, 200]);
    expect(new Set(calls.map((c) => c.requestHash)).size).toBe(2);
  });

  it('a fhirServer that returns 10 MB is cut off and answered honestly', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      res.end(`{"resourceType":"Bundle","entry":[${'{"resource":{"resourceType":"Condition"}},'.repeat(250_000)}{}]}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    t.allowFhirServer(url);
    try {
      const res = await t.post(path, orderSignRequest(scenario, { prefetch: {}, fhirServer: url }));
      expect(res.status).toBe(200);
      expect(res.body.cards[0].summary).toMatch(/could not be determined/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('fuzz: mutated valid hook requests are always answered with 2xx or 4xx', async () => {
    const base = orderSignRequest(scenario);
    const paths: string[][] = [];
    const collect = (v: unknown, p: string[]) => {
      if (p.length > 8) return;
      paths.push(p);
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) collect(x, [...p, k]);
    };
    collect(base, []);
    const value = fc.oneof(
      fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.constant(''), fc.constant([]), fc.constant({}),
      fc.constant('2026-13-45'), fc.constant({ resourceType: 'OperationOutcome' }), fc.constant({ resourceType: 'Bundle', entry: [{}] }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const mutation = fc.tuple(fc.integer({ min: 1, max: paths.length - 1 }), fc.oneof(value, fc.constant(undefined)));
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const req = structuredClone(base) as unknown as Record<string, unknown>;
        req.hookInstance = crypto.randomUUID();
        for (const [i, v] of mutations) {
          const p = paths[i];
          let target = req as Record<string, unknown>;
          for (const k of p.slice(0, -1)) {
            if (!target || typeof target !== 'object') break;
            target = target[k] as Record<string, unknown>;
          }
          if (target && typeof target === 'object') {
            if (v === undefined) delete target[p[p.length - 1]];
            else target[p[p.length - 1]] = v;
          }
        }
        const res = await t.post(path, req);
        if (res.status >= 500) throw new Error(`status ${res.status} for mutations ${JSON.stringify(mutations.map(([i, v]) => [paths[i].join('.'), v]))}: ${JSON.stringify(res.body)}`);
        return res.status >= 200 && res.status < 500;
      }),
      { numRuns: 120, seed: Number(process.env.FUZZ_SEED ?? 20261128) },
    );
    expect((await request(t.app).get('/health')).status).toBe(200);
  }, 120_000);
});

void splitScenario;
