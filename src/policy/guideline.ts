/**
 * The coverage guideline as a document people can read: the plan's text (policy/*.txt, extracted from
 * its PDF) read into sections, numbered criteria with their lettered parts, AND/OR connectors, notes
 * and paragraphs, then rendered as HTML with the criteria numbered exactly as in the guideline (each
 * with an anchor, "#for-all-indications-2", "#a-moderate-to-severe-rheumatoid-arthritis-3"). The words
 * are the guideline's own; only layout is added. The plain text stays the source and is served too.
 *
 * What the PDF extraction leaves is repaired by rule, not by hand: the running headers of the PDF's
 * pages (a run of capitalised lines without a colon followed by a line that continues a sentence) are
 * dropped, and a line that starts in lower case continues the sentence before it, across blank lines.
 */

export type Block =
  | { kind: 'heading'; level: 2 | 3; text: string; id: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'criteria'; section: string; items: Criterion[] }
  | { kind: 'bullets'; items: string[] };

export interface Criterion {
  /** As in the guideline: '1', '2'... */
  number: string;
  text: string;
  /** Lettered or numbered parts: (a), (b), (1), (A)... each with its own connector. */
  parts: { label: string; text: string; connector: string | null; notes: string[] }[];
  /** AND / OR after this criterion, as the guideline joins it to the next. */
  connector: string | null;
  notes: string[];
}

export interface Guideline {
  title: string;
  blocks: Block[];
}

