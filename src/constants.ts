/**
 * FHIR URLs, code systems and identifiers used across the service: one place per concern.
 */
import content from '../terminology/content.json';

/** Canonical base of the project's own content (value sets, libraries, code systems). */
export const CONTENT_BASE: string = content.base;
export const CONTENT_VERSION: string = content.version;

export const CRITERIA_CODE_SYSTEM = `${CONTENT_BASE}/CodeSystem/kineret-pa-criteria`;
export const INDICATION_CODE_SYSTEM = `${CONTENT_BASE}/CodeSystem/kineret-pa-indication`;
export const LIBRARY_BASE = `${CONTENT_BASE}/Library`;
export const VALUESET_BASE = `${CONTENT_BASE}/ValueSet`;

export const MAIN_LIBRARY = 'KineretPA';
export const HELPERS_LIBRARY = 'FHIRHelpers';

export const SYSTEMS = {
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  nucc: 'http://nucc.org/provider-taxonomy',
} as const;

/** The policy as published by the plan. */
export const POLICY = {
  title: 'Kineret (anakinra) Coverage Guideline',
  offLabelPolicy: "the plan's Off-Label policy",
} as const;
