// The diff view: two versions of a notebook side by side, cell by cell. Changed source lines are highlighted and
// aligned, unchanged cells fold into a bar, outputs are compared as text lines or as images side by side, and
// metadata changes are listed in small tables. Everything is built with createElement and textContent.

import { MainAreaWidget } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { refreshIcon, Toolbar, ToolbarButton } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  CURRENT,
  IChange,
  ICellDiff,
  IDiffOptions,
  ILine,
  IMimeDiff,
  INotebookDiff,
  IOutputDiff,
  IVersionRef,
  Status,
  VersionsAPI
} from './api';
import { h, plural } from './dom';
import { versionsIcon } from './icons';
import { alignRows, foldRows, IPiece, IRow, wordDiff } from './linediff';
import { exactTime, relativeTime, shortTime } from './time';

/** The choices of the toolbar, kept for the next diff view of the session. */
const lastOptions: IDiffOptions = { ignoreExecutionCounts: false, ignoreOutputs: false };
let showUnchanged = false;

/** What a diff view compares. */
export interface IComparison {
  path: string;
  from: string; // a commit
  to: string; // a commit or CURRENT
}

/** A MainAreaWidget around a DiffView, with the toolbar toggles. */
export class DiffPanel extends MainAreaWidget<DiffView> {
  constructor(api: VersionsAPI, comparison: IComparison) {
    const content = new DiffView(api, comparison);
    super({ content });
    this.id = DiffPanel.idFor(comparison);
    this.addClass('hops-DiffPanel');
    this.title.icon = versionsIcon;
    this.title.closable = true;
    this.title.label = `${PathExt.basename(comparison.path)} (diff)`;
    this.title.caption = `Changes of ${comparison.path}`;

    const checkbox = (label: string, tooltip: string, checked: boolean, onChange: (on: boolean) => void): Widget => {
      const input = h('input', { attrs: { type: 'checkbox' } });
      input.checked = checked;
      input.addEventListener('change', () => onChange(input.checked));
      return new Widget({ node: h('label', { class: 'hops-DiffToolbar-toggle', title: tooltip }, input, label) });
    };
    const refetching = (key: keyof IDiffOptions) => (on: boolean) => {
      content.options[key] = on;
      lastOptions[key] = on;
      void content.refresh();
    };
    this.toolbar.addItem(
      'ignore-execution-counts',
      checkbox(
        'Ignore execution counts',
        'Hide changes of execution counts ([1] → [7]): they change whenever a cell is run again',
        content.options.ignoreExecutionCounts,
        refetching('ignoreExecutionCounts')
      )
    );
    this.toolbar.addItem(
      'ignore-outputs',
      checkbox(
        'Ignore outputs',
        'Compare cell sources and metadata only, not what the cells printed or displayed',
        content.options.ignoreOutputs,
        refetching('ignoreOutputs')
      )
    );
    this.toolbar.addItem(
      'show-unchanged',
      checkbox('Show unchanged cells', 'Expand every run of unchanged cells, or fold them', showUnchanged, on => {
        showUnchanged = on;
        content.showUnchanged(on);
      })
    );
    this.toolbar.addItem('spacer', Toolbar.createSpacerItem());
    this.toolbar.addItem(
      'previous-change',
      new ToolbarButton({ label: '↑ Previous', tooltip: 'Scroll to the previous changed cell (p)', onClick: () => content.step(-1) })
    );
    this.toolbar.addItem(
      'next-change',
      new ToolbarButton({ label: '↓ Next', tooltip: 'Scroll to the next changed cell (n)', onClick: () => content.step(1) })
    );
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: comparison.to === CURRENT ? 'Compare again (the file on disk may have changed)' : 'Compare again',
        onClick: () => void content.refresh()
      })
    );
    content.titleChanged = (label, caption) => {
      this.title.label = label;
      this.title.caption = caption;
    };
  }

  /** The widget id of a comparison, so that asking twice for one comparison shows the same tab. */
  static idFor(c: IComparison): string {
    return `hops-diff:${c.path}:${c.from}:${c.to}`;
  }
}

