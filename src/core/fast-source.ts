/**
 * A fast FHIR R4 (4.0.1) data source for cql-execution. It answers every call cql-execution makes on a data
 * source exactly as cql-exec-fhir's PatientSource does (that library stays the reference; the differential
 * test in test/core/differential.test.ts holds the two to identical results), but without its costs:
 *
 * - the FHIR model info is parsed once per process (with cql-exec-fhir's own loader);
 * - what a type knows (element names, type hierarchy, how to read each path) is computed once per type and
 *   shared: element accessors are getters on one prototype per type, not properties defined on every object;
 * - resources are indexed by type once per request, wrapped lazily, and each resource is wrapped at most once
 *   per request; nested elements are wrapped when read, as cheaply as a resource (measured: remembering them
 *   on their parents saved no time and held the whole record's tree in memory for the request);
 * - a code-filtered retrieve first drops the records whose codes cannot match (a hash look-up), and leaves the
 *   exact match to cql-execution as before;
 * - a date string parsed once in a request is not parsed again (cql-execution's parser validates with luxon,
 *   about 40 us a call);
 * - a resource's record is de-duplicated by its identity: cql-execution de-duplicates the result of every query
 *   without `return all` (and distinct, union) by an immutable.js key built from every element of every record.
 *   Within one request, a resource whose type and id no other resource of the bundle shares can only equal itself
 *   by value (another record of its type differs at least in `id`), so its record hands immutable.js its identity
 *   ('Type/id') as its content: the key is that identity and the type, not the whole record read and normalized.
 *   Elements, resources without a string id and resources whose type and id repeat in the bundle keep value keys.
 *
 * Why a Proxy: cql-execution compares and de-duplicates records structurally (`equals`, `equivalent` and the
 * keys behind `distinct`/`union` walk Object.keys and read every element). cql-exec-fhir's records have one
 * own enumerable getter per element, which is what makes them slow to build. Each record here is a Proxy over
 * a plain object whose `ownKeys` answers the same element names, so every reflective path sees the same
 * object shape as the reference, while building one costs a few hundred nanoseconds.
 *
 * Per-request state (the bundle's index, wrappers, caches) lives only in the RequestScope made by each
 * source; everything at module level is derived from the model info and read-only once computed.
 */
import { createRequire } from 'node:module';
import * as cql from 'cql-execution';
import load from 'cql-exec-fhir/lib/load';
import FHIR_401_MODEL_INFO from 'cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml.js';
import type { Bundle } from 'fhir/r4';

type ModelInfo = load.ModelInfo;
type ClassInfo = load.ClassInfo;
type ClassElement = load.ClassElement;
type TypeSpecifier = load.TypeSpecifier;
type Json = Record<string, unknown>;
type NamedTypeSpecifier = { name: string; type: 'NamedTypeSpecifier' };

const SYSTEM_URL = 'urn:hl7-org:elm-types:r1';

/** The immutable.js that cql-execution builds its keys with (its own dependency, resolved from it). */
const immutable = createRequire(require.resolve('cql-execution'))('immutable') as typeof import('immutable');

// ---------------------------------------------------------------------------------------------------------
// Model info: parsed once per process

let modelInfo: ModelInfo | undefined;

/** The FHIR 4.0.1 model info, parsed on first use with cql-exec-fhir's loader. */
export function fhirModelInfo(): ModelInfo {
  if (!modelInfo) {
    modelInfo = load(FHIR_401_MODEL_INFO);
    if (!modelInfo) throw new Error('the FHIR 4.0.1 model info could not be parsed');
  }
  return modelInfo;
}

const classByName = new Map<string, ClassInfo | undefined>();

/** ModelInfo.findClass, remembered: it tries several maps and string rewrites on every call. */
function findClass(name: string): ClassInfo | undefined {
  if (!classByName.has(name)) classByName.set(name, fhirModelInfo().findClass(name));
  return classByName.get(name);
}

// ---------------------------------------------------------------------------------------------------------
// Per-type knowledge, built once per type

/** Reads one path of a record's JSON; compiled once per (type, path). */
type Reader = (json: Json, scope: RequestScope) => unknown;

