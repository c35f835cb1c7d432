/**
 * What a clinician does on the two pages, as steps: the sandbox EHR page (pick a patient, sign the
 * draft order, read the cards, launch the app from the card) and the DTR app (answer, attach, save,
 * submit). LHC-Forms renders each item as <lhc-item id="item-{linkId}/1/..."> and a boolean answer
 * as <label id="{linkId}/1/...|true">.
 */
import type { BrowserContext, Page } from 'playwright-core';

export async function openSandbox(context: BrowserContext, base: string): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** Picks the patient, signs their draft order, and waits for the cards. */
export async function signOrder(page: Page, patientId: string, opts: { prefetch: boolean }): Promise<string[]> {
  await page.click(`[data-patient="${patientId}"]`);
  await page.setChecked('#prefetch', opts.prefetch);
  await page.click('#sign');
  await page.waitForSelector('[data-testid=card]', { timeout: 30_000 });
  return page.locator('[data-testid=card] h3').allTextContents();
}

/** Clicks the card's SMART link and returns the app's tab once the form is ready (or failed to open). */
export async function launchFromCard(context: BrowserContext, page: Page): Promise<Page> {
  const [app] = await Promise.all([context.waitForEvent('page'), page.click('[data-testid=smart-link]')]);
  await app.waitForSelector('body[data-ready]', { timeout: 60_000 });
  return app;
}

export function item(app: Page, linkId: string) {
  return app.locator(`lhc-item[id^="item-${linkId}/"]`).first();
}

export async function answerBoolean(app: Page, linkId: string, value: boolean): Promise<void> {
  await app.locator(`label[id^="${linkId}/"][id$="|${value}"]`).first().click();
}

export async function answerText(app: Page, linkId: string, text: string): Promise<void> {
  await item(app, linkId).locator('textarea, input[type=text]').first().fill(text);
}

export async function answerNumber(app: Page, linkId: string, value: number): Promise<void> {
  const input = item(app, linkId).locator('input').first();
  await input.fill(String(value));
  await input.press('Tab');
}

export async function attach(app: Page, linkId: string, name: string, text: string): Promise<void> {
  await item(app, linkId).locator('input[type=file]').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
}

/** linkId -> origin shown on the item's mark (auto, override, manual, problem). */
export async function marks(app: Page): Promise<Record<string, string>> {
  // Runs in the page; typed structurally because the tests compile without the DOM library.
  const pairs = await app.locator('.dtr-origin').evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
    els.map((e) => [e.getAttribute('data-link-id') ?? '', e.getAttribute('data-origin') ?? '']));
  return Object.fromEntries(pairs);
}

export async function waitForMark(app: Page, linkId: string, origin: string): Promise<void> {
  await app.waitForSelector(`.dtr-origin[data-link-id="${linkId}"][data-origin="${origin}"]`, { timeout: 10_000 });
}

/** Saves to the EHR and returns the status line once the save is through. */
export async function save(app: Page): Promise<string> {
  await app.click('#save');
  await app.waitForSelector('#status:has-text("Saved to the EHR")', { timeout: 20_000 });
  return (await app.locator('#status').textContent()) ?? '';
}

export async function waitForError(app: Page, text: string): Promise<void> {
  await app.waitForSelector(`[data-testid=error]:has-text(${JSON.stringify(text)})`, { timeout: 20_000 });
}

export async function submit(app: Page): Promise<string> {
  await app.click('#submit');
  await app.waitForSelector('[data-testid=decision]', { timeout: 30_000 });
  return ((await app.locator('[data-testid=decision]').textContent()) ?? '').trim();
}

/** The determination table: criterion code -> status. */
export async function criteria(app: Page): Promise<Record<string, string>> {
  const rows = await app.locator('[data-testid=criteria] tbody tr').evaluateAll((trs: { getAttribute(name: string): string | null; children: ArrayLike<{ textContent: string | null }> }[]) =>
    trs.map((tr) => [tr.getAttribute('data-code') ?? '', (tr.children[1].textContent ?? '').trim()]));
  return Object.fromEntries(rows);
}
