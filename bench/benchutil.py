"""Helpers the benchmark scripts share: percentiles and summaries of timings, Go's RFC 3339 times,
free ports, the processes below a server (to kill what it failed to stop), hops lab in a process group
of its own, and the hops kernel driven by jupyter_client."""
import datetime
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary_ms(values_s):
    ms = [v * 1000 for v in values_s]
    return {"median_ms": statistics.median(ms), "p90_ms": percentile(ms, 90), "min_ms": min(ms),
            "max_ms": max(ms), "n": len(ms), "runs_ms": [round(v, 2) for v in ms]}


def parse_time(text):
    """RFC 3339 with up to nanoseconds (Go's time.Time) -> seconds since the epoch."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = m.group(2) or "0"
    return base.timestamp() + int(frac) / 10 ** len(frac)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    """Every process below pid, so what a server failed to stop can be killed by its own id."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Cell:
    """What executing one cell gave."""
    t_wall: float      # wall clock when execute_request went out
    seconds: float     # from execute_request to execute_reply and idle
    reply: dict
    exp_id: str = None  # the experiment a %%hops run display named
    text: str = ""      # the text/plain of what it displayed
    display_bytes: int = 0
    errors: list = field(default_factory=list)


class HopsKernel:
    """The hops kernel (Go proxy kernel, ipykernel as its engine) started by jupyter_client with env
    (JUPYTER_PATH where its kernelspec is), talking to a hops lab through HOPS_SERVER_URL and
    HOPS_TOKEN, as a kernel that hops lab did not start would."""

    def __init__(self, env, url, token, cwd, log_path):
        from jupyter_client.manager import KernelManager

        os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]  # where KernelManager finds the kernelspec
        self.log = open(log_path, "wb")
        self.km = KernelManager(kernel_name="hops")
        self.km.start_kernel(env=dict(env, HOPS_SERVER_URL=url, HOPS_TOKEN=token), stderr=self.log, cwd=cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.pid = self.km.provisioner.pid

    def execute(self, code, timeout=600):
        """Runs a cell and waits for its reply and idle."""
        cell = Cell(t_wall=time.time(), seconds=0, reply=None)
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        idle, texts = False, []
        deadline = t0 + timeout
        while cell.reply is None or not idle:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no reply and idle after {timeout} s for {code[:60]!r}")
            if cell.reply is None and self.kc.shell_channel.msg_ready():
                m = self.kc.get_shell_msg(timeout=left)
                if m["parent_header"].get("msg_id") == msg_id:
                    cell.reply = m["content"]
                continue
            try:
                m = self.kc.get_iopub_msg(timeout=min(left, 0.05))
            except Exception:  # queue.Empty: look at the shell channel again
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = m["msg_type"], m["content"]
            if kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind in ("display_data", "update_display_data", "execute_result"):
                display = content.get("transient", {}).get("display_id", "")
                if display.startswith("hops-run-"):
                    cell.exp_id = display[len("hops-run-"):]
                if kind != "update_display_data":
                    texts.append(content.get("data", {}).get("text/plain", ""))
                    cell.display_bytes += len(json.dumps(content.get("data", {})))
            elif kind == "error":
                cell.errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "stream" and content["name"] == "stderr":
                cell.errors.append(content["text"][-500:])
        cell.seconds = time.perf_counter() - t0
        cell.text = "\n".join(texts)
        return cell

    def stop(self):
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        finally:
            self.log.close()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOPS = os.path.join(ROOT, "bin", "hops")


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_group(proc, grace=10):
    """SIGTERM to a process group we started, SIGKILL after grace, then leftovers by pid."""
    if proc is None:
        return
    leftovers = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kill_pids(leftovers)


class HopsLab:
    """hops lab on workspace, in its own process group, with private Jupyter dirs under tmp and the hops
    kernelspec installed in a private Jupyter path for jupyter_client (env["JUPYTER_PATH"])."""

    def __init__(self, tmp, workspace, python=sys.executable):
        self.tmp, self.workspace, self.python, self.proc = tmp, workspace, python, None

    def start(self, ready):
        """Starts it and returns once ready() (a first API call) stops raising OSError."""
        for d in ("config", "runtime", "ipython", "kernelspec"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        subprocess.run([HOPS, "kernelspec", "install", "--prefix", os.path.join(self.tmp, "kernelspec"),
                        "--python", self.python], check=True, capture_output=True)
        self.token = secrets.token_hex(24)
        self.env = dict(os.environ,
                        JUPYTER_PATH=os.path.join(self.tmp, "kernelspec", "share", "jupyter"),
                        JUPYTER_CONFIG_DIR=os.path.join(self.tmp, "config"),
                        JUPYTER_RUNTIME_DIR=os.path.join(self.tmp, "runtime"),
                        IPYTHONDIR=os.path.join(self.tmp, "ipython"))
        self.log_path = os.path.join(self.tmp, "lab.log")
        t0 = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [HOPS, "lab", "--dir", self.workspace, "--port", "0", "--token", self.token, "--python", self.python],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            with open(self.log_path, errors="replace") as f:
                m = re.search(r"http://127\.0\.0\.1:\d+/", f.read())
            if m:
                self.url = m.group(0)
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hops lab printed no URL:\n{self.log_tail()}")
            time.sleep(0.02)
        # The URL is printed once it listens; the API answers once the services are set up.
        while True:
            try:
                ready()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hops lab does not answer its API:\n{self.log_tail()}")
                time.sleep(0.02)
        self.startup_s = time.perf_counter() - t0
        return self

    def log_tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        """Stops hops lab (it stops its kernels and trials) and what it left behind. Safe to call twice."""
        proc, self.proc = self.proc, None
        stop_group(proc)
