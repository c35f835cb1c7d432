/**
 * Questionnaire prepopulation: Questionnaire + CQL results + launch context in, a DTR
 * QuestionnaireResponse and an OperationOutcome of what could not be populated out. The CQL
 * evaluation is injected (`evaluate`), so the server and the SMART app share this module.
 * It never throws on odd data: every problem becomes an OperationOutcome issue.
 */
import type {
  Coding,
  Extension,
  OperationOutcome,
  OperationOutcomeIssue,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from 'fhir/r4';
import { CRD, DTR } from '../constants';
import type { LibraryResults } from '../core/evaluator';
import { issue as buildIssue, itemExpression, operationOutcome } from '../fhir/outcome';


export interface LaunchContext {
  /** 'Patient/123' */
  patient: string;
  /** 'Practitioner/456' (not written into auto answers: DTR dtrx-1 forbids an author on auto answers). */
  user?: string;
  /** 'Coverage/789' */
  coverage?: string;
  /** 'MedicationRequest/abc' */
  order?: string;
}

/** Results of evaluating the questionnaire's libraries: library name -> definition name -> value. */
export type { LibraryResults };

export interface PopulateInput {
  questionnaire: Questionnaire;
  context: LaunchContext;
  /** Evaluates the questionnaire's CQL libraries for the patient. */
  evaluate: () => Promise<LibraryResults>;
  /** Time stamp for `authored` (ISO instant), from the caller's clock. */
  now: string;
}

export interface PopulateOutput {
  response: QuestionnaireResponse;
  outcome: OperationOutcome;
  /** linkId -> the expression that filled it, for showing evidence. */
  populated: Record<string, string>;
}

interface ParsedExpression {
  library: string;
  definition: string;
}

/** Parses `"Library".Definition` or `"Library"."Definition with spaces"`. */
export function parseCqlIdentifier(expression: string): ParsedExpression | null {
  const m = /^\s*"?([A-Za-z][A-Za-z0-9_]*)"?\s*\.\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*$/.exec(expression);
  return m ? { library: m[1], definition: m[2] ?? m[3] } : null;
}

function issue(severity: OperationOutcomeIssue['severity'], code: OperationOutcomeIssue['code'], diagnostics: string, linkId?: string): OperationOutcomeIssue {
  return buildIssue({ severity, code, diagnostics, expression: linkId ? itemExpression('Questionnaire', linkId) : undefined });
}

function origin(): Extension {
  return { url: DTR.informationOrigin, extension: [{ url: 'source', valueCode: 'auto' }] };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function toAnswers(item: QuestionnaireItem, value: unknown, problems: OperationOutcomeIssue[]): QuestionnaireResponseItemAnswer[] {
  const values = Array.isArray(value) ? value : [value];
  const out: QuestionnaireResponseItemAnswer[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    let answer: QuestionnaireResponseItemAnswer | null = null;
    switch (item.type) {
      case 'boolean':
        if (typeof v === 'boolean') answer = { valueBoolean: v };
        break;
      case 'decimal':
        if (typeof v === 'number' && Number.isFinite(v)) answer = { valueDecimal: round(v) };
        else if (typeof v === 'object' && v && typeof (v as { value?: unknown }).value === 'number') answer = { valueDecimal: round((v as { value: number }).value) };
        break;
      case 'integer':
        if (typeof v === 'number' && Number.isInteger(v)) answer = { valueInteger: v };
        break;
      case 'string':
      case 'text':
        if (typeof v === 'string') answer = { valueString: v };
        break;
      case 'choice':
      case 'open-choice': {
        const code = typeof v === 'string' ? v : (v as { code?: unknown })?.code;
        const option = (item.answerOption ?? []).find((o) => o.valueCoding?.code === code);
        if (option?.valueCoding) answer = { valueCoding: option.valueCoding as Coding };
        else if (typeof code === 'string') {
          problems.push(issue('information', 'not-found', `the record gives "${code}", which is not an answer option of ${item.linkId}; left for the clinician`, item.linkId));
          continue;
        }
        break;
      }
      default:
        break;
    }
    if (!answer) {
      problems.push(issue('warning', 'value', `the value for ${item.linkId} does not fit an item of type ${item.type}`, item.linkId));
      continue;
    }
    out.push({ ...answer, extension: [origin()] });
  }
  return out;
}

function libraryNames(q: Questionnaire): Set<string> {
  return new Set(
    (q.extension ?? [])
      .filter((e) => e.url === DTR.cqfLibrary && e.valueCanonical)
      .map((e) => e.valueCanonical!.split('|')[0].split('/').pop()!),
  );
}

export async function populate(input: PopulateInput): Promise<PopulateOutput> {
  const { questionnaire: q, context } = input;
  const problems: OperationOutcomeIssue[] = [];
  const populated: Record<string, string> = {};
  let results: LibraryResults = {};
  try {
    results = await input.evaluate();
  } catch (e) {
    problems.push(issue('error', 'exception', `the questionnaire's CQL could not be evaluated: ${(e as Error).message}`));
  }
  const known = libraryNames(q);

  const build = (items: QuestionnaireItem[] | undefined): QuestionnaireResponseItem[] =>
    (items ?? [])
      .filter((item) => item.type !== 'display')
      .map((item) => {
        const out: QuestionnaireResponseItem = { linkId: item.linkId, ...(item.text ? { text: item.text } : {}) };
        const expr = (item.extension ?? []).find((e) => e.url === DTR.initialExpression)?.valueExpression;
        if (expr) {
          const parsed = expr.language === 'text/cql' && expr.expression ? parseCqlIdentifier(expr.expression) : null;
          if (!parsed) {
            problems.push(issue('warning', 'not-supported', `initialExpression of ${item.linkId} is not a CQL "Library".Definition reference`, item.linkId));
          } else if (!known.has(parsed.library) || !results[parsed.library]) {
            if (Object.keys(results).length) problems.push(issue('error', 'not-found', `library ${parsed.library} for ${item.linkId} is not available`, item.linkId));
          } else if (!(parsed.definition in results[parsed.library])) {
            problems.push(issue('error', 'not-found', `definition "${parsed.definition}" for ${item.linkId} is not in library ${parsed.library}`, item.linkId));
          } else {
            const value = results[parsed.library][parsed.definition];
            if (value === null || value === undefined) {
              problems.push(issue('information', 'not-found', `the record does not answer ${item.linkId}`, item.linkId));
            } else {
              const answers = toAnswers(item, value, problems);
              if (answers.length) {
                out.answer = item.repeats ? answers : answers.slice(0, 1);
                populated[item.linkId] = expr.expression!;
              }
            }
          }
        }
        if (item.type === 'group' && item.item?.length) out.item = build(item.item);
        return out;
      });

  const extension: Extension[] = [];
  if (context.coverage) extension.push({ url: DTR.qrContext, valueReference: { reference: context.coverage } });
  else problems.push(issue('warning', 'required', 'no Coverage in the launch context: qr-context names only the order'));
  if (context.order) extension.push({ url: DTR.qrContext, valueReference: { reference: context.order } });
  else problems.push(issue('warning', 'required', 'no order in the launch context: qr-context names only the coverage'));
  extension.push({ url: DTR.intendedUse, valueCodeableConcept: { coding: [{ system: CRD.tempCodeSystem, code: 'withpa' }] } });

  const response: QuestionnaireResponse = {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [DTR.questionnaireResponseProfile] },
    extension,
    questionnaire: `${q.url}|${q.version}`,
    status: 'in-progress',
    subject: { reference: context.patient },
    authored: input.now,
    item: build(q.item),
  };
  return { response, outcome: { ...operationOutcome([]), issue: problems.length ? problems : [issue('information', 'informational', 'all items the record can answer were populated')] }, populated };
}
