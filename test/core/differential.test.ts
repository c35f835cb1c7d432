/**
 * The fast data source (src/core/fast-source.ts) against cql-exec-fhir's PatientSource, the reference:
 * every definition of every policy library must give the same value through both, on every corpus scenario
 * (record alone and with the scripted answers), on cql-exec-fhir's own R4 test patients and on a synthetic
 * record; and the records themselves must read, compare and de-duplicate the same way. cql-exec-fhir's R4
 * tests exercise its record API directly (it ships no R4 ELM), so its paths are replayed here on its fixtures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as cql from 'cql-execution';
import { PatientSource } from 'cql-exec-fhir';
import type load from 'cql-exec-fhir/lib/load';
import { toDistinctList } from 'cql-execution/lib/elm/list';
import { equals, equivalent } from 'cql-execution/lib/util/comparison';
import type { Bundle, Condition, Observation, Patient } from 'fhir/r4';
import { KineretEngine, loadContent } from '../../src/core/engine';
import { FastPatientSource, fhirModelInfo } from '../../src/core/fast-source';
import type { RawEvaluation } from '../../src/core/types';
import { syntheticRecord, SYNTHETIC_EVALUATION_DATE } from '../../bench/synthetic';
import { loadScenarios } from '../corpus';
import { canonical, canonicalJson } from '../support/cql-canonical';

const content = loadContent();
const fast = new KineretEngine(content, { source: 'fast' });
const stock = new KineretEngine(content, { source: 'stock' });

/** Every definition of every evaluated library, as 'Library.Definition' -> value. */
function definitions(e: RawEvaluation): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e.results).flatMap(([library, values]) => Object.entries(values).map(([name, value]) => [`${library}.${name}`, value])));
}

/** Definitions whose canonical values differ, with both values (empty when the evaluations agree). */
function divergences(a: RawEvaluation, b: RawEvaluation): Record<string, { fast: string; stock: string }> {
  const out: Record<string, { fast: string; stock: string }> = {};
  const [da, db] = [definitions(a), definitions(b)];
  for (const name of new Set([...Object.keys(da), ...Object.keys(db)])) {
    const [x, y] = [canonicalJson(da[name]), canonicalJson(db[name])];
    if (x !== y) out[name] = { fast: x.slice(0, 2000), stock: y.slice(0, 2000) };
  }
  return out;
}

type Options = Parameters<KineretEngine['evaluateRaw']>[1];

async function expectSameEvaluation(bundle: Bundle, options: Options): Promise<void> {
  const [a, b] = [await fast.evaluateRaw(bundle, options), await stock.evaluateRaw(bundle, options)];
  // Every library of the policy, every definition of each.
  expect(Object.keys(a.results)).toEqual(fast.libraryNames);
  expect(Object.keys(definitions(a))).toEqual(Object.keys(definitions(b)));
  expect(Object.keys(definitions(b)).length).toBeGreaterThan(150);
  expect(divergences(a, b)).toEqual({});
}

const FIXTURES = path.join(path.dirname(require.resolve('cql-exec-fhir/package.json')), 'test', 'fixtures', 'r4');
const readFixture = <T>(name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
/** Synthea patients: a few hundred resources each, of 13-14 types. */
const syntheaPatients: [string, Bundle][] = [
  ['Luna60_McCullough561', readFixture<Bundle>('Luna60_McCullough561_6662f0ca-b617-4e02-8f55-7275e9f49aa0.json')],
  ['Johnnie679_Hermiston71', readFixture<Bundle>('Johnnie679_Hermiston71_2cd30bd6-3a87-4191-af90-6daa70f58f55.json')],
];
/** cql-exec-fhir's single Condition fixture, given a Patient so that it can be evaluated. */
const conditionF201: Bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [{ resource: { resourceType: 'Patient', id: 'f201', birthDate: '1960-03-13' } as Patient }, { resource: readFixture<Condition>('Condition_f201.json') }],
};

