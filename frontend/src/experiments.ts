// The Experiments panel (left side bar): the runs of `%%hops run` cells, newest first, with their state, best value
// and duration, paged and polled while a run is running; a run opens in a main-area view (header, metric chart per
// trial, trials with their params, metrics and logs, environment, code), and two or more selected runs open in a
// comparison (params, best metrics, an overlaid chart of their best trials, environment differences).

import { PathExt } from '@jupyterlab/coreutils';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { errorMessage, errorText, h, iconButton, message, plural } from './dom';
import { ExperimentsAPI, IExperiment, ITrial } from './experimentsapi';
import {
  bestTrial,
  bestValue,
  compareMetrics,
  compareParams,
  cpuText,
  durationText,
  environmentDiff,
  formatValue,
  gpuText,
  ICompareRow,
  ISeries,
  lineChart,
  metricNames,
  paramNames,
  paramsText,
  pythonText,
  seriesColor,
  seriesOf,
  stateClass
} from './experimentsmodel';
import { experimentsIcon } from './icons';
import { exactTime, relativeTime, shortTime } from './time';

/** Runs per page of the list. */
const PAGE = 50;
/** How often a shown panel lists again while a run is running, and otherwise. */
const POLL_RUNNING_MS = 3_000;
const POLL_IDLE_MS = 10_000;
/** How often an open view of a running experiment reloads it. */
const VIEW_POLL_MS = 2_000;
/** Artifacts a trial's details show as images, and at most how many of them. Not SVG: the store serves it as bytes,
 * since an SVG opened from this origin could run scripts. */
const IMAGE_ARTIFACT = /\.(png|jpe?g|gif|webp)$/i;
const MAX_IMAGES = 12;

/** A state as a coloured chip. */
function stateChip(state: string): HTMLElement {
  return h('span', { class: `hops-RunState ${stateClass(state)}`, text: state });
}

function button(text: string, title: string, onClick: () => void, cls = 'hops-Button'): HTMLButtonElement {
  return h('button', { class: cls, text, title, attrs: { type: 'button' }, on: { click: () => onClick() } });
}

/** An error message with a retry button. */
function errorState(title: string, detail: string, retry: () => void): HTMLElement {
  return errorMessage(title, detail, button('Retry', 'Try again', retry));
}

// ---------------------------------------------------------------------------------------------------------------
// the side panel

export interface IExperimentsPanelOptions {
  api: ExperimentsAPI;
  /** Opens (or shows) the view of a run. */
  openRun: (id: string) => void;
  /** Opens the comparison of runs. */
  compare: (ids: string[]) => void;
}

type ListState =
  | { kind: 'loading' }
  | { kind: 'error'; message: string }
  | { kind: 'list'; runs: IExperiment[]; more: boolean };

export class ExperimentsPanel extends Widget {
  constructor(private readonly _opts: IExperimentsPanelOptions) {
    super();
    this.id = 'hops-experiments';
    this.addClass('hops-ExperimentsPanel');
    this.title.icon = experimentsIcon;
    this.title.caption = 'Experiments (runs of %%hops run cells)';

    const refresh = iconButton(refreshIcon, { label: 'Refresh', title: 'Reload the list of experiments' }, () => void this.refresh());
    this._compareButton = button('Compare', 'Select two or more runs to compare them', () => this._compareSelected(), 'hops-Button hops-mod-accept');
    this._clearButton = button('Clear', 'Clear the selection', () => {
      this._selected = [];
      this._renderSelection();
    });
    this.node.append(
      h('header', { class: 'hops-ExperimentsPanel-header' }, h('h2', { class: 'hops-ExperimentsPanel-title', text: 'Experiments' }), refresh),
      h('div', { class: 'hops-ExperimentsPanel-actions' }, this._compareButton, this._clearButton, this._hint),
      this._banner,
      this._body
    );
    this._render();
  }

  /** The runs listed, newest first. */
  get runs(): readonly IExperiment[] {
    return this._state.kind === 'list' ? this._state.runs : [];
  }

  /** The ids of the selected runs, in the order of selection. */
  get selected(): readonly string[] {
    return this._selected;
  }

  /** Lists the newest runs again (as many as are shown); only while the panel is shown. */
  async refresh(): Promise<void> {
    if (!this.isVisible) {
      return;
    }
    const request = ++this._request;
    const limit = Math.min(1000, Math.max(PAGE, this.runs.length));
    this.node.classList.add('hops-mod-loading');
    let next: ListState;
    try {
      const runs = await this._opts.api.list(limit);
      next = { kind: 'list', runs, more: runs.length === limit };
    } catch (err) {
      next = { kind: 'error', message: errorText(err) };
    }
    if (request !== this._request) {
      return;
    }
    this._lastLoad = Date.now();
    this.node.classList.remove('hops-mod-loading');
    if (next.kind === 'error' && this._state.kind === 'list') {
      // A failed poll keeps the runs listed, under a banner that says why they may be stale.
      this._renderBanner(next.message);
      return;
    }
    this._renderBanner('');
    this._setState(next);
  }