class TypeModel {
  /** Element names in the reference's order (the type's own, then each base type's). */
  readonly keys: string[];
  /** What the proxy reports for each element: an enumerable getter, as the reference's own properties are. */
  readonly descriptors = new Map<string, PropertyDescriptor>();
  /** The record class of this type: FastRecord with this type's element getters on its prototype. */
  readonly recordClass: new (json: Json, model: TypeModel, scope: RequestScope, identity?: string) => FastRecord;
  readonly hierarchy: NamedTypeSpecifier[];
  readonly hierarchyNames: Set<string>;
  private readonly readers = new Map<string, Reader>();

  constructor(readonly info: ClassInfo) {
    this.keys = elementNames(info);
    // A class per type, so that V8 sees one shape per type. The reference makes every record a FHIRObject,
    // and cql-execution's equality first asks whether two records share a constructor: so every record
    // class answers FastRecord.
    const recordClass = class TypedRecord extends FastRecord {};
    Object.defineProperty(recordClass.prototype, 'constructor', { value: FastRecord, writable: true, configurable: true });
    for (const name of this.keys) {
      const get = elementGetter(name);
      Object.defineProperty(recordClass.prototype, name, { get, enumerable: false, configurable: true });
      this.descriptors.set(name, { get, set: undefined, enumerable: true, configurable: true });
    }
    this.recordClass = recordClass;
    this.hierarchy = typeHierarchy(info);
    this.hierarchyNames = new Set(this.hierarchy.map((t) => t.name));
  }

  reader(field: string): Reader {
    let reader = this.readers.get(field);
    if (!reader) {
      reader = compileReader(this.info, field);
      this.readers.set(field, reader);
    }
    return reader;
  }
}

const typeModels = new Map<ClassInfo, TypeModel>();

function typeModel(info: ClassInfo): TypeModel {
  let model = typeModels.get(info);
  if (!model) {
    model = new TypeModel(info);
    typeModels.set(info, model);
  }
  return model;
}

/** The element names a reference FHIRObject defines, in the same order (a Set over the base-type walk). */
function elementNames(info: ClassInfo): string[] {
  const names = new Set<string>();
  for (let current: ClassInfo | undefined = info; current; ) {
    for (const element of current.elements) names.add(element.name);
    current = current.baseTypeSpecifier?.fqn ? findClass(current.baseTypeSpecifier.fqn) : undefined;
  }
  return [...names];
}

/** The reference's _typeHierarchy(): the type, its parents, then System.Any. */
function typeHierarchy(info: ClassInfo): NamedTypeSpecifier[] {
  const hierarchy = [info, ...info.parentClasses()].map((c): NamedTypeSpecifier => {
    let namespace = c.namespace;
    if (namespace === c.modelInfo.name) namespace = c.modelInfo.url;
    else if (namespace === 'System') namespace = SYSTEM_URL;
    const prefix = `${c.modelInfo.name}.`;
    const name = c.name.startsWith(prefix) ? c.name.slice(prefix.length) : c.name;
    return { name: `{${namespace}}${name}`, type: 'NamedTypeSpecifier' };
  });
  hierarchy.push({ name: `{${SYSTEM_URL}}Any`, type: 'NamedTypeSpecifier' });
  return hierarchy;
}

/** One getter function per element name, shared by every type that has the element. */
const getters = new Map<string, (this: FastRecord) => unknown>();

function elementGetter(name: string): (this: FastRecord) => unknown {
  let getter = getters.get(name);
  if (!getter) {
    getter = function (this: FastRecord) {
      return readField(this._self, name);
    };
    getters.set(name, getter);
  }
  return getter;
}

// ---------------------------------------------------------------------------------------------------------
// Reading a path: the reference's FHIRObject.get(), split into what can be decided once per (type, path)
// and what depends on the JSON at hand.

function choicePropertyName(element: ClassElement, choice: TypeSpecifier): string {
  const name = choice.name === 'SimpleQuantity' ? 'Quantity' : (choice.name ?? '');
  return `${element.name}${name[0].toUpperCase()}${name.slice(1)}`;
}

