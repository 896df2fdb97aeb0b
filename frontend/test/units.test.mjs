// Unit tests of the extension's pure modules (no DOM, no JupyterLab): src/linediff.ts, src/time.ts and
// src/storepath.ts and src/experimentsmodel.ts, transpiled on the fly with the project's TypeScript. `make fetest` runs them.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const out = mkdtempSync(join(tmpdir(), 'hops-frontend-units-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** Transpiles src/<name>.ts to an ES module and imports it. */
async function load(name) {
  const { outputText } = ts.transpileModule(readFileSync(join(SRC, `${name}.ts`), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  });
  const file = join(out, `${name}.mjs`);
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

const { alignRows, foldRows, wordDiff } = await load('linediff');
const { relativeTime } = await load('time');
const store = await load('storepath');
const exp = await load('experimentsmodel');

const eq = (n, text = `line ${n}`) => ({ op: 'equal', old: n, new: n, text });
const del = (n, text) => ({ op: 'delete', old: n, text });
const ins = (n, text) => ({ op: 'insert', new: n, text });

test('alignRows pairs the deleted and inserted lines of a change run, and pads the longer side', () => {
  const rows = alignRows([eq(1), del(2, 'a'), del(3, 'b'), ins(2, 'A'), eq(4), ins(5, 'new')]);
  assert.deepEqual(rows.map((r) => [r.kind, r.left?.text ?? null, r.right?.text ?? null]), [
    ['equal', 'line 1', 'line 1'],
    ['change', 'a', 'A'],
    ['delete', 'b', null],
    ['equal', 'line 4', 'line 4'],
    ['insert', null, 'new'],
  ]);
  // Interleaved runs pair in order too.
  assert.deepEqual(alignRows([del(1, 'x'), ins(1, 'X'), del(2, 'y'), ins(2, 'Y')]).map((r) => r.kind), ['change', 'change']);
  assert.deepEqual(alignRows([]), []);
});

test('foldRows keeps 3 lines of context around changes and folds longer unchanged runs', () => {
  const lines = [];
  for (let i = 1; i <= 20; i++) {
    lines.push(eq(i));
  }
  lines.splice(10, 1, del(11, 'old'), ins(11, 'new'));
  const segs = foldRows(alignRows(lines));
  assert.deepEqual(segs.map((s) => [s.kind, s.rows.length]), [['fold', 7], ['rows', 7], ['fold', 6]]);
  // Runs too short to be worth a fold stay visible.
  const short = [eq(1), eq(2), eq(3), eq(4), eq(5), del(6, 'x'), eq(7)];
  assert.deepEqual(foldRows(alignRows(short)).map((s) => s.kind), ['rows']);
  // Without any change, the first lines stay in view.
  const same = [];
  for (let i = 1; i <= 10; i++) {
    same.push(eq(i));
  }
  assert.deepEqual(foldRows(alignRows(same)).map((s) => [s.kind, s.rows.length]), [['rows', 3], ['fold', 7]]);
});

test('wordDiff marks the words that differ, and gives up on lines with little in common', () => {
  const d = wordDiff("print('version one')", "print('version three')");
  assert.deepEqual(d.old.filter((p) => p.changed).map((p) => p.text), ['one']);
  assert.deepEqual(d.new.filter((p) => p.changed).map((p) => p.text), ['three']);
  assert.equal(d.old.map((p) => p.text).join(''), "print('version one')", 'the pieces rebuild the line');
  assert.equal(wordDiff('alpha beta gamma', 'completely different words here'), null);
  assert.equal(wordDiff('', 'x'), null);
});

test('relativeTime says how long ago', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  assert.equal(relativeTime('2026-01-10T11:59:50Z', now), 'just now');
  assert.match(relativeTime('2026-01-10T11:55:00Z', now), /5 minutes ago/);
  assert.match(relativeTime('2026-01-09T12:00:00Z', now), /yesterday|1 day ago/);
  assert.equal(relativeTime('not a time', now), 'not a time');
  assert.match(relativeTime('2026-01-10T09:00:00Z', now, 'short'), /3 hr\. ago/);
});

