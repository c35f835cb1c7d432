/**
/**
 * The DTR app (/dtr/): after the EHR launch it opens its payer session from the verified launch,
 * reads the order and coverage (the order from the launch or the plan's record when the EHR has no
 * copy; and stops, saying what to do, when there is no order or no active coverage), gets the
 * questionnaire package from the payer, reads the record the payer's CQL needs, fills the form with
 * the shared prepopulation core (src/dtr/populate.ts) and the CQL run in the browser, shows where each
 * answer came from and what the plan still needs, keeps a draft on the device, saves the response to
 * the EHR (resuming an in-progress one), and submits the prior authorization request to the plan
 * (PAS): the plan's answer (refreshable), the determination in words a clinician can act on, the form
 * read-only, and the next steps. At launch it asks the plan for an earlier request for the same order
 * (./earlier.ts): one still pended is shown, and the submission updates it (Claim.related). With DTR_FORM=adaptive (or form=adaptive in the launch's appContext)
 * the payer's adaptive form is asked a group of questions at a time (./adaptive.ts).
 */
import type { Coverage, FhirResource, Medication, MedicationRequest, Parameters, Patient, Questionnaire, QuestionnaireResponse } from 'fhir/r4';
import FHIR from 'fhirclient/lib/entry/browser';
import { CRD } from '../../src/constants';
import { nowIso, systemClock, today } from '../../src/core/clock';
import { flattenAnswers } from '../../src/dtr/answers';
import { populate, type LibraryResults, type PopulateOutput } from '../../src/dtr/populate';
import { runAdaptive } from './adaptive';
import { loadConfig } from './config';
import { BrowserEvaluator, criteriaOf } from './cql';
import { readDetermination } from './determination';
import { DraftStore } from './draft';
import { Ehr } from './ehr';
import { AppError, userMessage } from './errors';
import { evidenceFor, problemsByItem, recordIndex, type Evidence } from './evidence';
import { FormView, type ItemMark } from './form';
import { launchCredentials, readLaunch, type Launch } from './launch-context';
import { neededAnswers, type Need } from './needs';
import { markOrigins, originsByLinkId, type OriginAuthor } from './origin';
import { describeOutcome } from './outcome';
import { mainLibraryName, readPackage } from './package';
import { Payer } from './payer';
import { lookUpEarlier } from './earlier';
import { orderInquiry, showEarlier, showSubmitted, submitToPlan, writeResponse, type PlanContext, type PlanRequest } from './plan';
import { fetchRecord } from './record';
import { documents, latest, toDtrResponse } from './response';
import {
  alertError, alertNotice, clearAlerts, confirmSubmit, openRecordEntry, renderContext, renderEvidence, renderGate, renderOutcome, renderProblems, status, ui,
} from './view';

/** The browser's clock: the date the app sends with `$evaluate` and evaluates the CQL at. */
const clock = systemClock;

interface Session extends PlanContext {
  questionnaire: Questionnaire;
  resources: Map<string, FhirResource>;
  evaluator: BrowserEvaluator;
  mainLibrary: string;
  orderId: string;
  nonPreferred: boolean;
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
  /** What the plan still needs, as of the last evaluation with the current answers. */
  needs: Need[];
  /** The answers changed since the needs were last evaluated. */
  needsDirty: boolean;
  /** The evaluation running now, if any. */
  needsRunning: Promise<Need[]> | null;
  submitted: boolean;
  /** The prior authorization request for this order at the plan (./plan.ts). */
  pas: PlanRequest | null;
}

/** A stop before any form is shown: why, and what to do. */
class Gate extends Error {
  override readonly name = 'Gate';
  constructor(readonly id: string, readonly title: string, message: string, readonly steps: string[]) {
    super(message);
  }
}

const notFound = (e: unknown) => e instanceof AppError && e.party === 'ehr' && (e.status === 404 || e.status === 410);

/**
 * The order to document: the EHR's copy; when the EHR has none (a draft it never saved), the one the
 * launch carries, or the one the plan recorded from the EHR's order-sign call.
 */
