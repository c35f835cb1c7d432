/**
 * The DTR app's logic that needs no browser: which answers are auto, override or manual (and who
 * authored them), the code-filtered queries built from the Libraries' dataRequirement and the
 * package's expansions, the launch context, the rendering adjustments for LHC-Forms, and reading
 * the package and the determination.
 */
import type { Library, Parameters, Questionnaire, QuestionnaireItem, QuestionnaireResponse, ValueSet } from 'fhir/r4';
import { DTR } from '../../src/constants';
import { planReferenceQueries, recordQueries } from '../../web/dtr/data';
import { readDetermination } from '../../web/dtr/determination';
import { launchFromToken, parseAppContext } from '../../web/dtr/launch-context';
import { authorOf, markOrigins, originOf, originsByLinkId } from '../../web/dtr/origin';
import { elmOf, mainLibraryName, readPackage } from '../../web/dtr/package';
import { forRendering } from '../../web/dtr/render-hints';
import { documents, latest, toDtrResponse } from '../../web/dtr/response';

const auto = { url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'auto' }] };
const prescriber = { reference: 'Practitioner/dr', role: 'doctor' };

function qr(items: QuestionnaireResponse['item']): QuestionnaireResponse {
  return { resourceType: 'QuestionnaireResponse', status: 'in-progress', item: items };
}

describe('information-origin of each answer', () => {
  const population = qr([
    { linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 72, extension: [auto] }] }] },
    { linkId: 'indication', answer: [{ valueCoding: { system: 's', code: 'RA' }, extension: [auto] }] },
  ]);

  test('an answer the record gave stays auto with no author; a changed one is override, a new one manual, both by the clinician', () => {
    const current = qr([
      { linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 73 }] }] },
      { linkId: 'indication', answer: [{ valueCoding: { system: 's', code: 'RA', display: 'Rheumatoid arthritis' } }] },
      { linkId: 'no-active-infection', answer: [{ valueBoolean: true }] },
    ]);
    const marked = markOrigins({ current, loaded: population, auto: population, author: prescriber });
    expect(Object.fromEntries(originsByLinkId(marked))).toEqual({ 'weight-kg': 'override', indication: 'auto', 'no-active-infection': 'manual' });
    const weight = marked.item![0].item![0].answer![0];
    expect(authorOf(weight)).toBe('Practitioner/dr');
    const author = weight.extension![0].extension!.find((e) => e.url === 'author')!;
    expect(author.extension!.find((e) => e.url === 'role')?.valueCodeableConcept?.coding?.[0].code).toBe('doctor');
    expect(authorOf(marked.item![1].answer![0])).toBeNull();
    expect(marked.item![1].answer![0].extension).toEqual([auto]);
  });

  test('changing an answer back to what the record gave makes it auto again', () => {
    const current = qr([{ linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 72 }] }] }]);
    const loaded = qr([{ linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 80, extension: [{ url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'override' }] }] }] }] }]);
    const marked = markOrigins({ current, loaded, auto: population, author: prescriber });
    expect(originOf(marked.item![0].item![0].answer![0])).toBe('auto');
  });

  test('a resumed answer the clinician did not touch keeps its origin, even if the record now says otherwise', () => {
    const resumed = qr([{ linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 70, extension: [{ url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'override' }] }] }] }] }]);
    const current = qr([{ linkId: 'dosing', item: [{ linkId: 'weight-kg', answer: [{ valueDecimal: 70 }] }] }]);
    const marked = markOrigins({ current, loaded: resumed, auto: population, author: prescriber });
    expect(originOf(marked.item![0].item![0].answer![0])).toBe('override');
  });
});

