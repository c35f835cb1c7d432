/** Auditor look-ups: by hookInstance and by coverage-assertion-id (scope admin/audit.rs). */
import { Router } from 'express';
import type { AuditStore } from '../audit/store';

export function auditRouter(store: AuditStore): Router {
  const router = Router();
  router.get('/audit/hooks/:hookInstance', async (req, res, next) => {
    try {
      const calls = await store.findHookCalls(req.params.hookInstance);
      if (calls.length === 0) return void res.status(404).json({ error: 'not-found', message: `no hook call with hookInstance ${req.params.hookInstance}` });
      res.json({ hookInstance: req.params.hookInstance, calls });
    } catch (e) {
      next(e);
    }
  });
  router.get('/audit/assertions/:assertionId', async (req, res, next) => {
    try {
      const found = await store.findAssertion(req.params.assertionId);
      if (!found) return void res.status(404).json({ error: 'not-found', message: `no coverage assertion ${req.params.assertionId}` });
      res.json({ assertionId: req.params.assertionId, ...found });
    } catch (e) {
      next(e);
    }
  });
  return router;
}
