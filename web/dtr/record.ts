/**
 * Reads the patient's record from the EHR for the payer's CQL (queries from ./data): in parallel;
 * a failed query becomes a problem shown to the user (the criteria it feeds stay unknown), except
 * an expired session or an unreachable EHR, which stop the app with a clear message.
 */
import type { Bundle, Coverage, FhirResource, MedicationRequest, Patient } from 'fhir/r4';
import type { Ehr } from './ehr';
import { AppError } from './errors';
import type { QuestionnairePackage } from './package';
import { collection, planReferenceQueries, recordQueries, type PlannedQuery } from './data';

export interface PatientRecord {
  bundle: Bundle;
  problems: string[];
  queries: number;
}

async function runAll(ehr: Ehr, queries: PlannedQuery[], problems: string[]): Promise<FhirResource[]> {
  const settled = await Promise.allSettled(queries.map((q) => (q.read ? ehr.read(q.path).then((r) => [r]) : ehr.search(q.path))));
  const out: FhirResource[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') out.push(...s.value);
    else {
      const e = s.reason as unknown;
      if (e instanceof AppError && (e.kind === 'expired' || e.kind === 'unreachable')) throw e;
      problems.push(`${queries[i].type} could not be read from the EHR (${e instanceof Error ? e.message : String(e)}); the criteria that need it stay unknown`);
    }
  });
  return out;
}

export async function fetchRecord(ehr: Ehr, pkg: QuestionnairePackage, known: { patient: Patient; order: MedicationRequest; coverage: Coverage | null }): Promise<PatientRecord> {
  const problems: string[] = [];
  const { queries, byReference, unsupported } = recordQueries(pkg.libraries, pkg.valueSets, known.patient.id!);
  for (const type of unsupported) problems.push(`the payer's rules ask for ${type}, which this app cannot look up by patient; the criteria that need it stay unknown`);
  const first = await runAll(ehr, queries.filter((q) => q.type !== 'Patient'), problems);
  const base = [known.patient, known.order, ...(known.coverage ? [known.coverage] : []), ...first];
  const follow = planReferenceQueries(base, [known.order], byReference);
  const second = await runAll(ehr, follow, problems);
  return { bundle: collection([...base, ...second]), problems, queries: queries.length + follow.length };
}