describe('patient data queries from the Libraries dataRequirement', () => {
  const valueSets: ValueSet[] = [{
    resourceType: 'ValueSet', status: 'active', url: 'http://x/ValueSet/ra',
    expansion: { timestamp: '2026-01-01', contains: Array.from({ length: 130 }, (_, i) => ({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: `M05.${i}` })) },
  }];
  const library: Library = {
    resourceType: 'Library', status: 'active', type: { coding: [{ code: 'logic-library' }] },
    dataRequirement: [
      { type: 'Patient' },
      { type: 'Condition', codeFilter: [{ path: 'code', valueSet: 'http://x/ValueSet/ra' }] },
      { type: 'Observation', codeFilter: [{ path: 'code', code: [{ system: 'http://loinc.org', code: '29463-7' }] }] },
      { type: 'MedicationRequest' },
      { type: 'Organization' },
      { type: 'PractitionerRole' },
      { type: 'Immunization' },
    ],
  };

  test('code filters come from the expansions (in chunks), unfiltered types are read whole, others by reference', () => {
    const { queries, byReference, unsupported } = recordQueries([library], valueSets, 'p 1');
    const paths = queries.map((q) => q.path);
    expect(paths).toContain('Patient/p%201');
    expect(paths).toContain('MedicationRequest?patient=p%201');
    expect(paths).toContain(`Observation?patient=p%201&code=${encodeURIComponent('http://loinc.org|29463-7')}`);
    const conditions = paths.filter((p) => p.startsWith('Condition?'));
    expect(conditions).toHaveLength(3);
    expect(conditions.every((p) => p.includes('&code=') && p.includes(encodeURIComponent('http://hl7.org/fhir/sid/icd-10-cm|M05.')))).toBe(true);
    expect(conditions.join(',').split(encodeURIComponent('icd-10-cm|')).length - 1).toBe(130);
    expect(byReference.sort()).toEqual(['Organization', 'PractitionerRole']);
    expect(unsupported).toEqual(['Immunization']);
  });

  test('a value set the package does not expand cannot narrow the search', () => {
    const lib: Library = { ...library, dataRequirement: [{ type: 'Condition', codeFilter: [{ path: 'code', valueSet: 'http://x/ValueSet/missing' }] }] };
    expect(recordQueries([lib], valueSets, 'p').queries.map((q) => q.path)).toEqual(['Condition?patient=p']);
  });

  test('payer, medication and prescriber role are followed from the references that lead to them', () => {
    const follow = planReferenceQueries(
      [
        { resourceType: 'Coverage', id: 'c', status: 'active', beneficiary: { reference: 'Patient/p' }, payor: [{ reference: 'Organization/payer' }] },
        { resourceType: 'MedicationStatement', id: 'm', status: 'active', subject: { reference: 'Patient/p' }, medicationReference: { reference: 'Medication/mtx' } },
      ],
      [{ resourceType: 'MedicationRequest', id: 'o', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, requester: { reference: 'Practitioner/dr' } }],
      ['Organization', 'Medication', 'PractitionerRole'],
    );
    expect(follow.map((q) => q.path).sort()).toEqual(['Medication/mtx', 'Organization/payer', 'PractitionerRole?practitioner=dr']);
  });
});

describe('launch context', () => {
  test("the card's appContext names the order, coverage and questionnaire; fhirContext fills in when it is absent", () => {
    expect(parseAppContext('questionnaire=http%3A%2F%2Fp%2Ffhir%2FQuestionnaire%2Fq%7C1&order=MedicationRequest%2Fo&coverage=Coverage%2Fc')).toEqual(
      new Map([['questionnaire', 'http://p/fhir/Questionnaire/q|1'], ['order', 'MedicationRequest/o'], ['coverage', 'Coverage/c']]));
    expect(parseAppContext('{"order":"MedicationRequest/o"}').get('order')).toBe('MedicationRequest/o');
    const launch = launchFromToken(
      { patient: 'p', fhirContext: [{ reference: 'MedicationRequest/o2' }, { reference: 'Coverage/c2' }, { type: 'Questionnaire', canonical: 'http://q|2' }] },
      'http://ehr/fhir', 'http://ehr/fhir/Practitioner/dr',
    );
    expect(launch).toMatchObject({ patientId: 'p', user: 'Practitioner/dr', order: 'MedicationRequest/o2', coverage: 'Coverage/c2', questionnaire: 'http://q|2', sandboxLabel: null });
    expect(() => launchFromToken({}, 'http://ehr/fhir', null)).toThrow(/no patient/);
  });
});

describe('rendering adjustments for LHC-Forms', () => {
  const q: Questionnaire = {
    resourceType: 'Questionnaire', status: 'active',
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/cqf-library', valueCanonical: 'http://p/Library/KineretPA' }],
    item: [
      { linkId: 'indication', type: 'choice', answerOption: [{ valueCoding: { code: 'RA' } }, { valueCoding: { code: 'CAPS' } }, { valueCoding: { code: 'OTHER' } }],
        extension: [{ url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression', valueExpression: { language: 'text/cql', expression: '"KineretPA"."Prefill Indication"' } }] },
      { linkId: 'g', type: 'group', enableWhen: [{ question: 'indication', operator: 'exists', answerBoolean: true }],
        item: [{ linkId: 'doc', type: 'group', enableWhen: [{ question: 'indication', operator: '!=', answerCoding: { code: 'OTHER' } }], item: [{ linkId: 'doc.text', type: 'text' }] }] },
    ],
  };

  test('enableWhen logic is handed over unchanged, short lists get radio buttons, the CQL is left to the app', () => {
    const r = forRendering(q);
    expect(r.extension).toEqual([]);
    expect(r.item![0].extension).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl', valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/questionnaire-item-control', code: 'radio-button' }] } }]);
    // LHC-Forms 40.1.2 and later evaluate a condition nested in a disabled group without looping: no rewriting.
    expect(r.item![1].item![0].enableWhen).toEqual(q.item![1].item![0].enableWhen);
  });

  test('a group without conditions takes the one all its items share, so its heading never shows empty', () => {
    const initial = { question: 'request-type', operator: '=' as const, answerCoding: { code: 'initial' } };
    const on = (code: string) => ({ question: 'indication', operator: '=' as const, answerCoding: { code } });
    const grouped = (items: QuestionnaireItem[]): QuestionnaireItem => forRendering({ resourceType: 'Questionnaire', status: 'active', item: [{ linkId: 'criteria', type: 'group', item: items }] }).item![0];
    const ra: QuestionnaireItem = { linkId: 'ra', type: 'group', enableWhen: [initial, on('RA')], enableBehavior: 'all', item: [{ linkId: 'ra.x', type: 'boolean' }] };
    const caps: QuestionnaireItem = { linkId: 'caps', type: 'group', enableWhen: [initial, on('CAPS')], enableBehavior: 'all', item: [{ linkId: 'caps.x', type: 'boolean' }] };
    expect(grouped([ra, caps])).toMatchObject({ enableWhen: [initial] });
    expect(grouped([ra, caps]).enableBehavior).toBeUndefined();
    expect(grouped([ra, caps]).item!.map((i) => i.enableWhen)).toEqual([ra.enableWhen, caps.enableWhen]);
    // An item that always shows, or one enabled by either of two conditions, keeps the group unconditional.
    expect(grouped([ra, { linkId: 'always', type: 'boolean' }]).enableWhen).toBeUndefined();
    expect(grouped([ra, { ...caps, enableBehavior: 'any' }]).enableWhen).toBeUndefined();
  });
});

