/**
 * Expected failures: what can go wrong without anything being wrong with the service. Each says, in
 * a clinician's words, what could not be done; only these become a "could not be determined"
 * answer. Anything else thrown is a defect: it reaches the error handler, is logged with its stack
 * and answered 500, never turned into a card.
 */

export abstract class ExpectedFailure extends Error {
  /** A short sentence for a clinician, without engine or protocol text. */
  abstract readonly clinicianMessage: string;
}

/** Clinician words for the kinds of data the policy reads. */
const DATA_WORDS: Record<string, string> = {
  Patient: 'the patient\'s demographics',
  Coverage: 'the patient\'s coverage',
  Condition: 'diagnoses',
  Observation: 'lab results and vital signs',
  AllergyIntolerance: 'allergies',
  MedicationRequest: 'medication history',
  MedicationStatement: 'medication history',
  MedicationDispense: 'medication history',
  Procedure: 'procedures',
  Organization: 'the health plan',
  Medication: 'medication details',
  PractitionerRole: 'the prescriber\'s specialty',
  Practitioner: 'the prescriber',
};

/** '…diagnoses, allergies and medication history' for a list of resource types (each kind once). */
export function dataWords(types: string[]): string {
  const words = [...new Set(types.map((t) => DATA_WORDS[t] ?? 'other records'))];
  return words.length <= 1 ? (words[0] ?? 'the record') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

export type EhrFailureKind = 'timeout' | 'http' | 'network' | 'invalid' | 'too-large' | 'pagination' | 'refused' | 'not-found' | 'other-patient';

const EHR_REASON: Record<EhrFailureKind, string> = {
  timeout: 'The EHR did not answer in time',
  http: 'The EHR answered with an error',
  network: 'The EHR could not be reached',
  invalid: 'The EHR sent data that could not be read',
  'too-large': 'The EHR sent more data than this service accepts',
  pagination: 'The EHR returned more pages of results than this service reads',
  refused: 'The EHR\'s address is not one this service may call',
  'not-found': 'The EHR has no record of this patient',
  'other-patient': 'The EHR answered with records of another patient',
};

/** The EHR's FHIR server was unreachable, slow, failing, or sent what cannot be used, for some kinds of data. */
export class EhrDataUnavailable extends ExpectedFailure {
  override readonly name = 'EhrDataUnavailable';
  constructor(readonly kind: EhrFailureKind, readonly types: string[], detail: string) {
    super(`${kind}: ${types.join(', ')}: ${detail}`);
  }

  get clinicianMessage(): string {
    return `${EHR_REASON[this.kind]}: ${dataWords(this.types)} could not be read.`;
  }
}

/** Data the policy needs is not in the record and cannot be had (no Patient, no server to ask). */
export class RecordDataMissing extends ExpectedFailure {
  override readonly name = 'RecordDataMissing';
  constructor(readonly types: string[], detail: string) {
    super(detail);
  }

  get clinicianMessage(): string {
    return `The record sent with the order does not include ${dataWords(this.types)}.`;
  }
}

/** A criterion cannot be evaluated from this record (e.g. a value the policy needs is missing or unusable). */
export class CriterionNotEvaluable extends ExpectedFailure {
  override readonly name = 'CriterionNotEvaluable';
  constructor(readonly criterion: string, readonly clinicianMessage: string) {
    super(`${criterion}: ${clinicianMessage}`);
  }
}

/** Each distinct problem once, in clinician words: failures of one kind are merged, their data kinds listed together. */
export function clinicianProblems(failures: ExpectedFailure[]): string[] {
  const merged = new Map<string, ExpectedFailure>();
  for (const f of failures) {
    if (f instanceof EhrDataUnavailable) {
      const key = `ehr:${f.kind}`;
      const earlier = merged.get(key) as EhrDataUnavailable | undefined;
      merged.set(key, earlier ? new EhrDataUnavailable(f.kind, [...earlier.types, ...f.types], earlier.message) : f);
    } else if (f instanceof RecordDataMissing) {
      const earlier = merged.get('missing') as RecordDataMissing | undefined;
      merged.set('missing', earlier ? new RecordDataMissing([...earlier.types, ...f.types], earlier.message) : f);
    } else merged.set(`${f.name}:${f.clinicianMessage}`, f);
  }
  return [...new Set([...merged.values()].map((f) => f.clinicianMessage))];
}

/** An order was not evaluated: the hook's time ran out before its turn, or the record is larger than one call evaluates. */
export class NotEvaluated extends ExpectedFailure {
  override readonly name = 'NotEvaluated';
  constructor(readonly reason: 'out-of-time' | 'record-too-large', readonly limit?: number) {
    super(reason === 'out-of-time' ? 'the hook budget was spent before every order was evaluated' : `the record holds more than ${limit} resources`);
  }

  get clinicianMessage(): string {
    return this.reason === 'out-of-time'
      ? 'The policy could not be evaluated for every order within the time allowed for an answer.'
      : `The patient record holds more than ${this.limit} resources, more than this service evaluates in one call.`;
  }
}
