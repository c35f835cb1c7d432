/**
 * The sandbox moves each scenario to the day it starts: its patients must mean on any day what the
 * corpus means on its evaluation date. Every scenario's record, moved to a spread of days (leap
 * days, month and year ends, the system's today, which is years ahead under faketime), gives the
 * criteria and decision the corpus expects.
 */
import type { Bundle, FhirResource, Patient } from 'fhir/r4';
import { systemClock, today } from '../../src/core/clock';
import { KineretEngine } from '../../src/core/engine';
import { FhirShapes } from '../../src/fhir/shapes';
import { SCENARIO_DIR } from '../../src/paths';
import { loadCorpus } from '../../src/sandbox/corpus';
import { addYears, ageInYears, shiftBirthDate, shiftDateValue, shiftResource } from '../../src/sandbox/shift-dates';
import { corpusDate, loadScenarios } from '../corpus';

jest.setTimeout(120_000);

describe('moving dates', () => {
  test('dates move by days at their own precision; time and offset stay as written', () => {
    expect(shiftDateValue('2026-11-28', 3)).toBe('2026-12-01');
    expect(shiftDateValue('2026-11-28T08:30:00-05:00', 3)).toBe('2026-12-01T08:30:00-05:00');
    expect(shiftDateValue('2026-11-28T23:00:00.123Z', -365)).toBe('2025-11-28T23:00:00.123Z');
    expect(shiftDateValue('2026-05', 40)).toBe('2026-06');
    expect(shiftDateValue('2026', 200)).toBe('2027');
  });

  test('a birth date keeps the age in years and the days since the last birthday', () => {
    // ra-age-17y364d: 18 tomorrow; ra-age-18-today: 18 today, on any day. Except around 29 February 2028: nobody born in 2010
    // turns 18 on the 29th, so the day before it is 17y364d without being the eve of the birthday, and the 29th itself 18 since the 28th.
    for (const to of ['2026-11-30', '2028-02-28', '2028-02-29', '2028-03-01', '2031-12-31']) {
      const birth = shiftBirthDate('2008-11-29', '2026-11-28', to);
      const tomorrow = to === '2028-02-28' ? 17 : 18;
      expect({ to, age: ageInYears(birth, to), tomorrow: ageInYears(birth, shiftDateValue(to, 1)) }).toEqual({ to, age: 17, tomorrow });
      const eighteen = shiftBirthDate('2008-11-28', '2026-11-28', to);
      const yesterday = to === '2028-02-29' ? 18 : 17;
      expect({ to, age: ageInYears(eighteen, to), yesterday: ageInYears(eighteen, shiftDateValue(to, -1)) }).toEqual({ to, age: 18, yesterday });
    }
    expect(addYears('2028-02-29', 1)).toBe('2029-02-28');
    expect(ageInYears(shiftBirthDate('2008-02-29', '2026-02-28', '2027-02-28'), '2027-02-28')).toBe(17);
  });

  test('only date, dateTime and instant elements move (codes that look like years do not)', () => {
    const shapes = FhirShapes.r4();
    const patient: Patient = { resourceType: 'Patient', id: 'p', birthDate: '1980-01-15', deceasedDateTime: '2020-01-01T00:00:00Z',
      identifier: [{ value: '2020' }], extension: [{ url: 'x', valueDate: '2020-05-05' }] };
    const moved = shiftResource(shapes, patient, '2026-01-01', '2026-01-11');
    expect(moved).toEqual({ ...patient, birthDate: '1980-01-25', deceasedDateTime: '2020-01-11T00:00:00Z', extension: [{ url: 'x', valueDate: '2020-05-15' }] });
  });
});

describe('the corpus moved to other days means the same', () => {
  const engine = new KineretEngine();
  const scenarios = loadScenarios();
  const from = corpusDate(scenarios);
  const days = [...new Set([from, '2027-03-01', '2028-02-29', '2030-12-31', today(systemClock)])];

  test.each(days)('on %s', async (day) => {
    const corpus = loadCorpus(SCENARIO_DIR, day);
    const mismatches: unknown[] = [];
    for (const s of scenarios) {
      const pid = (s.bundle.entry ?? []).find((e) => e.resource?.resourceType === 'Patient')!.resource!.id!;
      // The sandbox names every resource but the Patient '<patient id>-<id>'.
      const ids = new Set((s.bundle.entry ?? []).map((e) => e.resource!).map((r) => `${r.resourceType}/${r.resourceType === 'Patient' ? r.id : `${pid}-${r.id}`}`));
      const record = corpus.resources.filter((r: FhirResource) => ids.has(`${r.resourceType}/${r.id}`));
      expect(record).toHaveLength(ids.size);
      const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: record.map((resource) => ({ resource })) };
      const result = await engine.evaluate(bundle, { evaluationDate: day, orderId: `${pid}-kineret-order`, ...s.options });
      const got = { decision: result.decision, criteria: Object.fromEntries(result.criteria.map((c) => [c.code, c.status])) };
      const want = { decision: s.record.decision, criteria: s.record.criteria };
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push({ scenario: s.name, got, want });
    }
    expect(mismatches).toEqual([]);
  });
});
