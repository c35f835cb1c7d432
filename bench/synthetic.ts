/**
 * Deterministic synthetic patient records for benchmarks: a realistic mix of Conditions (several codings
 * each, a few in the policy's value sets), Observations (vitals, labs, disease-activity scores),
 * medication history (requests, statements, dispenses), allergies, plus the member's Coverage, payer,
 * prescriber role and a Kineret draft order. The same size and seed always give the same Bundle.
 */
import type {
  AllergyIntolerance, Bundle, Condition, Coding, FhirResource, MedicationDispense, MedicationRequest,
  MedicationStatement, Observation,
} from 'fhir/r4';
import {
  DRUGS, ICD10, LOINC, RXNORM, SNOMED, coverage, kineretOrder, patient, payer, rheumatologist,
} from '../test/fixtures/builder';

export const SYNTHETIC_PATIENT_ID = 'synthetic';
export const SYNTHETIC_EVALUATION_DATE = '2026-11-28';

/** mulberry32: a tiny seeded PRNG, so records are reproducible without a dependency. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];

/** A date within the last `years` years before the evaluation date. */
function pastDate(rng: Rng, years = 5): string {
  const end = Date.parse(`${SYNTHETIC_EVALUATION_DATE}T00:00:00Z`);
  return new Date(end - Math.floor(rng() * years * 365) * 86_400_000).toISOString().slice(0, 10);
}

// [ICD-10-CM, SNOMED, display]; the first rows are in the policy's value sets (RA, latent TB, JIA).
const POLICY_CONDITIONS = [
  ['M05.79', '69896004', 'Rheumatoid arthritis with rheumatoid factor of multiple sites'],
  ['M06.9', '69896004', 'Rheumatoid arthritis, unspecified'],
  ['Z86.15', '161414005', 'Personal history of latent tuberculosis infection'],
] as const;
const OTHER_CONDITIONS = [
  ['E11.9', '44054006', 'Type 2 diabetes mellitus without complications'],
  ['I10', '38341003', 'Essential (primary) hypertension'],
  ['J45.909', '195967001', 'Unspecified asthma, uncomplicated'],
  ['E78.5', '55822004', 'Hyperlipidemia, unspecified'],
  ['K21.9', '235595009', 'Gastro-esophageal reflux disease without esophagitis'],
  ['M54.5', '279039007', 'Low back pain'],
  ['F41.1', '21897009', 'Generalized anxiety disorder'],
  ['E66.9', '414916001', 'Obesity, unspecified'],
  ['N39.0', '68566005', 'Urinary tract infection, site not specified'],
  ['J06.9', '54150009', 'Acute upper respiratory infection, unspecified'],
  ['M17.11', '239873007', 'Unilateral primary osteoarthritis, right knee'],
  ['G43.909', '37796009', 'Migraine, unspecified'],
] as const;

function syntheticCondition(rng: Rng, i: number): Condition {
  const [icd, sct, display] = rng() < 0.05 ? pick(rng, POLICY_CONDITIONS) : pick(rng, OTHER_CONDITIONS);
  const coding: Coding[] = [
    { system: ICD10, code: icd, display },
    { system: SNOMED, code: sct, display },
    { system: 'http://hospital.example/codes/problem', code: `P${1000 + (i % 500)}`, display },
  ];
  if (rng() < 0.5) coding.push({ system: 'http://hl7.org/fhir/sid/icd-9-cm', code: `${200 + (i % 700)}.${i % 10}` });
  const status = rng() < 0.7 ? 'active' : 'resolved';
  return {
    resourceType: 'Condition',
    id: `cond-${i}`,
    meta: { lastUpdated: `${pastDate(rng)}T10:00:00Z` },
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding, text: display },
    onsetDateTime: pastDate(rng, 10),
    recordedDate: pastDate(rng),
  };
}

// [LOINC, display, unit, low, high]; CDAI, CRP and body weight are read by the policy.
const LABS = [
  ['2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL', 70, 180],
  ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%', 5, 9],
  ['4537-7', 'Erythrocyte sedimentation rate', 'mm/h', 2, 60],
  ['1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', 'mg/L', 1, 40],
  ['2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL', 0.5, 1.4],
  ['718-7', 'Hemoglobin [Mass/volume] in Blood', 'g/dL', 10, 16],
  ['8867-4', 'Heart rate', '/min', 55, 110],
  ['29463-7', 'Body weight', 'kg', 60, 90],
  ['75847-4', 'Total score [CDAI]', '{score}', 5, 40],
] as const;

function syntheticObservation(rng: Rng, i: number): Observation {
  if (rng() < 0.15) return bloodPressure(rng, i);
  const [code, display, unit, low, high] = pick(rng, LABS);
  const category = code === '29463-7' || code === '8867-4' ? 'vital-signs' : 'laboratory';
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    status: rng() < 0.95 ? 'final' : 'amended',
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: LOINC, code, display }], text: display },
    effectiveDateTime: `${pastDate(rng)}T09:30:00Z`,
    valueQuantity: { value: Math.round((low + rng() * (high - low)) * 10) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    ...(rng() < 0.2
      ? { interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' }] }] }
      : {}),
  };
}