async function resolveOrder(ehr: Ehr, payer: Payer, launch: Launch): Promise<{ order: MedicationRequest; source: string }> {
  const reference = launch.order!;
  try {
    return { order: await ehr.read<MedicationRequest>(reference), source: 'from the EHR' };
  } catch (e) {
    if (!notFound(e)) throw e;
  }
  if (launch.orderResource && `MedicationRequest/${launch.orderResource.id}` === reference) return { order: launch.orderResource, source: 'as the EHR launched it; the EHR has no saved copy' };
  const recorded = await payer.recordedOrder(reference);
  if (recorded) return { order: recorded, source: 'as the plan recorded it when the order was signed; the EHR has no saved copy' };
  throw new Gate('order-not-found', 'The order is not in the EHR',
    `The EHR has no copy of ${reference}, and the plan has no record of it from the order's signing, so there is nothing to document yet.`,
    ['Sign (or save) the Kineret order in the EHR, so that the plan\'s coverage check runs for it.', 'Then open the documentation again from the order or from its prior authorization card.']);
}

async function readMedication(ehr: Ehr, order: MedicationRequest): Promise<Medication | null> {
  const ref = order.medicationReference?.reference;
  if (!ref || ref.startsWith('#')) return null;
  try {
    return await ehr.read<Medication>(ref);
  } catch (e) {
    if (notFound(e)) return null;
    throw e;
  }
}

async function readIfThere<T extends FhirResource>(ehr: Ehr, reference: string | null | undefined): Promise<T | null> {
  if (!reference) return null;
  try {
    return await ehr.read<T>(reference);
  } catch (e) {
    if (notFound(e)) return null;
    throw e;
  }
}

/**
 * The member's coverage for the order: the one the launch names, else the one the plan named in its
 * coverage assertion on the order, else the order's insurance, else the patient's one active Coverage.
 * Null when there is none active.
 */
async function resolveCoverage(ehr: Ehr, launch: Launch, order: MedicationRequest): Promise<Coverage | null> {
  const assertion = order.extension?.find((e) => e.url === CRD.coverageInformationUrl)?.extension?.find((e) => e.url === 'coverage')?.valueReference?.reference;
  for (const reference of [launch.coverage, assertion, order.insurance?.[0]?.reference]) {
    const coverage = await readIfThere<Coverage>(ehr, reference);
    if (coverage?.status === 'active') return coverage;
  }
  const found = (await ehr.search(`Coverage?patient=${encodeURIComponent(launch.patientId)}&status=active`))
    .filter((r): r is Coverage => r.resourceType === 'Coverage' && r.status === 'active');
  return found.length === 1 ? found[0] : found.sort((a, b) => (a.order ?? 99) - (b.order ?? 99))[0] ?? null;
}

const NO_COVERAGE_STEPS = [
  'Verify the member\'s eligibility with the plan (its portal or phone line, or the EHR\'s eligibility check).',
  'Add or update the member\'s coverage in the EHR.',
  'Sign the Kineret order again: the plan\'s coverage check runs again and offers this documentation.',
];

/** The current answers (`form`: what the form holds, read now unless given), with origins, inside the DTR envelope. */
function currentResponse(s: Session, responseStatus: QuestionnaireResponse['status'], form = s.form.read()): QuestionnaireResponse {
  const marked = markOrigins({ current: form, loaded: s.loaded, auto: s.population.response, author: s.author });
  return toDtrResponse(marked, { ...s.population.response, ...(s.savedId ? { id: s.savedId } : {}) }, { author: s.launch.user, status: responseStatus });
}

function refreshMarks(s: Session, response: QuestionnaireResponse): void {
  const origins = originsByLinkId(response);
  // Items the record simply does not answer are the clinician's to answer, not problems to flag.
  const problems = new Map(problemsByItem(s.population.outcome, s.questionnaire).filter((p) => p.linkId && p.severity !== 'information').map((p) => [p.linkId!, p.message] as const));
  const marks = new Map<string, ItemMark>();
  for (const [linkId, source] of origins) {
    const ev = s.evidence.get(linkId);
    const because = ev ? [...ev.criteria.map((c) => c.reason).filter(Boolean), ...ev.records.map((r) => `${r.text}${r.date ? `, ${r.date}` : ''}`)].join('\n') : '';
    const title = source === 'auto'
      ? `From the record${because ? `:\n${because}` : ''}\n(click to see the record entries)`
      : source === 'override' ? `You changed the answer the record gave (override, by ${s.launch.user ?? 'you'})` : `Entered by ${s.launch.user ?? 'you'}`;
    marks.set(linkId, { source, title, problem: problems.get(linkId) });
  }
  for (const [linkId, problem] of problems) if (!marks.has(linkId)) marks.set(linkId, { source: 'problem', title: 'The record could not fill this item', problem });
  s.form.setMarks(marks);
}