function compileReader(info: ClassInfo, field: string): Reader {
  const [root, ...rest] = field.split('.');
  const suffix = rest.length > 0 ? rest.join('.') : undefined;
  const element = info.findElement(root, true); // true: explicit choice names such as valueQuantity
  if (element === undefined) {
    return () => {
      console.error(`Failed to locate element for ${info.name}.${root}`);
      return undefined;
    };
  }
  const spec = element.typeSpecifier;
  const label = `${info.name}.${root}`;
  if (root !== element.name && spec.isChoice) {
    // An explicit choice name (medicationCodeableConcept) reads that choice only, whatever else is present.
    const choice = (spec.choices ?? []).find((c) => root === choicePropertyName(element, c)) as TypeSpecifier;
    return compileAccess(root, choice, suffix, label);
  }
  const access = compileAccess(element.name, spec, suffix, label);
  if (!spec.isChoice) return access;
  // A choice element ('value') is stored under its typed name ('valueQuantity'): the first named choice
  // present in the JSON (as the value or as its '_' extension) wins.
  const options = (spec.choices ?? [])
    .filter((c) => c.isNamed)
    .map((c) => {
      const property = choicePropertyName(element, c);
      return { property, extra: `_${property}`, access: compileAccess(property, c, suffix, label) };
    });
  return (json, scope) => {
    for (const option of options) {
      if (json[option.property] != null || json[option.extra] != null) return option.access(json, scope);
    }
    return access(json, scope);
  };
}

/** Reads `property` of the JSON as `spec`, then follows `suffix` (a dotted remainder) on the result. */
function compileAccess(property: string, spec: TypeSpecifier, suffix: string | undefined, label: string): Reader {
  if (spec.namespace === 'System') {
    if (suffix != null) {
      return () => {
        console.error(`Traversing into CQL system types isn't supported: ${label}.${suffix}.`);
        return undefined;
      };
    }
    const systemType = spec.name ?? '';
    return (json, scope) => toSystemValue(json[property], systemType, scope);
  }
  const primitive = isPrimitiveOrListOfPrimitives(spec);
  const extra = `_${property}`;
  return (json, scope) => {
    const data = primitive ? primitiveFromJson(json, property, extra, spec) : json[property];
    if (data == null) return data; // keeps null and undefined apart, as the reference does
    return toRecordValue(data, spec, scope, suffix);
  };
}

const primitiveSpecs = new WeakMap<TypeSpecifier, boolean>();

/** FHIR primitives (and code-like classes) carry their value and its id/extensions in two JSON properties. */
function isPrimitiveOrListOfPrimitives(spec: TypeSpecifier): boolean {
  let primitive = primitiveSpecs.get(spec);
  if (primitive === undefined) {
    primitive = computeIsPrimitive(spec);
    primitiveSpecs.set(spec, primitive);
  }
  return primitive;
}

function computeIsPrimitive(spec: TypeSpecifier): boolean {
  if (spec.isNamed) {
    const name = spec.name ?? '';
    if (spec.namespace === 'FHIR' && name[0].toLowerCase() === name[0]) return true;
    // Code elements have a class of their own (e.g. GoalStatus) with a single String 'value'.
    const info = findClass(spec.fqn ?? '');
    if (info?.baseTypeSpecifier?.fqn === 'FHIR.Element' && info.elements.length === 1) {
      return info.findElement('value')?.typeSpecifier.fqn === 'System.String';
    }
    return false;
  }
  if (spec.isList && spec.elementType) return isPrimitiveOrListOfPrimitives(spec.elementType);
  return false;
}

/** Merges `property` and `_property` (value, then id and extensions) into one object per value. */
function primitiveFromJson(json: Json, property: string, extraProperty: string, spec: TypeSpecifier): unknown {
  const value = json[property];
  const extra = json[extraProperty];
  if (value == null && extra == null) return value;
  const values: unknown[] = spec.isList && Array.isArray(value) ? [...(value as unknown[])] : [value];
  const extras: unknown[] = spec.isList && Array.isArray(extra) ? [...(extra as unknown[])] : [extra];
  while (values.length > extras.length) extras.push(undefined);
  while (extras.length > values.length) values.push(undefined);
  const merged = values.map((v, i) => {
    if (v == null && extras[i] == null) return v;
    const item: Json = {};
    if (v !== undefined) item.value = v;
    if (extras[i] != null) Object.assign(item, extras[i]);
    return item;
  });
  return spec.isList ? merged : merged[0];
}

