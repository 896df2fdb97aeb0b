// The experiments API (/api/hops/experiments) as typed requests, and a trial's log from the project store. Every
// request goes through ServerConnection.makeRequest with the page's settings (token and XSRF as for JupyterLab's own
// requests).

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { APIError, encodePath } from './api';
import { encodeStorePath } from './storepath';
import { messageOf } from './storeapi';

/** running, finished, failed or killed (trials also pending). */
export type RunState = string;

/** One logged value of a metric. */
export interface IPoint {
  step: number;
  value: number;
  time?: string;
}

export interface IModelRef {
  name: string;
  version: number;
  location: string;
  metrics?: Record<string, number>;
}

export interface ITrial {
  id: string;
  index: number;
  generation?: number;
  params: Record<string, unknown>;
  state: RunState;
  started?: string;
  ended?: string;
  metrics?: Record<string, number>;
  exit_code?: number;
  error?: string;
  traceback?: string;
  gpus?: number[];
  artifacts?: string[];
  models?: IModelRef[];
  tensorboard?: string;
  timeline?: Record<string, IPoint[]>;
}

export interface IPackage {
  name: string;
  version: string;
}

export interface IGPUDevice {
  index: number;
  uuid?: string;
  name: string;
  memory_total_bytes?: number;
}

export interface IEnvironment {
  captured?: string;
  hops?: string;
  python?: { version: string; implementation?: string; executable?: string; prefix?: string; packages: IPackage[] | null };
  os?: string;
  kernel?: string;
  cpu?: string;
  cores?: number;
  gpu?: { driver?: string; cuda?: string; devices: IGPUDevice[] | null } | null;
  gpu_error?: string;
  variables?: Record<string, string>;
}

export interface IObjective {
  metric: string;
  /** max or min. */
  direction: string;
}

export interface IExperiment {
  id: string;
  name: string;
  user: string;
  started: string;
  ended?: string;
  state: RunState;
  note?: string;
  code: string;
  cell?: string;
  notebook: string;
  commit?: string;
  code_changed: boolean;
  method: string;
  objective?: IObjective | null;
  executors: number;
  gpus_per_trial: number;
  trials_total: number;
  /** null in listings. */
  trials: ITrial[] | null;
  best?: string;
  best_value?: number;
  location: string;
  environment?: IEnvironment | null;
}

/** Client of the experiments endpoints of one server. */
export class ExperimentsAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** A page of experiments, newest first; before is the last id of the previous page. */
  async list(limit: number, before?: string): Promise<IExperiment[]> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before) {
      q.set('before', before);
    }
    const body = await this._json<{ experiments?: IExperiment[] }>(`api/hops/experiments?${q.toString()}`);
    if (!Array.isArray(body.experiments)) {
      throw new APIError(200, 'the server sent a listing without experiments (is hops lab up to date?)');
    }
    return body.experiments;
  }

  /** The full record of one experiment, trials and their timelines included. */
  get(id: string): Promise<IExperiment> {
    return this._json<IExperiment>(`api/hops/experiments/${encodeURIComponent(id)}`);
  }

  /** The output of a trial (its output.log in the project store); "" when it wrote nothing. */
  async trialLog(location: string, trial: string): Promise<string> {
    const res = await this._request(this.storeUrl(`${location}/${trial}/output.log`));
    return res.text();
  }

  /** The URL of a project store path. */
  storeUrl(path: string): string {
    return URLExt.join(this.settings.baseUrl, 'api/hops/store', encodeStorePath(path));
  }

  /** The URL of a workspace file as it was at commit (served raw). */
  versionUrl(path: string, commit: string): string {
    return URLExt.join(this.settings.baseUrl, 'api/hops/versions', encodePath(path), encodeURIComponent(commit));
  }

  private async _json<T>(rel: string): Promise<T> {
    const res = await this._request(URLExt.join(this.settings.baseUrl, rel));
    try {
      return (await res.json()) as T;
    } catch {
      throw new APIError(res.status, `the server sent an answer that is not JSON (${rel.split('?')[0]})`);
    }
  }

  private async _request(url: string): Promise<Response> {
    let res: Response;
    try {
      res = await ServerConnection.makeRequest(url, { method: 'GET' }, this.settings);
    } catch (err) {
      throw new APIError(0, `cannot reach hops lab: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new APIError(res.status, messageOf(res.status, res.statusText, text));
    }
    return res;
  }
}
