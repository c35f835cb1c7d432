/**
 * The adaptive form in the DTR app (DTR STU 2.0.1 adaptive questionnaires): the payer's initial
 * response holds the first questions in a contained Questionnaire; the app fills the questions
 * asked from the EHR record with their CQL (DTR: incremental population; its results replace the
 * payer's prefill, a clinician's answers stay), the clinician answers, and "Next questions" sends
 * the response, with the record, to the payer's $next-question, until the payer says it is
 * complete. Submit then does what the standard form's does: the completed response (naming its
 * contained Questionnaire) is saved on the EHR, sent to the plan as the prior authorization request
 * (./plan.ts: PAS, the plan's answer shown and refreshable), and evaluated for the determination in
 * words; the form becomes read-only. A failure says what failed and keeps the answers in the form, to
 * submit again. Kept small: the standard form's draft-on-device, EHR resume and earlier-request
 * lookup are not offered here.
 */
import type { FhirResource, Questionnaire, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { populate, type LaunchContext, type LibraryResults } from '../../src/dtr/populate';
import { AppError, userMessage } from './errors';
import { FormView } from './form';
import { markOrigins, originOf, originsByLinkId, type OriginAuthor } from './origin';
import { readDetermination } from './determination';
import { describeOutcome } from './outcome';
import { showSubmitted, submitToPlan, writeResponse, type PlanContext } from './plan';
import { alertError, clearAlerts, renderOutcome, status, ui } from './view';

export interface AdaptiveDeps {
  /** The EHR and payer sessions, the order's resources and record, and the request to the plan (none yet). */
  plan: PlanContext;
  /** The payer's initial adaptive response (from the package). */
  initial: QuestionnaireResponse;
  /** The record's resources by reference, and how to show one (the evidence links of the answer). */
  records: Map<string, FhirResource>;
  open: (reference: string) => void;
  context: LaunchContext;
  author: OriginAuthor | null;
  /** Evaluates the package's CQL for the record (the browser evaluator). */
  evaluate: () => Promise<LibraryResults>;
  now: () => string;
  today: () => string;
}

function containedQuestionnaire(qr: QuestionnaireResponse): Questionnaire {
  const id = qr.questionnaire?.startsWith('#') ? qr.questionnaire.slice(1) : null;
  const q = (qr.contained ?? []).find((r): r is Questionnaire => r.resourceType === 'Questionnaire' && r.id === id);
  if (!q) throw new AppError('payer', 'invalid', 'the payer\'s adaptive response has no contained Questionnaire');
  return q;
}

const byClinician = (item: QuestionnaireResponseItem) => (item.answer ?? []).some((a) => ['override', 'manual'].includes(originOf(a) ?? ''));

/** The payer's response with the record's answers (the client's population) for the questions asked, a clinician's answers kept. */
async function fill(qr: QuestionnaireResponse, deps: AdaptiveDeps): Promise<{ response: QuestionnaireResponse; fromRecord: QuestionnaireResponse }> {
  const { response: fromRecord } = await populate({ questionnaire: containedQuestionnaire(qr), context: deps.context, now: deps.now(), evaluate: deps.evaluate });
  const found = new Map<string, QuestionnaireResponseItem>();
  const index = (items: QuestionnaireResponseItem[] | undefined) => { for (const i of items ?? []) { found.set(i.linkId, i); index(i.item); } };
  index(fromRecord.item);
  const merge = (items: QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] | undefined => items?.map((i) => {
    const record = found.get(i.linkId)?.answer;
    return { ...i, ...(record?.length && !byClinician(i) ? { answer: record } : {}), ...(i.item ? { item: merge(i.item) } : {}) };
  });
  return { response: { ...qr, item: merge(qr.item) }, fromRecord };
}

export async function runAdaptive(deps: AdaptiveDeps): Promise<void> {
  const form = new FormView(ui.form());
  let current = deps.initial;
  let loaded = deps.initial;
  let fromRecord = deps.initial;
  const next = ui.save();
  next.textContent = 'Next questions';
  const show = async (qr: QuestionnaireResponse) => {
    status('Filling in the new questions from the record…');
    ({ response: loaded, fromRecord } = await fill(qr, deps));
    current = loaded;
    await form.render(containedQuestionnaire(current), current);
    form.setMarks(new Map([...originsByLinkId(current)].map(([linkId, source]) => [linkId, { source, title: source === 'auto' ? 'From the record' : 'Your answer' }])));
    const done = current.status === 'completed';
    // How many groups of questions this form has shown (for tests and assistive tools: a new group is a new page state).
    document.body.dataset.adaptiveStep = String(Number(document.body.dataset.adaptiveStep ?? '0') + 1);
    next.disabled = done;
    ui.submit().disabled = !done;
    status(done ? 'All questions asked. Check the answers, then submit to the plan.' : 'Answer these questions, then ask for the next ones.');
  };
  /** The form's answers, with their origins, in the adaptive response (its contained Questionnaire, context and subject). */
  const read = (): QuestionnaireResponse => {
    const marked = markOrigins({ current: form.read(), loaded, auto: fromRecord, author: deps.author });
    return { ...current, item: marked.item ?? [], ...(deps.author ? { author: { reference: deps.author.reference } } : {}) };
  };
  next.onclick = async () => {
    const invalid = form.problems();
    if (invalid.length) return alertError(`Answer these before the next questions: ${invalid.join('; ')}`);
    next.disabled = true;
    try {
      status('Asking the plan for the next questions…');
      const answer = await deps.plan.payer.nextQuestion({ resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: read() }, { name: 'data', resource: deps.plan.record.bundle }] });
      clearAlerts();
      await show(answer);
    } catch (e) {
      alertError(userMessage(e, 'page'));
      next.disabled = false;
    }
  };
  /** The response's id on the EHR once saved (a submission tried again updates it). */
  let savedId: string | undefined;
  ui.submit().onclick = async () => {
    const invalid = form.problems();
    if (invalid.length) return alertError(`Correct these values before submitting: ${invalid.join('; ')}`);
    ui.submit().disabled = true;
    let submitted = false;
    try {
      status('Saving the completed response to the EHR…');
      const saved = await writeResponse(deps.plan.ehr, { ...read(), status: 'completed' }, savedId);
      savedId = saved.id;
      status('Sending the prior authorization request to the plan…');
      await submitToPlan(deps.plan, saved);
      status('Getting the plan\u2019s determination of each criterion…');
      const answer = await deps.plan.payer.evaluate({
        resourceType: 'Parameters',
        parameter: [{ name: 'response', resource: saved }, { name: 'data', resource: deps.plan.record.bundle }, { name: 'date', valueDate: deps.today() }],
      });
      const determination = readDetermination(answer);
      submitted = true;
      form.setReadOnly();
      renderOutcome({ outcome: describeOutcome(determination), determination, records: deps.records, savedAs: `QuestionnaireResponse/${saved.id}`, open: deps.open });
      showSubmitted(saved);
    } catch (e) {
      alertError(userMessage(e, 'page'));
    } finally {
      if (!submitted) ui.submit().disabled = false;
    }
  };
  await show(current);
}
