"""make bench, part 2: the `hops lab` notebook server against jupyter_server 2.x, same ipykernel, one run.

What it measures (issue 3):
  (a) start-up: wall time from spawning the server to its first 200 on /api/status (median and min of N).
  (b) load: K kernels, one websocket each, every kernel sent execute_request `1+1` at R requests/s for a
      fixed duration, open loop (a request goes out at its scheduled time whether or not earlier ones were
      answered, so queueing shows up as latency instead of silently slowing the client down). Latency is
      counted from the *scheduled* send time to having both the execute_reply and the IOPub `status: idle`
      (what JupyterLab waits for before a cell is done). Failed = no reply within --timeout, an error
      reply, or a dropped websocket. Server CPU is utime+stime of the server process alone (kernels
      excluded, they are the same ipykernel on both sides); peak RSS is VmHWM, reset at each phase start.
      A third row drives the same kernels with no server at all (jupyter_client starts them, this client
      speaks ZMQ to them, same schedule and latency definition): the floor below which no server can go,
      so the report also says how many ms of p99 each server adds to it.
  Targets: hops lab peak RSS <= 1/5 of jupyter_server's, p99 <= 1/2, no failed request at 32 kernels x 10/s.

Both servers run the `python3` kernelspec (plain ipykernel from the venv), so the server is the only
difference; one extra row per phase runs hops lab with its default kernel (the Go proxy kernel) for
information. The load client runs in this process for both servers and its own CPU is reported, so a
reader can tell when the client, not a server, was the bottleneck (the host has few cores). The client
sets TCP_NODELAY as browsers do; the servers run as shipped (jupyter_server's websockets do not set it,
which costs it Nagle/delayed-ACK stalls of ~40 ms on sparse traffic: that is part of what is measured).

Usage: .venv/bin/python bench/server_bench.py [--kernels 8,32] [--rates 10,50] [--duration 10]
                                               [--servers hops,jupyter] [--protocol v1|json] [--quick]
"""
import argparse
import asyncio
import datetime
import hashlib
import hmac
import importlib.metadata
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, websocket_connect
from benchutil import descendants, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
HOPS = os.path.join(ROOT, "bin", "hops")
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
ENGINE_KERNEL = "python3"
SERVER_LABELS = {"hops": "hops lab", "jupyter": "jupyter_server", "none": "no server"}
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
TARGET_RSS_RATIO = 1 / 5
TARGET_P99_RATIO = 1 / 2
DRAIN_TIMEOUT = 120  # s a kernel may take to work off a phase's backlog before it counts as stuck
TARGET_NO_FAIL = (32, 10)  # (kernels, requests/s) at which hops lab must not fail a single request


# ---------------------------------------------------------------------------------------------------
# /proc sampling: the server process alone, not its kernels, so the numbers are the server's cost.

@dataclass
class ProcSample:
    cpu_s: float   # utime + stime of the process (all its threads), not of its children
    rss: int       # VmRSS, bytes
    peak_rss: int  # VmHWM, bytes (since start or since the last reset_peak_rss)
    anon_rss: int  # RssAnon, bytes: memory the server allocated, without the mapped program and libraries


def sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the command name, which may itself contain spaces and parentheses.
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of proc(5))
    mem = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                mem[key] = int(value.split()[0]) * 1024
    return ProcSample(cpu, mem["VmRSS"], mem["VmHWM"], mem["RssAnon"])


