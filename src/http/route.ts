/**
 * Routes declare their access next to their handler, and only declared routes exist.
 *
 *   routes.route('GET', '/fhir/Questionnaire/:id', { access: scopes('system/Questionnaire.r') }, handler)
 *
 * Each route runs, in order: the authentication its access declares, then (POST/PUT) the body
 * parser with its size and depth limits (so nothing is parsed before the caller is known), then
 * its handlers, each wrapped so that a rejected promise or a throw reaches the error handler
 * (Express 4 does not catch rejected promises). Routing is case-sensitive and strict: /FHIR/... and
 * /fhir/metadata/ match nothing. `assertAllDeclared` walks the application's router at start-up
 * and refuses to start if any route or middleware was added without a declaration.
 */
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { authenticate, type Access, type AuthDeps } from './auth';
import { jsonBody } from './errors';

export type Method = 'GET' | 'POST' | 'PUT';

export interface RouteSpec {
  access: Access;
  /** How a POST/PUT body is read (after authentication): JSON (default), an HTML form, or not at all. */
  body?: 'json' | 'form' | 'none';
  /** Refusals as OperationOutcome (the FHIR endpoint). Defaults to paths under /fhir. */
  fhir?: boolean;
}

export interface RouteDeclaration {
  method: Method | 'USE';
  /** The Express path, e.g. /fhir/QuestionnaireResponse/:id (a mount point for USE). */
  path: string;
  access: Access;
}

const DECLARED = Symbol('declared-route');

type Tagged = RequestHandler & { [DECLARED]?: true };

function tag(handler: RequestHandler): RequestHandler {
  (handler as Tagged)[DECLARED] = true;
  return handler;
}

/** One wrapper for every handler: a throw or a rejected promise goes to next(err), never to the process. */
export function safe(handler: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = handler(req, res, next) as unknown;
      if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).catch(next);
    } catch (e) {
      next(e);
    }
  };
}

/** Routers with the project's routing rules: case-sensitive and strict. */
export function strictRouter(): Router {
  return express.Router({ caseSensitive: true, strict: true });
}

export class Routes {
  readonly router: Router = strictRouter();
  private readonly declared: RouteDeclaration[] = [];

  constructor(
    private readonly auth: AuthDeps,
    private readonly bodyLimitBytes: number,
  ) {}

  /** Every declared route, in order: the table the security tests enumerate. */
  get declarations(): readonly RouteDeclaration[] {
    return this.declared;
  }

  route(method: Method, path: string, spec: RouteSpec, ...handlers: RequestHandler[]): void {
    const fhir = spec.fhir ?? (path === '/fhir' || path.startsWith('/fhir/'));
    const body = method === 'GET' ? [] : this.bodyParsers(spec.body ?? 'json');
    this.declared.push({ method, path, access: spec.access });
    const chain = [tag(safe(authenticate(spec.access, this.auth, fhir))), ...body.map(safe), ...handlers.map(safe)];
    if (method === 'GET') this.router.get(path, ...chain);
    else if (method === 'POST') this.router.post(path, ...chain);
    else this.router.put(path, ...chain);
  }

  /**
   * A mounted handler for a whole subtree (static files, the sandbox FHIR server): any method under
   * `path`. A POST or PUT body is read (after authentication) as `spec.body` says, default none.
   */
  mount(path: string, spec: RouteSpec, ...handlers: RequestHandler[]): void {
    this.declared.push({ method: 'USE', path, access: spec.access });
    const parsers = this.bodyParsers(spec.body ?? 'none');
    const body: RequestHandler[] = parsers.length
      ? [(req, res, next) => (req.method === 'POST' || req.method === 'PUT' ? runAll(parsers, req, res, next) : next())]
      : [];
    // Everything under a declared mount is declared (its own static files or sub-router).
    this.router.use(path, tag(safe(authenticate(spec.access, this.auth, spec.fhir ?? false))), ...[...body, ...handlers].map((h) => tag(safe(h))));
  }

  private bodyParsers(kind: 'json' | 'form' | 'none'): RequestHandler[] {
    if (kind === 'none') return [];
    if (kind === 'form') return [express.urlencoded({ extended: false, limit: '64kb' })];
    return jsonBody(this.bodyLimitBytes);
  }
}

/** Runs middlewares in sequence, stopping at the first that answers or fails. */
function runAll(handlers: RequestHandler[], req: Request, res: Response, next: NextFunction): void {
  const step = (i: number, err?: unknown): void => {
    if (err !== undefined) return next(err);
    if (i === handlers.length) return next();
    handlers[i](req, res, (e?: unknown) => step(i + 1, e));
  };
  step(0);
}

/** Marks an application-wide middleware (logging, CORS, the 404 and error handlers) as declared. */
export function globalMiddleware<H extends RequestHandler | ErrorRequestHandler>(handler: H): H {
  (handler as unknown as Tagged)[DECLARED] = true;
  return handler;
}

interface ExpressLayer {
  name?: string;
  handle: RequestHandler & { stack?: ExpressLayer[] };
  route?: { path: string; stack: ExpressLayer[] };
}

/**
 * Refuses an application with an undeclared route or middleware: every route's first handler must
 * be a declared authentication, and every other layer a declared mount, a declared global
 * middleware, a router holding only declared layers, or one of Express's own (query, expressInit).
 */
export function assertAllDeclared(app: express.Express): void {
  const stack = (app as unknown as { _router?: { stack: ExpressLayer[] } })._router?.stack ?? [];
  const problems: string[] = [];
  const walk = (layers: ExpressLayer[], where: string) => {
    for (const layer of layers) {
      if (layer.route) {
        if (!(layer.route.stack[0]?.handle as Tagged | undefined)?.[DECLARED]) problems.push(`${where}route ${layer.route.path}`);
      } else if (Array.isArray(layer.handle.stack)) {
        walk(layer.handle.stack, `${where}router > `);
      } else if (!(layer.handle as Tagged)[DECLARED] && !['query', 'expressInit'].includes(layer.name ?? '')) {
        problems.push(`${where}middleware ${layer.name ?? 'anonymous'}`);
      }
    }
  };
  walk(stack, '');
  if (problems.length) throw new Error(`routes without an access declaration (use Routes.route/mount): ${problems.join(', ')}`);
}

/** The routes the application actually serves, read from Express's router (for the tests). */
export function servedRoutes(app: express.Express): { method: string; path: string }[] {
  const stack = (app as unknown as { _router?: { stack: ExpressLayer[] } })._router?.stack ?? [];
  const out: { method: string; path: string }[] = [];
  const walk = (layers: ExpressLayer[]) => {
    for (const layer of layers) {
      if (layer.route) {
        const methods = Object.keys((layer.route as unknown as { methods: Record<string, boolean> }).methods).map((m) => m.toUpperCase());
        for (const method of methods) out.push({ method, path: layer.route.path });
      } else if (Array.isArray(layer.handle.stack)) walk(layer.handle.stack);
    }
  };
  walk(stack);
  return out;
}
