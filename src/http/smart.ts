/** SMART configuration and the token endpoint (Backend Services). */
import type { RequestHandler, Response } from 'express';
import { OAuthError, type SmartAuthServer } from '../security/smart';
import { isPublic } from './auth';
import type { Routes } from './route';

export function registerSmartRoutes(routes: Routes, smart: SmartAuthServer): void {
  const configuration: RequestHandler = (_req, res) => {
    res.json(smart.configuration());
  };
  const discovery = { access: isPublic('SMART discovery document') };
  routes.route('GET', '/.well-known/smart-configuration', discovery, configuration);
  routes.route('GET', '/fhir/.well-known/smart-configuration', discovery, configuration);
  // The client authenticates in the form (private_key_jwt assertion), checked by smart.token.
  routes.route('POST', '/auth/token', { access: isPublic('token endpoint: the client authenticates with its signed assertion'), body: 'form', fhir: false }, async (req, res) => {
    await answerOAuth(res, () => smart.token((req.body ?? {}) as Record<string, unknown>));
  });
}

/** Answers a token-issuing call: its result, or its OAuthError as RFC 6749 `error` JSON; anything else is thrown on (a 500). */
export async function answerOAuth(res: Response, issue: () => Promise<unknown>): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  try {
    res.json(await issue());
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    res.status(e.status).json({ error: e.error, error_description: e.message });
  }
}
