"""The hops kernel's life as a frontend sees it: interrupts (signal and message), the engine dying
mid-cell, restart and shutdown."""
import os
import signal
import threading
import time

import pytest
from jupyter_client.manager import KernelManager

from conftest import run


def engine_pid(kc):
    reply, out = run(kc, "import os; os.getpid()")
    return int([c for t, c in out if t == "execute_result"][0]["data"]["text/plain"])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"


def interrupt_sleeping_cell(km, kc, code):
    """Runs code that sleeps 600 s, interrupts it after the sleep starts; returns (reply, output, seconds)."""
    def interrupt():
        time.sleep(1.5)
        interrupt.sent = time.monotonic()
        km.interrupt_kernel()
    t = threading.Thread(target=interrupt)
    t.start()
    reply, out = run(kc, code, timeout=60)
    took = time.monotonic() - interrupt.sent
    t.join()
    return reply, out, took


@pytest.mark.parametrize("kernel_name", ["hops", "hops-message"])
@pytest.mark.parametrize("code", ["import time\ntime.sleep(600)", "%hops version\nimport time\ntime.sleep(600)"])
def test_interrupt_stops_a_sleeping_cell_and_the_kernel_stays_usable(kernel_name, code):
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, out, took = interrupt_sleeping_cell(km, kc, code)
        print(f"{kernel_name}: interrupt to reply {took:.3f}s")
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        assert [c["ename"] for t, c in out if t == "error"] == ["KeyboardInterrupt"]
        reply, out = run(kc, "print('still here')")
        assert reply["status"] == "ok" and ("stream", {"name": "stdout", "text": "still here\n"}) in out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("code", ["import os\nos.kill(os.getpid(), 9)", "%hops version\nimport os\nos.kill(os.getpid(), 9)"])
def test_engine_death_mid_cell_gives_an_error_reply_and_a_fresh_engine(kernel, code):
    km, kc = kernel
    run(kc, "x = 42")
    first = engine_pid(kc)
    reply, out = run(kc, code, timeout=30)
    assert reply["status"] == "error" and reply["ename"] == "EngineDied"
    assert "killed by signal KILL" in reply["evalue"] and "fresh engine" in reply["evalue"]
    assert [t for t, _ in out if t == "error"] == ["error"]
    second = engine_pid(kc)
    assert second != first and not alive(first)
    reply, out = run(kc, "x")
    assert reply["status"] == "error" and reply["ename"] == "NameError"  # state is gone, and said so


def test_engine_killed_from_outside_while_sleeping(kernel):
    km, kc = kernel
    pid = engine_pid(kc)
    threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
    reply, out = run(kc, "import time; time.sleep(600)", timeout=30)
    assert reply["ename"] == "EngineDied"
    reply, out = run(kc, "1+1")
    assert reply["status"] == "ok"