test('store paths join, split and encode segment by segment', () => {
  assert.equal(store.joinPath('', 'Resources'), 'Resources');
  assert.equal(store.joinPath('Resources/', '/raw', 'x.csv'), 'Resources/raw/x.csv');
  assert.equal(store.parentPath('Resources/raw/x.csv'), 'Resources/raw');
  assert.equal(store.parentPath('Resources'), '');
  assert.equal(store.parentPath(''), '');
  assert.equal(store.baseName('Resources/raw/x.csv'), 'x.csv');
  assert.equal(store.baseName(''), '');
  assert.deepEqual(store.segments('/a//b/'), ['a', 'b']);
  assert.equal(store.encodeStorePath('Resources/a b/c#d?.csv'), 'Resources/a%20b/c%23d%3F.csv');
  assert.equal(store.encodeStorePath('Resources/100%/ünï/x+y&z'), 'Resources/100%25/%C3%BCn%C3%AF/x%2By%26z');
  assert.equal(store.encodeStorePath(''), '');
  assert.ok(store.contains('Resources/raw', 'Resources/raw/x'));
  assert.ok(store.contains('Resources/raw', 'Resources/raw'));
  assert.ok(!store.contains('Resources/raw', 'Resources/rawer'));
  assert.ok(!store.contains('Resources/raw/x', 'Resources/raw'));
});

