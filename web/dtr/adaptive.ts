/**
 * The adaptive form in the DTR app (DTR STU 2.0.1 adaptive questionnaires): the payer's initial
 * response holds the first questions in a contained Questionnaire; the app fills the questions
 * asked from the EHR record with their CQL (DTR: incremental population; its results replace the
 * payer's prefill, a clinician's answers stay), the clinician answers, and "Next questions" sends
 * the response, with the record, to the payer's $next-question, until the payer says it is
 * complete; then it is submitted for a determination as the standard form is. Kept small: the
 * standard form's draft-on-device and EHR resume are not offered here.
 */
import type { Bundle, FhirResource, Questionnaire, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { populate, type LaunchContext, type LibraryResults } from '../../src/dtr/populate';
import { AppError, userMessage } from './errors';
import { FormView } from './form';
import { markOrigins, originOf, originsByLinkId, type OriginAuthor } from './origin';
import type { Payer } from './payer';
import { readDetermination } from './determination';
import { describeOutcome } from './outcome';
import { alertError, clearAlerts, renderOutcome, status, ui } from './view';

export interface AdaptiveDeps {
  payer: Payer;
  /** The payer's initial adaptive response (from the package). */
  initial: QuestionnaireResponse;
  record: Bundle;
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
      const answer = await deps.payer.nextQuestion({ resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: read() }, { name: 'data', resource: deps.record }] });
      clearAlerts();
      await show(answer);
    } catch (e) {
      alertError(userMessage(e));
      next.disabled = false;
    }
  };
  ui.submit().onclick = async () => {
    ui.submit().disabled = true;
    try {
      status('Sending the response to the plan for a determination…');
      const answer = await deps.payer.evaluate({
        resourceType: 'Parameters',
        parameter: [{ name: 'response', resource: { ...read(), status: 'completed' } }, { name: 'data', resource: deps.record }, { name: 'date', valueDate: deps.today() }],
      });
      const determination = readDetermination(answer);
      form.setReadOnly();
      ui.actions().hidden = true;
      renderOutcome({ outcome: describeOutcome(determination), determination, records: deps.records, savedAs: null, open: deps.open });
      clearAlerts();
      status('Submitted: the plan\'s answer is below.');
      document.body.dataset.submitted = 'true';
      ui.determination().scrollIntoView({ block: 'start' });
    } catch (e) {
      alertError(userMessage(e));
      ui.submit().disabled = false;
    }
  };
  await show(current);
}
