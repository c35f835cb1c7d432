/**
 * What makes a Bundle evaluable: exactly one Patient, with an id. Browser-safe and free of the engine, so
 * that the service's main thread checks a record before handing it to an evaluation worker.
 */
import type { Bundle, FhirResource } from 'fhir/r4';

/** The request cannot be evaluated as given (not a Bundle, no Patient, a bad date). */
export class EvaluationInputError extends Error {
  override readonly name = 'EvaluationInputError';
}

/** The id of the one Patient of the Bundle. */
export function patientIdOf(bundle: Bundle): string {
  if (!bundle || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
    throw new EvaluationInputError('patient data must be a FHIR Bundle with entries');
  }
  const patients = bundle.entry.map((e) => e.resource).filter((r): r is FhirResource & { resourceType: 'Patient' } => r?.resourceType === 'Patient');
  if (patients.length !== 1) throw new EvaluationInputError(`patient data must hold exactly one Patient (found ${patients.length})`);
  const id = patients[0].id;
  if (!id) throw new EvaluationInputError('the Patient resource has no id');
  return id;
}
