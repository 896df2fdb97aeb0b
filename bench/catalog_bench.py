"""make bench, part 4: listing and comparing 10,000 recorded experiments, hops against MLflow's tracking server.

What it measures, on a workspace seeded with --n finished experiments (bench/seedexperiments: realistic
records, 1-3 trials each, an environment snapshot of .venv's interpreter with ~100 packages in every
record; --timelines of them with one trial that logged `accuracy` and `loss` at --steps steps):
  (a) the first page: GET /api/hops/experiments?limit=50 over one keep-alive HTTP connection, request sent
      -> whole body read; target <= 50 ms (median). For information: the body's size, and how much of it is
      the records' environment snapshots.
  (b) `%hops experiments list` (its default, 20 runs) and `--limit 50` through the hops kernel
      (jupyter_client: execute_request -> execute_reply and IOPub idle); target <= 50 ms.
  (c) compare: `%hops experiments compare ID1 ... ID20` of the --timelines runs through the kernel, and the
      20 GETs of /api/hops/experiments/{id} (full records, timelines included) that it makes, one after
      another on one keep-alive connection; target <= 300 ms.
  MLflow (mlflow from bench/requirements.txt, in .venv-bench), with the same runs (same names, params and
  final metrics of each experiment's best trial, start/end times; the same 1,000-step timelines for the
  --timelines runs) in an sqlite backend store, served by `mlflow server` with its defaults: the first page
  is POST /api/2.0/mlflow/runs/search {max_results: 50, order_by start_time DESC}; compare is, per run,
  GET runs/get and GET metrics/get-history for each of its 2 metrics (60 requests), as the MLflow UI's
  compare view needs. hops and MLflow are measured alternately, repeat by repeat, after --warmups, so
  machine noise hits both alike; both servers run for the whole measurement.

Seeding: hops's catalog is written by bench/seedexperiments (compiled first, compile time not counted).
MLflow's store is filled through MlflowClient (create_run, log_batch, set_terminated per run: ~9 ms a run,
~90 s for 10,000) and cached under bench/results/.cache/ keyed by n, steps, timelines, seed, the mlflow
version and the seeder's source, so reruns reuse it (the served copy is a fresh copy of the cache).
Both seeding times are reported (for a cached store: the time it took when it was made).

Usage: .venv/bin/python bench/catalog_bench.py [--n 10000] [--repeats 20] [--warmups 3] [--steps 1000]
                                               [--timelines 20] [--skip-mlflow] [--no-cache]
Results also go to bench/results/catalog-<timestamp>.json (git-ignored).
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from benchutil import HopsKernel, HopsLab, descendants, free_port, parse_time, stop_group, summary_ms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOPS = os.path.join(ROOT, "bin", "hops")
PYTHON = sys.executable
BENCH_PYTHON = os.path.join(ROOT, ".venv-bench", "bin", "python")
CACHE = os.path.join(ROOT, "bench", "results", ".cache")
SEEDER = os.path.join(ROOT, "bench", "seedexperiments")
TARGET_LIST_MS = 50
TARGET_COMPARE_MS = 300
PAGE = 50


# ---------------------------------------------------------------------------------------------------
# Small helpers.

class Conn:
    """One keep-alive HTTP/1.1 connection; request() returns (status, body bytes) with the body read."""

    def __init__(self, base_url, headers=None):
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")
        self.headers = headers or {}
        self.c = None

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
                self.c.connect()
                self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = None if body is None else json.dumps(body).encode()
            h = dict(self.headers)
            if data is not None:
                h["Content-Type"] = "application/json"
            try:
                self.c.request(method, self.prefix + path, body=data, headers=h)
                r = self.c.getresponse()
                payload = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.c.close()
                self.c = None
                if attempt:
                    raise
                continue
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {r.status}: {payload[:300]!r}")
            return payload

    def json(self, method, path, body=None):
        return json.loads(self.request(method, path, body))

    def close(self):
        if self.c is not None:
            self.c.close()


# ---------------------------------------------------------------------------------------------------
# Seeding.

def seeder_key():
    h = hashlib.sha256()
    for name in sorted(os.listdir(SEEDER)):
        with open(os.path.join(SEEDER, name), "rb") as f:
            h.update(name.encode() + f.read())
    return h.hexdigest()[:12]


def seed_hops(tmp, workspace, args):
    """Builds and runs the seeder: (timeline ids, export path, seconds, seeder's stderr line)."""
    binary = os.path.join(tmp, "seedexperiments")
    subprocess.run(["go", "build", "-o", binary, "./bench/seedexperiments"], cwd=ROOT, check=True)
    export = os.path.join(tmp, "runs.jsonl")
    t0 = time.perf_counter()
    r = subprocess.run([binary, "-dir", workspace, "-n", str(args.n), "-steps", str(args.steps), "-timelines",
                        str(args.timelines), "-python", PYTHON, "-export", export, "-seed", str(args.seed)],
                       cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"seedexperiments failed: {r.stderr}")
    return json.loads(r.stdout), export, dt, r.stderr.strip()


def mlflow_seed_child(export, db, manifest):
    """Runs in .venv-bench: fills an MLflow sqlite store with the exported runs through MlflowClient."""
    t0 = time.perf_counter()
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    eid = client.create_experiment("hops-bench", artifact_location=os.path.join(os.path.dirname(db), "artifacts"))
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    timeline_runs, n, points = [], 0, 0
    with open(export) as f:
        for line in f:
            r = json.loads(line)
            run = client.create_run(eid, start_time=r["started_ms"], run_name=r["name"], tags={"hops.id": r["id"]})
            rid = run.info.run_id
            metrics = [Metric(k, v, r["ended_ms"], 0) for k, v in sorted(r["metrics"].items())]
            if r.get("timeline"):
                metrics = []
                for key, pts in sorted(r["timeline"].items()):
                    for p in pts:
                        metrics.append(Metric(key, p["value"], int(parse_time(p["time"]) * 1000), p["step"]))
                timeline_runs.append({"hops_id": r["id"], "run_id": rid, "metrics": sorted(r["timeline"])})
                points += len(metrics)
            params = [Param(k, str(v)) for k, v in sorted(r["params"].items())]
            for i in range(0, max(len(metrics), 1), 1000):  # log_batch takes at most 1000 metrics
                client.log_batch(rid, metrics=metrics[i:i + 1000], params=params if i == 0 else [])
            client.set_terminated(rid, "FINISHED", end_time=r["ended_ms"])
            n += 1
    t_runs = time.perf_counter() - t0
    import mlflow
    with open(manifest, "w") as f:
        json.dump({"experiment_id": eid, "runs": n, "points": points, "timeline_runs": timeline_runs,
                   "import_s": t_import, "init_s": t_init, "runs_s": t_runs, "mlflow": mlflow.__version__,
                   "seeded_at": datetime.datetime.now().isoformat(timespec="seconds")}, f)
    return 0


def seed_mlflow(export, args):
    """The cached MLflow store for this configuration, seeded first if needed: (db path, manifest, cached?)."""
    version = subprocess.run([BENCH_PYTHON, "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = f"mlflow-{version}-n{args.n}-s{args.steps}-t{args.timelines}-seed{args.seed}-{seeder_key()}"
    d = os.path.join(CACHE, key)
    db, manifest = os.path.join(d, "mlflow.db"), os.path.join(d, "manifest.json")
    if os.path.exists(manifest) and not args.no_cache:
        with open(manifest) as f:
            return db, json.load(f), True
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    print(f"  seeding MLflow ({args.n} runs through MlflowClient, ~{args.n * 9 / 1000:.0f} s; cached in "
          f"{os.path.relpath(d, ROOT)}) ...", flush=True)
    t0 = time.perf_counter()
    r = subprocess.run([BENCH_PYTHON, os.path.abspath(__file__), "--mlflow-seed", export, "--mlflow-db", db,
                        "--mlflow-manifest", manifest + ".tmp"], capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(d, ignore_errors=True)
        raise RuntimeError(f"seeding MLflow failed:\n{r.stderr[-3000:]}")
    with open(manifest + ".tmp") as f:
        m = json.load(f)
    m["wall_s"] = time.perf_counter() - t0
    with open(manifest, "w") as f:
        json.dump(m, f)
    os.remove(manifest + ".tmp")
    return db, m, False


# ---------------------------------------------------------------------------------------------------
# The servers and the kernel.

class Lab(HopsLab):
    """hops lab on the seeded workspace, asked over one keep-alive connection."""

    def start(self):
        self.conn = None

        def ready():
            self.conn = self.conn or Conn(self.url + "api/hops", {"Authorization": f"token {self.token}"})
            try:
                self.conn.request("GET", "/experiments?limit=1")
            except (OSError, RuntimeError) as e:  # not listening, or not answering 200 yet
                self.conn.close()
                self.conn.c = None
                raise OSError(e) from None

        return super().start(ready)


class MLflowServer:
    def __init__(self, tmp, db):
        self.tmp, self.db, self.proc = tmp, db, None

    def start(self):
        self.port = free_port()
        self.log_path = os.path.join(self.tmp, "mlflow.log")
        mlflow = os.path.join(os.path.dirname(BENCH_PYTHON), "mlflow")
        t0 = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [mlflow, "server", "--backend-store-uri", f"sqlite:///{self.db}", "--default-artifact-root",
                 os.path.join(self.tmp, "mlartifacts"), "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env=dict(os.environ, MLFLOW_TRACKING_URI=""))
        self.conn = Conn(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + 180
        while True:
            try:
                self.conn.request("GET", "/health")
                break
            except (OSError, RuntimeError):
                self.conn.close()
                self.conn.c = None
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    with open(self.log_path, errors="replace") as f:
                        raise RuntimeError(f"mlflow server does not answer /health:\n{f.read()[-3000:]}")
                time.sleep(0.1)
        self.startup_s = time.perf_counter() - t0
        return self

    def stop(self):
        proc, self.proc = self.proc, None
        stop_group(proc)


# ---------------------------------------------------------------------------------------------------
# Measurements.

def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def hops_list(lab):
    return lab.conn.request("GET", f"/experiments?limit={PAGE}")


def hops_compare(lab, ids):
    return sum(len(lab.conn.request("GET", f"/experiments/{i}")) for i in ids)


def mlflow_list(ml, eid):
    return ml.conn.request("POST", "/api/2.0/mlflow/runs/search",
                           {"experiment_ids": [eid], "max_results": PAGE, "order_by": ["attributes.start_time DESC"]})


def mlflow_compare(ml, runs):
    size = 0
    for r in runs:
        size += len(ml.conn.request("GET", f"/api/2.0/mlflow/runs/get?run_id={r['run_id']}"))
        for key in r["metrics"]:
            token = None
            while True:
                q = f"run_id={r['run_id']}&metric_key={key}" + (f"&page_token={token}" if token else "")
                body = ml.conn.request("GET", f"/api/2.0/mlflow/metrics/get-history?{q}")
                size += len(body)
                token = json.loads(body).get("next_page_token")
                if not token:
                    break
    return size


def measure_api(lab, ml, eid, hops_ids, ml_runs, repeats, warmups):
    """hops and MLflow alternately, repeat by repeat: list (first page) and compare."""
    series = {k: [] for k in ("hops_list", "hops_compare", "mlflow_list", "mlflow_compare")}
    sizes = {}
    for i in range(warmups + repeats):
        dt, body = timed(lambda: hops_list(lab))
        sizes["hops_list_bytes"] = len(body)
        if i >= warmups:
            series["hops_list"].append(dt)
        if ml:
            dt, body = timed(lambda: mlflow_list(ml, eid))
            sizes["mlflow_list_bytes"] = len(body)
            if i >= warmups:
                series["mlflow_list"].append(dt)
        dt, size = timed(lambda: hops_compare(lab, hops_ids))
        sizes["hops_compare_bytes"] = size
        if i >= warmups:
            series["hops_compare"].append(dt)
        if ml:
            dt, size = timed(lambda: mlflow_compare(ml, ml_runs))
            sizes["mlflow_compare_bytes"] = size
            if i >= warmups:
                series["mlflow_compare"].append(dt)
    return {k: summary_ms(v) for k, v in series.items() if v}, sizes


def measure_kernel(kernel, ids, repeats, warmups):
    cells = {"kernel_list": "%hops experiments list", "kernel_list_50": f"%hops experiments list --limit {PAGE}",
             "kernel_compare": "%hops experiments compare " + " ".join(ids)}
    series, info = {k: [] for k in cells}, {}
    for i in range(warmups + repeats):
        for k, code in cells.items():
            c = kernel.execute(code, timeout=120)
            if c.reply.get("status") != "ok" or c.errors:
                raise RuntimeError(f"{code[:60]}: {c.reply.get('ename')}: {c.reply.get('evalue')} {c.errors}")
            info[k + "_output"] = c.text.splitlines()[0][:200] if c.text else ""
            info[k + "_display_bytes"] = c.display_bytes
            if i >= warmups:
                series[k].append(c.seconds)
    return {k: summary_ms(v) for k, v in series.items()}, info


def profile_compare(tmp, lab, ids, repeats):
    """bench/catalogprofile against the running lab: the parts of magics' Compare (GETs, decode, render,
    encode) in Go, so the kernel's number can be split into hops's work and the message's trip."""
    binary = os.path.join(tmp, "catalogprofile")
    subprocess.run(["go", "build", "-o", binary, "./bench/catalogprofile"], cwd=ROOT, check=True)
    r = subprocess.run([binary, "-url", lab.url, "-token", lab.token, "-ids", ",".join(ids), "-repeats",
                        str(repeats)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def list_anatomy(lab):
    """Where the first page's bytes go: the environment snapshots against the rest of each record."""
    body = hops_list(lab)
    items = json.loads(body)["experiments"]
    env = sum(len(json.dumps(e.get("environment"), separators=(",", ":"))) for e in items if e.get("environment"))
    code = sum(len(e.get("code", "")) + len(e.get("cell", "")) for e in items)
    t0 = time.perf_counter()
    json.loads(body)
    parse_ms = (time.perf_counter() - t0) * 1000
    return {"items": len(items), "bytes": len(body), "environment_bytes": env,
            "environment_share": env / max(len(body), 1), "code_and_cell_bytes": code,
            "bytes_per_item": len(body) / max(len(items), 1), "client_json_parse_ms": parse_ms}


def proc_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------------------------------
# Report.

def report(r):
    a, k = r["api"], r.get("kernel", {})
    print()
    print(f"catalog bench: n={r['config']['n']} experiments, repeats={r['config']['repeats']}, "
          f"cpus={os.cpu_count()}")
    s = r["seeding"]
    print(f"  seeding: hops {s['hops_s']:.2f} s ({s['hops_detail']})")
    if "mlflow" in s:
        m = s["mlflow"]
        how = "cached" if m["cached"] else "now"
        print(f"           MLflow {m['runs_s']:.1f} s for {m['runs']} runs + {m['points']} timeline points "
              f"(MlflowClient, {how}; seeded {m['seeded_at']})")
    print()
    print(f"  {'measurement':<58}{'median ms':>10}{'p90 ms':>9}{'bytes':>11}{'target':>9}  ")
    rows = [("hops  GET /api/hops/experiments?limit=50", a["hops_list"], r["sizes"].get("hops_list_bytes"),
             TARGET_LIST_MS),
            ("MLflow POST runs/search max_results=50", a.get("mlflow_list"), r["sizes"].get("mlflow_list_bytes"), None),
            ("hops  %hops experiments list (20, kernel)", k.get("kernel_list"), None, TARGET_LIST_MS),
            ("hops  %hops experiments list --limit 50 (kernel)", k.get("kernel_list_50"), None, TARGET_LIST_MS),
            ("hops  20 x GET /api/hops/experiments/{id}", a["hops_compare"], r["sizes"].get("hops_compare_bytes"),
             TARGET_COMPARE_MS),
            ("MLflow 20 x (runs/get + 2 x metrics/get-history)", a.get("mlflow_compare"),
             r["sizes"].get("mlflow_compare_bytes"), None),
            ("hops  %hops experiments compare ID x20 (kernel)", k.get("kernel_compare"), None, TARGET_COMPARE_MS)]
    for name, v, size, target in rows:
        if not v:
            continue
        t = f"<= {target}" if target else ""
        mark = ("met" if v["median_ms"] <= target else "MISSED") if target else ""
        print(f"  {name:<58}{v['median_ms']:>10.1f}{v['p90_ms']:>9.1f}{size or '':>11}{t:>9}  {mark}")
    if r.get("ratios"):
        print()
        for name, v in r["ratios"].items():
            print(f"  {name}: {v:.2f}x")
    an = r["list_anatomy"]
    print()
    print(f"  first page anatomy: {an['items']} records, {an['bytes']} bytes ({an['bytes_per_item']:.0f} a record), "
          f"environment snapshots {an['environment_bytes']} bytes ({100 * an['environment_share']:.0f} %), "
          f"code+cell {an['code_and_cell_bytes']} bytes; client JSON parse {an['client_json_parse_ms']:.1f} ms")
    print(f"  startup: hops lab {r['startup']['hops_lab_s']:.2f} s"
          + (f", mlflow server {r['startup']['mlflow_s']:.2f} s" if 'mlflow_s' in r['startup'] else "")
          + f"; RSS after: hops lab {r['rss_mib'].get('hops_lab') or 0:.0f} MiB"
          + (f", mlflow server (all processes) {r['rss_mib']['mlflow']:.0f} MiB" if r['rss_mib'].get('mlflow') else ""))
    p = r.get("compare_profile")
    if p:
        ki = r.get("kernel_info", {})
        print(f"  compare in Go (medians): {p['gets_ms']:.1f} ms GETs ({p['sizes']['records_bytes']} bytes) + "
              f"{p['decode_ms']:.1f} ms decode + ~{p['render_ms_estimate']:.1f} ms render = {p['compare_ms']:.1f} ms; "
              f"encoding the display {p['encode_ms']:.1f} ms ({p['sizes']['display_bytes']} bytes; the client "
              f"received {ki.get('kernel_compare_display_bytes', 0)} bytes of display data)")
    print()
    for c in r["checks"]:
        print(f"  {c['check']}: {c['value']:.1f} ms (target {c['target']}: {'met' if c['met'] else 'NOT met'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="recorded experiments")
    ap.add_argument("--repeats", type=int, default=20, help="measurements of each kind (after --warmups)")
    ap.add_argument("--warmups", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000, help="steps of each metric timeline")
    ap.add_argument("--timelines", type=int, default=20, help="runs compared (with timelines)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-mlflow", action="store_true", help="no MLflow (a machine without .venv-bench)")
    ap.add_argument("--skip-kernel", action="store_true", help="only the HTTP measurements")
    ap.add_argument("--no-cache", action="store_true", help="seed MLflow again even if a cached store exists")
    ap.add_argument("--mlflow-seed", help=argparse.SUPPRESS)
    ap.add_argument("--mlflow-db", help=argparse.SUPPRESS)
    ap.add_argument("--mlflow-manifest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mlflow_seed:
        sys.exit(mlflow_seed_child(args.mlflow_seed, args.mlflow_db, args.mlflow_manifest))
    if args.n < 1 or args.repeats < 1 or args.timelines < 2 or args.timelines > args.n:
        ap.error("--n and --repeats must be at least 1, --timelines from 2 to --n")
    if not os.access(HOPS, os.X_OK):
        sys.exit(f"{HOPS} is missing: run `make build`")
    if not args.skip_mlflow and subprocess.run([BENCH_PYTHON, "-c", "import mlflow"],
                                               capture_output=True).returncode != 0:
        sys.exit(f"mlflow is not installed in {BENCH_PYTHON}: run `make bench-deps` (or pass --skip-mlflow)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"catalog bench: n={args.n} steps={args.steps} timelines={args.timelines} repeats={args.repeats} "
          f"mlflow={'skipped' if args.skip_mlflow else 'yes'} cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}",
          flush=True)
    tmp = tempfile.mkdtemp(prefix="hops-bench-catalog-")
    lab = ml = kernel = None
    result = {"config": vars(args) | {"page": PAGE}, "seeding": {}, "startup": {}, "rss_mib": {}}
    try:
        workspace = os.path.join(tmp, "workspace")
        os.mkdir(workspace)
        ids, export, seed_s, detail = seed_hops(tmp, workspace, args)
        result["seeding"].update(hops_s=seed_s, hops_detail=detail, hops_db_bytes=os.path.getsize(
            os.path.join(workspace, ".hops", "experiments.db")))
        print(f"  hops seeded in {seed_s:.2f} s: {detail}", flush=True)
        eid, ml_runs = None, []
        if not args.skip_mlflow:
            db, manifest, cached = seed_mlflow(export, args)
            result["seeding"]["mlflow"] = dict(manifest, cached=cached, db_bytes=os.path.getsize(db))
            served = os.path.join(tmp, "mlflow.db")
            shutil.copyfile(db, served)
            eid, ml_runs = manifest["experiment_id"], manifest["timeline_runs"]
            print(f"  MLflow store: {'cached' if cached else 'seeded'} ({manifest['runs_s']:.1f} s to seed)", flush=True)
            ml = MLflowServer(tmp, served).start()
            result["startup"]["mlflow_s"] = ml.startup_s
            got = json.loads(mlflow_list(ml, eid))
            assert len(got["runs"]) == min(PAGE, args.n), f"MLflow listed {len(got['runs'])} runs"
        lab = Lab(tmp, workspace).start()
        result["startup"]["hops_lab_s"] = lab.startup_s
        first = json.loads(hops_list(lab))["experiments"]
        assert len(first) == min(PAGE, args.n), f"hops listed {len(first)} experiments"
        full = json.loads(lab.conn.request("GET", f"/experiments/{ids[0]}"))
        assert len(full["trials"][0]["timeline"]["loss"]) == args.steps, "timeline missing"
        result["list_anatomy"] = list_anatomy(lab)

        print("  measuring the HTTP APIs (hops and MLflow alternately) ...", flush=True)
        result["api"], result["sizes"] = measure_api(lab, ml, eid, ids, ml_runs, args.repeats, args.warmups)
        if not args.skip_kernel:
            print("  measuring %hops experiments through the hops kernel ...", flush=True)
            kernel = HopsKernel(lab.env, lab.url, lab.token, lab.workspace, os.path.join(lab.tmp, "kernel.log"))
            result["kernel"], result["kernel_info"] = measure_kernel(kernel, ids, args.repeats, args.warmups)
        print("  profiling compare (bench/catalogprofile) ...", flush=True)
        result["compare_profile"] = profile_compare(tmp, lab, ids, args.repeats)
        result["rss_mib"]["hops_lab"] = proc_rss_mib(lab.proc.pid)
        if ml:
            result["rss_mib"]["mlflow"] = sum(filter(None, (proc_rss_mib(p) for p in
                                                            [ml.proc.pid] + descendants(ml.proc.pid))))
    finally:
        if kernel is not None:
            kernel.stop()
        if lab is not None:
            lab.stop()
        if ml is not None:
            ml.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    a, k = result["api"], result.get("kernel", {})
    result["ratios"] = {}
    if "mlflow_list" in a:
        result["ratios"]["list: MLflow median / hops API median"] = a["mlflow_list"]["median_ms"] / a["hops_list"]["median_ms"]
        result["ratios"]["compare: MLflow median / hops API median"] = \
            a["mlflow_compare"]["median_ms"] / a["hops_compare"]["median_ms"]
        if k:
            result["ratios"]["list: MLflow API / hops kernel %hops experiments list --limit 50"] = \
                a["mlflow_list"]["median_ms"] / k["kernel_list_50"]["median_ms"]
            result["ratios"]["compare: MLflow API / hops kernel %hops experiments compare"] = \
                a["mlflow_compare"]["median_ms"] / k["kernel_compare"]["median_ms"]
    checks = [("first page, GET /api/hops/experiments?limit=50, median", a["hops_list"], TARGET_LIST_MS),
              ("compare of 20, 20 x GET /api/hops/experiments/{id}, median", a["hops_compare"], TARGET_COMPARE_MS)]
    if k:
        checks += [("%hops experiments list (kernel), median", k["kernel_list"], TARGET_LIST_MS),
                   ("%hops experiments list --limit 50 (kernel), median", k["kernel_list_50"], TARGET_LIST_MS),
                   ("%hops experiments compare x20 (kernel), median", k["kernel_compare"], TARGET_COMPARE_MS)]
    result["checks"] = [{"check": c, "value": v["median_ms"], "target": f"<= {t}", "met": v["median_ms"] <= t}
                        for c, v, t in checks]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(ROOT, "bench", "results", f"catalog-{stamp}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    result["when"] = stamp
    result["host"] = {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version()}
    result["versions"] = {"hops": subprocess.run([HOPS, "version"], capture_output=True, text=True).stdout.strip()}
    if "mlflow" in result["seeding"]:
        result["versions"]["mlflow"] = result["seeding"]["mlflow"]["mlflow"]
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    report(result)
    print(f"\nresults: {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
