/**
 * The plan's answer to the prior authorization request (PAS), as the clinician sees it: approved with
 * the authorization number and period; pended with why and what happens next; or denied by the
 * plan's reviewer with the reason. A refresh asks the plan again ($inquire).
 */
import { h, replace } from './dom';
import type { Authorization } from './pas';

const HEADLINE: Record<Authorization['status'], string> = {
  approved: 'APPROVED',
  pended: 'PENDED FOR REVIEW',
  denied: 'NOT APPROVED',
  unknown: 'ANSWER NOT UNDERSTOOD',
};

export function renderAuthorization(target: HTMLElement, a: Authorization, opts: { request: string; checkedAt: string; onRefresh: () => void }): void {
  const period = a.period ? `${a.period.start ?? '?'} to ${a.period.end ?? '?'}` : null;
  const refresh = h('button', { type: 'button', id: 'refresh-authorization' }, 'Refresh');
  refresh.onclick = opts.onRefresh;
  target.dataset.status = a.status;
  replace(target,
    h('h2', {}, 'The plan\'s answer to the prior authorization request'),
    h('p', { class: `decision decision-${a.status}`, 'data-testid': 'authorization-status' }, HEADLINE[a.status]),
    h('dl', {},
      a.number ? [h('dt', {}, 'Authorization'), h('dd', { 'data-testid': 'authorization-number' }, a.number)] : null,
      period && a.status === 'approved' ? [h('dt', {}, 'Authorized'), h('dd', { 'data-testid': 'authorization-period' }, period)] : null,
      h('dt', {}, 'The plan says'), h('dd', { 'data-testid': 'authorization-disposition' }, a.disposition),
    ),
    a.notes.length ? h('ul', { class: 'pend-reasons', 'data-testid': 'authorization-notes' }, a.notes.map((n) => h('li', {}, n))) : null,
    a.status === 'pended'
      ? h('p', { 'data-testid': 'authorization-next' }, 'What happens next: a clinical reviewer at the plan decides; no request is denied automatically. The EHR can follow the request, and Refresh shows the decision here. If the reviewer asks for more information, open the documentation again from the EHR and submit it with what was asked.')
      : null,
    a.status === 'approved' ? h('p', {}, 'Quote the authorization number on the claim; new orders for this patient within the period are covered.') : null,
    h('p', { class: 'note' }, `Request ${opts.request}; checked ${new Date(opts.checkedAt).toLocaleString()}. `, refresh),
  );
}