def reset_peak_rss(pid):
    """Makes VmHWM per phase instead of per lifetime (proc(5): writing 5 to clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def client_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------------------------------------------
# Server launcher: free port, fresh workspace, random token, own process group, always stopped.

class Server:
    """One notebook server process in a throw-away workspace.

    The server gets its own process group (so a Ctrl-C on the terminal reaches only this script, which then
    stops it deliberately) and a private JUPYTER_CONFIG_DIR/RUNTIME_DIR/IPYTHONDIR, so neither the user's
    configuration nor a previous run changes what is measured. JUPYTER_PATH points both servers at the
    venv's kernelspecs, so `python3` is the same ipykernel on both.
    """

    def __init__(self, kind):
        self.kind = kind
        self.label = SERVER_LABELS[kind]
        self.proc = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix=f"hops-bench-{self.kind}-")
        workspace = os.path.join(self.tmp, "workspace")
        for d in ("workspace", "config", "runtime", "ipython"):
            os.mkdir(os.path.join(self.tmp, d))
        self.port, self.token = free_port(), secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ,
                   JUPYTER_PATH=os.path.join(VENV, "share", "jupyter"),
                   JUPYTER_CONFIG_DIR=os.path.join(self.tmp, "config"),
                   JUPYTER_RUNTIME_DIR=os.path.join(self.tmp, "runtime"),
                   IPYTHONDIR=os.path.join(self.tmp, "ipython"))
        if self.kind == "hops":
            argv = [HOPS, "lab", "--dir", workspace, "--ip", "127.0.0.1", "--port", str(self.port),
                    "--token", self.token, "--python", os.path.join(VENV, "bin", "python"), "--no-browser"]
        else:
            argv = [os.path.join(VENV, "bin", "jupyter"), "server", f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                    f"--ServerApp.root_dir={workspace}", "--no-browser", "--ServerApp.open_browser=False"]
            if os.geteuid() == 0:
                argv.append("--allow-root")  # containers and CI run as root; jupyter_server refuses by default
        self.log_path = os.path.join(self.tmp, "server.log")
        with open(self.log_path, "wb") as log:
            self.spawned = time.perf_counter()
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self):
        # `jupyter server` execs jupyter-server in place (jupyter_core's _execvp), so this is the server.
        return self.proc.pid

    def log_tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    async def wait_ready(self, http, timeout=60):
        """Seconds from spawn to the first 200 on /api/status, polled every 2 ms."""
        req = HTTPRequest(f"{self.url}/api/status", headers=self.auth(), request_timeout=5)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if (await http.fetch(req, raise_error=False)).code == 200:
                    return time.perf_counter() - self.spawned
            except OSError:
                pass  # not listening yet
            if time.perf_counter() - self.spawned > timeout:
                raise RuntimeError(f"{self.label} not ready after {timeout} s:\n{self.log_tail()}")
            await asyncio.sleep(0.002)

    def auth(self):
        return {"Authorization": f"token {self.token}"}

    def stop(self):
        """SIGTERM to the group (servers shut their kernels down), SIGKILL after 10 s, then any leftover
        descendant by pid; reaps the server and removes the workspace. Safe to call twice."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        leftovers = descendants(proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# Websocket framings (reference/jupyter-protocol.md §1.6). The client signs nothing: the server does.

def encode_v1(channel, header, parent, metadata, content):
    """v1.kernel.websocket.jupyter.org: u64le count, u64le offsets, then channel and the four JSON parts."""
    parts = [channel.encode()] + [json.dumps(p).encode() for p in (header, parent, metadata, content)]
    n = len(parts) + 1
    offsets, pos = [], 8 * (1 + n)
    for part in parts:
        offsets.append(pos)
        pos += len(part)
    offsets.append(pos)
    return struct.pack(f"<{1 + n}Q", n, *offsets) + b"".join(parts), True


def decode_v1(frame):
    if not isinstance(frame, bytes):
        raise ValueError("text frame on a v1 connection")
    (n,) = struct.unpack_from("<Q", frame)
    offsets = struct.unpack_from(f"<{n}Q", frame, 8)
    channel = frame[offsets[0]:offsets[1]].decode()
    header, parent, _, content = (json.loads(frame[offsets[i]:offsets[i + 1]]) for i in range(1, 5))
    return channel, header, parent, content


def encode_json(channel, header, parent, metadata, content):
    """The legacy protocol: one JSON text frame (no buffers are ever sent here)."""
    return json.dumps({"channel": channel, "header": header, "parent_header": parent,
                       "metadata": metadata, "content": content, "buffers": []}), False


def decode_json(frame):
    if isinstance(frame, bytes):
        # A message with buffers: u32be count, u32be offsets, JSON at offsets[0]..offsets[1].
        (nbufs,) = struct.unpack_from(">I", frame)
        offsets = struct.unpack_from(f">{nbufs}I", frame, 4)
        frame = frame[offsets[0]:offsets[1] if nbufs > 1 else len(frame)]
    msg = json.loads(frame)
    return msg["channel"], msg["header"], msg["parent_header"], msg["content"]


CODECS = {"v1": (encode_v1, decode_v1), "json": (encode_json, decode_json)}


# ---------------------------------------------------------------------------------------------------
# One kernel over one websocket: requests in flight are matched to their reply and idle by msg_id.

