/**
 * The DTR app (/dtr/): after the EHR launch, it reads the order and coverage from the EHR, gets
 * the questionnaire package from the payer, reads the record the payer's CQL needs, fills the form
 * with the shared prepopulation core (src/dtr/populate.ts) and the CQL run in the browser, shows
 * where each answer came from, keeps a draft on the device, saves the response to the EHR
 * (resuming an in-progress one), submits the prior authorization request to the plan (PAS) and
 * shows its answer (refreshable), with the payer's determination of each criterion.
 */
import type { Bundle, Coverage, Medication, MedicationRequest, Parameters, Patient, Practitioner, Questionnaire, QuestionnaireResponse } from 'fhir/r4';
import FHIR from 'fhirclient/lib/entry/browser';
import { populate, type LibraryResults, type PopulateOutput } from '../../src/dtr/populate';
import { runAdaptive } from './adaptive';
import { loadConfig } from './config';
import { BrowserEvaluator, criteriaOf } from './cql';
import { readDetermination } from './determination';
import { DraftStore } from './draft';
import { Ehr } from './ehr';
import { AppError, userMessage } from './errors';
import { evidenceFor, problemsByItem, type Evidence } from './evidence';
import { FormView, type ItemMark } from './form';
import { readLaunch, type Launch } from './launch-context';
import { nowIso, systemClock, today } from '../../src/core/clock';
import { markOrigins, originsByLinkId, type OriginAuthor } from './origin';
import { mainLibraryName, readPackage } from './package';
import { Payer } from './payer';
import { renderAuthorization } from './authorization';
import { buildInquiry, buildPasRequest, readAuthorization, type Authorization } from './pas';
import { fetchRecord, type PatientRecord } from './record';
import { documents, latest, toDtrResponse } from './response';
import { alertError, alertNotice, clearAlerts, renderContext, renderDetermination, renderEvidence, renderProblems, status, ui } from './view';

/** The browser's clock: the date the app sends with `$evaluate` and evaluates the CQL at. */
const clock = systemClock;

interface Session {
  launch: Launch;
  questionnaire: Questionnaire;
  ehr: Ehr;
  payer: Payer;
  record: PatientRecord;
  population: PopulateOutput;
  evidence: Map<string, Evidence>;
  form: FormView;
  drafts: DraftStore;
  /** What was loaded into the form (fresh population, resumed response or draft): the baseline for origins. */
  loaded: QuestionnaireResponse;
  /** The response's id on the EHR once it exists there. */
  savedId: string | undefined;
  /** The form's answers when last saved or seen: DOM events that change nothing are not edits. */
  snapshot: string;
  /** The clinician as author of override and manual answers. */
  author: OriginAuthor | null;
  order: MedicationRequest;
  coverage: Coverage | null;
  /** The prior authorization request last sent to the plan: its identifier, what it documented, the plan's answer. */
  pas: { identifier: { system: string; value: string }; documented: string; request: Bundle; answer: Authorization } | null;
}

async function readOrder(ehr: Ehr, reference: string): Promise<{ order: MedicationRequest; medication: Medication | null }> {
  const order = await ehr.read<MedicationRequest>(reference);
  const ref = order.medicationReference?.reference;
  const medication = ref && !ref.startsWith('#') ? await ehr.read<Medication>(ref) : null;
  return { order, medication };
}

/** The current answers (`form`: what the form holds, read now unless given), with origins, inside the DTR envelope. */
function currentResponse(s: Session, status: QuestionnaireResponse['status'], form = s.form.read()): QuestionnaireResponse {
  const marked = markOrigins({ current: form, loaded: s.loaded, auto: s.population.response, author: s.author });
  return toDtrResponse(marked, { ...s.population.response, ...(s.savedId ? { id: s.savedId } : {}) }, { author: s.launch.user, status });
}

