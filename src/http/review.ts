/**
 * The reviewer workbench (/review): the page for the plan's clinical reviewers, and its JSON API.
 * Sign-in with the reviewer's id and password (REVIEWERS_FILE) opens a session (cookie); every API
 * route needs it, whatever AUTH says. A decision is written with the reviewer, the time and the
 * reasons to the audit store, and becomes the request's current ClaimResponse ($inquire shows it).
 */
import path from 'node:path';
import type { Request, Response } from 'express';
import { REVIEW_PATH } from '../constants';
import { nowIso } from '../core/clock';
import type { Clock } from '../core/clock';
import type { Logger } from '../log';
import { answersOf, caseView, queueLine, responseOf } from '../pas/case-view';
import { applyReviewerAction, readReviewerAction, ReviewInputError } from '../pas/review';
import { DENY_ROLE, REVIEWER_ROLE, type ReviewerSessions } from '../pas/reviewers';
import { PaConflict, type PaStore } from '../pas/store';
import { OPEN_STATUSES } from '../pas/types';
import type { DtrContent } from '../dtr/content';
import { WEB_DIST_DIR } from '../paths';
import { isPublic, principalOf, reviewerSession } from './auth';
import { clearReviewCookie, setReviewCookie } from './cookies';
import type { Routes } from './route';
import { builtPages, contentSecurityPolicy } from './web';

export interface ReviewDeps {
  pas: PaStore;
  reviewers: ReviewerSessions;
  content: DtrContent;
  clock: Clock;
  log: Logger;
  publicBaseUrl: string;
}

function reviewerOf(res: Response) {
  const p = principalOf(res);
  if (p.kind !== 'reviewer') throw new Error('a reviewer route ran without a reviewer session');
  return p.reviewer;
}

const noStore = (res: Response) => res.setHeader('Cache-Control', 'no-store');

export function registerReviewRoutes(routes: Routes, deps: ReviewDeps): void {
  const reviewer = { access: reviewerSession(REVIEWER_ROLE) };
  const api = `${REVIEW_PATH}/api`;

  routes.route('POST', `${api}/login`, { access: isPublic('reviewer sign-in: the route checks the id and password itself'), fhir: false }, async (req, res) => {
    noStore(res);
    if (req.header('x-review-request') !== '1') return void res.status(403).json({ error: 'forbidden', message: 'sign in from the workbench page (X-Review-Request: 1)' });
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = typeof body.id === 'string' ? body.id.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!id || !password || password.length > 1024) return void res.status(400).json({ error: 'invalid', message: 'send your reviewer id and password' });
    if (deps.reviewers.locked(id)) return void res.status(429).json({ error: 'locked', message: 'too many failed sign-ins for this id: try again in a minute' });
    const signedIn = await deps.reviewers.signIn(id, password);
    if (!signedIn) {
      deps.log.warn({ requestId: res.locals.requestId, reviewer: id }, 'reviewer sign-in refused');
      return void res.status(401).json({ error: 'invalid-credentials', message: 'the id or the password is not right' });
    }
    deps.log.info({ requestId: res.locals.requestId, reviewer: id }, 'reviewer signed in');
    setReviewCookie(res, signedIn.token, deps.publicBaseUrl);
    res.json({ reviewer: signedIn.reviewer });
  });

  routes.route('POST', `${api}/logout`, { ...reviewer, body: 'none' }, async (_req, res) => {
    await deps.reviewers.signOut(String(res.locals.reviewerToken ?? ''));
    clearReviewCookie(res, deps.publicBaseUrl);
    res.status(204).end();
  });

  routes.route('GET', `${api}/session`, reviewer, (_req, res) => {
    noStore(res);
    res.json({ reviewer: reviewerOf(res), now: nowIso(deps.clock) });
  });

  routes.route('GET', `${api}/queue`, reviewer, async (_req, res) => {
    noStore(res);
    const now = deps.clock.now();
    const [open, decided] = await Promise.all([deps.pas.queue(), deps.pas.recentlyDecided(20)]);
    res.json({ now: now.toISOString(), open: open.map((r) => queueLine(r, now)), decided: decided.map((r) => queueLine(r, now)) });
  });

  const load = async (req: Request, res: Response) => {
    const found = await deps.pas.byId(req.params.id, { all: true });
    if (!found) res.status(404).json({ error: 'not-found', message: `no prior authorization request ${req.params.id}` });
    return found;
  };

  routes.route('GET', `${api}/cases/:id`, reviewer, async (req, res) => {
    noStore(res);
    const found = await load(req, res);
    if (!found) return;
    res.json(caseView(found, await deps.pas.decisions(found.id), deps.content, deps.clock.now()));
  });

  // An attachment of the clinician's documentation, downloaded (never rendered by the browser in the workbench's origin).
  routes.route('GET', `${api}/cases/:id/attachments/:n`, reviewer, async (req, res) => {
    noStore(res);
    const found = await load(req, res);
    if (!found) return;
    const { attachments } = answersOf(responseOf(found, deps.content), deps.content.questionnaire);
    const att = attachments[Number(req.params.n)]?.answer.valueAttachment;
    if (!att?.data) return void res.status(404).json({ error: 'not-found', message: att?.url ? `the attachment is not inline; the clinician linked it at ${att.url}` : 'no such attachment' });
    const name = (att.title ?? `attachment-${req.params.n}`).replace(/[^A-Za-z0-9._ -]/g, '_');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('application/octet-stream').send(Buffer.from(att.data, 'base64'));
  });

  routes.route('POST', `${api}/cases/:id/decision`, reviewer, async (req, res) => {
    noStore(res);
    const found = await load(req, res);
    if (!found) return;
    const who = reviewerOf(res);
    let action;
    try {
      action = readReviewerAction(req.body);
    } catch (e) {
      if (e instanceof ReviewInputError) return void res.status(422).json({ error: 'invalid', field: e.field, message: e.message });
      throw e;
    }
    if (action.action === 'deny' && !who.roles.includes(DENY_ROLE)) {
      return void res.status(403).json({ error: 'forbidden', message: `a denial is an adverse determination: it needs the ${DENY_ROLE} role (a physician or clinical peer)` });
    }
    if (!OPEN_STATUSES.includes(found.status)) {
      return void res.status(409).json({ error: 'conflict', message: `the request is already ${found.status}${found.decidedAt ? ` (${found.decidedAt})` : ''}` });
    }
    const { update, decision } = applyReviewerAction(found, action, { id: who.id, name: who.name, npi: who.npi, specialty: who.specialty }, nowIso(deps.clock));
    try {
      await deps.pas.decide(found.id, found.version, update, decision);
    } catch (e) {
      if (e instanceof PaConflict) return void res.status(409).json({ error: 'conflict', message: 'another reviewer decided this request meanwhile: reload it' });
      throw e;
    }
    deps.log.info({ requestId: res.locals.requestId, reviewer: who.id, paRequest: found.id, action: action.action }, 'reviewer decision recorded');
    const after = (await deps.pas.byId(found.id, { all: true }))!;
    res.json(caseView(after, await deps.pas.decisions(found.id), deps.content, deps.clock.now()));
  });

  // The page: static files; everything it shows comes from the API above, behind the session.
  const page = { access: isPublic('the reviewer workbench page: its data needs a reviewer session') };
  routes.mount(REVIEW_PATH, page, contentSecurityPolicy("'self'"), builtPages(path.join(WEB_DIST_DIR, 'review'), 'The reviewer workbench'));
}
