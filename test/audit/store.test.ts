/**
 * The audit store, on SQLite always and on PostgreSQL when TEST_DATABASE_URL names one
 * (.ci/run starts PostgreSQL and sets it).
 */
import { randomUUID } from 'node:crypto';
import type { AuditStore, HookCallRecord } from '../../src/audit/store';
import { storeEngines } from '../support/stores';

jest.setTimeout(30_000);
const engines = storeEngines('audit store');

function call(overrides: Partial<HookCallRecord> = {}): HookCallRecord {
  return {
    requestId: randomUUID(), hookInstance: randomUUID(), serviceId: 'crd-order-sign', clientIss: 'https://ehr.test', patientId: 'p1',
    orderIds: ['MedicationRequest/1'], receivedAt: new Date().toISOString(), durationMs: 12.5, status: 200, response: { cards: [] }, requestHash: 'h', ...overrides,
  };
}

describe.each(engines)('%s audit store', (_name, open) => {
  let store: AuditStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store.close();
  });

  it('migrations are idempotent', async () => {
    await store.migrate();
    await store.migrate();
  });

  it('records a hook call with its assertions, atomically, and refuses a second answer for the same hookInstance', async () => {
    const c = call();
    const assertionId = randomUUID();
    const ext = { url: 'ext-coverage-information', extension: [] };
    expect(await store.recordHook(c, [{ assertionId, orderRef: 'MedicationRequest/1', coverageRef: 'Coverage/c', extension: ext, issuedAt: c.receivedAt }])).toBe('recorded');
    expect(await store.recordHook({ ...call({ hookInstance: c.hookInstance }) }, [])).toBe('duplicate');
    // a refused (non-200) answer for the same hookInstance is still recorded
    expect(await store.recordHook(call({ hookInstance: c.hookInstance, status: 409 }), [])).toBe('recorded');
    const found = await store.findHookCalls(c.hookInstance);
    expect(found.map((f) => f.status).sort()).toEqual([200, 409]);
    const a = await store.findAssertion(assertionId);
    expect(a?.assertions[0].extension).toEqual(ext);
    expect(a?.call?.requestId).toBe(c.requestId);
  });

  it('a failed write leaves nothing behind (the assertion insert fails, the call is rolled back)', async () => {
    const c = call();
    const dup = randomUUID();
    const a = { assertionId: dup, orderRef: 'MedicationRequest/1', coverageRef: 'Coverage/c', extension: {}, issuedAt: c.receivedAt };
    const outcome = await store.recordHook(c, [a, a]).then((r) => `resolved ${r}`, (e: Error) => `rejected ${(e as { code?: string }).code}: ${e.message}`);
    expect(outcome).toMatch(/^rejected/);
    expect(await store.findHookCalls(c.hookInstance)).toEqual([]);
  });

  it('calls answered together are committed together, each durable before it resolves; a bad one fails alone', async () => {
    const before = store.writeStats();
    const retried = call();
    const bad = call();
    const a = { assertionId: randomUUID(), orderRef: 'MedicationRequest/1', coverageRef: 'Coverage/c', extension: {}, issuedAt: bad.receivedAt };
    const good = Array.from({ length: 8 }, () => call());
    const outcomes = await Promise.all([
      ...good.map((c) => store.recordHook(c, [])),
      store.recordHook(retried, []),
      store.recordHook({ ...retried, requestId: randomUUID() }, []), // the same call again in the same batch: a retry
      store.recordHook(bad, [a, a]).catch((e: Error) => `rejected: ${e.message}`),
    ]);
    expect(outcomes.slice(0, 10)).toEqual([...good.map(() => 'recorded'), 'recorded', 'duplicate']);
    expect(outcomes[10]).toMatch(/^rejected/);
    for (const c of good) expect(await store.findHookCalls(c.hookInstance)).toHaveLength(1);
    expect(await store.findHookCalls(retried.hookInstance)).toHaveLength(1);
    expect(await store.findHookCalls(bad.hookInstance)).toEqual([]);
    const after = store.writeStats();
    expect(after.records - before.records).toBe(10);
    expect(after.commits - before.commits).toBeLessThan(10);
  });

  it('a stored response is read by its owner and by an auditor, by no one else', async () => {
    const qr = { resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: 'Patient/p1' } } as const;
    const a = await store.saveResponse(qr, { resourceType: 'Parameters' }, 'client-a');
    const anonymous = await store.saveResponse(qr, { resourceType: 'Parameters' }, '');
    expect(await store.getResponse(a, { all: false, owner: 'client-b' })).toBeUndefined();
    expect(await store.getResponse(a, { all: false, owner: '' })).toBeUndefined();
    expect((await store.getResponse(a, { all: true }))?.response.id).toBe(a);
    expect(await store.getResponse(anonymous, { all: false, owner: 'client-a' })).toBeUndefined();
    expect((await store.getResponse(anonymous, { all: false, owner: '' }))?.response.id).toBe(anonymous);
  });

  it('keeps the audience of a claimed jti (CDS_JTI_REUSE) and sweeps expired claims', async () => {
    const jti = randomUUID();
    const exp = Math.floor(Date.now() / 1000) + 300;
    expect(await store.claimJti('iss', jti, exp, 'https://payer.test/cds-services/crd-order-sign')).toBe(true);
    expect(await store.findJti('iss', jti)).toEqual({ exp, aud: 'https://payer.test/cds-services/crd-order-sign' });
    const old = randomUUID();
    expect(await store.claimJti('iss', old, Math.floor(Date.now() / 1000) - 7200)).toBe(true);
    await store.claimJti('iss', randomUUID(), exp);
    expect(await store.findJti('iss', old)).toBeUndefined();
  });

  it('claims a jti once', async () => {
    const jti = randomUUID();
    const exp = Math.floor(Date.now() / 1000) + 300;
    expect(await store.claimJti('iss', jti, exp)).toBe(true);
    expect(await store.claimJti('iss', jti, exp)).toBe(false);
    expect(await store.claimJti('other', jti, exp)).toBe(true);
  });

  it('claims made together (one commit) are each decided: a jti claimed twice at once is granted once', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const [a, b] = [randomUUID(), randomUUID()];
    const granted = await Promise.all([store.claimJti('iss', a, exp), store.claimJti('iss', a, exp), store.claimJti('iss', b, exp), store.claimJti('other', a, exp)]);
    expect(granted).toEqual([true, false, true, true]);
  });

  it('stores responses, DTR events and feedback', async () => {
    const id = await store.saveResponse({ resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: 'Patient/p1' } }, { resourceType: 'Parameters' }, 'client-a');
    expect((await store.getResponse(id, { all: false, owner: 'client-a' }))?.response.id).toBe(id);
    await store.recordDtrEvent({ kind: 'determination', clientId: 'c', patientId: 'Patient/p1', detail: { decision: 'pended' } });
    expect((await store.recentDtrEvents('determination', 1))[0].detail).toEqual({ decision: 'pended' });
    await store.recordFeedback({ serviceId: 's', clientIss: 'i', cardUuid: randomUUID(), outcome: 'accepted', body: {} });
    expect(await store.countHookCalls()).toBeGreaterThan(0);
  });
});
