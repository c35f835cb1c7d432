/**
 * Every journey of the corpus in a real browser, for each indication and request type: the sandbox
 * EHR signs the patient's draft Kineret order, the card launches the DTR app, the form is ready
 * within FORM_READY_LIMIT_MS (continuation requests once froze the tab), the clinician gives the
 * scenario's scripted answers through the form, nothing the plan needs is left marked, and the
 * plan's answer is the one the corpus expects, criterion by criterion, shown in words (never
 * "denied"), with the form read-only afterwards and the next steps offered.
 *
 * Scenarios are looked up by what they exercise (indication, request type, expected outcome), not
 * by file name. Journeys run side by side (test.concurrent, maxConcurrency in jest.config.js), each
 * in its own browser context of one Chromium, against one service.
 */
import type { ScenarioFile } from '../corpus';
import { loadScenarios } from '../corpus';
import { journey, startHarness, type Harness } from './harness';
import {
  answerScripted, criteria, FORM_READY_LIMIT_MS, item, launchFromCard, marks, openSandbox, patientOf, settled, signOrder, submit,
} from './pages';

jest.setTimeout(240_000);

const corpus = loadScenarios();
const INDICATIONS = ['RA', 'CAPS', 'SJIA', 'PJIA', 'DIRA', 'MISC'];

const approvedWithAnswers = (s: ScenarioFile) => s.withAnswers?.decision === 'approved';
/** Scenarios the plan-wide settings of the test service can run (KINERET_NON_PREFERRED is off). */
const runnable = (s: ScenarioFile) => !s.options?.nonPreferred && (s.answers?.length ?? 0) > 0 && Boolean(s.withAnswers)
  && (s.bundle.entry ?? []).some((e) => e.resource?.resourceType === 'Coverage');

function pick(what: string, test: (s: ScenarioFile) => boolean): ScenarioFile[] {
  const found = corpus.filter((s) => runnable(s) && test(s));
  if (found.length === 0) throw new Error(`the corpus has no scenario for: ${what}`);
  return found;
}

interface Plan {
  label: string;
  scenario: ScenarioFile;
  /** The service reads the record itself (no prefetch) for every other journey. */
  prefetch: boolean;
}

const plans: Plan[] = [
  // Each indication, initial request, approvable with the clinician's answers.
  ...INDICATIONS.map((indication) => ({ label: `${indication}, initial`, scenario: pick(`${indication} initial approved`, (s) => s.record.indication === indication && s.record.requestType === 'initial' && approvedWithAnswers(s))[0] })),
  // Continuation of therapy: every approvable one (these froze the tab), and one that is not met.
  ...pick('continuation approved', (s) => s.record.requestType === 'continuation' && approvedWithAnswers(s)).map((scenario) => ({ label: 'continuation, approvable', scenario })),
  { label: 'continuation, not met', scenario: pick('continuation not met', (s) => s.record.requestType === 'continuation' && !approvedWithAnswers(s) && Object.values(s.withAnswers!.criteria).includes('not-met'))[0] },
  // Initial, a criterion the record already shows as not met.
  { label: 'RA, initial, not met on the record', scenario: pick('RA not met on the record', (s) => s.record.indication === 'RA' && s.record.requestType === 'initial' && Object.values(s.record.criteria).includes('not-met') && !approvedWithAnswers(s))[0] },
  // Missing weight: the dose limit cannot be checked until the clinician gives the weight.
  { label: 'weight missing from the record', scenario: pick('weight missing', (s) => s.record.criteria.DOSE === 'unknown' && (s.answers ?? []).some((a) => a.linkId === 'weight-kg'))[0] },
].map((p, i) => ({ ...p, prefetch: i % 2 === 0 }));

// Concurrent tests start before beforeAll hooks run, so the shared service and browser start on first use.
let started: Promise<Harness> | null = null;
// Journeys side by side on two shared cores: the hook budget (5 s) and the FHIR query time limit (3 s) are production
// settings; here the service's own queries to the sandbox FHIR server (in the same process) wait behind evaluations of
// other journeys and compete with three browsers, so they get more time.
const harness = () => (started ??= startHarness({ HOOK_BUDGET_MS: '30000', FHIR_TIMEOUT_MS: '20000' }));
const readyTimes: string[] = [];

afterAll(async () => {
  if (readyTimes.length) console.log(`DTR app form ready (click on the card's link to form ready), ${plans.length} journeys, up to ${3} at a time:\n${readyTimes.join('\n')}`);
  await (await started)?.close();
});

test.concurrent.each(plans)('$label ($scenario.name): card, form ready in time, answers, the plan\'s answer as the corpus expects', async (plan) => {
  const h = await harness();
  const s = plan.scenario;
  const expected = s.withAnswers!;
  await journey(h, `journey-${s.name}`, async (context) => {
    const ehr = await openSandbox(context, h.base);
    const cards = await signOrder(ehr, patientOf(s), { prefetch: plan.prefetch });
    expect(cards.join(' | ')).toContain('Prior authorization required');

    const { app, readyMs } = await launchFromCard(context, ehr);
    readyTimes.push(`  ${String(readyMs).padStart(6)} ms  ${s.name}`);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    expect(readyMs).toBeLessThan(FORM_READY_LIMIT_MS);
    // The record answered the request type (and the indication, when the record shows it).
    const filled = await marks(app);
    expect(filled['request-type']).toBe('auto');
    if (s.record.indication) expect(filled.indication).toBe('auto');

    // A scripted answer the record already gave stays the record's unless the scenario overrides it: in the form,
    // changing an answer the record gave is an override (DTR information-origin), which a "manual" answer is not.
    for (const answer of s.answers ?? []) {
      if (filled[answer.linkId] === 'auto' && answer.origin !== 'override') continue;
      await answerScripted(app, answer);
    }
    const approvable = expected.decision === 'approved';
    if (approvable) {
      // Every question the plan needs has an answer: no item stays marked Needed.
      expect(await settled(app)).toEqual([]);
    }

    const result = await submit(app);
    expect(result.headline.toLowerCase()).not.toContain('denied');
    expect(await criteria(app)).toEqual(expected.criteria);
    if (approvable) {
      expect(result).toMatchObject({ decision: 'approved', outcome: 'approved', headline: 'Approved', unanswered: [] });
      const period = (await app.locator('[data-testid=approval-period]').textContent()) ?? '';
      const [start, end] = period.split(' to ');
      const months = (Number(end.slice(0, 4)) - Number(start.slice(0, 4))) * 12 + Number(end.slice(5, 7)) - Number(start.slice(5, 7));
      if (expected.approvalMonths) expect(months).toBe(expected.approvalMonths);
    } else {
      // Never approved; shown as not met when a criterion is, else as information missing.
      const statuses = Object.values(expected.criteria);
      expect(result.decision).not.toBe('approved');
      expect(result.outcome).toBe(statuses.includes('not-met') ? 'not-met' : statuses.includes('unknown') ? 'missing' : 'review');
      expect(result.headline).toMatch(/clinical reviewer|information is missing/);
      const notMet = Object.entries(expected.criteria).filter(([, status]) => status === 'not-met').map(([code]) => code);
      for (const code of notMet) await expect(app.locator(`[data-testid=not-met] li[data-criterion="${code}"] .reason-action`).count()).resolves.toBe(1);
    }
    // Submitted: read-only, with the next steps.
    await expect(app.locator('#actions').isHidden()).resolves.toBe(true);
    await expect(item(app, 'request-type').locator('input').first().isDisabled()).resolves.toBe(true);
    await expect(app.locator('[data-testid=next-steps]').textContent()).resolves.toContain('Print or save as PDF');
  });
});
