// Unit tests of the extension's pure modules (no DOM, no JupyterLab): src/linediff.ts and src/time.ts,
// transpiled on the fly with the project's TypeScript. `make fetest` runs them.

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
});