  /** Lists the next page of older runs. */
  async more(): Promise<void> {
    const state = this._state;
    if (state.kind !== 'list' || state.runs.length === 0) {
      return;
    }
    const request = ++this._request;
    this.node.classList.add('hops-mod-loading');
    try {
      const page = await this._opts.api.list(PAGE, state.runs[state.runs.length - 1].id);
      if (request === this._request) {
        const known = new Set(state.runs.map(r => r.id));
        this._setState({ kind: 'list', runs: [...state.runs, ...page.filter(r => !known.has(r.id))], more: page.length === PAGE });
      }
    } catch (err) {
      if (request === this._request) {
        this._moreError = errorText(err);
        this._render();
      }
    } finally {
      if (request === this._request) {
        this.node.classList.remove('hops-mod-loading');
      }
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
    window.clearInterval(this._clock);
    this._clock = window.setInterval(() => {
      if (document.visibilityState !== 'visible' || this.node.classList.contains('hops-mod-loading')) {
        return;
      }
      const running = this.runs.some(r => r.state === 'running');
      if (Date.now() - this._lastLoad >= (running ? POLL_RUNNING_MS : POLL_IDLE_MS) - 100) {
        void this.refresh();
      }
    }, 1_000);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearInterval(this._clock);
  }

  dispose(): void {
    window.clearInterval(this._clock);
    super.dispose();
  }

  private _renderBanner(error: string): void {
    this._banner.replaceChildren();
    this._banner.hidden = error === '';
    if (error) {
      this._banner.append(
        h('span', { text: `Cannot list experiments: ${error}` }),
        ' ',
        button('Retry', 'List the experiments again', () => void this.refresh(), 'hops-LinkButton')
      );
    }
  }

  private _setState(next: ListState): void {
    // A poll that finds nothing new leaves the list as it is (focus, scroll and hover included), but durations of
    // running runs move on.
    const same = JSON.stringify(next) === JSON.stringify(this._state);
    this._state = next;
    if (next.kind === 'list') {
      const known = new Set(next.runs.map(r => r.id));
      this._selected = this._selected.filter(id => known.has(id));
      this._moreError = '';
    }
    if (!same || this.runs.some(r => r.state === 'running')) {
      this._render();
    }
  }

  private _render(): void {
    const state = this._state;
    const scroll = this._body.scrollTop;
    this._body.replaceChildren();
    switch (state.kind) {
      case 'loading':
        this._body.append(message('Loading experiments…'));
        break;
      case 'error':
        this._body.append(errorState('Cannot list experiments', state.message, () => void this.refresh()));
        break;
      case 'list':
        if (state.runs.length === 0) {
          this._body.append(
            message(
              'No experiments yet: run a cell with %%hops run',
              'For example: %%hops run --grid lr=0.01,0.1 --optimize acc:max over a cell that calls hops.log(acc=…).'
            )
          );
        } else {
          const ul = h('ul', { class: 'hops-ExperimentList', attrs: { 'aria-label': 'Experiments' } });
          state.runs.forEach(r => ul.append(this._item(r)));
          this._body.append(ul);
          if (state.more || this._moreError) {
            this._body.append(
              h(
                'div',
                { class: 'hops-ExperimentList-more' },
                button('More', 'List older experiments', () => void this.more()),
                this._moreError ? h('span', { class: 'hops-mod-errorText', text: this._moreError }) : null
              )
            );
          }
        }
        break;
    }
    this._body.scrollTop = scroll;
    this._renderSelection();
  }

  private _item(r: IExperiment): HTMLElement {
    const check = h('input', {
      class: 'hops-ExperimentItem-check',
      title: 'Select for Compare',
      attrs: { type: 'checkbox', 'aria-label': `Select ${r.name || r.id} for comparison` }
    });
    check.checked = this._selected.includes(r.id);
    check.addEventListener('click', ev => ev.stopPropagation());
    check.addEventListener('change', () => this._toggle(r.id, check.checked));
    const best = bestValue(r);
    const objective = r.objective?.metric;
    const summary =
      best !== null && objective
        ? h('span', {
            class: 'hops-ExperimentItem-best',
            text: `${objective} ${formatValue(best)}`,
            title: `Best ${objective} (${r.objective?.direction ?? 'max'})${r.best ? ` of trial ${r.best}` : ''}`
          })
        : null;
    const li = h(
      'li',
      {
        class: `hops-ExperimentItem ${stateClass(r.state)}`,
        attrs: { 'data-id': r.id, tabindex: '0', role: 'button' },
        title: `Open ${r.name || r.id}`
      },
      check,
      h(
        'div',
        { class: 'hops-ExperimentItem-main' },
        h(
          'div',
          { class: 'hops-ExperimentItem-line' },
          h('span', { class: 'hops-ExperimentItem-name', text: r.name || '(unnamed)' }),
          stateChip(r.state)
        ),
        h(
          'div',
          { class: 'hops-ExperimentItem-meta' },
          summary,
          h('span', { text: plural(r.trials_total, 'trial'), title: `${r.method} search` }),
          h('span', { class: 'hops-ExperimentItem-duration', text: durationText(r.started, r.ended), title: 'Duration' }),
          h('time', { text: relativeTime(r.started), title: `Started ${exactTime(r.started)}`, attrs: { datetime: r.started } })
        ),
        h(
          'div',
          { class: 'hops-ExperimentItem-meta' },
          r.notebook
            ? h('span', { class: 'hops-ExperimentItem-notebook', text: PathExt.basename(r.notebook), title: r.notebook })
            : h('span', { class: 'hops-Muted', text: 'no notebook', title: 'Started through the API, outside a notebook' }),
          h('code', { class: 'hops-ExperimentItem-id', text: r.id })
        )
      )
    );
    li.addEventListener('click', () => this._opts.openRun(r.id));
    li.addEventListener('keydown', ev => {
      if (ev.target === li && (ev.key === 'Enter' || ev.key === ' ')) {
        ev.preventDefault();
        this._opts.openRun(r.id);
      }
    });
    return li;
  }

  private _toggle(id: string, on: boolean): void {
    this._selected = on ? [...this._selected.filter(s => s !== id), id] : this._selected.filter(s => s !== id);
    this._renderSelection();
  }

  private _renderSelection(): void {
    for (const li of Array.from(this._body.querySelectorAll<HTMLElement>('.hops-ExperimentItem'))) {
      const on = this._selected.includes(li.dataset.id ?? '');
      li.classList.toggle('hops-mod-selected', on);
      const box = li.querySelector<HTMLInputElement>('.hops-ExperimentItem-check');
      if (box) {
        box.checked = on;
      }
    }
    const n = this._selected.length;
    const listed = this.runs.length > 0;
    this._compareButton.disabled = n < 2;
    this._compareButton.textContent = n >= 2 ? `Compare ${n}` : 'Compare';
    this._clearButton.hidden = n === 0;
    this._hint.hidden = n >= 2;
    this._hint.textContent = n === 1 ? 'Select one more run to compare.' : 'Click a run to open it; tick two or more to compare.';
    this._compareButton.parentElement?.toggleAttribute('hidden', !listed);
  }

  private _compareSelected(): void {
    if (this._selected.length >= 2) {
      // Oldest first, as the runs happened.
      const order = (id: string): number => this.runs.findIndex(r => r.id === id);
      this._opts.compare([...this._selected].sort((a, b) => order(b) - order(a)));
    }
  }

  private _state: ListState = { kind: 'loading' };
  private _selected: string[] = [];
  private _request = 0;
  private _clock = 0;
  private _lastLoad = 0;
  private _moreError = '';
  private readonly _hint = h('span', { class: 'hops-ExperimentsPanel-hint hops-Muted' });
  private readonly _body = h('div', { class: 'hops-ExperimentsPanel-body' });
  private readonly _banner = h('div', { class: 'hops-Banner hops-mod-warning hops-ExperimentsPanel-banner', attrs: { role: 'alert', hidden: '' } });
  private readonly _compareButton: HTMLButtonElement;
  private readonly _clearButton: HTMLButtonElement;
}

// ---------------------------------------------------------------------------------------------------------------
// charts

const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | null)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c) {
      el.append(c);
    }
  }
  return el;
}

