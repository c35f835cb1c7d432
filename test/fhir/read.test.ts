/**
 * Lenient reading, strict meaning, as one mechanism over the FHIR R4 StructureDefinitions: the same
 * rules hold for every resource type and data type, nested backbone elements, choice elements,
 * contained resources and recursive items, without a list of fields.
 */
import type { FhirResource } from 'fhir/r4';
import { FhirReader, mapPrimitives } from '../../src/fhir/read';
import { FhirShapes } from '../../src/fhir/shapes';
import { loadScenarios } from '../corpus';

const shapes = FhirShapes.r4();
const reader = new FhirReader(shapes);
const read = (value: unknown) => reader.resource(value, 'test');
const summary = (value: unknown) => read(value).issues.map((i) => `${i.severity} ${i.code} ${i.expression}`);

test('the shapes come from the R4 StructureDefinitions', () => {
  expect(shapes.fhirVersion).toBe('4.0.1');
  expect(shapes.element('MedicationRequest', 'category')).toEqual({ type: 'CodeableConcept', array: true });
  expect(shapes.element('Patient', 'birthDate')).toEqual({ type: 'date', array: false });
  expect(shapes.element('Observation', 'valueQuantity')).toEqual({ type: 'Quantity', array: false, choice: 'value' });
  expect(shapes.element('MedicationRequest', 'dispenseRequest')).toEqual({ type: 'MedicationRequest.dispenseRequest', array: false });
  expect(shapes.element('Questionnaire.item', 'item')).toEqual({ type: 'Questionnaire.item', array: true });
  expect(shapes.element('QuestionnaireResponse.item.answer', 'valueBoolean')).toEqual({ type: 'boolean', array: false, choice: 'value' });
  expect(shapes.isResourceType('Coverage')).toBe(true);
  expect(shapes.isResourceType('Medicine')).toBe(false);
});

test('every corpus record reads without an issue and unchanged', () => {
  for (const s of loadScenarios()) {
    const r = read(s.bundle);
    expect({ scenario: s.name, issues: r.issues }).toEqual({ scenario: s.name, issues: [] });
    expect(r.resource).toEqual(s.bundle);
  }
});

describe('read as meant, with a warning', () => {
  test('a single value where a list belongs, at any depth and in any type', () => {
    const r = read({ resourceType: 'Observation', status: 'final', code: { coding: { system: 'http://loinc.org', code: '29463-7' } },
      category: { text: 'vital-signs' }, component: { code: { text: 'x' }, valueString: 'y' } });
    expect(r.resource).toEqual({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      category: [{ text: 'vital-signs' }], component: [{ code: { text: 'x' }, valueString: 'y' }] });
    expect(r.issues.map((i) => [i.severity, i.expression])).toEqual([
      ['warning', 'Observation.code.coding'], ['warning', 'Observation.category'], ['warning', 'Observation.component']]);
  });

  test('a list of one where a single value belongs; null, "" and [] as absent; unknown elements left alone', () => {
    const r = read({ resourceType: 'Patient', id: 'p', birthDate: ['1980-01-01'], gender: '', name: [], active: null, favouriteColour: 'blue' });
    expect(r.resource).toEqual({ resourceType: 'Patient', id: 'p', birthDate: '1980-01-01', favouriteColour: 'blue' });
    expect(r.issues.map((i) => i.diagnostics)).toEqual([
      'test: Patient.birthDate holds a list of one where FHIR R4 has a single date; read as that value',
      'test: Patient.gender is the string ""; read as absent',
      'test: Patient.active is null; read as absent',
      'test: Patient.favouriteColour is not an element of Patient in FHIR R4; ignored',
    ]);
  });

  test('nulls that align a primitive list with its extensions are kept', () => {
    const patient = { resourceType: 'Patient', name: [{ given: ['A', null], _given: [null, { extension: [{ url: 'x', valueString: 'B' }] }] }] };
    expect(read(patient)).toEqual({ resource: patient, issues: [] });
  });
});

describe('refused, pointing at the element', () => {
  test.each([
    ['a string where a boolean belongs', { resourceType: 'Patient', active: 'yes' }, ['error value Patient.active']],
    ['a malformed date', { resourceType: 'Patient', birthDate: '1980-13-01' }, ['error value Patient.birthDate']],
    ['a number where a CodeableConcept belongs', { resourceType: 'Condition', subject: { reference: 'Patient/p' }, code: 42 }, ['error structure Condition.code']],
    ['two values where one belongs', { resourceType: 'Coverage', status: 'active', beneficiary: [{ reference: 'Patient/a' }, { reference: 'Patient/b' }] }, ['error structure Coverage.beneficiary']],
    ['two variants of a choice', { resourceType: 'Observation', valueString: 'a', valueBoolean: true }, ['error structure Observation.value[x]']],
    ['a bad id', { resourceType: 'Patient', id: 'a/b' }, ['error value Patient.id']],
    ['an unknown resource type', { resourceType: 'Patientt' }, ['error structure resourceType']],
    ['no resource type', { id: 'x' }, ['error structure resourceType']],
    ['a decimal in a string', { resourceType: 'Observation', valueQuantity: { value: '72.5' } }, ['error value Observation.valueQuantity.value']],
    ['a contained resource of an unknown type', { resourceType: 'MedicationRequest', contained: [{ resourceType: 'Drug' }] }, ['error structure MedicationRequest.contained[0].resourceType']],
    ['a bad answer deep in recursive items', { resourceType: 'QuestionnaireResponse', status: 'completed', item: [{ linkId: 'a', item: [{ linkId: 'b', answer: [{ valueInteger: 1.5 }] }] }] },
      ['error value QuestionnaireResponse.item[0].item[0].answer[0].valueInteger']],
    ['a Bundle entry that is not a resource', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: 'Patient/1' }] }, ['error structure Bundle.entry[0].resource']],
  ])('%s', (_n, value, expected) => {
    expect(summary(value)).toEqual(expected);
  });

  test('the type asked for', () => {
    expect(reader.resource({ resourceType: 'Patient' }, 'body', ['Parameters']).issues.map((i) => i.diagnostics)).toEqual(['body: resourceType is Patient, where Parameters belongs']);
  });
});

test('mapPrimitives visits each primitive with its FHIR type', () => {
  const seen: string[] = [];
  const condition: FhirResource = { resourceType: 'Condition', subject: { reference: 'Patient/p' }, onsetDateTime: '2020-01-01', recordedDate: '2020-01-02', code: { coding: [{ code: '2020' }] } };
  mapPrimitives(shapes, condition, (type, value, element) => {
    seen.push(`${element}:${type}=${String(value)}`);
    return value;
  });
  expect(seen.sort()).toEqual(['code:code=2020', 'onsetDateTime:dateTime=2020-01-01', 'recordedDate:dateTime=2020-01-02', 'reference:string=Patient/p']);
});
