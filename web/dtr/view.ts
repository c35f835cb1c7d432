/**
 * The app's panels around the form: status and alerts, the launch context, the evidence behind the
 * prefilled answers, population notes, a stop screen when the form cannot be opened (what to do
 * instead), the submit check, the record-entry viewer and the outcome with its next steps.
 */
import type { Coverage, FhirResource, MedicationRequest, Patient } from 'fhir/r4';
import type { Determination } from './determination';
import { h, replace, type Children } from './dom';
import { describe, recordDate, recordEntry, type Evidence, type ItemProblem, type RecordEntry } from './evidence';
import type { Need } from './needs';
import type { Outcome, OutcomeReason } from './outcome';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export const ui = {
  status: () => byId('status'),
  alerts: () => byId('alerts'),
  context: () => byId('context'),
  gate: () => byId('gate'),
  layout: () => byId('layout'),
  form: () => byId('form-container'),
  actions: () => byId('actions'),
  evidence: () => byId('evidence'),
  problems: () => byId('problems'),
  determination: () => byId('determination'),
  authorization: () => byId('authorization'),
  save: () => byId<HTMLButtonElement>('save'),
  submit: () => byId<HTMLButtonElement>('submit'),
  sandbox: () => byId('sandbox-banner'),
  dialog: () => byId<HTMLDialogElement>('dialog'),
};

export function status(text: string): void {
  replace(ui.status(), text);
}

export function alertError(message: string): void {
  replace(ui.alerts(), h('div', { class: 'alert alert-error', 'data-testid': 'error' }, message));
}

export function alertNotice(message: string, ...more: Children[]): void {
  replace(ui.alerts(), h('div', { class: 'alert alert-notice', 'data-testid': 'notice' }, message, ...more));
}

export function clearAlerts(): void {
  replace(ui.alerts());
}

function personName(p: Patient | null): string {
  const name = p?.name?.[0];
  return name?.text ?? [name?.given?.join(' '), name?.family].filter(Boolean).join(' ');
}

function patientLine(p: Patient | null): string {
  if (!p) return 'unknown patient';
  return `${personName(p) || `Patient/${p.id}`}${p.birthDate ? `, born ${p.birthDate}` : ''}`;
}

export function renderContext(args: { patient: Patient | null; order: MedicationRequest | null; orderSource: string | null; coverage: Coverage | null; user: string | null; ehr: string }): void {
  const med = args.order?.medicationCodeableConcept;
  replace(ui.context(),
    h('dl', {},
      h('dt', {}, 'Patient'), h('dd', { 'data-testid': 'patient' }, patientLine(args.patient)),
      h('dt', {}, 'Order'), h('dd', { 'data-testid': 'order' }, args.order
        ? `${med?.text ?? med?.coding?.[0]?.display ?? 'Kineret (anakinra)'}${args.orderSource ? ` (${args.orderSource})` : ''}`
        : 'not read yet'),
      h('dt', {}, 'Coverage'), h('dd', {}, args.coverage ? `${(args.coverage.class ?? []).map((c) => c.name ?? c.value).join(', ') || 'Coverage'} (${args.coverage.status})` : 'none found'),
      h('dt', {}, 'Clinician'), h('dd', {}, args.user ?? 'unknown'),
    ));
}

/** A record entry as a link that opens it: "text, date". */
function entryLink(entry: RecordEntry, open: (reference: string) => void): HTMLElement {
  const label = `${entry.text}${entry.date ? `, ${entry.date}` : ''}`;
  if (!entry.found) return h('span', { class: 'record-entry', title: 'Not in the record the app read' }, label);
  const a = h('a', { href: '#', class: 'record-entry', 'data-reference': entry.reference, title: 'Open this record entry' }, label);
  a.onclick = (e) => {
    e.preventDefault();
    open(entry.reference);
  };
  return a;
}

const STATUS_TEXT: Record<string, string> = { met: 'met', 'not-met': 'not met', unknown: 'not decided yet' };

