/**
 * A DTR client of the adaptive form, for tests: the adaptive package for a corpus scenario, each
 * response's questions filled from the record and answered with the scenario's scripted answers,
 * and $next-question until the payer says the form is complete.
 */
import type { Bundle, Parameters, Questionnaire, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import type { Answer } from '../../src/core/types';
import type { ScenarioFile } from '../corpus';
import { splitScenario } from '../hook-requests';
import type { TestApp } from './app';
import { answer, items, populateScenario, responseItems } from './responses';

export const contained = (qr: QuestionnaireResponse) => qr.contained!.find((r) => r.resourceType === 'Questionnaire') as Questionnaire;
export const asked = (qr: QuestionnaireResponse) => items(contained(qr).item).map((i) => i.linkId);

/** The adaptive form's client against the test app `app()` (read when called: the app starts in beforeAll). */
export function adaptiveClient(app: () => TestApp) {
  const adaptiveUrl = () => app().services.content.adaptiveQuestionnaire.url!;

  function packageInput(s: ScenarioFile, questionnaire: string | null = adaptiveUrl()): Parameters {
    const { order, record } = splitScenario(s);
    const coverage = record.find((r) => r.resourceType === 'Coverage');
    const patient = record.find((r) => r.resourceType === 'Patient');
    return {
      resourceType: 'Parameters',
      parameter: [
        ...(coverage ? [{ name: 'coverage', resource: coverage }] : [{ name: 'coverage', resource: { resourceType: 'Coverage' as const, id: 'none', status: 'active' as const, beneficiary: { reference: `Patient/${patient!.id}` }, payor: [{ reference: 'Organization/payer' }] } }]),
        { name: 'order', resource: order },
        { name: 'referenced', resource: patient },
        ...(questionnaire ? [{ name: 'questionnaire', valueCanonical: questionnaire }] : []),
      ],
    };
  }

  async function adaptivePackage(s: ScenarioFile): Promise<{ q: Questionnaire; qr: QuestionnaireResponse; bundle: Bundle }> {
    const res = await app().fhirPost('/fhir/Questionnaire/$questionnaire-package', packageInput(s));
    expect(res.status).toBe(200);
    const bundle = (res.body as Parameters).parameter!.find((p) => p.name === 'PackageBundle')!.resource as Bundle;
    return {
      bundle,
      q: bundle.entry![0].resource as Questionnaire,
      qr: bundle.entry!.find((e) => e.resource?.resourceType === 'QuestionnaireResponse')!.resource as QuestionnaireResponse,
    };
  }

  /**
   * What a DTR client does with each adaptive response: it fills the questions asked and not yet
   * answered from the EHR record with the items' CQL (DTR: incremental population; here the
   * service's own population of the record stands in for the client's), then the clinician gives the
   * scripted answers to the questions asked (documentation answers go to their .text/.file items).
   */
  async function answerAsked(qr: QuestionnaireResponse, answers: Answer[], record?: ScenarioFile): Promise<QuestionnaireResponse> {
    const ids = new Set(asked(qr));
    const { engine, content } = app().services;
    let out = structuredClone(qr);
    if (record) {
      const populated = new Map(responseItems((await populateScenario(engine, content.questionnaire, record)).item).map((i) => [i.linkId, i] as const));
      // DTR spec-73: the client's population replaces the payer's prefill (origin auto) unless it finds nothing; a clinician's answer stays.
      const byClinician = (i: QuestionnaireResponseItem) => (i.answer ?? []).some((a) => JSON.stringify(a.extension ?? []).match(/"(override|manual)"/));
      for (const item of responseItems(out.item)) if (!byClinician(item) && populated.get(item.linkId)?.answer) item.answer = populated.get(item.linkId)!.answer;
    }
    const applicable = answers.filter((a) => ids.has(a.linkId) || ids.has(`${a.linkId}.text`) || ids.has(`${a.linkId}.file`));
    out = answer(content.questionnaire, out, applicable);
    out.status = qr.status;
    return out;
  }

  async function next(qr: QuestionnaireResponse, data?: Bundle) {
    const body: Parameters | QuestionnaireResponse = data
      ? { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: qr }, { name: 'data', resource: data }] }
      : qr;
    return app().fhirPost('/fhir/Questionnaire/$next-question', body);
  }

  /** Runs the adaptive form to completion; `check` sees every response on the way. */
  async function complete(s: ScenarioFile, answers: Answer[], data: Bundle | undefined = s.bundle, check: (qr: QuestionnaireResponse) => void = () => undefined) {
    let { qr } = await adaptivePackage(s);
    const steps: string[][] = [asked(qr)];
    for (let i = 0; i < 12 && qr.status !== 'completed'; i++) {
      const res = await next(await answerAsked(qr, answers, data ? s : undefined), data);
      expect({ step: i, status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ step: i, status: 200, body: null });
      qr = res.body as QuestionnaireResponse;
      check(qr);
      steps.push(asked(qr).filter((id) => !steps.flat().includes(id)));
    }
    expect(qr.status).toBe('completed');
    return { qr, steps };
  }

  return { packageInput, adaptivePackage, answerAsked, next, complete };
}