/** The body of the diff view. */
export class DiffView extends Widget {
  readonly options: IDiffOptions = { ...lastOptions };
  titleChanged: (label: string, caption: string) => void = () => undefined;

  constructor(
    private readonly _api: VersionsAPI,
    readonly comparison: IComparison
  ) {
    super();
    this.addClass('hops-DiffView');
    this.node.tabIndex = 0;
    this.node.addEventListener('keydown', ev => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || (ev.target as HTMLElement).tagName === 'INPUT') {
        return;
      }
      if (ev.key === 'n' || ev.key === 'j') {
        ev.preventDefault();
        this.step(1);
      } else if (ev.key === 'p' || ev.key === 'k') {
        ev.preventDefault();
        this.step(-1);
      }
    });
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.node.focus({ preventScroll: true });
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._started) {
      this._started = true;
      void this.refresh();
    }
  }

  /** Fetches the diff with the current options and shows it; a failure is shown in place of the diff. */
  async refresh(): Promise<void> {
    const request = ++this._request;
    this.node.classList.add('hops-mod-loading');
    this.node.setAttribute('aria-busy', 'true');
    if (!this._diff) {
      this.node.replaceChildren(h('div', { class: 'hops-DiffView-message', text: 'Comparing…' }));
    }
    const { path, from, to } = this.comparison;
    try {
      const diff = await this._api.diff(path, from, to, this.options);
      if (request !== this._request || this.isDisposed) {
        return;
      }
      this._diff = diff;
      this._render(diff);
    } catch (err) {
      if (request !== this._request || this.isDisposed) {
        return;
      }
      this._diff = null;
      // APIError carries the server's own message ("… is not a notebook", "unknown commit …").
      const message = err instanceof Error ? err.message : String(err);
      this.node.replaceChildren(
        h(
          'div',
          { class: 'hops-DiffView-message hops-mod-error', attrs: { role: 'alert' } },
          h('strong', { text: `Cannot compare ${path}` }),
          h('div', { text: message })
        )
      );
    } finally {
      if (request === this._request) {
        this.node.classList.remove('hops-mod-loading');
        this.node.removeAttribute('aria-busy');
      }
    }
  }

  /** Scrolls to the next (1) or previous (-1) changed cell. */
  step(direction: 1 | -1): void {
    const cells = Array.from(this.node.querySelectorAll<HTMLElement>('.hops-DiffCell.hops-mod-changed'));
    if (cells.length === 0) {
      return;
    }
    const top = this.node.getBoundingClientRect().top;
    const offsets = cells.map(c => c.getBoundingClientRect().top - top);
    let target: HTMLElement | undefined;
    if (direction > 0) {
      target = cells.find((_, i) => offsets[i] > 8) ?? cells[cells.length - 1];
    } else {
      for (let i = cells.length - 1; i >= 0; i--) {
        if (offsets[i] < -8) {
          target = cells[i];
          break;
        }
      }
      target = target ?? cells[0];
    }
    target.scrollIntoView({ block: 'start', behavior: 'smooth' });
    target.classList.remove('hops-mod-flash');
    void target.offsetWidth; // restart the animation
    target.classList.add('hops-mod-flash');
  }

  /** Expands every fold of unchanged cells, or folds them all again. */
  showUnchanged(on: boolean): void {
    this._expandAll = on;
    this._openFolds.clear();
    const folds = this.node.querySelectorAll<HTMLElement>('.hops-CellFold');
    folds.forEach(f => this._setFold(f, on));
  }

  private _render(diff: INotebookDiff): void {
    const { path } = this.comparison;
    const fromLabel = diff.from.short || diff.from.commit.slice(0, 7);
    const toLabel = diff.to.commit === CURRENT ? 'current' : diff.to.short || diff.to.commit.slice(0, 7);
    this.titleChanged(
      `${PathExt.basename(path)} ${fromLabel} ↔ ${toLabel}`,
      `${path}: ${describeRef(diff.from)} compared with ${describeRef(diff.to)}`
    );

    const body = h('div', { class: 'hops-DiffView-body' });
    body.append(this._header(diff));
    if (diff.nbformat || (diff.metadata && diff.metadata.length > 0)) {
      const section = h('section', { class: 'hops-NotebookChanges' }, h('h3', { text: 'Notebook' }));
      if (diff.nbformat) {
        section.append(h('div', { class: 'hops-Muted', text: `nbformat ${diff.nbformat.old} → ${diff.nbformat.new}` }));
      }
      if (diff.metadata && diff.metadata.length > 0) {
        section.append(changeTable(diff.metadata, 'Notebook metadata'));
      }
      body.append(section);
    }

    const changed = diff.cells.some(c => c.status !== 'unchanged' || c.moved);
    if (!changed && !diff.nbformat && !(diff.metadata && diff.metadata.length > 0)) {
      const ignored = [
        this.options.ignoreExecutionCounts ? 'execution counts' : '',
        this.options.ignoreOutputs ? 'outputs' : ''
      ].filter(Boolean);
      body.append(
        h('div', {
          class: 'hops-DiffView-message',
          text:
            'No differences' +
            (ignored.length ? ` (ignoring ${ignored.join(' and ')})` : '') +
            (diff.cells.length ? `: ${plural(diff.cells.length, 'cell')}, all unchanged.` : '.')
        })
      );
    }

    const list = h('div', { class: 'hops-DiffView-cells' });
    let run: ICellDiff[] = [];
    const flushRun = (): void => {
      if (run.length > 0) {
        list.append(this._cellFold(run));
        run = [];
      }
    };
    for (const cell of diff.cells) {
      if (cell.status === 'unchanged' && !cell.moved) {
        run.push(cell);
        continue;
      }
      flushRun();
      list.append(renderCell(cell));
    }
    flushRun();
    body.append(list);

    const scroll = this.node.scrollTop;
    this.node.replaceChildren(body);
    this.node.scrollTop = scroll;
  }

  private _header(diff: INotebookDiff): HTMLElement {
    const side = (ref: IVersionRef, which: 'old' | 'new'): HTMLElement => {
      const current = ref.commit === CURRENT;
      const el = h('div', { class: `hops-DiffSide hops-mod-${which}` });
      el.append(
        h('span', { class: 'hops-DiffSide-label', text: which === 'old' ? 'Old' : 'New' }),
        current
          ? h('span', { class: 'hops-DiffSide-hash', text: 'current file', title: 'The file on disk (its last save)' })
          : h('code', { class: 'hops-DiffSide-hash', text: ref.short || ref.commit.slice(0, 7), title: ref.commit })
      );
      if (!current && ref.time && Date.parse(ref.time) > 0) {
        el.append(h('span', { class: 'hops-DiffSide-time', text: relativeTime(ref.time), title: exactTime(ref.time) }));
      }
      if (ref.message) {
        el.append(h('span', { class: 'hops-DiffSide-message', text: ref.message, title: ref.message }));
      }
      return el;
    };
    const s = diff.summary;
    const chip = (n: number, status: string, label: string): HTMLElement | null =>
      n > 0 ? h('span', { class: `hops-Chip hops-mod-${status}`, text: `${n} ${label}` }) : null;
    return h(
      'header',
      { class: 'hops-DiffView-header' },
      h('div', { class: 'hops-DiffView-sides' }, side(diff.from, 'old'), side(diff.to, 'new')),
      h(
        'div',
        { class: 'hops-DiffView-summary', attrs: { 'aria-label': 'Summary of changed cells' } },
        chip(s.modified, 'modified', 'modified'),
        chip(s.added, 'added', 'added'),
        chip(s.removed, 'removed', 'removed'),
        chip(s.moved, 'moved', 'moved'),
        chip(s.unchanged, 'unchanged', 'unchanged'),
        this.options.ignoreExecutionCounts || this.options.ignoreOutputs
          ? h('span', {
              class: 'hops-Muted',
              text: `ignoring ${[
                this.options.ignoreExecutionCounts ? 'execution counts' : '',
                this.options.ignoreOutputs ? 'outputs' : ''
              ]
                .filter(Boolean)
                .join(' and ')}`
            })
          : null
      )
    );
  }

  /** A bar standing for a run of unchanged cells; a click shows them. */
  private _cellFold(cells: ICellDiff[]): HTMLElement {
    const first = cells[0].new_index ?? cells[0].old_index;
    const last = cells[cells.length - 1].new_index ?? cells[cells.length - 1].old_index;
    const range =
      first === undefined || last === undefined
        ? ''
        : first === last
          ? ` (cell ${first + 1})`
          : ` (cells ${first + 1}–${last + 1})`;
    const label = `${plural(cells.length, 'unchanged cell')}${range}`;
    const button = h('button', {
      class: 'hops-CellFold-bar',
      attrs: { type: 'button', 'aria-expanded': 'false' },
      title: 'Show or hide the cells that did not change'
    });
    const fold = h('div', { class: 'hops-CellFold' }, button);
    let body: HTMLElement | null = null;
    const setLabel = (open: boolean): void => {
      button.replaceChildren(h('span', { class: 'hops-CellFold-caret', text: open ? '▾' : '▸' }), label);
    };
    setLabel(false);
    (fold as IFoldElement).hopsSet = (open: boolean) => {
      if (open && !body) {
        body = h('div', { class: 'hops-CellFold-body' }, ...cells.map(renderCell));
      }
      if (body) {
        if (open) {
          fold.append(body);
        } else {
          body.remove();
        }
      }
      fold.classList.toggle('hops-mod-open', open);
      button.setAttribute('aria-expanded', String(open));
      setLabel(open);
    };
    // Folds are known by their first cell, so that one opened stays open when the diff is fetched again.
    const key = cells[0].id ?? `${cells[0].old_index ?? ''}:${cells[0].new_index ?? ''}`;
    button.addEventListener('click', () => {
      const open = !fold.classList.contains('hops-mod-open');
      if (open) {
        this._openFolds.add(key);
      } else {
        this._openFolds.delete(key);
      }
      this._setFold(fold, open);
    });
    if (this._expandAll || this._openFolds.has(key)) {
      this._setFold(fold, true);
    }
    return fold;
  }

  private _setFold(fold: HTMLElement, open: boolean): void {
    (fold as IFoldElement).hopsSet?.(open);
  }

  private _started = false;
  private _request = 0;
  private _diff: INotebookDiff | null = null;
  private _expandAll = showUnchanged;
  private readonly _openFolds = new Set<string>();
}