function svgTitle(text: string): SVGTitleElement {
  const t = document.createElementNS(SVG, 'title');
  t.textContent = text;
  return t;
}

interface IChartOptions {
  metric: string;
  /** The label of a series to draw thicker (the best trial). */
  highlight?: string;
  width?: number;
  height?: number;
}

/** An SVG line chart of series (one path each, markers on its points) with a legend below. */
export function chartElement(series: ISeries[], opts: IChartOptions): HTMLElement {
  const width = opts.width ?? 640;
  const height = opts.height ?? 260;
  const chart = lineChart(series, width, height);
  const box = h('figure', { class: 'hops-Chart' });
  if (chart.empty) {
    box.append(h('div', { class: 'hops-Chart-empty hops-Muted', text: `No values of ${opts.metric} were logged.` }));
    return box;
  }
  const svg = s('svg', {
    class: 'hops-Chart-svg',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `${opts.metric} by step`
  });
  svg.style.maxWidth = `${width}px`;
  const grid = s('g', { class: 'hops-Chart-grid' });
  for (const t of chart.yTicks) {
    grid.append(
      s('line', { x1: chart.left, x2: chart.right, y1: t.pos, y2: t.pos }),
      s('text', { class: 'hops-Chart-tick', x: chart.left - 6, y: t.pos, 'text-anchor': 'end', 'dominant-baseline': 'middle' })
    );
    grid.lastElementChild!.textContent = t.label;
  }
  for (const t of chart.xTicks) {
    grid.append(s('line', { class: 'hops-Chart-xgrid', x1: t.pos, x2: t.pos, y1: chart.top, y2: chart.bottom }));
    const label = s('text', { class: 'hops-Chart-tick', x: t.pos, y: chart.bottom + 14, 'text-anchor': 'middle' });
    label.textContent = t.label;
    grid.append(label);
  }
  const frame = s('rect', {
    class: 'hops-Chart-frame',
    x: chart.left,
    y: chart.top,
    width: chart.right - chart.left,
    height: chart.bottom - chart.top
  });
  const xLabel = s('text', { class: 'hops-Chart-axisLabel', x: (chart.left + chart.right) / 2, y: height - 2, 'text-anchor': 'middle' });
  xLabel.textContent = 'step';
  svg.append(grid, frame, xLabel);
  const legend = h('figcaption', { class: 'hops-Chart-legend' });
  chart.lines.forEach((line, i) => {
    const color = seriesColor(i);
    const best = opts.highlight !== undefined && line.label === opts.highlight;
    const last = line.points[line.points.length - 1];
    const g = s('g', {
      class: `hops-Chart-series${best ? ' hops-mod-best' : ''}`,
      'data-series': line.label,
      stroke: color,
      fill: color
    });
    if (line.points.length > 1) {
      g.append(s('path', { class: 'hops-Chart-line', d: line.d, fill: 'none' }, svgTitle(`${line.label}: ${opts.metric} ${last ? formatValue(last.value) : ''}`)));
    }
    if (line.points.length <= 60) {
      for (const p of line.points) {
        g.append(s('circle', { class: 'hops-Chart-point', cx: p.x, cy: p.y, r: best ? 3.2 : 2.6 }, svgTitle(`${line.label} step ${p.step}: ${opts.metric} = ${formatValue(p.value)}`)));
      }
    }
    svg.append(g);
    const item = h(
      'span',
      { class: `hops-Chart-key${best ? ' hops-mod-best' : ''}`, attrs: { 'data-series': line.label } },
      h('span', { class: 'hops-Chart-swatch', attrs: { style: `background:${color}` } }),
      h('span', { text: line.label }),
      last ? h('span', { class: 'hops-Muted', text: formatValue(last.value) }) : null
    );
    item.addEventListener('mouseenter', () => {
      svg.classList.add('hops-mod-focus');
      g.classList.add('hops-mod-focused');
    });
    item.addEventListener('mouseleave', () => {
      svg.classList.remove('hops-mod-focus');
      g.classList.remove('hops-mod-focused');
    });
    legend.append(item);
  });
  // The focused series on top.
  svg.addEventListener('mouseover', ev => {
    const g = (ev.target as Element).closest?.('.hops-Chart-series');
    if (g && g.parentNode === svg && svg.lastElementChild !== g) {
      svg.append(g);
    }
  });
  box.append(svg, legend);
  return box;
}

