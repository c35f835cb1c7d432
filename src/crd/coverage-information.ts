/**
 * The Da Vinci CRD STU 2.0.1 coverage-information extension. Invariants kept here:
 * covered != not-covered => pa-needed present (2.0.1 q2); questionnaire => doc-needed (q1);
 * doc-purpose => reason (q8); one coverage-assertion-id per coverage in a response.
 */
import type { Extension } from 'fhir/r4';
import { CRD } from '../constants';

export interface CoverageInformationInput {
  coverageReference: string;
  assertionId: string;
  /** ISO date (YYYY-MM-DD) of the assertion. */
  date: string;
  reason: string;
  /** DTR questionnaire canonical (url|version); implies clinical documentation is needed. */
  questionnaire?: string;
}

export function coverageInformation(input: CoverageInformationInput): Extension {
  const ext: Extension[] = [
    { url: 'coverage', valueReference: { reference: input.coverageReference } },
    { url: 'covered', valueCode: 'covered' },
    { url: 'pa-needed', valueCode: 'auth-needed' },
  ];
  if (input.questionnaire) {
    ext.push({ url: 'doc-needed', valueCode: 'clinical' }, { url: 'doc-purpose', valueCode: 'withpa' });
  }
  ext.push({ url: 'reason', valueCodeableConcept: { text: input.reason } });
  if (input.questionnaire) ext.push({ url: 'questionnaire', valueCanonical: input.questionnaire });
  ext.push({ url: 'date', valueDate: input.date }, { url: 'coverage-assertion-id', valueString: input.assertionId });
  return { url: CRD.coverageInformationUrl, extension: ext };
}
