// The hops versioning API (/api/hops/versions, /api/hops/diff) as typed requests. Every request goes through
// ServerConnection.makeRequest with the page's settings, so the token and the XSRF cookie are handled as for
// JupyterLab's own requests.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Cell counts of a version's change against the version before it. */
export interface ICellStats {
  added: number;
  removed: number;
  changed: number;
}

/** One git version of a file, newest first in a listing. */
export interface IVersion {
  commit: string;
  short: string;
  time: string; // RFC 3339
  author: string; // "Name <email>"
  message: string;
  cells: ICellStats | null;
  /** The file's path in that version, when the server says (it differs before a rename). */
  path?: string;
}

export interface IVersionList {
  path: string;
  versions: IVersion[];
  more: boolean;
  /** Set when the file's last save could not be recorded in history. */
  error?: string;
}

/** A version as the diff endpoint names it; commit is "current" for the file on disk. */
export interface IVersionRef {
  commit: string;
  short?: string;
  time?: string;
  message?: string;
}

export type ChangeOp = 'added' | 'removed' | 'changed';

/** A change of one metadata key. */
export interface IChange {
  key: string;
  op: ChangeOp;
  old?: unknown;
  new?: unknown;
}

export type LineOp = 'equal' | 'insert' | 'delete';

/** One line of a line diff, numbered from 1 on each side it exists on. */
export interface ILine {
  op: LineOp;
  old?: number;
  new?: number;
  text: string;
}

export type Status = 'unchanged' | 'added' | 'removed' | 'modified';

export interface IMimeDiff {
  mime: string;
  status: Status;
  /** For text-like types. */
  lines?: ILine[];
  /** For images: base64 (SVG: its text). */
  old?: string;
  new?: string;
}

export interface IOutputDiff {
  status: Status;
  output_type: string;
  /** For modified outputs. */
  mimes?: IMimeDiff[];
  /** For added and removed outputs: images base64, SVG as text, text joined. */
  data?: Record<string, string>;
}

export interface ICellDiff {
  status: Status;
  moved: boolean;
  old_index?: number;
  new_index?: number;
  id?: string;
  cell_type: string;
  old_cell_type?: string;
  source: { lines: ILine[] };
  execution_count?: { old: number | null; new: number | null };
  metadata?: IChange[];
  outputs?: IOutputDiff[];
}

export interface IDiffSummary {
  added: number;
  removed: number;
  modified: number;
  moved: number;
  unchanged: number;
}

export interface INotebookDiff {
  path: string;
  from: IVersionRef;
  to: IVersionRef;
  summary: IDiffSummary;
  metadata?: IChange[];
  nbformat?: { old: string; new: string };
  cells: ICellDiff[];
}

export interface IDiffOptions {
  ignoreExecutionCounts: boolean;
  ignoreOutputs: boolean;
}

/** The `to` of a diff against the file on disk. */
export const CURRENT = 'current';

/** An error the server answered with: its status and the message it gave, shown to the user as is. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/** A workspace path as URL path segments, each encoded on its own. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter(s => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

/** Client of the versioning endpoints of one server. */
export class VersionsAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The versions of path, newest first. */
  versions(path: string, limit = 100): Promise<IVersionList> {
    return this._json<IVersionList>(`api/hops/versions/${encodePath(path)}?limit=${limit}`);
  }

  /** The raw content of path at commit. */
  async content(path: string, commit: string): Promise<string> {
    const res = await this._request(`api/hops/versions/${encodePath(path)}/${encodeURIComponent(commit)}`);
    return res.text();
  }

  /** The cell-level diff of path between two versions; to may be CURRENT. */
  diff(path: string, from: string, to: string, opts: IDiffOptions): Promise<INotebookDiff> {
    const q = new URLSearchParams({ from, to });
    if (opts.ignoreExecutionCounts) {
      q.set('ignore_execution_counts', 'true');
    }
    if (opts.ignoreOutputs) {
      q.set('ignore_outputs', 'true');
    }
    return this._json<INotebookDiff>(`api/hops/diff/${encodePath(path)}?${q.toString()}`);
  }

  private async _json<T>(rel: string): Promise<T> {
    const res = await this._request(rel);
    try {
      return (await res.json()) as T;
    } catch {
      throw new APIError(res.status, `the server sent an answer that is not JSON (${rel.split('?')[0]})`);
    }
  }

  private async _request(rel: string): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, rel);
    let res: Response;
    try {
      res = await ServerConnection.makeRequest(url, { method: 'GET' }, this.settings);
    } catch (err) {
      throw new APIError(0, `cannot reach the hops server: ${(err as Error).message}`);
    }
    if (!res.ok) {
      throw new APIError(res.status, await errorMessage(res));
    }
    return res;
  }
}

/** The {"message"} of an error answer, else its status line. */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string' && body.message !== '') {
      return body.message;
    }
  } catch {
    // not JSON
  }
  if (res.status === 404) {
    return 'not found: the server has no version history for this file (is hops lab up to date?)';
  }
  return `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
}
