/** Body parsing and error responses shared by every route: JSON errors, the right status each. */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { statusOutcome } from '../fhir/outcome';

const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/*+json'];

export const MAX_JSON_DEPTH = 100;

/** The nesting depth of a parsed JSON value, measured without recursion. */
export function jsonDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}

/** Parses JSON bodies (application/json and application/fhir+json) up to `limit` bytes and MAX_JSON_DEPTH levels. */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    if (!req.is(JSON_TYPES)) return sendError(req, res, 415, 'unsupported-media-type', 'send the body as application/json or application/fhir+json');
    next();
  };
  const limitDepth: RequestHandler = (req, res, next) => {
    if (req.body !== undefined && jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return sendError(req, res, 400, 'too-deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
    }
    next();
  };
  return [requireJson, express.json({ limit, type: JSON_TYPES, strict: false }), limitDepth];
}

/** Maps body-parser failures (bad JSON 400, too large 413) and anything unexpected (500) to JSON. */
/** Sends an error as JSON, or as an OperationOutcome on the FHIR endpoint. */
export function sendError(req: Request, res: Response, status: number, error: string, message: string): void {
  if (req.path.startsWith('/fhir')) {
    res.status(status).type('application/fhir+json').send(JSON.stringify(statusOutcome(status, message)));
    return;
  }
  res.status(status).json({ error, message });
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed') return sendError(req, res, 400, 'invalid-json', `the body is not valid JSON: ${e.message}`);
  if (e.type === 'entity.too.large') return sendError(req, res, 413, 'payload-too-large', 'the request body is over the size limit');
  if (e.status && e.status >= 400 && e.status < 500) return sendError(req, res, e.status, 'bad-request', e.message ?? 'bad request');
  // A defect, not an expected failure: logged with its stack, answered 500 (an OperationOutcome on /fhir).
  const stack = err instanceof Error ? err.stack : undefined;
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', requestId: res.locals.requestId, method: req.method, path: req.path, error: String(err), stack }));
  sendError(req, res, 500, 'internal-error', 'the service failed to handle the request');
};