/**
 * Evaluates the plan's CQL with the current answers and marks what it still needs. One evaluation at
 * a time: edits made while one runs are evaluated together once it ends (an evaluation takes from a
 * tenth of a second to a few seconds on a busy machine, and answers come faster than that). Resolves
 * with the needs of the latest answers; body[data-needs] is "checking" meanwhile, then "current".
 */
function refreshNeeds(s: Session): Promise<Need[]> {
  s.needsDirty = true;
  document.body.dataset.needs = 'checking';
  s.needsRunning ??= (async () => {
    try {
      while (s.needsDirty && !s.submitted) {
        s.needsDirty = false;
        const response = currentResponse(s, 'in-progress');
        const started = performance.now();
        const results = await s.evaluator.evaluate(s.record.bundle, { orderId: s.orderId, nonPreferred: s.nonPreferred, date: today(clock), answers: flattenAnswers(response) });
        // How long the plan's rules took in this browser (for whoever wonders why the marks lag).
        document.body.dataset.needsMs = String(Math.round(performance.now() - started));
        if (s.needsDirty || s.submitted) continue;
        s.needs = neededAnswers({ questionnaire: s.questionnaire, criteria: criteriaOf(results, s.mainLibrary), response, shown: s.form.shown() });
        s.form.setNeeded(new Map(s.needs.flatMap((n) => n.items.map((i) => [i.linkId, n.reason ? `${n.title}: ${n.reason}` : n.title] as const))));
      }
      return s.needs;
    } finally {
      s.needsRunning = null;
      document.body.dataset.needs = 'current';
    }
  })();
  return s.needsRunning;
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
  const saved = await writeResponse(s.ehr, response, s.savedId);
  s.savedId = saved.id;
  s.drafts.clear();
  return saved;
}

async function onSave(s: Session): Promise<void> {
  setBusy(true);
  try {
    const saved = await save(s, 'in-progress');
    clearAlerts();
    status(`Saved to the EHR as QuestionnaireResponse/${saved.id} at ${new Date().toLocaleTimeString()}. Submit to the plan when the answers are complete.`);
  } catch (e) {
    alertError(userMessage(e));
  } finally {
    setBusy(false);
  }
}

async function onSubmit(s: Session): Promise<void> {
  const invalid = s.form.problems();
  if (invalid.length) {
    alertError(`Correct these values before submitting: ${invalid.join('; ')}`);
    return;
  }
  setBusy(true);
  try {
    status('Checking what the plan still needs…');
    const needs = await refreshNeeds(s);
    if (needs.length && !(await confirmSubmit(needs, (linkId) => s.form.goTo(linkId)))) {
      status('Not submitted: answer the questions marked Needed, then submit.');
      return;
    }
    status('Saving the completed response to the EHR…');
    const saved = await save(s, 'completed');
    status('Sending the prior authorization request to the plan…');
    await submitToPlan(s, saved);
    status('Getting the plan\u2019s determination of each criterion…');
    const answer = await s.payer.evaluate({
      resourceType: 'Parameters',
      parameter: [{ name: 'response', resource: saved }, { name: 'data', resource: s.record.bundle }, { name: 'date', valueDate: today(clock) }],
    });
    const determination = readDetermination(answer);
    s.submitted = true;
    s.form.setNeeded(new Map());
    s.form.setReadOnly();
    renderOutcome({
      outcome: describeOutcome(determination), determination, records: s.resources, savedAs: `QuestionnaireResponse/${saved.id}`,
      open: (reference) => openEntry(s, reference),
    });
    showSubmitted(saved);
  } catch (e) {
    alertError(userMessage(e));
  } finally {
    if (!s.submitted) setBusy(false);
  }
}

function openEntry(s: Session, reference: string): void {
  const resource = s.resources.get(reference);
  if (resource) openRecordEntry(resource);
}

