/** Serving the browser pages (DTR app, sandbox EHR page): static files with a strict Content-Security-Policy. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { strictRouter } from './route';

/**
 * Scripts only from this origin (no inline script, no eval); styles may be inline because the
 * form renderer (Angular) sets them; data: and blob: images for attachments. connect-src is
 * passed in: the DTR app talks to whatever EHR launched it.
 */
export function contentSecurityPolicy(connectSrc: string): RequestHandler {
  const policy = [
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    `connect-src ${connectSrc}`, "frame-ancestors 'self'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };
}

/** Static files of one built page set; a clear 503 when `npm run build` has not produced them. */
export function builtPages(dir: string, what: string): Router {
  const router = strictRouter();
  router.use(express.static(dir, { index: 'index.html', extensions: ['html'], fallthrough: true }));
  router.use((_req, res, next) => {
    if (existsSync(path.join(dir, 'index.html'))) return next();
    res.status(503).type('text/plain').send(`${what} has not been built: run npm run build\n`);
  });
  return router;
}
