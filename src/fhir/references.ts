/**
 * FHIR references, read one way everywhere: a relative ('Patient/123'), absolute
 * ('https://ehr/fhir/Patient/123') or versioned ('Patient/123/_history/2') literal reference names
 * the resource type and id at its end. Browser-safe.
 */
import type { Reference } from 'fhir/r4';

/** FHIR id: letters, digits, '-' and '.', 1 to 64 characters. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const TAIL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The type and id a literal reference names, or null (contained '#x', logical-only, malformed). */
export function parseReference(reference: string | undefined | null): { type: string; id: string } | null {
  if (typeof reference !== 'string') return null;
  const m = TAIL.exec(reference);
  return m ? { type: m[1], id: m[2] } : null;
}

/** The id a reference names when it is of `type`, else undefined. Accepts a Reference or its `reference` string. */
export function referenceId(ref: Reference | string | undefined | null, type: string): string | undefined {
  const value = typeof ref === 'string' ? ref : ref?.reference;
  const parsed = parseReference(value);
  return parsed && parsed.type === type ? parsed.id : undefined;
}

/** 'Type/id' for a resource. */
export function relativeReference(resource: { resourceType: string; id?: string }): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}
