/**
 * The browser tests' world: the service started in-process (createServices/createApp) on an
 * ephemeral loopback port with PUBLIC_BASE_URL set to it, sandbox and authentication ON, an
 * in-memory audit store; and Debian's Chromium driven by playwright-core (never a downloaded
 * browser). Each journey gets its own browser context (its own storage and tabs), so journeys can
 * run at the same time in one browser. A missing Chromium fails the tests loudly: they never skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createApp, createServices, type Services } from '../../src/app';
import { loadConfig } from '../../src/config';
import { ROOT } from '../../src/paths';

export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = path.join(ROOT, 'test-output');
/**
 * Where the journeys' screenshots of the sandbox journey go: test-output/screenshots (not tracked) on every run, so
 * that a journey that cannot be photographed fails; docs/screenshots (committed, shown in the README) only when asked,
 * with `npm run screenshots` (SCREENSHOTS=update).
 */
export const SCREENSHOT_DIR = process.env.SCREENSHOTS === 'update' ? path.join(ROOT, 'docs', 'screenshots') : path.join(OUTPUT_DIR, 'screenshots');

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Journeys run side by side in tabs of one browser: no tab is slowed down for being in the background.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

export interface Harness {
  base: string;
  services: Services;
  browser: Browser;
  /** A fresh browser context (its own storage, cookies and tabs) for one journey; its page errors are collected. */
  newContext(): Promise<JourneyContext>;
  close(): Promise<void>;
}

export interface JourneyContext {
  context: BrowserContext;
  /** Uncaught errors of any page of this context (a journey fails if its pages threw). */
  pageErrors: string[];
  /** What the pages logged as errors (shown when a journey fails). */
  consoleErrors: string[];
}

/** `env`: more settings of the service (e.g. DTR_FORM=adaptive, REVIEWERS_FILE). */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install it (apt-get install -y chromium). The browser tests need it and do not skip.`);
  }
  // The pages under test are the ones built from web/ now (skipped when up to date), never a stale bundle.
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, stdio: 'pipe' });

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The journeys run the service as deployed (evaluation in a worker thread). The service reads the sandbox over
  // loopback in this same process, beside a browser: generous query time limits, so that a loaded machine does not turn
  // a journey into "could not be determined" (slow servers are tested in test/crd).
  const config = loadConfig({
    PUBLIC_BASE_URL: base, SANDBOX: 'on', AUTH: 'on', DATABASE_URL: ':memory:', LOG_LEVEL: 'silent', EVAL_WORKERS: '1', FHIR_TIMEOUT_MS: '15000', HOOK_BUDGET_MS: '20000', ...env,
  } as NodeJS.ProcessEnv);
  const services = await createServices(config);
  server.on('request', createApp(services));

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];

  return {
    base,
    services,
    browser,
    newContext: async () => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      contexts.push(context);
      const pageErrors: string[] = [];
      const consoleErrors: string[] = [];
      context.on('page', (page: Page) => {
        page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error') consoleErrors.push(`${page.url().split('?')[0]}: ${m.text().slice(0, 500)}`);
        });
      });
      return { context, pageErrors, consoleErrors };
    },
    close: async () => {
      await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
      await browser.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.evaluator.close();
      await services.store.close();
    },
  };
}

/**
 * Runs one journey in a fresh context and closes it; on failure, every open page of the context is
 * saved as a screenshot in test-output/ before the error is rethrown. Uncaught page errors fail it.
 */
export async function journey(h: Harness, name: string, run: (context: BrowserContext) => Promise<void>): Promise<void> {
  const { context, pageErrors, consoleErrors } = await h.newContext();
  try {
    await run(context);
    if (pageErrors.length) throw new Error(`uncaught errors in the pages:\n${pageErrors.join('\n')}`);
  } catch (e) {
    if (consoleErrors.length && e instanceof Error) e.message += `\n\nThe pages logged:\n${consoleErrors.join('\n')}`;
    mkdirSync(OUTPUT_DIR, { recursive: true });
    for (const [i, page] of context.pages().entries()) {
      await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}-${i}.png`), fullPage: true, timeout: 5_000 }).catch(() => undefined);
    }
    throw e;
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** Saves a screenshot for the README (see SCREENSHOT_DIR): the viewport, or one element of the page. */
export async function screenshot(page: Page, name: string, element?: Locator): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // No blinking caret or animation: the same journey gives the same picture.
  if (element) await element.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  else await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
}
