/**
 * Lenient reading, strict meaning: every FHIR resource a client sends (draft orders, prefetch, data
 * fetched from the EHR, DTR data and responses) is read against the R4 element shapes
 * (./shapes.ts) before anything uses it.
 *
 * Read as meant, with a warning (the meaning is not in doubt):
 * - a single value where FHIR has a list (`MedicationRequest.category` as an object) becomes a list of one;
 * - a list of exactly one value where FHIR has a single value becomes that value;
 * - `null`, `""` and `[]` (forbidden in FHIR JSON) mean the element is absent;
 * - an element R4 does not define is left alone (the service does not read it).
 *
 * Refused, with an issue that points at the element (the meaning is in doubt):
 * - a value of the wrong JSON type ("yes" where a boolean belongs, a string where a CodeableConcept belongs);
 * - a malformed date, code or id; several values where FHIR allows one; two variants of one choice element;
 * - a resource without a known R4 resourceType, or with an invalid id.
 *
 * The input is never modified; the result is a normalized copy.
 */
import type { FhirResource } from 'fhir/r4';
import type { IssueCode } from './outcome';
import { FHIR_ID } from './references';
import type { FhirShapes } from './shapes';

export interface ReadIssue {
  severity: 'error' | 'warning';
  code: IssueCode;
  /** Where in the request, then what: 'prefetch.conditions (Bundle): Bundle.entry[0].resource.code is a number where FHIR R4 has a CodeableConcept'. */
  diagnostics: string;
  /** FHIRPath of the element, from the resource's type ('MedicationRequest.category'). */
  expression: string;
}

export interface ReadResult<T extends FhirResource = FhirResource> {
  /** The normalized copy; absent when the value is not a resource at all. */
  resource?: T;
  issues: ReadIssue[];
}

/** At most this many issues are reported per resource: enough to fix the sender, bounded for hostile input. */
const MAX_ISSUES = 50;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const article = (type: string) => (/^[aeiouAEIOU]/.test(type) ? 'an' : 'a');

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return value.length > 40 ? `the string "${value.slice(0, 40)}…"` : `the string "${value}"`;
  if (typeof value === 'object') return 'an object';
  return `the ${typeof value} ${String(value)}`;
}

function typeName(type: string): string {
  // A backbone path ('MedicationRequest.dispenseRequest') is described by its last part.
  return type.includes('.') ? `${type.split('.').pop()} element` : type;
}

export class FhirReader {
  constructor(private readonly shapes: FhirShapes) {}

  /**
   * Reads one resource. `where` says where it sits in the request, for the diagnostics
   * ('context.draftOrders.entry[0].resource'); `expectedTypes` restricts its resourceType.
   */
  resource<T extends FhirResource = FhirResource>(value: unknown, where: string, expectedTypes?: string[]): ReadResult<T> {
    const issues: ReadIssue[] = [];
    const walk = new Walk(this.shapes, where, issues);
    const resource = walk.resource(value, null, expectedTypes);
    return { ...(resource ? { resource: resource as T } : {}), issues: issues.slice(0, MAX_ISSUES) };
  }
}

export function errorsIn(issues: ReadIssue[]): ReadIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

class Walk {
  constructor(
    private readonly shapes: FhirShapes,
    private readonly where: string,
    private readonly issues: ReadIssue[],
  ) {}

  private report(severity: ReadIssue['severity'], code: IssueCode, expression: string, message: string): void {
    if (this.issues.length > MAX_ISSUES) return;
    this.issues.push({ severity, code, expression, diagnostics: `${this.where}: ${expression} ${message}` });
  }

  /** A resource at `path` (null: the top of what is read). */
  resource(value: unknown, path: string | null, expectedTypes?: string[]): Record<string, unknown> | undefined {
    const at = path ?? 'resource';
    if (!isObject(value)) {
      this.report('error', 'structure', path ?? '$', `is ${describe(value)}, not a FHIR resource`);
      return undefined;
    }
    const type = value.resourceType;
    if (typeof type !== 'string' || !this.shapes.isResourceType(type)) {
      this.report('error', 'structure', path ? `${path}.resourceType` : 'resourceType', typeof type === 'string' ? `"${type}" is not a FHIR R4 resource type` : `is missing: ${at} is not a FHIR resource`);
      return undefined;
    }
    const base = path ?? type;
    if (expectedTypes && !expectedTypes.includes(type)) {
      this.report('error', 'structure', path ? `${path}.resourceType` : 'resourceType', `is ${type}, where ${expectedTypes.join(' or ')} belongs`);
      return undefined;
    }
    if (value.id !== undefined && !(typeof value.id === 'string' && FHIR_ID.test(value.id))) {
      this.report('error', 'value', `${base}.id`, `is ${describe(value.id)}, not a FHIR id (letters, digits, '-' and '.', at most 64)`);
    }
    return this.object(value, type, base, true);
  }

