/** Auditor look-ups: by hookInstance and by coverage-assertion-id (scope admin/audit.rs, whatever AUTH says). */
import type { AuditStore } from '../audit/store';
import { AUDITOR_SCOPE } from '../security/principal';
import { auditorScopes } from './auth';
import type { Routes } from './route';

export function registerAuditRoutes(routes: Routes, store: AuditStore): void {
  const access = { access: auditorScopes(AUDITOR_SCOPE) };
  routes.route('GET', '/audit/hooks/:hookInstance', access, async (req, res) => {
    const calls = await store.findHookCalls(req.params.hookInstance);
    if (calls.length === 0) return void res.status(404).json({ error: 'not-found', message: `no hook call with hookInstance ${req.params.hookInstance}` });
    res.json({ hookInstance: req.params.hookInstance, calls });
  });
  routes.route('GET', '/audit/assertions/:assertionId', access, async (req, res) => {
    const found = await store.findAssertion(req.params.assertionId);
    if (!found) return void res.status(404).json({ error: 'not-found', message: `no coverage assertion ${req.params.assertionId}` });
    res.json({ assertionId: req.params.assertionId, ...found });
  });
}