def test_restart_gives_a_fresh_engine_and_shutdown_reaps_it(kernel):
    km, kc = kernel
    run(kc, "y = 1")
    before = engine_pid(kc)
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    assert not alive(before)
    reply, _ = run(kc, "y")
    assert reply["ename"] == "NameError"
    after = engine_pid(kc)
    hops_pid = km.provisioner.pid
    km.shutdown_kernel(now=False)
    deadline = time.monotonic() + 10
    while (alive(after) or alive(hops_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(after) and not alive(hops_pid)


def test_kernel_info_names_hops_and_the_engine(kernel):
    km, kc = kernel
    kc.kernel_info()
    info = kc.get_shell_msg(timeout=10)["content"]
    assert info["implementation"] == "hops" and info["protocol_version"] == "5.3"
    assert info["language_info"]["name"] == "python" and "ipython" in info["banner"]
    assert "kernel subshells" not in info.get("supported_features", [])


def test_engine_flag_runs_another_installed_kernelspec(jupyter_path, tmp_path):
    """--engine NAME runs the named kernelspec (here the venv's python3 ipykernel spec) under hops."""
    import json
    import subprocess
    import sys
    from conftest import HOPS

    subprocess.run([str(HOPS), "kernelspec", "install", "--prefix", str(jupyter_path.parent.parent),
                    "--name", "hops-engine", "--python", sys.executable, "--engine", "python3"], check=True)
    argv = json.loads((jupyter_path / "kernels" / "hops-engine" / "kernel.json").read_text())["argv"]
    assert argv[-2:] == ["--engine", "python3"]
    km = KernelManager(kernel_name="hops-engine")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, out = run(kc, "import sys\n%hops version\nprint(sys.executable)")
        assert reply["status"] == "ok"
        assert ("stream", {"name": "stdout", "text": sys.executable + "\n"}) in out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_unknown_engine_fails_with_a_message(tmp_path):
    import subprocess
    from conftest import HOPS

    conn = tmp_path / "conn.json"
    conn.write_text('{"transport": "tcp", "ip": "127.0.0.1", "shell_port": 0, "iopub_port": 0, "stdin_port": 0,'
                    ' "control_port": 0, "hb_port": 0, "key": "k", "signature_scheme": "hmac-sha256"}')
    p = subprocess.run([str(HOPS), "kernel", "-f", str(conn), "--engine", "no-such-engine"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "no-such-engine" in p.stderr and "jupyter kernelspec list" in p.stderr


def test_an_engine_that_cannot_start_is_reported_with_its_output(jupyter_path, tmp_path):
    import subprocess
    from conftest import HOPS

    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'No module named ipykernel_launcher' >&2\nexit 1\n")
    broken.chmod(0o755)
    subprocess.run([str(HOPS), "kernelspec", "install", "--prefix", str(jupyter_path.parent.parent),
                    "--name", "hops-broken", "--python", str(broken)], check=True)
    km = KernelManager(kernel_name="hops-broken")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)  # hops itself answers, and says why the engine is missing
        kc.kernel_info()
        assert "not running" in kc.get_shell_msg(timeout=10)["content"]["banner"]
        reply, out = run(kc, "1+1")
        assert reply["ename"] == "EngineUnavailable" and "No module named ipykernel_launcher" in reply["evalue"]
        reply, out = run(kc, "%hops version\n1+1")
        assert reply["ename"] == "EngineUnavailable" and "restart the kernel" in reply["evalue"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_killing_the_hops_process_takes_its_engine_along(kernel):
    km, kc = kernel
    engine = engine_pid(kc)
    os.kill(km.provisioner.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(engine) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(engine), "the engine outlived the kernel that supervised it"


def test_kernel_exits_when_the_frontend_that_started_it_is_killed(tmp_path):
    """A frontend killed with SIGKILL cannot shut its kernels down; like ipykernel, hops watches the
    process named by JPY_PARENT_PID and exits (with its engine) when it is gone."""
    import subprocess
    import sys

    from jupyter_client.connect import write_connection_file
    from conftest import HOPS

    conn, _ = write_connection_file(fname=str(tmp_path / "kernel-parent.json"), ip="127.0.0.1")
    # A stand-in frontend: a shell that starts the kernel with its own pid as JPY_PARENT_PID.
    frontend = subprocess.Popen(["bash", "-c", f'JPY_PARENT_PID=$$ "{HOPS}" kernel -f "{conn}" --python "{sys.executable}" '
                                 f'& echo $! > "{tmp_path}/pid"; wait'])
    deadline = time.monotonic() + 10
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text().strip():
        assert time.monotonic() < deadline, "the stand-in frontend did not start the kernel"
        time.sleep(0.05)
    kernel_pid = int((tmp_path / "pid").read_text())
    time.sleep(1)
    frontend.kill()
    frontend.wait()
    deadline = time.monotonic() + 15
    while alive(kernel_pid):
        assert time.monotonic() < deadline, "the kernel outlived its frontend by 15 s"
        time.sleep(0.1)
