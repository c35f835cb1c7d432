/**
 * The guideline page: the plan's own words, none lost or reordered, laid out with the criteria
 * numbered as in the guideline (anchors included), the PDF's running headers dropped, every text
 * escaped; served as HTML to browsers and as plain text on request.
 */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { POLICY_FILE } from '../../src/http/policy';
import { parseGuideline, renderGuidelineHtml, type Block } from '../../src/policy/guideline';
import { startTestApp, type TestApp } from '../support/app';

const text = readFileSync(POLICY_FILE, 'utf8');
const guideline = parseGuideline(text);
const html = renderGuidelineHtml(guideline, { textUrl: '/policy/kineret-anakinra.txt', payerName: 'Molina Healthcare' });

function words(s: string): string[] {
  return s.replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    // A heading is shown without its colon, a bullet as a list item.
    .split(/\s+/).filter(Boolean).map((w) => w.replace(/:$/, '')).filter((w) => w && w !== '•');
}

const criteria = (section: string) => (guideline.blocks.find((b): b is Block & { kind: 'criteria' } => b.kind === 'criteria' && b.section === section)?.items ?? []);

test('the criteria are numbered as in the guideline, with their lettered parts and the AND/OR that join them', () => {
  expect(criteria('for-all-indications').map((c) => [c.number, c.connector])).toEqual([['1', 'AND'], ['2', 'AND'], ['3', null]]);
  const ra = criteria('a-moderate-to-severe-rheumatoid-arthritis');
  expect(ra.map((c) => c.number)).toEqual(['1', '2', '3']);
  expect(ra[2].parts.map((p) => [p.label, p.connector])).toEqual([['a', 'OR'], ['b', null]]);
  expect(ra[2].parts[1].notes[0]).toMatch(/^NOTE: An exception .* “step back “and try a conventional synthetic DMARD\.$/);
  expect(ra[1].text).toBe('Documentation of prescriber baseline disease activity evaluation and goals for treatment to be used to evaluate efficacy of therapy at renewal [DOCUMENTATION REQUIRED]');
  const caps = criteria('b-cryopyrin-associated-periodic-syndromes-caps');
  expect(caps.map((c) => [c.number, c.connector])).toEqual([['1', 'AND'], ['2', 'AND'], ['3', 'AND'], ['4', null]]);
  expect(caps[0].text).toContain('Familial Cold Autoinflammatory Syndrome (FCAS)');
  expect(caps[1].parts.map((p) => p.label)).toEqual(['a', 'b']);
  expect(criteria('c-juvenile-idiopathic-arthritis-active-systemic-and-polyarticular').map((c) => c.number)).toEqual(['1', '2', '3']);
  expect(criteria('d-deficiency-of-interleukin-1-receptor-antagonist').map((c) => c.number)).toEqual(['1', '2', '3']);
  expect(criteria('a-all-indications').map((c) => c.number)).toEqual(['1', '2', '3', '4']);
  for (const id of ['for-all-indications-2', 'a-moderate-to-severe-rheumatoid-arthritis-3', 'a-moderate-to-severe-rheumatoid-arthritis-3b', 'b-cryopyrin-associated-periodic-syndromes-caps-2a', 'a-all-indications-4']) {
    expect(html).toContain(`id="${id}"`);
  }
});

test('no word of the guideline is lost or reordered; only the PDF\'s running headers are dropped', () => {
  const headers = ['DRUG INFORMATION', 'APPENDIX', 'BACKGROUND AND OTHER CONSIDERATIONS', 'CODING/BILLING INFORMATION'];
  // The source without its page furniture: the headers that interrupt a sentence (alone on their lines).
  const source = text.split('\n').filter((l, i, all) => !(headers.includes(l.trim()) && !/:\s*$/.test(l) && all.slice(i + 1).find((x) => x.trim())?.trim().match(/^([a-z]|[A-Z ]+$)/))).join('\n');
  // The title, repeated at the top of the extracted text, is the page's heading.
  let expected = words(source);
  const title = words(guideline.title);
  while (expected.slice(0, title.length).join(' ') === title.join(' ')) expected = expected.slice(title.length);
  const rendered = words(html.slice(html.indexOf('</nav>')));
  let at = 0;
  const missing: string[] = [];
  for (const w of expected) {
    const found = rendered.indexOf(w, at);
    if (found < 0) missing.push(w);
    else at = found + 1;
  }
  expect(missing.slice(0, 20)).toEqual([]);
  // The sentence a page break cut is whole again.
  expect(guideline.blocks.some((b) => b.kind === 'paragraph' && b.text.includes('slow the progression of structural damage in adult patients'))).toBe(true);
});

test('every text is escaped', () => {
  const hostile = renderGuidelineHtml(parseGuideline('Title\n\nSECTION:\n1. <script>alert(1)</script> & "x"\n'), { textUrl: '/t.txt', payerName: '<b>Plan</b>' });
  expect(hostile).not.toMatch(/<script>|<b>Plan/);
  expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
});

describe('served', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.services.store.close();
  });

  test('HTML for a browser (and for */*), the plain text when asked for it', async () => {
    const page = await request(t.app).get('/policy/kineret-anakinra').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('<h3 id="a-moderate-to-severe-rheumatoid-arthritis">A. MODERATE TO SEVERE RHEUMATOID ARTHRITIS</h3>');
    expect(page.text).toContain('href="/policy/kineret-anakinra.txt"');
    expect((await request(t.app).get('/policy/kineret-anakinra')).headers['content-type']).toBe('text/html; charset=utf-8');
    const plain = await request(t.app).get('/policy/kineret-anakinra').set('Accept', 'text/plain');
    expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(plain.text).toBe(text);
    expect((await request(t.app).get('/policy/kineret-anakinra.txt')).text).toBe(text);
  });
});
