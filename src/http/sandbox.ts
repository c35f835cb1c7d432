/**
 * Development-only helpers of the embedded sandbox EHR (SANDBOX=off removes them): tokens signed
 * with the sandbox's own start-up key, so that `curl` can call the authenticated endpoints locally.
 */
import { Router } from 'express';
import type { SandboxIdentity } from '../sandbox/identity';
import { SANDBOX_DTR_SCOPES } from '../sandbox/identity';
import { CLIENT_ASSERTION_TYPE, type SmartAuthServer } from '../security/smart';

export function sandboxTokenRouter(identity: SandboxIdentity, smart: SmartAuthServer, publicBaseUrl: string, serviceIds: string[]): Router {
  const router = Router();
  router.use('/sandbox', (_req, res, next) => {
    res.setHeader('X-Sandbox', 'development only: not for production use');
    next();
  });
  router.get('/sandbox/cds-token', async (req, res, next) => {
    try {
      const service = String(req.query.service ?? '');
      if (!serviceIds.includes(service)) return void res.status(400).type('text/plain').send(`service must be one of ${serviceIds.join(', ')}\n`);
      res.type('text/plain').send(await identity.cdsJwt(`${publicBaseUrl}/cds-services/${service}`));
    } catch (e) {
      next(e);
    }
  });
  router.get('/sandbox/dtr-token', async (_req, res, next) => {
    try {
      const token = await smart.token({
        grant_type: 'client_credentials',
        scope: SANDBOX_DTR_SCOPES.join(' '),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await identity.clientAssertion(smart.tokenEndpoint),
      });
      res.type('text/plain').send(String(token.access_token));
    } catch (e) {
      next(e);
    }
  });
  return router;
}
