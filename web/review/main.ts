/**
 * The reviewer workbench page (/review/): sign in, the queue of pended requests (expedited first,
 * by due time, with the time left), and the case under review: the criteria with their evidence,
 * the clinician's answers and attachments, the policy text, the decisions so far; then approve
 * (period), deny (reason and letter) or request more information. Everything is built with
 * textContent (web/dtr/dom.ts): no request or record text can inject markup.
 */
import type { FhirResource } from 'fhir/r4';
import type { CaseView, QueueLine } from '../../src/pas/view-types';
import { h, replace } from '../dtr/dom';
import { describe, recordDate } from '../dtr/evidence';

const API = '/review/api';

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'X-Review-Request': '1' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => ({}))) as T & { message?: string; field?: string };
  if (res.status === 401 && !path.startsWith('/login')) showLogin();
  if (!res.ok) throw new HttpError(res.status, json.message ?? `HTTP ${res.status}`, json.field);
  return json;
}

function timeLeft(ms: number): string {
  const abs = Math.abs(ms);
  const days = Math.floor(abs / 86_400_000);
  const hours = Math.floor((abs % 86_400_000) / 3_600_000);
  const minutes = Math.floor((abs % 3_600_000) / 60_000);
  const text = days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes} min` : `${minutes} min`;
  return ms < 0 ? `overdue by ${text}` : `${text} left`;
}

const local = (iso: string) => new Date(iso).toLocaleString();
const badge = (kind: string, text = kind) => h('span', { class: `badge badge-${kind}` }, text);

let selected: string | null = null;

function showLogin(): void {
  el('workbench').hidden = true;
  el('who').hidden = true;
  el('login').hidden = false;
  document.body.dataset.ready = 'login';
}

async function loadQueue(): Promise<void> {
  const q = await api<{ now: string; open: QueueLine[]; decided: QueueLine[] }>('/queue');
  el('open-count').textContent = `(${q.open.length})`;
  replace(el('queue').querySelector('tbody') as HTMLElement, q.open.length ? q.open.map((r) => {
    const row = h('tr', { 'data-request': r.id, class: r.id === selected ? 'selected' : '' },
      h('td', {}, badge(r.priority), h('div', { class: r.msLeft < 0 ? 'overdue' : '', 'data-testid': 'time-left' }, timeLeft(r.msLeft)), h('div', { class: 'muted' }, local(r.dueAt))),
      h('td', {}, r.patient, r.status === 'info-requested' ? h('div', {}, badge('info-requested', 'information requested')) : null),
      h('td', {}, `${r.indication}, ${r.requestType}`),
      h('td', {}, h('ul', { class: 'evidence' }, r.reasons.map((x) => h('li', {}, x)))));
    row.onclick = () => void openCase(r.id);
    return row;
  }) : h('tr', {}, h('td', { colspan: '4', class: 'muted' }, 'Nothing waits for review.')));
  replace(el('decided'), q.decided.map((r) => h('li', { 'data-decided': r.id },
    badge(r.status), `${r.patient}: ${r.indication}`, r.authNumber ? ` (${r.authNumber})` : '', h('span', { class: 'muted' }, ` ${r.decidedAt ? local(r.decidedAt) : ''}`))));
}

function facts(pairs: [string, string | Node][]): HTMLElement {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function criteriaTable(c: CaseView): HTMLElement {
  const summary = (ref: string) => {
    const r = c.evidence[ref] as FhirResource | undefined;
    if (!r) return ref;
    const date = recordDate(r);
    return `${ref}: ${describe(r)}${date ? `, ${date}` : ''}`;
  };
  return h('table', { 'data-testid': 'criteria' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Criterion'), h('th', {}, 'Status'), h('th', {}, 'Reason and evidence'))),
    h('tbody', {}, c.assessment.criteria.map((x) => h('tr', { class: `criterion-${x.status}`, 'data-code': x.code, title: x.definition },
      h('td', {}, `${x.code} ${x.title}`),
      h('td', {}, x.status === 'not-met' ? 'not met' : x.status),
      h('td', {}, x.reason, x.evidence.length ? h('ul', { class: 'evidence' }, x.evidence.map((ref) => h('li', {}, summary(ref)))) : null)))));
}

function answersTable(c: CaseView): HTMLElement {
  if (c.answers.length === 0) return h('p', { class: 'muted' }, 'The request carries no documentation (no QuestionnaireResponse).');
  return h('table', { 'data-testid': 'answers' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Question'), h('th', {}, 'Answer'), h('th', {}, 'Source'))),
    h('tbody', {}, c.answers.map((a) => h('tr', { 'data-link-id': a.linkId },
      h('td', {}, a.question),
      h('td', {}, a.answers.join('; '), a.attachments.map((f) => h('div', {}, h('a', { href: `${API}/cases/${encodeURIComponent(c.id)}/attachments/${f.index}`, 'data-testid': 'attachment' }, `${f.title} (${f.contentType}${f.size !== null ? `, ${f.size} bytes` : ''})`)))),
      h('td', {}, a.origin ? h('span', { class: `origin origin-${a.origin}` }, a.origin === 'auto' ? 'from the record' : a.origin === 'override' ? 'changed by the clinician' : 'the clinician') : '')))));
}

function decisionForms(c: CaseView): HTMLElement {
  const result = h('p', { class: 'result', id: 'decision-result', role: 'status' });
  const send = async (form: HTMLFormElement, body: Record<string, string>) => {
    const buttons = [...document.querySelectorAll<HTMLButtonElement>('.decide button')];
    buttons.forEach((b) => { b.disabled = true; });
    result.classList.remove('error');
    try {
      const after = await api<CaseView>(`/cases/${encodeURIComponent(c.id)}/decision`, body);
      renderCase(after);
      await loadQueue();
      el('decision-result').textContent = after.status === 'approved' ? `Approved: authorization ${after.authNumber}.` : after.status === 'denied' ? 'Denied: the decision and the letter text are recorded.' : 'More information requested: the request stays pended.';
    } catch (e) {
      result.textContent = (e as Error).message;
      result.classList.add('error');
      const field = (e as HttpError).field;
      if (field) form.querySelector<HTMLElement>(`[name="${field}"]`)?.focus();
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  const approve = h('form', { 'data-testid': 'approve-form' },
    h('h3', {}, 'Approve'),
    h('label', {}, 'From', h('input', { name: 'start', type: 'date', value: c.suggestedPeriod.start, required: '' })),
    h('label', {}, 'To', h('input', { name: 'end', type: 'date', value: c.suggestedPeriod.end, required: '' })),
    h('label', {}, 'Note (optional)', h('input', { name: 'note' })),
    h('button', { type: 'submit', class: 'primary', id: 'approve' }, 'Approve'));
  approve.onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(approve);
    void send(approve, { action: 'approve', start: String(f.get('start')), end: String(f.get('end')), note: String(f.get('note') ?? '') });
  };
  const deny = h('form', { 'data-testid': 'deny-form' },
    h('h3', {}, 'Deny'),
    h('label', {}, 'Reason', h('select', { name: 'reasonCode', id: 'deny-reason' },
      h('option', { value: '' }, 'Choose the reason…'),
      c.denialReasons.map((r) => h('option', { value: r.code, title: r.definition }, r.display)))),
    h('label', {}, 'Letter text (what is not met, and what the prescriber can send or do)', h('textarea', { name: 'letter', id: 'deny-letter' })),
    h('button', { type: 'submit', class: 'danger', id: 'deny' }, 'Deny'));
  deny.onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(deny);
    void send(deny, { action: 'deny', reasonCode: String(f.get('reasonCode')), letter: String(f.get('letter')) });
  };
  const info = h('form', { 'data-testid': 'info-form' },
    h('h3', {}, 'Request more information'),
    h('label', {}, 'What is needed', h('textarea', { name: 'text', id: 'info-text' })),
    h('button', { type: 'submit', id: 'request-info' }, 'Request information'));
  info.onsubmit = (e) => {
    e.preventDefault();
    void send(info, { action: 'request-info', text: String(new FormData(info).get('text')) });
  };
  return h('section', {}, h('h2', {}, 'Decision'), h('div', { class: 'decide' }, approve, deny, info), result);
}

let policyText: string | null = null;

function policy(): HTMLElement {
  const pre = h('pre', {}, policyText ?? 'Loading…');
  const details = h('details', { class: 'policy' }, h('summary', {}, 'The Kineret coverage guideline (policy text)'), pre);
  details.ontoggle = async () => {
    if (policyText !== null || !details.open) return;
    const res = await fetch('/policy/kineret-anakinra');
    policyText = res.ok ? await res.text() : `The policy could not be loaded (HTTP ${res.status}).`;
    pre.textContent = policyText;
  };
  return details;
}

function renderCase(c: CaseView): void {
  const open = c.status === 'pended' || c.status === 'info-requested';
  const target = el('case');
  target.dataset.status = c.status;
  target.dataset.request = c.id;
  replace(target,
    h('h2', {}, badge(c.status), badge(c.priority), c.patient),
    facts([
      ['Order', `${c.order.text}${c.order.dosage.length ? `: ${c.order.dosage.join('; ')}` : ''} (${c.order.reference ?? 'no reference'})`],
      ['Indication', `${c.assessment.indication}, ${c.assessment.requestType} request`],
      ['Coverage', c.coverage],
      ['Prescriber', `${c.provider.reference ?? 'unknown'}${c.provider.npi ? `, NPI ${c.provider.npi}` : ''}`],
      ['Request', `${c.claimIdentifier} from ${c.client}, received ${local(c.receivedAt)}`],
      ['Decision due', h('span', { class: c.msLeft < 0 && open ? 'overdue' : '', 'data-testid': 'case-time-left' }, `${local(c.dueAt)}${open ? ` (${timeLeft(c.msLeft)})` : ''}`)],
      ...(c.authNumber ? [['Authorization', c.authNumber] as [string, string]] : []),
    ]),
    h('h3', {}, 'Why it was pended'),
    h('ul', { 'data-testid': 'reasons' }, c.assessment.reasons.map((r) => h('li', {}, r))),
    h('h3', {}, 'Criteria, with the evidence the rules cite'),
    criteriaTable(c),
    h('h3', {}, 'The clinician\'s answers and attachments'),
    answersTable(c),
    policy(),
    h('h3', {}, 'Decisions'),
    h('ol', { 'data-testid': 'decisions' }, c.decisions.map((d) => h('li', {},
      `${local(d.at)}: ${d.action} by ${d.reviewer ?? d.actor}${d.humanReviewed ? '' : ' (automated)'}`,
      d.period ? `, ${d.period.start} to ${d.period.end}` : '', d.authNumber ? `, ${d.authNumber}` : '',
      d.reasonCode ? `, reason ${d.reasonCode}` : '', d.reasonText ? `: ${d.reasonText}` : '',
      d.letterText ? h('blockquote', {}, d.letterText) : null))),
    open ? decisionForms(c) : h('p', { class: 'result', id: 'decision-result' }, `Decided: ${c.status}.`),
  );
}

async function openCase(id: string): Promise<void> {
  selected = id;
  document.querySelectorAll('#queue tbody tr').forEach((tr) => tr.classList.toggle('selected', (tr as HTMLElement).dataset.request === id));
  renderCase(await api<CaseView>(`/cases/${encodeURIComponent(id)}`));
}

async function showWorkbench(name: string): Promise<void> {
  el('login').hidden = true;
  el('who').hidden = false;
  el('reviewer-name').textContent = `Signed in as ${name}`;
  el('workbench').hidden = false;
  await loadQueue();
  document.body.dataset.ready = 'true';
}

async function start(): Promise<void> {
  el<HTMLFormElement>('login-form').onsubmit = async (e) => {
    e.preventDefault();
    el('login-error').textContent = '';
    try {
      const { reviewer } = await api<{ reviewer: { name: string } }>('/login', { id: el<HTMLInputElement>('login-id').value, password: el<HTMLInputElement>('login-password').value });
      el<HTMLInputElement>('login-password').value = '';
      await showWorkbench(reviewer.name);
    } catch (err) {
      el('login-error').textContent = (err as Error).message;
    }
  };
  el('logout').onclick = async () => {
    await api('/logout', {}).catch(() => undefined);
    showLogin();
  };
  el('refresh').onclick = () => void loadQueue().then(() => (selected ? openCase(selected) : undefined));
  try {
    const { reviewer } = await api<{ reviewer: { name: string } }>('/session');
    await showWorkbench(reviewer.name);
  } catch (e) {
    if ((e as HttpError).status !== 401) el('case').textContent = `The workbench could not load: ${(e as Error).message}`;
    showLogin();
  }
}

void start();
