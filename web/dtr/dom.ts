/** Building DOM from data with textContent only (never innerHTML), so no record or payer text can inject markup. */
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

export function replace(target: HTMLElement, ...children: (Child | Child[])[]): void {
  target.replaceChildren();
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) target.append(typeof c === 'string' ? document.createTextNode(c) : c);
}