describe('package, response and determination', () => {
  const elm = { library: { identifier: { id: 'KineretPA' } } };
  const lib: Library = {
    resourceType: 'Library', name: 'KineretPA', status: 'active', type: { coding: [{ code: 'logic-library' }] },
    content: [{ contentType: 'application/elm+json', data: Buffer.from(JSON.stringify(elm)).toString('base64') }],
  };
  const questionnaire: Questionnaire = { resourceType: 'Questionnaire', status: 'active', url: 'http://p/fhir/Questionnaire/kineret-pa', version: '1.0.0', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/cqf-library', valueCanonical: 'http://p/fhir/Library/KineretPA' }] };

  test('the package bundle is split into questionnaire, libraries and value sets; ELM is decoded', () => {
    const answer: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'PackageBundle', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: questionnaire }, { resource: lib }] } }] };
    const pkg = readPackage(answer);
    expect(pkg.questionnaire.url).toBe(questionnaire.url);
    expect(pkg.libraries).toHaveLength(1);
    expect(elmOf(pkg.libraries[0])).toEqual(elm);
    expect(mainLibraryName(pkg.questionnaire)).toBe('KineretPA');
    expect(() => readPackage({ resourceType: 'Parameters', parameter: [{ name: 'operationOutcome', resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: 'unknown questionnaire' }] } }] }))
      .toThrow(/unknown questionnaire/);
  });

  test('the saved response keeps the DTR envelope; a response on the EHR is resumed only for the same questionnaire and order', () => {
    const envelope: QuestionnaireResponse = {
      resourceType: 'QuestionnaireResponse', status: 'in-progress', questionnaire: 'http://p/fhir/Questionnaire/kineret-pa|1.0.0',
      extension: [{ url: DTR.qrContext, valueReference: { reference: 'Coverage/c' } }, { url: DTR.qrContext, valueReference: { reference: 'MedicationRequest/o' } }],
      subject: { reference: 'Patient/p' },
    };
    const out = toDtrResponse(qr([{ linkId: 'a', answer: [{ valueBoolean: true }] }]), envelope, { author: 'Practitioner/dr', status: 'completed', now: '2026-01-01T00:00:00Z' });
    expect(out).toMatchObject({ status: 'completed', author: { reference: 'Practitioner/dr' }, questionnaire: envelope.questionnaire, extension: envelope.extension, item: [{ linkId: 'a' }] });
    expect(documents(out, 'http://p/fhir/Questionnaire/kineret-pa|2.0.0', 'MedicationRequest/o')).toBe(true);
    expect(documents(out, 'http://p/fhir/Questionnaire/kineret-pa', 'MedicationRequest/other')).toBe(false);
    const older = { ...out, id: 'old', meta: { lastUpdated: '2026-01-01T00:00:00Z' } };
    const newer = { ...out, id: 'new', meta: { lastUpdated: '2026-02-01T00:00:00Z' } };
    expect(latest([older, newer])?.id).toBe('new');
  });

  test('the determination is read with its period and every criterion', () => {
    const d = readDetermination({
      resourceType: 'Parameters',
      parameter: [
        { name: 'decision', valueCode: 'approved' },
        { name: 'indication', valueCoding: { code: 'RA', display: 'Rheumatoid arthritis' } },
        { name: 'approvalPeriod', valuePeriod: { start: '2026-01-01', end: '2026-07-01' } },
        { name: 'criterion', part: [{ name: 'code', valueCoding: { code: 'AGE', display: 'Age limit' } }, { name: 'status', valueCode: 'met' }, { name: 'reason', valueString: 'member is 54' }, { name: 'evidence', valueReference: { reference: 'Patient/p' } }] },
      ],
    });
    expect(d).toMatchObject({ decision: 'approved', indication: 'Rheumatoid arthritis', approvalPeriod: { start: '2026-01-01', end: '2026-07-01' } });
    expect(d.criteria).toEqual([{ code: 'AGE', title: 'Age limit', description: '', status: 'met', reason: 'member is 54', evidence: ['Patient/p'] }]);
    expect(() => readDetermination({ resourceType: 'Parameters' })).toThrow(/without a decision/);
  });
});
