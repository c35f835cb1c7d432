/** Building DOM from data with textContent only (never innerHTML), so no record or payer text can inject markup. */
export type Child = Node | string | null | undefined | false;
export type Children = Child | Children[];

function append(target: HTMLElement, children: Children[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(target, c);
    else if (c !== null && c !== undefined && c !== false) target.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Children[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

export function replace(target: HTMLElement, ...children: Children[]): void {
  target.replaceChildren();
  append(target, children);
}
