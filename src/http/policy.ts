/**
 * The published coverage guideline the cards link to: GET /policy/kineret-anakinra is readable HTML
 * (src/policy/guideline.ts: the guideline's words, its criteria numbered as in the guideline, each
 * with an anchor) for a browser, and the plain text for a client that asks for text/plain or for
 * /policy/kineret-anakinra.txt. Rendered once at start-up from policy/*.txt.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { POLICY_PATH } from '../constants';
import { ROOT } from '../paths';
import { parseGuideline, renderGuidelineHtml } from '../policy/guideline';
import { isPublic } from './auth';
import type { Routes } from './route';
import { contentSecurityPolicy } from './web';

export const POLICY_FILE = path.join(ROOT, 'policy', 'kineret-anakinra-coverage-guideline.txt');

export function registerPolicyRoutes(routes: Routes, opts: { payerName: string }): void {
  const text = readFileSync(POLICY_FILE, 'utf8');
  const html = renderGuidelineHtml(parseGuideline(text), { textUrl: `${POLICY_PATH}.txt`, payerName: opts.payerName });
  const access = { access: isPublic('the published coverage policy the cards link to') };
  const csp = contentSecurityPolicy("'none'");
  routes.route('GET', POLICY_PATH, access, csp, (req, res) => {
    res.setHeader('Vary', 'Accept');
    if (req.accepts(['text/html', 'text/plain']) === 'text/plain') return void res.type('text/plain; charset=utf-8').send(text);
    res.type('text/html; charset=utf-8').send(html);
  });
  routes.route('GET', `${POLICY_PATH}.txt`, access, (_req, res) => {
    res.type('text/plain; charset=utf-8').send(text);
  });
}