interface IFoldElement extends HTMLElement {
  hopsSet?: (open: boolean) => void;
}

function describeRef(ref: IVersionRef): string {
  if (ref.commit === CURRENT) {
    return 'the current file';
  }
  const when = ref.time && Date.parse(ref.time) > 0 ? ` (${shortTime(ref.time)})` : '';
  return `${ref.short || ref.commit.slice(0, 7)}${when}`;
}

// ---------------------------------------------------------------------------------------------------------------
// cells

const STATUS_LABEL: Record<Status, string> = {
  unchanged: 'unchanged',
  added: 'added',
  removed: 'removed',
  modified: 'modified'
};

function badge(status: string, text: string, title?: string): HTMLElement {
  return h('span', { class: `hops-Badge hops-mod-${status}`, text, title });
}

/** One cell of the diff: its header, source, metadata and outputs. */
export function renderCell(cell: ICellDiff): HTMLElement {
  const changed = cell.status !== 'unchanged' || cell.moved;
  const el = h('article', {
    class: `hops-DiffCell hops-mod-${cell.status}${cell.moved ? ' hops-mod-moved' : ''}${changed ? ' hops-mod-changed' : ''}`
  });
  if (cell.id) {
    el.dataset.cellId = cell.id;
  }
  el.append(cellHeader(cell));

  const lines = cell.source?.lines ?? [];
  if (cell.status === 'added' || cell.status === 'removed') {
    el.append(oneSided(cell.status, sourceGrid(lines, cell.status === 'added' ? 'new' : 'old'), cell.cell_type));
  } else {
    el.append(lineGrid(lines, cell.status === 'unchanged'));
  }
  if (cell.metadata && cell.metadata.length > 0) {
    el.append(h('div', { class: 'hops-DiffCell-section' }, changeTable(cell.metadata, 'Cell metadata')));
  }
  if (cell.outputs && cell.outputs.length > 0) {
    el.append(outputsSection(cell.outputs));
  }
  return el;
}

