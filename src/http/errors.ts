/**
 * Body parsing and error responses shared by every route: JSON errors, the right status each, and
 * nothing internal (no file paths, no stack, no library messages) in an error body.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { OperationOutcome } from 'fhir/r4';
import { operationOutcome, statusOutcome, type IssueCode } from '../fhir/outcome';

const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/*+json'];

export const MAX_JSON_DEPTH = 100;

/** The OperationOutcome of an HTTP-level refusal (401, 403, 422...), from the project's one builder (src/fhir/outcome.ts). */
export function fhirOutcome(code: IssueCode, diagnostics: string): OperationOutcome {
  return operationOutcome({ code, diagnostics });
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether raw JSON text nests deeper than `max`, decided by one pass over the bytes before any
 * parsing (strings skipped), so a deep body costs a scan, not a parse and a walk.
 */
export function jsonTextTooDeep(buf: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

class TooDeep extends Error {
  readonly status = 400;
  readonly type = 'too-deep';
}

/**
 * Parses a JSON body (application/json, application/fhir+json) up to `limit` bytes and
 * MAX_JSON_DEPTH levels. Routes place it after authentication, so nothing is parsed for an
 * unauthenticated caller.
 */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    if (!req.is(JSON_TYPES)) return sendError(req, res, 415, 'unsupported-media-type', 'send the body as application/json or application/fhir+json');
    next();
  };
  const parse = express.json({
    limit,
    type: JSON_TYPES,
    strict: false,
    verify: (_req, _res, buf) => {
      if (jsonTextTooDeep(buf, MAX_JSON_DEPTH)) throw new TooDeep(`the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
    },
  });
  return [requireJson, parse];
}

/** Sends an error as JSON, or as an OperationOutcome on the FHIR endpoint. */
export function sendError(req: Request, res: Response, status: number, error: string, message: string): void {
  if (req.path.startsWith('/fhir/') || req.path === '/fhir') {
    res.status(status).type('application/fhir+json').send(JSON.stringify(statusOutcome(status, message)));
    return;
  }
  res.status(status).json({ error, message });
}

/** Fixed texts for client errors raised by Express and its middleware: their own messages may carry file paths. */
const CLIENT_ERROR_TEXT: Record<number, [string, string]> = {
  400: ['bad-request', 'the request could not be read (a malformed path, percent-encoding or header)'],
  403: ['forbidden', 'the request is not allowed'],
  404: ['not-found', 'no such resource'],
  405: ['method-not-allowed', 'the method is not allowed here'],
  412: ['precondition-failed', 'a precondition failed'],
  413: ['payload-too-large', 'the request body is over the size limit'],
  415: ['unsupported-media-type', 'the content type or charset is not supported'],
  416: ['range-not-satisfiable', 'the requested range is not available'],
};

/**
 * Maps body-parser failures (bad JSON 400, too deep 400, too large 413), malformed percent-encoding
 * (400) and anything unexpected (500, logged) to JSON. Messages are this service's own.
 */
export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err);
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
  if (e.type === 'entity.parse.failed') return sendError(req, res, 400, 'invalid-json', 'the body is not valid JSON');
  if (e.type === 'too-deep') return sendError(req, res, 400, 'too-deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (e.type === 'entity.too.large') return sendError(req, res, 413, 'payload-too-large', 'the request body is over the size limit');
  if (err instanceof URIError) return sendError(req, res, 400, 'bad-request', CLIENT_ERROR_TEXT[400][1]);
  const status = e.status ?? e.statusCode;
  if (status && status >= 400 && status < 500) {
    const [error, message] = CLIENT_ERROR_TEXT[status] ?? ['bad-request', 'the request was refused'];
    return sendError(req, res, status, error, message);
  }
  // A defect, not an expected failure: logged with its stack, answered 500 (an OperationOutcome on /fhir).
  const stack = err instanceof Error ? err.stack : undefined;
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', requestId: res.locals.requestId, method: req.method, path: req.path, error: String(err), stack }));
  sendError(req, res, 500, 'internal-error', 'the service failed to handle the request');
};
