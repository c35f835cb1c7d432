/**
 * The prior authorization store on SQLite always, and on PostgreSQL when TEST_DATABASE_URL names a
 * database: one request per client and Claim.identifier, decisions guarded against a concurrent
 * reviewer, the queue order, inquiry by example with tenancy, replacement, authorizations on file
 * by member key, and reviewer sessions.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClaimResponse } from 'fhir/r4';
import { Client } from 'pg';
import { openAuditStore } from '../../src/audit/open';
import type { AuditStore } from '../../src/audit/store';
import type { Clock } from '../../src/core/clock';
import { hashPassword, ReviewerRegistry, ReviewerSessions } from '../../src/pas/reviewers';
import { PaConflict, PaStore, type NewRequest } from '../../src/pas/store';
import type { DecisionRecord, PaRequest } from '../../src/pas/types';

jest.setTimeout(60_000);
const pgUrl = process.env.TEST_DATABASE_URL;
const engines: [string, () => Promise<AuditStore>][] = [
  ['sqlite', async () => openAuditStore(path.join(mkdtempSync(path.join(tmpdir(), 'pa-')), 'audit.sqlite'))],
];
if (pgUrl) {
  engines.push(['postgres', async () => {
    const schema = `pa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    return openAuditStore(pgUrl, { schema });
  }]);
} else {
  console.warn('PostgreSQL prior authorization store tests SKIPPED: TEST_DATABASE_URL is not set (see test/audit/store.test.ts).');
  it.skip('PostgreSQL prior authorization store (set TEST_DATABASE_URL to run it)', () => undefined);
}

const CR = { resourceType: 'ClaimResponse', status: 'active', use: 'preauthorization', patient: {}, created: '2026-11-30', outcome: 'queued' } as unknown as ClaimResponse;

function newRequest(over: Partial<PaRequest> & { memberKeys?: string[]; patientKeys?: string[] } = {}): NewRequest {
  const id = randomUUID();
  const { memberKeys = ['subscriber:M1#self'], patientKeys = ['https://plan/member|M1'], ...rest } = over;
  const request: PaRequest = {
    id, owner: 'ehr-a', claimIdentifier: { system: 'urn:claims', value: `C-${id}` }, contentHash: 'h1', patientRef: 'Patient/p1', orderRef: 'MedicationRequest/o1',
    coverageRef: 'Coverage/c1', providerRef: 'Practitioner/dr', providerNpi: '1234567893', drug: 'kineret', indication: 'RA', priority: 'standard',
    status: 'pended', receivedAt: '2026-11-30T10:00:00.000Z', dueAt: '2026-12-07T10:00:00.000Z', decidedAt: null, authNumber: null, period: null,
    replaces: null, replacedBy: null, submission: { resourceType: 'Bundle', type: 'collection', entry: [] },
    assessment: { outcome: 'pended', approvalPeriod: null, approvalReason: '', reasons: [], approvalMonths: 6, indication: 'RA', requestType: 'initial', criteria: [], evaluationDate: '2026-11-30' },
    claimResponse: CR, version: 1, ...rest,
  };
  return { request, memberKeys, patientKeys, decision: decision(id, 'automated-pend') };
}

function decision(requestId: string, action: DecisionRecord['action'], over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    id: randomUUID(), requestId, action, actorKind: action.startsWith('automated') ? 'system' : 'reviewer', actor: action.startsWith('automated') ? 'KineretPA|1.0.0' : 'dr-kim',
    humanReviewed: !action.startsWith('automated'), reviewer: null, reasonCode: null, reasonText: null, letterText: null, period: null, authNumber: null,
    at: '2026-11-30T10:00:00.000Z', detail: null, ...over,
  };
}

const approve = (authNumber: string, period = { start: '2026-12-01', end: '2027-05-31' }) => ({ status: 'approved' as const, claimResponse: CR, decidedAt: '2026-12-01T09:00:00.000Z', authNumber, period });

describe.each(engines)('%s prior authorization store', (_name, open) => {
  let store: AuditStore;
  let pas: PaStore;
  beforeAll(async () => {
    store = await open();
    pas = new PaStore(store.sql());
  });
  afterAll(async () => {
    await store.close();
  });

  it('one request per client and Claim.identifier; another client may use the same identifier', async () => {
    const first = newRequest();
    expect(await pas.add(first)).toBe('added');
    expect(await pas.add({ ...newRequest(), request: { ...newRequest().request, claimIdentifier: first.request.claimIdentifier } })).toBe('exists');
    const other = newRequest({ owner: 'ehr-b' });
    other.request.claimIdentifier = first.request.claimIdentifier;
    expect(await pas.add(other)).toBe('added');
    expect((await pas.byClaimIdentifier('ehr-a', first.request.claimIdentifier))!.id).toBe(first.request.id);
    expect(await pas.byId(first.request.id, { all: false, owner: 'ehr-b' })).toBeUndefined();
    expect((await pas.byId(first.request.id, { all: true }))!.owner).toBe('ehr-a');
  });

  it('a decision applies once: of two reviewers deciding at the same time, one wins, the other gets PaConflict', async () => {
    const n = newRequest();
    await pas.add(n);
    const results = await Promise.allSettled([
      pas.decide(n.request.id, 1, approve(`KPA-${randomUUID().slice(0, 8)}`), decision(n.request.id, 'approve')),
      pas.decide(n.request.id, 1, { status: 'denied', claimResponse: CR, decidedAt: '2026-12-01T09:00:00.000Z', authNumber: null, period: null }, decision(n.request.id, 'deny')),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(PaConflict);
    expect((await pas.decisions(n.request.id)).map((d) => d.action)).toHaveLength(2);
  });

  it('the queue: open requests only, expedited first, then by due time', async () => {
    const late = newRequest({ dueAt: '2030-01-09T00:00:00.000Z' });
    const early = newRequest({ dueAt: '2030-01-02T00:00:00.000Z' });
    const urgent = newRequest({ priority: 'expedited', dueAt: '2030-01-05T00:00:00.000Z' });
    for (const x of [late, early, urgent]) await pas.add(x);
    const ids = (await pas.queue()).map((r) => r.id);
    const ours = ids.filter((id) => [late, early, urgent].some((x) => x.request.id === id));
    expect(ours).toEqual([urgent.request.id, early.request.id, late.request.id]);
  });

  it('inquiry by example: patient identifier and provider NPI, within the reader; a replaced request answers with its replacement', async () => {
    const original = newRequest({ owner: 'ehr-q', patientKeys: ['https://plan/member|Q1'] });
    await pas.add(original);
    const replacement = newRequest({ owner: 'ehr-q', patientKeys: ['https://plan/member|Q1'], replaces: original.request.id });
    await pas.add({ ...replacement, replacing: { id: original.request.id, version: 1, decision: decision(original.request.id, 'replaced') } });
    const q = { patientKeys: ['https://plan/member|Q1'], patientRef: null, providerNpi: '1234567893', providerRef: null };
    const found = await pas.inquire({ ...q, reader: { all: false, owner: 'ehr-q' }, claimIdentifier: original.request.claimIdentifier });
    expect(found.map((r) => r.id)).toEqual([replacement.request.id]);
    expect(await pas.inquire({ ...q, reader: { all: false, owner: 'ehr-other' } })).toEqual([]);
    expect(await pas.inquire({ ...q, providerNpi: '1111111112', reader: { all: false, owner: 'ehr-q' } })).toEqual([]);
    // A replaced request cannot be replaced again.
    await expect(pas.add({ ...newRequest({ owner: 'ehr-q' }), replacing: { id: original.request.id, version: 2, decision: decision(original.request.id, 'replaced') } })).rejects.toBeInstanceOf(PaConflict);
  });

  it('authorizations on file: approved ones of the drug under any of the member keys, ending on or after the date', async () => {
    const n = newRequest({ memberKeys: ['member:https://plan|Z9', 'subscriber:Z9#self'] });
    await pas.add(n);
    const number = `KPA-${randomUUID().slice(0, 8).toUpperCase()}`;
    await pas.decide(n.request.id, 1, approve(number), decision(n.request.id, 'approve'));
    expect(await pas.authorizationsOnFile(['subscriber:Z9#self'], 'kineret', '2026-12-15')).toEqual([{ number, indication: 'RA', start: '2026-12-01', end: '2027-05-31', issued: '2026-12-01' }]);
    expect(await pas.authorizationsOnFile(['subscriber:Z9#self'], 'kineret', '2027-06-01')).toEqual([]);
    expect(await pas.authorizationsOnFile(['subscriber:OTHER#self'], 'kineret', '2026-12-15')).toEqual([]);
    expect(await pas.authorizationsOnFile(['subscriber:Z9#self'], 'another-drug', '2026-12-15')).toEqual([]);
  });

  it('reviewer sessions are shared through the store and end at sign-out', async () => {
    let at = new Date('2026-11-30T10:00:00Z');
    const clock: Clock = { now: () => at };
    const registry = new ReviewerRegistry();
    registry.add({ id: 'r1', name: 'R One', passwordHash: await hashPassword('twelve chars ok'), roles: ['reviewer'] });
    const a = new ReviewerSessions(store.sql(), clock, registry);
    const b = new ReviewerSessions(store.sql(), clock, registry);
    const signed = (await a.signIn('r1', 'twelve chars ok'))!;
    expect((await b.reviewerOf(signed.token))!.id).toBe('r1');
    at = new Date('2026-11-30T18:00:01Z');
    expect(await b.reviewerOf(signed.token)).toBeNull();
    at = new Date('2026-11-30T10:10:00Z');
    await a.signOut(signed.token);
    expect(await b.reviewerOf(signed.token)).toBeNull();
  });
});