/** A <select> of metric names. */
function metricSelect(names: string[], value: string, onChange: (m: string) => void): HTMLElement {
  const select = h('select', { class: 'hops-MetricSelect', attrs: { 'aria-label': 'Metric' } });
  for (const n of names) {
    const o = h('option', { text: n, attrs: { value: n } });
    o.selected = n === value;
    select.append(o);
  }
  select.addEventListener('change', () => onChange(select.value));
  return h('label', { class: 'hops-MetricPicker' }, h('span', { class: 'hops-Muted', text: 'Metric' }), select);
}

function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'hops-RunSection' }, h('h2', { class: 'hops-RunSection-title', text: title }), ...children);
}

/** A two-column table of name: value (value a node or text). */
function facts(rows: [string, Node | string | null][]): HTMLElement {
  const dl = h('dl', { class: 'hops-Facts' });
  for (const [name, value] of rows) {
    if (value === null || value === '') {
      continue;
    }
    dl.append(h('dt', { text: name }), h('dd', {}, value));
  }
  return dl;
}

// ---------------------------------------------------------------------------------------------------------------
// the main-area views (one run, a comparison)

/** What the view of a run and the comparison share: the frame, loading when first attached, the focus when
 * activated, polling while a run is running, and the start of a render (the error or "Loading…" until something is
 * loaded, a banner when a reload failed). */
abstract class RunViewBase extends Widget {
  constructor(id: string, label: string, caption: string, private readonly _loadingText: string) {
    super();
    this.id = id;
    this.addClass('hops-RunView');
    this.title.label = label;
    this.title.caption = caption;
    this.title.icon = experimentsIcon;
    this.title.closable = true;
    this.node.tabIndex = -1;
    this.node.append(this._body);
    this._body.append(message(_loadingText));
  }

  /** Loads what the view shows again. */
  abstract refresh(): Promise<void>;

  /** Whether something is loaded (the record, the runs). */
  protected abstract get _loaded(): boolean;

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._loaded && this._error === '') {
      void this.refresh();
    }
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.node.focus();
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  /** Reloads in a moment while a run is running. */
  protected _schedule(running: boolean): void {
    window.clearTimeout(this._timer);
    if (!this.isDisposed && running) {
      this._timer = window.setTimeout(() => void this.refresh(), VIEW_POLL_MS);
    }
  }

  /** Empties the body for a render; until something is loaded it shows the error (`errorTitle`) or "Loading…" and
   * says false. A failed reload of what is shown puts a banner on top. */
  protected _startRender(errorTitle: string): boolean {
    this._body.replaceChildren();
    if (!this._loaded) {
      this._body.append(this._error ? errorState(errorTitle, this._error, () => void this.refresh()) : message(this._loadingText));
      return false;
    }
    if (this._error) {
      this._body.append(h('div', { class: 'hops-Banner hops-mod-warning', attrs: { role: 'alert' }, text: `Cannot reload: ${this._error}` }));
    }
    return true;
  }

  /** The picker of the charted metric among `names` (just its name when there is one); a pick renders again. */
  protected _metricPicker(names: string[]): HTMLElement {
    return names.length > 1
      ? metricSelect(names, this._metric, m => {
          this._metric = m;
          this._render();
        })
      : h('div', { class: 'hops-MetricPicker hops-Muted', text: this._metric });
  }

  protected abstract _render(): void;

  protected _error = '';
  protected _metric = '';
  protected _request = 0;
  protected _timer = 0;
  protected readonly _body = h('div', { class: 'hops-RunView-body' });
}

// ---------------------------------------------------------------------------------------------------------------
// one run

export interface IExperimentViewOptions {
  api: ExperimentsAPI;
  id: string;
  /** Opens the diff of a notebook from a commit to the current file (null: not available). */
  openNotebookDiff?: ((path: string, commit: string) => void) | null;
  /** Shows a folder of the project store in its panel (null: not available). */
  showInStore?: ((path: string) => void) | null;
}

type LogState = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'text'; text: string };

export class ExperimentView extends RunViewBase {
  constructor(private readonly _opts: IExperimentViewOptions) {
    super(ExperimentView.idFor(_opts.id), `Experiment ${_opts.id}`, `Experiment ${_opts.id}`, 'Loading the experiment…');
  }

