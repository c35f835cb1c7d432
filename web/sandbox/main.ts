/**
 * The sandbox EHR page (DEVELOPMENT ONLY): pick a patient and a draft Kineret order, sign it, and
 * the page does what an EHR's CDS client does: it posts order-sign to the CDS service with the
 * CDS Hooks JWT the sandbox backend signed (the private key never reaches the browser), renders the
 * cards (card markdown through marked and DOMPurify), and launches the DTR app from the card's
 * SMART link with a launch registered at the sandbox's SMART server.
 */
import type { Bundle, ClaimResponse } from 'fhir/r4';
import DOMPurify from 'dompurify';
import { marked } from 'marked';
import type { Card, HookResponse, Link } from '../../src/crd/types';
import { readClaimResponse } from '../../src/pas/answer';
import type { PreparedHookCall, SandboxScenario } from '../../src/sandbox/types';

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new Error(json.message ?? `HTTP ${res.status}`);
  return json;
}

// Links inside card markdown open outside the EHR page, and never get the page as opener.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** Card markdown is text from a remote service: parsed, then sanitized before it touches the DOM. */
function markdown(text: string): HTMLElement {
  const div = make('div', { class: 'detail' });
  div.innerHTML = DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }), { USE_PROFILES: { html: true } });
  return div;
}

let patients: SandboxScenario[] = [];
let current: SandboxScenario | null = null;