FAILURE_KINDS = ("timeout", "error", "dropped", "protocol")


class Failure(Exception):
    """Why a request did not succeed: "dropped" (the websocket closed) or "protocol" (the server sent a frame
    this client cannot decode, after which the socket is closed). "timeout" and "error" are decided from
    the Request by the load phase."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass
class Request:
    scheduled: float                 # loop time the request was due to be sent (latency starts here)
    sent: float = 0.0                # loop time it went out (sent - scheduled = client lag)
    reply: dict = None               # execute_reply / kernel_info_reply content
    idle: bool = False
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class KernelConn:
    """Requests in flight to one kernel, matched to their reply and idle status by msg_id. Subclasses
    carry the messages: a websocket through a server, or ZMQ straight to the kernel."""

    def __init__(self, kernel_id):
        self.kernel_id = kernel_id
        self.session = uuid.uuid4().hex
        self.pending = {}
        self.closed = False

    def header(self, msg_type):
        """The header of a new request of this client's session."""
        return {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench", "session": self.session,
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "version": "5.3"}

    def received(self, channel, msg_type, parent_id, content):
        req = self.pending.get(parent_id)
        if req is None:
            return
        if channel == "shell" and msg_type.endswith("_reply"):
            req.reply = content
        elif channel == "iopub" and msg_type == "status" and content.get("execution_state") == "idle":
            req.idle = True
        if req.reply is not None and req.idle:
            del self.pending[parent_id]
            req.done.set_result(asyncio.get_running_loop().time())

    async def alive(self):
        """False once the kernel is known to have died (only a client that started it can tell)."""
        return True

    def lost(self, failure):
        self.closed = True
        for req in self.pending.values():
            req.done.set_exception(failure)
        self.pending.clear()

    async def execute(self, code, scheduled, store_history=True):
        """As JupyterLab sends a cell (history stored), except that the kernel may not ask for input."""
        return await self.send("execute_request", {
            "code": code, "silent": False, "store_history": store_history, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False}, scheduled)

    async def wait(self, req, timeout):
        """Closed loop: waits for one request (readiness, draining); raises on timeout or failure."""
        await asyncio.wait_for(asyncio.shield(req.done), timeout)
        return req.reply


class KernelSocket(KernelConn):
    def __init__(self, server, kernel_id, protocol):
        super().__init__(kernel_id)
        self.server = server
        self.encode, self.decode = CODECS[protocol]
        self.protocol = protocol
        self.ws = None

    async def connect(self):
        url = (f"ws://127.0.0.1:{self.server.port}/api/kernels/{self.kernel_id}/channels"
               f"?session_id={self.session}&token={self.server.token}")
        # jupyter_server answers the upgrade only once the kernel answered its own kernel_info: a kernel
        # still starting on a loaded host may take a while.
        self.ws = await websocket_connect(
            HTTPRequest(url, connect_timeout=120, request_timeout=120), max_message_size=64 * MIB,
            subprotocols=[V1_PROTOCOL] if self.protocol == "v1" else None)
        # Browsers send with TCP_NODELAY; without it this client would add Nagle delays of its own.
        self.ws.protocol.set_nodelay(True)
        if self.protocol == "v1" and self.ws.selected_subprotocol != V1_PROTOCOL:
            raise RuntimeError(f"{self.server.label} did not accept {V1_PROTOCOL}")
        self.reader = asyncio.create_task(self.read_loop())

    async def read_loop(self):
        while True:
            frame = await self.ws.read_message()
            if frame is None:
                failure = Failure("dropped", f"websocket closed ({self.ws.close_code})")
                break
            try:
                channel, header, parent, content = self.decode(frame)
                msg_type, parent_id = header["msg_type"], parent.get("msg_id")
            except (ValueError, KeyError, TypeError, AttributeError, struct.error) as e:
                failure = Failure("protocol", f"undecodable frame {frame[:80]!r}: {e!r}")
                self.ws.close()
                break
            self.received(channel, msg_type, parent_id, content)
        self.lost(failure)

    async def send(self, msg_type, content, scheduled):
        """Sends one shell request; returns its Request, whose `done` resolves to the completion time."""
        loop = asyncio.get_running_loop()
        req = Request(scheduled)
        if self.closed:
            req.done.set_exception(Failure("dropped", "websocket already closed"))
            return req
        header = self.header(msg_type)
        msg_id = header["msg_id"]
        frame, binary = self.encode("shell", header, {}, {}, content)
        self.pending[msg_id] = req
        req.sent = loop.time()
        try:
            await self.ws.write_message(frame, binary=binary)
        except (WebSocketClosedError, StreamClosedError) as e:
            if self.pending.pop(msg_id, None):
                req.done.set_exception(Failure("dropped", repr(e)))
        return req

    async def close(self):
        if self.ws is None:  # never connected
            return
        self.ws.close()
        await self.reader


