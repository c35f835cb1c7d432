/**
 * The browser tests' world: the service started in-process (createServices/createApp) on an
 * ephemeral loopback port with PUBLIC_BASE_URL set to it, sandbox and authentication ON, an
 * in-memory audit store; and Debian's Chromium driven by playwright-core (never a downloaded
 * browser) with a fresh profile. A missing Chromium fails the tests loudly: they never skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createApp, createServices, type Services } from '../../src/app';
import { loadConfig } from '../../src/config';
import { ROOT } from '../../src/paths';

export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = path.join(ROOT, 'test-output');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Harness {
  base: string;
  services: Services;
  context: BrowserContext;
  /** Uncaught errors of any page (a journey fails if its pages threw). */
  pageErrors: string[];
  close(): Promise<void>;
}

/** `env`: more settings of the service (e.g. DTR_FORM=adaptive, REVIEWERS_FILE). */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install it (apt-get install -y chromium). The browser tests need it and do not skip.`);
  }
  // The pages under test are the ones built from web/ now (about a second), never a stale bundle.
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

  const profile = mkdtempSync(path.join(os.tmpdir(), 'kineret-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  const pageErrors: string[] = [];
  const watch = (page: Page) => page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  context.pages().forEach(watch);
  context.on('page', watch);

  return {
    base,
    services,
    context,
    pageErrors,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.evaluator.close();
      await services.store.close();
    },
  };
}

/** Runs a journey; on failure, every open page is saved as a screenshot in test-output/ before the error is rethrown. */
export async function withScreenshots(h: Harness, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const pages = h.context.pages();
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}-${i}.png`), fullPage: true }).catch(() => undefined);
    }
    throw e;
  }
}
