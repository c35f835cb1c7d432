/**
 * A small FHIR server for tests: serves a patient record over HTTP with search by patient and
 * code, pagination, and injected faults (delay, HTTP errors, garbage, endless pages).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FhirResource } from 'fhir/r4';

export interface StubOptions {
  pageSize?: number;
  delayMs?: number;
  failWith?: number;
  garbage?: boolean;
  endlessPages?: boolean;
  /** Answer searches with every resource of the type, whoever the patient (a leaking EHR). */
  ignorePatient?: boolean;
}

export interface FhirStub {
  url: string;
  requests: string[];
  /** The Authorization header of each request (undefined: none sent). */
  authorizations: (string | undefined)[];
  options: StubOptions;
  close(): Promise<void>;
}

function patientOf(r: FhirResource): string | undefined {
  const ref = (r as { subject?: { reference?: string }; patient?: { reference?: string }; beneficiary?: { reference?: string } });
  return (ref.subject ?? ref.patient ?? ref.beneficiary)?.reference?.split('/').pop();
}

function codesOf(r: FhirResource): string[] {
  const c = (r as { code?: { coding?: { system?: string; code?: string }[] }; medicationCodeableConcept?: { coding?: { system?: string; code?: string }[] } });
  return [...(c.code?.coding ?? []), ...(c.medicationCodeableConcept?.coding ?? [])].flatMap((x) => [`${x.system}|${x.code}`, `${x.code}`]);
}

export async function startFhirStub(resources: FhirResource[], options: StubOptions = {}): Promise<FhirStub> {
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    authorizations.push(req.headers.authorization);
    const respond = () => {
      if (options.failWith) {
        res.writeHead(options.failWith, { 'Content-Type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] }));
        return;
      }
      if (options.garbage) {
        res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
        res.end('<html>not fhir</html>');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://stub');
      const path = url.pathname.replace(/^\/fhir\/?/, '');
      const [type, id] = path.split('/');
      if (id) {
        const found = resources.find((r) => r.resourceType === type && r.id === id);
        res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/fhir+json' });
        res.end(JSON.stringify(found ?? { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }));
        return;
      }
      const patient = url.searchParams.get('patient');
      const practitioner = url.searchParams.get('practitioner');
      const codes = url.searchParams.get('code')?.split(',');
      let matches = resources.filter((r) => r.resourceType === type);
      if (patient && !options.ignorePatient) matches = matches.filter((r) => patientOf(r) === patient);
      if (practitioner) matches = matches.filter((r) => (r as { practitioner?: { reference?: string } }).practitioner?.reference?.endsWith(`Practitioner/${practitioner}`));
      if (codes) matches = matches.filter((r) => codesOf(r).some((c) => codes.includes(c)));
      const pageSize = options.pageSize ?? 1000;
      const offset = Number(url.searchParams.get('_offset') ?? 0);
      const page = matches.slice(offset, offset + pageSize);
      const nextUrl = new URL(url.toString());
      nextUrl.searchParams.set('_offset', String(offset + pageSize));
      const host = `http://${req.headers.host}`;
      const hasNext = options.endlessPages || offset + pageSize < matches.length;
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      res.end(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          total: matches.length,
          link: [
            { relation: 'self', url: `${host}${req.url}` },
            ...(hasNext ? [{ relation: 'next', url: `${host}${nextUrl.pathname}${nextUrl.search}` }] : []),
          ],
          entry: page.map((resource) => ({ resource, search: { mode: 'match' } })),
        }),
      );
    };
    if (options.delayMs) setTimeout(respond, options.delayMs).unref();
    else respond();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/fhir`,
    requests,
    authorizations,
    options,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
