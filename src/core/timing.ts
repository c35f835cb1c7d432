/**
 * Time per CQL definition and function, for one evaluation, so content authors can find slow logic.
 *
 * cql-execution has no profiler. instrumentLibrary() takes a Library instance of its own (the engine resolves
 * a separate one, so untimed evaluations run the untouched library at full speed) and wraps the `exec` of
 * every ExpressionDef and the `execute` of every function body, in the library and the libraries it includes.
 * A wrapper finds the evaluation's collector through the context's message listener, which is set per
 * Executor, so concurrent timed evaluations keep their figures apart. Within one evaluation the calls must
 * nest like a stack for time spent in a nested definition to be subtracted from its caller's self time;
 * cql-execution awaits most sub-expressions in turn, but evaluates a List's elements and a multi-source
 * Query's sources with Promise.all, which interleaves them (a List of criteria whose definitions are not
 * yet computed would charge each one the time of all). The instrumented copy therefore evaluates those
 * one after the other: the results are the same (CQL has no side effects), the figures nest.
 */
import * as cql from 'cql-execution';
import type { DefinitionTiming } from './types';

/** What the instrumentation touches on cql-execution's Library (its typings declare these as any). */
interface ExecutableExpression {
  exec(ctx: unknown): Promise<unknown>;
  execute(ctx: unknown): Promise<unknown>;
}
interface TypeSpec {
  type?: string;
  name?: string;
  elementType?: TypeSpec;
  pointType?: TypeSpec;
}
interface FunctionDefinition {
  name: string;
  parameters: { operandTypeSpecifier?: TypeSpec; operandType?: string }[];
  expression?: ExecutableExpression;
}
interface LibraryShape {
  source?: { library?: { identifier?: { id?: string } } };
  expressions: Record<string, ExecutableExpression>;
  functions: Record<string, FunctionDefinition[]>;
  includes: Record<string, LibraryShape>;
}
interface ContextShape {
  rootContext(): { messageListener?: unknown };
}

interface Frame {
  name: string;
  start: number;
  childMs: number;
}

/** The message listener of a timed evaluation; it carries the figures. */
export class TimingListener extends cql.NullMessageListener {
  private readonly totals = new Map<string, DefinitionTiming>();
  private readonly stack: Frame[] = [];

  enter(name: string): Frame {
    const frame = { name, start: performance.now(), childMs: 0 };
    this.stack.push(frame);
    return frame;
  }

  exit(frame: Frame, kind: DefinitionTiming['kind']): void {
    const elapsed = performance.now() - frame.start;
    // Pop down to this frame: a frame left by an exception inside it has ended as well.
    while (this.stack.length > 0 && this.stack.pop() !== frame);
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.childMs += elapsed;
    const total = this.totals.get(frame.name) ?? { name: frame.name, kind, calls: 0, totalMs: 0, selfMs: 0 };
    total.calls += 1;
    total.totalMs += elapsed;
    total.selfMs += elapsed - frame.childMs;
    this.totals.set(frame.name, total);
  }

  /** Every definition and function that ran, slowest self time first. */
  timings(): DefinitionTiming[] {
    return [...this.totals.values()].sort((a, b) => b.selfMs - a.selfMs);
  }
}

function listenerOf(ctx: unknown): TimingListener | undefined {
  const listener = (ctx as ContextShape).rootContext().messageListener;
  return listener instanceof TimingListener ? listener : undefined;
}

function timed(target: ExecutableExpression, method: 'exec' | 'execute', name: string, kind: DefinitionTiming['kind']): void {
  const original = target[method].bind(target);
  target[method] = async (ctx: unknown) => {
    const listener = listenerOf(ctx);
    if (!listener) return original(ctx);
    const frame = listener.enter(name);
    try {
      return await original(ctx);
    } finally {
      listener.exit(frame, kind);
    }
  };
}

function typeName(spec: TypeSpec | undefined): string {
  if (!spec) return '?';
  if (spec.type === 'ListTypeSpecifier') return `List<${typeName(spec.elementType)}>`;
  if (spec.type === 'IntervalTypeSpecifier') return `Interval<${typeName(spec.pointType)}>`;
  return (spec.name ?? spec.type ?? '?').replace(/^\{[^}]*\}/, '');
}

function signature(libraryName: string, fn: FunctionDefinition): string {
  const operands = fn.parameters.map((p) => typeName(p.operandTypeSpecifier ?? (p.operandType ? { name: p.operandType } : undefined)));
  return `${libraryName}.${fn.name}(${operands.join(', ')})`;
}

interface ExpressionNode {
  exec(ctx: unknown): Promise<unknown>;
  elements?: ExecutableExpression[];
  sources?: { expression: ExecutableExpression }[];
}

/**
 * Makes a List's elements, and a multi-source Query's sources, run one after the other in `root`'s tree
 * (which holds Expressions and the plain objects of query clauses around them).
 */
function sequential(root: unknown, visited: Set<unknown>): void {
  if (!root || typeof root !== 'object' || visited.has(root)) return;
  visited.add(root);
  if (Array.isArray(root)) {
    for (const v of root) sequential(v, visited);
    return;
  }
  for (const value of Object.values(root)) sequential(value, visited);
  if (!(root instanceof cql.Expression)) return;
  const node = root as unknown as ExpressionNode;
  if (node.constructor.name === 'List' && Array.isArray(node.elements)) {
    const elements = node.elements;
    node.exec = async (ctx: unknown) => {
      const out: unknown[] = [];
      for (const element of elements) out.push(await element.execute(ctx));
      return out;
    };
  }
  if (node.constructor.name === 'Query' && Array.isArray(node.sources) && node.sources.length > 1) {
    // Query.exec starts every source at once; each source waits for the one before it in the same call.
    const pending = new WeakMap<object, Promise<unknown>>();
    for (const source of node.sources) {
      const execute = source.expression.execute.bind(source.expression);
      source.expression.execute = (ctx: unknown) => {
        const run = (pending.get(ctx as object) ?? Promise.resolve()).then(() => execute(ctx));
        pending.set(ctx as object, run.catch(() => undefined));
        return run;
      };
    }
  }
}

/** Wraps every definition and function body of `library` and its includes (each library once). */
export function instrumentLibrary(library: cql.Library, seen = new Set<LibraryShape>()): cql.Library {
  const lib = library as unknown as LibraryShape;
  if (seen.has(lib)) return library;
  seen.add(lib);
  const libraryName = lib.source?.library?.identifier?.id ?? '?';
  const visited = new Set<unknown>();
  for (const def of Object.values(lib.expressions)) sequential(def, visited);
  for (const overloads of Object.values(lib.functions)) for (const fn of overloads) sequential(fn.expression, visited);
  for (const [name, def] of Object.entries(lib.expressions)) timed(def, 'exec', `${libraryName}.${name}`, 'definition');
  for (const overloads of Object.values(lib.functions)) {
    for (const fn of overloads) if (fn.expression) timed(fn.expression, 'execute', signature(libraryName, fn), 'function');
  }
  for (const included of Object.values(lib.includes)) instrumentLibrary(included as unknown as cql.Library, seen);
  return library;
}