class DirectKernel(KernelConn):
    """The same kernel with no server at all: jupyter_client starts it, and this client speaks the
    kernel's ZMQ wire protocol to it directly, signing as a server would and decoding what the websocket
    client decodes (jupyter_client's own client, which also parses dates and verifies every signature,
    could not keep up with 8 kernels x 50/s on two cores). Its latencies are the floor any server adds to:
    the kernel's own time, ZMQ and this client."""

    DELIMITER = b"<IDS|MSG>"

    def __init__(self, manager):
        super().__init__(manager.kernel_id or uuid.uuid4().hex)
        self.manager = manager
        self.sockets, self.readers = [], []

    async def connect(self):
        info = self.manager.get_connection_info()
        key = info["key"]
        self.key = key.encode() if isinstance(key, str) else key
        ctx = zmq.asyncio.Context.instance()
        self.shell = ctx.socket(zmq.DEALER)
        iopub = ctx.socket(zmq.SUB)
        iopub.setsockopt(zmq.SUBSCRIBE, b"")
        iopub.setsockopt(zmq.RCVHWM, 0)  # never drop a status message, however far behind this client is
        for sock, port in ((self.shell, "shell_port"), (iopub, "iopub_port")):
            sock.linger = 0
            sock.connect(f"{info['transport']}://{info['ip']}:{info[port]}")
            self.sockets.append(sock)
        self.readers = [asyncio.create_task(self.read_loop("shell", self.shell)),
                        asyncio.create_task(self.read_loop("iopub", iopub))]

    async def alive(self):
        return await self.manager.is_alive()

    async def read_loop(self, channel, sock):
        while True:
            frames = await sock.recv_multipart(copy=True)
            i = frames.index(self.DELIMITER)
            header, parent, _, content = frames[i + 2:i + 6]
            self.received(channel, json.loads(header)["msg_type"], json.loads(parent).get("msg_id"),
                          json.loads(content))

    async def send(self, msg_type, content, scheduled):
        req = Request(scheduled)
        header = self.header(msg_type)
        msg_id = header["msg_id"]
        parts = [json.dumps(p).encode() for p in (header, {}, {}, content)]
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        self.pending[msg_id] = req
        req.sent = asyncio.get_running_loop().time()
        await self.shell.send_multipart([self.DELIMITER, mac.hexdigest().encode(), *parts])
        return req

    async def close(self):
        self.pending.clear()  # requests given up on (timed out): nobody waits for them any more
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for sock in self.sockets:
            sock.close()
        await self.manager.shutdown_kernel(now=True)


# ---------------------------------------------------------------------------------------------------
# Kernel lifecycle over REST.

class Api:
    def __init__(self, http, server):
        self.http, self.server = http, server

    async def call(self, method, path, body=None, timeout=180):
        resp = await self.http.fetch(
            f"{self.server.url}{path}", method=method, headers=self.server.auth(),
            body=None if body is None else json.dumps(body), allow_nonstandard_methods=True,
            request_timeout=timeout, raise_error=False)
        if resp.code >= 400:
            raise RuntimeError(f"{self.server.label}: {method} {path} -> {resp.code} {resp.body[:300]!r}")
        return json.loads(resp.body) if resp.body else None


async def open_kernels(api, name, count, protocol, timeout=120):
    """Starts `count` kernels through the server and connects a websocket to each."""

    async def make():
        model = await api.call("POST", "/api/kernels", {"name": name})
        return KernelSocket(api.server, model["id"], protocol)

    return await asyncio.gather(*(started(make, lambda sock: close_kernels(api, [sock]), timeout)
                                  for _ in range(count)))


