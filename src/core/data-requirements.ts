/**
 * Data requirements computed from the compiled ELM: which resource types the libraries retrieve,
 * and with which code filters. Used for Library.dataRequirement, for the CRD fallback queries and
 * for the test that prefetch covers what the CQL needs.
 */
import type { DataRequirement, ValueSet } from 'fhir/r4';

export interface CodeFilterRequirement {
  /** The element the retrieve filters on (e.g. 'code', 'medication'). */
  path: string;
  /** Canonical URL of the value set, when the filter is a value set. */
  valueSet?: string;
  /** Individual codes, when the filter is a code or list of codes. */
  codes?: { system: string; code: string }[];
}

export interface TypeRequirement {
  type: string;
  /** Empty when at least one retrieve of this type is unfiltered (all resources are needed). */
  codeFilters: CodeFilterRequirement[];
  /** True when some retrieve of this type has no code filter. */
  unfiltered: boolean;
}

interface ElmNode {
  type?: string;
  [key: string]: unknown;
}
interface ElmLibrary {
  library: {
    identifier?: { id: string; version?: string };
    includes?: { def: { localIdentifier: string; path: string; version?: string }[] };
    valueSets?: { def: { name: string; id: string }[] };
    codeSystems?: { def: { name: string; id: string }[] };
    codes?: { def: { name: string; id: string; codeSystem: { name: string } }[] };
  };
}

