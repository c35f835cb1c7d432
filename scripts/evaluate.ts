/**
 * The policy evaluated on one record, for content authors and reviewers:
 *
 *   npm run evaluate -- <bundle.json> [--date YYYY-MM-DD] [--answers response.json] [--order <id>] [--non-preferred] [--json]
 *
 * <bundle.json> is a patient Bundle (one Patient, the order and the record) or a corpus scenario file
 * (test/fixtures/scenarios/*.json: its bundle, evaluation date and plan options are used). --answers takes a
 * QuestionnaireResponse (flattened as the DTR $evaluate does), a scenario file (its scripted answers) or a JSON
 * list of flattened answers. Prints the decision, the reasons it is pended, the approval period and the criteria
 * with their evidence. Needs the compiled ELM (npm run build).
 */
import type { QuestionnaireResponse } from 'fhir/r4';
import { EvaluationInputError, KineretEngine } from '../src/core/engine';
import { criterionTitle, indicationTitle } from '../src/core/criteria';
import type { Answer, EvaluateOptions, Evaluation } from '../src/core/types';
import { flattenAnswers } from '../src/dtr/answers';
import { toParameters } from '../src/dtr/determination';
import { systemClock, today } from '../src/core/clock';
import { readJson, readRecord, type ScenarioLike } from './record-file';

const USAGE = 'usage: npm run evaluate -- <bundle.json | scenario.json> [--date YYYY-MM-DD] [--answers response.json] [--order <id>] [--non-preferred] [--json]';

interface Args {
  file: string;
  date?: string;
  answers?: string;
  order?: string;
  nonPreferred?: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { file: '', json: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--date') args.date = value(++i, a);
    else if (a === '--answers') args.answers = value(++i, a);
    else if (a === '--order') args.order = value(++i, a);
    else if (a === '--non-preferred') args.nonPreferred = true;
    else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (args.file) throw new Error(`one file only (got ${args.file} and ${a})\n${USAGE}`);
    else args.file = a;
  }
  if (!args.file) throw new Error(USAGE);
  if (args.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(args.date)) throw new Error(`--date must be YYYY-MM-DD (got ${args.date})`);
  return args;
}

/** The clinician's answers a file gives. */
function readAnswers(file: string): Answer[] {
  const input = readJson(file) as ScenarioLike | QuestionnaireResponse | Answer[];
  if (Array.isArray(input)) return input;
  if ((input as QuestionnaireResponse).resourceType === 'QuestionnaireResponse') return flattenAnswers(input as QuestionnaireResponse);
  if (Array.isArray((input as ScenarioLike).answers)) return (input as ScenarioLike).answers!;
  throw new Error(`${file} holds no answers: give a QuestionnaireResponse, a scenario file or a list of answers`);
}

const STATUS: Record<string, string> = { met: 'met', 'not-met': 'NOT MET', unknown: 'unknown' };

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines.length ? lines : [''];
}

function report(e: Evaluation, date: string, file: string): string {
  const parameters = toParameters(e, date);
  const period = parameters.parameter?.find((p) => p.name === 'approvalPeriod')?.valuePeriod;
  const out: string[] = [];
  out.push(`${file}: Patient/${e.patientId}, evaluated at ${date}`);
  out.push(`Order: ${e.orderReference ?? 'no Kineret order found'}    Coverage: ${e.coverageReference ?? 'none (plan unknown)'}`);
  out.push(`Indication: ${indicationTitle(e.indication)} (${e.indication ?? '-'}; record suggests ${e.recordIndication ?? 'none'})    Request: ${e.requestType} (record: ${e.recordRequestType})`);
  out.push('');
  out.push(`DECISION: ${e.decision.toUpperCase()}`);
  if (period) out.push(`Approval period: ${period.start} to ${period.end} (${e.approvalMonths} months). ${e.approvalReason}`);
  else if (e.decision === 'approved') out.push(`Approval: ${e.approvalReason}`);
  else out.push(`No approval period: ${e.approvalMonths === null ? 'the plan is unknown' : 'pended for the clinical reviewer, who decides; nothing is denied automatically'}.`);
  for (const r of e.pendReasons) out.push(`  - ${r.kind}${r.criterion ? ` (${r.criterion})` : ''}: ${r.text}`);
  out.push('');
  const codeWidth = Math.max(...e.criteria.map((c) => c.code.length), 4);
  out.push(`${'CODE'.padEnd(codeWidth)}  ${'STATUS'.padEnd(7)}  ${'SOURCE'.padEnd(9)}  CRITERION / REASON / EVIDENCE`);
  for (const c of e.criteria) {
    const lead = `${c.code.padEnd(codeWidth)}  ${STATUS[c.status].padEnd(7)}  ${c.source.padEnd(9)}  `;
    const pad = ' '.repeat(lead.length);
    out.push(`${lead}${criterionTitle(c.code)}`);
    for (const line of wrap(c.reason, 100)) out.push(`${pad}${line}`);
    if (c.evidence.length) for (const line of wrap(`evidence: ${c.evidence.join(', ')}`, 100)) out.push(`${pad}${line}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const record = readRecord(args.file);
  const date = args.date ?? record.date ?? today(systemClock);
  const options: EvaluateOptions = {
    evaluationDate: date,
    answers: args.answers ? readAnswers(args.answers) : [],
    nonPreferred: args.nonPreferred ?? record.nonPreferred ?? false,
    ...(args.order ? { orderId: args.order } : {}),
  };
  const evaluation = await new KineretEngine().evaluate(record.bundle, options);
  if (args.json) process.stdout.write(`${JSON.stringify({ ...evaluation, determination: toParameters(evaluation, date) }, null, 2)}\n`);
  else console.log(report(evaluation, date, args.file));
}

main().catch((e: Error) => {
  console.error(e instanceof EvaluationInputError ? `cannot evaluate: ${e.message}` : e.message);
  process.exit(1);
});
