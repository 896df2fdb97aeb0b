// Pure helpers of the diff view: line diffs laid out side by side, folds of unchanged lines, and word-level
// highlights inside a changed line. No DOM here.

import type { ILine } from './api';

/**
 * One row of a side-by-side diff. `equal` rows have the same line on both sides; `change` rows pair a deleted
 * line (left) with an inserted one (right); `delete` and `insert` rows have a line on one side only.
 */
export interface IRow {
  kind: 'equal' | 'change' | 'delete' | 'insert';
  left?: ILine;
  right?: ILine;
}

/**
 * Lays out a line diff side by side: within each run of changed lines between two equal lines, the i-th deleted
 * line is paired with the i-th inserted one, and the surplus of either side gets a row of its own, so that both
 * sides stay aligned.
 */
export function alignRows(lines: readonly ILine[]): IRow[] {
  const rows: IRow[] = [];
  let deleted: ILine[] = [];
  let inserted: ILine[] = [];
  const flush = (): void => {
    const n = Math.max(deleted.length, inserted.length);
    for (let i = 0; i < n; i++) {
      const left = deleted[i];
      const right = inserted[i];
      if (left && right) {
        rows.push({ kind: 'change', left, right });
      } else if (left) {
        rows.push({ kind: 'delete', left });
      } else if (right) {
        rows.push({ kind: 'insert', right });
      }
    }
    deleted = [];
    inserted = [];
  };
  for (const line of lines) {
    if (line.op === 'delete') {
      deleted.push(line);
    } else if (line.op === 'insert') {
      inserted.push(line);
    } else {
      flush();
      rows.push({ kind: 'equal', left: line, right: line });
    }
  }
  flush();
  return rows;
}

/** A run of rows to show, or a fold: unchanged rows shown only on request. */
export type Segment = { kind: 'rows'; rows: IRow[] } | { kind: 'fold'; rows: IRow[] };

/** Lines of context kept around each change; folds shorter than MIN_FOLD lines are not worth a click. */
export const CONTEXT = 3;
const MIN_FOLD = 4;

/**
 * Splits rows into shown runs and folds of unchanged lines farther than `context` lines from any change. Rows
 * without any change keep their first `context` lines in view.
 */
export function foldRows(rows: readonly IRow[], context = CONTEXT): Segment[] {
  const n = rows.length;
  const dist = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (rows[i].kind !== 'equal') {
      last = i;
    }
    dist[i] = i - last;
  }
  last = Number.POSITIVE_INFINITY;
  for (let i = n - 1; i >= 0; i--) {
    if (rows[i].kind !== 'equal') {
      last = i;
    }
    dist[i] = Math.min(dist[i], last - i);
  }
  const anyChange = rows.some(r => r.kind !== 'equal');
  const hidden = (i: number): boolean => (anyChange ? dist[i] > context : i >= context);

  const segments: Segment[] = [];
  let i = 0;
  while (i < n) {
    let j = i;
    const h = hidden(i);
    while (j < n && hidden(j) === h) {
      j++;
    }
    const run = rows.slice(i, j);
    if (h && run.length >= MIN_FOLD) {
      segments.push({ kind: 'fold', rows: run });
    } else {
      const prev = segments[segments.length - 1];
      if (prev && prev.kind === 'rows') {
        prev.rows.push(...run);
      } else {
        segments.push({ kind: 'rows', rows: run });
      }
    }
    i = j;
  }
  return segments;
}

/** A piece of a line; `changed` pieces are highlighted as the words that differ. */
export interface IPiece {
  text: string;
  changed: boolean;
}

const TOKEN = /\w+|\s+|[^\w\s]/gu;
const MAX_CELLS = 40_000; // token pairs compared at most: beyond that, the whole line is marked

/**
 * The word-level difference of a changed line: the pieces of the old and of the new line, with the words that
 * are not common to both marked. Lines with too little in common get no inner marks (null): highlighting most
 * of a line helps less than the line colour alone.
 */
export function wordDiff(oldText: string, newText: string): { old: IPiece[]; new: IPiece[] } | null {
  const a = oldText.match(TOKEN) ?? [];
  const b = newText.match(TOKEN) ?? [];
  if (a.length === 0 || b.length === 0 || a.length * b.length > MAX_CELLS) {
    return null;
  }
  // Longest common subsequence of tokens, by dynamic programming from the end.
  const m = a.length;
  const n = b.length;
  const lcs: Uint16Array[] = [];
  for (let i = 0; i <= m; i++) {
    lcs.push(new Uint16Array(n + 1));
  }
  for (let i = m - 1; i >= 0; i--) {
    for (let j = n - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const oldPieces: IPiece[] = [];
  const newPieces: IPiece[] = [];
  const push = (pieces: IPiece[], text: string, changed: boolean): void => {
    const last = pieces[pieces.length - 1];
    if (last && last.changed === changed) {
      last.text += text;
    } else {
      pieces.push({ text, changed });
    }
  };
  let common = 0;
  let i = 0;
  let j = 0;
  while (i < m || j < n) {
    if (i < m && j < n && a[i] === b[j]) {
      push(oldPieces, a[i], false);
      push(newPieces, b[j], false);
      common += a[i].trim() === '' ? 0 : a[i].length;
      i++;
      j++;
    } else if (j < n && (i === m || lcs[i][j + 1] >= lcs[i + 1][j])) {
      push(newPieces, b[j], true);
      j++;
    } else {
      push(oldPieces, a[i], true);
      i++;
    }
  }
  const visible = (s: string): number => s.replace(/\s+/gu, '').length;
  if (common < 0.3 * Math.max(visible(oldText), visible(newText))) {
    return null;
  }
  return { old: oldPieces, new: newPieces };
}
