/**
 * Browser-safe pieces of the CQL evaluation shared by the server engine (src/core/engine.ts) and
 * the DTR app's browser evaluator (web/dtr/cql.ts): no Node APIs here.
 */
import * as cql from 'cql-execution';
import type { Bundle, FhirResource, ValueSet } from 'fhir/r4';

type ValueSetDictionary = Record<string, Record<string, { code: string; system: string; version?: string }[]>>;

/** A cql-execution code service over the pinned, expanded value sets. */
export function codeServiceFor(valueSets: ValueSet[]): cql.CodeService {
  const dict: ValueSetDictionary = {};
  for (const vs of valueSets) {
    if (!vs.url) continue;
    const codes = (vs.expansion?.contains ?? []).flatMap((c) =>
      c.code && c.system ? [{ code: c.code, system: c.system, ...(c.version ? { version: c.version } : {}) }] : [],
    );
    dict[vs.url] = { [vs.version ?? '']: codes };
  }
  return new cql.CodeService(dict);
}

/**
 * cql-exec-fhir types contained resources as plain Resource, so CQL cannot read a contained
 * Medication in place. Each one is added to the evaluated copy as a Medication with id
 * '<parent id>--<local id>', which the library's "Referenced Medication" resolves.
 */
export function liftContainedMedications(bundle: Bundle): Bundle {
  const lifted: FhirResource[] = [];
  for (const entry of bundle.entry ?? []) {
    const parent = entry.resource as (FhirResource & { contained?: FhirResource[] }) | undefined;
    for (const contained of parent?.contained ?? []) {
      if (contained.resourceType === 'Medication' && contained.id && parent?.id) {
        lifted.push({ ...contained, id: `${parent.id}--${contained.id}` });
      }
    }
  }
  return lifted.length === 0 ? bundle : { ...bundle, entry: [...(bundle.entry ?? []), ...lifted.map((resource) => ({ resource }))] };
}

/** Converts cql-execution values (Decimal, Code, DateTime...) to JSON-friendly ones. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof cql.DateTime || value instanceof cql.Date) return value.toString();
  if (value instanceof cql.Quantity) return { value: value.value, unit: value.unit };
  return value;
}