function refreshMarks(s: Session, response: QuestionnaireResponse): void {
  const origins = originsByLinkId(response);
  // Items the record simply does not answer are the clinician's to answer, not problems to flag.
  const problems = new Map(problemsByItem(s.population.outcome, s.questionnaire).filter((p) => p.linkId && p.severity !== 'information').map((p) => [p.linkId!, p.message] as const));
  const marks = new Map<string, ItemMark>();
  for (const [linkId, source] of origins) {
    const ev = s.evidence.get(linkId);
    const title = source === 'auto' && ev
      ? `From the record (${ev.expression})${ev.records.length ? `\nEvidence: ${ev.records.map((r) => r.summary).join('; ')}` : ''}`
      : source === 'override' ? `You changed the answer the record gave (override, by ${s.launch.user ?? 'you'})` : source === 'manual' ? `Entered by ${s.launch.user ?? 'you'} (manual)` : 'From the record';
    marks.set(linkId, { source, title, problem: problems.get(linkId) });
  }
  for (const [linkId, problem] of problems) if (!marks.has(linkId)) marks.set(linkId, { source: 'problem', title: 'The record could not fill this item', problem });
  s.form.setMarks(marks);
}

function setBusy(busy: boolean): void {
  ui.save().disabled = busy;
  ui.submit().disabled = busy;
}

async function save(s: Session, responseStatus: QuestionnaireResponse['status']): Promise<QuestionnaireResponse> {
  const form = s.form.read();
  s.snapshot = JSON.stringify(form.item ?? []);
  const response = currentResponse(s, responseStatus, form);
  s.drafts.save(response);
  const saved = s.savedId ? await s.ehr.update({ ...response, id: s.savedId }) : await s.ehr.create(response);
  s.savedId = saved.id;
  s.drafts.clear();
  return saved;
}

async function onSave(s: Session): Promise<void> {
  setBusy(true);
  try {
    const saved = await save(s, 'in-progress');
    clearAlerts();
    status(`Saved to the EHR as QuestionnaireResponse/${saved.id} at ${new Date().toLocaleTimeString()}.`);
  } catch (e) {
    alertError(userMessage(e));
  } finally {
    setBusy(false);
  }
}

/** The prescriber named by the order, read from the EHR (null when it cannot be read: the request names it by reference). */
async function prescriber(s: Session): Promise<Practitioner | null> {
  const ref = s.order.requester?.reference;
  if (!ref?.includes('Practitioner/')) return null;
  return s.ehr.read<Practitioner>(ref).catch(() => null);
}

/**
 * Sends the prior authorization request for the saved, completed response. The same documentation is
 * sent under the same identifier (a retry the plan answers from its record); changed documentation
 * is a new request, which replaces the earlier one while that is still pended.
 */