function walk(node: unknown, visit: (n: ElmNode) => void): void {
  if (Array.isArray(node)) for (const n of node) walk(n, visit);
  else if (node && typeof node === 'object') {
    visit(node as ElmNode);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

interface LibraryTerms {
  valueSets: Map<string, string>;
  codes: Map<string, { system: string; code: string }>;
  /** Include alias -> library name. */
  includes: Map<string, string>;
}

function termsOf(lib: unknown): { name: string; terms: LibraryTerms } {
  const l = (lib as ElmLibrary).library;
  const systems = new Map((l.codeSystems?.def ?? []).map((d) => [d.name, d.id] as const));
  return {
    name: l.identifier?.id ?? '',
    terms: {
      valueSets: new Map((l.valueSets?.def ?? []).map((d) => [d.name, d.id] as const)),
      codes: new Map((l.codes?.def ?? []).map((d) => [d.name, { system: systems.get(d.codeSystem.name) ?? '', code: d.id }] as const)),
      includes: new Map((l.includes?.def ?? []).map((d) => [d.localIdentifier, d.path] as const)),
    },
  };
}

/**
 * Computes, per resource type, the code filters of every retrieve in the given ELM libraries. A value set
 * or code declared in an included library (`Codes."Rheumatoid Arthritis"`) is resolved through the include;
 * a filter that cannot be resolved makes the type unfiltered (read whole), never silently dropped.
 */
export function dataRequirementsFromElm(libraries: unknown[], resolveWith: unknown[] = libraries): TypeRequirement[] {
  const byType = new Map<string, TypeRequirement>();
  const all = new Map(resolveWith.map((lib) => { const t = termsOf(lib); return [t.name, t.terms] as const; }));
  for (const lib of libraries) {
    const own = termsOf(lib).terms;
    /** The terms of the library a reference names: its own, or an included library's by alias. */
    const scope = (libraryName: unknown): LibraryTerms | undefined =>
      typeof libraryName === 'string' ? all.get(own.includes.get(libraryName) ?? '') : own;
    walk(lib, (n) => {
      if (n.type !== 'Retrieve' || typeof n.dataType !== 'string') return;
      const type = n.dataType.replace(/^\{http:\/\/hl7\.org\/fhir\}/, '');
      const req = byType.get(type) ?? { type, codeFilters: [], unfiltered: false };
      byType.set(type, req);
      const filter = n.codes as ElmNode | undefined;
      if (!filter) {
        req.unfiltered = true;
        return;
      }
      const path = typeof n.codeProperty === 'string' ? n.codeProperty : 'code';
      if (filter.type === 'ValueSetRef') {
        const url = scope(filter.libraryName)?.valueSets.get(String(filter.name));
        if (!url) req.unfiltered = true;
        else if (!req.codeFilters.some((f) => f.valueSet === url)) req.codeFilters.push({ path, valueSet: url });
        return;
      }
      const found: { system: string; code: string }[] = [];
      let unresolved = false;
      walk(filter, (c) => {
        if (c.type !== 'CodeRef') return;
        const code = scope(c.libraryName)?.codes.get(String(c.name));
        if (code) found.push(code);
        else unresolved = true;
      });
      if (found.length && !unresolved) req.codeFilters.push({ path, codes: found });
      else req.unfiltered = true;
    });
  }
  for (const req of byType.values()) if (req.unfiltered) req.codeFilters = [];
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}

/** A library and every library it includes, directly or not (by name, from the ELM). */
export function withIncludes(name: string, elm: Record<string, unknown>): unknown[] {
  const out = new Map<string, unknown>();
  const visit = (n: string) => {
    const lib = elm[n];
    if (!lib || out.has(n)) return;
    out.set(n, lib);
    for (const d of (lib as ElmLibrary).library.includes?.def ?? []) visit(d.path);
  };
  visit(name);
  return [...out.values()];
}

/** The requirements as FHIR DataRequirement elements (Library.dataRequirement). */
export function toFhirDataRequirements(reqs: TypeRequirement[]): DataRequirement[] {
  return reqs.map((r) => ({
    type: r.type,
    ...(r.codeFilters.length
      ? {
          codeFilter: r.codeFilters.map((f) => ({
            path: f.path,
            ...(f.valueSet ? { valueSet: f.valueSet } : {}),
            ...(f.codes ? { code: f.codes.map((c) => ({ system: c.system, code: c.code })) } : {}),
          })),
        }
      : {}),
  }));
}

/** All system|code pairs a type's filters accept, expanded from the value sets. */
export function codesFor(req: TypeRequirement, valueSets: ValueSet[]): { system: string; code: string }[] {
  const byUrl = new Map(valueSets.map((v) => [v.url, v] as const));
  const out = new Map<string, { system: string; code: string }>();
  for (const f of req.codeFilters) {
    const expanded = f.valueSet ? (byUrl.get(f.valueSet.split('|')[0])?.expansion?.contains ?? []).map((c) => ({ system: c.system ?? '', code: c.code ?? '' })) : [];
    for (const c of [...expanded, ...(f.codes ?? [])]) if (c.system && c.code) out.set(`${c.system}|${c.code}`, c);
  }
  return [...out.values()];
}

/** The requirements a package's Libraries declare (Library.dataRequirement), merged per type as the ELM's are. */
export function requirementsFromLibraries(libraries: { dataRequirement?: DataRequirement[] }[]): TypeRequirement[] {
  const byType = new Map<string, TypeRequirement>();
  for (const dr of libraries.flatMap((l) => l.dataRequirement ?? [])) {
    const req = byType.get(dr.type) ?? { type: dr.type, codeFilters: [], unfiltered: false };
    byType.set(dr.type, req);
    const filters = dr.codeFilter ?? [];
    if (filters.length === 0) req.unfiltered = true;
    for (const f of filters) {
      const codes = (f.code ?? []).filter((c) => c.system && c.code).map((c) => ({ system: c.system!, code: c.code! }));
      const valueSet = f.valueSet?.split('|')[0];
      if (!valueSet && codes.length === 0) req.unfiltered = true;
      else req.codeFilters.push({ path: f.path ?? 'code', ...(valueSet ? { valueSet } : {}), ...(codes.length ? { codes } : {}) });
    }
  }
  for (const req of byType.values()) if (req.unfiltered) req.codeFilters = [];
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}