function cellHeader(cell: ICellDiff): HTMLElement {
  const header = h('header', { class: 'hops-DiffCell-header' });
  const statusTitle: Record<Status, string> = {
    added: 'This cell is new in the newer version',
    removed: 'This cell is gone in the newer version',
    modified: 'This cell changed',
    unchanged: 'This cell did not change'
  };
  if (cell.status !== 'unchanged' || !cell.moved) {
    header.append(badge(cell.status, STATUS_LABEL[cell.status], statusTitle[cell.status]));
  }
  if (cell.moved) {
    header.append(badge('moved', 'moved', 'This cell is at another position in the newer version'));
  }
  const type =
    cell.old_cell_type && cell.old_cell_type !== cell.cell_type ? `${cell.old_cell_type} → ${cell.cell_type}` : cell.cell_type;
  header.append(h('span', { class: 'hops-DiffCell-type', text: type }));

  const oi = cell.old_index;
  const ni = cell.new_index;
  let where = '';
  let whereTitle = '';
  if (oi !== undefined && ni !== undefined && oi !== ni) {
    where = `cell ${oi + 1} → ${ni + 1}`;
    whereTitle = `Cell ${oi + 1} in the old version, cell ${ni + 1} in the new one`;
  } else if (ni !== undefined) {
    where = `cell ${ni + 1}`;
    whereTitle = `Cell ${ni + 1} of the new version`;
  } else if (oi !== undefined) {
    where = `cell ${oi + 1}`;
    whereTitle = `Cell ${oi + 1} of the old version`;
  }
  if (where) {
    header.append(h('span', { class: 'hops-DiffCell-index', text: where, title: whereTitle }));
  }
  if (cell.execution_count) {
    const { old, new: now } = cell.execution_count;
    const fmt = (n: number | null): string => `[${n ?? ' '}]`;
    header.append(
      h('span', {
        class: 'hops-DiffCell-count',
        text: old === now ? fmt(now) : `${fmt(old)} → ${fmt(now)}`,
        title: 'Execution count'
      })
    );
  }
  if (cell.id) {
    const id = cell.id.length > 12 ? `${cell.id.slice(0, 8)}…` : cell.id;
    header.append(h('span', { class: 'hops-DiffCell-id', text: id, title: `Cell id ${cell.id}` }));
  }
  return header;
}

