/**
 * The EHR's FHIR server as the launched app sees it: reads, searches (following next links on the
 * same origin, up to a page limit), create and update, with the SMART access token of the launch.
 */
import type { Bundle, FhirResource } from 'fhir/r4';
import { AppError } from './errors';
import { fetchJson } from './http';

const MAX_PAGES = 20;

export class Ehr {
  private readonly base: string;

  constructor(base: string, private readonly accessToken: () => string) {
    this.base = base.replace(/\/+$/, '');
  }

  private headers(json = false): Record<string, string> {
    return { Authorization: `Bearer ${this.accessToken()}`, ...(json ? { 'Content-Type': 'application/fhir+json' } : {}) };
  }

  private url(relative: string): string {
    return /^https?:/.test(relative) ? relative : `${this.base}/${relative.replace(/^\/+/, '')}`;
  }

  async read<T extends FhirResource>(reference: string): Promise<T> {
    return (await fetchJson<T>('ehr', this.url(reference), { headers: this.headers() })).body;
  }

  async search(relative: string): Promise<FhirResource[]> {
    const out: FhirResource[] = [];
    let next: string | undefined = this.url(relative);
    const origin = new URL(this.base).origin;
    for (let page = 0; next; page++) {
      if (page >= MAX_PAGES) throw new AppError('ehr', 'rejected', `${relative}: more than ${MAX_PAGES} pages`);
      const bundle: Bundle = (await fetchJson<Bundle>('ehr', next, { headers: this.headers() })).body;
      if (bundle?.resourceType !== 'Bundle') throw new AppError('ehr', 'invalid', `${relative} did not answer with a Bundle`);
      for (const e of bundle.entry ?? []) if (e.resource && e.search?.mode !== 'outcome' && e.resource.resourceType !== 'OperationOutcome') out.push(e.resource);
      const link = bundle.link?.find((l) => l.relation === 'next')?.url;
      // Never follow a next link to another server with this token.
      next = link && new URL(link, this.base).origin === origin ? link : undefined;
    }
    return out;
  }

  async create<T extends FhirResource>(resource: T): Promise<T> {
    return (await fetchJson<T>('ehr', this.url(resource.resourceType), { method: 'POST', headers: this.headers(true), body: JSON.stringify(resource) })).body;
  }

  async update<T extends FhirResource>(resource: T): Promise<T> {
    if (!resource.id) throw new AppError('app', 'invalid', 'cannot update a resource without an id');
    return (await fetchJson<T>('ehr', this.url(`${resource.resourceType}/${encodeURIComponent(resource.id)}`), { method: 'PUT', headers: this.headers(true), body: JSON.stringify(resource) })).body;
  }
}