export function renderEvidence(evidence: Map<string, Evidence>, selected: string | null, open: (reference: string) => void): void {
  const entries = [...evidence.values()];
  replace(ui.evidence(),
    h('h2', {}, 'Filled from the record'),
    entries.length === 0 ? h('p', {}, 'The record answered none of the questions; every answer is yours.') : h('p', { class: 'hint' }, 'Click an entry to open it. Every answer stays yours to change.'),
    h('ul', { class: 'evidence-list' }, entries.map((e) =>
      h('li', { id: `evidence-${e.linkId}`, class: e.linkId === selected ? 'selected' : '', 'data-link-id': e.linkId },
        h('div', { class: 'evidence-item' }, e.itemText),
        e.criteria.map((c) => h('div', { class: `criterion criterion-${c.status}` }, `${c.reason || `${STATUS_TEXT[c.status] ?? c.status}.`}`)),
        e.records.length ? h('ul', { class: 'records' }, e.records.map((r) => h('li', {}, entryLink(r, open)))) : null,
        h('details', { class: 'details' }, h('summary', {}, 'Details'),
          h('div', { class: 'expression' }, `Filled by the plan's rule ${e.expression}`),
          e.criteria.map((c) => h('div', { class: 'expression' }, `Criterion ${c.code}: ${STATUS_TEXT[c.status] ?? c.status}`)),
          e.records.map((r) => h('div', { class: 'expression' }, r.reference))),
      ))));
  if (selected) document.getElementById(`evidence-${selected}`)?.scrollIntoView({ block: 'nearest' });
}

export function renderProblems(problems: ItemProblem[], other: string[]): void {
  const serious = problems.filter((p) => p.severity !== 'information');
  replace(ui.problems(),
    h('h2', {}, 'Notes'),
    serious.length === 0 && other.length === 0 ? h('p', {}, 'The record was read without problems.') : null,
    h('ul', { class: 'problems', 'data-testid': 'problems' },
      other.map((m) => h('li', { class: 'problem-warning' }, m)),
      serious.map((p) => h('li', { class: `problem-${p.severity}`, 'data-link-id': p.linkId ?? '' }, p.itemText ? h('strong', {}, `${p.itemText}: `) : null, p.message))),
  );
}

/**
 * A stop before any form: why the documentation cannot be opened, and what to do instead. The
 * form, its buttons and the side panel are not shown.
 */
export function renderGate(gate: { id: string; title: string; message: string; steps: string[] }): void {
  ui.layout().hidden = true;
  replace(ui.gate(),
    h('section', { class: 'gate', 'data-testid': 'gate', 'data-gate': gate.id },
      h('h2', {}, gate.title),
      h('p', {}, gate.message),
      h('h3', {}, 'What to do'),
      h('ol', { class: 'steps' }, gate.steps.map((s) => h('li', {}, s))),
      returnButton()));
}

/** Closes the app's tab or window (opened by the EHR); says how to get back when the browser does not allow it. */
function returnButton(): HTMLButtonElement {
  const b = h('button', { type: 'button', 'data-testid': 'return-to-ehr' }, 'Return to the EHR');
  b.onclick = () => {
    window.close();
    // Browsers close only windows a script opened; otherwise say how to get back.
    setTimeout(() => status('This window stays open: close this tab or window to return to the EHR.'), 300);
  };
  return b;
}

function showDialog(...content: Children[]): HTMLDialogElement {
  const dialog = ui.dialog();
  replace(dialog, ...content);
  if (!dialog.open) dialog.showModal();
  return dialog;
}

/** Opens a record entry: what it is, when, and the entry itself (FHIR JSON) as the EHR gave it. */
export function openRecordEntry(resource: FhirResource): void {
  const close = h('button', { type: 'button', class: 'primary' }, 'Close');
  const dialog = showDialog(
    h('h2', {}, describe(resource)),
    h('p', { class: 'hint' }, `${resource.resourceType}/${resource.id}${recordDate(resource) ? `, ${recordDate(resource)}` : ''}, as the EHR returned it`),
    h('pre', { class: 'resource-json', 'data-testid': 'record-entry' }, JSON.stringify(resource, null, 2)),
    h('div', { class: 'dialog-actions' }, close));
  close.onclick = () => dialog.close();
}

/**
 * Before submitting with questions unanswered: what is missing, by criterion. Resolves true to
 * submit anyway (the request will be pended for what is missing), false to go back and answer.
 */
export function confirmSubmit(needs: Need[], goTo: (linkId: string) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const back = h('button', { type: 'button', class: 'primary', 'data-testid': 'answer-first' }, 'Go back and answer');
    const anyway = h('button', { type: 'button', 'data-testid': 'submit-anyway' }, 'Submit anyway');
    const count = needs.reduce((n, x) => n + x.items.length, 0);
    const dialog = showDialog(
      h('h2', {}, `${count} question${count === 1 ? '' : 's'} still unanswered`),
      h('p', {}, 'The plan needs these to decide. You can submit now: the request will then be pended for the plan\'s clinical reviewer until what is missing is sent.'),
      h('ul', { class: 'needs', 'data-testid': 'unanswered' }, needs.map((n) =>
        h('li', { 'data-criterion': n.criterion ?? '' }, h('strong', {}, n.title), n.reason ? h('div', { class: 'hint' }, n.reason) : null,
          h('ul', {}, n.items.map((i) => {
            const a = h('a', { href: '#', 'data-link-id': i.linkId }, i.text);
            a.onclick = (e) => {
              e.preventDefault();
              dialog.close();
              resolve(false);
              goTo(i.linkId);
            };
            return h('li', {}, a);
          }))))),
      h('div', { class: 'dialog-actions' }, anyway, back));
    back.onclick = () => {
      dialog.close();
      resolve(false);
    };
    anyway.onclick = () => {
      dialog.close();
      resolve(true);
    };
    dialog.oncancel = () => resolve(false);
  });
}