/** A block with the content on one side and a placeholder on the other (added or removed things). */
function oneSided(status: 'added' | 'removed', content: HTMLElement, what: string): HTMLElement {
  const placeholder = h('div', {
    class: 'hops-Placeholder',
    text: status === 'added' ? `no ${what} in the old version` : `no ${what} in the new version`
  });
  const wrap = h('div', { class: 'hops-Split' });
  if (status === 'added') {
    wrap.append(placeholder, h('div', { class: 'hops-Split-side hops-mod-new' }, content));
  } else {
    wrap.append(h('div', { class: 'hops-Split-side hops-mod-old' }, content), placeholder);
  }
  return wrap;
}

// ---------------------------------------------------------------------------------------------------------------
// line diffs

/** A single-column listing of lines, all inserted ('new') or all deleted ('old'). */
function sourceGrid(lines: readonly ILine[], side: 'old' | 'new'): HTMLElement {
  const grid = h('div', { class: 'hops-Lines hops-mod-single', attrs: { role: 'table' } });
  if (lines.length === 0) {
    grid.append(h('div', { class: 'hops-Lines-empty', text: '(empty)' }));
  }
  for (const line of lines) {
    const n = side === 'old' ? line.old : line.new;
    grid.append(
      h('div', { class: 'hops-Lines-num', text: n === undefined ? '' : String(n) }),
      h('div', { class: `hops-Lines-text hops-mod-${side === 'old' ? 'delete' : 'insert'}`, text: line.text })
    );
  }
  return grid;
}