async function start(): Promise<void> {
  status('Connecting to the EHR…');
  const config = await loadConfig();
  const client = await FHIR.oauth2.ready();
  const launch = readLaunch(client);
  if (launch.sandboxLabel) {
    ui.sandbox().hidden = false;
    ui.sandbox().textContent = `${launch.sandboxLabel}.`;
  }
  const ehr = new Ehr(launch.ehrBase, () => client.state.tokenResponse?.access_token ?? '');
  if (!launch.order) {
    throw new Gate('no-order', 'No order to document', 'The EHR opened the documentation without naming the Kineret order it is for.',
      ['Open the documentation from the Kineret order in the EHR: its prior authorization card, or the order\'s documentation link.']);
  }

  status('Checking this launch with the plan…');
  const payer = new Payer(config, launchCredentials(client, launch));
  await payer.openSession();

  status('Reading the order and coverage from the EHR…');
  const [patient, { order, source }] = await Promise.all([ehr.read<Patient>(`Patient/${launch.patientId}`), resolveOrder(ehr, payer, launch)]);
  const [medication, coverage] = await Promise.all([readMedication(ehr, order), resolveCoverage(ehr, launch, order)]);
  renderContext({ patient, order, orderSource: source, coverage, user: launch.user, ehr: launch.ehrBase });
  if (!coverage) {
    throw new Gate('no-coverage', 'No active coverage was found for this patient',
      'The plan needs the member\'s coverage to take a prior authorization request, and the EHR has no active coverage for this patient. Nothing can be sent to the plan until it is added.',
      NO_COVERAGE_STEPS);
  }
  const orderReference = `MedicationRequest/${order.id}`;
  const assertionId = order.extension?.find((e) => e.url === CRD.coverageInformationUrl)?.extension?.find((e) => e.url === 'coverage-assertion-id')?.valueString;

  status('Getting the documentation requirements from the plan…');
  // The adaptive form when the launch (appContext form=adaptive) or the app's setting (DTR_FORM) asks for it.
  const adaptive = (launch.form ?? config.form) === 'adaptive';
  const questionnaire = adaptive ? config.adaptiveQuestionnaire : launch.questionnaire;
  const pkgInput: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'coverage', resource: coverage },
      { name: 'order', resource: order },
      ...(questionnaire ? [{ name: 'questionnaire', valueCanonical: questionnaire }] : []),
      // DTR: the CRD coverage-assertion-id, when the order carries it.
      ...(assertionId ? [{ name: 'context', valueString: assertionId }] : []),
      { name: 'referenced', resource: patient },
      ...(medication ? [{ name: 'referenced', resource: medication }] : []),
    ],
  };
  // Meanwhile, the plan is asked for an earlier request for this order (an earlier launch may have sent one).
  const earlier = adaptive ? null : lookUpEarlier(
    async () => payer.inquire(await orderInquiry({ launch, ehr, patient, order, coverage }, null)),
    { ehrBase: launch.ehrBase, orderId: order.id! },
  );
  const pkg = readPackage(await payer.questionnairePackage(pkgInput));
  const mainLibrary = mainLibraryName(pkg.questionnaire);
  if (!mainLibrary) throw new AppError('payer', 'invalid', 'the questionnaire names no CQL library (cqf-library)');

  status('Reading the patient record the plan\u2019s rules need…');
  const record = await fetchRecord(ehr, pkg, { patient, order, coverage });

  const evaluator = new BrowserEvaluator(pkg.libraries, pkg.valueSets, mainLibrary);
  const resources = recordIndex(record.bundle);
  if (adaptive) {
    if (!pkg.payerDraft) throw new AppError('payer', 'invalid', 'the payer\'s adaptive package has no initial response');
    await runAdaptive({
      plan: { launch, ehr, payer, record, patient, order, coverage, pas: null },
      initial: pkg.payerDraft, records: resources,
      open: (reference) => { const resource = resources.get(reference); if (resource) openRecordEntry(resource); },
      context: { patient: `Patient/${launch.patientId}`, user: launch.user ?? undefined, coverage: `Coverage/${coverage.id}`, order: orderReference },
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
    context: { patient: `Patient/${launch.patientId}`, user: launch.user ?? undefined, coverage: `Coverage/${coverage.id}`, order: orderReference },
    now: nowIso(clock),
    evaluate: async () => (results = await evaluator.evaluate(record.bundle, { orderId: order.id, nonPreferred: config.kineretNonPreferred, date: today(clock) })),
  });
  const evidence = evidenceFor({ questionnaire: pkg.questionnaire, populated: population.populated, criteria: criteriaOf(results, mainLibrary), bundle: record.bundle });

  const canonical = `${pkg.questionnaire.url}|${pkg.questionnaire.version}`;
  const drafts = new DraftStore({ patient: launch.patientId, order: orderReference, questionnaire: canonical });
  const inProgress = latest((await ehr.search(`QuestionnaireResponse?subject=${encodeURIComponent(`Patient/${launch.patientId}`)}&status=in-progress`))
    .filter((r): r is QuestionnaireResponse => r.resourceType === 'QuestionnaireResponse' && documents(r, canonical, orderReference)));
  const draft = drafts.load();
  const loaded = draft?.response ?? inProgress ?? population.response;
  const session: Session = {
    launch, questionnaire: pkg.questionnaire, ehr, payer, record, resources, evaluator, mainLibrary,
    orderId: order.id!, nonPreferred: config.kineretNonPreferred, population, evidence, drafts, loaded,
    form: new FormView(ui.form()),
    savedId: draft?.response.id ?? inProgress?.id,
    snapshot: '',
    // The prescriber filling in the form is a doctor; for anyone else the role is not known to the app.
    author: launch.user ? { reference: launch.user, role: launch.user === order.requester?.reference ? 'doctor' : null } : null,
    needs: [], needsDirty: false, needsRunning: null, submitted: false,
    patient,
    order,
    coverage,
    pas: null,
  };

  renderProblems(problemsByItem(population.outcome, pkg.questionnaire), [
    ...(pkg.outcome?.issue ?? []).map((i) => `Plan: ${i.diagnostics ?? i.code}`),
    ...record.problems,
  ]);
  const open = (reference: string) => openEntry(session, reference);
  renderEvidence(evidence, null, open);
  status('Rendering the form…');
  await session.form.render(pkg.questionnaire, loaded);
  session.form.onMarkSelected((linkId) => renderEvidence(evidence, linkId, open));
  refreshMarks(session, currentResponse(session, 'in-progress'));
  await refreshNeeds(session);
  // LHC-Forms raises DOM events that change nothing (focus, re-render): only a real change is a draft.
  session.snapshot = JSON.stringify(session.form.read().item ?? []);
  session.form.onEdit(() => {
    if (session.submitted) return;
    const form = session.form.read();
    const now = JSON.stringify(form.item ?? []);
    if (now === session.snapshot) return;
    session.snapshot = now;
    const response = currentResponse(session, 'in-progress', form);
    session.drafts.save(response);
    refreshMarks(session, response);
    void refreshNeeds(session).catch((e: unknown) => console.error('the needed questions could not be evaluated', e));
    status(`Draft kept on this device at ${new Date().toLocaleTimeString()}; not yet saved to the EHR.`);
  });
  ui.save().onclick = () => void onSave(session);
  ui.submit().onclick = () => void onSubmit(session);
  status('Checking with the plan for an earlier request for this order…');
  const found = await earlier!;
  showEarlier(session, found);
  setBusy(false);
  if (draft) alertNotice(`Restored your answers from this device (kept at ${new Date(draft.savedAt).toLocaleString()}); they are not yet saved to the EHR.`);
  else if (inProgress) alertNotice(`Resumed the in-progress documentation saved on the EHR (QuestionnaireResponse/${inProgress.id}).`);
  else if (record.problems.length) {
    alertNotice(`Part of the record could not be read from the EHR (${record.problems.length} problem${record.problems.length === 1 ? '' : 's'}, listed under Notes). The questions it would have answered are left for you; reload the page to try the EHR again.`);
  }
  const needed = session.needs.reduce((n, x) => n + x.items.length, 0);
  const earlierNote = found.kind === 'found' && found.request.replaceable
    ? ' An earlier request for this order is still open at the plan (shown below): submitting updates it.'
    : found.kind === 'failed' ? ' The plan could not be asked for an earlier request for this order (see below); you can still submit.' : '';
  status(`Ready. ${Object.keys(population.populated).length} answer(s) were filled from the record${needed ? `; ${needed} question(s) marked Needed are still open` : ''}. Check the answers, complete the rest, then save or submit.${earlierNote}`);
  document.body.dataset.earlier = found.kind === 'found' ? (found.request.replaceable ? 'replaces' : 'information') : found.kind;
  document.body.dataset.ready = 'true';
}

start().catch((e: unknown) => {
  if (e instanceof Gate) {
    renderGate({ id: e.id, title: e.title, message: e.message, steps: e.steps });
    status('The documentation cannot be opened yet: see what to do below.');
    document.body.dataset.ready = 'blocked';
    return;
  }
  alertError(userMessage(e));
  status('The documentation could not be opened.');
  document.body.dataset.ready = 'error';
});
