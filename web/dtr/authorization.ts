/**
 * The plan's answer to the prior authorization request (PAS), as the clinician sees it: approved with
 * the authorization number and period; pended with why and what happens next; or denied by the
 * plan's reviewer with the reason. A refresh asks the plan again ($inquire). At launch, the earlier request for
 * the same order (./earlier.ts), with whether the next submission updates it.
 */
import { h, replace } from './dom';
import type { Authorization } from './pas';

const HEADLINE: Record<Authorization['status'], string> = {
  approved: 'APPROVED',
  pended: 'PENDED FOR REVIEW',
  denied: 'NOT APPROVED',
  unknown: 'ANSWER NOT UNDERSTOOD',
};

export interface AuthorizationView {
  request: string;
  checkedAt: string;
  onRefresh: () => void;
  /**
   * The request was found at the plan when the app was launched (an earlier launch sent it): `replaces` while it
   * is still open (the next submission updates it), `information` once it is decided.
   */
  earlier?: 'replaces' | 'information';
  /** The identifier of the earlier request this one replaced, when it did. */
  replaced?: string;
}

const EARLIER: Record<NonNullable<AuthorizationView['earlier']>, string> = {
  replaces: 'This order already has a prior authorization request open at the plan, sent from an earlier session. Submitting this documentation updates that request: the plan replaces it with the new one, and its reviewer works one request, not two.',
  information: 'The plan has already decided an earlier prior authorization request for this order (shown for information). Submitting this documentation sends a new request; it does not change that decision.',
};

export function renderAuthorization(target: HTMLElement, a: Authorization, opts: AuthorizationView): void {
  const period = a.period ? `${a.period.start ?? '?'} to ${a.period.end ?? '?'}` : null;
  const refresh = h('button', { type: 'button', id: 'refresh-authorization' }, 'Refresh');
  refresh.onclick = opts.onRefresh;
  target.dataset.status = a.status;
  replace(target,
    h('h2', {}, opts.earlier ? 'The earlier prior authorization request for this order' : 'The plan\'s answer to the prior authorization request'),
    opts.earlier ? h('p', { 'data-testid': 'authorization-earlier', 'data-earlier': opts.earlier }, EARLIER[opts.earlier]) : null,
    opts.replaced ? h('p', { 'data-testid': 'authorization-replaced' }, `This request replaces the earlier request ${opts.replaced}, which the plan has closed.`) : null,
    h('p', { class: `decision decision-${a.status}`, 'data-testid': 'authorization-status' }, HEADLINE[a.status]),
    h('dl', {},
      a.number ? [h('dt', {}, 'Authorization'), h('dd', { 'data-testid': 'authorization-number' }, a.number)] : null,
      period && a.status === 'approved' ? [h('dt', {}, 'Authorized'), h('dd', { 'data-testid': 'authorization-period' }, period)] : null,
      h('dt', {}, 'The plan says'), h('dd', { 'data-testid': 'authorization-disposition' }, a.disposition),
    ),
    a.notes.length ? h('ul', { class: 'pend-reasons', 'data-testid': 'authorization-notes' }, a.notes.map((n) => h('li', {}, n))) : null,
    a.status === 'pended'
      ? h('p', { 'data-testid': 'authorization-next' }, 'What happens next: a clinical reviewer at the plan decides; no request is denied automatically. The EHR can follow the request, and Refresh shows the decision here. If the reviewer asks for more information, open the documentation again from the EHR (the order\'s prior authorization card or documentation link) and submit it with what was asked: the app finds this request and the submission updates it.')
      : null,
    a.status === 'approved' ? h('p', {}, 'Quote the authorization number on the claim; new orders for this patient within the period are covered.') : null,
    h('p', { class: 'note' }, `Request ${opts.request}; checked ${new Date(opts.checkedAt).toLocaleString()}. `, refresh),
  );
}

/** The plan could not be asked for an earlier request for this order: said plainly, and the work goes on. */
export function renderEarlierUnchecked(target: HTMLElement, reason: string): void {
  target.dataset.status = 'unchecked';
  replace(target,
    h('h2', {}, 'Earlier prior authorization requests'),
    h('p', { 'data-testid': 'authorization-earlier', 'data-earlier': 'unchecked' },
      `The app could not check with the plan for an earlier request for this order: ${reason} You can still document and submit. If an earlier request for this order is still open, the plan receives this one as a separate request.`),
  );
}
