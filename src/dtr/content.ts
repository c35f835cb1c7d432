/**
 * The FHIR content the DTR side serves: the Questionnaire, Library resources built from cql/ and
 * the compiled ELM, the project's CodeSystems and the expanded ValueSets. Built once at start-up
 * with the configured public base, so canonical URLs resolve where they point.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CodeSystem, FhirResource, Library, Questionnaire, ValueSet } from 'fhir/r4';
import { LIBRARY_TYPE_SYSTEM, QUESTIONNAIRE_ID, SDC_LIBRARY_PROFILE } from '../constants';
import { withNarrative } from '../fhir/narrative';
import { adaptiveQuestionnaire } from './adaptive';
import { dataRequirementsFromElm, toFhirDataRequirements } from '../core/data-requirements';
import type { LoadedContent } from '../core/engine';
import { CQL_DIR, QUESTIONNAIRE_DIR, ROOT } from '../paths';

export type ContentResource = Questionnaire | Library | ValueSet | CodeSystem;
export const CONTENT_TYPES = ['Questionnaire', 'Library', 'ValueSet', 'CodeSystem'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

export interface DtrContent {
  /** {public base}/fhir */
  fhirBase: string;
  questionnaire: Questionnaire;
  /** The same questions offered adaptively ($next-question; src/dtr/adaptive.ts). */
  adaptiveQuestionnaire: Questionnaire;
  libraries: Library[];
  valueSets: ValueSet[];
  codeSystems: CodeSystem[];
  all(): ContentResource[];
  byId(type: string, id: string): ContentResource | undefined;
  /** Finds by canonical, with or without '|version'. */
  byCanonical(type: string, canonical: string): ContentResource | undefined;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

interface CqlSource {
  name: string;
  version: string;
  text: string;
  includes: string[];
}

function readCqlSources(): CqlSource[] {
  return readdirSync(CQL_DIR)
    .filter((f) => f.endsWith('.cql'))
    .map((f) => {
      const text = readFileSync(path.join(CQL_DIR, f), 'utf8');
      const head = /^\s*library\s+"?([A-Za-z0-9_]+)"?\s+version\s+'([^']+)'/m.exec(text);
      if (!head) throw new Error(`cql/${f} has no library declaration with a version`);
      const includes = [...text.matchAll(/^\s*include\s+"?([A-Za-z0-9_]+)"?/gm)].map((m) => m[1]);
      return { name: head[1], version: head[2], text, includes };
    });
}

function libraryResource(src: CqlSource, elm: unknown, fhirBase: string, all: CqlSource[]): Library {
  const depends = src.includes.map((name) => {
    const dep = all.find((s) => s.name === name);
    if (!dep) throw new Error(`library ${src.name} includes unknown library ${name}`);
    // display and url: required by SDC's sdc-library profile (the target of cqf-library in DTR).
    return { type: 'depends-on' as const, display: `${dep.name} ${dep.version}`, url: `${fhirBase}/Library/${dep.name}`, resource: `${fhirBase}/Library/${dep.name}|${dep.version}` };
  });
  const requirements = toFhirDataRequirements(dataRequirementsFromElm([elm]));
  return {
    resourceType: 'Library',
    id: src.name,
    // A profile within the DTR STU 2.0.1 dependencies (SDC 3.0.0), not the CQL IG's cql-library.
    meta: { profile: [SDC_LIBRARY_PROFILE] },
    url: `${fhirBase}/Library/${src.name}`,
    version: src.version,
    name: src.name,
    title: src.name === 'FHIRHelpers' ? 'FHIR Helpers (conversions for FHIR 4.0.1)' : 'Kineret (anakinra) prior authorization criteria',
    status: 'active',
    experimental: false,
    type: { coding: [{ system: LIBRARY_TYPE_SYSTEM, code: 'logic-library' }] },
    ...(depends.length ? { relatedArtifact: depends } : {}),
    ...(requirements.length ? { dataRequirement: requirements } : {}),
    content: [
      { contentType: 'text/cql', data: b64(src.text) },
      { contentType: 'application/elm+json', data: b64(JSON.stringify(elm)) },
    ],
  };
}

function materializeQuestionnaire(fhirBase: string): Questionnaire {
  const text = readFileSync(path.join(QUESTIONNAIRE_DIR, `${QUESTIONNAIRE_ID}.json`), 'utf8');
  return JSON.parse(text.replaceAll('{{base}}', fhirBase)) as Questionnaire;
}

function readCodeSystems(): CodeSystem[] {
  const dir = path.join(ROOT, 'terminology', 'codesystems');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CodeSystem);
}

export function buildDtrContent(content: LoadedContent, publicBaseUrl: string): DtrContent {
  const fhirBase = `${publicBaseUrl}/fhir`;
  const sources = readCqlSources();
  const libraries = sources.map((s) => {
    const elm = content.elm[s.name];
    if (!elm) throw new Error(`no ELM for ${s.name}: run npm run build`);
    return withNarrative(libraryResource(s, elm, fhirBase, sources));
  });
  // Narratives generated from the content as it is loaded (src/fhir/narrative.ts).
  const questionnaire = withNarrative(materializeQuestionnaire(fhirBase));
  const adaptive = adaptiveQuestionnaire(questionnaire, fhirBase);
  const valueSets = content.valueSets.map(withNarrative);
  const codeSystems = readCodeSystems().map(withNarrative);
  const all = (): ContentResource[] => [questionnaire, adaptive, ...libraries, ...valueSets, ...codeSystems];
  return {
    fhirBase,
    questionnaire,
    adaptiveQuestionnaire: adaptive,
    libraries,
    valueSets,
    codeSystems,
    all,
    byId: (type, id) => all().find((r) => r.resourceType === type && r.id === id),
    byCanonical: (type, canonical) => {
      const [url, version] = canonical.split('|');
      return all().find((r) => r.resourceType === type && r.url === url && (!version || r.version === version));
    },
  };
}

/** Libraries a questionnaire needs: its cqf-library canonicals and, recursively, their depends-on artifacts. */
export function librariesFor(q: Questionnaire, content: DtrContent): Library[] {
  const out = new Map<string, Library>();
  const visit = (canonical: string) => {
    const lib = content.byCanonical('Library', canonical) as Library | undefined;
    if (!lib || out.has(lib.url!)) return;
    out.set(lib.url!, lib);
    for (const ra of lib.relatedArtifact ?? []) if (ra.type === 'depends-on' && ra.resource) visit(ra.resource);
  };
  for (const e of q.extension ?? []) if (e.url === 'http://hl7.org/fhir/StructureDefinition/cqf-library' && e.valueCanonical) visit(e.valueCanonical);
  return [...out.values()];
}

/** Value sets the libraries' data requirements and ELM name, expanded. */
export function valueSetsFor(libraries: Library[], content: DtrContent, elm: Record<string, unknown>): ValueSet[] {
  const urls = new Set<string>();
  for (const lib of libraries) {
    const defs = ((elm[lib.name!] as { library?: { valueSets?: { def?: { id: string }[] } } })?.library?.valueSets?.def ?? []);
    for (const d of defs) urls.add(d.id);
  }
  return content.valueSets.filter((v) => v.url && urls.has(v.url));
}

export function isContentType(type: string): type is ContentType {
  return (CONTENT_TYPES as readonly string[]).includes(type);
}

export type { FhirResource };