/**
 * Lines side by side: old on the left, new on the right, aligned row by row. Unchanged lines far from a change
 * fold into a bar (unless `showAll`).
 */
export function lineGrid(lines: readonly ILine[], showAll: boolean): HTMLElement {
  const grid = h('div', { class: 'hops-Lines hops-mod-split' });
  const rows = alignRows(lines);
  if (rows.length === 0) {
    grid.append(h('div', { class: 'hops-Lines-empty', text: '(empty)' }));
    return grid;
  }
  const segments = showAll ? [{ kind: 'rows' as const, rows }] : foldRows(rows);
  for (const seg of segments) {
    if (seg.kind === 'rows') {
      seg.rows.forEach(row => appendRow(grid, row));
      continue;
    }
    const bar = h('button', {
      class: 'hops-Lines-fold',
      attrs: { type: 'button' },
      text: `⋯ ${plural(seg.rows.length, 'unchanged line')}`,
      title: 'Show these lines'
    });
    bar.addEventListener('click', () => {
      const shown = h('div');
      seg.rows.forEach(row => appendRow(shown, row));
      bar.replaceWith(...Array.from(shown.childNodes));
    });
    grid.append(bar);
  }
  return grid;
}

function appendRow(grid: HTMLElement, row: IRow): void {
  let oldPieces: IPiece[] | null = null;
  let newPieces: IPiece[] | null = null;
  if (row.kind === 'change' && row.left && row.right) {
    const wd = wordDiff(row.left.text, row.right.text);
    if (wd) {
      oldPieces = wd.old;
      newPieces = wd.new;
    }
  }
  const leftKind = row.kind === 'equal' ? 'equal' : row.left ? 'delete' : 'blank';
  const rightKind = row.kind === 'equal' ? 'equal' : row.right ? 'insert' : 'blank';
  grid.append(
    h('div', { class: `hops-Lines-num hops-mod-${leftKind}`, text: row.left?.old?.toString() ?? '' }),
    textCell(row.left?.text, `${leftKind} hops-mod-left`, oldPieces),
    h('div', { class: `hops-Lines-num hops-mod-${rightKind}`, text: row.right?.new?.toString() ?? '' }),
    textCell(row.right?.text, rightKind, newPieces)
  );
}

