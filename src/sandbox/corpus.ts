/**
 * The sandbox EHR's patients: the scenario corpus (test/fixtures/scenarios/*.json), read as plain
 * JSON files at start-up (no test code is loaded). Every scenario reuses ids such as
 * 'kineret-order', 'cov', 'payer' and 'role-rheum', so each resource except the Patient is renamed
 * '<patient id>-<id>' and every reference is rewritten to match; patient ids are unique in the
 * corpus, and a collision is refused rather than silently merged.
 *
 * Each scenario is written as of its `evaluationDate`; the sandbox moves its dates to the day the
 * sandbox starts (./shift-dates.ts), so that every patient means the same thing on any day.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Bundle, Coverage, FhirResource, MedicationRequest, Patient, Practitioner } from 'fhir/r4';
import { HL7_SYSTEMS } from '../constants';
import { parseReference } from '../fhir/references';
import { FhirShapes } from '../fhir/shapes';
import { shiftResource } from './shift-dates';
import type { SandboxScenario } from './types';

export type { SandboxScenario };

export interface SandboxCorpus {
  scenarios: SandboxScenario[];
  resources: FhirResource[];
}

interface ScenarioFile {
  name?: string;
  description?: string;
  /** The day the scenario's record is written for (YYYY-MM-DD). */
  evaluationDate?: string;
  bundle?: Bundle;
}


/** Renames ids and references inside one value (recursively), leaving Patient references alone. */
function rewrite(value: unknown, prefix: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, prefix));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'reference' && typeof v === 'string') {
      // Relative references only ('Type/id'); the Patient keeps its id.
      const ref = parseReference(v);
      out[key] = ref && v === `${ref.type}/${ref.id}` && ref.type !== 'Patient' ? `${ref.type}/${prefix}-${ref.id}` : v;
    } else out[key] = rewrite(v, prefix);
  }
  return out;
}

function titleCase(word: string): string {
  return word ? word[0].toUpperCase() + word.slice(1) : word;
}

/**
 * A made-up but well-formed NPI for a sandbox practitioner: 9 digits from the id, and the check digit
 * of the NPI standard (Luhn over 80840 and the 9 digits).
 */
export function sandboxNpi(id: string): string {
  const nine = `1${(parseInt(createHash('sha256').update(id).digest('hex').slice(0, 12), 16) % 1e8).toString().padStart(8, '0')}`;
  const digits = `80840${nine}`.split('').map(Number);
  let sum = 0;
  // From the right of the payload, every other digit (starting with the rightmost) is doubled.
  digits.reverse().forEach((d, i) => {
    const v = i % 2 === 0 ? d * 2 : d;
    sum += v > 9 ? v - 9 : v;
  });
  return `${nine}${(10 - (sum % 10)) % 10}`;
}

/**
 * The member identity a plan keys its authorizations on (src/pas/member.ts): the corpus' Coverages
 * name no subscriber, so each becomes the beneficiary's own (subscriberId SBX-<patient id>, relationship self).
 */
function withMemberIdentity(coverage: Coverage, patientId: string): Coverage {
  if (coverage.subscriberId) return coverage;
  return {
    ...coverage,
    subscriber: coverage.subscriber ?? { reference: `Patient/${patientId}` },
    subscriberId: `SBX-${patientId}`,
    relationship: coverage.relationship ?? { coding: [{ system: HL7_SYSTEMS.subscriberRelationship, code: 'self' }] },
  };
}

/** A Practitioner for each practitioner the scenario references but does not hold (the EHR's user). */
function practitionersFor(resources: FhirResource[], prefix: string): Practitioner[] {
  const referenced = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
        if (key === 'reference' && typeof child === 'string' && child.startsWith('Practitioner/')) referenced.add(child.slice('Practitioner/'.length));
        else visit(child);
      }
    }
  };
  resources.forEach(visit);
  const present = new Set(resources.filter((r) => r.resourceType === 'Practitioner').map((r) => r.id));
  return [...referenced].filter((id) => !present.has(id)).map((id) => {
    const family = titleCase(id.slice(prefix.length + 1).replace(/^dr-/, '').split('-').pop() ?? 'Clinician');
    return { resourceType: 'Practitioner', id, identifier: [{ system: HL7_SYSTEMS.npi, value: sandboxNpi(id) }], name: [{ prefix: ['Dr.'], family, given: ['Sandbox'] }] };
  });
}

function orderLabel(order: MedicationRequest): string {
  const concept = order.medicationCodeableConcept;
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? order.medicationReference?.display ?? 'Kineret (anakinra)';
}

/**
 * Reads every scenario file of `dir` and returns the namespaced resources and a summary per patient,
 * each record moved from its evaluation date to `today` (YYYY-MM-DD).
 */
export function loadCorpus(dir: string, today: string): SandboxCorpus {
  const shapes = FhirShapes.r4();
  const scenarios: SandboxScenario[] = [];
  const resources: FhirResource[] = [];
  const seenPatients = new Map<string, string>();
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const scenario = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as ScenarioFile;
    const entries = (scenario.bundle?.entry ?? []).map((e) => e.resource).filter((r): r is FhirResource => Boolean(r));
    const patients = entries.filter((r): r is Patient => r.resourceType === 'Patient');
    if (patients.length !== 1 || !patients[0].id) throw new Error(`sandbox corpus: ${file} must hold exactly one Patient with an id`);
    const patientId = patients[0].id;
    const earlier = seenPatients.get(patientId);
    if (earlier) throw new Error(`sandbox corpus: Patient/${patientId} appears in both ${earlier} and ${file}`);
    seenPatients.set(patientId, file);

    if (!scenario.evaluationDate || !/^\d{4}-\d{2}-\d{2}$/.test(scenario.evaluationDate)) throw new Error(`sandbox corpus: ${file} has no evaluationDate`);
    const from = scenario.evaluationDate;
    const renamed = entries.map((r) => {
      const copy = shiftResource(shapes, rewrite(r, patientId) as FhirResource, from, today);
      if (r.resourceType !== 'Patient' && r.id) copy.id = `${patientId}-${r.id}`;
      return copy.resourceType === 'Coverage' ? withMemberIdentity(copy, patientId) : copy;
    });
    renamed.push(...practitionersFor(renamed, patientId));
    resources.push(...renamed);

    const patient = renamed.find((r): r is Patient => r.resourceType === 'Patient')!;
    const name = patient.name?.[0];
    const drafts = renamed.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest' && r.status === 'draft' && Boolean(r.id));
    scenarios.push({
      name: scenario.name ?? path.basename(file, '.json'),
      description: scenario.description ?? '',
      patientId,
      patientName: [name?.given?.join(' '), name?.family].filter(Boolean).join(' ') || patientId,
      birthDate: patient.birthDate ?? null,
      draftOrders: drafts.map((o) => ({ id: o.id!, label: orderLabel(o), requester: o.requester?.reference ?? null })),
    });
  }
  const ids = new Set<string>();
  for (const r of resources) {
    const key = `${r.resourceType}/${r.id}`;
    if (ids.has(key)) throw new Error(`sandbox corpus: ${key} is defined twice`);
    ids.add(key);
  }
  return { scenarios, resources };
}
