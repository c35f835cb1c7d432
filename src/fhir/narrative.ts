/**
 * Generated narratives (Resource.text) for the conformance resources this service serves: the
 * Questionnaires (the DTR standard and adaptive questionnaire profiles require one, 1..1), Libraries,
 * ValueSets and CodeSystems. Each narrative is made from the resource's own content when the content
 * is loaded, never written by hand, so it cannot drift from what it describes. XHTML limited to what
 * FHIR narratives allow (txt-1/txt-2: p, ul, li, table, b...; no scripts, no entities but the XML ones).
 *
 * QuestionnaireResponses get none: no profile we follow requires one, and a DTR client edits the
 * answers after we send them, so a narrative written here would soon say something else.
 */
import type {
  CodeSystem, CodeSystemConcept, FhirResource, Library, Narrative, Questionnaire, QuestionnaireItem, ValueSet,
} from 'fhir/r4';

const XHTML = 'http://www.w3.org/1999/xhtml';

/** Text as XHTML character data. */
export function xhtmlText(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const p = (html: string) => `<p>${html}</p>`;
const b = (text: string) => `<b>${xhtmlText(text)}</b>`;
const ul = (items: string[]) => (items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '');

function div(parts: string[]): Narrative {
  return { status: 'generated', div: `<div xmlns="${XHTML}">${parts.filter(Boolean).join('')}</div>` };
}

function heading(r: { title?: string; name?: string; url?: string; version?: string; status?: string }, kind: string): string {
  const name = r.title ?? r.name ?? kind;
  const identity = [r.url ? `${r.url}${r.version ? `|${r.version}` : ''}` : r.version ? `version ${r.version}` : '', r.status ?? ''].filter(Boolean);
  return p(`${b(name)}${identity.length ? ` (${xhtmlText(identity.join(', '))})` : ''}`);
}

function questionnaireItem(item: QuestionnaireItem): string {
  const facts = [item.type, item.required ? 'required' : '', item.repeats ? 'repeats' : '', item.enableWhen?.length ? 'conditional' : ''].filter(Boolean);
  const options = (item.answerOption ?? []).map((o) => o.valueCoding?.display ?? o.valueCoding?.code ?? o.valueString ?? '').filter(Boolean);
  return `${xhtmlText(item.text ?? item.linkId)} <i>[${xhtmlText(`${item.linkId}: ${facts.join(', ')}`)}]</i>` +
    (options.length ? ` ${xhtmlText(`(${options.join(' | ')})`)}` : '') +
    ul((item.item ?? []).map(questionnaireItem));
}

function questionnaire(q: Questionnaire): Narrative {
  const adaptive = (q.extension ?? []).some((e) => e.url.endsWith('/sdc-questionnaire-questionnaireAdaptive'));
  const derived = (q.derivedFrom ?? []).length ? p(`Derived from ${xhtmlText(q.derivedFrom!.join(', '))}.`) : '';
  const items = q.item ?? [];
  return div([
    heading(q, 'Questionnaire'),
    q.description ? p(xhtmlText(q.description)) : '',
    derived,
    adaptive ? p(items.length
      ? 'Adaptive questionnaire: the questions asked so far are below; the next ones come from $next-question.'
      : 'Adaptive questionnaire: its questions come one group at a time from $next-question.') : '',
    items.length ? p(`${items.length} top-level item${items.length > 1 ? 's' : ''}:`) : '',
    ul(items.map(questionnaireItem)),
  ]);
}

function library(l: Library): Narrative {
  const deps = (l.relatedArtifact ?? []).filter((r) => r.type === 'depends-on').map((r) => xhtmlText(r.resource ?? r.url ?? r.display ?? ''));
  const types = [...new Set((l.dataRequirement ?? []).map((d) => d.type))].sort();
  const content = (l.content ?? []).map((c) => c.contentType ?? '').filter(Boolean);
  return div([
    heading(l, 'Library'),
    l.description ? p(xhtmlText(l.description)) : '',
    p(`Logic library ${b(l.name ?? '')}${content.length ? `, content: ${xhtmlText(content.join(', '))}` : ''}.`),
    deps.length ? p('Depends on:') + ul(deps) : '',
    types.length ? p(`Data it reads: ${xhtmlText(types.join(', '))}.`) : '',
  ]);
}

const LISTED = 50;

function valueSet(v: ValueSet): Narrative {
  const contains = v.expansion?.contains ?? [];
  const included = (v.compose?.include ?? []).map((i) => xhtmlText(`${i.system ?? ''}${i.valueSet ? ` ${i.valueSet.join(', ')}` : ''}${i.concept ? ` (${i.concept.length} codes)` : ''}${i.filter ? ' (filtered)' : ''}`));
  const rows = contains.slice(0, LISTED).map((c) => `<tr><td>${xhtmlText(c.system ?? '')}</td><td>${xhtmlText(c.code ?? '')}</td><td>${xhtmlText(c.display ?? '')}</td></tr>`);
  return div([
    heading(v, 'ValueSet'),
    v.description ? p(xhtmlText(v.description)) : '',
    included.length ? p('Includes:') + ul(included) : '',
    contains.length ? p(`Expansion: ${contains.length} code${contains.length > 1 ? 's' : ''}${contains.length > LISTED ? `, the first ${LISTED} listed` : ''}.`) : '',
    rows.length ? `<table><tr><th>System</th><th>Code</th><th>Display</th></tr>${rows.join('')}</table>` : '',
  ]);
}

function concept(c: CodeSystemConcept): string {
  return `${b(c.code)} ${xhtmlText(c.display ?? '')}${c.definition ? `: ${xhtmlText(c.definition)}` : ''}${ul((c.concept ?? []).map(concept))}`;
}

function codeSystem(cs: CodeSystem): Narrative {
  return div([heading(cs, 'CodeSystem'), cs.description ? p(xhtmlText(cs.description)) : '', ul((cs.concept ?? []).map(concept))]);
}

/** The resource's generated narrative, or undefined for types that get none. */
export function narrativeFor(resource: FhirResource): Narrative | undefined {
  switch (resource.resourceType) {
    case 'Questionnaire': return questionnaire(resource);
    case 'Library': return library(resource);
    case 'ValueSet': return valueSet(resource);
    case 'CodeSystem': return codeSystem(resource);
    default: return undefined;
  }
}

/** A copy of the resource with its generated narrative (replacing any text it had). */
export function withNarrative<T extends FhirResource>(resource: T): T {
  const text = narrativeFor(resource);
  if (!text) return resource;
  const { text: _old, ...rest } = resource as T & { text?: Narrative };
  // text comes right after the id and meta, where FHIR JSON puts it.
  const { resourceType, id, meta, ...others } = rest as Record<string, unknown>;
  return { resourceType, ...(id !== undefined ? { id } : {}), ...(meta !== undefined ? { meta } : {}), text, ...others } as unknown as T;
}
