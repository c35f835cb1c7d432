/**
 * One answer to "is this a Kineret order?": the CRD pre-check (src/crd/orders.ts, KineretProduct evaluated
 * over the draft orders alone) and the policy CQL evaluated over the whole record (KineretRequest finds the
 * order being authorized) must agree on every corpus order and on the shapes EHRs send: an ingredient-only
 * Medication, a name only, a contained or referenced Medication, NDC codes with and without hyphens, other
 * drugs, and malformed orders.
 */
import type { FhirResource, Medication, MedicationRequest } from 'fhir/r4';
import { KineretEngine, loadContent } from '../../src/core/engine';
import { KineretMatcher, referenceLookup } from '../../src/crd/orders';
import { loadScenarios } from '../corpus';
import { splitScenario } from '../hook-requests';

const engine = new KineretEngine(loadContent());
const matcher = new KineretMatcher(engine);
const scenarios = loadScenarios();
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const NDC = 'http://hl7.org/fhir/sid/ndc';

/** The pre-check's answer for `order` with `record` as what the hook could resolve references against. */
async function precheck(order: MedicationRequest, record: FhirResource[]): Promise<boolean> {
  return matcher.isKineret(order, referenceLookup<Medication>(record, 'Medication'));
}

/** The policy CQL's answer: does it find `order` as the Kineret order to authorize, over the whole record? */
async function policyFindsOrder(order: MedicationRequest, record: FhirResource[]): Promise<boolean> {
  const bundle = { resourceType: 'Bundle' as const, type: 'collection' as const, entry: [...record, order].map((resource) => ({ resource })) };
  const evaluation = await engine.evaluate(bundle, { orderId: order.id, evaluationDate: '2026-11-28' });
  return evaluation.orderReference === `MedicationRequest/${order.id}`;
}

describe('every corpus order: the pre-check and the policy CQL agree', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const { order, record } = splitScenario(s);
    const [pre, policy] = [await precheck(order, record), await policyFindsOrder(order, record)];
    expect({ pre, policy }).toEqual({ pre: true, policy: true });
  });
});

describe('the shapes EHRs send', () => {
  const base = splitScenario(scenarios.find((s) => s.name === 'ra-mtx-failure-approved')!);
  const order = (medication: Partial<MedicationRequest>, extra: Partial<MedicationRequest> = {}): MedicationRequest => {
    const { medicationCodeableConcept: _c, medicationReference: _r, contained: _x, ...rest } = structuredClone(base.order);
    return { ...rest, ...medication, ...extra } as MedicationRequest;
  };
  const anakinraIngredient: Medication = {
    resourceType: 'Medication', id: 'med-ingredient-only',
    ingredient: [{ itemCodeableConcept: { coding: [{ system: RXNORM, code: '72435', display: 'anakinra' }] } }],
  };
  const cases: [string, MedicationRequest, FhirResource[], boolean][] = [
    ['RxNorm SCD code', order({ medicationCodeableConcept: { coding: [{ system: RXNORM, code: '727711' }] } }), [], true],
    ['NDC, 10-digit hyphenated', order({ medicationCodeableConcept: { coding: [{ system: NDC, code: '66658-234-07' }] } }), [], true],
    ['NDC, 11 digits without hyphens', order({ medicationCodeableConcept: { coding: [{ system: NDC, code: '66658023428' }] } }), [], true],
    ['name only, as text', order({ medicationCodeableConcept: { text: 'Kineret 100 mg/0.67 mL syringe' } }), [], true],
    ['name only, as a reference display', order({ medicationReference: { display: 'anakinra injection' } }), [], true],
    ['a referenced Medication coded by its anakinra ingredient only', order({ medicationReference: { reference: 'Medication/med-ingredient-only' } }), [anakinraIngredient], true],
    ['a contained Medication coded by its ingredient only', order({
      contained: [{ ...anakinraIngredient, id: 'm1' }], medicationReference: { reference: '#m1' },
    }), [], true],
    ['a contained Medication with the brand code', order({
      contained: [{ resourceType: 'Medication', id: 'k', code: { coding: [{ system: RXNORM, code: '727714' }] } }], medicationReference: { reference: '#k' },
    }), [], true],
    ['another drug (methotrexate)', order({ medicationCodeableConcept: { coding: [{ system: RXNORM, code: '6851', display: 'methotrexate' }] } }), [], false],
    ['a referenced Medication of another drug', order({ medicationReference: { reference: 'Medication/mtx' } }),
      [{ resourceType: 'Medication', id: 'mtx', code: { coding: [{ system: RXNORM, code: '6851', display: 'methotrexate' }] } }], false],
    ['a reference the record cannot resolve, no display', order({ medicationReference: { reference: 'Medication/absent' } }), [], false],
    ['a name that only contains the letters (kineretic? no: "anakin")', order({ medicationCodeableConcept: { text: 'anakin skywalker vitamin' } }), [], false],
  ];

  it.each(cases)('%s', async (_name, o, extra, expected) => {
    const record = [...base.record, ...extra];
    const [pre, policy] = [await precheck(o, record), await policyFindsOrder(o, record)];
    expect({ pre, policy }).toEqual({ pre: expected, policy: expected });
  });

  it('several draft orders: only the Kineret ones, in order; a malformed one hides none of them', async () => {
    const mtx = order({ medicationCodeableConcept: { coding: [{ system: RXNORM, code: '6851' }] } }, { id: 'mtx-order' });
    const kineret = order({ medicationCodeableConcept: { text: 'Kineret' } }, { id: 'k-order' });
    const malformed = { ...order({ medicationCodeableConcept: 'Kineret' as never }, { id: 'bad' }), category: { text: 'not a list' } } as unknown as MedicationRequest;
    const noId = order({ medicationCodeableConcept: { coding: [{ system: RXNORM, code: '727711' }] } }, { id: undefined });
    const found = await matcher.kineretOrders([mtx, kineret, malformed, noId, 'garbage' as never], () => undefined);
    expect(found).toEqual([kineret, noId]);
  });
});
