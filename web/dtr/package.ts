/**
 * Reading the payer's $questionnaire-package answer (DTR STU 2): the Questionnaire, the payer's
 * prepopulated draft, the Libraries (CQL and ELM) and the expanded ValueSets, plus any
 * OperationOutcome. Pure functions: no DOM, no network.
 */
import type { Bundle, Library, OperationOutcome, Parameters, Questionnaire, QuestionnaireResponse, ValueSet } from 'fhir/r4';

export interface QuestionnairePackage {
  questionnaire: Questionnaire;
  /** The payer's own draft (populated from what the payer was sent), when the package has one. */
  payerDraft: QuestionnaireResponse | null;
  libraries: Library[];
  valueSets: ValueSet[];
  /** Problems the payer reported with the package. */
  outcome: OperationOutcome | null;
}

export class PackageError extends Error {
  override readonly name = 'PackageError';
}

export function readPackage(answer: Parameters): QuestionnairePackage {
  const bundle = answer.parameter?.find((p) => p.name === 'PackageBundle')?.resource as Bundle | undefined;
  const outcome = (answer.parameter?.find((p) => p.name === 'operationOutcome')?.resource as OperationOutcome | undefined) ?? null;
  if (bundle?.resourceType !== 'Bundle') {
    const why = outcome?.issue?.map((i) => i.diagnostics).filter(Boolean).join('; ');
    throw new PackageError(`the payer's package holds no questionnaire${why ? `: ${why}` : ''}`);
  }
  const resources = (bundle.entry ?? []).map((e) => e.resource).filter((r) => r !== undefined);
  const questionnaire = resources.find((r): r is Questionnaire => r.resourceType === 'Questionnaire');
  if (!questionnaire) throw new PackageError('the package bundle has no Questionnaire');
  return {
    questionnaire,
    payerDraft: resources.find((r): r is QuestionnaireResponse => r.resourceType === 'QuestionnaireResponse') ?? null,
    libraries: resources.filter((r): r is Library => r.resourceType === 'Library'),
    valueSets: resources.filter((r): r is ValueSet => r.resourceType === 'ValueSet'),
    outcome,
  };
}

function decodeBase64Utf8(data: string): string {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The compiled ELM (JSON) a Library carries as application/elm+json content. */
export function elmOf(library: Library): unknown {
  const content = library.content?.find((c) => c.contentType === 'application/elm+json' && c.data);
  if (!content?.data) throw new PackageError(`Library ${library.name ?? library.url} has no ELM (application/elm+json) content`);
  return JSON.parse(decodeBase64Utf8(content.data));
}

/** The name of the library a Questionnaire's cqf-library names first ('.../Library/KineretPA' -> 'KineretPA'). */
export function mainLibraryName(q: Questionnaire): string | null {
  const canonical = q.extension?.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/cqf-library')?.valueCanonical;
  return canonical ? (canonical.split('|')[0].split('/').pop() ?? null) : null;
}
