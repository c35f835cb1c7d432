import { readFileSync } from 'node:fs';
import path from 'node:path';
import { codesFor, dataRequirementsFromElm } from '../../src/core/data-requirements';
import { loadContent } from '../../src/core/engine';
import { PATIENT_SEARCH_PARAM, planPatientQueries, REFERENCE_FOLLOWED_TYPES } from '../../src/core/query-plan';
import { typeOfQuery } from '../../src/crd/patient-data';
import type { ServiceDefinition } from '../../src/crd/types';
import { ROOT } from '../../src/paths';

const content = loadContent();
const requirements = dataRequirementsFromElm(Object.values(content.elm));
const services = (JSON.parse(readFileSync(path.join(ROOT, 'cds-services.json'), 'utf8')) as { services: ServiceDefinition[] }).services;
const orderSign = services.find((s) => s.hook === 'order-sign')!;

/** The system|code pairs a prefetch template filters on, or null when it does not filter by code. */
function templateCodes(template: string): Set<string> | null {
  const code = new URLSearchParams(template.split('?')[1] ?? '').get('code');
  return code ? new Set(code.split(',')) : null;
}

describe('data requirements derived from the ELM', () => {
  it('name the resource types and value-set filters the CQL retrieves', () => {
    const types = requirements.map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Condition', 'Observation', 'MedicationRequest', 'Coverage']));
    const condition = requirements.find((r) => r.type === 'Condition')!;
    expect(condition.unfiltered).toBe(false);
    expect(condition.codeFilters.map((f) => f.valueSet)).toContain('http://kineret-pa.example/fhir/ValueSet/rheumatoid-arthritis');
  });

  it.each(requirements.map((r) => [r.type, r] as const))('%s is covered by a prefetch key or by the fallback queries', (type, req) => {
    const needed = codesFor(req, content.valueSets).map((c) => `${c.system}|${c.code}`);
    const byPrefetch = Object.values(orderSign.prefetch ?? {}).some((t) => {
      if (typeOfQuery(t) !== type) return false;
      const codes = templateCodes(t);
      if (codes === null) return true;
      return !req.unfiltered && needed.every((c) => codes.has(c));
    });
    let byQuery = false;
    if (type === 'Patient' || PATIENT_SEARCH_PARAM[type]) {
      const queries = planPatientQueries([req], content.valueSets, 'p1').queries;
      const queried = new Set(
        queries.flatMap((q) => {
          const codes = templateCodes(decodeURIComponent(q.path));
          return codes ? [...codes] : ['*'];
        }),
      );
      byQuery = queried.has('*') || needed.every((c) => queried.has(c));
    } else {
      byQuery = REFERENCE_FOLLOWED_TYPES.includes(type);
    }
    expect({ type, covered: byPrefetch || byQuery }).toEqual({ type, covered: true });
  });

  it('fallback queries are code-filtered where the CQL filters by code', () => {
    const obs = requirements.find((r) => r.type === 'Observation')!;
    const queries = planPatientQueries([obs], content.valueSets, 'p1').queries;
    expect(queries.every((q) => q.path.includes('&code='))).toBe(true);
    expect(decodeURIComponent(queries[0].path)).toContain('http://loinc.org|29463-7');
  });
});
