/**
 * The FHIR content the DTR side serves: the Questionnaire, Library resources built from cql/ and
 * the compiled ELM, the project's CodeSystems and the expanded ValueSets. Built once at start-up
 * with the configured public base, so canonical URLs resolve where they point.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CodeSystem, FhirResource, Library, Questionnaire, QuestionnaireItem, ValueSet } from 'fhir/r4';
import { CRITERIA_CODE_SYSTEM, LIBRARY_TYPE_SYSTEM, QUESTIONNAIRE_ID, SDC_LIBRARY_PROFILE } from '../constants';
import { withNarrative } from '../fhir/narrative';
import { adaptiveQuestionnaire } from './adaptive';
import { dataRequirementsFromElm, toFhirDataRequirements, withIncludes } from '../core/data-requirements';
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

/** A library's title: the first line of its header comment, else its name. */
function titleOf(src: CqlSource): string {
  if (src.name === 'FHIRHelpers') return 'FHIR Helpers (conversions for FHIR 4.0.1)';
  const comment = /\/\*([\s\S]*?)\*\//.exec(src.text)?.[1] ?? '';
  const first = comment.split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).find((l) => l.length > 0);
  return first ? `${src.name}: ${first.replace(/[:.]$/, '')}` : src.name;
}

/**
 * A CQL Library resource. Its dataRequirement covers its own retrieves and those of every library it
 * includes (the effective data requirements), so a client reading only the Questionnaire's library
 * knows all the data the evaluation needs.
 */
function libraryResource(src: CqlSource, allElm: Record<string, unknown>, fhirBase: string, all: CqlSource[]): Library {
  const elm = allElm[src.name];
  const depends = src.includes.map((name) => {
    const dep = all.find((s) => s.name === name);
    if (!dep) throw new Error(`library ${src.name} includes unknown library ${name}`);
    // display and url: required by SDC's sdc-library profile (the target of cqf-library in DTR).
    return { type: 'depends-on' as const, display: `${dep.name} ${dep.version}`, url: `${fhirBase}/Library/${dep.name}`, resource: `${fhirBase}/Library/${dep.name}|${dep.version}` };
  });
  const requirements = toFhirDataRequirements(dataRequirementsFromElm(withIncludes(src.name, allElm), Object.values(allElm)));
  return {
    resourceType: 'Library',
    id: src.name,
    // A profile within the DTR STU 2.0.1 dependencies (SDC 3.0.0), not the CQL IG's cql-library.
    meta: { profile: [SDC_LIBRARY_PROFILE] },
    url: `${fhirBase}/Library/${src.name}`,
    version: src.version,
    name: src.name,
    title: titleOf(src),
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

/** Criterion codes whose items are asked only when the plan marks Kineret non-formulary/non-preferred. */
const NON_FORMULARY_CRITERIA = new Set(['ALL-3']);

/** Drops the items (and groups) that carry only criterion codes the plan does not ask about. */
function withoutCriteria(items: QuestionnaireItem[] | undefined, drop: Set<string>): QuestionnaireItem[] | undefined {
  if (!items) return items;
  return items
    .filter((i) => !(i.code?.length && i.code.every((c) => c.system === CRITERIA_CODE_SYSTEM && drop.has(c.code ?? ''))))
    .map((i) => (i.item ? { ...i, item: withoutCriteria(i.item, drop) } : i));
}

/**
 * The Questionnaire as this plan serves it: canonicals on the public base, and the non-formulary
 * documentation items ("IF THIS IS A NON-FORMULARY/NON-PREFERRED PRODUCT") only when the plan marks
 * Kineret non-preferred (KINERET_NON_PREFERRED).
 */
function materializeQuestionnaire(fhirBase: string, options: ContentOptions): Questionnaire {
  const text = readFileSync(path.join(QUESTIONNAIRE_DIR, `${QUESTIONNAIRE_ID}.json`), 'utf8');
  const q = JSON.parse(text.replaceAll('{{base}}', fhirBase)) as Questionnaire;
  return options.kineretNonPreferred ? q : { ...q, item: withoutCriteria(q.item, NON_FORMULARY_CRITERIA) };
}

export interface ContentOptions {
  /** The plan lists Kineret as non-formulary/non-preferred: the Questionnaire asks for the preferred alternatives tried. */
  kineretNonPreferred?: boolean;
}

function readCodeSystems(): CodeSystem[] {
  const dir = path.join(ROOT, 'terminology', 'codesystems');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CodeSystem);
}

export function buildDtrContent(content: LoadedContent, publicBaseUrl: string, options: ContentOptions = {}): DtrContent {
  const fhirBase = `${publicBaseUrl}/fhir`;
  const sources = readCqlSources();
  const libraries = sources.map((s) => {
    if (!content.elm[s.name]) throw new Error(`no ELM for ${s.name}: run npm run build`);
    return withNarrative(libraryResource(s, content.elm, fhirBase, sources));
  });
  // Narratives generated from the content as it is loaded (src/fhir/narrative.ts).
  const questionnaire = withNarrative(materializeQuestionnaire(fhirBase, options));
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