async function submitToPlan(s: Session, saved: QuestionnaireResponse): Promise<void> {
  if (!s.coverage) throw new AppError('app', 'invalid', 'the EHR named no coverage for this order, so no prior authorization request can be sent to the plan');
  const documented = JSON.stringify(saved.item ?? []);
  const same = s.pas && s.pas.documented === documented ? s.pas : null;
  const identifier = same?.identifier ?? { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
  const replaces = !same && s.pas?.answer.status === 'pended' ? s.pas.identifier : null;
  const request = buildPasRequest({
    ehrBase: s.launch.ehrBase, identifier, replaces, response: saved, order: s.order, coverage: s.coverage, record: s.record.bundle,
    prescriber: await prescriber(s), now: nowIso(clock),
  });
  const answer = readAuthorization(await s.payer.submitClaim(request));
  s.pas = { identifier, documented, request, answer };
  showAuthorization(s);
}

function showAuthorization(s: Session): void {
  if (!s.pas) return;
  renderAuthorization(ui.authorization(), s.pas.answer, { request: s.pas.identifier.value, checkedAt: nowIso(clock), onRefresh: () => void onRefresh(s) });
}

/** Asks the plan for the request's current answer ($inquire): a reviewer may have decided since. */
async function onRefresh(s: Session): Promise<void> {
  if (!s.pas) return;
  try {
    status('Asking the plan for the current answer…');
    s.pas.answer = readAuthorization(await s.payer.inquire(buildInquiry(s.pas.request, nowIso(clock))));
    showAuthorization(s);
    clearAlerts();
    status(`The plan's answer was checked at ${new Date().toLocaleTimeString()}.`);
  } catch (e) {
    alertError(userMessage(e));
  }
}

async function onSubmit(s: Session): Promise<void> {
  const invalid = s.form.problems();
  if (invalid.length) {
    alertError(`Complete the form before submitting: ${invalid.join('; ')}`);
    return;
  }
  setBusy(true);
  try {
    status('Saving the completed response to the EHR…');
    const saved = await save(s, 'completed');
    status('Sending the prior authorization request to the plan…');
    await submitToPlan(s, saved);
    status('Getting the payer\u2019s determination of each criterion…');
    const answer = await s.payer.evaluate({
      resourceType: 'Parameters',
      parameter: [{ name: 'response', resource: saved }, { name: 'data', resource: s.record.bundle }, { name: 'date', valueDate: today(clock) }],
    });
    renderDetermination(readDetermination(answer));
    clearAlerts();
    status(`Submitted: saved on the EHR as QuestionnaireResponse/${saved.id}; the plan's answer and the determination of each criterion are below.`);
    ui.authorization().scrollIntoView({ block: 'start' });
  } catch (e) {
    alertError(userMessage(e));
  } finally {
    setBusy(false);
  }
}

async function start(): Promise<void> {
  status('Connecting to the EHR…');
  const config = await loadConfig();
  const client = await FHIR.oauth2.ready();
  const launch = readLaunch(client);
  if (launch.sandboxLabel) {
    ui.sandbox().hidden = false;
    ui.sandbox().textContent = `${launch.sandboxLabel}. The payer token comes from a ${config.payerToken?.label ?? 'development route'}.`;
  }
  const ehr = new Ehr(launch.ehrBase, () => client.state.tokenResponse?.access_token ?? '');
  const payer = new Payer(config);
  if (!launch.order) throw new AppError('app', 'invalid', 'The EHR launched the app without naming the order to document (appContext or fhirContext)');

  status('Reading the order and coverage from the EHR…');
  const [patient, { order, medication }, coverage] = await Promise.all([
    ehr.read<Patient>(`Patient/${launch.patientId}`),
    readOrder(ehr, launch.order),
    launch.coverage ? ehr.read<Coverage>(launch.coverage) : Promise.resolve(null),
  ]);
  renderContext({ patient, order, coverage, user: launch.user, ehr: launch.ehrBase });

  status('Getting the documentation requirements from the payer…');
  // The adaptive form when the launch (appContext form=adaptive) or the app's setting (DTR_FORM) asks for it.
  const adaptive = (launch.form ?? config.form) === 'adaptive';
  const questionnaire = adaptive ? config.adaptiveQuestionnaire : launch.questionnaire;
  const pkgInput: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      ...(coverage ? [{ name: 'coverage', resource: coverage }] : []),
      { name: 'order', resource: order },
      ...(questionnaire ? [{ name: 'questionnaire', valueCanonical: questionnaire }] : []),
      { name: 'referenced', resource: patient },
      ...(medication ? [{ name: 'referenced', resource: medication }] : []),
    ],
  };
  const pkg = readPackage(await payer.questionnairePackage(pkgInput));
  const mainLibrary = mainLibraryName(pkg.questionnaire);
  if (!mainLibrary) throw new AppError('payer', 'invalid', 'the questionnaire names no CQL library (cqf-library)');

  status('Reading the patient record the payer\u2019s rules need…');
  const record = await fetchRecord(ehr, pkg, { patient, order, coverage });

  const evaluator = new BrowserEvaluator(pkg.libraries, pkg.valueSets, mainLibrary);
  if (adaptive) {
    if (!pkg.payerDraft) throw new AppError('payer', 'invalid', 'the payer\'s adaptive package has no initial response');
    await runAdaptive({
      payer, initial: pkg.payerDraft, record: record.bundle,
      context: { patient: `Patient/${launch.patientId}`, user: launch.user ?? undefined, coverage: launch.coverage ?? undefined, order: launch.order },
      author: launch.user ? { reference: launch.user, role: launch.user === order.requester?.reference ? 'doctor' : null } : null,
      evaluate: () => evaluator.evaluate(record.bundle, { orderId: order.id, nonPreferred: config.kineretNonPreferred, date: today(clock) }),
      now: () => nowIso(clock),
      today: () => today(clock),
    });
    document.body.dataset.ready = 'true';
    return;
  }
  status('Filling in the form from the record…');
  let results: LibraryResults = {};
  const population = await populate({
    questionnaire: pkg.questionnaire,
    context: { patient: `Patient/${launch.patientId}`, user: launch.user ?? undefined, coverage: launch.coverage ?? undefined, order: launch.order },
    now: nowIso(clock),
    evaluate: async () => (results = await evaluator.evaluate(record.bundle, { orderId: order.id, nonPreferred: config.kineretNonPreferred, date: today(clock) })),
  });
  const evidence = evidenceFor({ questionnaire: pkg.questionnaire, populated: population.populated, criteria: criteriaOf(results, mainLibrary), bundle: record.bundle });

  const canonical = `${pkg.questionnaire.url}|${pkg.questionnaire.version}`;
  const drafts = new DraftStore({ patient: launch.patientId, order: launch.order, questionnaire: canonical });
  const inProgress = latest((await ehr.search(`QuestionnaireResponse?subject=${encodeURIComponent(`Patient/${launch.patientId}`)}&status=in-progress`))
    .filter((r): r is QuestionnaireResponse => r.resourceType === 'QuestionnaireResponse' && documents(r, canonical, launch.order!)));
  const draft = drafts.load();
  const loaded = draft?.response ?? inProgress ?? population.response;
  const session: Session = {
    launch, questionnaire: pkg.questionnaire, ehr, payer, record, population, evidence, drafts, loaded,
    form: new FormView(ui.form()),
    savedId: draft?.response.id ?? inProgress?.id,
    snapshot: '',
    // The prescriber filling in the form is a doctor; for anyone else the role is not known to the app.
    author: launch.user ? { reference: launch.user, role: launch.user === order.requester?.reference ? 'doctor' : null } : null,
    order,
    coverage,
    pas: null,
  };

  renderProblems(problemsByItem(population.outcome, pkg.questionnaire), [
    ...(pkg.outcome?.issue ?? []).map((i) => `Payer: ${i.diagnostics ?? i.code}`),
    ...record.problems,
  ]);
  renderEvidence(evidence, null);
  status('Rendering the form…');
  await session.form.render(pkg.questionnaire, loaded);
  session.form.onMarkSelected((linkId) => renderEvidence(evidence, linkId));
  refreshMarks(session, currentResponse(session, 'in-progress'));
  // LHC-Forms raises DOM events that change nothing (focus, re-render): only a real change is a draft.
  session.snapshot = JSON.stringify(session.form.read().item ?? []);
  session.form.onEdit(() => {
    const form = session.form.read();
    const now = JSON.stringify(form.item ?? []);
    if (now === session.snapshot) return;
    session.snapshot = now;
    const response = currentResponse(session, 'in-progress', form);
    session.drafts.save(response);
    refreshMarks(session, response);
    status(`Draft kept on this device at ${new Date().toLocaleTimeString()}; not yet saved to the EHR.`);
  });
  ui.save().onclick = () => void onSave(session);
  ui.submit().onclick = () => void onSubmit(session);
  setBusy(false);
  if (draft) alertNotice(`Restored your answers from this device (kept at ${new Date(draft.savedAt).toLocaleString()}); they are not yet saved to the EHR.`);
  else if (inProgress) alertNotice(`Resumed the in-progress documentation saved on the EHR (QuestionnaireResponse/${inProgress.id}).`);
  status(`Ready. ${Object.keys(population.populated).length} answer(s) were filled from the record; check them, answer the rest, then save or submit.`);
  document.body.dataset.ready = 'true';
}

start().catch((e: unknown) => {
  alertError(userMessage(e));
  status('The documentation could not be opened.');
  document.body.dataset.ready = 'error';
});
