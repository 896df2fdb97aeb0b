"""Shared fixtures: the hops kernelspec installed in a private Jupyter path for the whole test run."""
import contextlib
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOPS = ROOT / "bin" / "hops"


@pytest.fixture(scope="session", autouse=True)
def jupyter_path(tmp_path_factory):
    """Installs the hops kernelspec (and a message-interrupt variant) where jupyter_client finds it."""
    if not HOPS.exists():
        pytest.fail(f"{HOPS} is missing: run `make build` (make test does it)")
    prefix = tmp_path_factory.mktemp("jupyter")
    subprocess.run([str(HOPS), "kernelspec", "install", "--prefix", str(prefix), "--python", sys.executable], check=True)
    subprocess.run([str(HOPS), "kernelspec", "install", "--prefix", str(prefix), "--name", "hops-message",
                    "--python", sys.executable], check=True)
    spec = prefix / "share" / "jupyter" / "kernels" / "hops-message" / "kernel.json"
    kj = json.loads(spec.read_text())
    kj["interrupt_mode"] = "message"
    kj["display_name"] = "Python 3 (hops, message interrupts)"
    spec.write_text(json.dumps(kj))
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    yield prefix / "share" / "jupyter"


@pytest.fixture
def kernel(tmp_path):
    """A running hops kernel with a blocking client; its stderr (the kernel log) is kept in a file."""
    from jupyter_client.manager import KernelManager

    log = tmp_path / "kernel.log"
    with open(log, "w") as err:
        km = KernelManager(kernel_name="hops")
        km.start_kernel(stderr=err)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.log_path = log
        yield km, kc
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code, timeout=60, **kw):
    """Executes code and returns (reply content, [(msg_type, content)...]) of its IOPub output."""
    out = []
    reply = kc.execute_interactive(code, output_hook=lambda m: out.append((m["msg_type"], m["content"])),
                                   timeout=timeout, **kw)
    return reply["content"], out


@contextlib.contextmanager
def running_hops_lab(workspace, python=sys.executable):
    """Runs hops lab on workspace (a fresh directory) and yields its URL; the token is "sdk"."""
    log = open(workspace / "lab.log", "w+")
    proc = subprocess.Popen([str(HOPS), "lab", "--dir", str(workspace), "--port", "0", "--token", "sdk",
                             "--python", python], stdout=log, stderr=log, start_new_session=True)
    try:
        url = None
        for _ in range(300):
            log.seek(0)
            m = re.search(r"http://127\.0\.0\.1:\d+/", log.read())
            if m:
                url = m.group(0)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert url, f"hops lab printed no URL:\n{(workspace / 'lab.log').read_text()}"
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def hops_lab(tmp_path, monkeypatch):
    """A running hops lab on a fresh workspace; HOPS_SERVER_URL and HOPS_TOKEN point at it, as in its kernels."""
    with running_hops_lab(tmp_path) as url:
        monkeypatch.setenv("HOPS_SERVER_URL", url)
        monkeypatch.setenv("HOPS_TOKEN", "sdk")
        yield tmp_path


def api(url, path, method="GET", body=None):
    """Calls hops lab's API (token "sdk") and returns the JSON answer, or the raw bytes of a file."""
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "token sdk", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
    return json.loads(data) if data[:1] in (b"{", b"[") else data
