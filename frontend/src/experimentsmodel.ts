// The data shaping of the Experiments panel, without DOM or JupyterLab (unit tested in test/units.test.mjs): the
// best trial of a run, durations and numbers in words, the metrics and params of runs, the differences of their
// environments, and the geometry of a line chart (scales, ticks, SVG paths).

import type { IEnvironment, IExperiment, IPoint, ITrial } from './experimentsapi';

// ---------------------------------------------------------------------------------------------------------------
// numbers and durations

/** A metric value or param in few characters: 0.30000000000000004 → "0.3", 123456.7 → "1.235e+5". */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      return String(v);
    }
    if (Number.isInteger(v) && Math.abs(v) < 1e9) {
      return String(v);
    }
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) {
      return v.toExponential(3).replace(/\.?0+e/, 'e');
    }
    return String(Number(v.toPrecision(4)));
  }
  if (typeof v === 'string') {
    return v;
  }
  if (v === null || v === undefined) {
    return '—';
  }
  return JSON.stringify(v);
}

/** Milliseconds in words: "80 ms", "4.2 s", "3 min 04 s", "2 h 05 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '—';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 10) {
    return `${s.toFixed(1)} s`;
  }
  if (s < 60) {
    return `${Math.round(s)} s`;
  }
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) {
    return `${h} h ${String(m).padStart(2, '0')} min`;
  }
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

/** The duration of something that started and maybe ended (a running one: until now), or null without a start. */
export function durationMs(started?: string, ended?: string, now: number = Date.now()): number | null {
  const s = started ? Date.parse(started) : NaN;
  if (Number.isNaN(s)) {
    return null;
  }
  const e = ended ? Date.parse(ended) : NaN;
  return (Number.isNaN(e) ? now : e) - s;
}

/** "4.2 s", or "—" when unknown. */
export function durationText(started?: string, ended?: string, now: number = Date.now()): string {
  const ms = durationMs(started, ended, now);
  return ms === null ? '—' : formatDuration(ms);
}

