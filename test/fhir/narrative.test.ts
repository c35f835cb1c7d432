/**
 * Generated narratives: every conformance resource the DTR endpoint serves has one (the DTR
 * standard and adaptive questionnaire profiles require Questionnaire.text, 1..1), made from the
 * resource's content at load time, in XHTML a FHIR narrative allows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FhirResource, Questionnaire, ValueSet } from 'fhir/r4';
import { loadContent } from '../../src/core/engine';
import { buildDtrContent } from '../../src/dtr/content';
import { narrativeFor, withNarrative } from '../../src/fhir/narrative';
import { QUESTIONNAIRE_DIR } from '../../src/paths';

const content = buildDtrContent(loadContent(), 'http://payer.test');

/** FHIR narrative XHTML (txt-1, txt-2): allowed elements only, well nested, no script or event attributes, some text. */
function narrativeProblems(div: string): string[] {
  const problems: string[] = [];
  if (!div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">') || !div.endsWith('</div>')) problems.push('not an XHTML div');
  const allowed = new Set(['div', 'p', 'b', 'i', 'ul', 'li', 'table', 'tr', 'th', 'td', 'br']);
  const stack: string[] = [];
  for (const m of div.matchAll(/<(\/?)([a-zA-Z0-9]+)([^>]*?)(\/?)>/g)) {
    const [, close, name, attrs, self] = m;
    if (!allowed.has(name)) problems.push(`element ${name}`);
    if (/\bon\w+=|javascript:/i.test(attrs)) problems.push(`attribute ${attrs}`);
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) problems.push(`</${name}> closes another element`);
    } else stack.push(name);
  }
  if (stack.length) problems.push(`unclosed ${stack.join(', ')}`);
  if (/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(div)) problems.push('an entity XML does not define');
  if (!/>[^<\s]/.test(div)) problems.push('no text');
  return problems;
}

describe('narratives', () => {
  it('every Questionnaire, Library, ValueSet and CodeSystem served has a generated, valid narrative', () => {
    const all = content.all();
    expect(all.filter((r) => r.resourceType === 'Questionnaire').map((r) => r.id).sort()).toEqual(['kineret-pa', 'kineret-pa-adaptive']);
    for (const r of all as (FhirResource & { text?: { status: string; div: string } })[]) {
      expect({ id: `${r.resourceType}/${r.id}`, status: r.text?.status }).toEqual({ id: `${r.resourceType}/${r.id}`, status: 'generated' });
      expect({ id: `${r.resourceType}/${r.id}`, problems: narrativeProblems(r.text!.div) }).toEqual({ id: `${r.resourceType}/${r.id}`, problems: [] });
    }
  });

  it('is made from the content, not written by hand: the source has none, and it says what the resource holds', () => {
    const source = JSON.parse(readFileSync(path.join(QUESTIONNAIRE_DIR, 'kineret-pa.json'), 'utf8')) as Questionnaire;
    expect(source.text).toBeUndefined();
    const q = content.questionnaire;
    for (const item of q.item ?? []) expect(q.text!.div).toContain(item.linkId);
    expect(q.text!.div).toContain('Kineret (anakinra) prior authorization');
    const vs = content.valueSets.find((v) => (v.expansion?.contains?.length ?? 0) > 0) as ValueSet;
    expect(vs.text!.div).toContain(`Expansion: ${vs.expansion!.contains!.length} code`);
    expect(vs.text!.div).toContain(vs.expansion!.contains![0].code!);
    // A change to the content changes the narrative.
    const changed = withNarrative({ ...q, item: [{ linkId: 'new-question', text: 'A question <added> & escaped', type: 'boolean' }] });
    expect(changed.text!.div).toContain('A question &lt;added&gt; &amp; escaped');
    expect(changed.text!.div).not.toContain('request-type');
  });

  it('QuestionnaireResponses get none (a DTR client edits the answers after they are sent)', () => {
    expect(narrativeFor({ resourceType: 'QuestionnaireResponse', status: 'in-progress' })).toBeUndefined();
  });
});