function toRecordValue(data: unknown, spec: TypeSpecifier, scope: RequestScope, suffix?: string): unknown {
  if (data == null) return data;
  if (spec.isNamed) {
    const record = scope.wrapElement(data as Json, modelForFqn(spec.fqn ?? ''));
    return suffix != null ? record.get(suffix) : record;
  }
  if (spec.isList) {
    if (suffix != null) {
      console.error('List type found in the middle of a path.');
      return undefined;
    }
    const elementType = spec.elementType as TypeSpecifier;
    // Called as a method so that non-list JSON fails the way the reference's data.map(...) does.
    return (data as unknown[]).map((item) => toRecordValue(item, elementType, scope));
  }
  if (spec.isInterval) {
    const range = data as Json;
    const point = spec.pointType as TypeSpecifier;
    return new cql.Interval(
      toRecordValue(range.low, point, scope),
      toRecordValue(range.high, point, scope),
      range.lowClosed as boolean | undefined,
      range.highClosed as boolean | undefined,
    );
  }
  return undefined;
}

function modelForFqn(fqn: string): TypeModel {
  const info = findClass(fqn);
  // Every non-System type the 4.0.1 model info names resolves (checked by the differential test).
  if (!info) throw new Error(`Failed to locate typeInfo for ${fqn}`);
  return typeModel(info);
}

/** cql-execution 4 has a Decimal class; 3.x uses plain numbers. Decided once, as the reference decides per call. */
const decimalFrom: (value: unknown) => unknown = (() => {
  const decimal = (cql as unknown as { Decimal?: { from?: (value: unknown) => unknown } }).Decimal;
  return decimal != null && typeof decimal.from === 'function' ? (value) => decimal.from!(value) : (value) => value;
})();

/** JSON leaf to a CQL System value, as the reference's toSystemObject (dates parsed through the request's cache). */
function toSystemValue(data: unknown, name: string, scope: RequestScope): unknown {
  if (data == null) return data;
  switch (name) {
    case 'Boolean':
    case 'Integer':
    case 'String':
      return data;
    case 'Decimal':
      return decimalFrom(data);
    case 'DateTime':
      // cql-execution's DateTime parser does not take 'Z'.
      return scope.parseDateTime((data as string).replace('Z', '+00:00'));
    case 'Date':
      return scope.parseDate(data as string);
    case 'Time':
      return scope.parseTime(data as string);
    default:
      return undefined; // Code, Concept, Quantity are never leaves in the FHIR model info
  }
}

// ---------------------------------------------------------------------------------------------------------
// Records

/**
 * The object behind each record's Proxy. Methods run with `this` = the Proxy; they read `_self` (one Proxy
 * hop) and work on the plain object from there. Field names start with '_', which no FHIR element does.
 */
class FastRecord implements cql.RecordObject {
  // Fields are declared and assigned in the constructor, not given initialisers or parameter properties:
  // the class field definitions those compile to for ES2022 were a leading cost of building records.
  declare readonly _self: FastRecord;
  declare readonly _json: Json;
  declare readonly _model: TypeModel;
  declare readonly _scope: RequestScope;
  /** For code-filtered retrieves: the code strings at a code path. */
  declare _codeKeys: Map<string, unknown[] | null> | undefined;
  /** 'Type/id' for a resource of the request whose type and id no other resource of the request shares. */
  declare _identity: string | undefined;

  constructor(json: Json, model: TypeModel, scope: RequestScope, identity?: string) {
    const self = this as { -readonly [K in keyof FastRecord]: FastRecord[K] };
    self._self = this;
    self._json = json;
    self._model = model;
    self._scope = scope;
    self._codeKeys = undefined;
    self._identity = identity;
  }

  /**
   * immutable.js asks this before reading a value's keys: a record with an identity says it is a collection,
   * whose one entry is that identity (toSeq), so that cql-execution's de-duplication key of the record is its
   * identity and its type instead of every element, read and normalized (see identityKey).
   */
  get ['@@__IMMUTABLE_ITERABLE__@@'](): boolean {
    return this._self._identity !== undefined;
  }

  toSeq(): unknown {
    return immutable.Seq.Keyed([[IDENTITY_KEY, this._self._identity]]);
  }

  get(field: string): unknown {
    return readField(this._self, field);
  }

  getId(): unknown {
    return this._self._json.id;
  }

  getCode(field: string): unknown {
    const code = this.get(field);
    return code instanceof cql.Code ? code : toCode(code);
  }

  getDate(field: string): unknown {
    const date = this.get(field) as { value?: unknown } | null | undefined;
    return !(date instanceof cql.DateTime) && date && date.value ? date.value : date;
  }