describe('fast source vs cql-exec-fhir: every definition of every policy library', () => {
  const scenarios = loadScenarios();

  describe.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    it('record alone', async () => {
      await expectSameEvaluation(s.bundle, { evaluationDate: s.evaluationDate, ...s.options });
    });
    if (s.answers) {
      it('with the scripted answers', async () => {
        await expectSameEvaluation(s.bundle, { evaluationDate: s.evaluationDate, answers: s.answers, ...s.options });
      });
    }
  });

  it.each([...syntheaPatients, ['Condition_f201', conditionF201] as [string, Bundle]])(
    "cql-exec-fhir's R4 fixture %s",
    async (_name, bundle) => {
      // These Synthea records hold completed MedicationRequests without dispenseRequest: a regression case
      // for "Days"(null), which once failed every definition.
      await expectSameEvaluation(bundle, { evaluationDate: '2026-11-28' });
    },
    30_000,
  );

  it('a synthetic 300-resource record (value-set retrieves over many codes)', async () => {
    await expectSameEvaluation(syntheticRecord(300, 7), { evaluationDate: SYNTHETIC_EVALUATION_DATE });
  }, 30_000);
});

// -------------------------------------------------------------------------------------------------------
// The record API, call by call, on cql-exec-fhir's fixtures

type AnyRecord = cql.RecordObject & Record<string, unknown> & { getTypeInfo(): { name: string }; getInterval(field: string): unknown };
type AnyPatient = cql.PatientObject & AnyRecord;

function patients(bundle: Bundle): { fast: AnyPatient; stock: AnyPatient } {
  const stockSource = PatientSource.FHIRv401({ requireProfileTagging: false });
  stockSource.loadBundles([bundle]);
  return {
    fast: new FastPatientSource([bundle]).currentPatient() as unknown as AnyPatient,
    stock: stockSource.currentPatient() as unknown as AnyPatient,
  };
}

function findAll(patient: AnyPatient, type: string): AnyRecord[] {
  return patient.findRecords(type, { datatype: `{http://hl7.org/fhir}${type}` }) as AnyRecord[];
}

/** A call's outcome: its canonical value, or the kind of error it threw (V8's messages name local variables). */
function outcome(call: () => unknown): string {
  try {
    return canonicalJson(call());
  } catch (e) {
    return `threw ${(e as Error).constructor.name}`;
  }
}

/** Paths cql-exec-fhir's own R4 tests read, plus explicit choice names, dotted paths and invalid ones. */
const PATHS = [
  'id', 'meta', 'text', 'birthDate', 'birthDate.value', 'extension', 'address', 'name', 'identifier',
  'subject.reference.value', 'primarySource.value', 'total.value.value', 'item', 'status', 'status.value',
  'status.id', 'status.extension', 'value', 'value.value', 'valueQuantity', 'valueCodeableConcept', 'onset',
  'onset.value', 'onsetDateTime', 'abatement', 'effective', 'effectiveDateTime', 'effectivePeriod',
  'dosageInstruction', 'medication', 'medicationCodeableConcept', 'medicationReference', 'performed',
  'performedPeriod', 'occurrence', 'billablePeriod', 'code', 'code.coding', 'code.text', 'category',
  'multipleBirth', 'multipleBirthBoolean', 'component', 'noSuchElement', 'code.coding.code', 'id.value.more',
];
const CODE_PATHS = ['code', 'vaccineCode', 'medication', 'type', 'class', 'category', 'status', 'clinicalStatus'];
const DATE_PATHS = ['authoredOn', 'authoredOn.value', 'recordedDate', 'birthDate.value', 'issued', 'effective', 'onset'];
const INTERVAL_PATHS = ['effective', 'onset', 'period', 'performed', 'occurrence', 'billablePeriod', 'abatement'];
const TYPE_TESTS = [
  'Patient', 'Condition', 'Observation', 'DomainResource', 'Resource', 'Element', 'Encounter', 'Claim',
].map((t) => ({ type: 'NamedTypeSpecifier', name: `{http://hl7.org/fhir}${t}` }))
  .concat([{ type: 'NamedTypeSpecifier', name: '{urn:hl7-org:elm-types:r1}Any' }, { type: 'NamedTypeSpecifier', name: '{urn:hl7-org:elm-types:r1}String' }, { type: 'ListTypeSpecifier', name: '{http://hl7.org/fhir}Condition' }]);

