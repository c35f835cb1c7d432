/**
 * A small FHIR REST client for the EHR's server (CRD fallback queries, $populate data fetches):
 * bearer token, per-page timeout, response-size limit, and pagination that stays on the server's
 * origin and stops after a page limit. Failures are typed, never thrown as generic errors.
 */
import type { Bundle, FhirResource } from 'fhir/r4';

export interface FhirClientOptions {
  baseUrl: string;
  accessToken?: string;
  timeoutMs: number;
  maxPages: number;
  maxResponseBytes: number;
  /** Aborts all requests of this client (the hook's time budget). */
  signal?: AbortSignal;
  /** Replaceable for tests. */
  fetchImpl?: typeof fetch;
}

export class FhirQueryError extends Error {
  override readonly name = 'FhirQueryError';
  constructor(
    message: string,
    readonly query: string,
    readonly kind: 'timeout' | 'http' | 'network' | 'invalid' | 'too-large' | 'pagination',
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
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout;
    const headers: Record<string, string> = { Accept: 'application/fhir+json, application/json' };
    if (this.options.accessToken) headers.Authorization = `Bearer ${this.options.accessToken}`;
    let response: Response;
    try {
      response = await (this.options.fetchImpl ?? fetch)(url, { headers, signal, redirect: 'manual' });
    } catch (e) {
      const aborted = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
      throw new FhirQueryError(aborted ? 'timed out' : `network error: ${(e as Error).message}`, query, aborted ? 'timeout' : 'network');
    }
    if (response.status >= 300 && response.status < 400) {
      throw new FhirQueryError(`redirect (HTTP ${response.status}) not followed`, query, 'http');
    }
    if (!response.ok) throw new FhirQueryError(`HTTP ${response.status}`, query, 'http');
    const text = await this.readLimited(response, query, signal);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new FhirQueryError('response is not JSON', query, 'invalid');
    }
    if (!json || typeof json !== 'object' || typeof (json as { resourceType?: unknown }).resourceType !== 'string') {
      throw new FhirQueryError('response is not a FHIR resource', query, 'invalid');
    }
    return json as FhirResource;
  }

  private async readLimited(response: Response, query: string, signal: AbortSignal): Promise<string> {
    const declared = Number(response.headers.get('content-length'));
    if (declared > this.options.maxResponseBytes) {
      await response.body?.cancel();
      throw new FhirQueryError(`response over ${this.options.maxResponseBytes} bytes`, query, 'too-large');
    }
    if (!response.body) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > this.options.maxResponseBytes) {
          await reader.cancel();
          throw new FhirQueryError(`response over ${this.options.maxResponseBytes} bytes`, query, 'too-large');
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof FhirQueryError) throw e;
      throw new FhirQueryError(signal.aborted ? 'timed out' : `read error: ${(e as Error).message}`, query, signal.aborted ? 'timeout' : 'network');
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
