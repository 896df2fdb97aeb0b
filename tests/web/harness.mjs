// Test harness for the web suites: starts one notebook server per suite on a free 127.0.0.1 port, in a fresh
// temporary workspace, with a random token, and stops it afterwards (its whole process group, reaped).
//
// HOPS_WEB_SERVER picks the server:
//   hops     (default) bin/hops lab, the server under test;
//   jupyter  jupyter_server from the project venv, the reference implementation that proves the API suite right.
//
// The server's log is kept in tests/artifacts/web/<suite>-<kind>-server.log.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts', 'web');
export const KIND = process.env.HOPS_WEB_SERVER || 'hops';
export const CI = process.env.CI === 'true';
export const CHROMIUM = '/usr/bin/chromium';

const VENV = join(ROOT, '.venv');
const HOPS = join(ROOT, 'bin', 'hops');

if (!['hops', 'jupyter'].includes(KIND)) {
  throw new Error(`HOPS_WEB_SERVER=${KIND}: expected "hops" or "jupyter"`);
}

/** The kernel the suites run: the hops server's default "Python 3 (hops)", or ipykernel under jupyter_server. */
export const KERNEL = KIND === 'hops' ? 'hops' : 'python3';

/**
 * Whether the selected server can be started here, as {ok, reason}. Suites skip when it cannot, except under
 * CI=true, where a missing server is a failure (see `requirement`).
 */
export function serverAvailability() {
  if (KIND === 'jupyter') {
    const jupyter = join(VENV, 'bin', 'jupyter');
    return existsSync(jupyter) ? { ok: true } : { ok: false, reason: `${jupyter} is missing: run \`make venv\`` };
  }
  if (!existsSync(HOPS)) return { ok: false, reason: `${HOPS} is missing: run \`make build\`` };
  const help = spawnSync(HOPS, ['lab', '-h'], { encoding: 'utf8', timeout: 30_000 });
  const text = `${help.stdout}${help.stderr}`;
  if (/unknown command "lab"/.test(text)) return { ok: false, reason: `${HOPS} has no "lab" command yet` };
  return { ok: true };
}

/** Whether Debian's chromium is installed, as {ok, reason}. */
export function chromiumAvailability() {
  return existsSync(CHROMIUM) ? { ok: true } : { ok: false, reason: `${CHROMIUM} is missing: run \`make chromium\`` };
}

/**
 * The `skip` option for a suite that needs what `availability` describes: skip with the reason locally,
 * but never under CI=true, where the suite's `before` hook must then fail with `assertAvailable`.
 */
export function skipUnless(...availabilities) {
  const missing = availabilities.filter((a) => !a.ok).map((a) => a.reason);
  if (missing.length === 0 || CI) return false;
  return missing.join('; ');
}

/** Throws the reason of the first unavailable requirement (used in `before`, so CI=true fails instead of skipping). */
export function assertAvailable(...availabilities) {
  const missing = availabilities.filter((a) => !a.ok).map((a) => a.reason);
  if (missing.length > 0) throw new Error(`cannot run this suite: ${missing.join('; ')}`);
}

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` (sync or async) until it returns a truthy value and returns that value; fails after `timeout` ms
 * with "timed out after Ns waiting for <what>" plus the last value or error seen. An error thrown with
 * `fatal: true` ends the wait at once.
 */
export async function waitFor(what, probe, { timeout = 30_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      if (err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `last error: ${last.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout / 1000}s waiting for ${what} (${detail})`);
    }
    await sleep(interval);
  }
}

/** Rejects with `what` if `promise` has not settled within `timeout` ms. */
export async function within(what, promise, timeout = 30_000) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout / 1000}s waiting for ${what}`)), timeout);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Processes whose command line contains `needle`, as [{pid, argv}] (Linux /proc). */
export function processesWith(needle) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // gone meanwhile
    }
    if (argv.some((a) => a.includes(needle))) found.push({ pid: Number(entry), argv });
  }
  return found;
}

/** The processes of a kernel: those whose argv names its connection file `kernel-<id>.json`. */
export function kernelProcesses(kernelId) {
  return processesWith(`kernel-${kernelId}.json`);
}

const running = new Set();
function signalRunning(signal) {
  for (const child of running) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  }
}
// Last resort (a crashed or interrupted suite): never leave a server behind. The server runs in its own process
// group, so a signal to the test's group does not reach it. On a signal it gets SIGTERM first, so that it can shut
// down its kernels (they live in process groups of their own), and SIGKILL 5 s later.
process.on('exit', () => signalRunning('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    signalRunning('SIGTERM');
    for (let i = 0; i < 50 && running.size > 0; i++) await sleep(100);
    signalRunning('SIGKILL');
    process.kill(process.pid, signal);
  });
}

/**
 * Starts the selected server for the suite `suite` and resolves when GET /api/status answers 200 with the token.
 * Returns a handle: {kind, kernelName, baseUrl, wsUrl, token, workspace, logPath, api(), settings(), stop()}.
 */