function callOutcomes(record: AnyRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of PATHS) out[`get ${p}`] = outcome(() => record.get(p));
  for (const p of CODE_PATHS) out[`getCode ${p}`] = outcome(() => record.getCode(p));
  for (const p of DATE_PATHS) out[`getDate ${p}`] = outcome(() => record.getDate(p));
  for (const p of INTERVAL_PATHS) {
    out[`getDateOrInterval ${p}`] = outcome(() => record.getDateOrInterval(p));
    out[`getInterval ${p}`] = outcome(() => record.getInterval(p));
  }
  TYPE_TESTS.forEach((spec, i) => (out[`_is ${i}`] = outcome(() => record._is?.(spec as never))));
  out._typeHierarchy = outcome(() => record._typeHierarchy?.());
  out.getId = outcome(() => record.getId());
  out.typeInfo = outcome(() => record.getTypeInfo().name);
  return out;
}

/**
 * JSON the model reads in unusual ways: primitives split over `x` and `_x` (nulls inside lists included),
 * extensions without values, two choice variants present at once, an object where a list belongs, JSON nulls.
 */
const CRAFTED: Bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    {
      resource: {
        resourceType: 'Patient', id: 'crafted', gender: null, _birthDate: { id: 'bd', extension: [{ url: 'http://example.org/x', valueString: 'unknown' }] },
        name: [{ given: ['A', null, 'C'], _given: [null, { id: 'g2' }, null], family: 'F' }, { given: ['D'], _given: [{ id: 'g' }, { id: 'extra' }] }],
        multipleBirthInteger: 2, deceasedBoolean: false, deceasedDateTime: '2020-01-01',
      } as unknown as Patient,
    },
    {
      resource: {
        resourceType: 'Observation', id: 'two-values', _status: { id: 's1' }, code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }, { code: 'x' }], text: 'weight' },
        valueString: 'heavy', valueQuantity: { value: 80.5, unit: 'kg', _value: { id: 'v' } }, effectiveDateTime: '2020-02-03T04:05:06.7Z',
        issued: '2020-02-03T04:05:06.789+02:00', component: [{ code: { coding: null }, valueTime: '10:11:12' }, { code: { text: 'x' }, valueTime: '10:11' }],
      } as unknown as Observation,
    },
    {
      resource: {
        resourceType: 'Condition', id: 'odd', subject: { reference: 'Patient/crafted' }, category: { text: 'not a list' },
        onsetString: 'childhood', onsetAge: { value: 5, unit: 'a' }, recordedDate: '2021', code: { coding: [{ system: 'http://snomed.info/sct', code: '1', display: 'one', userSelected: true }] },
      } as unknown as Condition,
    },
    {
      resource: {
        resourceType: 'MedicationRequest', id: 'both-meds', status: 'completed', intent: 'order', subject: { reference: 'Patient/crafted' },
        medicationReference: { reference: 'Medication/m' }, medicationCodeableConcept: { coding: [{ code: '6851' }] }, authoredOn: '2021-03-04',
        dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: 1 }, rateRatio: { numerator: { value: 1 }, denominator: { value: 2 } } }] }],
      },
    },
  ],
};

