// A small element builder. Text always goes in through textContent and attributes through setAttribute, so
// nothing the server sends is ever parsed as HTML.

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