async def open_direct_kernels(runtime, count, timeout=120):
    """Starts `count` kernels with jupyter_client, no server in between, in the servers' environment."""
    env = dict(os.environ, JUPYTER_PATH=os.path.join(VENV, "share", "jupyter"),
               JUPYTER_RUNTIME_DIR=runtime, IPYTHONDIR=os.path.join(runtime, "ipython"))

    async def make():
        manager = AsyncKernelManager(kernel_name=ENGINE_KERNEL,
                                     connection_file=os.path.join(runtime, f"kernel-{uuid.uuid4().hex}.json"))
        # The kernels' own chatter (ipykernel warns about unencrypted TCP) goes to a log, as a server's would.
        with open(os.path.join(runtime, "kernels.log"), "ab") as log:
            await manager.start_kernel(env=env, stdout=log, stderr=log)
        return DirectKernel(manager)

    return await asyncio.gather(*(started(make, lambda kernel: kernel.close(), timeout) for _ in range(count)))


async def started(make, discard, timeout, tries=3):
    """A kernel made by `make` once it is ready. One that dies or loses its connection first (seen now and
    then when 32 start at once on two cores, behind either server and with none) is discarded and
    replaced, up to `tries` times, and said so: the phases measure running kernels, not their start."""
    for attempt in range(1, tries + 1):
        sock = await make()
        try:
            await ready(sock, timeout)
            return sock
        except (RuntimeError, Failure) as e:
            try:
                await discard(sock)
            except (RuntimeError, OSError) as gone:  # a dead kernel may already be gone from the server
                print(f"    discarding kernel {sock.kernel_id}: {gone}", flush=True)
            if attempt == tries:
                raise
            print(f"    kernel {sock.kernel_id} did not start ({e}): starting another", flush=True)


async def ready(sock, timeout):
    """Connects to the kernel and waits until it answers kernel_info and a first `1+1` (ipykernel's first
    execute is slow; it must not land in a phase)."""
    await sock.connect()
    deadline = time.monotonic() + timeout
    while True:  # kernel_info again until answered, in case the first one went out too early
        try:
            await sock.wait(await sock.send("kernel_info_request", {}, 0.0), 2)
            break
        except asyncio.TimeoutError:
            if not await sock.alive():
                raise RuntimeError(f"kernel {sock.kernel_id} died before it answered kernel_info") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"kernel {sock.kernel_id} did not answer kernel_info in {timeout} s")
    await drain(sock, timeout)


async def drain(sock, timeout):
    """Returns once the kernel has worked through everything queued before (a `1+1` is answered)."""
    reply = await sock.wait(await sock.execute("1+1", 0.0, store_history=False), timeout)
    if reply.get("status") != "ok":
        raise RuntimeError(f"kernel {sock.kernel_id}: 1+1 answered {reply}")


async def close_kernels(api, socks):
    """Closes the connections; kernels started through a server are then shut down through it."""
    await asyncio.gather(*(s.close() for s in socks))
    if api is not None:
        await asyncio.gather(*(api.call("DELETE", f"/api/kernels/{s.kernel_id}") for s in socks))


# ---------------------------------------------------------------------------------------------------
# Load phase and its statistics.

def percentile(sorted_xs, q):
    """Nearest rank; None when there is nothing to rank."""
    if not sorted_xs:
        return None
    return sorted_xs[max(0, math.ceil(q * len(sorted_xs)) - 1)]


def to_ms(seconds):
    return None if seconds is None else round(seconds * 1000, 3)


