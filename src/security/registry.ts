/**
 * The registry of trusted clients, read from TRUSTED_CLIENTS_FILE:
 * {"cdsClients": [{"iss", "jwks" | "jwksUrl", "algorithms"?, "fhirServers": [origins]}],
 *  "dtrClients": [{"clientId", "jwks" | "jwksUrl", "scopes", "fhirServers"?: [origins]}],
 *  "dtrAppEhrs": [{"fhirBase", "issuer", "clientId", "jwks" | "jwksUrl", "algorithms"?, "scopes"?, "cdsIss"?}]}
 * A DTR client's fhirServers are the only origins its $populate may read a record from.
 * A dtrAppEhrs entry is an EHR that launches the DTR app this service hosts (/dtr): the app's backend
 * session (src/security/dtr-session.ts) is opened only for a launch from a registered EHR, with an
 * id_token its registered keys sign.
 * Keys come from the registry only (inline JWKS or the registered JWKS URL); a token's `jku` is
 * followed only when it is the URL registered for that issuer.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { DTR_SESSION_SCOPES } from '../constants';
import { guardedGet, type OutboundPolicy } from './outbound';

export const DEFAULT_ALGORITHMS = ['ES384', 'RS384'];
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

export interface CdsClient {
  iss: string;
  algorithms: string[];
  fhirServers: string[];
  keys: KeySource;
}

export interface DtrClient {
  clientId: string;
  scopes: string[];
  /** Origins $populate may read patient data from for this client (with the operation scope). */
  fhirServers: string[];
  keys: KeySource;
}

/** An EHR that launches the DTR app hosted here (SMART EHR launch), and what a session from its launches may do. */
export interface DtrAppEhr {
  /** The EHR's FHIR base: the launch's `iss`, without a trailing slash. */
  fhirBase: string;
  /** The `iss` of the id_tokens the EHR's authorization server issues. */
  issuer: string;
  /** The hosted app's client id at that EHR: the id_token's `aud`. */
  clientId: string;
  /** JWS algorithms accepted on its id_tokens (asymmetric only). */
  algorithms: string[];
  /** Scopes of the payer access tokens its sessions get (at most DTR_SESSION_SCOPES). */
  scopes: string[];
  /** The CDS client (JWT `iss`) the same EHR calls CRD as: its recorded orders are the ones a session may read. */
  cdsIss: string | null;
  keys: KeySource;
}

/** The id_token algorithms accepted by default: SMART requires RS256; ES256 and the 384-bit variants are common. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'ES256', 'RS384', 'ES384'];

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}

/** Keys of one client: inline, or fetched from its registered JWKS URL (cached, refetched on an unknown kid). */
export class KeySource {
  private cached: { set: JWTVerifyGetKey; fetchedAt: number } | null = null;
  private lastFetch = -Infinity;

  constructor(
    private readonly jwks: JSONWebKeySet | undefined,
    readonly jwksUrl: string | undefined,
    private readonly policy: OutboundPolicy,
  ) {
    if (jwks) this.cached = { set: createLocalJWKSet(jwks), fetchedAt: Infinity };
  }

  /** Cache ages are durations, measured with the monotonic timer (performance.now), not the wall clock. */
  private async fetchSet(): Promise<JWTVerifyGetKey> {
    if (!this.jwksUrl) throw new RegistryError('no keys registered');
    this.lastFetch = performance.now();
    const res = await guardedGet(new URL(this.jwksUrl), {
      headers: { Accept: 'application/json' }, timeoutMs: 3000, maxBytes: 256 * 1024, policy: this.policy, allowedOrigins: [new URL(this.jwksUrl).origin],
    });
    if (res.status !== 200) throw new RegistryError(`JWKS ${this.jwksUrl} answered HTTP ${res.status}`);
    const set = createLocalJWKSet(JSON.parse(res.body) as JSONWebKeySet);
    this.cached = { set, fetchedAt: performance.now() };
    return set;
  }

  /** A key resolver for jose.jwtVerify. */
  resolver(): JWTVerifyGetKey {
    return async (header, token) => {
      const stale = this.cached && this.jwksUrl && performance.now() - this.cached.fetchedAt > 10 * 60_000;
      const set = this.cached && !stale ? this.cached.set : await this.fetchSet();
      try {
        return await set(header, token);
      } catch (e) {
        // Key rotation: refetch once (at most every 30 s) when the kid is unknown.
        if (this.jwksUrl && performance.now() - this.lastFetch > 30_000) return (await this.fetchSet())(header, token);
        throw e;
      }
    };
  }
}

function checkAlgorithms(algs: unknown, who: string): string[] {
  if (algs === undefined) return DEFAULT_ALGORITHMS;
  if (!Array.isArray(algs) || algs.length === 0) throw new RegistryError(`${who}: algorithms must be a non-empty array`);
  for (const a of algs) if (!ASYMMETRIC.has(String(a))) throw new RegistryError(`${who}: algorithm ${a} is not an asymmetric JWS algorithm`);
  return algs.map(String);
}

function origins(value: unknown, who: string): string[] {
  const list = value ?? [];
  if (!Array.isArray(list)) throw new RegistryError(`${who}: fhirServers must be an array of origins`);
  return list.map((o) => {
    try {
      return new URL(String(o)).origin;
    } catch {
      throw new RegistryError(`${who}: fhirServers entry ${String(o)} is not a URL`);
    }
  });
}