  private object(value: Record<string, unknown>, owner: string, path: string, isResource: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const choices = new Map<string, string>();
    for (const [key, raw] of Object.entries(value)) {
      if (isResource && key === 'resourceType') {
        out[key] = raw;
        continue;
      }
      // Primitive extensions (_birthDate) and comments travel as they are.
      if (key.startsWith('_') || key === 'fhir_comments') {
        out[key] = raw;
        continue;
      }
      const shape = this.shapes.element(owner, key);
      const at = `${path}.${key}`;
      if (!shape) {
        this.report('warning', 'informational', at, `is not an element of ${typeName(owner)} in FHIR R4; ignored`);
        out[key] = raw;
        continue;
      }
      if (shape.choice) {
        const other = choices.get(shape.choice);
        if (other) {
          this.report('error', 'structure', `${path}.${shape.choice}[x]`, `is given twice (${other} and ${key}); FHIR allows one`);
          continue;
        }
        choices.set(shape.choice, key);
      }
      const read = shape.array ? this.list(raw, shape.type, at, `_${key}` in value) : this.single(raw, shape.type, at);
      if (read !== undefined) out[key] = read;
    }
    return out;
  }

  /** A repeating element: a single value is read as a list of one. */
  private list(raw: unknown, type: string, path: string, hasPrimitiveExtensions: boolean): unknown[] | undefined {
    if (raw === null || raw === '') {
      this.report('warning', 'informational', path, `is ${describe(raw)}; read as absent`);
      return undefined;
    }
    if (!Array.isArray(raw)) {
      const one = this.value(raw, type, path, true);
      if (one === undefined) return undefined;
      this.report('warning', 'informational', path, `holds a single ${typeName(type)} where FHIR R4 has a list; read as a list of one`);
      return [one];
    }
    const items = raw;
    const out: unknown[] = [];
    items.forEach((item, i) => {
      // null keeps a primitive list aligned with its _element extensions; elsewhere it means nothing.
      if (item === null && hasPrimitiveExtensions) return void out.push(null);
      if (item === null || item === '') {
        this.report('warning', 'informational', `${path}[${i}]`, `is ${describe(item)}; left out`);
        return;
      }
      const v = this.value(item, type, `${path}[${i}]`);
      if (v !== undefined) out.push(v);
    });
    // An empty list (common in searchsets with no match) plainly means nothing: absent, without a warning.
    if (out.length === 0) return undefined;
    return out;
  }

  /** A single-valued element: a list of exactly one is read as that value; more are refused. */
  private single(raw: unknown, type: string, path: string): unknown {
    if (raw === null || raw === '') {
      this.report('warning', 'informational', path, `is ${describe(raw)}; read as absent`);
      return undefined;
    }
    if (Array.isArray(raw)) {
      if (raw.length === 0) {
        this.report('warning', 'informational', path, 'is an empty list; read as absent');
        return undefined;
      }
      if (raw.length > 1) {
        this.report('error', 'structure', path, `holds ${raw.length} values where FHIR R4 allows one ${typeName(type)}`);
        return undefined;
      }
      this.report('warning', 'informational', path, `holds a list of one where FHIR R4 has a single ${typeName(type)}; read as that value`);
      return this.value(raw[0], type, path);
    }
    return this.value(raw, type, path);
  }

  /** `inList`: a single value standing for a list (the message then says FHIR has a list). */
  private value(raw: unknown, type: string, path: string, inList = false): unknown {
    if (type === 'Resource') return this.resource(raw, path);
    if (type === 'xhtml') {
      if (typeof raw !== 'string') this.report('error', 'value', path, `is ${describe(raw)}, not XHTML text`);
      return typeof raw === 'string' ? raw : undefined;
    }
    if (this.shapes.isPrimitive(type)) {
      if (!this.shapes.primitiveValid(type, raw)) {
        this.report('error', 'value', path, `is ${describe(raw)}, not ${inList ? `a list of FHIR ${type}` : `${article(type)} FHIR ${type}`}`);
        return undefined;
      }
      return raw;
    }
    if (type.includes('|')) return raw;
    if (!isObject(raw)) {
      this.report('error', 'structure', path, `is ${describe(raw)} where FHIR R4 has ${inList ? `a list of ${typeName(type)}${type.includes('.') ? 's' : ''}` : `${article(typeName(type))} ${typeName(type)}`}`);
      return undefined;
    }
    return this.object(raw, type, path, false);
  }
}

/**
 * A copy of a (valid) resource with every primitive value passed through `map`, which gets the
 * value's FHIR type ('date', 'dateTime', 'instant', ...) and the element's name. Used to move a
 * record's dates (the sandbox shifts its patients to the day it starts).
 */
export function mapPrimitives<T extends FhirResource>(shapes: FhirShapes, resource: T, map: (type: string, value: unknown, element: string) => unknown): T {
  const walkValue = (value: unknown, type: string, element: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => walkValue(v, type, element));
    if (value === null || value === undefined) return value;
    if (type === 'Resource') return isObject(value) && typeof value.resourceType === 'string' ? walkObject(value, value.resourceType) : value;
    if (shapes.isPrimitive(type)) return map(type, value, element);
    return isObject(value) ? walkObject(value, type) : value;
  };
  const walkObject = (value: Record<string, unknown>, owner: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const shape = shapes.element(owner, key);
      out[key] = shape ? walkValue(v, shape.type, key) : v;
    }
    return out;
  };
  return walkObject(resource as unknown as Record<string, unknown>, resource.resourceType) as unknown as T;
}
