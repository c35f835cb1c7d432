/**
 * What the DTR app tells a clinician, without a browser: the plan's answer in words (never "denied"),
 * what is still needed before submitting, record entries by display text and date, and what a
 * launch gives (an order carried as a resource, under the Da Vinci DTR app's name too).
 */
import type { Parameters, Questionnaire, QuestionnaireResponse } from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM } from '../../src/constants';
import type { CriterionResult } from '../../web/dtr/cql';
import { readDetermination } from '../../web/dtr/determination';
import { AppError, userMessage } from '../../web/dtr/errors';
import { describe as describeEntry, recordDate, recordEntry } from '../../web/dtr/evidence';
import { launchFromToken } from '../../web/dtr/launch-context';
import { answeredLinkIds, neededAnswers } from '../../web/dtr/needs';
import { describeOutcome } from '../../web/dtr/outcome';

const criterion = (code: string, status: string, reason: string, evidence: string[] = []) => ({
  name: 'criterion',
  part: [
    { name: 'code', valueCoding: { code, display: `Title of ${code}` } }, { name: 'description', valueString: `The guideline's ${code}` },
    { name: 'status', valueCode: status }, { name: 'reason', valueString: reason }, ...evidence.map((reference) => ({ name: 'evidence', valueReference: { reference } })),
  ],
});

describe('the plan\'s answer in words', () => {
  test('approved: the period and why it is that long', () => {
    const o = describeOutcome(readDetermination({
      resourceType: 'Parameters', parameter: [
        { name: 'decision', valueCode: 'approved' }, { name: 'approvalPeriod', valuePeriod: { start: '2026-11-30', end: '2027-05-30' } },
        { name: 'approvalReason', valueString: 'Initial authorization: 6 months.' }, criterion('AGE', 'met', 'member is 54'),
      ],
    }));
    expect(o).toMatchObject({ kind: 'approved', headline: 'Approved', period: { start: '2026-11-30', end: '2027-05-30' }, duration: 'Initial authorization: 6 months.', notMet: [], missing: [] });
    expect(o.summary).toBe('Kineret (anakinra) is approved from 2026-11-30 to 2027-05-30.');
  });

  test('pended with the payer\'s reasons: not met first, each with its evidence, the guideline and what could change it', () => {
    const p: Parameters = {
      resourceType: 'Parameters', parameter: [
        { name: 'decision', valueCode: 'pended' },
        { name: 'pendReason', part: [{ name: 'kind', valueCode: 'not-met' }, { name: 'criterion', valueCoding: { system: CRITERIA_CODE_SYSTEM, code: 'ALL-2' } }, { name: 'text', valueString: 'Active adalimumab.' }] },
        { name: 'pendReason', part: [{ name: 'kind', valueCode: 'missing' }, { name: 'criterion', valueCoding: { system: CRITERIA_CODE_SYSTEM, code: 'ALL-1' } }, { name: 'text', valueString: 'No attestation.' }] },
        criterion('ALL-2', 'not-met', 'Active adalimumab.', ['MedicationRequest/ada']), criterion('ALL-1', 'unknown', 'No attestation.'),
      ],
    };
    const o = describeOutcome(readDetermination(p));
    expect(o.kind).toBe('not-met');
    expect(o.headline).toBe('Does not meet the guideline as documented: the plan\'s clinical reviewer will decide');
    expect(o.notMet).toEqual([expect.objectContaining({ criterion: 'ALL-2', title: 'Title of ALL-2', text: 'Active adalimumab.', evidence: ['MedicationRequest/ada'], guideline: 'The guideline\'s ALL-2' })]);
    expect(o.notMet[0].action).toMatch(/correct it in the EHR/);
    expect(o.missing.map((r) => r.criterion)).toEqual(['ALL-1']);
  });

  test('only information missing: pended for what is missing', () => {
    const o = describeOutcome(readDetermination({ resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'pended' }, criterion('ALL-1', 'unknown', 'No attestation.'), criterion('AGE', 'met', 'ok')] }));
    expect(o).toMatchObject({ kind: 'missing', headline: 'Pended: information is missing', notMet: [] });
    expect(o.missing.map((r) => [r.criterion, r.text])).toEqual([['ALL-1', 'No attestation.']]);
  });

  test('a payer that still says "denied" is shown as not meeting the guideline, for the reviewer to decide; an off-label use as referred', () => {
    const o = describeOutcome(readDetermination({ resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'denied' }, criterion('IND', 'not-met', 'Gout is not covered.'), criterion('DOSE', 'not-met', '200 mg')] }));
    expect(o.kind).toBe('not-met');
    expect(o.headline.toLowerCase()).not.toContain('denied');
    expect(o.notMet.map((r) => r.kind)).toEqual(['off-label', 'not-met']);
    expect(o.notMet[0].action).toMatch(/Off-Label policy review/);
  });
});

