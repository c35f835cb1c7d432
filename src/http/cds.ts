/** CDS Hooks routes: discovery, service calls and feedback. Thin: validate, call the core, answer. */
import { Router } from 'express';
import { handleHook, type HookDeps } from '../crd/hook';

export function cdsRouter(deps: HookDeps): Router {
  const router = Router();

  router.get('/cds-services', (_req, res) => {
    res.json({ services: deps.services });
  });

  router.post('/cds-services/:id', async (req, res, next) => {
    try {
      const started = process.hrtime.bigint();
      const result = await handleHook(req.params.id, req.body, deps);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      res.setHeader('Server-Timing', `hook;dur=${ms.toFixed(1)}`);
      res.status(result.status).json(result.body);
    } catch (e) {
      next(e);
    }
  });

  router.post('/cds-services/:id/feedback', (req, res) => {
    if (!deps.services.some((s) => s.id === req.params.id)) {
      res.status(404).json({ error: 'unknown-service', message: `no CDS service with id ${req.params.id}` });
      return;
    }
    const feedback = (req.body as { feedback?: unknown })?.feedback;
    const valid =
      Array.isArray(feedback) &&
      feedback.every(
        (f) =>
          typeof f === 'object' && f !== null && typeof (f as { card?: unknown }).card === 'string' &&
          ['accepted', 'overridden'].includes(String((f as { outcome?: unknown }).outcome)) &&
          typeof (f as { outcomeTimestamp?: unknown }).outcomeTimestamp === 'string',
      );
    if (!valid) {
      res.status(422).json({ error: 'invalid-feedback', message: 'feedback must be an array of {card, outcome (accepted|overridden), outcomeTimestamp}' });
      return;
    }
    res.status(200).json({});
  });

  return router;
}
