/**
 * What a clinician does on the two pages, as steps: the sandbox EHR page (pick a patient, sign the
 * draft order, read the cards, launch the app from the card) and the DTR app (answer, attach, save,
 * submit, read the plan's answer). LHC-Forms renders each item as <lhc-item id="item-{linkId}/1/...">
 * and each answer of a boolean or choice item as <label id="{linkId}/1/...|{system|}{code or true/false}">.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { Answer } from '../../src/core/types';
import type { ScenarioFile } from '../corpus';

/** How long the app may take from the click on the card's link to a form ready to fill (it takes a few seconds). */
export const FORM_READY_LIMIT_MS = 30_000;

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

export interface Launched {
  app: Page;
  /** From the click on the card's link to the app's form ready (or its stop screen). */
  readyMs: number;
}

/** Clicks the card's SMART link and returns the app's tab once the form is ready (or failed to open), with the time it took. */
export async function launchFromCard(context: BrowserContext, page: Page): Promise<Launched> {
  const started = Date.now();
  const [app] = await Promise.all([context.waitForEvent('page'), page.click('[data-testid=smart-link]')]);
  await app.waitForSelector('body[data-ready]', { timeout: FORM_READY_LIMIT_MS });
  return { app, readyMs: Date.now() - started };
}

/** Opens the app as the EHR would for this launch context, without a card (the sandbox registers the launch). */
export async function launchDirectly(context: BrowserContext, base: string, launch: { patientId: string; orderId: string; appContext: string }): Promise<Page> {
  const res = await fetch(`${base}/sandbox/api/launch`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...launch, url: `${base}/dtr/launch` }),
  });
  if (!res.ok) throw new Error(`the sandbox refused the launch: HTTP ${res.status} ${await res.text()}`);
  const { url } = (await res.json()) as { url: string };
  const app = await context.newPage();
  await app.goto(url);
  await app.waitForSelector('body[data-ready]', { timeout: FORM_READY_LIMIT_MS });
  return app;
}

export function item(app: Page, linkId: string) {
  return app.locator(`lhc-item[id^="item-${linkId}/"]`).first();
}

export async function answerBoolean(app: Page, linkId: string, value: boolean): Promise<void> {
  await app.locator(`label[id^="${linkId}/"][id$="|${value}"]`).first().click();
}

/** Chooses an answer option of a choice item (radio button or check box) by its code. */
export async function answerCode(app: Page, linkId: string, code: string): Promise<void> {
  await app.locator(`label[id^="${linkId}/"][id$="|${code}"]`).first().click();
}

/** Types into the item's text box; for a documentation group, its summary. */
export async function answerText(app: Page, linkId: string, text: string): Promise<void> {
  await item(app, linkId).locator('textarea, input[type=text]').first().fill(text);
}

export async function answerNumber(app: Page, linkId: string, value: number): Promise<void> {
  const input = item(app, linkId).locator('input').first();
  await input.fill(String(value));
  await input.press('Tab');
}

export async function attach(app: Page, linkId: string, name: string, text: string): Promise<void> {
  await item(app, linkId).locator('input[type=file]').first().setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
}

/** Gives a corpus scenario's scripted answer through the form, as a clinician would. */
export async function answerScripted(app: Page, a: Answer): Promise<void> {
  if (typeof a.valueBoolean === 'boolean') return answerBoolean(app, a.linkId, a.valueBoolean);
  if (typeof a.valueString === 'string') return answerText(app, a.linkId, a.valueString);
  if (typeof a.valueDecimal === 'number') return answerNumber(app, a.linkId, a.valueDecimal);
  if (Array.isArray(a.valueCodes)) {
    for (const code of a.valueCodes as string[]) await answerCode(app, a.linkId, code);
    return;
  }
  if (typeof a.valueCode === 'string') return answerCode(app, a.linkId, a.valueCode);
  if (a.hasAttachment) return attach(app, a.linkId, `${a.linkId}.txt`, `Documentation for ${a.linkId}`);
  throw new Error(`no way to give the scripted answer ${JSON.stringify(a)}`);
}