function keySource(entry: Record<string, unknown>, who: string, policy: OutboundPolicy): KeySource {
  const jwks = entry.jwks as JSONWebKeySet | undefined;
  const jwksUrl = entry.jwksUrl as string | undefined;
  if (!jwks && !jwksUrl) throw new RegistryError(`${who}: "jwks" or "jwksUrl" is required`);
  if (jwks && (!Array.isArray(jwks.keys) || jwks.keys.some((k) => 'd' in k))) throw new RegistryError(`${who}: jwks must be a public JWK Set`);
  if (jwksUrl) new URL(jwksUrl);
  return new KeySource(jwks, jwksUrl, policy);
}

export class ClientRegistry {
  private readonly cds = new Map<string, CdsClient>();
  private readonly dtr = new Map<string, DtrClient>();
  private readonly ehrs = new Map<string, DtrAppEhr>();
  constructor(private readonly policy: OutboundPolicy) {}

  static fromFile(file: string | undefined, policy: OutboundPolicy): ClientRegistry {
    const registry = new ClientRegistry(policy);
    if (!file) return registry;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new RegistryError(`cannot read TRUSTED_CLIENTS_FILE ${file}: ${(e as Error).message}`);
    }
    for (const c of (json.cdsClients as Record<string, unknown>[] | undefined) ?? []) registry.addCdsClient(c);
    for (const c of (json.dtrClients as Record<string, unknown>[] | undefined) ?? []) registry.addDtrClient(c);
    for (const c of (json.dtrAppEhrs as Record<string, unknown>[] | undefined) ?? []) registry.addDtrAppEhr(c);
    return registry;
  }

  addCdsClient(entry: Record<string, unknown>): CdsClient {
    const iss = entry.iss;
    if (typeof iss !== 'string' || !iss) throw new RegistryError('cdsClients: "iss" is required');
    const client: CdsClient = {
      iss,
      algorithms: checkAlgorithms(entry.algorithms, iss),
      fhirServers: origins(entry.fhirServers, iss),
      keys: keySource(entry, iss, this.policy),
    };
    this.cds.set(iss, client);
    return client;
  }

  addDtrClient(entry: Record<string, unknown>): DtrClient {
    const clientId = entry.clientId;
    if (typeof clientId !== 'string' || !clientId) throw new RegistryError('dtrClients: "clientId" is required');
    const scopes = entry.scopes;
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw new RegistryError(`${clientId}: scopes must be an array of strings`);
    const client: DtrClient = { clientId, scopes: scopes as string[], fhirServers: origins(entry.fhirServers, clientId), keys: keySource(entry, clientId, this.policy) };
    this.dtr.set(clientId, client);
    return client;
  }

  /**
   * Registers an EHR that launches the hosted DTR app. `scopes` may narrow what its sessions get
   * (at most DTR_SESSION_SCOPES, the default); a scope outside them is refused.
   */
  addDtrAppEhr(entry: Record<string, unknown>): DtrAppEhr {
    const allowedScopes = DTR_SESSION_SCOPES;
    const text = (name: string): string => {
      const v = entry[name];
      if (typeof v !== 'string' || !v) throw new RegistryError(`dtrAppEhrs: "${name}" is required`);
      return v;
    };
    const fhirBase = text('fhirBase').replace(/\/+$/, '');
    try {
      new URL(fhirBase);
    } catch {
      throw new RegistryError(`dtrAppEhrs: fhirBase ${fhirBase} is not a URL`);
    }
    const scopes = entry.scopes === undefined ? [...allowedScopes] : entry.scopes;
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw new RegistryError(`${fhirBase}: scopes must be an array of strings`);
    const extra = (scopes as string[]).filter((s) => !allowedScopes.includes(s));
    if (extra.length) throw new RegistryError(`${fhirBase}: a DTR app session cannot be given ${extra.join(', ')} (at most ${allowedScopes.join(', ')})`);
    const cdsIss = entry.cdsIss;
    if (cdsIss !== undefined && (typeof cdsIss !== 'string' || !cdsIss)) throw new RegistryError(`${fhirBase}: cdsIss must be the CDS client's iss`);
    const ehr: DtrAppEhr = {
      fhirBase,
      issuer: text('issuer'),
      clientId: text('clientId'),
      algorithms: entry.algorithms === undefined ? ID_TOKEN_ALGORITHMS : checkAlgorithms(entry.algorithms, fhirBase),
      scopes: scopes as string[],
      cdsIss: (cdsIss as string | undefined) ?? null,
      keys: keySource(entry, fhirBase, this.policy),
    };
    this.ehrs.set(fhirBase, ehr);
    return ehr;
  }

  /** The registered EHR whose FHIR base is `fhirBase` (a trailing slash ignored). */
  dtrAppEhr(fhirBase: string): DtrAppEhr | undefined {
    return this.ehrs.get(fhirBase.replace(/\/+$/, ''));
  }

  cdsClient(iss: string): CdsClient | undefined {
    return this.cds.get(iss);
  }
  dtrClient(clientId: string): DtrClient | undefined {
    return this.dtr.get(clientId);
  }
}
