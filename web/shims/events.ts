/**
 * Stands in for Node's events in the browser bundle: the part of EventEmitter that xml2js uses
 * (on, once, emit, removeListener, removeAllListeners) while cql-exec-fhir parses the model info.
 * xml2js subclasses it CoffeeScript-style without calling this constructor, so the listener table
 * is created on first use rather than in a constructor.
 */
type Listener = (this: unknown, ...args: unknown[]) => void;
const TABLE = Symbol('listeners');
type Holder = { [TABLE]?: Map<string | symbol, Listener[]> };

export class EventEmitter {
  private table(): Map<string | symbol, Listener[]> {
    const holder = this as unknown as Holder;
    return (holder[TABLE] ??= new Map());
  }

  on(event: string | symbol, listener: Listener): this {
    this.table().set(event, [...(this.table().get(event) ?? []), listener]);
    return this;
  }

  addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string | symbol, listener: Listener): this {
    const self = this;
    const wrapped: Listener = function (this: unknown, ...args: unknown[]) {
      self.removeListener(event, wrapped);
      listener.apply(this, args);
    };
    return this.on(event, wrapped);
  }

  removeListener(event: string | symbol, listener: Listener): this {
    this.table().set(event, (this.table().get(event) ?? []).filter((l) => l !== listener));
    return this;
  }

  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) this.table().clear();
    else this.table().delete(event);
    return this;
  }

  emit(event: string | symbol, ...args: unknown[]): boolean {
    const current = this.table().get(event) ?? [];
    // Like Node's, listeners run with the emitter as `this` (xml2js relies on it).
    for (const l of [...current]) l.apply(this, args);
    return current.length > 0;
  }
}
