/**
 * The Da Vinci CRD STU 2.0.1 coverage-information extension. Invariants kept here:
 * covered != not-covered => pa-needed present (2.0.1 q2); questionnaire => doc-needed (q1);
 * doc-purpose => reason (q8); one coverage-assertion-id per coverage in a response; satisfied-pa-id
 * <=> pa-needed satisfied (q5), and then no documentation request (q4).
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
  /** The number of an authorization on file that covers the order: pa-needed satisfied, nothing to document. */
  satisfiedPaId?: string;
}

export function coverageInformation(input: CoverageInformationInput): Extension {
  const satisfied = Boolean(input.satisfiedPaId);
  const ext: Extension[] = [
    { url: 'coverage', valueReference: { reference: input.coverageReference } },
    { url: 'covered', valueCode: 'covered' },
    { url: 'pa-needed', valueCode: satisfied ? 'satisfied' : 'auth-needed' },
  ];
  if (input.questionnaire && !satisfied) {
    ext.push({ url: 'doc-needed', valueCode: 'clinical' }, { url: 'doc-purpose', valueCode: 'withpa' });
  }
  ext.push({ url: 'reason', valueCodeableConcept: { text: input.reason } });
  if (input.questionnaire && !satisfied) ext.push({ url: 'questionnaire', valueCanonical: input.questionnaire });
  ext.push({ url: 'date', valueDate: input.date }, { url: 'coverage-assertion-id', valueString: input.assertionId });
  if (satisfied) ext.push({ url: 'satisfied-pa-id', valueString: input.satisfiedPaId! });
  return { url: CRD.coverageInformationUrl, extension: ext };
}