describe('fast source vs cql-exec-fhir: the record API', () => {
  let errorSpy: jest.SpyInstance;
  beforeEach(() => {
    // Both sources report invalid paths on console.error; the test counts the reports instead of printing them.
    errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => errorSpy.mockRestore());

  it('every non-System type named in the 4.0.1 model info resolves (the fast source relies on it)', () => {
    // _classesByName is the loader's map of every class; the public API looks classes up one at a time.
    const classes = (fhirModelInfo() as unknown as { _classesByName: Map<string, load.ClassInfo> })._classesByName;
    const unresolved: string[] = [];
    const visit = (spec: load.TypeSpecifier | undefined): void => {
      if (!spec) return;
      if (spec.isNamed && spec.namespace !== 'System' && !fhirModelInfo().findClass(spec.fqn ?? '')) unresolved.push(spec.fqn ?? '?');
      if (spec.isList) visit(spec.elementType);
      if (spec.isChoice) (spec.choices ?? []).forEach(visit);
    };
    for (const c of classes.values()) for (const e of c.elements) visit(e.typeSpecifier);
    expect(unresolved).toEqual([]);
  });

  it.each([...syntheaPatients, ['crafted edge cases', CRAFTED] as [string, Bundle]])('%s: every resource reads the same, path by path and element by element', (_name, bundle) => {
    const { fast: f, stock: s } = patients(bundle);
    expect(outcome(() => f.getId())).toBe(outcome(() => s.getId()));
    const types = [...new Set((bundle.entry ?? []).map((e) => e.resource!.resourceType)), 'PaymentReconciliation'];
    /** Every record's call outcomes and canonical form, and how many invalid-path reports the calls made. */
    const survey = (patient: AnyPatient) => {
      errorSpy.mockClear();
      const records = types.flatMap((type) => findAll(patient, type));
      const calls = records.map(callOutcomes);
      return { calls, forms: records.map((r) => canonicalJson(r)), errors: errorSpy.mock.calls.length };
    };
    const [a, b] = [survey(f), survey(s)];
    expect(a.calls.length).toBe(bundle.entry!.length);
    a.calls.forEach((calls, i) => expect(calls).toEqual(b.calls[i]));
    a.forms.forEach((form, i) => expect(form).toBe(b.forms[i]));
    expect(a.errors).toBe(b.errors);
    expect(a.errors).toBeGreaterThan(0);
  }, 60_000);

  it('retrieves by type name, model name and model URL, and by profile alone', () => {
    const { fast: f, stock: s } = patients(syntheaPatients[0][1]);
    for (const name of ['Condition', 'FHIR.Condition', '{http://hl7.org/fhir}Condition', 'PaymentReconciliation', 'NoSuchType']) {
      const ids = (p: AnyPatient) => (p.findRecords(name) as AnyRecord[]).map((r) => r.getId());
      expect(ids(f)).toEqual(ids(s));
    }
  });

  it('records compare, match and de-duplicate the same (equals, equivalent, distinct)', () => {
    const base = syntheaPatients[1][1];
    const observations = (base.entry ?? []).map((e) => e.resource!).filter((r): r is Observation => r.resourceType === 'Observation').slice(0, 12);
    // Copies made with JSON (structuredClone makes arrays of another realm under Jest, which immutable.js
    // then keys differently).
    const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
    const twin = copy(observations[0]); // same content, another object: a duplicate
    const nearTwin = copy(observations[1]);
    delete nearTwin.issued; // differs only by an absent element: equality is null, not false
    const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [base.entry![0], ...[...observations, twin, nearTwin].map((resource) => ({ resource }))] };
    const { fast: f, stock: s } = patients(bundle);
    const [fo, so] = [findAll(f, 'Observation'), findAll(s, 'Observation')];
    expect(toDistinctList(fo).length).toBe(toDistinctList(so).length);
    expect(toDistinctList(fo).length).toBe(observations.length + 1);
    const pairs: [number, number][] = [];
    for (let i = 0; i < fo.length; i++) for (const j of [i, (i + 1) % fo.length, fo.length - 2, fo.length - 1]) pairs.push([i, j]);
    for (const [i, j] of pairs) {
      expect([i, j, outcome(() => equals(fo[i], fo[j]))]).toEqual([i, j, outcome(() => equals(so[i], so[j]))]);
      expect([i, j, outcome(() => equivalent(fo[i], fo[j]))]).toEqual([i, j, outcome(() => equivalent(so[i], so[j]))]);
    }
    // Elements compare the same way too (codings, primitives, quantities).
    for (const p of ['code', 'code.coding', 'status', 'value', 'effective', 'category']) {
      const values = (records: AnyRecord[]) => records.map((r) => r.get(p));
      expect(toDistinctList(values(fo)).length).toBe(toDistinctList(values(so)).length);
    }
    expect(JSON.stringify(fo.slice(0, 4))).toBe(JSON.stringify(so.slice(0, 4)));
  });
});

describe('the canonical form tells values apart', () => {
  it('distinguishes what a divergence would change', () => {
    const pairs: [unknown, unknown][] = [
      [cql.DateTime.parse('2026-01-01T00:00:00.000+00:00'), cql.DateTime.parse('2026-01-01T00:00:00.000+01:00')],
      [cql.DateTime.parse('2026-01-01'), cql.DateTime.parse('2026-01-01')?.getDate()],
      [new cql.Quantity(1, 'mg'), new cql.Quantity(1, 'g')],
      [new cql.Code('a', 's'), new cql.Code('a', 's', 'v')],
      [new cql.Interval(1, 2, true, true), new cql.Interval(1, 2, true, false)],
      [{ a: 1, b: null }, { a: 1 }],
      [[1, 2], [2, 1]],
      [null, undefined],
    ];
    for (const [a, b] of pairs) expect(canonicalJson(a)).not.toBe(canonicalJson(b));
    expect(canonical({ b: 1, a: [true] })).toEqual({ a: [true], b: 1 });
  });
});