/** The CSS modifier of a run or trial state. */
export function stateClass(state: string): string {
  switch (state) {
    case 'running':
    case 'finished':
    case 'failed':
    case 'killed':
    case 'pending':
      return `hops-mod-${state}`;
    default:
      return 'hops-mod-other';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// trials and metrics

/**
 * The best trial of a run: the one the server named, else the finished trial with the best last value of the
 * objective; null without trials or objective values.
 */
export function bestTrial(e: Pick<IExperiment, 'best' | 'objective' | 'trials'>): ITrial | null {
  const trials = e.trials ?? [];
  if (e.best) {
    const named = trials.find(t => t.id === e.best);
    if (named) {
      return named;
    }
  }
  const metric = e.objective?.metric;
  if (!metric) {
    return null;
  }
  const sign = e.objective?.direction === 'min' ? -1 : 1;
  let best: ITrial | null = null;
  for (const t of trials) {
    const v = t.metrics?.[metric];
    if (typeof v !== 'number' || !Number.isFinite(v) || t.state === 'failed') {
      continue;
    }
    const bv = best?.metrics?.[metric];
    if (best === null || typeof bv !== 'number' || sign * v > sign * bv) {
      best = t;
    }
  }
  return best;
}

/** The objective value of the best trial, as the server summed it up or from the trial. */
export function bestValue(e: IExperiment): number | null {
  if (typeof e.best_value === 'number') {
    return e.best_value;
  }
  const t = bestTrial(e);
  const m = e.objective?.metric;
  const v = t && m ? t.metrics?.[m] : undefined;
  return typeof v === 'number' ? v : null;
}

/** The metric names of trials (final values and timelines), the objective first, then in alphabetical order. */
export function metricNames(trials: readonly ITrial[], objective?: string): string[] {
  const names = new Set<string>();
  for (const t of trials) {
    Object.keys(t.metrics ?? {}).forEach(n => names.add(n));
    Object.keys(t.timeline ?? {}).forEach(n => names.add(n));
  }
  const sorted = [...names].sort((a, b) => a.localeCompare(b));
  if (objective && names.has(objective)) {
    return [objective, ...sorted.filter(n => n !== objective)];
  }
  return sorted;
}

/** The param names of trials, in order of first appearance. */
export function paramNames(trials: readonly ITrial[]): string[] {
  const names: string[] = [];
  for (const t of trials) {
    for (const k of Object.keys(t.params ?? {})) {
      if (!names.includes(k)) {
        names.push(k);
      }
    }
  }
  return names;
}

/** The points of a metric of a trial, in step order; a trial with only a final value has one point. */
export function seriesOf(t: ITrial, metric: string): IPoint[] {
  const line = t.timeline?.[metric];
  if (line && line.length > 0) {
    return [...line].sort((a, b) => a.step - b.step);
  }
  const last = t.metrics?.[metric];
  return typeof last === 'number' ? [{ step: 0, value: last }] : [];
}

/** The params of a trial as "lr=0.1, batch=32". */
export function paramsText(params: Record<string, unknown> | undefined): string {
  const entries = Object.entries(params ?? {});
  return entries.length === 0 ? '(no params)' : entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
}

/** One row of a comparison of runs: a name and one cell of text per run. */
export interface ICompareRow {
  name: string;
  values: string[];
  /** Whether the runs differ in it. */
  differs: boolean;
}

function row(name: string, values: string[]): ICompareRow {
  return { name, values, differs: new Set(values).size > 1 };
}

/**
 * The params of runs side by side: the union of their param names, and for each run the distinct values its
 * trials took (in order of first use), "—" where it had no such param.
 */
export function compareParams(runs: readonly IExperiment[]): ICompareRow[] {
  const names = paramNames(runs.flatMap(r => r.trials ?? []));
  return names.map(name =>
    row(
      name,
      runs.map(r => {
        const seen: string[] = [];
        for (const t of r.trials ?? []) {
          if (t.params && name in t.params) {
            const v = formatValue(t.params[name]);
            if (!seen.includes(v)) {
              seen.push(v);
            }
          }
        }
        return seen.length === 0 ? '—' : seen.join(', ');
      })
    )
  );
}

/** The final metrics of each run's best trial side by side (union of metric names, objective metrics first). */
export function compareMetrics(runs: readonly IExperiment[]): ICompareRow[] {
  const bests = runs.map(r => bestTrial(r));
  const objectives = runs.map(r => r.objective?.metric).filter((m): m is string => !!m);
  const names = metricNames(bests.filter((t): t is ITrial => t !== null).map(t => ({ ...t, timeline: undefined })));
  const ordered = [...new Set([...objectives.filter(o => names.includes(o)), ...names])];
  return ordered.map(name =>
    row(
      name,
      bests.map(t => {
        const v = t?.metrics?.[name];
        return typeof v === 'number' ? formatValue(v) : '—';
      })
    )
  );
}

// ---------------------------------------------------------------------------------------------------------------
// environments

export type PackageChange = 'added' | 'removed' | 'changed';

/** A package whose version differs between runs: its version in each run (null: not installed). */
export interface IPackageDiff {
  name: string;
  versions: (string | null)[];
  /** Against the first run: added (not in the first), removed (not in a later one), changed (other versions). */
  change: PackageChange;
}

export interface IEnvironmentDiff {
  /** Python, OS, CPU, GPUs, hops: every row, with whether the runs differ. */
  rows: ICompareRow[];
  /** The packages that differ between runs, by name. */
  packages: IPackageDiff[];
  /** How many packages all runs have in the same version. */
  samePackages: number;
}

/** The GPUs of an environment in words: "2 × NVIDIA H100 (driver 550.54, CUDA 12.4)", or why there are none. */
export function gpuText(env: IEnvironment | null | undefined): string {
  const devices = env?.gpu?.devices ?? [];
  if (devices.length === 0) {
    return env?.gpu_error ? 'none' : '—';
  }
  const counts = new Map<string, number>();
  devices.forEach(d => counts.set(d.name, (counts.get(d.name) ?? 0) + 1));
  const names = [...counts].map(([n, c]) => (c > 1 ? `${c} × ${n}` : n)).join(', ');
  const extra = [env?.gpu?.driver ? `driver ${env.gpu.driver}` : '', env?.gpu?.cuda ? `CUDA ${env.gpu.cuda}` : '']
    .filter(s => s)
    .join(', ');
  return extra ? `${names} (${extra})` : names;
}

/** "CPython 3.11.7". */
export function pythonText(env: IEnvironment | null | undefined): string {
  const py = env?.python;
  if (!py?.version) {
    return '—';
  }
  return `${py.implementation && py.implementation !== 'CPython' ? `${py.implementation} ` : ''}${py.version}`;
}

/** The CPU in words: "AMD EPYC, 16 cores". */
export function cpuText(env: IEnvironment | null | undefined): string {
  if (!env?.cpu && !env?.cores) {
    return '—';
  }
  return [env.cpu, env.cores ? `${env.cores} cores` : ''].filter(s => s).join(', ');
}

/** How the environments of runs differ: the summary rows, and the packages added, removed or changed. */
export function environmentDiff(envs: readonly (IEnvironment | null | undefined)[]): IEnvironmentDiff {
  const rows = [
    row('Python', envs.map(pythonText)),
    row('Packages', envs.map(e => String(e?.python?.packages?.length ?? 0))),
    row('OS', envs.map(e => e?.os || '—')),
    row('CPU', envs.map(cpuText)),
    row('GPUs', envs.map(gpuText)),
    row('hops', envs.map(e => e?.hops || '—'))
  ];
  const maps = envs.map(e => new Map((e?.python?.packages ?? []).map(p => [p.name.toLowerCase(), p] as const)));
  const names = new Map<string, string>();
  maps.forEach(m => m.forEach((p, key) => names.has(key) || names.set(key, p.name)));
  const packages: IPackageDiff[] = [];
  let samePackages = 0;
  for (const [key, name] of [...names].sort((a, b) => a[0].localeCompare(b[0]))) {
    const versions = maps.map(m => m.get(key)?.version ?? null);
    if (new Set(versions).size === 1) {
      samePackages++;
      continue;
    }
    const change: PackageChange =
      versions[0] === null ? 'added' : versions.slice(1).some(v => v === null) ? 'removed' : 'changed';
    packages.push({ name, versions, change });
  }
  return { rows, packages, samePackages };
}

// ---------------------------------------------------------------------------------------------------------------
// charts

export interface ISeries {
  label: string;
  points: readonly IPoint[];
}

export interface ITick {
  value: number;
  /** Position in pixels along its axis. */
  pos: number;
  label: string;
}

export interface IChartLine {
  label: string;
  /** The SVG path ("M x y L x y ..."), "" for a series without points. */
  d: string;
  /** The points in pixels, for markers. */
  points: { x: number; y: number; step: number; value: number }[];
}

export interface IChart {
  width: number;
  height: number;
  /** The plot area inside the margins. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  xTicks: ITick[];
  yTicks: ITick[];
  lines: IChartLine[];
  /** Whether any series has a point. */
  empty: boolean;
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    return [];
  }
  if (min === max) {
    return [min];
  }
  if (min > max) {
    [min, max] = [max, min];
  }
  const raw = (max - min) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const unit = raw / power;
  let step: number;
  if (unit < 1.5) {
    step = power;
  } else if (unit < 3) {
    step = 2 * power;
  } else if (unit < 7) {
    step = 5 * power;
  } else {
    step = 10 * power;
  }
  if (integer) {
    step = Math.max(1, Math.round(step));
  }
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9) * step;
  for (let v = first; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/**
 * The geometry of a line chart of series (x: step, y: value) in a width × height box with room for the axes:
 * linear scales over all points (a flat range gets some room), round ticks, and one path per series.
 */
export function lineChart(series: readonly ISeries[], width: number, height: number): IChart {
  const margin = { left: 52, right: 12, top: 10, bottom: 28 };
  const left = margin.left;
  const top = margin.top;
  const right = width - margin.right;
  const bottom = height - margin.bottom;
  const all = series.flatMap(s => s.points).filter(p => Number.isFinite(p.value) && Number.isFinite(p.step));
  const base = { width, height, left, top, right, bottom };
  if (all.length === 0) {
    return { ...base, xTicks: [], yTicks: [], lines: series.map(s => ({ label: s.label, d: '', points: [] })), empty: true };
  }
  let x0 = Math.min(...all.map(p => p.step));
  let x1 = Math.max(...all.map(p => p.step));
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  let y0 = Math.min(...all.map(p => p.value));
  let y1 = Math.max(...all.map(p => p.value));
  if (y0 === y1) {
    const pad = y0 === 0 ? 1 : Math.abs(y0) * 0.1;
    y0 -= pad;
    y1 += pad;
  }
  // Round the value range out to ticks so that lines do not touch the frame.
  const yt = niceTicks(y0, y1, Math.max(2, Math.floor((bottom - top) / 36)));
  const step = yt.length > 1 ? yt[1] - yt[0] : 0;
  if (step > 0) {
    y0 = Math.min(y0, Math.floor(y0 / step + 1e-9) * step);
    y1 = Math.max(y1, Math.ceil(y1 / step - 1e-9) * step);
  }
  const sx = (v: number): number => left + ((v - x0) / (x1 - x0)) * (right - left);
  const sy = (v: number): number => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  const round = (v: number): number => Math.round(v * 10) / 10;
  const integerSteps = all.every(p => Number.isInteger(p.step));
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor((right - left) / 70)), integerSteps)
    .filter(v => v >= x0 && v <= x1)
    .map(v => ({ value: v, pos: round(sx(v)), label: formatValue(v) }));
  const yTicks = niceTicks(y0, y1, Math.max(2, Math.floor((bottom - top) / 36)))
    .filter(v => v >= y0 - 1e-12 && v <= y1 + 1e-12)
    .map(v => ({ value: v, pos: round(sy(v)), label: formatValue(v) }));
  const lines = series.map(s => {
    const points = [...s.points]
      .filter(p => Number.isFinite(p.value) && Number.isFinite(p.step))
      .sort((a, b) => a.step - b.step)
      .map(p => ({ x: round(sx(p.step)), y: round(sy(p.value)), step: p.step, value: p.value }));
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
    return { label: s.label, d, points };
  });
  return { ...base, xTicks, yTicks, lines, empty: false };
}

/** The colour of the i-th series (a categorical palette readable on light and dark themes). */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function seriesColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}
