/**
 * The Questionnaire this service serves (GET /fhir/Questionnaire/kineret-pa) as the DTR app hands it
 * to LHC-Forms (web/dtr/render-hints.ts), rendered by the LHC-Forms the app serves (/dtr/vendor/lforms)
 * for every request type and every indication it offers, each within a time limit: an LHC-Forms
 * skip-logic loop (issue 16: continuation requests froze the tab) fails here in seconds instead of
 * hanging a journey. Each rendering shows the groups that apply and hides the others, headings
 * included. (test/browser/lhc-forms.test.ts renders the served content unchanged, as other
 * LHC-Forms clients do.)
 */
import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse } from 'fhir/r4';
import type { Page } from 'playwright-core';
import { forRendering } from '../../web/dtr/render-hints';
import { journey, startHarness, type Harness } from './harness';
import { lformsHostPage } from '../support/lforms-page';

jest.setTimeout(120_000);

/** A rendering that takes longer than this is a hang (it takes well under a second). */
const RENDER_LIMIT_MS = 10_000;

const HOST_PAGE = lformsHostPage('/dtr/vendor/lforms');

let h: Harness;
let questionnaire: Questionnaire;

beforeAll(async () => {
  h = await startHarness();
  const token = await (await fetch(`${h.base}/sandbox/dtr-token`)).text();
  const res = await fetch(`${h.base}/fhir/Questionnaire/kineret-pa`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' } });
  expect(res.status).toBe(200);
  questionnaire = forRendering((await res.json()) as Questionnaire);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function find(items: QuestionnaireItem[] | undefined, linkId: string): QuestionnaireItem | undefined {
  for (const i of items ?? []) {
    if (i.linkId === linkId) return i;
    const inner = find(i.item, linkId);
    if (inner) return inner;
  }
  return undefined;
}

function options(linkId: string): { system?: string; code: string }[] {
  return (find(questionnaire.item, linkId)?.answerOption ?? []).map((o) => ({ system: o.valueCoding?.system, code: o.valueCoding!.code! }));
}

/** Renders the Questionnaire with these answers; returns the linkIds LHC-Forms shows, or throws after the limit. */
async function render(page: Page, answers: { requestType?: { system?: string; code: string }; indication?: { system?: string; code: string } }): Promise<Set<string>> {
  const request = [
    ...(answers.requestType ? [{ linkId: 'request-type', answer: [{ valueCoding: answers.requestType }] }] : []),
    ...(answers.indication ? [{ linkId: 'indication', answer: [{ valueCoding: answers.indication }] }] : []),
  ];
  const response: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'in-progress', item: request.length ? [{ linkId: 'request', item: request }] : [] };
  // Runs in the page; typed structurally because the tests compile without the DOM library.
  const rendering = page.evaluate(async ([q, qr]) => {
    interface Util {
      convertFHIRQuestionnaireToLForms(q: unknown, v: string): unknown;
      mergeFHIRDataIntoLForms(qr: unknown, form: unknown, v: string): unknown;
      addFormToPage(form: unknown, container: unknown, options: unknown): Promise<void>;
    }
    const g = globalThis as unknown as { LForms: { Util: Util }; document: { getElementById(id: string): unknown; querySelectorAll(s: string): ArrayLike<{ id: string }> } };
    const util = g.LForms.Util;
    const form = util.convertFHIRQuestionnaireToLForms(q, 'R4');
    const merged = qr.item?.length ? util.mergeFHIRDataIntoLForms(qr, form, 'R4') : form;
    await util.addFormToPage(merged, g.document.getElementById('form'), { prepopulate: false });
    return Array.from(g.document.querySelectorAll('lhc-item[id^="item-"]')).map((e) => e.id.slice('item-'.length).replace(/(\/\d+)+$/, ''));
  }, [questionnaire, response] as const);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`LHC-Forms did not finish rendering within ${RENDER_LIMIT_MS} ms (a skip-logic loop?)`)), RENDER_LIMIT_MS);
  });
  try {
    return new Set(await Promise.race([rendering, limit]));
  } finally {
    clearTimeout(timer);
  }
}

async function hostPage(context: import('playwright-core').BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.route('**/dtr/render-check.html', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: HOST_PAGE }));
  await page.goto(`${h.base}/dtr/render-check.html`);
  await page.waitForFunction('Boolean(window.LForms && window.LForms.Util && window.LForms.Util.convertFHIRQuestionnaireToLForms)', null, { timeout: 30_000 });
  return page;
}

test('the served Questionnaire renders with nothing answered yet', async () => {
  await journey(h, 'render-empty', async (context) => {
    const shown = await render(await hostPage(context), {});
    expect(shown.has('request-type')).toBe(true);
    expect(shown.has('continuation')).toBe(false);
  });
});

test('the served Questionnaire renders for every request type and indication, each showing what applies', async () => {
  const requestTypes = options('request-type');
  const indications = options('indication');
  expect(requestTypes.map((o) => o.code)).toEqual(['initial', 'continuation']);
  expect(indications.length).toBeGreaterThanOrEqual(6);
  await journey(h, 'render-all', async (context) => {
    // One page: each rendering replaces the last (a hang fails the test at the combination that hangs).
    const page = await hostPage(context);
    for (const requestType of requestTypes) {
      for (const indication of indications) {
        const shown = await render(page, { requestType, indication }).catch((e: Error) => {
          throw new Error(`${requestType.code} ${indication.code}: ${e.message}`);
        });
        const label = `${requestType.code} ${indication.code}`;
        expect(`${label}: continuation ${shown.has('continuation')}`).toBe(`${label}: continuation ${requestType.code === 'continuation'}`);
        expect(`${label}: indication criteria ${shown.has('indication-criteria')}`).toBe(`${label}: indication criteria ${requestType.code === 'initial'}`);
        const group = { RA: 'ra', CAPS: 'caps', SJIA: 'sjia', PJIA: 'pjia', DIRA: 'dira', MISC: 'misc' }[indication.code];
        if (group) expect(`${label}: ${group} ${shown.has(group)}`).toBe(`${label}: ${group} ${requestType.code === 'initial'}`);
      }
    }
  });
});
