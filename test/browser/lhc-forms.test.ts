/**
 * The Questionnaire as this service serves it, rendered by LHC-Forms itself in Chromium, the way an
 * LHC-Forms-based DTR client (the Da Vinci DTR reference app) renders it: no rewriting by our app. For every
 * indication and both request types, with the indication and request type answered, the form must render
 * within a time limit (LHC-Forms 38 stops responding on a `!=` condition on a coded answer inside a group
 * with its own enableWhen: the served content has none) and show the items that apply, and only those.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse } from 'fhir/r4';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { loadContent } from '../../src/core/engine';
import { buildDtrContent } from '../../src/dtr/content';
import { CHROMIUM } from './harness';
import { lformsHostPage } from '../support/lforms-page';

jest.setTimeout(120_000);

/** The longest a render may take; LHC-Forms renders this form in well under a second here. */
const RENDER_LIMIT_MS = 15_000;
const LFORMS_DIR = path.join(path.dirname(require.resolve('lforms/package.json')), 'dist', 'lforms');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.map': 'application/json' };

const PAGE = lformsHostPage('/lforms');

let server: http.Server;
let base: string;
let browser: Browser;
let questionnaire: Questionnaire;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: the browser tests need it and do not skip.`);
  const config = loadConfig({ PUBLIC_BASE_URL: 'http://payer.test', LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv);
  questionnaire = buildDtrContent(loadContent(), config.publicBaseUrl, { kineretNonPreferred: config.kineretNonPreferred }).questionnaire;
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
      return;
    }
    const file = path.join(LFORMS_DIR, path.normalize(url.pathname.replace(/^\/lforms\//, '')));
    if (!url.pathname.startsWith('/lforms/') || !file.startsWith(LFORMS_DIR) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

function all(items: QuestionnaireItem[] | undefined): QuestionnaireItem[] {
  return (items ?? []).flatMap((i) => [i, ...all(i.item)]);
}

/** A response answering the request type and the indication, as a DTR client starts one. */
function responseFor(q: Questionnaire, indication: string, requestType: string): QuestionnaireResponse {
  const items = all(q.item);
  const coding = (linkId: string, code: string) => items.find((i) => i.linkId === linkId)!.answerOption!.find((o) => o.valueCoding?.code === code)!.valueCoding!;
  return {
    resourceType: 'QuestionnaireResponse', status: 'in-progress', questionnaire: `${q.url}|${q.version}`,
    item: [{ linkId: 'request', item: [
      { linkId: 'request-type', answer: [{ valueCoding: coding('request-type', requestType) }] },
      { linkId: 'indication', answer: [{ valueCoding: coding('indication', indication) }] },
    ] }],
  };
}

/** Renders in a fresh page; resolves with the linkIds LHC-Forms shows, or fails when the page stops responding. */
async function render(q: Questionnaire, qr: QuestionnaireResponse): Promise<{ shown: string[]; ms: number }> {
  const page: Page = await browser.newPage();
  try {
    await page.goto(base);
    await page.waitForFunction('window.LForms && window.LForms.Util && "convertFHIRQuestionnaireToLForms" in window.LForms.Util', undefined, { timeout: 30_000 });
    const rendering = page.evaluate(`(async () => {
      const started = performance.now();
      const util = window.LForms.Util;
      const form = util.mergeFHIRDataIntoLForms(${JSON.stringify(qr)}, util.convertFHIRQuestionnaireToLForms(${JSON.stringify(q)}, 'R4'), 'R4');
      await util.addFormToPage(form, document.getElementById('form'));
      await new Promise((r) => setTimeout(r, 50));
      const shown = [...document.querySelectorAll('lhc-item')].map((e) => (e.id || '').replace(/^item-/, '').split('/')[0]).filter(Boolean);
      return { shown: [...new Set(shown)], ms: performance.now() - started };
    })()`) as Promise<{ shown: string[]; ms: number }>;
    const limit = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`LHC-Forms did not finish rendering within ${RENDER_LIMIT_MS} ms`)), RENDER_LIMIT_MS));
    return await Promise.race([rendering, limit]);
  } finally {
    await page.close({ runBeforeUnload: false }).catch(() => undefined);
  }
}

/** The items of each indication's initial criteria (its documentation included). */
const INDICATION_ITEMS: Record<string, string[]> = {
  RA: ['ra-moderate-severe', 'ra-mtx-current', 'ra-other-dmard-3-months', 'ra-diagnosis-doc', 'ra-baseline-doc'],
  CAPS: ['caps-subtype', 'nlrp3-mutation', 'functional-impairment', 'caps-diagnosis-doc', 'caps-confirmation-doc', 'caps-baseline-doc'],
  SJIA: ['sjia-adequate-trial', 'sjia-first-line-failure', 'sjia-step-therapy-doc', 'sjia-baseline-doc'],
  PJIA: ['pjia-adequate-trial', 'pjia-first-line-failure', 'pjia-step-therapy-doc', 'pjia-baseline-doc'],
  DIRA: ['dira-diagnosis', 'il1rn-mutation', 'dira-confirmation-doc', 'dira-baseline-doc'],
  MISC: ['misc-under-21', 'misc-refractory', 'misc-sars-cov-2', 'misc-diagnosis-doc'],
  OTHER: ['off-label-notice'],
};
const CONTINUATION_ITEMS = ['adherence-85', 'no-intolerable-toxicity', 'positive-response', 'infection-monitoring'];
const INDICATION_ONLY = [...new Set(Object.values(INDICATION_ITEMS).flat())].filter((i) => i !== 'off-label-notice');

describe('the served Questionnaire in LHC-Forms', () => {
  it('has no != condition, no conditional item a disabled group could hide while it is enabled, single-identifier CQL', () => {
    const items = all(questionnaire.item);
    expect(items.flatMap((i) => i.enableWhen ?? []).filter((w) => w.operator === '!=')).toEqual([]);
    // LHC-Forms 38 stops responding when an item's enableWhen holds while an enclosing group's does not (a != on a
    // coded answer is the common case): every conditional item inside a conditional group repeats the group's
    // conditions ('all'), so it can never be enabled while the group is not.
    const violations: string[] = [];
    const visit = (list: QuestionnaireItem[] | undefined, ancestors: QuestionnaireItem[]) => {
      for (const i of list ?? []) {
        if (i.enableWhen?.length) {
          for (const a of ancestors) {
            const implied = i.enableBehavior !== 'any' && (a.enableBehavior === 'any' && a.enableWhen!.length > 1
              ? false : a.enableWhen!.every((c) => i.enableWhen!.some((d) => JSON.stringify(d) === JSON.stringify(c))));
            if (!implied) violations.push(`${i.linkId} in ${a.linkId}`);
          }
        }
        visit(i.item, i.enableWhen?.length ? [...ancestors, i] : ancestors);
      }
    };
    visit(questionnaire.item, []);
    expect(violations).toEqual([]);
    const expressions = items.flatMap((i) => (i.extension ?? []).map((e) => e.valueExpression?.expression).filter(Boolean));
    expect(expressions.length).toBeGreaterThan(15);
    for (const e of expressions) expect(e).toMatch(/^"KineretPrefill"\.[A-Za-z][A-Za-z0-9]*$/);
  });

  const cases = Object.keys(INDICATION_ITEMS).flatMap((indication) => ['initial', 'continuation'].map((type) => [indication, type] as const));
  it.each(cases)('%s, %s request: renders in time and shows what applies', async (indication, requestType) => {
    const { shown, ms } = await render(questionnaire, responseFor(questionnaire, indication, requestType));
    expect(ms).toBeLessThan(RENDER_LIMIT_MS);
    expect(shown).toEqual(expect.arrayContaining(['request-type', 'indication', 'no-concurrent-biologic', 'route-subcutaneous', 'prescriber-specialty', 'weight-kg']));
    const own = INDICATION_ITEMS[indication];
    if (requestType === 'initial') {
      expect(shown).toEqual(expect.arrayContaining(own));
      expect(shown).not.toContain('adherence-85');
    } else {
      expect(shown).toEqual(expect.arrayContaining(CONTINUATION_ITEMS));
    }
    // Another indication's items never, and the indication's own only on an initial request.
    for (const item of INDICATION_ONLY) {
      const expected = requestType === 'initial' && own.includes(item);
      expect({ item, shown: shown.includes(item) }).toEqual({ item, shown: expected });
    }
    // Dosing items that apply to one indication only.
    expect(shown.includes('quantity-per-28-days')).toBe(indication === 'RA');
    expect(shown.includes('sjia-no-response')).toBe(indication === 'SJIA');
    // This plan lists Kineret as preferred: no non-formulary item is served.
    expect(shown).not.toContain('preferred-alternatives-tried');
  });
});
