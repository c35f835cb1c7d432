/** The app's panels around the form: status and alerts, the launch context, evidence, population problems, the determination. */
import type { Coverage, MedicationRequest, Patient } from 'fhir/r4';
import type { Determination } from './determination';
import { h, replace } from './dom';
import type { Evidence, ItemProblem } from './evidence';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export const ui = {
  status: () => byId('status'),
  alerts: () => byId('alerts'),
  context: () => byId('context'),
  form: () => byId('form-container'),
  evidence: () => byId('evidence'),
  problems: () => byId('problems'),
  determination: () => byId('determination'),
  authorization: () => byId('authorization'),
  save: () => byId<HTMLButtonElement>('save'),
  submit: () => byId<HTMLButtonElement>('submit'),
  sandbox: () => byId('sandbox-banner'),
};

export function status(text: string): void {
  replace(ui.status(), text);
}

export function alertError(message: string): void {
  replace(ui.alerts(), h('div', { class: 'alert alert-error', 'data-testid': 'error' }, message));
}

export function alertNotice(message: string): void {
  replace(ui.alerts(), h('div', { class: 'alert alert-notice', 'data-testid': 'notice' }, message));
}

export function clearAlerts(): void {
  replace(ui.alerts());
}

function patientLine(p: Patient | null): string {
  if (!p) return 'unknown patient';
  const name = p.name?.[0];
  const text = name?.text ?? [name?.given?.join(' '), name?.family].filter(Boolean).join(' ');
  return `${text || `Patient/${p.id}`}${p.birthDate ? `, born ${p.birthDate}` : ''}`;
}

export function renderContext(args: { patient: Patient | null; order: MedicationRequest | null; coverage: Coverage | null; user: string | null; ehr: string }): void {
  const med = args.order?.medicationCodeableConcept;
  replace(ui.context(),
    h('dl', {},
      h('dt', {}, 'Patient'), h('dd', { 'data-testid': 'patient' }, patientLine(args.patient)),
      h('dt', {}, 'Order'), h('dd', {}, `${med?.text ?? med?.coding?.[0]?.display ?? 'Kineret (anakinra)'} (MedicationRequest/${args.order?.id ?? '?'})`),
      h('dt', {}, 'Coverage'), h('dd', {}, args.coverage ? `${(args.coverage.class ?? []).map((c) => c.name ?? c.value).join(', ') || 'Coverage'} (Coverage/${args.coverage.id})` : 'none named by the EHR'),
      h('dt', {}, 'Clinician'), h('dd', {}, args.user ?? 'unknown'),
      h('dt', {}, 'EHR'), h('dd', {}, args.ehr),
    ));
}

const STATUS_TEXT: Record<string, string> = { met: 'met', 'not-met': 'not met', unknown: 'unknown' };

export function renderEvidence(evidence: Map<string, Evidence>, selected: string | null): void {
  const entries = [...evidence.values()];
  replace(ui.evidence(),
    h('h2', {}, 'Filled from the record'),
    entries.length === 0 ? h('p', {}, 'The record answered none of the questions; every answer is yours.') : null,
    h('ul', { class: 'evidence-list' }, entries.map((e) =>
      h('li', { id: `evidence-${e.linkId}`, class: e.linkId === selected ? 'selected' : '', 'data-link-id': e.linkId },
        h('div', { class: 'evidence-item' }, e.itemText),
        e.criteria.map((c) => h('div', { class: `criterion criterion-${c.status}` }, `${c.code}: ${STATUS_TEXT[c.status] ?? c.status}. ${c.reason}`)),
        e.records.length ? h('ul', { class: 'records' }, e.records.map((r) => h('li', {}, h('code', {}, r.reference), ` ${r.summary}`))) : null,
        h('div', { class: 'expression' }, `CQL: ${e.expression}`),
      ))));
  if (selected) document.getElementById(`evidence-${selected}`)?.scrollIntoView({ block: 'nearest' });
}

export function renderProblems(problems: ItemProblem[], other: string[]): void {
  const serious = problems.filter((p) => p.severity !== 'information');
  const unanswered = problems.filter((p) => p.severity === 'information');
  replace(ui.problems(),
    h('h2', {}, 'Population notes'),
    serious.length === 0 && other.length === 0 ? h('p', {}, 'No problems while filling the form from the record.') : null,
    h('ul', { class: 'problems', 'data-testid': 'problems' },
      other.map((m) => h('li', { class: 'problem-warning' }, m)),
      serious.map((p) => h('li', { class: `problem-${p.severity}`, 'data-link-id': p.linkId ?? '' }, p.itemText ? h('strong', {}, `${p.itemText}: `) : null, p.message))),
    unanswered.length ? h('details', {},
      h('summary', {}, `${unanswered.length} question(s) the record does not answer: yours to answer`),
      h('ul', {}, unanswered.map((p) => h('li', {}, p.itemText ?? p.message)))) : null,
  );
}

const REASON_TEXT: Record<string, string> = {
  'plan-unknown': 'Plan unknown',
  'off-label': 'Off-label use: referred to the Off-Label policy review',
  'not-met': 'Criterion not met',
  missing: 'Information missing',
  review: 'For the reviewer',
};

export function renderDetermination(d: Determination): void {
  const period = d.approvalPeriod ? `${d.approvalPeriod.start ?? '?'} to ${d.approvalPeriod.end ?? '?'}` : null;
  replace(ui.determination(),
    h('h2', {}, 'Payer determination'),
    h('p', { class: `decision decision-${d.decision}`, 'data-testid': 'decision' }, d.decision.toUpperCase()),
    h('dl', {},
      d.indication ? [h('dt', {}, 'Indication'), h('dd', {}, d.indication)] : null,
      d.requestType ? [h('dt', {}, 'Request'), h('dd', {}, d.requestType)] : null,
      period ? [h('dt', {}, 'Approval period'), h('dd', { 'data-testid': 'approval-period' }, period)] : null,
      d.approvalReason ? [h('dt', {}, 'Duration'), h('dd', {}, d.approvalReason)] : null,
    ),
    d.pendReasons.length ? h('ul', { class: 'pend-reasons', 'data-testid': 'pend-reasons' }, d.pendReasons.map((r) =>
      h('li', { class: `pend-${r.kind}`, 'data-kind': r.kind, 'data-criterion': r.criterion ?? '' },
        h('strong', {}, `${REASON_TEXT[r.kind] ?? r.kind}${r.criterion ? ` (${r.criterion})` : ''}: `), r.text))) : null,
    h('table', { class: 'criteria', 'data-testid': 'criteria' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Criterion'), h('th', {}, 'Status'), h('th', {}, 'Reason'), h('th', {}, 'Evidence'))),
      h('tbody', {}, d.criteria.map((c) => h('tr', { class: `criterion-${c.status}`, 'data-code': c.code },
        h('td', {}, `${c.code} ${c.title}`), h('td', {}, STATUS_TEXT[c.status] ?? c.status), h('td', {}, c.reason), h('td', {}, c.evidence.join(', ')))))),
    d.note ? h('p', { class: 'note' }, d.note) : null,
  );
}