function bloodPressure(rng: Rng, i: number): Observation {
  const component = (code: string, display: string, value: number) => ({
    code: { coding: [{ system: LOINC, code, display }] },
    valueQuantity: { value, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  });
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    status: 'final',
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
    effectiveDateTime: `${pastDate(rng)}T09:30:00Z`,
    component: [
      component('8480-6', 'Systolic blood pressure', 100 + Math.floor(rng() * 50)),
      component('8462-4', 'Diastolic blood pressure', 60 + Math.floor(rng() * 30)),
    ],
  };
}

// Medication history: everyday drugs plus the policy's step-therapy drugs (no biologics, so ALL-2 stays open).
const MEDICATIONS = [
  { code: '29046', display: 'lisinopril' },
  { code: '6809', display: 'metformin' },
  { code: '83367', display: 'atorvastatin' },
  { code: '7646', display: 'omeprazole' },
  { code: '5640', display: 'ibuprofen' },
  { code: '161', display: 'acetaminophen' },
  DRUGS.methotrexate,
  DRUGS.naproxen,
  DRUGS.prednisolone,
  DRUGS.hydroxychloroquine,
] as const;

function medicationCode(rng: Rng) {
  const drug = pick(rng, MEDICATIONS);
  return { coding: [{ system: RXNORM, code: drug.code, display: drug.display }], text: drug.display };
}

function syntheticRequest(rng: Rng, i: number): MedicationRequest {
  const authoredOn = pastDate(rng);
  return {
    resourceType: 'MedicationRequest',
    id: `medreq-${i}`,
    status: pick(rng, ['completed', 'stopped', 'active', 'completed'] as const),
    intent: 'order',
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    authoredOn,
    requester: { reference: 'Practitioner/dr-pcp' },
    medicationCodeableConcept: medicationCode(rng),
    dosageInstruction: [{ text: 'Take one tablet by mouth daily', timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } }],
    dispenseRequest: { validityPeriod: { start: authoredOn, end: addDays(authoredOn, 90) } },
  };
}

function syntheticStatement(rng: Rng, i: number): MedicationStatement {
  const start = pastDate(rng);
  return {
    resourceType: 'MedicationStatement',
    id: `medstmt-${i}`,
    status: pick(rng, ['completed', 'stopped', 'completed'] as const),
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    medicationCodeableConcept: medicationCode(rng),
    effectivePeriod: { start, end: addDays(start, 30 + Math.floor(rng() * 150)) },
  };
}

function syntheticDispense(rng: Rng, i: number): MedicationDispense {
  const days = pick(rng, [30, 90] as const);
  return {
    resourceType: 'MedicationDispense',
    id: `meddisp-${i}`,
    status: 'completed',
    subject: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    medicationCodeableConcept: medicationCode(rng),
    whenHandedOver: pastDate(rng),
    daysSupply: { value: days, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' },
    quantity: { value: days, unit: 'tablet' },
  };
}

const ALLERGENS = [
  { system: SNOMED, code: '764146007', display: 'Penicillin' },
  { system: SNOMED, code: '256349002', display: 'Peanut protein' },
  { system: SNOMED, code: '387406002', display: 'Sulfonamide' },
  { system: SNOMED, code: '111088007', display: 'Latex' },
] as const;

function syntheticAllergy(rng: Rng, i: number): AllergyIntolerance {
  const allergen = pick(rng, ALLERGENS);
  return {
    resourceType: 'AllergyIntolerance',
    id: `allergy-${i}`,
    patient: { reference: `Patient/${SYNTHETIC_PATIENT_ID}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
    code: { coding: [{ ...allergen }], text: allergen.display },
    recordedDate: pastDate(rng),
  };
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Share of each generated resource type in the record (the rest of the record is fixed). */
const MIX: [number, (rng: Rng, i: number) => FhirResource][] = [
  [0.25, syntheticCondition],
  [0.4, syntheticObservation],
  [0.12, syntheticRequest],
  [0.08, syntheticStatement],
  [0.12, syntheticDispense],
  [0.03, syntheticAllergy],
];

/** A record of exactly `size` resources (size >= 10) for an adult RA member with a Kineret draft order. */
export function syntheticRecord(size: number, seed = 42): Bundle {
  const rng = prng(seed);
  const fixed: FhirResource[] = [
    patient(SYNTHETIC_PATIENT_ID, '1970-06-15', 'CA'),
    payer('payer', 'CA'),
    coverage('cov', SYNTHETIC_PATIENT_ID, 'Gold Commercial PPO'),
    rheumatologist(),
    kineretOrder('kineret-order', SYNTHETIC_PATIENT_ID),
  ];
  const generated: FhirResource[] = [];
  for (let i = 0; generated.length < size - fixed.length; i++) {
    let r = rng();
    const make = MIX.find(([share]) => (r -= share) < 0)?.[1] ?? syntheticObservation;
    generated.push(make(rng, i));
  }
  return { resourceType: 'Bundle', type: 'collection', entry: [...fixed, ...generated].map((resource) => ({ resource })) };
}