const HEADING = /^(?:[A-Z]\.\s+)?[A-Z][A-Z0-9 ()/,.'’&\-–]*:\s*$/;
const MIXED_HEADING = /^(?:[A-Z][a-z]+ ){1,4}[A-Z][a-z]+:\s*$/;
const NUMBERED = /^(\d{1,2})\.\s+(.*)$/;
const PART = /^\(([a-zA-Z]|\d{1,2})\)\s*(.*)$/;
const CONNECTOR = /^(AND|OR)$/;
const BULLET = /^[•●▪]\s*(.*)$/;
const CAPITALISED = /^[A-Z][A-Z0-9 /&,'’\-–]+$/;

export function slug(text: string): string {
  return text.toLowerCase().replace(/[’']/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Removes the PDF's running headers: capitalised lines (no colon) directly before a line that continues a sentence. */
function withoutRunningHeaders(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (CAPITALISED.test(lines[i]) && !CONNECTOR.test(lines[i])) {
      let j = i;
      while (j < lines.length && (lines[j] === '' || (CAPITALISED.test(lines[j]) && !CONNECTOR.test(lines[j])))) j++;
      if (j < lines.length && /^[a-z]/.test(lines[j])) {
        i = j - 1;
        continue;
      }
    }
    out.push(lines[i]);
  }
  return out;
}

function join(a: string, b: string): string {
  if (!a) return b;
  // A word broken at the line end keeps its hyphen only when the next part is a word of its own ("disease- modifying").
  return `${a} ${b}`.replace(/\s+/g, ' ');
}

export function parseGuideline(text: string): Guideline {
  const lines = withoutRunningHeaders(text.replace(/\r/g, '').split('\n').map((l) => l.trim()));
  const first = lines.findIndex((l) => l !== '');
  const title = first >= 0 ? lines[first] : 'Coverage guideline';
  const blocks: Block[] = [];
  let section = '';
  let list: (Block & { kind: 'criteria' }) | null = null;
  let criterion: Criterion | null = null;
  let part: Criterion['parts'][number] | null = null;
  let paragraph: (Block & { kind: 'paragraph' }) | null = null;
  let bullets: (Block & { kind: 'bullets' }) | null = null;
  /** The last open text: a line that continues a sentence goes there, even across blank lines. */
  let append: ((s: string) => void) | null = null;
  /** The paragraph `append` writes to, when it writes to one. */
  let sinkParagraph: (Block & { kind: 'paragraph' }) | null = null;
  let previous = '';

  const close = () => {
    sinkParagraph = null;
    list = null;
    criterion = null;
    part = null;
    paragraph = null;
    bullets = null;
    append = null;
  };
  /** A criterion (or its part) still takes text until the guideline joins it to the next with AND or OR. */
  const open = (): boolean => criterion !== null && criterion.connector === null && (part === null || part.connector === null);

  // The title is repeated at the top of the extracted text.
  for (const line of lines.slice(first + 1).filter((l, i, all) => !(l === title && all.slice(0, i).every((x) => x === '' || x === title)))) {
    const short = previous.length > 0 && previous.length < 75;
    previous = line || previous;
    if (line === '') {
      paragraph = null;
      continue;
    }
    if (/^[a-z]/.test(line) && append) {
      append(line);
      // A sentence carried over blank lines (a page break) keeps its paragraph open.
      paragraph = sinkParagraph;
      continue;
    }
    if (HEADING.test(line) || MIXED_HEADING.test(line)) {
      close();
      const heading = line.replace(/:\s*$/, '').trim();
      const sub = /^[A-Z]\.\s/.test(heading);
      section = heading;
      blocks.push({ kind: 'heading', level: sub ? 3 : 2, text: heading, id: slug(heading) });
      continue;
    }
    const numbered = NUMBERED.exec(line);
    if (numbered) {
      if (!list) {
        list = { kind: 'criteria', section: slug(section), items: [] };
        blocks.push(list);
      }
      const c: Criterion = { number: numbered[1], text: numbered[2].trim(), parts: [], connector: null, notes: [] };
      list.items.push(c);
      criterion = c;
      part = null;
      paragraph = null;
      sinkParagraph = null;
      append = (s) => (c.text = join(c.text, s));
      // A criterion may open with its first part on the same line: "3. (a) Member is ...".
      const inline = PART.exec(c.text);
      if (inline) {
        c.text = '';
        const p = { label: inline[1], text: inline[2].trim(), connector: null, notes: [] };
        c.parts.push(p);
        part = p;
        append = (s) => (p.text = join(p.text, s));
      }
      continue;
    }
    const lettered = PART.exec(line);
    if (lettered && criterion) {
      const c: Criterion = criterion;
      const p: Criterion['parts'][number] = { label: lettered[1], text: lettered[2].trim(), connector: null, notes: [] };
      c.parts.push(p);
      part = p;
      append = (s) => (p.text = join(p.text, s));
      continue;
    }
    if (CONNECTOR.test(line) && criterion) {
      if (part) part.connector = line;
      else criterion.connector = line;
      continue;
    }
    if (/^NOTE:/.test(line) && criterion) {
      const notes = part ? part.notes : criterion.notes;
      notes.push(line);
      const at = notes.length - 1;
      append = (s) => (notes[at] = join(notes[at], s));
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet) {
      const b: Block & { kind: 'bullets' } = bullets ?? { kind: 'bullets', items: [] };
      if (!bullets) {
        close();
        blocks.push(b);
        bullets = b;
      }
      b.items.push(bullet[1].trim());
      const at = b.items.length - 1;
      append = (s) => (b.items[at] = join(b.items[at], s));
      continue;
    }
    // Inside a criterion or a bullet the extraction breaks lines anywhere ("Familial / Cold Autoinflammatory Syndrome").
    if ((open() || (bullets && !short)) && append) {
      append(line);
      continue;
    }
    // A paragraph goes on unless this line starts an item of its own ("(2) ...") or the line before ended short
    // and this one starts a new sentence.
    if (paragraph && !PART.test(line) && !(short && /^[A-Z“"]/.test(line))) {
      const p: Block & { kind: 'paragraph' } = paragraph;
      p.text = join(p.text, line);
      continue;
    }
    close();
    const p: Block & { kind: 'paragraph' } = { kind: 'paragraph', text: line };
    blocks.push(p);
    paragraph = p;
    sinkParagraph = p;
    append = (s) => (p.text = join(p.text, s));
  }
  // An AND or OR after a criterion's last part joins the criterion to the next one.
  for (const b of blocks) {
    if (b.kind !== 'criteria') continue;
    for (const c of b.items) {
      const last = c.parts.at(-1);
      if (last?.connector && !c.connector) {
        c.connector = last.connector;
        last.connector = null;
      }
    }
  }
  return { title, blocks };
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Escaped text with the guideline's [DOCUMENTATION REQUIRED] marks set off. */
function inline(text: string): string {
  return escapeHtml(text).replace(/\[DOCUMENTATION REQUIRED\]/g, '<strong class="required">[DOCUMENTATION REQUIRED]</strong>');
}

function renderCriteria(block: Block & { kind: 'criteria' }): string {
  const items = block.items.map((c) => {
    const id = `${block.section}-${c.number}`;
    const parts = c.parts.length
      ? `<ol class="parts">${c.parts.map((p) => `<li id="${id}${escapeHtml(p.label.toLowerCase())}"><span class="label">(${escapeHtml(p.label)})</span> ${inline(p.text)}${p.notes.map((n) => `<p class="note">${inline(n)}</p>`).join('')}${p.connector ? `<div class="connector">${p.connector}</div>` : ''}</li>`).join('')}</ol>`
      : '';
    return `<li id="${id}" value="${escapeHtml(c.number)}"><a class="anchor" href="#${id}" aria-label="Link to ${escapeHtml(c.number)}">${escapeHtml(c.number)}.</a> ${inline(c.text)}${parts}${c.notes.map((n) => `<p class="note">${inline(n)}</p>`).join('')}${c.connector ? `<div class="connector">${c.connector}</div>` : ''}</li>`;
  }).join('\n');
  return `<ol class="criteria">\n${items}\n</ol>`;
}

const STYLE = `body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f6f8fa}
main{max-width:860px;margin:0 auto;padding:16px 24px 48px;background:#fff;border-left:1px solid #d7dde4;border-right:1px solid #d7dde4}
h1{font-size:26px;margin:8px 0 4px}.meta{color:#5b6776;margin:0 0 16px}.meta a{color:#1f6feb}
h2{font-size:18px;margin:28px 0 8px;padding-top:8px;border-top:1px solid #d7dde4}h3{font-size:16px;margin:20px 0 6px}
ol.criteria{list-style:none;padding-left:0}ol.criteria>li{margin:0 0 6px;padding-left:2.2em;text-indent:-2.2em}
ol.criteria>li>*{text-indent:0}.anchor{display:inline-block;width:2em;text-indent:0;font-weight:700;color:#1d2733;text-decoration:none}
ol.parts{list-style:none;padding-left:1.2em;margin:4px 0}ol.parts>li{margin:0 0 4px}.label{font-weight:600}
.connector{font-weight:700;color:#5b6776;margin:6px 0 8px;text-indent:0}.note{font-size:14px;color:#5b6776;margin:4px 0}
.required{font-size:13px;color:#8a6100;white-space:nowrap}:target{background:#fff8d6}
nav.toc{background:#f7faff;border:1px solid #cfe0fb;border-radius:4px;padding:8px 16px;margin:0 0 16px}nav.toc ul{margin:4px 0;padding-left:18px}`;

export function renderGuidelineHtml(g: Guideline, opts: { textUrl: string; payerName: string }): string {
  const toc = g.blocks.filter((b): b is Block & { kind: 'heading' } => b.kind === 'heading' && b.level === 2)
    .map((b) => `<li><a href="#${b.id}">${escapeHtml(b.text.charAt(0) + b.text.slice(1).toLowerCase())}</a></li>`).join('');
  const body = g.blocks.map((b) => {
    switch (b.kind) {
      case 'heading': return `<h${b.level} id="${b.id}">${escapeHtml(b.text)}</h${b.level}>`;
      case 'paragraph': return `<p>${inline(b.text)}</p>`;
      case 'bullets': return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
      case 'criteria': return renderCriteria(b);
    }
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(g.title)} coverage guideline (${escapeHtml(opts.payerName)})</title><style>${STYLE}</style></head>
<body><main>
<h1>${escapeHtml(g.title)}: coverage guideline</h1>
<p class="meta">${escapeHtml(opts.payerName)}. The guideline's own words, laid out for reading; the criteria are numbered as in the guideline. <a href="${escapeHtml(opts.textUrl)}">Plain text</a></p>
<nav class="toc" aria-label="Sections"><strong>Sections</strong><ul>${toc}</ul></nav>
${body}
</main></body></html>
`;
}
