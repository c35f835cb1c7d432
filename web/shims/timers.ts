/** Stands in for Node's timers in the browser bundle (xml2js asks for setImmediate). */
export function setImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): number {
  return window.setTimeout(fn, 0, ...args);
}