function hookStatus(text: string, error = false): void {
  const s = el('hook-status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

function renderList(filter: string): void {
  const list = el('patient-list');
  list.replaceChildren();
  const f = filter.toLowerCase();
  for (const p of patients.filter((x) => !f || `${x.patientName} ${x.name} ${x.patientId}`.toLowerCase().includes(f))) {
    const button = make('button', { type: 'button', 'data-patient': p.patientId });
    button.append(document.createTextNode(`${p.patientName} (${p.patientId})`), make('span', { class: 'scenario' }, p.name));
    if (current?.patientId === p.patientId) button.classList.add('selected');
    button.onclick = () => select(p);
    const li = make('li');
    li.append(button);
    list.append(li);
  }
}

function orderOption(o: SandboxScenario['draftOrders'][number], checked: boolean): HTMLElement {
  const label = make('label', { class: 'option' });
  const radio = make('input', { type: 'radio', name: 'order', value: o.id });
  radio.checked = checked;
  label.append(radio, document.createTextNode(` ${o.label} (MedicationRequest/${o.id}, draft)`));
  return label;
}

const PA_WORDS: Record<string, string> = { approved: 'APPROVED', pended: 'PENDED FOR REVIEW', denied: 'NOT APPROVED', unknown: 'UNKNOWN' };

/** The patient's prior authorization requests as the plan answers them now ($inquire through the sandbox backend). */
async function checkPriorAuths(patientId: string): Promise<void> {
  const list = el('prior-auths');
  try {
    const bundle = await api<Bundle>('/sandbox/api/prior-authorizations', { patientId });
    if (current?.patientId !== patientId) return;
    const answers = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is ClaimResponse => r?.resourceType === 'ClaimResponse').map(readClaimResponse);
    list.replaceChildren(...(answers.length ? answers.map((a) => {
      const li = make('li', { 'data-testid': 'prior-auth', 'data-status': a.status });
      li.append(make('span', { class: `pa-${a.status}` }, PA_WORDS[a.status] ?? a.status), document.createTextNode(
        `${a.number ? ` ${a.number}` : ''}${a.period && a.status === 'approved' ? `, ${a.period.start} to ${a.period.end}` : ''}: ${a.disposition}`));
      return li;
    }) : [make('li', {}, 'The plan has no prior authorization request of this patient from this EHR.')]));
  } catch (e) {
    list.replaceChildren(make('li', { class: 'error' }, `The plan could not be asked: ${(e as Error).message}`));
  }
}

async function renew(): Promise<void> {
  if (!current) return;
  const orderId = document.querySelector<HTMLInputElement>('input[name="order"]:checked')?.value;
  if (!orderId) return;
  try {
    const order = await api<SandboxScenario['draftOrders'][number]>('/sandbox/api/new-order', { patientId: current.patientId, orderId });
    document.querySelectorAll<HTMLInputElement>('input[name="order"]').forEach((r) => { r.checked = false; });
    el('orders').append(orderOption(order, true));
    hookStatus(`New draft order MedicationRequest/${order.id}: sign it to see what the plan says.`);
  } catch (e) {
    hookStatus(`The new order could not be written: ${(e as Error).message}`, true);
  }
}

function select(p: SandboxScenario): void {
  current = p;
  renderList(el<HTMLInputElement>('filter').value);
  el('chart-empty').hidden = true;
  el('chart').hidden = false;
  el('patient-title').textContent = `${p.patientName}${p.birthDate ? `, born ${p.birthDate}` : ''} (Patient/${p.patientId})`;
  el('patient-description').textContent = `Scenario ${p.name}: ${p.description}`;
  const orders = el('orders');
  orders.replaceChildren();
  p.draftOrders.forEach((o, i) => orders.append(orderOption(o, i === 0)));
  el('cards').replaceChildren();
  el('actions').replaceChildren();
  el('exchange').textContent = '';
  hookStatus(p.draftOrders.length ? '' : 'This patient has no draft order.');
  el<HTMLButtonElement>('sign').disabled = p.draftOrders.length === 0;
  el<HTMLButtonElement>('renew').disabled = p.draftOrders.length === 0;
  el('prior-auths').replaceChildren();
  void checkPriorAuths(p.patientId);
}

async function launch(link: Link, patientId: string, orderId: string): Promise<void> {
  // Opened before the await, so that the browser treats it as the user's click (no popup blocking).
  const win = window.open('about:blank', '_blank');
  try {
    const { url } = await api<{ url: string }>('/sandbox/api/launch', { patientId, orderId, url: link.url, appContext: link.appContext });
    if (win) win.location.href = url;
    else window.location.href = url;
  } catch (e) {
    win?.close();
    hookStatus(`The app could not be launched: ${(e as Error).message}`, true);
  }
}

function renderCard(card: Card, patientId: string, orderId: string): HTMLElement {
  const box = make('article', { class: `card indicator-${card.indicator}`, 'data-testid': 'card' });
  const title = make('h3');
  title.append(make('span', { class: 'indicator' }, card.indicator), document.createTextNode(card.summary));
  const source = make('div', { class: 'source' });
  source.append(document.createTextNode('Source: '));
  if (card.source.url && /^https?:/i.test(card.source.url)) {
    const a = make('a', { href: card.source.url, target: '_blank', rel: 'noopener noreferrer' }, card.source.label);
    source.append(a);
  } else source.append(document.createTextNode(card.source.label));
  if (card.source.topic?.display) source.append(document.createTextNode(` (${card.source.topic.display})`));
  box.append(title, source);
  if (card.detail) box.append(markdown(card.detail));
  const links = make('div', { class: 'links' });
  for (const link of card.links ?? []) {
    if (link.type === 'smart') {
      const b = make('button', { type: 'button', class: 'primary', 'data-testid': 'smart-link' }, link.label);
      b.onclick = () => void launch(link, patientId, orderId);
      links.append(b);
    } else if (/^https?:/i.test(link.url)) {
      links.append(make('a', { href: link.url, target: '_blank', rel: 'noopener noreferrer' }, link.label));
    }
  }
  box.append(links);
  return box;
}

async function sign(): Promise<void> {
  if (!current) return;
  const orderId = document.querySelector<HTMLInputElement>('input[name="order"]:checked')?.value;
  if (!orderId) return;
  const patientId = current.patientId;
  el<HTMLButtonElement>('sign').disabled = true;
  el('cards').replaceChildren();
  el('actions').replaceChildren();
  hookStatus('Calling the CDS service (order-sign)…');
  try {
    const call = await api<PreparedHookCall>('/sandbox/api/order-sign', { patientId, orderId, prefetch: el<HTMLInputElement>('prefetch').checked });
    const started = performance.now();
    const res = await fetch(call.serviceUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${call.jwt}` },
      body: JSON.stringify(call.request),
    });
    const body = (await res.json().catch(() => ({}))) as HookResponse & { message?: string };
    el('exchange').textContent = `POST ${call.serviceUrl}\n${JSON.stringify(call.request, null, 2)}\n\nHTTP ${res.status}\n${JSON.stringify(body, null, 2)}`;
    if (!res.ok) throw new Error(`the CDS service answered HTTP ${res.status}: ${body.message ?? ''}`);
    const cards = body.cards ?? [];
    hookStatus(`order-sign answered in ${Math.round(performance.now() - started)} ms with ${cards.length} card(s).`);
    for (const card of cards) el('cards').append(renderCard(card, patientId, orderId));
    for (const action of body.systemActions ?? []) el('actions').append(make('p', {}, `System action (${action.type}): ${action.description}`));
  } catch (e) {
    hookStatus(`order-sign failed: ${(e as Error).message}`, true);
  } finally {
    el<HTMLButtonElement>('sign').disabled = false;
  }
}

async function start(): Promise<void> {
  const data = await api<{ label: string; patients: SandboxScenario[] }>('/sandbox/api/patients');
  patients = data.patients;
  renderList('');
  el<HTMLInputElement>('filter').oninput = (e) => renderList((e.target as HTMLInputElement).value);
  el<HTMLButtonElement>('sign').onclick = () => void sign();
  el<HTMLButtonElement>('renew').onclick = () => void renew();
  el<HTMLButtonElement>('check-pa').onclick = () => void (current && checkPriorAuths(current.patientId));
  document.body.dataset.ready = 'true';
}

start().catch((e: unknown) => {
  el('chart-empty').textContent = `The sandbox could not load its patients: ${(e as Error).message}`;
});
