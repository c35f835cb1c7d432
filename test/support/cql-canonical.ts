/**
 * A canonical JSON form of cql-execution values, for comparing two evaluations exactly: System types carry
 * their type and every field (a DateTime's offset and precision included), tuples are sorted by key, and a
 * FHIR record is its type, id and every element the record exposes (read through Object.keys, as
 * cql-execution's equality and `distinct` read it), recursively.
 */
import * as cql from 'cql-execution';

type Canonical = null | boolean | number | string | Canonical[] | { [key: string]: Canonical };

interface RecordLike {
  getTypeInfo(): { name: string };
  getId(): unknown;
  _typeHierarchy(): unknown;
}

function isRecord(value: object): value is RecordLike & Record<string, unknown> {
  const v = value as Partial<RecordLike>;
  return typeof v.getTypeInfo === 'function' && typeof v._typeHierarchy === 'function';
}

function dateTimeFields(d: cql.DateTime): Canonical[] {
  return [d.year, d.month, d.day, d.hour, d.minute, d.second, d.millisecond, d.timezoneOffset].map((f) => f ?? null);
}

function number(n: number): Canonical {
  return Number.isFinite(n) ? n : { $number: String(n) };
}

export function canonical(value: unknown): Canonical {
  if (value === undefined) return { $undefined: true };
  if (value === null) return null;
  if (typeof value === 'number') return number(value);
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object') return { $other: typeof value, text: String(value) };
  if (value instanceof cql.DateTime) return { $DateTime: dateTimeFields(value) };
  if (value instanceof cql.Date) return { $Date: [value.year, value.month, value.day].map((f) => f ?? null) };
  if (value instanceof cql.Quantity) return { $Quantity: [number(value.value as number), value.unit ?? null] };
  if (value instanceof cql.Ratio) return { $Ratio: [canonical(value.numerator), canonical(value.denominator)] };
  if (value instanceof cql.Code) return { $Code: [value.code, value.system, value.version, value.display].map((f) => canonical(f)) };
  if (value instanceof cql.Concept) return { $Concept: [canonical(value.codes), canonical(value.display)] };
  if (value instanceof cql.Interval) {
    return { $Interval: [canonical(value.low), canonical(value.high), value.lowClosed ?? null, value.highClosed ?? null] };
  }
  if (isRecord(value)) return canonicalRecord(value);
  const constructorName = (value as { constructor?: { name?: string } }).constructor?.name ?? 'null';
  const plain = constructorName === 'Object' || constructorName === 'null';
  const keys = Object.keys(value).sort();
  const out: { [key: string]: Canonical } = plain ? {} : { $class: constructorName };
  for (const key of keys) out[key] = canonical((value as Record<string, unknown>)[key]);
  return out;
}

function canonicalRecord(record: RecordLike & Record<string, unknown>): Canonical {
  const elements: { [key: string]: Canonical } = {};
  for (const key of Object.keys(record)) {
    let v: unknown;
    try {
      v = record[key];
    } catch (e) {
      // JSON that does not fit the model (an object where a list belongs) fails to read; so be it, identically.
      elements[key] = { $threw: (e as Error).constructor.name };
      continue;
    }
    if (v !== undefined) elements[key] = canonical(v);
  }
  return { $FHIR: record.getTypeInfo().name, id: canonical(record.getId()), keys: Object.keys(record).length, elements };
}

/** The canonical form as a string, for equality and for readable failure messages. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}
