/**
 * examples/ is what a tester pastes into the Inferno kits and what the README's curl commands send:
 * every resource in it valid FHIR R4, the Coverages and Patients meeting US Core's rules the kits
 * check (us-core-15: a member id or subscriber id), and the $next-question requests the ones the
 * service produces today (npm run examples).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Coverage, FhirResource, Patient } from 'fhir/r4';
import { examplesText, exampleServices, EXAMPLES_DIR, NEXT_QUESTION_FILE, nextQuestionExamples } from '../../scripts/write-examples';
import { fhirErrors } from '../support/fhir-validate';

jest.setTimeout(60_000);

const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();

/** Every FHIR resource in a JSON document (a hook request's draft orders and prefetch, a Parameters, a list). */
function resources(node: unknown, out: FhirResource[] = []): FhirResource[] {
  if (Array.isArray(node)) node.forEach((n) => resources(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.resourceType === 'string') out.push(o as unknown as FhirResource);
    // Nested resources (entries, parameters, contained) are checked inside their container too.
    Object.values(o).forEach((v) => resources(v, out));
  }
  return out;
}

/** US Core's us-core-15 (CRD's Coverage profile obeys it), as FHIRPath says it. */
const usCore15 = (c: Coverage) => (c.identifier ?? []).some((i) => (i.type?.coding ?? []).some((k) => k.system === 'http://terminology.hl7.org/CodeSystem/v2-0203' && k.code === 'MB')) || Boolean(c.subscriberId);

describe('examples/', () => {
  it('holds the examples the README and the conformance suite use', () => {
    expect(files).toEqual(['evaluate.json', 'next-question-requests.json', 'order-select-kineret.json', 'order-sign-kineret.json', 'order-sign-other-drug.json', 'populate.json', 'questionnaire-package.json']);
  });

  it.each(files)('%s: every resource valid FHIR R4; Coverage with a member id (us-core-15); Patient with identifier, name and gender (US Core)', (file) => {
    const doc = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as unknown;
    const found = resources(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const r of found) {
      expect({ file, id: `${r.resourceType}/${r.id}`, errors: fhirErrors(r) }).toEqual({ file, id: `${r.resourceType}/${r.id}`, errors: [] });
      if (r.resourceType === 'Coverage') expect({ file, id: r.id, usCore15: usCore15(r) }).toEqual({ file, id: r.id, usCore15: true });
      if (r.resourceType === 'Patient') {
        const p = r as Patient;
        expect({ file, id: p.id, identifier: Boolean(p.identifier?.length), name: Boolean(p.name?.length), gender: Boolean(p.gender) }).toEqual({ file, id: p.id, identifier: true, name: true, gender: true });
      }
    }
  });

  it('next-question-requests.json is what the service produces (npm run examples rewrites it)', async () => {
    const services = await exampleServices();
    try {
      expect(readFileSync(NEXT_QUESTION_FILE, 'utf8')).toBe(examplesText(await nextQuestionExamples(services)));
    } finally {
      await services.store.close();
    }
  });
});