describe('what is still needed', () => {
  const code = (c: string) => [{ system: CRITERIA_CODE_SYSTEM, code: c }];
  const q: Questionnaire = {
    resourceType: 'Questionnaire', status: 'active', item: [
      { linkId: 'request-type', type: 'choice', required: true },
      { linkId: 'ra', type: 'group', item: [
        { linkId: 'mtx', type: 'boolean', text: 'MTX at max dose', code: code('RA-3') },
        { linkId: 'other-dmard', type: 'boolean', text: 'Another DMARD', code: code('RA-3') },
      ] },
      { linkId: 'baseline', type: 'group', text: 'Baseline evaluation', code: code('RA-2'), item: [{ linkId: 'baseline.text', type: 'text' }, { linkId: 'baseline.file', type: 'attachment' }] },
      { linkId: 'infection', type: 'boolean', text: 'No infection', code: code('ALL-1') },
      { linkId: 'hidden', type: 'boolean', text: 'Not shown', code: code('ALL-1') },
    ],
  };
  const criteria = (statuses: Record<string, CriterionResult['status']>): CriterionResult[] =>
    Object.entries(statuses).map(([c, status]) => ({ code: c, status, source: 'none', reason: `${c} is ${status}`, evidence: [] }));
  const shown = new Set(['request-type', 'ra', 'mtx', 'other-dmard', 'baseline', 'baseline.text', 'baseline.file', 'infection']);
  const qr = (items: QuestionnaireResponse['item']): QuestionnaireResponse => ({ resourceType: 'QuestionnaireResponse', status: 'in-progress', item: items });

  test('each undecided criterion\'s shown, unanswered questions, and the form\'s required ones; a decided criterion needs nothing', () => {
    const needs = neededAnswers({ questionnaire: q, criteria: criteria({ 'RA-3': 'unknown', 'RA-2': 'unknown', 'ALL-1': 'met' }), response: qr([]), shown });
    expect(needs.map((n) => [n.criterion, n.items.map((i) => i.linkId)])).toEqual([
      [null, ['request-type']], ['RA-3', ['mtx', 'other-dmard']], ['RA-2', ['baseline']],
    ]);
    expect(needs[1].reason).toBe('RA-3 is unknown');
  });

  test('a documentation group is answered by its summary or its attachment; hidden items are never needed', () => {
    const response = qr([{ linkId: 'request-type', answer: [{ valueCoding: { code: 'initial' } }] }, { linkId: 'baseline', item: [{ linkId: 'baseline.file', answer: [{ valueAttachment: { title: 'x.pdf' } }] }] }]);
    expect([...answeredLinkIds(response)].sort()).toEqual(['baseline', 'baseline.file', 'request-type']);
    const needs = neededAnswers({ questionnaire: q, criteria: criteria({ 'RA-2': 'unknown', 'ALL-1': 'unknown' }), response, shown });
    expect(needs.map((n) => [n.criterion, n.items.map((i) => i.linkId)])).toEqual([['ALL-1', ['infection']]]);
  });
});

describe('record entries for people', () => {
  test('display text and date: a score without its UCUM annotation, a condition with its status, an order with its state', () => {
    const obs = { resourceType: 'Observation' as const, id: 'o', status: 'final' as const, code: { coding: [{ system: 'http://loinc.org', code: '75847-4', display: 'CDAI' }] }, valueQuantity: { value: 28, unit: '{score}' }, effectiveDateTime: '2026-10-17T09:00:00Z' };
    expect(describeEntry(obs)).toBe('CDAI (75847-4): 28');
    expect(recordDate(obs)).toBe('2026-10-17');
    expect(describeEntry({ resourceType: 'Condition', subject: { reference: 'Patient/p' }, code: { text: 'Rheumatoid arthritis' }, clinicalStatus: { coding: [{ code: 'active' }] } })).toBe('Rheumatoid arthritis, active');
    expect(describeEntry({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, medicationCodeableConcept: { text: 'adalimumab 40 mg' } })).toBe('Medication order: adalimumab 40 mg (active)');
    expect(recordEntry('Observation/o', new Map([['Observation/o', obs]]))).toEqual({ reference: 'Observation/o', text: 'CDAI (75847-4): 28', date: '2026-10-17', found: true });
    expect(recordEntry('Observation/gone', new Map())).toEqual({ reference: 'Observation/gone', text: 'Observation/gone', date: null, found: false });
  });
});

describe('the launch', () => {
  const order = { resourceType: 'MedicationRequest', id: 'request-123', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' } };

  test('an order carried as a resource in appContext (the Da Vinci CRD convention, quotes escaped) is kept for a draft the EHR never saved', () => {
    const appContext = `order=${JSON.stringify(order).replace(/"/g, '\\"')}&coverage=Coverage/c`;
    const launch = launchFromToken({ patient: 'p', appContext }, 'http://ehr/fhir', null);
    expect(launch.order).toBe('MedicationRequest/request-123');
    expect(launch.orderResource?.id).toBe('request-123');
    expect(launch.coverage).toBe('Coverage/c');
  });

  test('medication_request, the Da Vinci DTR app\'s name for the order, is read as the order; a JSON appContext may hold it as an object', () => {
    expect(launchFromToken({ patient: 'p', appContext: 'medication_request=MedicationRequest/o9' }, 'http://ehr/fhir', null).order).toBe('MedicationRequest/o9');
    const launch = launchFromToken({ patient: 'p', appContext: JSON.stringify({ medication_request: order }) }, 'http://ehr/fhir', null);
    expect(launch.orderResource?.id).toBe('request-123');
    expect(launchFromToken({ patient: 'p', fhirContext: [{ reference: 'http://ehr/fhir/MedicationRequest/o7' }] }, 'http://ehr/fhir', null).order).toBe('MedicationRequest/o7');
  });
});

describe('failures in words: where the typed answers are', () => {
  test('the standard form keeps a draft on the device and restores it at the next launch', () => {
    const text = userMessage(new AppError('ehr', 'expired', 'token expired', 401));
    expect(text).toContain('your unsaved answers will be restored there');
    expect(text).toContain('kept on this device');
  });

  test('the adaptive form keeps answers in the open page only, and says so', () => {
    for (const e of [new AppError('ehr', 'expired', 'token expired', 401), new AppError('payer', 'launch-expired', 'session ended', 401), new Error('boom')]) {
      const text = userMessage(e, 'page');
      expect(text).not.toMatch(/on this device|restored/);
      expect(text).toContain('while it is open');
    }
  });
});