export async function startServer(suite, { readyTimeout = 90_000 } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const workspace = mkdtempSync(join(tmpdir(), `hops-web-${suite}-ws-`));
  const home = mkdtempSync(join(tmpdir(), `hops-web-${suite}-home-`));
  const logPath = join(ARTIFACTS, `${suite}-${KIND}-server.log`);
  const env = {
    ...process.env,
    // The venv's kernelspecs (python3, and the hops one that `make kernelspec` installs there).
    JUPYTER_PATH: join(VENV, 'share', 'jupyter'),
    // Keep connection files and configuration out of the user's home.
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    PATH: `${join(VENV, 'bin')}:${process.env.PATH}`,
  };
  let cmd;
  let args;
  if (KIND === 'hops') {
    cmd = HOPS;
    args = ['lab', '--dir', workspace, '--ip', '127.0.0.1', '--port', String(port), '--token', token,
      '--python', join(VENV, 'bin', 'python'), '--no-browser'];
  } else {
    cmd = join(VENV, 'bin', 'jupyter');
    args = ['server', `--IdentityProvider.token=${token}`, `--ServerApp.port=${port}`, '--ServerApp.ip=127.0.0.1',
      `--ServerApp.root_dir=${workspace}`, '--ServerApp.port_retries=0', '--no-browser'];
    if (process.getuid?.() === 0) args.push('--allow-root'); // CI containers run as root
  }
  const logFd = openSync(logPath, 'w');
  const child = spawn(cmd, args, { cwd: workspace, env, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  running.add(child);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let exitStatus = null;
  exited.then((s) => {
    exitStatus = s;
    running.delete(child);
  });

  const baseUrl = `http://127.0.0.1:${port}/`;
  const server = {
    kind: KIND,
    kernelName: KERNEL,
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}/`,
    token,
    workspace,
    logPath,
    pid: child.pid,
    command: [cmd, ...args].join(' '),

    /** The server log so far (for failure messages). */
    log(lastChars = 4000) {
      try {
        return readFileSync(logPath, 'utf8').slice(-lastChars);
      } catch {
        return '';
      }
    },

    /** fetch() against the server with the token in the Authorization header. */
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('Authorization')) headers.set('Authorization', `token ${token}`);
      return fetch(new URL(path.replace(/^\//, ''), baseUrl), { ...init, headers });
    },

    /** GET path and parse JSON, failing with the status and body if it is not 200. */
    async json(path) {
      const res = await server.api(path);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path}: expected 200, got ${res.status}: ${body.slice(0, 500)}`);
      return JSON.parse(body);
    },

    /**
     * ServerConnection settings for @jupyterlab/services. `protocol`: 'v1' offers the
     * v1.kernel.websocket.jupyter.org subprotocol as JupyterLab does; 'legacy' offers none, so the server falls
     * back to the JSON framing. `sockets` (an array) collects every websocket opened, with its negotiated
     * protocol and the frames it received ({binary, bytes}).
     */
    settings({ protocol = 'v1', sockets = [] } = {}) {
      return ServerConnection.makeSettings({
        baseUrl,
        wsUrl: server.wsUrl,
        token,
        appendToken: true,
        WebSocket: recordingWebSocket(protocol, sockets),
        fetch: (...a) => fetch(...a),
        Request,
        Headers,
      });
    },

    /**
     * Stops the server: SIGTERM to its process group, SIGKILL after a grace period, reaped. Returns the kernel
     * processes (argv naming a connection file of a kernel the server had) still alive 15 s later, which are
     * then killed: a server must not leak kernels.
     */
    async stop() {
      let kernelIds = [];
      try {
        kernelIds = (await server.json('api/kernels')).map((k) => k.id);
      } catch {
        /* the server may be down already */
      }
      if (exitStatus === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const stopped = await Promise.race([exited, sleep(20_000).then(() => null)]);
        if (stopped === null) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
          await exited;
        }
      }
      const leaked = [];
      const deadline = Date.now() + 15_000;
      for (const id of kernelIds) {
        let procs = kernelProcesses(id);
        while (procs.length > 0 && Date.now() < deadline) {
          await sleep(200);
          procs = kernelProcesses(id);
        }
        for (const p of procs) {
          leaked.push(p);
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      rmSync(workspace, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
      return leaked;
    },
  };

  try {
    await waitFor(`GET /api/status → 200 from \`${server.command}\``, async () => {
      if (exitStatus) {
        throw Object.assign(new Error(`server exited early (${JSON.stringify(exitStatus)})`), { fatal: true });
      }
      const res = await server.api('api/status');
      return res.status === 200;
    }, { timeout: readyTimeout, interval: 200 });
  } catch (err) {
    await server.stop();
    throw new Error(`${err.message}\n--- server log (${logPath}) ---\n${server.log()}`);
  }
  return server;
}

/**
 * A `ws` WebSocket class for @jupyterlab/services that records each socket in `sockets` and, for the legacy
 * protocol, offers no subprotocol (the library always offers v1.kernel.websocket.jupyter.org).
 */
function recordingWebSocket(protocol, sockets) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocol === 'legacy' ? [] : protocols, options);
      const record = { url: String(url), offered: protocol === 'legacy' ? [] : protocols, frames: [], socket: this };
      Object.defineProperty(record, 'protocol', { get: () => this.protocol, enumerable: true });
      sockets.push(record);
      this.on('message', (data, isBinary) => record.frames.push({ binary: isBinary, bytes: data.length }));
    }
  };
}
