/**
 * The patient data the payer's CQL needs, fetched from the EHR as the Libraries' dataRequirement
 * says: types the patient owns are searched by patient and, where the requirement has a code
 * filter, by the codes of the named value sets (expanded in the package) or the listed codes;
 * a type with no code filter is read whole. Types a patient does not own (Medication, Organization,
 * PractitionerRole) are reached through the references that lead to them.
 */
import type { Bundle, Coverage, DataRequirement, FhirResource, Library, MedicationRequest, Reference, ValueSet } from 'fhir/r4';

/** Search parameter naming the patient, for the types searched by patient. */
const PATIENT_PARAM: Record<string, string> = {
  AllergyIntolerance: 'patient',
  Condition: 'patient',
  Coverage: 'patient',
  MedicationDispense: 'patient',
  MedicationRequest: 'patient',
  MedicationStatement: 'patient',
  Observation: 'patient',
  Procedure: 'patient',
};
/** Types read through references of the patient's data. */
const BY_REFERENCE = new Set(['Medication', 'Organization', 'PractitionerRole', 'Practitioner']);
/** Codes per query, so that URLs stay well under common server limits. */
const CODES_PER_QUERY = 60;

export interface DataQuery {
  type: string;
  path: string;
}

interface TypeFilter {
  unfiltered: boolean;
  codes: Map<string, { system: string; code: string }>;
  /** The search parameter for the codes (a codeFilter.path of 'medication' searches by code too). */
  param: string;
}

function codesOf(filter: NonNullable<DataRequirement['codeFilter']>[number], valueSets: Map<string, ValueSet>): { system: string; code: string }[] {
  const fromSet = filter.valueSet ? (valueSets.get(filter.valueSet.split('|')[0])?.expansion?.contains ?? []) : [];
  return [...fromSet, ...(filter.code ?? [])]
    .filter((c) => c.system && c.code)
    .map((c) => ({ system: c.system!, code: c.code! }));
}

/** The queries for the Libraries' data requirements (Patient read, patient-owned types searched). */
export function queriesFor(libraries: Library[], valueSets: ValueSet[], patientId: string): { queries: DataQuery[]; byReference: string[]; unsupported: string[] } {
  const sets = new Map(valueSets.filter((v) => v.url).map((v) => [v.url!, v] as const));
  const byType = new Map<string, TypeFilter>();
  for (const req of libraries.flatMap((l) => l.dataRequirement ?? [])) {
    const f = byType.get(req.type) ?? { unfiltered: false, codes: new Map(), param: 'code' };
    byType.set(req.type, f);
    const filters = req.codeFilter ?? [];
    if (filters.length === 0) f.unfiltered = true;
    for (const filter of filters) {
      const codes = codesOf(filter, sets);
      // A filter whose codes cannot be listed (value set not expanded in the package) cannot narrow the search.
      if (codes.length === 0) f.unfiltered = true;
      for (const c of codes) f.codes.set(`${c.system}|${c.code}`, c);
    }
  }
  const pid = encodeURIComponent(patientId);
  const queries: DataQuery[] = [];
  const byReference: string[] = [];
  const unsupported: string[] = [];
  for (const [type, f] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    if (type === 'Patient') {
      queries.push({ type, path: `Patient/${pid}` });
      continue;
    }
    if (BY_REFERENCE.has(type)) {
      byReference.push(type);
      continue;
    }
    const param = PATIENT_PARAM[type];
    if (!param) {
      unsupported.push(type);
      continue;
    }
    if (f.unfiltered || f.codes.size === 0) {
      queries.push({ type, path: `${type}?${param}=${pid}` });
      continue;
    }
    const codes = [...f.codes.keys()];
    for (let i = 0; i < codes.length; i += CODES_PER_QUERY) {
      const list = codes.slice(i, i + CODES_PER_QUERY).map(encodeURIComponent).join(',');
      queries.push({ type, path: `${type}?${param}=${pid}&${f.param}=${list}` });
    }
  }
  return { queries, byReference, unsupported };
}

function idOf(ref: Reference | undefined, type: string): string | null {
  const m = typeof ref?.reference === 'string' ? new RegExp(`(?:^|/)${type}/([^/]+)$`).exec(ref.reference) : null;
  return m ? m[1] : null;
}

/** Follow-up reads for the types reached by reference: Coverage.payor, medicationReference, the order's requester. */
export function referenceQueries(resources: FhirResource[], order: MedicationRequest | null, wanted: string[]): DataQuery[] {
  const have = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const out = new Map<string, DataQuery>();
  const add = (type: string, path: string) => {
    if (wanted.includes(type) && !have.has(path)) out.set(path, { type, path });
  };
  for (const r of resources) {
    if (r.resourceType === 'Coverage') for (const p of (r as Coverage).payor ?? []) {
      const id = idOf(p, 'Organization');
      if (id) add('Organization', `Organization/${encodeURIComponent(id)}`);
    }
    const med = idOf((r as { medicationReference?: Reference }).medicationReference, 'Medication');
    if (med) add('Medication', `Medication/${encodeURIComponent(med)}`);
  }
  const practitioner = idOf(order?.requester, 'Practitioner');
  if (practitioner) {
    if (wanted.includes('PractitionerRole')) out.set(`PractitionerRole?practitioner=${practitioner}`, { type: 'PractitionerRole', path: `PractitionerRole?practitioner=${encodeURIComponent(practitioner)}` });
    add('Practitioner', `Practitioner/${encodeURIComponent(practitioner)}`);
  }
  return [...out.values()];
}

/** A collection Bundle of unique resources (by type and id). */
export function collection(resources: FhirResource[]): Bundle {
  const unique = new Map<string, FhirResource>();
  resources.forEach((r, i) => unique.set(r.id ? `${r.resourceType}/${r.id}` : `${r.resourceType}#${i}`, r));
  return { resourceType: 'Bundle', type: 'collection', entry: [...unique.values()].map((resource) => ({ resource })) };
}