  getInterval(field: string): unknown {
    const interval = this.get(field) as { value?: unknown } | null | undefined;
    return !(interval instanceof cql.Interval) && interval && interval.value ? interval.value : interval;
  }

  getDateOrInterval(field: string): unknown {
    const value = this.get(field) as { value?: unknown } | null | undefined;
    if (value instanceof cql.DateTime || value instanceof cql.Interval) return value;
    return value && value.value ? value.value : value;
  }

  _is(spec: { type?: string; name?: unknown }): boolean {
    const model = this._self._model;
    if (spec.type !== 'NamedTypeSpecifier') return false;
    // The reference compares names with ==; for string names a Set look-up is the same test.
    return typeof spec.name === 'string' ? model.hierarchyNames.has(spec.name) : model.hierarchy.some((t) => t.name == spec.name);
  }

  _typeHierarchy(): NamedTypeSpecifier[] {
    return this._self._model.hierarchy.map((t) => ({ ...t }));
  }

  getTypeInfo(): ClassInfo {
    return this._self._model.info;
  }
}

/** The reference's FHIRObject.get(field), through the reader compiled for this type and path. */
function readField(record: FastRecord, field: string): unknown {
  const json = record._json;
  if (json == null) return json; // keeps null and undefined apart, as the reference does
  return record._model.reader(field)(json, record._scope);
}

/**
 * Object.keys, JSON.stringify, hasOwnProperty and immutable.js see the element names as own enumerable
 * properties (as on a reference FHIRObject); property reads fall through to the prototype getters.
 */
const recordHandler: ProxyHandler<FastRecord> = {
  ownKeys: (target) => target._model.keys,
  getOwnPropertyDescriptor: (target, key) => (typeof key === 'string' ? target._model.descriptors.get(key) : undefined),
};

const IDENTITY_KEY = '#resource';

function newRecord(json: Json, model: TypeModel, scope: RequestScope, identity?: string): FastRecord {
  return new Proxy(new model.recordClass(json, model, scope, identity), recordHandler);
}

/** The elements toCode reads, on a CodeableConcept, a Coding or a code record. */
interface CodeLike {
  coding?: unknown;
  code?: { value?: unknown };
  system?: { value?: unknown };
  version?: { value?: unknown };
  display?: { value?: unknown };
  value?: unknown;
}