function textCell(text: string | undefined, kind: string, pieces: IPiece[] | null): HTMLElement {
  const el = h('div', { class: `hops-Lines-text hops-mod-${kind}` });
  if (pieces) {
    for (const p of pieces) {
      el.append(p.changed ? h('span', { class: 'hops-Word', text: p.text }) : p.text);
    }
  } else if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

// ---------------------------------------------------------------------------------------------------------------
// metadata

function formatValue(v: unknown): string {
  if (v === undefined) {
    return '';
  }
  // JSON.stringify gives undefined for what JSON cannot hold (functions, symbols): say what it was.
  return JSON.stringify(v) ?? `(${typeof v})`;
}

/** A small table of metadata changes: key, what happened, old and new values. */
export function changeTable(changes: readonly IChange[], caption: string): HTMLElement {
  const table = h('table', { class: 'hops-ChangeTable' });
  table.append(h('caption', { text: caption }));
  table.append(
    h(
      'thead',
      {},
      h('tr', {}, h('th', { text: 'Key' }), h('th', { text: 'Change' }), h('th', { text: 'Old' }), h('th', { text: 'New' }))
    )
  );
  const tbody = h('tbody');
  for (const c of changes) {
    const value = (v: unknown, cls: string): HTMLElement => {
      const full = formatValue(v);
      const shown = full.length > 160 ? `${full.slice(0, 157)}…` : full;
      return h('td', { class: cls }, h('code', { text: shown, title: full.length > 160 ? full : undefined }));
    };
    tbody.append(
      h(
        'tr',
        { class: `hops-mod-${c.op}` },
        h('td', {}, h('code', { text: c.key })),
        h('td', {}, badge(c.op === 'changed' ? 'modified' : c.op, c.op)),
        value(c.old, 'hops-mod-old'),
        value(c.new, 'hops-mod-new')
      )
    );
  }
  table.append(tbody);
  return table;
}

// ---------------------------------------------------------------------------------------------------------------
// outputs

const IMAGE_BASE64 = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);
const SVG = 'image/svg+xml';

export function isImage(mime: string): boolean {
  return IMAGE_BASE64.has(mime) || mime === SVG;
}

/** A data: URL for an image of the diff: base64 as is, SVG text encoded (an <img> never runs its scripts). */
export function imageURL(mime: string, data: string): string {
  if (mime === SVG) {
    return `data:${SVG};charset=utf-8,${encodeURIComponent(data)}`;
  }
  return `data:${mime};base64,${data.replace(/\s+/g, '')}`;
}

function imageBytes(mime: string, data: string): number {
  if (mime === SVG) {
    return new TextEncoder().encode(data).length;
  }
  const b64 = data.replace(/\s+/g, '');
  return Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
}

