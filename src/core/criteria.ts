/** The project's CodeSystems of policy criteria and indications: display text for codes the CQL returns. */
import type { CodeSystem } from 'fhir/r4';
import criteria from '../../terminology/codesystems/kineret-pa-criteria.json';
import indications from '../../terminology/codesystems/kineret-pa-indication.json';

export const CRITERIA_CODE_SYSTEM_RESOURCE = criteria as CodeSystem;
export const INDICATION_CODE_SYSTEM_RESOURCE = indications as CodeSystem;

const criterionDisplay = new Map(criteria.concept.map((c) => [c.code, c] as const));
const indicationDisplay = new Map(indications.concept.map((c) => [c.code, c.display] as const));

export function criterionTitle(code: string): string {
  return criterionDisplay.get(code)?.display ?? code;
}
export function criterionDefinition(code: string): string {
  return criterionDisplay.get(code)?.definition ?? '';
}
export function indicationTitle(code: string | null): string {
  return code ? (indicationDisplay.get(code) ?? code) : 'not determined';
}
