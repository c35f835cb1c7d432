/** Body parsing and error responses shared by every route: JSON errors, the right status each. */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';

const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/*+json'];

/** Parses JSON bodies (application/json and application/fhir+json) up to `limit` bytes. */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    if (!req.is(JSON_TYPES)) {
      res.status(415).json({ error: 'unsupported-media-type', message: 'send the body as application/json or application/fhir+json' });
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit, type: JSON_TYPES, strict: false })];
}

/** Maps body-parser failures (bad JSON 400, too large 413) and anything unexpected (500) to JSON. */
export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: 'invalid-json', message: `the body is not valid JSON: ${e.message}` });
    return;
  }
  if (e.type === 'entity.too.large') {
    res.status(413).json({ error: 'payload-too-large', message: 'the request body is over the size limit' });
    return;
  }
  if (e.status && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: 'bad-request', message: e.message ?? 'bad request' });
    return;
  }
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', error: String(err) }));
  res.status(500).json({ error: 'internal-error', message: 'the service failed to handle the request' });
};
