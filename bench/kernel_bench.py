"""make bench: the hops kernel against ipykernel launched directly, same venv, same run.

1. execute_request `1+1` round trip (sent -> execute_reply and status idle received): median, p99.
   Target: hops median overhead <= 10 %.
2. A cell printing 200,000 lines: every line must arrive, in order. Target: wall time <= 1.1x.
3. `%hops version` round trip (answered by hops itself) vs ipykernel's `1+1`. Target: >= 3x faster.
4. Interrupt latency of a `time.sleep(600)` cell, both interrupt modes (reported; target < 1 s).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from jupyter_client.manager import KernelManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1000"))
LINES = 200_000


def install_kernelspecs():
    prefix = tempfile.mkdtemp(prefix="hops-bench-")
    hops = os.path.join(ROOT, "bin", "hops")
    subprocess.run([hops, "kernelspec", "install", "--prefix", prefix, "--python", sys.executable],
                   check=True, capture_output=True)
    subprocess.run([hops, "kernelspec", "install", "--prefix", prefix, "--name", "hops-message",
                    "--python", sys.executable], check=True, capture_output=True)
    spec = os.path.join(prefix, "share", "jupyter", "kernels", "hops-message", "kernel.json")
    kj = json.load(open(spec))
    kj["interrupt_mode"] = "message"
    json.dump(kj, open(spec, "w"))
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")


class Kernel:
    def __init__(self, name):
        self.km = KernelManager(kernel_name=name)
        self.km.start_kernel(stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def roundtrip(self, code, on_output=None):
        """Seconds from sending execute_request to having both its reply and its idle."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        replied = idle = False
        while not (replied and idle):
            if not replied and self.kc.shell_channel.msg_ready():
                m = self.kc.get_shell_msg(timeout=60)
                replied = m["parent_header"].get("msg_id") == msg_id
                continue
            m = self.kc.get_iopub_msg(timeout=60)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                idle = True
                if not replied:
                    replied = self.kc.get_shell_msg(timeout=60)["parent_header"]["msg_id"] == msg_id
            elif on_output:
                on_output(m)
        return time.perf_counter() - t0

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def latencies(k, code):
    for _ in range(50):
        k.roundtrip(code)
    return sorted(k.roundtrip(code) for _ in range(ROUNDS))


def paired_latencies(a, b, code):
    """Alternates the two kernels round by round, so machine noise hits both alike."""
    for _ in range(50):
        a.roundtrip(code)
        b.roundtrip(code)
    xs, ys = [], []
    for _ in range(ROUNDS):
        xs.append(a.roundtrip(code))
        ys.append(b.roundtrip(code))
    return sorted(xs), sorted(ys)


def p(xs, q):
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def ms(x):
    return f"{x * 1000:.3f} ms"


def flood(k):
    chunks = []
    took = k.roundtrip(f"for i in range({LINES}): print(i)",
                       lambda m: chunks.append(m["content"]["text"]) if m["msg_type"] == "stream" else None)
    lines = "".join(chunks).split("\n")[:-1]
    return took, lines == [str(i) for i in range(LINES)]


def interrupt_latency(name):
    k = Kernel(name)
    sent = []

    def interrupt():
        time.sleep(1.0)
        sent.append(time.perf_counter())
        k.km.interrupt_kernel()
    threading.Thread(target=interrupt).start()
    t_end = [0.0]
    k.roundtrip("import time; time.sleep(600)", None)
    t_end[0] = time.perf_counter()
    k.close()
    return t_end[0] - sent[0]


def main():
    install_kernelspecs()
    print(f"rounds={ROUNDS} lines={LINES} python={sys.version.split()[0]}\n")
    direct, hops = Kernel("python3"), Kernel("hops")
    try:
        d, h = paired_latencies(direct, hops, "1+1")
        print("1. execute_request 1+1, sent -> reply + idle")
        print(f"   ipykernel direct   median {ms(statistics.median(d))}  p99 {ms(p(d, .99))}")
        print(f"   hops kernel        median {ms(statistics.median(h))}  p99 {ms(p(h, .99))}")
        over = statistics.median(h) / statistics.median(d) - 1
        print(f"   median overhead {over * 100:+.1f} %  (target <= +10 %)  p99 ratio {p(h, .99) / p(d, .99):.2f}x\n")

        fd, ok_d = flood(direct)
        fh, ok_h = flood(hops)
        print(f"2. print {LINES:,} lines")
        print(f"   ipykernel direct   {fd:.3f} s  all lines in order: {ok_d}")
        print(f"   hops kernel        {fh:.3f} s  all lines in order: {ok_h}")
        print(f"   ratio {fh / fd:.3f}x  (target <= 1.1x)\n")

        # Last: the engine records each %hops cell in its history off the cell's critical path, so a
        # burst of them leaves the engine busy for a moment afterwards.
        v = latencies(hops, "%hops version")
        drain = hops.roundtrip("1+1")
        print("3. %hops version (answered by hops) vs ipykernel 1+1")
        print(f"   %hops version      median {ms(statistics.median(v))}  p99 {ms(p(v, .99))}")
        print(f"   {statistics.median(d) / statistics.median(v):.1f}x faster than ipykernel's 1+1  (target >= 3x)")
        print(f"   engine caught up with the {ROUNDS + 50} history records in {drain:.3f} s after the burst\n")
    finally:
        direct.close()
        hops.close()

    print("4. interrupt of time.sleep(600), interrupt sent -> reply + idle")
    for name in ("python3", "hops", "hops-message"):
        print(f"   {name:<18} {ms(interrupt_latency(name))}")
    if not (ok_d and ok_h):
        sys.exit("lines were lost or reordered")


if __name__ == "__main__":
    main()