/** The reference's toCode: CodeableConcept, Coding and code to cql Code(s). */
function toCode(f: unknown): unknown {
  if (f == null) return f;
  if (Array.isArray(f)) return f.map(toCode);
  // Not a record (a System value): getTypeInfo is missing and this throws, as in the reference.
  const record = f as FastRecord & CodeLike;
  const typeName = record.getTypeInfo().name.replace(/^FHIR\./, '');
  if (typeName === 'CodeableConcept') {
    const coding = record.coding as unknown[] | null | undefined;
    if (coding == null) return coding;
    const codings = coding.map(toCode);
    return codings.length === 1 ? codings[0] : codings;
  }
  if (typeName === 'Coding') {
    const part = (p: { value?: unknown } | undefined) => (p ? p.value : p) as string;
    return new cql.Code(part(record.code), part(record.system), part(record.version), part(record.display));
  }
  if (typeName === 'code') return record.value;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Code pre-filter for code-filtered retrieves

/**
 * Every code value a retrieve's codes could match, or undefined when the codes are of a kind this filter does
 * not understand (then nothing is pre-filtered). cql-execution matches a record code to a retrieve code only
 * when the two `code` values are equal (Code, Concept and ValueSet all compare `code` with ===), so a record
 * with none of these values cannot match.
 */
function candidateCodes(codes: unknown): Set<unknown> | undefined {
  if (Array.isArray(codes)) {
    const set = new Set<unknown>();
    for (const c of codes) {
      if (c instanceof cql.Code) set.add(c.code);
      else if (c instanceof cql.Concept && Array.isArray(c.codes) && c.codes.every((x) => x != null)) c.codes.forEach((x) => set.add(x.code));
      else return undefined;
    }
    return set;
  }
  if (codes instanceof cql.ValueSet) return valueSetCodes(codes);
  return undefined;
}

/** Value set expansions come from the shared code service and outlive requests; their code sets are kept with them. */
const valueSetCodeSets = new WeakMap<cql.ValueSet, Set<unknown> | undefined>();

function valueSetCodes(vs: cql.ValueSet): Set<unknown> | undefined {
  if (!valueSetCodeSets.has(vs)) {
    const codes = vs.codes as unknown[];
    valueSetCodeSets.set(vs, codes.every((c) => c != null) ? new Set(codes.map((c) => (c as cql.Code).code)) : undefined);
  }
  return valueSetCodeSets.get(vs);
}

/** The code values of a record at a path (strings, and each Code's `code`); null when one of them is not decidable. */
function recordCodeKeys(record: FastRecord, codeProperty: string): unknown[] | null {
  const self = record._self;
  self._codeKeys ??= new Map();
  let keys = self._codeKeys.get(codeProperty);
  if (keys === undefined) {
    keys = [];
    for (const item of flattenCodes(record.getCode(codeProperty))) {
      if (item == null) {
        keys = null; // leave such a record to cql-execution
        break;
      }
      keys.push(typeof item === 'string' ? item : (item as { code?: unknown }).code);
    }
    self._codeKeys.set(codeProperty, keys);
  }
  return keys;
}

/** The list cql-execution's toCodeList makes of a record code (arrays flattened, a Concept's codes). */
function flattenCodes(code: unknown): unknown[] {
  if (code == null) return [];
  if (Array.isArray(code)) return code.flatMap(flattenCodes);
  const codes = (code as { codes?: unknown }).codes;
  return Array.isArray(codes) ? codes : [code];
}

function mayMatch(record: FastRecord, codeProperty: string, candidates: Set<unknown>): boolean {
  const keys = recordCodeKeys(record, codeProperty);
  return keys === null || keys.some((k) => candidates.has(k));
}

// ---------------------------------------------------------------------------------------------------------
// Per-request state

/** Everything one evaluation of one bundle owns: the type index, the wrappers and the date cache. */
class RequestScope {
  private byType: Map<unknown, Json[]> | undefined;
  /** 'Type/id' of each resource whose type and (string) id no other resource of the bundle has. */
  private identities: Map<Json, string> | undefined;
  private readonly resourceRecords = new Map<Json, Map<TypeModel, FastRecord>>();
  private readonly dateTimes = new Map<string, cql.DateTime | null>();
  private readonly dates = new Map<string, cql.Date | undefined>();
  private readonly times = new Map<string, cql.DateTime>();

  constructor(readonly bundle: Bundle) {}

  /** Resources of a type, in bundle order (the index is built on the first retrieve). */
  resourcesOfType(resourceType: string): Json[] {
    if (!this.byType) {
      this.byType = new Map();
      for (const entry of this.bundle.entry ?? []) {
        const resource = entry.resource as Json | undefined;
        if (!resource) continue;
        const list = this.byType.get(resource.resourceType);
        if (list) list.push(resource);
        else this.byType.set(resource.resourceType, [resource]);
      }
    }
    return this.byType.get(resourceType) ?? [];
  }

  /** A resource's record as a given type, made once per request. */
  wrapResource(resource: Json, model: TypeModel): FastRecord {
    let byModel = this.resourceRecords.get(resource);
    if (!byModel) {
      byModel = new Map();
      this.resourceRecords.set(resource, byModel);
    }
    let record = byModel.get(model);
    if (!record) {
      // Only as its own type: a record's identity stands for its value among records of that type.
      const own = model.info.name.replace(/^FHIR\./, '') === resource.resourceType;
      record = newRecord(resource, model, this, own ? this.identityOf(resource) : undefined);
      byModel.set(model, record);
    }
    return record;
  }

  /**
   * A resource's identity in this request: its type and id, when the id is a string and no other resource of
   * the bundle has the same type and id. Two records with different identities differ in their id element, so
   * they are never equal by value; a record with an identity is equal only to itself.
   */
  identityOf(resource: Json): string | undefined {
    if (!this.identities) {
      const counts = new Map<string, number>();
      const key = (r: Json) => (typeof r.id === 'string' ? `${String(r.resourceType)}/${r.id}` : undefined);
      const resources = (this.bundle.entry ?? []).map((e) => e.resource as Json | undefined).filter((r): r is Json => Boolean(r));
      for (const r of resources) {
        const k = key(r);
        if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      this.identities = new Map();
      for (const r of resources) {
        const k = key(r);
        if (k !== undefined && counts.get(k) === 1) this.identities.set(r, k);
      }
    }
    return this.identities.get(resource);
  }

  /** A nested element's record. */
  wrapElement(json: Json, model: TypeModel): FastRecord {
    return newRecord(json, model, this);
  }

  // DateTime/Date objects are mutable, so every caller gets its own copy of the parsed value.
  parseDateTime(text: string): cql.DateTime | null {
    if (!this.dateTimes.has(text)) this.dateTimes.set(text, cql.DateTime.parse(text));
    return this.dateTimes.get(text)?.copy() ?? null;
  }

  parseDate(text: string): cql.Date | undefined {
    if (!this.dates.has(text)) this.dates.set(text, cql.DateTime.parse(text)?.getDate() ?? undefined);
    return this.dates.get(text)?.copy();
  }

  parseTime(text: string): cql.DateTime {
    let time = this.times.get(text);
    if (!time) {
      // A Time is a DateTime on 0000-01-01 without an offset (an invalid time fails here, as in the reference).
      time = cql.DateTime.parse(`0000-01-01T${text.replace('Z', '+00:00')}`) as cql.DateTime;
      time.timezoneOffset = null;
      this.times.set(text, time);
    }
    return time.copy();
  }
}

/** The patient a source hands to cql-execution: reads go to the Patient resource, retrieves to the bundle. */
export class FastPatient implements cql.PatientObject {
  private readonly record: FastRecord;

  constructor(private readonly scope: RequestScope) {
    const info = fhirModelInfo();
    const resourceType = info.patientClassName.replace(/^FHIR\./, '');
    const patient = scope.resourcesOfType(resourceType)[0];
    const patientClass = findClass(info.patientClassIdentifier || info.patientClassName);
    if (!patient || !patientClass) throw new TypeError(`the bundle has no ${resourceType} resource`);
    this.record = scope.wrapResource(patient, typeModel(patientClass));
  }

  findRecords(profile: string | null, retrieveDetails?: cql.RetrieveDetails): cql.RecordObject[] {
    // As the reference: the retrieve's data type first (it names profiles by their base type), else the profile.
    const info = findClass((retrieveDetails ? retrieveDetails.datatype : profile) as string);
    if (!info) {
      console.error(`Failed to find type info for ${profile}`);
      return [];
    }
    const model = typeModel(info);
    const resources = this.scope.resourcesOfType(info.name.replace(/^FHIR\./, ''));
    const records = resources.map((r) => this.scope.wrapResource(r, model));
    const codeProperty = retrieveDetails?.codeProperty;
    const candidates = codeProperty && retrieveDetails?.codes ? candidateCodes(retrieveDetails.codes) : undefined;
    return candidates && codeProperty ? records.filter((r) => mayMatch(r, codeProperty, candidates)) : records;
  }

  findRecord(profile: string | null, retrieveDetails?: cql.RetrieveDetails): cql.RecordObject | undefined {
    return this.findRecords(profile, retrieveDetails)[0];
  }

  get(field: string): unknown {
    return this.record.get(field);
  }
  getId(): unknown {
    return this.record.getId();
  }
  getCode(field: string): unknown {
    return this.record.getCode(field);
  }
  getDate(field: string): unknown {
    return this.record.getDate(field);
  }
  getInterval(field: string): unknown {
    return this.record.getInterval(field);
  }
  getDateOrInterval(field: string): unknown {
    return this.record.getDateOrInterval(field);
  }
  _is(spec: { type?: string; name?: unknown }): boolean {
    return this.record._is(spec);
  }
  _typeHierarchy(): NamedTypeSpecifier[] {
    return this.record._typeHierarchy();
  }
  getTypeInfo(): ClassInfo {
    return this.record.getTypeInfo();
  }
}

/**
 * A data source over patient Bundles (one patient each), for one evaluation. Make one per request: all it
 * caches belongs to that request.
 */
export class FastPatientSource implements cql.DataProvider {
  private index = 0;

  constructor(private readonly bundles: Bundle[]) {
    fhirModelInfo();
  }

  currentPatient(): FastPatient | undefined {
    return this.index < this.bundles.length ? new FastPatient(new RequestScope(this.bundles[this.index])) : undefined;
  }

  nextPatient(): FastPatient | undefined {
    if (this.index < this.bundles.length) this.index++;
    return this.currentPatient();
  }
}