/** linkId -> origin shown on the item's mark (auto, override, manual, problem). */
export async function marks(app: Page): Promise<Record<string, string>> {
  // Runs in the page; typed structurally because the tests compile without the DOM library.
  const pairs = await app.locator('.dtr-origin').evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
    els.map((e) => [e.getAttribute('data-link-id') ?? '', e.getAttribute('data-origin') ?? '']));
  return Object.fromEntries(pairs);
}

/**
 * Polls `read` until `ok` holds (page.waitForFunction evaluates its predicate as a string, which the app's
 * Content-Security-Policy forbids; page.evaluate of a function is not affected).
 */
export async function waitUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() - started > timeoutMs) throw Object.assign(new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`), { value });
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether the app has evaluated the current answers ("current") or is evaluating them, and the items it marks Needed. */
export async function needsState(app: Page): Promise<{ state: string; needed: string[] }> {
  return app.evaluate(() => {
    const d = (globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> }; querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> } }).document;
    return { state: d.body.dataset.needs ?? '', needed: Array.from(d.querySelectorAll('.dtr-needed-mark')).map((e) => e.getAttribute('data-link-id') ?? '') };
  });
}

/** Waits until the app has evaluated the answers given so far (the marks are current). */
export async function settled(app: Page): Promise<string[]> {
  // The app hears about an answer after a short debounce: give it time to start.
  await app.waitForTimeout(400);
  return (await waitUntil(() => needsState(app), (v) => v.state === 'current', 30_000)).needed;
}

/** The linkIds marked Needed. */
export async function needed(app: Page): Promise<string[]> {
  return app.locator('.dtr-needed-mark').evaluateAll((els: { getAttribute(name: string): string | null }[]) => els.map((e) => e.getAttribute('data-link-id') ?? ''));
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

export interface Submitted {
  /** The decision code the payer sent (approved, pended...). */
  decision: string;
  /** How the app shows it: approved, not-met, missing or review. */
  outcome: string;
  headline: string;
  /** The questions the app listed as unanswered before submitting (empty when it did not ask). */
  unanswered: string[];
}

/** Submits; when the app lists unanswered questions first, submits anyway. */
export async function submit(app: Page): Promise<Submitted> {
  await app.click('#submit');
  const asked = await Promise.race([
    app.waitForSelector('[data-testid=decision]', { timeout: 30_000 }).then(() => false),
    app.waitForSelector('[data-testid=unanswered]', { timeout: 30_000 }).then(() => true),
  ]);
  let unanswered: string[] = [];
  if (asked) {
    unanswered = await app.locator('[data-testid=unanswered] a[data-link-id]').evaluateAll((els: { getAttribute(n: string): string | null }[]) => els.map((e) => e.getAttribute('data-link-id') ?? ''));
    await app.click('[data-testid=submit-anyway]');
    await app.waitForSelector('[data-testid=decision]', { timeout: 30_000 });
  }
  const decision = app.locator('[data-testid=decision]');
  return {
    decision: (await decision.getAttribute('data-decision')) ?? '',
    outcome: (await decision.getAttribute('data-outcome')) ?? '',
    headline: ((await decision.textContent()) ?? '').trim(),
    unanswered,
  };
}

/** The determination's criteria: code -> status code (met, not-met, unknown). */
export async function criteria(app: Page): Promise<Record<string, string>> {
  const rows = await app.locator('[data-testid=criteria] tbody tr').evaluateAll((trs: { getAttribute(name: string): string | null; children: ArrayLike<{ getAttribute(name: string): string | null }> }[]) =>
    trs.map((tr) => [tr.getAttribute('data-code') ?? '', tr.children[1].getAttribute('data-status') ?? '']));
  return Object.fromEntries(rows);
}

/** The Patient id of a corpus scenario (the sandbox keeps it). */
export function patientOf(s: ScenarioFile): string {
  const patient = (s.bundle.entry ?? []).map((e) => e.resource).find((r) => r?.resourceType === 'Patient');
  if (!patient?.id) throw new Error(`${s.name} has no Patient`);
  return patient.id;
}
