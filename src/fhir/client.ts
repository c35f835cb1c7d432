/**
 * A small FHIR REST client for the EHR's server (CRD fallback queries, $populate data fetches):
 * bearer token, per-page timeout, response-size limit, and pagination that stays on the server's
 * origin and stops after a page limit. Failures are typed, never thrown as generic errors.
 */
import type { Bundle, FhirResource } from 'fhir/r4';
import { guardedGet, OutboundRefused, type OutboundPolicy } from '../security/outbound';

export interface FhirClientOptions {
  baseUrl: string;
  accessToken?: string;
  timeoutMs: number;
  maxPages: number;
  maxResponseBytes: number;
  /** Aborts all requests of this client (the hook's time budget). */
  signal?: AbortSignal;
  /** SSRF policy: which addresses and schemes may be reached. */
  policy: OutboundPolicy;
  /** Origins this client may reach (the authenticated CDS client's registered fhirServers); null = any origin. */
  allowedOrigins: readonly string[] | null;
}

export class FhirQueryError extends Error {
  override readonly name = 'FhirQueryError';
  constructor(
    message: string,
    readonly query: string,
    readonly kind: 'timeout' | 'http' | 'network' | 'invalid' | 'too-large' | 'pagination' | 'refused',
    /** The HTTP status, for kind 'http'. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export class FhirClient {
  private readonly base: URL;
  constructor(private readonly options: FhirClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  }

  get origin(): string {
    return this.base.origin;
  }

  /** GET a resource or Bundle by path relative to the base (e.g. 'Patient/123'). */
  async get(relative: string): Promise<FhirResource> {
    return this.getUrl(new URL(relative.replace(/^\//, ''), this.base), relative);
  }

  /** Runs a search and follows `next` links; returns every entry's resource. */
  async searchAll(relative: string): Promise<FhirResource[]> {
    const out: FhirResource[] = [];
    let url: URL | null = new URL(relative.replace(/^\//, ''), this.base);
    for (let page = 0; url; page++) {
      if (page >= this.options.maxPages) {
        throw new FhirQueryError(`more than ${this.options.maxPages} pages`, relative, 'pagination');
      }
      const result = await this.getUrl(url, relative);
      if (result.resourceType !== 'Bundle') {
        throw new FhirQueryError(`expected a Bundle, got ${result.resourceType}`, relative, 'invalid');
      }
      const bundle = result as Bundle;
      for (const e of bundle.entry ?? []) {
        if (e.resource && e.search?.mode !== 'outcome' && e.resource.resourceType !== 'OperationOutcome') out.push(e.resource);
      }
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      url = next ? this.sameOrigin(next, relative) : null;
    }
    return out;
  }

  private sameOrigin(next: string, query: string): URL {
    let url: URL;
    try {
      url = new URL(next, this.base);
    } catch {
      throw new FhirQueryError(`invalid next link ${next}`, query, 'pagination');
    }
    if (url.origin !== this.base.origin) throw new FhirQueryError('next link leaves the FHIR server', query, 'pagination');
    return url;
  }

  private async getUrl(url: URL, query: string): Promise<FhirResource> {
    const headers: Record<string, string> = { Accept: 'application/fhir+json, application/json' };
    if (this.options.accessToken) headers.Authorization = `Bearer ${this.options.accessToken}`;
    let response;
    try {
      response = await guardedGet(url, {
        headers,
        timeoutMs: this.options.timeoutMs,
        maxBytes: this.options.maxResponseBytes,
        signal: this.options.signal,
        policy: this.options.policy,
        allowedOrigins: this.options.allowedOrigins,
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err instanceof OutboundRefused || err.code === 'EREFUSED') throw new FhirQueryError(`refused: ${err.message}`, query, 'refused');
      if (err.name === 'TooLarge') throw new FhirQueryError(err.message, query, 'too-large');
      if (err.name === 'TimeoutError' || err.name === 'AbortError' || this.options.signal?.aborted) throw new FhirQueryError('timed out', query, 'timeout');
      throw new FhirQueryError(`network error: ${err.message}`, query, 'network');
    }
    if (response.status >= 300 && response.status < 400) {
      throw new FhirQueryError(`redirect (HTTP ${response.status}) not followed`, query, 'http', response.status);
    }
    if (response.status < 200 || response.status >= 300) throw new FhirQueryError(`HTTP ${response.status}`, query, 'http', response.status);
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      throw new FhirQueryError('response is not JSON', query, 'invalid');
    }
    if (!json || typeof json !== 'object' || typeof (json as { resourceType?: unknown }).resourceType !== 'string') {
      throw new FhirQueryError('response is not a FHIR resource', query, 'invalid');
    }
    return json as FhirResource;
  }
}