  static idFor(id: string): string {
    return `hops-experiment-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  /** The experiment's id. */
  get experimentId(): string {
    return this._opts.id;
  }

  /** The record shown, once loaded. */
  get record(): IExperiment | null {
    return this._record;
  }

  /** Loads the record again. */
  async refresh(): Promise<void> {
    const request = ++this._request;
    try {
      const rec = await this._opts.api.get(this._opts.id);
      if (request !== this._request || this.isDisposed) {
        return;
      }
      this._error = '';
      const changed = JSON.stringify(rec) !== JSON.stringify(this._record);
      this._record = rec;
      this.title.label = rec.name ? `${rec.name} (${rec.id})` : rec.id;
      // Logs of trials that were still running are read again.
      for (const t of rec.trials ?? []) {
        if (this._expanded.has(t.id) && (t.state === 'running' || this._logs.get(t.id)?.kind === 'error')) {
          void this._loadLog(t);
        }
      }
      if (changed) {
        this._render();
      }
    } catch (err) {
      if (request === this._request && !this.isDisposed) {
        this._error = errorText(err);
        this._render();
      }
    } finally {
      this._schedule(this._record?.state === 'running');
    }
  }

  protected get _loaded(): boolean {
    return this._record !== null;
  }

  protected _render(): void {
    const scroll = this.node.scrollTop;
    const rec = this._record;
    if (!this._startRender(`Cannot load experiment ${this._opts.id}`) || !rec) {
      return;
    }
    const trials = rec.trials ?? [];
    const best = bestTrial(rec);
    const metrics = metricNames(trials, rec.objective?.metric);
    if (!metrics.includes(this._metric)) {
      this._metric = metrics[0] ?? '';
    }
    this._body.append(this._header(rec, best));
    this._body.append(
      section(
        'Metrics',
        metrics.length === 0
          ? h('div', { class: 'hops-Muted', text: 'No metrics logged (hops.log(name=value) in the cell logs them).' })
          : h(
              'div',
              {},
              this._metricPicker(metrics),
              chartElement(
                trials.map(t => ({ label: t.id, points: seriesOf(t, this._metric) })),
                { metric: this._metric, highlight: best?.id }
              )
            )
      ),
      section('Trials', this._trials(rec, best)),
      section('Environment', environmentFacts(rec)),
      section('Code', codeBlock(rec))
    );
    this.node.scrollTop = scroll;
  }

  private _header(rec: IExperiment, best: ITrial | null): HTMLElement {
    const notebook: (Node | string)[] = [];
    if (rec.notebook) {
      notebook.push(h('span', { class: 'hops-RunView-notebook', text: rec.notebook }));
      if (rec.commit) {
        notebook.push(' at ', h('code', { text: rec.commit.slice(0, 7), title: rec.commit }));
      }
      if (rec.code_changed) {
        notebook.push(
          ' ',
          h('span', {
            class: 'hops-Badge hops-mod-modified',
            text: 'edited after save',
            title: 'The cell ran with changes that were not saved: the commit does not hold exactly this code (it is below).'
          })
        );
      }
      if (rec.commit) {
        const links = h('span', { class: 'hops-RunView-links' });
        if (this._opts.openNotebookDiff) {
          const open = this._opts.openNotebookDiff;
          links.append(
            button('notebook at this version', 'Compare the notebook as it was at launch with the current file', () => open(rec.notebook, rec.commit!), 'hops-LinkButton')
          );
        }
        links.append(
          h('a', {
            class: 'hops-LinkButton',
            text: 'raw',
            title: 'The notebook file at this commit, in a new tab',
            attrs: { href: this._opts.api.versionUrl(rec.notebook, rec.commit), target: '_blank', rel: 'noopener' }
          })
        );
        notebook.push(' ', links);
      }
    }
    const objective = rec.objective
      ? `${rec.objective.metric} (${rec.objective.direction === 'min' ? 'minimize' : 'maximize'})`
      : '';
    const bestValueText =
      best && rec.objective ? `${best.id}: ${rec.objective.metric} = ${formatValue(best.metrics?.[rec.objective.metric])}` : best?.id ?? '';
    return h(
      'header',
      { class: 'hops-RunView-header' },
      h(
        'div',
        { class: 'hops-RunView-titleLine' },
        h('h1', { class: 'hops-RunView-name', text: rec.name || '(unnamed)' }),
        stateChip(rec.state),
        h('code', { class: 'hops-RunView-id', text: rec.id })
      ),
      rec.note ? h('p', { class: 'hops-RunView-note', text: rec.note }) : null,
      facts([
        ['Started', h('time', { text: `${shortTime(rec.started)} (${relativeTime(rec.started)})`, title: exactTime(rec.started), attrs: { datetime: rec.started } })],
        ['Duration', durationText(rec.started, rec.ended) + (rec.state === 'running' ? ' so far' : '')],
        ['User', rec.user || '—'],
        ['Notebook', notebook.length ? h('span', {}, ...notebook) : h('span', { class: 'hops-Muted', text: 'none (started through the API)' })],
        ['Search', `${rec.method}, ${plural(rec.trials_total, 'trial')} on ${plural(rec.executors, 'executor')}${rec.gpus_per_trial ? `, ${plural(rec.gpus_per_trial, 'GPU')} per trial` : ''}`],
        ['Objective', objective || null],
        ['Best', bestValueText ? h('span', { class: 'hops-RunView-best', text: `★ ${bestValueText}` }) : null],
        ['Location', h('code', { text: rec.location })]
      ])
    );
  }

  private _trials(rec: IExperiment, best: ITrial | null): HTMLElement {
    const trials = rec.trials ?? [];
    if (trials.length === 0) {
      return h('div', { class: 'hops-Muted', text: rec.state === 'running' ? 'No trial has started yet.' : 'No trials.' });
    }
    const params = paramNames(trials);
    const metrics = metricNames(trials.map(t => ({ ...t, timeline: undefined })), rec.objective?.metric);
    const head = h('tr', {}, h('th', { text: 'Trial' }));
    params.forEach(p => head.append(h('th', { class: 'hops-mod-param', text: p })));
    head.append(h('th', { text: 'State' }));
    metrics.forEach(m => head.append(h('th', { class: 'hops-mod-num', text: m })));
    head.append(h('th', { class: 'hops-mod-num', text: 'Duration' }));
    const body = h('tbody');
    const cols = params.length + metrics.length + 3;
    for (const t of trials) {
      const isBest = best?.id === t.id;
      const open = this._expanded.has(t.id);
      const toggle = h('button', {
        class: 'hops-TrialToggle',
        text: `${open ? '▾' : '▸'} ${t.id}`,
        title: open ? 'Hide the output of this trial' : 'Show the output of this trial',
        attrs: { type: 'button', 'aria-expanded': String(open) }
      });
      const tr = h(
        'tr',
        { class: `hops-TrialRow ${stateClass(t.state)}${isBest ? ' hops-mod-best' : ''}`, attrs: { 'data-trial': t.id } },
        h('td', { class: 'hops-TrialRow-id' }, toggle, isBest ? h('span', { class: 'hops-BestMark', text: '★ best', title: 'The best trial by the objective' }) : null)
      );
      params.forEach(p => tr.append(h('td', { class: 'hops-mod-param', text: p in (t.params ?? {}) ? formatValue(t.params[p]) : '—' })));
      tr.append(h('td', {}, stateChip(t.state)));
      metrics.forEach(m => {
        const v = t.metrics?.[m];
        tr.append(h('td', { class: 'hops-mod-num', text: typeof v === 'number' ? formatValue(v) : '—', title: typeof v === 'number' ? String(v) : '' }));
      });
      tr.append(h('td', { class: 'hops-mod-num', text: durationText(t.started, t.ended) }));
      tr.addEventListener('click', () => {
        if (this._expanded.has(t.id)) {
          this._expanded.delete(t.id);
        } else {
          this._expanded.add(t.id);
          if (!this._logs.has(t.id) || this._logs.get(t.id)?.kind === 'error' || t.state === 'running') {
            void this._loadLog(t);
          }
        }
        this._render();
      });
      body.append(tr);
      if (open) {
        body.append(h('tr', { class: 'hops-TrialLogRow', attrs: { 'data-trial': t.id } }, h('td', { attrs: { colspan: String(cols) } }, this._trialDetail(rec, t))));
      }
    }
    return h('div', { class: 'hops-TableScroll' }, h('table', { class: 'hops-Table hops-TrialTable' }, h('thead', {}, head), body));
  }

  private _trialDetail(rec: IExperiment, t: ITrial): HTMLElement {
    const box = h('div', { class: 'hops-TrialDetail' });
    box.append(h('div', { class: 'hops-Muted', text: `${paramsText(t.params)}${t.gpus?.length ? ` · GPUs ${t.gpus.join(', ')}` : ''}${t.exit_code !== undefined ? ` · exit code ${t.exit_code}` : ''}` }));
    if (t.error || t.traceback) {
      box.append(h('div', { class: 'hops-TrialDetail-label hops-mod-errorText', text: t.error ? `Error: ${t.error}` : 'Error' }));
      if (t.traceback) {
        box.append(h('pre', { class: 'hops-Traceback', text: t.traceback }));
      }
    }
    // What the trial kept, each a link to its folder in the Project store panel.
    const prefix = `${rec.location}/${t.id}/artifacts/`;
    const kept = [
      ...(t.artifacts ?? []).map(a => ({ label: a.startsWith(prefix) ? a.slice(prefix.length) : a, folder: a.slice(0, a.lastIndexOf('/')), path: a })),
      ...(t.models ?? []).map(m => ({ label: `model ${m.name} v${m.version}`, folder: m.location, path: m.location }))
    ];
    if (kept.length) {
      const show = this._opts.showInStore;
      box.append(
        h(
          'div',
          { class: 'hops-TrialKept' },
          h('span', { class: 'hops-TrialDetail-label', text: 'Kept' }),
          ...kept.map(k =>
            show
              ? button(k.label, `Show ${k.path} in the project store`, () => show(k.folder), 'hops-LinkButton hops-TrialKept-item')
              : h('code', { class: 'hops-TrialKept-item', text: k.label, title: k.path })
          )
        )
      );
    }
    // Images among the artifacts (a confusion matrix, a loss curve) are shown, not only linked.
    const images = kept.filter(k => k.path !== k.folder && IMAGE_ARTIFACT.test(k.path)).slice(0, MAX_IMAGES);
    if (images.length) {
      const version = encodeURIComponent(t.ended ?? t.started ?? '');
      box.append(
        h(
          'div',
          { class: 'hops-TrialImages' },
          ...images.map(k =>
            h(
              'figure',
              { class: 'hops-TrialImage' },
              h('img', { attrs: { src: `${this._opts.api.storeUrl(k.path)}?v=${version}`, alt: k.label } }),
              h('figcaption', { text: k.label })
            )
          )
        )
      );
    }
    const log = this._logs.get(t.id);
    box.append(h('div', { class: 'hops-TrialDetail-label', text: `Output (${rec.location}/${t.id}/output.log)` }));
    if (!log || log.kind === 'loading') {
      box.append(h('div', { class: 'hops-Muted', text: 'Loading the output…' }));
    } else if (log.kind === 'error') {
      box.append(h('div', { class: 'hops-mod-errorText', text: `Cannot load the output: ${log.message}` }));
    } else {
      box.append(log.text === '' ? h('div', { class: 'hops-Muted', text: '(no output)' }) : h('pre', { class: 'hops-TrialLog', text: log.text }));
    }
    return box;
  }

  private async _loadLog(t: ITrial): Promise<void> {
    const rec = this._record;
    if (!rec) {
      return;
    }
    if (!this._logs.has(t.id)) {
      this._logs.set(t.id, { kind: 'loading' });
    }
    let next: LogState;
    try {
      next = { kind: 'text', text: await this._opts.api.trialLog(rec.location, t.id) };
    } catch (err) {
      next = { kind: 'error', message: errorText(err) };
    }
    if (this.isDisposed) {
      return;
    }
    const before = JSON.stringify(this._logs.get(t.id));
    this._logs.set(t.id, next);
    if (before !== JSON.stringify(next) && this._expanded.has(t.id)) {
      this._render();
    }
  }

  private _record: IExperiment | null = null;
  private readonly _expanded = new Set<string>();
  private readonly _logs = new Map<string, LogState>();
}

function environmentFacts(rec: IExperiment): HTMLElement {
  const env = rec.environment;
  if (!env) {
    return h('div', { class: 'hops-Muted', text: 'No environment snapshot was recorded.' });
  }
  const packages = env.python?.packages ?? [];
  const list = h('details', { class: 'hops-Packages' }, h('summary', { text: plural(packages.length, 'package') }));
  if (packages.length) {
    list.append(
      h(
        'ul',
        { class: 'hops-Packages-list' },
        ...[...packages].sort((a, b) => a.name.localeCompare(b.name)).map(p => h('li', {}, h('span', { text: p.name }), h('span', { class: 'hops-Muted', text: p.version })))
      )
    );
  }
  const vars = Object.entries(env.variables ?? {});
  return facts([
    ['Python', `${pythonText(env)}${env.python?.executable ? ` (${env.python.executable})` : ''}`],
    ['Packages', list],
    ['OS', [env.os, env.kernel].filter(x => x).join(', ') || '—'],
    ['CPU', cpuText(env)],
    ['GPUs', env.gpu?.devices?.length ? gpuText(env) : h('span', { class: 'hops-Muted', text: env.gpu_error || 'none' })],
    ['hops', env.hops || null],
    [
      'Variables',
      vars.length
        ? h(
            'details',
            {},
            h('summary', { text: plural(vars.length, 'variable') }),
            h('pre', { class: 'hops-Code', text: vars.map(([k, v]) => `${k}=${v}`).join('\n') })
          )
        : null
    ],
    ['Captured', env.captured ? exactTime(env.captured) : null]
  ]);
}

function codeBlock(rec: IExperiment): HTMLElement {
  const first = (rec.cell ?? '').split('\n')[0];
  return h(
    'div',
    {},
    first.startsWith('%%') ? h('pre', { class: 'hops-Code hops-mod-magic', text: first }) : null,
    h('pre', { class: 'hops-Code', text: rec.code || '(no code)' })
  );
}

// ---------------------------------------------------------------------------------------------------------------
// comparison of runs

export interface ICompareViewOptions {
  api: ExperimentsAPI;
  ids: string[];
  openRun: (id: string) => void;
}

export class CompareView extends RunViewBase {
  constructor(private readonly _opts: ICompareViewOptions) {
    super(CompareView.idFor(_opts.ids), `Compare ${_opts.ids.length} experiments`, `Compare ${_opts.ids.join(', ')}`, 'Loading the experiments…');
    this.addClass('hops-CompareView');
  }

  static idFor(ids: readonly string[]): string {
    return `hops-compare-${ids.join('-').replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  get ids(): readonly string[] {
    return this._opts.ids;
  }

  async refresh(): Promise<void> {
    const request = ++this._request;
    try {
      const runs = await Promise.all(this._opts.ids.map(id => this._opts.api.get(id)));
      if (request !== this._request || this.isDisposed) {
        return;
      }
      this._error = '';
      this._runs = runs;
    } catch (err) {
      if (request !== this._request || this.isDisposed) {
        return;
      }
      this._error = errorText(err);
    }
    this._render();
    this._schedule(this._runs?.some(r => r.state === 'running') ?? false);
  }

  protected get _loaded(): boolean {
    return this._runs !== null;
  }

  protected _render(): void {
    const scroll = this.node.scrollTop;
    const runs = this._runs;
    if (!this._startRender('Cannot load the experiments to compare') || !runs) {
      return;
    }
    const bests = runs.map(r => bestTrial(r));
    const label = (r: IExperiment): string => `${r.name || '(unnamed)'} · ${r.id}`;

    // The runs, one column each (a header row per table).
    const headRow = (): HTMLTableRowElement => {
      const tr = h('tr', {}, h('th', { text: '' }));
      runs.forEach((r, i) =>
        tr.append(
          h(
            'th',
            { class: 'hops-CompareView-run', attrs: { 'data-id': r.id } },
            h('span', { class: 'hops-Chart-swatch', attrs: { style: `background:${seriesColor(i)}` } }),
            button(r.name || '(unnamed)', `Open ${r.id}`, () => this._opts.openRun(r.id), 'hops-LinkButton hops-CompareView-open'),
            ' ',
            stateChip(r.state),
            h('div', { class: 'hops-Muted hops-CompareView-id', text: r.id })
          )
        )
      );
      return tr;
    };
    const infoRows: ICompareRow[] = [
      { name: 'Started', values: runs.map(r => shortTime(r.started)), differs: false },
      { name: 'Duration', values: runs.map(r => durationText(r.started, r.ended)), differs: false },
      { name: 'Notebook', values: runs.map(r => (r.notebook ? `${r.notebook}${r.commit ? ` @ ${r.commit.slice(0, 7)}` : ''}${r.code_changed ? ' (edited after save)' : ''}` : '—')), differs: false },
      { name: 'Search', values: runs.map(r => `${r.method}, ${plural(r.trials_total, 'trial')}`), differs: false },
      { name: 'Objective', values: runs.map(r => (r.objective ? `${r.objective.metric} ${r.objective.direction}` : '—')), differs: false },
      { name: 'Best trial', values: runs.map((_, i) => (bests[i] ? `${bests[i].id} (${paramsText(bests[i].params)})` : '—')), differs: false },
      { name: 'Code', values: runs.map(r => (r.code === runs[0].code ? (r === runs[0] ? 'reference' : 'same') : 'differs')), differs: runs.some(r => r.code !== runs[0].code) }
    ];
    this._body.append(
      h(
        'header',
        { class: 'hops-RunView-header' },
        h('div', { class: 'hops-RunView-titleLine' }, h('h1', { class: 'hops-RunView-name', text: `Compare ${runs.length} experiments` }))
      ),
      compareTable(headRow(), infoRows, 'hops-CompareTable hops-CompareView-runs')
    );

    const params = compareParams(runs);
    this._body.append(
      section(
        'Parameters',
        params.length ? compareTable(headRow(), params, 'hops-CompareTable hops-CompareView-params') : h('div', { class: 'hops-Muted', text: 'No params.' })
      )
    );
    const metrics = compareMetrics(runs);
    this._body.append(
      section(
        'Metrics of the best trials',
        metrics.length ? compareTable(headRow(), metrics, 'hops-CompareTable hops-CompareView-metrics') : h('div', { class: 'hops-Muted', text: 'No metrics.' })
      )
    );

    // The chosen metric of each run's best trial, overlaid.
    const names = metricNames(bests.filter((t): t is ITrial => t !== null), runs[0].objective?.metric);
    if (!names.includes(this._metric)) {
      this._metric = names[0] ?? '';
    }
    this._body.append(
      section(
        'Best trials',
        names.length === 0
          ? h('div', { class: 'hops-Muted', text: 'No metrics logged by the best trials.' })
          : h(
              'div',
              {},
              this._metricPicker(names),
              chartElement(
                runs.map((r, i) => ({ label: `${label(r)}${bests[i] ? ` · ${bests[i].id}` : ''}`, points: bests[i] ? seriesOf(bests[i], this._metric) : [] })),
                { metric: this._metric }
              )
            )
      )
    );

    // How the environments differ.
    const diff = environmentDiff(runs.map(r => r.environment));
    const envSection = section('Environment', compareTable(headRow(), diff.rows, 'hops-CompareTable hops-CompareView-env'));
    if (diff.packages.length === 0) {
      envSection.append(h('p', { class: 'hops-Muted', text: `The same ${plural(diff.samePackages, 'package')} in every run.` }));
    } else {
      const head = h('tr', {}, h('th', { text: 'Package' }), ...runs.map(r => h('th', { text: r.name || r.id, title: r.id })), h('th', { text: '' }));
      const body = h('tbody');
      for (const p of diff.packages) {
        body.append(
          h(
            'tr',
            { class: `hops-mod-${p.change}` },
            h('td', { text: p.name }),
            ...p.versions.map(v => h('td', { class: v === null ? 'hops-Muted' : '', text: v ?? 'not installed' })),
            h('td', {}, h('span', { class: `hops-Chip hops-mod-${p.change === 'changed' ? 'modified' : p.change}`, text: p.change }))
          )
        );
      }
      envSection.append(
        h('p', { class: 'hops-Muted', text: `${plural(diff.packages.length, 'package')} differ (against the first run); ${diff.samePackages} are the same.` }),
        h('div', { class: 'hops-TableScroll' }, h('table', { class: 'hops-Table hops-CompareView-packages' }, h('thead', {}, head), body))
      );
    }
    this._body.append(envSection);
    this.node.scrollTop = scroll;
  }

  private _runs: IExperiment[] | null = null;
}

/** A table with a header row and one row per compared thing; rows where the runs differ are marked. */
function compareTable(head: HTMLTableRowElement, rows: ICompareRow[], cls: string): HTMLElement {
  const body = h('tbody');
  for (const r of rows) {
    body.append(
      h(
        'tr',
        { class: r.differs ? 'hops-mod-differs' : '', attrs: { 'data-name': r.name } },
        h('th', { text: r.name, title: r.differs ? 'The runs differ here' : '' }),
        ...r.values.map(v => h('td', { text: v }))
      )
    );
  }
  // As many columns as runs, of one width in every table of a comparison.
  const runs = Math.max(1, head.cells.length - 1);
  return h(
    'div',
    { class: 'hops-TableScroll' },
    h('table', { class: `hops-Table ${cls}`, attrs: { style: `--hops-runs: ${runs}` } }, h('thead', {}, head), body)
  );
}