async def load_phase(server, socks, rate, duration, timeout):
    """Sends `1+1` to every kernel at `rate`/s for `duration` s, open loop, kernels staggered evenly
    within one period so the server sees a steady stream rather than K-request bursts. `server` is None
    for the kernels alone (no server CPU or memory to sample)."""
    loop = asyncio.get_running_loop()
    per_kernel = int(rate * duration)
    if server is not None:
        reset_peak_rss(server.pid)
    before, cpu0 = server and sample(server.pid), client_cpu()
    start = loop.time() + 0.2

    async def pace(k, sock):
        reqs = []
        for i in range(per_kernel):
            due = start + (i + k / len(socks)) / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            reqs.append(await sock.execute("1+1", due))
        return reqs

    reqs = [r for rs in await asyncio.gather(*(pace(k, s) for k, s in enumerate(socks))) for r in rs]
    last_deadline = max(r.scheduled for r in reqs) + timeout
    await asyncio.wait([r.done for r in reqs], timeout=max(0.0, last_deadline - loop.time()))

    latencies, last_done = [], start
    failures, examples = dict.fromkeys(FAILURE_KINDS, 0), {}

    def fail(kind, detail):
        failures[kind] += 1
        examples.setdefault(kind, detail)

    for r in reqs:
        if not r.done.done():
            fail("timeout", f"no reply and idle within {timeout} s")
        elif r.done.exception() is not None:
            fail(r.done.exception().kind, str(r.done.exception()))
        elif r.done.result() - r.scheduled > timeout:
            fail("timeout", f"done after {r.done.result() - r.scheduled:.1f} s")
        elif r.reply.get("status") != "ok":
            fail("error", json.dumps(r.reply)[:300])
        else:
            latencies.append(r.done.result() - r.scheduled)
            last_done = max(last_done, r.done.result())

    # Late replies still cross the server: CPU is read once every kernel has caught up, so it covers all
    # the traffic this phase caused. Requests abandoned as timed out stay pending and are dropped here.
    for s in socks:
        s.pending.clear()
    drained = await asyncio.gather(*(drain(s, DRAIN_TIMEOUT) for s in socks), return_exceptions=True)
    after, cpu1 = server and sample(server.pid), client_cpu()

    latencies.sort()
    lags = sorted(r.sent - r.scheduled for r in reqs)
    return {
        "requests": len(reqs), "ok": len(latencies), "failed": sum(failures.values()), "failures": failures,
        "failure_examples": examples,
        "throughput": len(latencies) / (last_done - start) if latencies else 0.0,
        "p50_ms": to_ms(percentile(latencies, 0.50)), "p90_ms": to_ms(percentile(latencies, 0.90)),
        "p99_ms": to_ms(percentile(latencies, 0.99)), "max_ms": to_ms(latencies[-1] if latencies else None),
        "mean_ms": to_ms(statistics.fmean(latencies) if latencies else None),
        "send_lag_p99_ms": to_ms(percentile(lags, 0.99)),
        "server_cpu_s": after and round(after.cpu_s - before.cpu_s, 3),
        "peak_rss_mib": after and round(after.peak_rss / MIB, 1), "rss_mib": after and round(after.rss / MIB, 1),
        "anon_rss_mib": after and round(after.anon_rss / MIB, 1),
        "client_cpu_s": round(cpu1 - cpu0, 3),
        "kernels_not_drained": sum(isinstance(d, Exception) for d in drained),
    }


# ---------------------------------------------------------------------------------------------------
# The run: start-up repeats, then the load matrix, servers interleaved per K so drifting machine noise
# hits both alike.

async def measure_startup(http, kinds, repeats):
    times = {k: [] for k in kinds}
    ready_rss = {k: [] for k in kinds}
    for _ in range(repeats):
        for kind in kinds:
            server = Server(kind).start()
            try:
                times[kind].append(await server.wait_ready(http))
                ready_rss[kind].append(sample(server.pid).rss / MIB)
            finally:
                server.stop()
    return {k: {"runs_s": [round(t, 4) for t in times[k]], "median_s": round(statistics.median(times[k]), 4),
                "min_s": round(min(times[k]), 4), "rss_at_ready_mib": round(statistics.median(ready_rss[k]), 1)}
            for k in kinds}


async def default_kernel(api):
    specs = await api.call("GET", "/api/kernelspecs")
    if ENGINE_KERNEL not in specs["kernelspecs"]:
        raise RuntimeError(f"{api.server.label} offers no {ENGINE_KERNEL!r} kernelspec "
                           f"(has {sorted(specs['kernelspecs'])}); run `make venv`")
    return specs["default"]


