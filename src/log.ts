/** Structured JSON logs (pino). Ids and timings only: no names, no clinical content (no PHI). */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'kineret-pa' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Gives each request an id (X-Request-Id when the caller sends a sane one) and logs its outcome and timing. */
export function requestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.header('x-request-id');
    const id = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const hookInstance = typeof res.locals.hookInstance === 'string' ? res.locals.hookInstance : undefined;
      log.info({ requestId: id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(hookInstance ? { hookInstance } : {}), ...(res.locals.clientId ? { client: res.locals.clientId } : {}) }, 'request');
    });
    next();
  };
}