function formatBytes(n: number): string {
  if (n < 1024) {
    return `${n} B`;
  }
  if (n < 1024 * 1024) {
    return `${(n / 1024).toFixed(1)} KB`;
  }
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** An image with its size below it; dimensions are added once it has loaded. */
function imageFigure(mime: string, data: string, side: 'old' | 'new'): HTMLElement {
  const img = h('img', {
    class: 'hops-Image-img',
    attrs: { src: imageURL(mime, data), alt: `${side === 'old' ? 'old' : 'new'} ${mime} output`, loading: 'lazy' }
  });
  const caption = h('figcaption', { text: `${mime} · ${formatBytes(imageBytes(mime, data))}` });
  img.addEventListener('load', () => {
    caption.textContent = `${mime} · ${img.naturalWidth}×${img.naturalHeight} · ${formatBytes(imageBytes(mime, data))}`;
  });
  img.addEventListener('error', () => {
    caption.textContent = `${mime}: the image cannot be shown (broken data)`;
  });
  return h('figure', { class: `hops-Image hops-mod-${side}` }, h('div', { class: 'hops-Image-frame' }, img), caption);
}

/** Text of an added or removed output, as lines all inserted or deleted. */
function textLines(text: string, side: 'old' | 'new'): ILine[] {
  const parts = text.replace(/\n$/, '').split('\n');
  return parts.map((t, i) => (side === 'old' ? { op: 'delete', old: i + 1, text: t } : { op: 'insert', new: i + 1, text: t }));
}

/** Preferred display order of MIME types: images, then rich text, then plain text. */
function mimeRank(mime: string): number {
  if (isImage(mime)) {
    return 0;
  }
  if (mime === 'text/plain') {
    return 3;
  }
  if (mime.startsWith('text/') || mime.endsWith('json')) {
    return 2;
  }
  return 1;
}

function outputLabel(out: IOutputDiff, i: number): string {
  return `Output ${i + 1} · ${out.output_type}`;
}

function outputsSection(outputs: readonly IOutputDiff[]): HTMLElement {
  const section = h('div', { class: 'hops-DiffCell-section hops-Outputs' });
  const changed = outputs.filter(o => o.status !== 'unchanged').length;
  section.append(
    h('div', {
      class: 'hops-Outputs-title',
      text: changed ? `Outputs (${changed} of ${outputs.length} changed)` : `Outputs (${outputs.length}, unchanged)`
    })
  );
  outputs.forEach((out, i) => section.append(renderOutput(out, i)));
  return section;
}

/** One output: unchanged ones as one line, added and removed ones on their side, modified ones MIME by MIME. */
export function renderOutput(out: IOutputDiff, i: number): HTMLElement {
  const el = h('div', { class: `hops-Output hops-mod-${out.status}` });
  const header = h(
    'div',
    { class: 'hops-Output-header' },
    badge(out.status, STATUS_LABEL[out.status]),
    h('span', { class: 'hops-Output-label', text: outputLabel(out, i) })
  );
  el.append(header);

  if (out.status === 'unchanged') {
    const mimes = Object.keys(out.data ?? {}).concat((out.mimes ?? []).map(m => m.mime));
    if (mimes.length) {
      header.append(h('span', { class: 'hops-Muted', text: mimes.join(', ') }));
    }
    return el;
  }

  if (out.status === 'added' || out.status === 'removed') {
    const side = out.status === 'added' ? 'new' : 'old';
    const data = out.data ?? {};
    const mimes = Object.keys(data).sort((a, b) => mimeRank(a) - mimeRank(b));
    header.append(h('span', { class: 'hops-Muted', text: mimes.join(', ') }));
    const content = h('div', { class: 'hops-Output-data' });
    for (const mime of mimes) {
      content.append(h('div', { class: 'hops-Mime-label', text: mime }));
      content.append(
        isImage(mime) ? imageFigure(mime, data[mime], side) : sourceGrid(textLines(data[mime], side), side)
      );
    }
    el.append(oneSided(out.status, content, 'output'));
    return el;
  }

  // modified: the MIME types and what happened to each
  const mimes = [...(out.mimes ?? [])].sort((a, b) => mimeRank(a.mime) - mimeRank(b.mime));
  const list = h('div', { class: 'hops-Output-mimes', title: 'MIME types of this output and how each changed' });
  for (const m of mimes) {
    list.append(h('span', { class: `hops-MimeTag hops-mod-${m.status}`, text: `${m.mime} ${m.status}` }));
  }
  header.append(list);
  for (const m of mimes) {
    if (m.status === 'unchanged') {
      continue;
    }
    el.append(renderMime(m));
  }
  return el;
}

function renderMime(m: IMimeDiff): HTMLElement {
  const el = h('div', { class: `hops-Mime hops-mod-${m.status}` });
  el.append(h('div', { class: 'hops-Mime-label' }, h('span', { text: m.mime }), badge(m.status, m.status)));
  if (isImage(m.mime) && (m.old !== undefined || m.new !== undefined)) {
    el.append(
      h(
        'div',
        { class: 'hops-Split hops-Images' },
        m.old !== undefined
          ? h('div', { class: 'hops-Split-side hops-mod-old' }, imageFigure(m.mime, m.old, 'old'))
          : h('div', { class: 'hops-Placeholder', text: 'no image in the old version' }),
        m.new !== undefined
          ? h('div', { class: 'hops-Split-side hops-mod-new' }, imageFigure(m.mime, m.new, 'new'))
          : h('div', { class: 'hops-Placeholder', text: 'no image in the new version' })
      )
    );
    return el;
  }
  if (m.lines) {
    el.append(lineGrid(m.lines, false));
    return el;
  }
  if (m.old !== undefined || m.new !== undefined) {
    const lines: ILine[] = [
      ...(m.old !== undefined ? textLines(m.old, 'old') : []),
      ...(m.new !== undefined ? textLines(m.new, 'new') : [])
    ];
    el.append(lineGrid(lines, false));
  }
  return el;
}
