/**
 * The reviewer workbench's API: reviewers registered with hashed passwords, sessions, the queue by
 * due time (expedited first), the case with its criteria, evidence and answers, and the decisions
 * (approve, deny, request more information) recorded with the reviewer, time and reasons, which
 * $inquire then shows. Only a reviewer with the adverse-determinations role denies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, ClaimResponse, Extension, Questionnaire } from 'fhir/r4';
import request from 'supertest';
import { PAS } from '../../src/constants';
import type { Clock } from '../../src/core/clock';
import { buildClaimResponse } from '../../src/pas/claim-response';
import { echoOf } from '../../src/pas/review';
import { hashPassword, ReviewerRegistry, verifyPassword } from '../../src/pas/reviewers';
import type { CaseView, QueueLine } from '../../src/pas/view-types';
import { corpusDate, type ScenarioFile } from '../corpus';
import { startTestApp, type TestApp } from '../support/app';
import { fhirErrors } from '../support/fhir-validate';
import { inquiryBundle, pasBundle, scenario } from '../support/pas';
import { answer, populateScenario } from '../support/responses';

jest.setTimeout(60_000);
const PASSWORD = 'a long reviewer passphrase';
const SPECIALTY = { system: 'http://nucc.org/provider-taxonomy', code: '207RR0500X', display: 'Internal Medicine / Rheumatology' };

let at = new Date(`${corpusDate()}T09:00:00Z`);
const clock: Clock = { now: () => new Date(at.getTime()) };
let t: TestApp;
let q: Questionnaire;
let token: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reviewers-'));
  const file = path.join(dir, 'reviewers.json');
  const passwordHash = await hashPassword(PASSWORD);
  writeFileSync(file, JSON.stringify({
    reviewers: [
      { id: 'dr-kim', name: 'Dr. Ana Kim, MD', npi: '1234567893', specialty: SPECIALTY, roles: ['reviewer', 'adverse-determinations'], passwordHash },
      { id: 'pharm-lee', name: 'Sam Lee, PharmD', roles: ['reviewer'], passwordHash },
    ],
  }));
  t = await startTestApp({ REVIEWERS_FILE: file }, { clock });
  q = t.services.content.questionnaire;
  t.addDtrClient('pas-ehr', ['system/Claim.c', 'system/ClaimResponse.r']);
  token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
});
afterAll(async () => {
  await t.services.store.close();
});

const submit = async (s: ScenarioFile, opts: Parameters<typeof pasBundle>[2] = {}) => {
  const qr = answer(q, await populateScenario(t.services.engine, q, s), s.answers ?? []);
  const res = await request(t.app).post('/fhir/Claim/$submit').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`).send(JSON.stringify(pasBundle(s, qr, opts)));
  expect(res.status).toBe(200);
  return (res.body as Bundle).entry![0].resource as ClaimResponse;
};
const inquire = async (s: ScenarioFile, identifier: string) => {
  const res = await request(t.app).post('/fhir/Claim/$inquire').set('Content-Type', 'application/fhir+json').set('Authorization', `Bearer ${token}`).send(JSON.stringify(inquiryBundle(s, { identifier })));
  expect(res.status).toBe(200);
  return (res.body as Bundle).entry!.filter((e) => e.resource?.resourceType === 'ClaimResponse').map((e) => e.resource as ClaimResponse);
};
const code = (cr: ClaimResponse) => cr.item![0].adjudication![0].extension!.find((e) => e.url === PAS.reviewAction)!.extension!.find((e) => e.url === PAS.reviewActionCode)!.valueCodeableConcept!.coding![0].code;

async function signIn(id: string, password = PASSWORD) {
  const agent = request.agent(t.app);
  const res = await agent.post('/review/api/login').set('X-Review-Request', '1').send({ id, password });
  return { agent, res };
}
const decide = (agent: ReturnType<typeof request.agent>, id: string, body: object) =>
  agent.post(`/review/api/cases/${id}/decision`).set('X-Review-Request', '1').send(body);

describe('reviewers and sessions', () => {
  test('passwords are scrypt hashes; the registry refuses weak or malformed entries', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    await expect(verifyPassword(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifyPassword(`${PASSWORD}!`, hash)).resolves.toBe(false);
    await expect(hashPassword('short')).rejects.toThrow(/at least 12 characters/);
    const registry = new ReviewerRegistry();
    expect(() => registry.add({ id: 'x', name: 'X', passwordHash: 'plain-text' })).toThrow(/scrypt hash/);
    expect(() => registry.add({ id: 'x', name: 'X', passwordHash: hash, roles: ['admin'] })).toThrow(/roles are among/);
    expect(() => registry.add({ id: 'x', name: 'X', passwordHash: hash, roles: ['adverse-determinations'] })).toThrow(/"reviewer" role/);
  });

  test('sign-in: wrong password 401, five failures lock the id, the right one opens a session; sign-out ends it', async () => {
    const wrong = await signIn('pharm-lee', 'not the password at all');
    expect(wrong.res.status).toBe(401);
    expect(wrong.res.headers['set-cookie']).toBeUndefined();
    const { agent, res } = await signIn('dr-kim');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie'][0]).toMatch(/^kpa_review=[A-Za-z0-9_-]{43}; Path=\/review; HttpOnly; SameSite=Strict$/);
    expect(res.body.reviewer).toEqual({ id: 'dr-kim', name: 'Dr. Ana Kim, MD', npi: '1234567893', specialty: SPECIALTY, roles: ['reviewer', 'adverse-determinations'] });
    expect((await agent.get('/review/api/session')).status).toBe(200);
    expect((await agent.post('/review/api/logout').set('X-Review-Request', '1')).status).toBe(204);
    expect((await agent.get('/review/api/session')).status).toBe(401);
    for (let i = 0; i < 5; i++) await signIn('nobody-here', 'whatever it is');
    expect((await signIn('nobody-here', 'whatever it is')).res.status).toBe(429);
  });

  test('no session, no workbench: 401 even with a valid client token; actions need the page\'s header', async () => {
    expect((await request(t.app).get('/review/api/queue')).status).toBe(401);
    expect((await request(t.app).get('/review/api/queue').set('Authorization', `Bearer ${token}`)).status).toBe(401);
    const { agent } = await signIn('dr-kim');
    const res = await agent.post('/review/api/cases/x/decision').send({ action: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/X-Review-Request/);
  });

  test('a session ends after 30 minutes without use', async () => {
    const { agent } = await signIn('pharm-lee');
    at = new Date(at.getTime() + 31 * 60_000);
    expect((await agent.get('/review/api/session')).status).toBe(401);
  });
});

describe('the queue, the case and the decisions', () => {
  let standard: ClaimResponse;
  let expedited: ClaimResponse;
  let tnf: ScenarioFile;
  let kimAgent: ReturnType<typeof request.agent>;

  beforeAll(async () => {
    tnf = scenario('concurrent-tnf-not-met');
    token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
    standard = await submit(scenario('concurrent-apremilast-not-met'));
    expedited = await submit(tnf, { priority: 'stat' });
    kimAgent = (await signIn('dr-kim')).agent;
  });

  test('pended requests are listed expedited first, then by due time, with the time left', async () => {
    const res = await kimAgent.get('/review/api/queue');
    expect(res.status).toBe(200);
    const open = res.body.open as QueueLine[];
    const ids = open.map((l) => l.id);
    expect(ids.indexOf(expedited.id!)).toBeLessThan(ids.indexOf(standard.id!));
    const line = open.find((l) => l.id === expedited.id)!;
    expect(line.priority).toBe('expedited');
    expect(line.msLeft).toBe(Date.parse(line.dueAt) - at.getTime());
    expect(Date.parse(line.dueAt) - Date.parse(line.receivedAt)).toBe(72 * 3_600_000);
    expect(line.reasons).toEqual([expect.stringMatching(/\(ALL-2\), not met/)]);
  });

  test('the case: criteria with the evidence they cite, the clinician\'s answers with their origin, the decision defaults', async () => {
    const res = await kimAgent.get(`/review/api/cases/${expedited.id}`);
    expect(res.status).toBe(200);
    const c = res.body as CaseView;
    const all2 = c.assessment.criteria.find((x) => x.code === 'ALL-2')!;
    expect(all2.status).toBe('not-met');
    expect(all2.evidence).toContain('MedicationRequest/ada');
    expect(c.evidence['MedicationRequest/ada'].resourceType).toBe('MedicationRequest');
    const baseline = c.answers.find((a) => a.linkId === 'ra-baseline-doc.text')!;
    expect(baseline.origin).toBe('manual');
    expect(baseline.answers[0]).toMatch(/CDAI/);
    expect(c.answers.find((a) => a.linkId === 'indication')!.origin).toBe('auto');
    expect(c.suggestedPeriod).toEqual({ start: at.toISOString().slice(0, 10), end: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(c.denialReasons.map((r) => r.code)).toContain('concurrent-biologic');
    expect(c.decisions).toEqual([expect.objectContaining({ action: 'automated-pend', humanReviewed: false, reviewer: null })]);
  });

  test('deny: refused without the adverse-determinations role, refused without a reason or a letter; then A3, recorded, and $inquire shows it', async () => {
    const pharmacist = (await signIn('pharm-lee')).agent;
    const noRole = await decide(pharmacist, expedited.id!, { action: 'deny', reasonCode: 'concurrent-biologic', letter: 'Kineret is not covered together with adalimumab.' });
    expect(noRole.status).toBe(403);
    expect(noRole.body.message).toMatch(/adverse determination/);
    const noReason = await decide(kimAgent, expedited.id!, { action: 'deny', reasonCode: 'because', letter: 'Kineret is not covered together with adalimumab.' });
    expect([noReason.status, noReason.body.field]).toEqual([422, 'reasonCode']);
    const noLetter = await decide(kimAgent, expedited.id!, { action: 'deny', reasonCode: 'concurrent-biologic', letter: 'no' });
    expect([noLetter.status, noLetter.body.field]).toEqual([422, 'letter']);
    // Before review: pended.
    expect((await inquire(tnf, 'PA-ra-tnf')).map(code)).toEqual(['A4']);

    const letter = 'Kineret (anakinra) is not covered in combination with a TNF inhibitor: the record shows active adalimumab. Send documentation that adalimumab was stopped.';
    const denied = await decide(kimAgent, expedited.id!, { action: 'deny', reasonCode: 'concurrent-biologic', letter });
    expect(denied.status).toBe(200);
    expect((denied.body as CaseView).status).toBe('denied');
    const [after] = await inquire(tnf, 'PA-ra-tnf');
    expect(code(after)).toBe('A3');
    expect(after.outcome).toBe('complete');
    expect(after.item![0].adjudication![0].reason!.coding![0]).toEqual({ system: 'http://kineret-pa.example/fhir/CodeSystem/kineret-pa-denial-reason', code: 'concurrent-biologic', display: 'Combination with a TNF inhibitor, biologic DMARD, JAK or PDE4 inhibitor' });
    expect(after.processNote!.map((n) => n.text)).toEqual([letter]);
    expect(fhirErrors(after)).toEqual([]);
    expect(after.disposition).toMatch(/^Not certified by the plan's clinical reviewer Dr\. Ana Kim, MD/);
    // Recorded in the audit store with the reviewer, the time and the reasons.
    const decisions = await t.services.pas.decisions(expedited.id!);
    expect(decisions.map((d) => [d.action, d.actorKind, d.actor, d.humanReviewed])).toEqual([['automated-pend', 'system', expect.stringMatching(/^KineretPA\|/), false], ['deny', 'reviewer', 'dr-kim', true]]);
    expect(decisions[1]).toMatchObject({ reasonCode: 'concurrent-biologic', letterText: letter, at: at.toISOString(), reviewer: { id: 'dr-kim', npi: '1234567893', specialty: SPECIALTY } });
    // Decided once: a second decision is a conflict.
    const again = await decide(kimAgent, expedited.id!, { action: 'approve', start: '2026-12-01', end: '2027-05-31' });
    expect(again.status).toBe(409);
  });

  test('request more information: still A4, with the reviewer\'s words; then approve with a period: A1 with a new number, and the 2.2 reviewer extension can be shown', async () => {
    const pharmacist = (await signIn('pharm-lee')).agent;
    const info = await decide(pharmacist, standard.id!, { action: 'request-info', text: 'Send the date apremilast was stopped.' });
    expect(info.status).toBe(200);
    const s = scenario('concurrent-apremilast-not-met');
    const patientId = s.bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!.id;
    let [current] = await inquire(s, `PA-${patientId}`);
    expect(code(current)).toBe('A4');
    expect(current.processNote![0].text).toBe('More information requested by the plan\'s clinical reviewer Sam Lee, PharmD: Send the date apremilast was stopped. Send it in an updated request (Claim/$submit naming this one in Claim.related).');
    const queue = (await pharmacist.get('/review/api/queue')).body.open as QueueLine[];
    expect(queue.find((l) => l.id === standard.id)!.status).toBe('info-requested');

    const tooLong = await decide(pharmacist, standard.id!, { action: 'approve', start: '2026-12-01', end: '2028-01-01' });
    expect([tooLong.status, tooLong.body.field]).toEqual([422, 'end']);
    const approved = await decide(pharmacist, standard.id!, { action: 'approve', start: '2026-12-01', end: '2027-05-31' });
    expect(approved.status).toBe(200);
    [current] = await inquire(s, `PA-${patientId}`);
    expect(code(current)).toBe('A1');
    expect(current.preAuthPeriod).toEqual({ start: '2026-12-01', end: '2027-05-31' });
    expect(current.preAuthRef).toMatch(/^KPA-/);
    expect(current.extension).toBeUndefined();
    // PAS 2.2 (a later setting): the same stored decision shows who reviewed it.
    const stored = (await t.services.pas.byId(standard.id!, { all: true }))!;
    const [decision] = (await t.services.pas.decisions(standard.id!)).filter((d) => d.action === 'approve');
    const v22 = buildClaimResponse({ ...echoOf(stored), id: stored.id, created: decision.at, version: '2.2', state: { kind: 'approved', authNumber: decision.authNumber!, period: decision.period!, issued: decision.at.slice(0, 10), reviewer: decision.reviewer, note: null } });
    expect(v22.extension).toEqual([{ url: PAS.claimResponseReviewer, extension: [{ url: 'wasHumanReviewedFlag', valueBoolean: true }] } satisfies Extension]);
  });

  test('decided requests stay queryable: seven months later $inquire still answers', async () => {
    at = new Date(at.getTime() + 214 * 86_400_000);
    token = await t.tokenFor('pas-ehr', 'system/Claim.c system/ClaimResponse.r');
    expect((await inquire(tnf, 'PA-ra-tnf')).map(code)).toEqual(['A3']);
  });
});
