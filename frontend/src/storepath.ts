// Pure helpers of the Project store panel (no DOM, no JupyterLab, so unit tests import them as they are): store
// paths (joining, resolving what a user types, URL encoding segment by segment), which folders the panel writes
// to, sizes in words, the order of a listing, and the notebook snippet that opens an entry.

/** The project layout at the store's root, in the order hops makes it. */
export const LAYOUT = ['Experiments', 'Models', 'FeatureStore', 'Resources', 'Logs'] as const;

/** Top-level folders whose content hops itself writes (experiments, the model registry, the feature store, logs):
 * the panel only reads them. */
export const MANAGED: ReadonlySet<string> = new Set(['Experiments', 'Models', 'FeatureStore', 'Logs']);

/** Where users put their own files. */
export const RESOURCES = 'Resources';

/** What each layout folder holds, for tooltips and empty folders. */
export const LAYOUT_HINTS: Readonly<Record<string, string>> = {
  Experiments: 'The runs of %%hops run: code, parameters, metrics and artifacts of each experiment',
  Models: 'The model registry: models exported with hops.model.export, one folder per version',
  FeatureStore: 'Feature groups and training datasets of the feature store',
  Resources: 'Your own files: data sets, configurations… Upload here; notebooks read them with hops.fs.open',
  Logs: 'Logs of trials and deployments'
};

/** One entry of a listing, as GET /api/hops/store/{dir} gives it. */
export interface IStoreEntry {
  name: string;
  size: number;
  modified: string; // RFC 3339
  dir: boolean;
}

/** The segments of a store path, without empty ones ("a//b/" → ["a", "b"]). */
export function segments(path: string): string[] {
  return path.split('/').filter(s => s !== '');
}

/** A store path, its segments joined by "/" without leading, trailing or doubled slashes. */
export function normalize(path: string): string {
  return segments(path).join('/');
}

/** dir/name ("" is the store's root). */
export function joinPath(dir: string, ...names: string[]): string {
  return normalize([dir, ...names].join('/'));
}

/** The folder a path is in ("" for the root's entries and for the root itself). */
export function parentPath(path: string): string {
  return segments(path).slice(0, -1).join('/');
}

/** The last segment of a path ("" for the root). */
export function baseName(path: string): string {
  const s = segments(path);
  return s.length ? s[s.length - 1] : '';
}

/** Whether path is ancestor or the same as inner ("a" contains "a" and "a/b", not "ab"). */
export function contains(ancestor: string, inner: string): boolean {
  const a = segments(ancestor);
  const b = segments(inner);
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

/** A store path as URL path segments, each percent-encoded on its own ("a b/c#d" → "a%20b/c%23d"). */
export function encodeStorePath(path: string): string {
  return segments(path).map(encodeURIComponent).join('/');
}

/** Why name cannot be the name of an entry, or null if it can. */
export function nameError(name: string): string | null {
  if (name.trim() === '') {
    return 'Give a name.';
  }
  if (name.includes('/')) {
    return 'A name cannot contain "/".';
  }
  if (name === '.' || name === '..') {
    return `"${name}" is not a name.`;
  }
  if (Array.from(name).some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return 'A name cannot contain control characters.';
  }
  return null;
}

/**
 * What a user typed as a new name or destination, as a store path: relative to dir, or to the store's root when
 * it starts with "/"; "." and ".." are resolved. Returns {path} or {error}.
 */
export function resolvePath(dir: string, input: string): { path: string } | { error: string } {
  const text = input.trim();
  if (text === '') {
    return { error: 'Give a name.' };
  }
  const out = text.startsWith('/') ? [] : segments(dir);
  for (const s of segments(text)) {
    if (s === '.') {
      continue;
    }
    if (s === '..') {
      if (out.length === 0) {
        return { error: `"${text}" goes above the store's root.` };
      }
      out.pop();
      continue;
    }
    const err = nameError(s);
    if (err) {
      return { error: err };
    }
    out.push(s);
  }
  if (out.length === 0) {
    return { error: `"${text}" is the store's root, not a name.` };
  }
  return { path: out.join('/') };
}

/** Whether the panel may add, rename and delete entries in folder dir: Resources/ and below, and folders of the
 * user's own at the root; not the root itself, nor the folders hops manages. */
export function writableFolder(dir: string): boolean {
  const s = segments(dir);
  return s.length > 0 && !MANAGED.has(s[0]);
}

/** Whether the entry at path may be renamed or deleted: in a writable folder, and not a folder of the layout. */
export function changeable(path: string): boolean {
  const s = segments(path);
  if (s.length === 0) {
    return false;
  }
  if (s.length === 1) {
    return !(LAYOUT as readonly string[]).includes(s[0]);
  }
  return writableFolder(parentPath(path));
}

/** Why folder dir takes no uploads or new folders (null if it does). */
export function readOnlyReason(dir: string): string | null {
  const s = segments(dir);
  if (s.length === 0) {
    return `The store's root holds the project layout: upload into ${RESOURCES}/.`;
  }
  if (MANAGED.has(s[0])) {
    return `hops manages ${s[0]}/: it is read-only here. Upload into ${RESOURCES}/.`;
  }
  return null;
}

const UNITS = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** A size in bytes in words, as JupyterLab's file browser writes it (1024-based): "0 B", "999 B", "1.5 KB",
 * "12 MB", "1.1 GB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  if (bytes < 1024) {
    return `${Math.round(bytes)} B`;
  }
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // One decimal below 10 ("1.5 KB"), none above ("12 MB"); 1023.96 KB rounds to "1 MB", not "1024 KB".
  let digits = value < 10 ? 1 : 0;
  if (Number(value.toFixed(digits)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
    digits = 1;
  }
  const text = value.toFixed(digits).replace(/\.0$/, '');
  return `${text} ${UNITS[unit]}`;
}