async def run_load(http, kinds, args, servers, direct_runtime):
    """The load matrix. Kernels without a server share `direct_runtime` (connection files, IPYTHONDIR)
    for the whole run, as a server's kernels share its directories."""
    apis = {}
    for kind in kinds:
        if kind == "none":
            continue
        servers[kind] = server = Server(kind).start()
        await server.wait_ready(http)
        apis[kind] = Api(http, server)
    defaults = {kind: await default_kernel(api) for kind, api in apis.items()}
    rows = [(kind, ENGINE_KERNEL) for kind in kinds]
    if defaults.get("hops", ENGINE_KERNEL) != ENGINE_KERNEL:
        rows.append(("hops", defaults["hops"]))

    results = []
    for count in args.kernels:
        for kind, kernel in rows:
            api = apis.get(kind)
            t0 = time.perf_counter()
            if api is None:
                socks = await open_direct_kernels(direct_runtime, count)
            else:
                socks = await open_kernels(api, kernel, count, args.protocol)
            print(f"  {SERVER_LABELS[kind]} / {kernel}: {count} kernels ready in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            try:
                for rate in args.rates:
                    res = await load_phase(api and api.server, socks, rate, args.duration, args.timeout)
                    res.update(server=kind, kernel=kernel, kernels=count, rate=rate)
                    results.append(res)
                    print(f"    R={rate}/s: {res['ok']}/{res['requests']} ok, p99 {res['p99_ms']} ms, "
                          f"failed {res['failures']}", flush=True)
                    if res["kernels_not_drained"]:
                        print(f"      {res['kernels_not_drained']} kernels did not answer within "
                              f"{DRAIN_TIMEOUT} s after the phase: later phases on them will fail", flush=True)
                    for reason, example in res["failure_examples"].items():
                        print(f"      first {reason}: {example}", flush=True)
            finally:
                await close_kernels(api, socks)
    return results


# ---------------------------------------------------------------------------------------------------
# Report.

def evaluate(phases, kinds):
    """The issue's targets, per phase: ratios of the python3 rows, and hops lab's failures at 32 x 10/s.
    With the kernels-alone row, also what each server adds to the floor's p99 (information, no target)."""
    checks = []
    for key in dict.fromkeys((r["kernels"], r["rate"]) for r in phases):
        pick = {r["server"]: r for r in phases
                if (r["kernels"], r["rate"]) == key and r["kernel"] == ENGINE_KERNEL}
        if {"hops", "jupyter"} <= set(kinds):
            h, j = pick["hops"], pick["jupyter"]
            rss = h["peak_rss_mib"] / j["peak_rss_mib"]
            p99 = h["p99_ms"] / j["p99_ms"] if h["p99_ms"] is not None and j["p99_ms"] else None
            checks += [{"phase": key, "check": "peak RSS hops/jupyter", "target": f"<= {TARGET_RSS_RATIO:.2f}",
                        "value": round(rss, 3), "met": rss <= TARGET_RSS_RATIO},
                       {"phase": key, "check": "p99 hops/jupyter", "target": f"<= {TARGET_P99_RATIO:.2f}",
                        "value": None if p99 is None else round(p99, 3),
                        "met": p99 is not None and p99 <= TARGET_P99_RATIO}]
        floor = pick.get("none", {}).get("p99_ms")
        if floor is not None:
            for kind in ("hops", "jupyter"):
                if pick.get(kind, {}).get("p99_ms") is not None:
                    checks.append({"phase": key, "check": f"p99 {SERVER_LABELS[kind]} adds to the kernels alone (ms)",
                                   "target": "information", "value": round(pick[kind]["p99_ms"] - floor, 3),
                                   "met": None})
        if key == TARGET_NO_FAIL and "hops" in pick:
            failed = pick["hops"]["failed"]
            checks.append({"phase": key, "check": "hops lab failed requests", "target": "0", "value": failed,
                           "met": failed == 0})
    return checks


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def report(startup, phases, checks):
    print("\n(a) spawn -> first 200 on /api/status")
    print(f"  {'server':<16}{'median s':>10}{'min s':>10}{'RSS MiB':>10}   runs")
    for kind, s in startup.items():
        print(f"  {SERVER_LABELS[kind]:<16}{s['median_s']:>10.3f}{s['min_s']:>10.3f}"
              f"{s['rss_at_ready_mib']:>10.1f}   {', '.join(f'{t:.3f}' for t in s['runs_s'])}")

    print("\n(b) execute_request 1+1, open loop; latency = scheduled send -> execute_reply + idle")
    header = (f"  {'server':<16}{'kernel':<9}{'K':>4}{'R/s':>5}{'sent':>7}{'thru/s':>9}{'p50 ms':>9}"
              f"{'p99 ms':>9}{'failed':>8}{'srv CPU s':>11}{'peak MiB':>10}{'RSS MiB':>9}{'anon MiB':>10}{'cli CPU s':>11}"
              f"{'lag p99':>9}")
    for key in dict.fromkeys((r["kernels"], r["rate"]) for r in phases):
        print(f"\n  phase K={key[0]} R={key[1]}/s")
        print(header)
        for r in (r for r in phases if (r["kernels"], r["rate"]) == key):
            print(f"  {SERVER_LABELS[r['server']]:<16}{r['kernel']:<9}{r['kernels']:>4}{r['rate']:>5}"
                  f"{r['requests']:>7}{r['throughput']:>9.1f}{fmt(r['p50_ms'], '.2f'):>9}"
                  f"{fmt(r['p99_ms'], '.2f'):>9}{r['failed']:>8}{fmt(r['server_cpu_s'], '.2f'):>11}"
                  f"{fmt(r['peak_rss_mib'], '.1f'):>10}{fmt(r['rss_mib'], '.1f'):>9}{fmt(r['anon_rss_mib'], '.1f'):>10}"
                  f"{r['client_cpu_s']:>11.2f}"
                  f"{fmt(r['send_lag_p99_ms'], '.2f'):>9}")
        for c in (c for c in checks if c["phase"] == key):
            verdict = c["target"] if c["met"] is None else f"target {c['target']}: {'met' if c['met'] else 'NOT met'}"
            print(f"  {c['check']}: {fmt(c['value'], '.3f' if isinstance(c['value'], float) else '')} ({verdict})")


def write_results(args, kinds, startup, phases, checks):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(ROOT, "bench", "results", f"server-{stamp}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    versions = {"python": platform.python_version(), "jupyter_server": importlib.metadata.version("jupyter_server"),
                "ipykernel": importlib.metadata.version("ipykernel")}
    if "hops" in kinds:
        versions["hops"] = subprocess.run([HOPS, "version"], capture_output=True, text=True).stdout.strip()
    with open(out, "w") as f:
        json.dump({"when": stamp, "config": {k: v for k, v in vars(args).items() if k != "quick"},
                   "host": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()}, "versions": versions,
                   "startup": startup, "phases": phases, "checks": checks}, f, indent=1)
    return os.path.relpath(out, ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernels", default="8,32", help="comma-separated kernel counts K")
    ap.add_argument("--rates", default="10,50", help="comma-separated requests/s per kernel R")
    ap.add_argument("--duration", type=float, default=10, help="seconds of load per phase")
    ap.add_argument("--timeout", type=float, default=10, help="a request not done after this many s failed")
    ap.add_argument("--servers", default="hops,jupyter,none",
                    help="comma-separated: hops, jupyter, none (the kernels alone over ZMQ: the latency floor)")
    ap.add_argument("--protocol", choices=sorted(CODECS), default="v1", help="websocket framing")
    ap.add_argument("--startup-repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smoke run: 8 kernels, 10 req/s, 5 s")
    args = ap.parse_args()
    if args.quick:
        args.kernels, args.rates, args.duration = "8", "10", 5
    args.kernels = [int(x) for x in args.kernels.split(",")]
    args.rates = [float(x) if "." in x else int(x) for x in args.rates.split(",")]
    kinds = [k.strip() for k in args.servers.split(",")]
    if not kinds or set(kinds) - set(SERVER_LABELS):
        ap.error(f"--servers takes a comma-separated subset of {sorted(SERVER_LABELS)}")
    if "hops" in kinds and not os.access(HOPS, os.X_OK):
        sys.exit(f"{HOPS} is missing: run `make build` (or pass --servers jupyter)")

    # A SIGTERM to this script must still stop the servers: turn it into an exception that unwinds.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    AsyncHTTPClient.configure(None, max_clients=256)
    servers = {}
    t0 = client_cpu()
    print(f"server bench: servers={','.join(kinds)} kernels={args.kernels} rates={args.rates} "
          f"duration={args.duration}s timeout={args.timeout}s protocol={args.protocol} "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}", flush=True)

    async def run():
        http = AsyncHTTPClient()
        startup = await measure_startup(http, [k for k in kinds if k != "none"], args.startup_repeats)
        print("start-up measured", flush=True)
        with tempfile.TemporaryDirectory(prefix="hops-bench-direct-") as direct_runtime:
            return startup, await run_load(http, kinds, args, servers, direct_runtime)

    try:
        startup, phases = asyncio.run(run())
    finally:
        for server in servers.values():
            server.stop()

    checks = evaluate(phases, kinds)
    out = write_results(args, kinds, startup, phases, checks)
    report(startup, phases, checks)
    print(f"\nclient CPU for the whole run: {client_cpu() - t0:.1f} s")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