test('what a user types as a new name resolves against the folder shown', () => {
  assert.deepEqual(store.resolvePath('Resources', 'x.csv'), { path: 'Resources/x.csv' });
  assert.deepEqual(store.resolvePath('Resources', '  raw/x.csv  '), { path: 'Resources/raw/x.csv' });
  assert.deepEqual(store.resolvePath('Resources/raw', '../x.csv'), { path: 'Resources/x.csv' });
  assert.deepEqual(store.resolvePath('Resources/raw', './a/./b'), { path: 'Resources/raw/a/b' });
  assert.deepEqual(store.resolvePath('Resources/raw', '/Models/m'), { path: 'Models/m' });
  assert.match(store.resolvePath('Resources', '../..').error, /above the store's root/);
  assert.match(store.resolvePath('Resources', '..').error, /root/);
  assert.match(store.resolvePath('Resources', '   ').error, /Give a name/);
  assert.match(store.resolvePath('Resources', 'a\u0001b').error, /control/);
  assert.equal(store.nameError('data.csv'), null);
  assert.equal(store.nameError('my data (1).csv'), null);
  assert.match(store.nameError('a/b'), /"\/"/);
  assert.match(store.nameError('..'), /not a name/);
  assert.match(store.nameError(''), /Give a name/);
});

test('uploads and changes are allowed in Resources and folders of the user, not in those hops manages', () => {
  assert.equal(store.writableFolder(''), false, 'the root holds the layout');
  assert.equal(store.writableFolder('Resources'), true);
  assert.equal(store.writableFolder('Resources/raw/2024'), true);
  assert.equal(store.writableFolder('Experiments'), false);
  assert.equal(store.writableFolder('Models/iris/1'), false);
  assert.equal(store.writableFolder('Scratch'), true, 'a folder of the user at the root');
  assert.equal(store.changeable('Resources'), false, 'layout folders stay');
  assert.equal(store.changeable('Logs'), false);
  assert.equal(store.changeable('Scratch'), true);
  assert.equal(store.changeable('Resources/x.csv'), true);
  assert.equal(store.changeable('Experiments/42'), false);
  assert.equal(store.readOnlyReason('Resources/raw'), null);
  assert.match(store.readOnlyReason('FeatureStore/fg'), /manages FeatureStore\/.*Resources\//);
  assert.match(store.readOnlyReason(''), /Resources\//);
});

test('sizes in words, as JupyterLab writes them', () => {
  assert.equal(store.formatSize(0), '0 B');
  assert.equal(store.formatSize(1), '1 B');
  assert.equal(store.formatSize(1023), '1023 B');
  assert.equal(store.formatSize(1024), '1 KB');
  assert.equal(store.formatSize(1536), '1.5 KB');
  assert.equal(store.formatSize(10 * 1024 + 300), '10 KB');
  assert.equal(store.formatSize(1024 * 1024 - 1), '1 MB', 'no "1024 KB"');
  assert.equal(store.formatSize(12.4 * 1024 * 1024), '12 MB');
  assert.equal(store.formatSize(1.25 * 1024 ** 3), '1.3 GB');
  assert.equal(store.formatSize(3 * 1024 ** 4), '3 TB');
  assert.equal(store.formatSize(-1), '');
  assert.equal(store.exactSize(12345), '12,345 bytes');
  assert.equal(store.exactSize(1), '1 byte');
  assert.equal(store.progressText(512 * 1024, 2 * 1024 * 1024), '512 KB of 2 MB · 25%');
  assert.equal(store.progressText(10, 0), '10 B');
});

test('listings: folders first, then files, names in natural order', () => {
  const e = (name, dir, size = 0, modified = '2026-01-01T00:00:00Z') => ({ name, dir, size, modified });
  const entries = [e('file10.csv', false, 5), e('Models', true), e('file2.csv', false, 50), e('a.txt', false, 1, '2026-02-01T00:00:00Z'), e('Experiments', true)];
  assert.deepEqual(store.sortEntries(entries).map((x) => x.name), ['Experiments', 'Models', 'a.txt', 'file2.csv', 'file10.csv']);
  assert.deepEqual(store.sortEntries(entries, 'name', false).map((x) => x.name), ['Models', 'Experiments', 'file10.csv', 'file2.csv', 'a.txt']);
  assert.deepEqual(store.sortEntries(entries, 'size', false).map((x) => x.name), ['Models', 'Experiments', 'file2.csv', 'file10.csv', 'a.txt']);
  assert.deepEqual(store.sortEntries(entries, 'modified', false).map((x) => x.name).slice(2), ['a.txt', 'file2.csv', 'file10.csv']);
  assert.equal(entries[0].name, 'file10.csv', 'the input is left as it was');
});

test('the notebook snippet of an entry is valid Python', () => {
  assert.equal(store.notebookSnippet('Resources/x.csv', false), 'hops.fs.open("Resources/x.csv")');
  assert.equal(store.notebookSnippet('/Resources/raw/', true), 'hops.fs.ls("Resources/raw")');
  assert.equal(store.pythonString('a "quoted" \\ name\n'), '"a \\"quoted\\" \\\\ name\\n"');
  assert.equal(store.pythonString('tab\there\u0001'), '"tab\\there\\x01"');
  assert.equal(store.pythonString('ünï'), '"ünï"');
  assert.equal(store.uniqueName('New Folder', ['a']), 'New Folder');
  assert.equal(store.uniqueName('New Folder', ['New Folder', 'New Folder 2']), 'New Folder 3');
  assert.equal(store.storeKind('hdfs://nn:8020/p'), 'HDFS');
  assert.equal(store.storeKind('/ws/.hops/store'), 'Local directory');
});

// ---------------------------------------------------------------------------------------------------------------
// the Experiments panel's data shaping

const line = (...values) => values.map((value, step) => ({ step, value }));
const trial = (id, params, state, metrics, timeline) => ({ id, index: Number(id.slice(1)), params, state, metrics, timeline });

test('values and durations in few characters', () => {
  assert.equal(exp.formatValue(0.30000000000000004), '0.3');
  assert.equal(exp.formatValue(2), '2');
  assert.equal(exp.formatValue(0.66666666), '0.6667');
  assert.equal(exp.formatValue(0.00001234), '1.234e-5');
  assert.equal(exp.formatValue(12345678.9), '1.235e+7');
  assert.equal(exp.formatValue('relu'), 'relu');
  assert.equal(exp.formatValue(true), 'true');
  assert.equal(exp.formatValue(null), '—');
  assert.equal(exp.formatDuration(80.4), '80 ms');
  assert.equal(exp.formatDuration(4200), '4.2 s');
  assert.equal(exp.formatDuration(42_000), '42 s');
  assert.equal(exp.formatDuration(184_000), '3 min 04 s');
  assert.equal(exp.formatDuration(2 * 3600_000 + 5 * 60_000), '2 h 05 min');
  assert.equal(exp.durationText('2024-01-01T00:00:00Z', '2024-01-01T00:00:01.5Z'), '1.5 s');
  // A running one: until now.
  assert.equal(exp.durationText('2024-01-01T00:00:00Z', undefined, Date.parse('2024-01-01T00:01:00Z')), '1 min 00 s');
  assert.equal(exp.durationText(undefined, undefined), '—');
  assert.equal(exp.stateClass('failed'), 'hops-mod-failed');
  assert.equal(exp.stateClass('<weird>'), 'hops-mod-other');
});

test('the best trial: the one the server named, else the best finished value of the objective', () => {
  const trials = [
    trial('t0', { lr: 0.1 }, 'finished', { acc: 0.5 }),
    trial('t1', { lr: 0.2 }, 'finished', { acc: 0.9 }),
    trial('t2', { lr: 0.3 }, 'failed', { acc: 1.5 }),
    trial('t3', { lr: 0.4 }, 'finished', {}),
  ];
  assert.equal(exp.bestTrial({ best: 't0', objective: { metric: 'acc', direction: 'max' }, trials }).id, 't0');
  assert.equal(exp.bestTrial({ objective: { metric: 'acc', direction: 'max' }, trials }).id, 't1', 'failed trials do not count');
  assert.equal(exp.bestTrial({ objective: { metric: 'acc', direction: 'min' }, trials }).id, 't0');
  assert.equal(exp.bestTrial({ trials }), null, 'no objective');
  assert.equal(exp.bestTrial({ objective: { metric: 'acc', direction: 'max' }, trials: null }), null);
  assert.equal(exp.bestValue({ best_value: 0.7, trials: null }), 0.7, 'a listing has the best value');
  assert.equal(exp.bestValue({ objective: { metric: 'acc', direction: 'max' }, trials }), 0.9);
});

test('metric and param names of trials, the objective first; series in step order', () => {
  const trials = [
    trial('t0', { lr: 0.1, batch: 16 }, 'finished', { loss: 1, acc: 0.5 }, { loss: line(2, 1), acc: line(0.2, 0.5) }),
    trial('t1', { lr: 0.2, dropout: 0.5 }, 'finished', { zeta: 3 }, { step_time: line(1) }),
  ];
  assert.deepEqual(exp.metricNames(trials, 'loss'), ['loss', 'acc', 'step_time', 'zeta']);
  assert.deepEqual(exp.metricNames(trials, 'missing'), ['acc', 'loss', 'step_time', 'zeta']);
  assert.deepEqual(exp.paramNames(trials), ['lr', 'batch', 'dropout']);
  assert.deepEqual(exp.seriesOf({ timeline: { acc: [{ step: 2, value: 3 }, { step: 0, value: 1 }] } }, 'acc').map((p) => p.step), [0, 2]);
  // Only a final value: one point.
  assert.deepEqual(exp.seriesOf(trials[1], 'zeta'), [{ step: 0, value: 3 }]);
  assert.deepEqual(exp.seriesOf(trials[1], 'acc'), []);
  assert.equal(exp.paramsText({ lr: 0.1, act: 'relu' }), 'lr=0.1, act=relu');
  assert.equal(exp.paramsText({}), '(no params)');
});

test('runs compared: the union of params with the distinct values of each run, and the best trials\' metrics', () => {
  const a = {
    objective: { metric: 'acc', direction: 'max' }, best: 't1',
    trials: [trial('t0', { lr: 0.1 }, 'finished', { acc: 0.5, loss: 2 }), trial('t1', { lr: 0.2 }, 'finished', { acc: 1, loss: 1 })],
  };
  const b = {
    objective: { metric: 'acc', direction: 'max' }, best: 't0',
    trials: [trial('t0', { lr: 0.1, batch: 32 }, 'finished', { acc: 0.7 }), trial('t1', { lr: 0.1, batch: 64 }, 'finished', { acc: 0.6 })],
  };
  assert.deepEqual(exp.compareParams([a, b]), [
    { name: 'lr', values: ['0.1, 0.2', '0.1'], differs: true },
    { name: 'batch', values: ['—', '32, 64'], differs: true },
  ]);
  assert.deepEqual(exp.compareParams([a, a]).map((r) => r.differs), [false]);
  assert.deepEqual(exp.compareMetrics([a, b]), [
    { name: 'acc', values: ['1', '0.7'], differs: true },
    { name: 'loss', values: ['1', '—'], differs: true },
  ]);
});

test('environment differences: summary rows, and packages added, removed or changed against the first run', () => {
  const env = (version, packages, gpu) => ({
    python: { version, implementation: 'CPython', packages: packages.map(([name, v]) => ({ name, version: v })) },
    os: 'Debian', cpu: 'EPYC', cores: 4, hops: '0.1', ...gpu,
  });
  const a = env('3.11.7', [['numpy', '1.26'], ['torch', '2.2'], ['Six', '1.16']], { gpu_error: 'no NVIDIA driver' });
  const b = env('3.12.1', [['numpy', '2.0'], ['six', '1.16'], ['pandas', '2.2']], {
    gpu: { driver: '550', cuda: '12.4', devices: [{ index: 0, name: 'H100' }, { index: 1, name: 'H100' }] },
  });
  const d = exp.environmentDiff([a, b]);
  assert.deepEqual(d.packages, [
    { name: 'numpy', versions: ['1.26', '2.0'], change: 'changed' },
    { name: 'pandas', versions: [null, '2.2'], change: 'added' },
    { name: 'torch', versions: ['2.2', null], change: 'removed' },
  ]);
  assert.equal(d.samePackages, 1, 'six, whatever its case');
  const rows = Object.fromEntries(d.rows.map((r) => [r.name, r]));
  assert.deepEqual(rows.Python, { name: 'Python', values: ['3.11.7', '3.12.1'], differs: true });
  assert.deepEqual(rows.GPUs.values, ['none', '2 × H100 (driver 550, CUDA 12.4)']);
  assert.deepEqual(rows.OS, { name: 'OS', values: ['Debian', 'Debian'], differs: false });
  assert.equal(rows.CPU.values[0], 'EPYC, 4 cores');
  // A run without a snapshot.
  assert.deepEqual(exp.environmentDiff([a, null]).rows.find((r) => r.name === 'Python').values, ['3.11.7', '—']);
});

test('round ticks', () => {
  assert.deepEqual(exp.niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(exp.niceTicks(0.1, 0.5, 4), [0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(exp.niceTicks(0, 4, 8, true), [0, 1, 2, 3, 4], 'steps are whole');
  assert.deepEqual(exp.niceTicks(0, 1000, 4), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(exp.niceTicks(3, 3), [3]);
  assert.deepEqual(exp.niceTicks(NaN, 1), []);
});

test('a line chart: one path per series through its points, scaled into the plot area', () => {
  const chart = exp.lineChart([
    { label: 't0', points: line(0.1, 0.2, 0.3) },
    { label: 't1', points: [{ step: 2, value: 0.6 }, { step: 0, value: 0.2 }, { step: 1, value: 0.4 }] },
    { label: 't2', points: [] },
  ], 400, 200);
  assert.equal(chart.empty, false);
  assert.equal(chart.lines.length, 3);
  const [t0, t1, t2] = chart.lines;
  assert.match(t0.d, /^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/);
  assert.equal(t2.d, '', 'no points, no path');
  // Steps sorted; the first point on the left edge, the last on the right.
  assert.deepEqual(t1.points.map((p) => p.step), [0, 1, 2]);
  assert.equal(t1.points[0].x, chart.left);
  assert.equal(t1.points[2].x, chart.right);
  // Higher values are higher up, all inside the plot area.
  assert.ok(t1.points[2].y < t1.points[0].y);
  for (const p of [...t0.points, ...t1.points]) {
    assert.ok(p.y >= chart.top && p.y <= chart.bottom, `y=${p.y} in [${chart.top}, ${chart.bottom}]`);
  }
  // The ticks cover the values, on whole steps.
  assert.deepEqual(chart.xTicks.map((t) => t.value), [0, 1, 2]);
  assert.ok(chart.yTicks.length >= 2 && chart.yTicks[0].value <= 0.1 && chart.yTicks.at(-1).value >= 0.6, JSON.stringify(chart.yTicks));
  assert.ok(chart.yTicks.every((t) => t.pos >= chart.top && t.pos <= chart.bottom));
});

test('a chart of one point or no points', () => {
  const one = exp.lineChart([{ label: 't0', points: [{ step: 0, value: 5 }] }], 300, 150);
  assert.equal(one.empty, false);
  assert.equal(one.lines[0].points.length, 1);
  const p = one.lines[0].points[0];
  assert.ok(p.x > one.left && p.x < one.right && p.y > one.top && p.y < one.bottom, 'a flat range gets room around it');
  const none = exp.lineChart([{ label: 't0', points: [] }], 300, 150);
  assert.equal(none.empty, true);
  assert.deepEqual(none.lines, [{ label: 't0', d: '', points: [] }]);
  assert.equal(exp.seriesColor(0), exp.seriesColor(exp.PALETTE.length));
});
