/**
 * The world of the compatibility runs (README, "Compatibility"): this service on 127.0.0.1:3000, an open EHR FHIR
 * server on 127.0.0.1:8080 seeded with the scenario corpus (reads without a token, as the clients' usual test EHRs;
 * a SMART authorization server for launches; the HSPC `_services/smart/Launch` endpoint the clients call to launch
 * a card's SMART link), and the public clients served from their own builds under COMPAT_DIR. Not part of npm test:
 * the clients are other projects, fetched and built by hand (see the README).
 */
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp, createServices, type Services } from '../../src/app';
import { loadConfig } from '../../src/config';
import { today, systemClock } from '../../src/core/clock';
import { SCENARIO_DIR } from '../../src/paths';
import { SandboxAuthServer, type SandboxGrant } from '../../src/sandbox/auth';
import { loadCorpus } from '../../src/sandbox/corpus';
import { SandboxFhirServer } from '../../src/sandbox/fhir-server';

export const COMPAT_DIR = path.resolve(process.env.COMPAT_DIR ?? 'compat-clients');
export const SERVICE = 'http://127.0.0.1:3000';
export const EHR = 'http://127.0.0.1:8080/fhir';
const EHR_AUTH = 'http://127.0.0.1:8080/auth';
/** The open EHR reads for anyone, whatever a token's scopes. */
const OPEN: SandboxGrant = { clientId: 'open', scopes: ['system/*.cruds'], patient: null, user: null, expiresAt: Infinity };

function listen(app: http.RequestListener, port: number): Promise<http.Server> {
  const server = http.createServer(app);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

export interface World {
  services: Services;
  ehrAuth: SandboxAuthServer;
  browser: Browser;
  /** Serves a folder (and extra routes) on a loopback port. */
  serve(port: number, dir: string, extra?: (app: express.Express) => void): Promise<void>;
  /** Starts a client's own server as a child process. */
  spawn(cmd: string, args: string[], cwd: string, env: Record<string, string>): ChildProcess;
  /** A page that can reach the loopback only, logging this service's traffic into `log`. */
  page(log: string[]): Promise<Page>;
  close(): Promise<void>;
}

export async function startWorld(opts: { auth: 'on' | 'off'; trust?: (services: Services) => void }): Promise<World> {
  const config = loadConfig({ PUBLIC_BASE_URL: SERVICE, SANDBOX: 'on', AUTH: opts.auth, DATABASE_URL: ':memory:', LOG_LEVEL: 'warn', HOOK_BUDGET_MS: '15000' } as NodeJS.ProcessEnv);
  const services = await createServices(config);
  opts.trust?.(services);
  const servers = [await listen(createApp(services), 3000)];
  const children: ChildProcess[] = [];

  const ehrAuth = await SandboxAuthServer.create({
    sandbox: true, fhirBase: EHR, authBase: EHR_AUTH,
    apps: [
      // The Da Vinci DTR app (its default client id) and the app hosted here.
      { clientId: 'app-login', redirectPrefixes: ['http://127.0.0.1:3005/'], scopes: ['launch', 'openid', 'fhirUser', 'patient/*.rs', 'user/*.rs', 'patient/*.cruds', 'user/*.cruds'] },
      { clientId: config.dtrClientId, redirectPrefixes: [`${SERVICE}/dtr/`], scopes: ['launch', 'openid', 'fhirUser', 'patient/*.rs', 'patient/QuestionnaireResponse.cru'] },
    ],
  });
  services.registry.addDtrAppEhr({ fhirBase: EHR, issuer: EHR_AUTH, jwks: ehrAuth.jwks, algorithms: ['ES256'], clientId: config.dtrClientId });
  const day = today(systemClock);
  const corpus = loadCorpus(SCENARIO_DIR, day);
  const fhir = await SandboxFhirServer.create({ base: EHR, authorizeUrl: `${EHR_AUTH}/authorize`, tokenUrl: `${EHR_AUTH}/token`, resources: corpus.resources, startedOn: day });
  const ehr = express();
  ehr.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, Prefer');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, OPTIONS');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });
  ehr.get('/fhir/.well-known/smart-configuration', (_req, res) => res.json(ehrAuth.configuration()));
  ehr.get('/auth/authorize', (req, res) => {
    try {
      res.redirect(302, ehrAuth.authorize(Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)]))));
    } catch (e) {
      res.status(400).send((e as Error).message);
    }
  });
  ehr.post('/auth/token', express.urlencoded({ extended: false }), async (req, res) => {
    try {
      res.json(await ehrAuth.token(req.body as Record<string, unknown>));
    } catch (e) {
      res.status(400).json({ error: (e as Error).message });
    }
  });
  ehr.post('/fhir/_services/smart/Launch', express.json(), (req, res) => {
    const p = ((req.body as { parameters?: { patient?: string; appContext?: string } }).parameters ?? {});
    const context = new URLSearchParams(p.appContext ?? '');
    const fhirContext = ['order', 'coverage'].map((k) => context.get(k)).filter((r): r is string => Boolean(r)).map((reference) => ({ reference }));
    const patient = String(p.patient ?? '');
    res.json({ launch_id: ehrAuth.createLaunch({ patient, user: `Practitioner/${patient}-dr-rheum`, appContext: p.appContext, fhirContext }) });
  });
  ehr.get('/fhir/metadata', (_req, res) => {
    const statement = fhir.capabilityStatement();
    // COMPAT_BARE_METADATA=1: an EHR that does not list its resource types (fhirclient's patient searches then fail).
    if (process.env.COMPAT_BARE_METADATA === '1') delete statement.rest![0].resource;
    res.type('application/fhir+json').send(JSON.stringify(statement));
  });
  ehr.use('/fhir', express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }), async (req, res) => {
    // Open: a token from a launch is accepted but, as on the clients' usual test EHRs, neither required nor narrowing.
    const result = await fhir.handle(req.method, req.url, req.body, OPEN);
    if (result.location) res.setHeader('Location', result.location);
    res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
  });
  servers.push(await listen(ehr, 8080));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

  return {
    services, ehrAuth, browser,
    serve: async (port, dir, extra) => {
      const app = express();
      extra?.(app);
      app.use(express.static(dir));
      servers.push(await listen(app, port));
    },
    spawn: (cmd, args, cwd, env) => {
      const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: 'ignore' });
      children.push(child);
      return child;
    },
    page: async (log) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      // Offline: nothing outside the loopback (routes registered later are matched first).
      await page.route(/^https?:\/\/(?!127\.0\.0\.1)/, (r) => r.abort());
      page.on('request', (r) => {
        if (r.url().startsWith(SERVICE)) log.push(`-> ${r.method()} ${r.url().slice(SERVICE.length)} ${r.headers().authorization ? 'with a bearer token' : 'without a token'}`);
      });
      page.on('response', async (r) => {
        if (r.url().startsWith(SERVICE)) log.push(`<- ${r.status()} ${r.url().slice(SERVICE.length)} ${(await r.text().catch(() => '')).slice(0, 160).replace(/\s+/g, ' ')}`);
      });
      page.on('pageerror', (e) => log.push(`page error: ${e.message.slice(0, 200)}`));
      return page;
    },
    close: async () => {
      for (const c of children) c.kill('SIGTERM');
      await browser.close();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await services.store.close();
    },
  };
}

/** Whether a page still runs script: a tab frozen in a loop does not answer. */
export async function responsive(page: Page, ms = 5000): Promise<boolean> {
  return Promise.race([page.evaluate(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}
