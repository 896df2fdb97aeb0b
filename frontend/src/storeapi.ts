// The project store API (/api/hops/store) as typed requests. Listings, folders, renames and deletes go through
// ServerConnection.makeRequest (token and XSRF as for JupyterLab's own requests); uploads through an
// XMLHttpRequest PUT of the File itself, which the browser streams from disk and reports progress of, with the
// same headers; downloads through a plain link that the page's cookie authenticates, as JupyterLab's own file
// downloads are, so the browser streams them to disk whatever their size.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { APIError } from './api';
import { baseName, encodeStorePath, IStoreEntry } from './storepath';

export { APIError };

/** A folder's listing. */
export interface IStoreListing {
  /** The folder ("" for the root). */
  path: string;
  /** Where the store is: a directory of the server's machine or an hdfs:// URL. */
  store: string;
  entries: IStoreEntry[];
}

/** An upload in flight: its promise, and a way to cancel it. */
export interface IUpload {
  done: Promise<IStoreEntry>;
  cancel(): void;
}

/** The error of a cancelled upload. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Client of /api/hops/store of one server. */
export class StoreAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The URL of a store path (the root for ""). */
  url(path: string): string {
    const rel = encodeStorePath(path);
    return URLExt.join(this.settings.baseUrl, 'api/hops/store', rel);
  }

  /** The URL that downloads a file as an attachment. */
  downloadUrl(path: string): string {
    return `${this.url(path)}?download=1`;
  }

  /** The entries of a folder. */
  async list(path: string): Promise<IStoreListing> {
    const res = await this._request(path, { method: 'GET' });
    const kind = res.headers.get('X-Hops-Store-Entry');
    if (kind === 'file') {
      await res.body?.cancel().catch(() => undefined); // not its bytes
      throw new APIError(400, `${path} is a file, not a folder`);
    }
    let body: IStoreListing;
    try {
      body = (await res.json()) as IStoreListing;
    } catch {
      throw new APIError(res.status, 'the server sent a listing that is not JSON (is hops lab up to date?)');
    }
    if (!Array.isArray(body.entries)) {
      throw new APIError(res.status, 'the server sent a listing without entries (is hops lab up to date?)');
    }
    return body;
  }

  /** Whether path is a file, a folder, or nothing (null). */
  async kind(path: string): Promise<'file' | 'directory' | null> {
    try {
      const res = await this._request(path, { method: 'HEAD' });
      return res.headers.get('X-Hops-Store-Entry') === 'file' ? 'file' : 'directory';
    } catch (err) {
      if (err instanceof APIError && err.status === 404) {
        return null;
      }
      throw err;
    }
  }

  /** Creates a folder (and the folders above it that are missing). */
  async mkdir(path: string): Promise<IStoreEntry> {
    const res = await this._request(path, { method: 'PUT' }, '?type=directory');
    return (await res.json()) as IStoreEntry;
  }

  /** Renames (moves) from to to; a file at to is replaced. */
  async rename(from: string, to: string): Promise<IStoreEntry> {
    const res = await this._request(from, { method: 'PATCH', body: JSON.stringify({ path: to }) });
    return (await res.json()) as IStoreEntry;
  }

  /** Removes a file, or a folder with everything in it. */
  async remove(path: string): Promise<void> {
    await this._request(path, { method: 'DELETE' });
  }

  /**
   * Uploads file to path: the browser streams it (the server publishes it whole once all of it arrived, so a
   * cancelled or broken upload leaves what was there). onProgress gets the bytes sent so far.
   */
  upload(path: string, file: Blob, onProgress?: (loaded: number, total: number) => void): IUpload {
    const xhr = new XMLHttpRequest();
    const done = new Promise<IStoreEntry>((resolve, reject) => {
      xhr.open('PUT', this.url(path));
      if (this.settings.token) {
        xhr.setRequestHeader('Authorization', `token ${this.settings.token}`);
      }
      const xsrf = cookie('_xsrf');
      if (xsrf !== undefined) {
        xhr.setRequestHeader('X-XSRFToken', xsrf);
      }
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.addEventListener('progress', ev => onProgress?.(ev.loaded, ev.lengthComputable ? ev.total : file.size));
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as IStoreEntry);
          } catch {
            resolve({ name: baseName(path), size: file.size, modified: new Date().toISOString(), dir: false });
          }
        } else {
          reject(new APIError(xhr.status, messageOf(xhr.status, xhr.statusText, xhr.responseText)));
        }
      });
      xhr.addEventListener('error', () =>
        reject(new APIError(0, 'the upload broke off: cannot reach hops lab (the store keeps what it had)'))
      );
      xhr.addEventListener('abort', () => reject(new CancelledError()));
      xhr.send(file);
    });
    return { done, cancel: () => xhr.abort() };
  }

  private async _request(path: string, init: RequestInit, query = ''): Promise<Response> {
    const url = this.url(path) + query;
    let res: Response;
    try {
      res = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new APIError(0, `cannot reach hops lab: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const text = init.method === 'HEAD' ? '' : await res.text().catch(() => '');
      throw new APIError(res.status, messageOf(res.status, res.statusText, text));
    }
    return res;
  }
}

/** The {"message"} of an error answer, else its status line. */
export function messageOf(status: number, statusText: string, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string' && body.message !== '') {
      return body.message;
    }
  } catch {
    // not JSON
  }
  if (status === 404) {
    return 'not found';
  }
  return `${status} ${statusText}${text ? `: ${text.slice(0, 200)}` : ''}`.trim();
}

/** A cookie of the page (the last one of that name, as ServerConnection reads them). */
function cookie(name: string): string | undefined {
  let all: string;
  try {
    all = document.cookie;
  } catch {
    return undefined;
  }
  let value: string | undefined;
  for (const part of all.split(';')) {
    const p = part.trim();
    if (p.startsWith(`${name}=`)) {
      value = p.slice(name.length + 1);
    }
  }
  return value;
}
