/**
 * Writes examples/next-question-requests.json: the $next-question requests of one adaptive form,
 * in order, as the ONC Inferno DTR payer suite takes them ("Next Question Requests", manual flow: a
 * JSON list, each posted to {base}/Questionnaire/$next-question). They are made by running the
 * adaptive form on the service itself, for the example patient (examples/populate.json's record),
 * from the package of examples/questionnaire-package.json: at each step a DTR client fills what the
 * record answers and the clinician gives the answers of the scenario ra-mtx-failure-approved; the
 * last request completes the form. Requests are bare QuestionnaireResponses, as Inferno sends them
 * (no record: the service knows the answers only). For the default PUBLIC_BASE_URL
 * (http://localhost:3000), at the corpus date.
 *
 * `npm run examples` writes the file; a test fails when it is stale (test/conformance/examples.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Parameters, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { createServices, type Services } from '../src/app';
import { openAuditStore } from '../src/audit/open';
import { fixedClock } from '../src/core/clock';
import { loadConfig } from '../src/config';
import type { Answer } from '../src/core/types';
import { nextQuestionOperation, questionnairePackage } from '../src/dtr/operations';
import { populate } from '../src/dtr/populate';
import { ROOT } from '../src/paths';

export const EXAMPLES_DIR = path.join(ROOT, 'examples');
export const NEXT_QUESTION_FILE = path.join(EXAMPLES_DIR, 'next-question-requests.json');
export const EXAMPLE_BASE = 'http://localhost:3000';
const SCENARIO = path.join(ROOT, 'test', 'fixtures', 'scenarios', 'ra-mtx-failure-approved.json');

const read = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

function responseItems(list: QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] {
  return (list ?? []).flatMap((i) => [i, ...responseItems(i.item)]);
}

/** A clinician's answer in a response: the value and information-origin `manual` with the clinician as author (DTR dtrx-1). */
function write(item: QuestionnaireResponseItem, a: Answer): void {
  const value = a.valueCodes ? a.valueCodes.map((code) => ({ valueCoding: { code } }))
    : a.valueCode !== undefined && a.valueCode !== null ? [{ valueCoding: { code: a.valueCode } }]
    : typeof a.valueBoolean === 'boolean' ? [{ valueBoolean: a.valueBoolean }]
    : typeof a.valueDecimal === 'number' ? [{ valueDecimal: a.valueDecimal }]
    : [{ valueString: a.valueString ?? '' }];
  const origin = { url: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin', extension: [
    { url: 'source', valueCode: 'manual' },
    { url: 'author', extension: [{ url: 'practitioner', valueReference: { reference: 'Practitioner/dr-rheum' } }] },
  ] };
  item.answer = value.map((v) => ({ ...v, extension: [origin] })) as never;
}

/** The example requests, made on `services` (its clock fixed at the corpus date, its base the default one). */
export async function nextQuestionExamples(services: Services): Promise<QuestionnaireResponse[]> {
  const record = (read<Parameters>(path.join(EXAMPLES_DIR, 'populate.json')).parameter!.find((p) => p.name === 'data')!.resource) as Bundle;
  const scenario = read<{ answers?: Answer[]; evaluationDate: string }>(SCENARIO);
  const pkg = await questionnairePackage(read(path.join(EXAMPLES_DIR, 'questionnaire-package.json')), services, { questionnaireId: 'kineret-pa-adaptive' });
  if (pkg.status !== 200) throw new Error(`the adaptive package: ${pkg.status} ${JSON.stringify(pkg.body)}`);
  const bundle = (pkg.body as Parameters).parameter!.find((p) => p.name === 'PackageBundle')!.resource as Bundle;
  let qr = bundle.entry!.find((e) => e.resource?.resourceType === 'QuestionnaireResponse')!.resource as QuestionnaireResponse;
  // What a DTR client's CQL finds in the EHR record (the service's own population of the record stands in for it).
  const { response: fromRecord } = await populate({
    questionnaire: services.content.questionnaire,
    context: { patient: 'Patient/ra-mtx', coverage: 'Coverage/cov', order: 'MedicationRequest/kineret-order' },
    now: `${scenario.evaluationDate}T12:00:00.000Z`,
    evaluate: () => services.engine.evaluateLibraries(record, { orderId: 'kineret-order', evaluationDate: scenario.evaluationDate }),
  });
  const populated = new Map(responseItems(fromRecord.item).filter((i) => i.answer?.length).map((i) => [i.linkId, i.answer!] as const));
  const requests: QuestionnaireResponse[] = [];
  for (let step = 0; qr.status !== 'completed'; step++) {
    if (step > 12) throw new Error('the adaptive form did not complete in 12 steps');
    const request = structuredClone(qr);
    for (const item of responseItems(request.item)) {
      const given = populated.get(item.linkId);
      if (given) item.answer = structuredClone(given);
      // A documentation answer (text) goes to the group's .text item.
      const scripted = (scenario.answers ?? []).find((a) => (a.valueString !== undefined && `${a.linkId}.text` === item.linkId) ||
        (a.linkId === item.linkId && !(a.valueString !== undefined && item.item?.some((c) => c.linkId === `${a.linkId}.text`))));
      if (scripted) write(item, scripted);
    }
    requests.push(request);
    const res = await nextQuestionOperation(request, services);
    if (res.status !== 200) throw new Error(`$next-question, step ${step}: ${res.status} ${JSON.stringify(res.body)}`);
    qr = res.body as QuestionnaireResponse;
  }
  return requests;
}

export async function exampleServices(): Promise<Services> {
  const config = loadConfig({ PUBLIC_BASE_URL: EXAMPLE_BASE, SANDBOX: 'off', LOG_LEVEL: 'silent', DATABASE_URL: ':memory:', AUTH: 'off' } as NodeJS.ProcessEnv);
  const scenario = read<{ evaluationDate: string }>(SCENARIO);
  const clock = fixedClock(scenario.evaluationDate);
  return createServices(config, { store: await openAuditStore(':memory:', { clock }), clock });
}

export const examplesText = (requests: QuestionnaireResponse[]) => `${JSON.stringify(requests, null, 2)}\n`;

if (require.main === module) {
  void (async () => {
    const services = await exampleServices();
    const requests = await nextQuestionExamples(services);
    writeFileSync(NEXT_QUESTION_FILE, examplesText(requests));
    await services.store.close();
    console.log(`wrote ${requests.length} $next-question requests to ${path.relative(process.cwd(), NEXT_QUESTION_FILE)}`);
  })();
}
