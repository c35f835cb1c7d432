/** SMART configuration and the token endpoint (Backend Services). */
import express, { Router } from 'express';
import { OAuthError, type SmartAuthServer } from '../security/smart';

export function smartRouter(smart: SmartAuthServer): Router {
  const router = Router();
  const configuration: express.RequestHandler = (_req, res) => {
    res.json(smart.configuration());
  };
  router.get('/.well-known/smart-configuration', configuration);
  router.get('/fhir/.well-known/smart-configuration', configuration);
  router.post('/auth/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      res.json(await smart.token((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (e instanceof OAuthError) {
        res.status(e.status).json({ error: e.error, error_description: e.message });
        return;
      }
      next(e);
    }
  });
  return router;
}
