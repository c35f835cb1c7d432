/**
 * Configuration: one typed object read from the environment, with embedded defaults so that
 * `npm start` works on a fresh machine.
 */
import { availableParallelism } from 'node:os';

export interface Config {
  port: number;
  /** Public base URL of this service (JWT `aud`, canonical URLs, links in cards). */
  publicBaseUrl: string;
  /** Name of the health plan shown as the card source. */
  payerName: string;
  /** Whether Kineret is a non-formulary/non-preferred product on the plan (policy criterion ALL-3). */
  kineretNonPreferred: boolean;
  /** Total time budget for answering a hook, including FHIR queries (ms). */
  hookBudgetMs: number;
  /** Time limit for one FHIR query page (ms). */
  fhirTimeoutMs: number;
  /** Maximum pages followed per FHIR search. */
  fhirMaxPages: number;
  /** Maximum accepted size of a FHIR response (bytes). */
  fhirMaxResponseBytes: number;
  /** Maximum request body size (bytes). */
  bodyLimitBytes: number;
  /** Origins allowed for browser CORS requests ('*' for any). */
  corsOrigins: string[] | '*';
  /** NODE_ENV=production: the sandbox (a development convenience) refuses to start. */
  production: boolean;
  /** Client authentication (CDS Hooks JWTs, SMART Backend Services on /fhir): AUTH=on (default) or off. */
  auth: boolean;
  /** JSON registry of trusted CDS and DTR clients (TRUSTED_CLIENTS_FILE). */
  trustedClientsFile: string | undefined;
  /** The plan's clinical reviewers with their password hashes and roles (REVIEWERS_FILE; see src/pas/reviewers.ts). */
  reviewersFile: string | undefined;
  /** The embedded sandbox EHR (development only): SANDBOX=on (default outside production) or off; on is refused in production. */
  sandbox: boolean;
  /** The SMART client id of the DTR app served at /dtr (as registered with the EHR that launches it). */
  dtrClientId: string;
  /** DTR_FORM: the form the hosted DTR app asks for, `standard` or `adaptive` ($next-question). */
  dtrForm: 'standard' | 'adaptive';
  /** Audit store: a PostgreSQL URL, or a SQLite file path (default ./data/audit.sqlite; ':memory:' for tests). */
  databaseUrl: string;
  /** Outbound calls: allow plain http to loopback (development). Default true unless NODE_ENV=production. */
  allowInsecureLoopback: boolean;
  /** Outbound calls: allow private and link-local networks. */
  allowPrivateNetworks: boolean;
  /** Private JWK (JSON) that signs DTR access tokens; generated at start-up when absent (single instance only). */
  tokenSigningJwk: string | undefined;
  /** Lifetime of DTR access tokens (seconds). */
  accessTokenTtlSeconds: number;
  /**
   * Longest lifetime of a hosted DTR app session's payer token (seconds); never beyond the id_token of
   * the launch it came from. The app opens a new session with the same launch until then.
   */
  dtrSessionTtlSeconds: number;
  /** Clock skew tolerated when checking JWT times (seconds). */
  clockSkewSeconds: number;
  /** Longest lifetime (exp - iat) accepted on a CDS Hooks JWT (seconds). */
  cdsJwtMaxLifetimeSeconds: number;
  /**
   * CDS_JTI_REUSE: 'refuse' (default) refuses a CDS Hooks JWT whose jti was already used; 'allow'
   * (conformance runs only) accepts the same jti again from the same issuer for the same audience
   * while the first token is valid, and logs each reuse.
   */
  cdsJtiReuse: 'refuse' | 'allow';
  /** Largest number of draftOrders entries in one hook call (422 above). */
  maxDraftOrders: number;
  /** Largest number of FHIR resources in one request's patient data: a hook's prefetch, a DTR data Bundle (422 above). */
  maxPrefetchResources: number;
  /** Evaluation worker threads (EVAL_WORKERS; default the cores available). 0 evaluates on the event loop (tests, development; refused in production). */
  evalWorkers: number;
  /** Evaluations that may wait for a worker; more are refused with 503 and Retry-After. */
  evalQueueLimit: number;
  /** Longest time one evaluation may run, and a DTR operation's evaluation may take queue included (ms). */
  evalTimeoutMs: number;
  /** Evaluation results kept for reuse (0: none), and their largest total size (bytes). */
  evalCacheEntries: number;
  evalCacheBytes: number;
  logLevel: string;
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer (got ${raw})`);
  return value;
}

function bounded(name: string, fallback: number, min: number, max: number, env: NodeJS.ProcessEnv): number {
  const value = int(name, fallback, env);
  if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max} (got ${value})`);
  return value;
}

function oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[], env: NodeJS.ProcessEnv): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(', ')} (got ${raw})`);
  return raw as T;
}

/** Upper bounds on lifetimes: a leaked token stays useful for minutes, not days. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const MAX_CDS_JWT_LIFETIME_SECONDS = 3600;

function bool(name: string, fallback: boolean, env: NodeJS.ProcessEnv): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`${name} must be true or false (got ${env[name]})`);
}

/**
 * A flag that accepts exactly `on` or `off` (unset or empty: the default); anything else refuses
 * to start, so that `SANDBOX=false` never leaves the sandbox on by accident.
 */
function onOff(name: string, fallback: boolean, env: NodeJS.ProcessEnv): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`${name} must be "on" or "off" (got "${raw}")`);
}

/** The cores this process may use: the default number of evaluation workers. */
export function defaultEvalWorkers(): number {
  return Math.max(1, availableParallelism());
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int('PORT', 3000, env);
  const production = env.NODE_ENV === 'production';
  const auth = onOff('AUTH', true, env);
  const sandbox = onOff('SANDBOX', !production, env);
  if (production && sandbox) throw new Error('SANDBOX=on is refused with NODE_ENV=production: the sandbox EHR mints tokens without authentication and serves test fixtures (development only)');
  const evalWorkers = bounded('EVAL_WORKERS', defaultEvalWorkers(), 0, 64, env);
  if (production && evalWorkers === 0) throw new Error('EVAL_WORKERS=0 is refused with NODE_ENV=production: evaluation on the event loop has no time bound and blocks every other request');
  if (production && !auth) throw new Error('AUTH=off is refused with NODE_ENV=production: unauthenticated CDS Hooks and DTR calls are for local experiments only');
  const cors = env.CORS_ORIGINS?.trim();
  return {
    port,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    payerName: env.PAYER_NAME ?? 'Molina Healthcare',
    kineretNonPreferred: bool('KINERET_NON_PREFERRED', false, env),
    hookBudgetMs: int('HOOK_BUDGET_MS', 5000, env),
    fhirTimeoutMs: int('FHIR_TIMEOUT_MS', 3000, env),
    fhirMaxPages: int('FHIR_MAX_PAGES', 20, env),
    fhirMaxResponseBytes: int('FHIR_MAX_RESPONSE_BYTES', 5 * 1024 * 1024, env),
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 5 * 1024 * 1024, env),
    corsOrigins: !cors || cors === '*' ? '*' : cors.split(',').map((o) => o.trim()),
    production,
    auth,
    trustedClientsFile: env.TRUSTED_CLIENTS_FILE || undefined,
    reviewersFile: env.REVIEWERS_FILE || undefined,
    sandbox,
    dtrClientId: env.DTR_CLIENT_ID || 'kineret-dtr',
    dtrForm: oneOf('DTR_FORM', 'standard', ['standard', 'adaptive'] as const, env),
    databaseUrl: env.DATABASE_URL || './data/audit.sqlite',
    allowInsecureLoopback: bool('ALLOW_INSECURE_LOOPBACK', env.NODE_ENV !== 'production', env),
    allowPrivateNetworks: bool('ALLOW_PRIVATE_NETWORKS', false, env),
    tokenSigningJwk: env.TOKEN_SIGNING_JWK || undefined,
    accessTokenTtlSeconds: bounded('ACCESS_TOKEN_TTL_SECONDS', 300, 1, MAX_ACCESS_TOKEN_TTL_SECONDS, env),
    dtrSessionTtlSeconds: bounded('DTR_SESSION_TTL_SECONDS', 900, 60, MAX_ACCESS_TOKEN_TTL_SECONDS, env),
    clockSkewSeconds: bounded('JWT_CLOCK_SKEW_SECONDS', 60, 0, 300, env),
    cdsJwtMaxLifetimeSeconds: bounded('CDS_JWT_MAX_LIFETIME_SECONDS', 300, 1, MAX_CDS_JWT_LIFETIME_SECONDS, env),
    cdsJtiReuse: oneOf('CDS_JTI_REUSE', 'refuse', ['refuse', 'allow'] as const, env),
    maxDraftOrders: bounded('MAX_DRAFT_ORDERS', 100, 1, 10_000, env),
    maxPrefetchResources: bounded('MAX_PREFETCH_RESOURCES', 5000, 1, 1_000_000, env),
    evalWorkers,
    evalQueueLimit: bounded('EVAL_QUEUE_LIMIT', 16, 0, 10_000, env),
    evalTimeoutMs: bounded('EVAL_TIMEOUT_MS', 10_000, 1, 600_000, env),
    evalCacheEntries: bounded('EVAL_CACHE_ENTRIES', 500, 0, 100_000, env),
    evalCacheBytes: bounded('EVAL_CACHE_MB', 32, 0, 4096, env) * 1024 * 1024,
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}