function reasonItem(r: OutcomeReason, records: Map<string, FhirResource>, open: (reference: string) => void): HTMLElement {
  return h('li', { class: `reason reason-${r.kind}`, 'data-kind': r.kind, 'data-criterion': r.criterion ?? '' },
    h('strong', {}, r.title), r.text ? h('div', {}, r.text) : null,
    r.evidence.length ? h('div', { class: 'reason-evidence' }, 'Record entries: ',
      r.evidence.map((ref, i) => [i ? '; ' : '', entryLink(recordEntry(ref, records), open)])) : null,
    h('div', { class: 'reason-action' }, h('em', {}, 'What could change it: '), r.action),
    r.guideline ? h('div', { class: 'reason-guideline' }, h('em', {}, 'The guideline asks: '), r.guideline) : null);
}

export function renderOutcome(args: {
  outcome: Outcome;
  determination: Determination;
  records: Map<string, FhirResource>;
  /** Where the documentation is saved on the EHR (null: not saved there, as the adaptive form's). */
  savedAs: string | null;
  open: (reference: string) => void;
}): void {
  const { outcome: o, determination: d } = args;
  const print = h('button', { type: 'button', class: 'primary', 'data-testid': 'print' }, 'Print or save as PDF');
  print.onclick = () => window.print();
  replace(ui.determination(),
    h('h2', {}, 'The plan\'s answer'),
    h('p', { class: `decision outcome-${o.kind}`, 'data-testid': 'decision', 'data-decision': d.decision, 'data-outcome': o.kind }, o.headline),
    h('p', { class: 'outcome-summary' }, o.summary),
    o.period ? h('dl', { class: 'period' },
      h('dt', {}, 'Approval period'), h('dd', { 'data-testid': 'approval-period' }, `${o.period.start} to ${o.period.end}`),
      o.duration ? [h('dt', {}, 'Why this long'), h('dd', {}, o.duration)] : null) : null,
    o.notMet.length ? [h('h3', {}, 'Not met as documented'), h('ul', { class: 'reasons', 'data-testid': 'not-met' }, o.notMet.map((r) => reasonItem(r, args.records, args.open)))] : null,
    o.missing.length ? [h('h3', {}, 'Missing'), h('ul', { class: 'reasons', 'data-testid': 'missing' }, o.missing.map((r) => reasonItem(r, args.records, args.open)))] : null,
    o.other.length ? [h('h3', {}, 'For the reviewer'), h('ul', { class: 'reasons' }, o.other.map((r) => reasonItem(r, args.records, args.open)))] : null,
    h('section', { class: 'next-steps', 'data-testid': 'next-steps' },
      h('h3', {}, 'Next steps'),
      h('p', {}, args.savedAs ? `The documentation is saved on the EHR (${args.savedAs}) and can no longer be changed here. ` : 'The answers were sent to the plan and can no longer be changed here. ',
        o.kind === 'approved' ? 'Keep a copy of this summary with the order.' : 'The plan\'s reviewer has what you sent; to add to it, open the documentation again from the EHR.'),
      h('div', { class: 'next-actions' }, print, returnButton())),
    h('details', { class: 'all-criteria' },
      h('summary', {}, `Every criterion (${d.criteria.length})`),
      h('table', { class: 'criteria', 'data-testid': 'criteria' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Criterion'), h('th', {}, 'Status'), h('th', {}, 'Reason'), h('th', {}, 'Record entries'))),
        h('tbody', {}, d.criteria.map((c) => h('tr', { class: `criterion-${c.status}`, 'data-code': c.code },
          h('td', {}, c.title || c.code), h('td', { 'data-status': c.status }, STATUS_TEXT[c.status] ?? c.status), h('td', {}, c.reason),
          h('td', {}, c.evidence.map((ref, i) => [i ? '; ' : '', entryLink(recordEntry(ref, args.records), args.open)]))))))),
  );
}