/** "12,345 bytes" (for tooltips). */
export function exactSize(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} byte${bytes === 1 ? '' : 's'}`;
}

/** "1.2 MB of 3.4 MB · 35%" for an upload in progress. */
export function progressText(loaded: number, total: number): string {
  if (total <= 0) {
    return formatSize(loaded);
  }
  const pct = Math.min(100, Math.floor((loaded / total) * 100));
  return `${formatSize(loaded)} of ${formatSize(total)} · ${pct}%`;
}

export type SortKey = 'name' | 'size' | 'modified';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Folders first, then files; each group by key (names in natural order: "file2" before "file10"), ties by name. */
export function sortEntries(entries: readonly IStoreEntry[], key: SortKey = 'name', ascending = true): IStoreEntry[] {
  const byName = (a: IStoreEntry, b: IStoreEntry): number =>
    collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const sign = ascending ? 1 : -1;
  return [...entries].sort((a, b) => {
    if (a.dir !== b.dir) {
      return a.dir ? -1 : 1;
    }
    let c = 0;
    if (key === 'size' && !a.dir) {
      c = a.size - b.size;
    } else if (key === 'modified') {
      c = (Date.parse(a.modified) || 0) - (Date.parse(b.modified) || 0);
    }
    // Ties in size or time stay in name order whichever way the column sorts.
    return key === 'name' || (key === 'size' && a.dir) ? sign * byName(a, b) : c !== 0 ? sign * c : byName(a, b);
  });
}

/** A path as a Python string literal. */
export function pythonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === '"') {
      out += `\\${ch}`;
    } else if (ch === '\n') {
      out += '\\n';
    } else if (ch === '\t') {
      out += '\\t';
    } else if (code < 0x20 || code === 0x7f) {
      out += `\\x${code.toString(16).padStart(2, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** What a notebook writes to use an entry: hops.fs.open("Resources/x.csv") for a file, hops.fs.ls(...) for a
 * folder. */
export function notebookSnippet(path: string, dir: boolean): string {
  return `hops.fs.${dir ? 'ls' : 'open'}(${pythonString(normalize(path))})`;
}

/** A name not among taken: base, else "base 2", "base 3"... */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  if (!names.has(base)) {
    return base;
  }
  for (let i = 2; ; i++) {
    const name = `${base} ${i}`;
    if (!names.has(name)) {
      return name;
    }
  }
}

/** "Local directory" or "HDFS" for the store field of a listing. */
export function storeKind(store: string): string {
  return /^hdfs:\/\//i.test(store) ? 'HDFS' : 'Local directory';
}
