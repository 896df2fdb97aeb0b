// A small element builder. Text always goes in through textContent and attributes through setAttribute, so
// nothing the server sends is ever parsed as HTML.

import type { LabIcon } from '@jupyterlab/ui-components';

export interface IProps {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

type Child = Node | string | null | undefined | false;

/** document.createElement with a class, text, a tooltip, attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IProps = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) {
    el.className = props.class;
  }
  if (props.text !== undefined) {
    el.textContent = props.text;
  }
  if (props.title) {
    el.title = props.title;
  }
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    el.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) {
    el.addEventListener(type, listener as EventListener);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(child);
  }
  return el;
}

/** "1 cell", "2 cells". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An empty-state or error message of a panel: a title and an optional detail line. */
export function message(title: string, detail?: string, error = false): HTMLElement {
  return h(
    'div',
    { class: `hops-Empty${error ? ' hops-mod-error' : ''}`, attrs: error ? { role: 'alert' } : {} },
    h('div', { class: 'hops-Empty-title', text: title }),
    detail ? h('div', { class: 'hops-Empty-detail', text: detail }) : null
  );
}

/** An error panel: the message of `message(title, detail, true)` with its buttons (Retry, …) below. */
export function errorMessage(title: string, detail: string, ...actions: (HTMLElement | null)[]): HTMLElement {
  const box = message(title, detail, true);
  box.append(h('div', { class: 'hops-Empty-actions' }, ...actions));
  return box;
}

/** A panel's icon button (16px icon): `label` names it for screen readers and, unless `title` is given, is its tooltip;
 * `action` goes in its data-action. */
export function iconButton(
  icon: LabIcon,
  props: { label: string; title?: string; action?: string },
  onClick: () => void
): HTMLButtonElement {
  const b = h('button', {
    class: 'hops-IconButton',
    title: props.title ?? props.label,
    attrs: { type: 'button', 'aria-label': props.label, ...(props.action ? { 'data-action': props.action } : {}) },
    on: { click: () => onClick() }
  });
  icon.element({ container: b, height: '16px', width: '16px' });
  return b;
}

/** What an error says: its message, or the thrown thing as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
