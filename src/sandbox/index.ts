/**
 * The embedded sandbox EHR (DEVELOPMENT ONLY, on unless SANDBOX=off): a CDS client identity, an
 * in-memory FHIR server seeded with the scenario corpus, a SMART authorization server for EHR
 * launch, and the EHR-side actions the sandbox page uses. Created once at start-up.
 */
import type { Config } from '../config';
import { today, type Clock } from '../core/clock';
import type { ServiceDefinition } from '../crd/types';
import { DTR_APP_SCOPES, DTR_LAUNCH_PATH } from '../constants';
import { SCENARIO_DIR } from '../paths';
import type { ClientRegistry } from '../security/registry';
import { NO_PASSWORD, ReviewerRegistry, type Reviewer } from '../pas/reviewers';
import { SandboxAuthServer, type SandboxApp } from './auth';
import { loadCorpus } from './corpus';
import { SandboxEhr } from './ehr';
import { SandboxFhirServer } from './fhir-server';
import { registerSandboxIdentity, type SandboxIdentity } from './identity';

export const SANDBOX_FHIR_PATH = '/sandbox/fhir';
export const SANDBOX_AUTH_PATH = '/sandbox/auth';

/** The development reviewer (signs in through /sandbox/reviewer-login only; no password). */
export const DEV_REVIEWER = {
  id: 'dev-reviewer',
  name: 'Dev Reviewer, MD (sandbox)',
  npi: '1234567893',
  specialty: { system: 'http://nucc.org/provider-taxonomy', code: '207RR0500X', display: 'Internal Medicine / Rheumatology' },
  roles: ['reviewer', 'adverse-determinations'],
} as const;

export interface Sandbox {
  identity: SandboxIdentity;
  /** The development reviewer of the workbench. */
  reviewer: Reviewer;
  auth: SandboxAuthServer;
  fhir: SandboxFhirServer;
  ehr: SandboxEhr;
}

export async function createSandbox(config: Config, registry: ClientRegistry, services: ServiceDefinition[], clock: Clock, reviewers: ReviewerRegistry = new ReviewerRegistry()): Promise<Sandbox> {
  if (!config.sandbox) throw new Error('the sandbox EHR is development-only and does not start with SANDBOX=off');
  // Production never reads the test fixtures the sandbox is seeded with.
  if (config.production) throw new Error('the sandbox EHR is development-only and does not start with NODE_ENV=production');
  const base = config.publicBaseUrl;
  const fhirBase = `${base}${SANDBOX_FHIR_PATH}`;
  const authBase = `${base}${SANDBOX_AUTH_PATH}`;
  const identity = await registerSandboxIdentity(registry, base, clock);
  const dtrApp: SandboxApp = { clientId: config.dtrClientId, redirectPrefixes: [`${base}/dtr/`], scopes: DTR_APP_SCOPES };
  const auth = await SandboxAuthServer.create({ sandbox: config.sandbox, fhirBase, authBase, apps: [dtrApp], clock });
  // The sandbox launches the hosted DTR app like any registered EHR: the app's payer session is opened from its
  // id_tokens (src/security/dtr-session.ts), and its order-sign calls (as CDS client identity.iss) hold the orders.
  registry.addDtrAppEhr({ fhirBase, issuer: authBase, jwks: auth.jwks, algorithms: ['ES256'], clientId: config.dtrClientId, cdsIss: identity.iss });
  const corpus = loadCorpus(SCENARIO_DIR, today(clock));
  const fhir = await SandboxFhirServer.create({ base: fhirBase, authorizeUrl: auth.authorizeEndpoint, tokenUrl: auth.tokenEndpoint, resources: corpus.resources, startedOn: today(clock) });
  const ehr = new SandboxEhr({
    identity, auth, fhir, scenarios: corpus.scenarios, publicBaseUrl: base, services, appLaunchUrls: [`${base}${DTR_LAUNCH_PATH}`], today: () => today(clock),
  });
  const reviewer = reviewers.get(DEV_REVIEWER.id) ?? reviewers.add({ ...DEV_REVIEWER, roles: [...DEV_REVIEWER.roles], specialty: { ...DEV_REVIEWER.specialty }, passwordHash: NO_PASSWORD });
  return { identity, reviewer, auth, fhir, ehr };
}
