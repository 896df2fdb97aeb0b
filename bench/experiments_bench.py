"""make bench, part 3: `%%hops run` from the hops kernel against `python -c pass` and Ray Tune, one run.

What it measures:
  (a) dispatch latency: a `%%hops run` cell of `pass`, from the client sending execute_request to the
      moment the trial's own code began (the trial's `started` in the experiment record, written by the
      trial runner just before the cell body runs), against the wall time of `python -c pass` started
      directly with subprocess.run. The two are measured alternately, --repeats times each after 2
      warm-ups, so machine noise hits both alike. Overhead = median(hops) - median(python -c pass).
      Target: <= 100 ms. For information: the cell's end-to-end time (execute_request -> execute_reply
      and idle), and where the time goes, from a second series through the HTTP API (POST -> record
      written -> trial process spawned -> trial code began) and the trial runner's own start-up
      (`python -u -m hops._trial` with a program of `pass`, run directly).
  (b) throughput: --trials trials of a 10 ms function (time.sleep(0.01)) on 2 executors.
      hops: the kernel runs `%%hops run --grid i=0..N-1 --executors 2`; trials/s = N / (execute_request
      -> execute_reply + idle), the record's ended - started given too. Ray Tune (ray[tune] from
      bench/requirements.txt) runs the same grid in a child process: ray.init(num_cpus=2), a function
      trainable that sleeps 10 ms and reports a metric, TuneConfig(max_concurrent_trials=2);
      trials/s = N / tuner.fit() (ray.init and the imports are reported apart, not counted).
      Ray runs in two configurations: "default" (Tune's defaults: a new actor, so a new worker
      process, per trial, as hops starts a process per trial) and "reuse" (reuse_actors=True: trials
      run in 2 long-lived workers, Tune's fastest setting for this workload). Target: hops >= 1x Ray.
      For information: the same N programs as plain `python -c 'import time; time.sleep(0.01)'`
      processes, 2 at a time: the floor for any executor that starts a process per trial.

The hops side is what a user does: hops lab (bin/hops) on a fresh workspace with a random token, and
the hops kernel (its kernelspec installed in a private Jupyter path) started by jupyter_client with
HOPS_SERVER_URL and HOPS_TOKEN pointing at it. Everything runs on this host; hops lab and Ray are
stopped (and what they leave behind killed by pid) on exit, error or Ctrl-C.

Usage: .venv/bin/python bench/experiments_bench.py [--repeats 20] [--trials 64] [--throughput-repeats 3]
                                                   [--ray-modes default,reuse] [--skip-ray]
Results also go to bench/results/experiments-<timestamp>.json (git-ignored).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from benchutil import HopsKernel, HopsLab, descendants, kill_pids, parse_time, summary_ms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
HOPS = os.path.join(ROOT, "bin", "hops")
PYTHON = sys.executable
# Ray Tune lives in a venv of its own (make bench-deps), so the project environment that trials run
# with, and that every experiment records, is not changed by the benchmark's peer.
RAY_PYTHON = os.path.join(ROOT, ".venv-bench", "bin", "python")
TARGET_DISPATCH_OVERHEAD_MS = 100
TARGET_THROUGHPUT_RATIO = 1.0
WARMUPS = 2
SLEEP_S = 0.01
RAY_MODES = {"default": {}, "reuse": {"reuse_actors": True}}


# ---------------------------------------------------------------------------------------------------
# Small helpers.

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """(own utime+stime, utime+stime of its waited-for children) of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def host_cpu():
    """(busy, total) CPU seconds of the host since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


# ---------------------------------------------------------------------------------------------------
# hops lab and the hops kernel.

class Lab(HopsLab):
    """hops lab on a fresh workspace in a temporary directory (removed by stop)."""

    def __init__(self):
        tmp = tempfile.mkdtemp(prefix="hops-bench-exp-")
        os.mkdir(os.path.join(tmp, "workspace"))
        super().__init__(tmp, os.path.join(tmp, "workspace"), PYTHON)

    def start(self):
        return super().start(lambda: self.get("experiments?limit=1"))

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "api/hops/" + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        return urllib.request.urlopen(req, timeout=120)

    def get(self, path):
        with self.request("GET", path) as r:
            return json.load(r)

    def experiment(self, exp_id):
        return self.get(f"experiments/{exp_id}")

    def latest(self):
        return self.get("experiments?limit=1")["experiments"][0]

    def stop(self):
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def checked_experiment(lab, exp_id, reply, errors, what):
    """The finished record of a cell's run; RuntimeError when the cell or a trial failed."""
    if reply.get("status") != "ok":
        raise RuntimeError(f"{what}: the cell failed: {reply.get('ename')}: {reply.get('evalue')} {errors}")
    e = lab.experiment(exp_id) if exp_id else lab.latest()
    bad = [t for t in e["trials"] if t["state"] != "finished"]
    if e["state"] != "finished" or bad:
        first = bad[0] if bad else {}
        raise RuntimeError(f"{what}: experiment {e['id']} {e['state']}: {e.get('note')} {first.get('error')}")
    return e


# ---------------------------------------------------------------------------------------------------
# (a) dispatch latency.

def python_pass():
    t0 = time.perf_counter()
    subprocess.run([PYTHON, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def trial_runner_pass(env):
    """The trial runner started directly with a program of `pass`, as the local executor starts it
    (no events pipe: the start event goes nowhere)."""
    t0 = time.perf_counter()
    subprocess.run([PYTHON, "-u", "-m", "hops._trial"], check=True, env=env)
    return time.perf_counter() - t0


def api_dispatch(lab):
    """POST /api/hops/experiments of `pass`, then its events: (POST sent -> record's started,
    -> trial process spawned (the first `running` trial event), -> trial code began, -> end event)."""
    t_wall = time.time()
    t0 = time.perf_counter()
    with lab.request("POST", "experiments", {"code": "pass", "executors": 1}) as r:
        e = json.load(r)
    t_posted = time.perf_counter()
    spawned = None
    with lab.request("GET", f"experiments/{e['id']}/events?since=0") as r:
        for line in r:
            ev = json.loads(line)
            if ev["kind"] == "trial" and ev["trial"]["state"] == "running" and spawned is None:
                spawned = parse_time(ev["trial"]["started"])
            if ev["kind"] == "end":
                final = ev["experiment"]
                break
    t_end = time.perf_counter()
    if final["state"] != "finished":
        raise RuntimeError(f"API dispatch: experiment {final['id']} {final['state']}: {final.get('note')}")
    trial = final["trials"][0]
    started = parse_time(trial["started"])
    return {"post_to_record_s": parse_time(final["started"]) - t_wall,
            "record_to_spawn_s": None if spawned is None else spawned - parse_time(final["started"]),
            "spawn_to_code_s": None if spawned is None else started - spawned,
            "post_to_code_s": started - t_wall,
            "post_reply_s": t_posted - t0,
            "post_to_end_event_s": t_end - t0}


def measure_dispatch(lab, kernel, repeats):
    cell = "%%hops run\npass"
    hops_code, hops_cell, to_record, to_code_from_record, py = [], [], [], [], []
    for i in range(WARMUPS + repeats):
        c = kernel.execute(cell)
        t_wall, cell_s, reply, exp_id, errors = c.t_wall, c.seconds, c.reply, c.exp_id, c.errors
        e = checked_experiment(lab, exp_id, reply, errors, "dispatch")
        started = parse_time(e["trials"][0]["started"])
        p = python_pass()
        if i < WARMUPS:
            continue
        hops_code.append(started - t_wall)
        hops_cell.append(cell_s)
        to_record.append(parse_time(e["started"]) - t_wall)
        to_code_from_record.append(started - parse_time(e["started"]))
        py.append(p)
        print(f"  dispatch {i - WARMUPS + 1}/{repeats}: hops {1000 * hops_code[-1]:.1f} ms "
              f"(cell done {1000 * cell_s:.1f} ms), python -c pass {1000 * p:.1f} ms", flush=True)

    # Where the time goes: the API path (no kernel), and the trial runner started directly.
    api = []
    for i in range(WARMUPS + repeats):
        r = api_dispatch(lab)
        if i >= WARMUPS:
            api.append(r)
    program = os.path.join(lab.tmp, "pass.py")
    with open(program, "w") as f:
        f.write("pass\n")
    env = dict(os.environ, HOPS_PROGRAM=program, HOPS_PARAMS="{}", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.path.join(ROOT, "python"))
    runner = []
    for i in range(WARMUPS + repeats):
        t = trial_runner_pass(env)
        if i >= WARMUPS:
            runner.append(t)

    result = {"hops_to_trial_code": summary_ms(hops_code), "python_c_pass": summary_ms(py),
              "hops_cell_done": summary_ms(hops_cell),
              "kernel_to_record": summary_ms(to_record), "record_to_trial_code": summary_ms(to_code_from_record),
              "api": {k: summary_ms([r[k] for r in api if r[k] is not None])
                      for k in ("post_to_record_s", "record_to_spawn_s", "spawn_to_code_s", "post_to_code_s",
                                "post_reply_s", "post_to_end_event_s")},
              "trial_runner_pass": summary_ms(runner)}
    result["overhead_ms"] = result["hops_to_trial_code"]["median_ms"] - result["python_c_pass"]["median_ms"]
    return result


# ---------------------------------------------------------------------------------------------------
# (b) throughput.

def measure_hops_throughput(lab, kernel, trials, repeats):
    cell = f"%%hops run --grid i=0..{trials - 1} --executors 2\nimport time\ntime.sleep({SLEEP_S})"
    runs = []
    for i in range(1 + repeats):  # one warm-up
        lab0, kernel0, host0 = proc_cpu(lab.proc.pid), proc_cpu(kernel.pid), host_cpu()
        c = kernel.execute(cell)
        t_wall, cell_s, reply, exp_id, errors = c.t_wall, c.seconds, c.reply, c.exp_id, c.errors
        lab1, kernel1, host1 = proc_cpu(lab.proc.pid), proc_cpu(kernel.pid), host_cpu()
        e = checked_experiment(lab, exp_id, reply, errors, "throughput")
        if len(e["trials"]) != trials:
            raise RuntimeError(f"throughput: experiment {e['id']} ran {len(e['trials'])} trials, not {trials}")
        record_s = parse_time(e["ended"]) - parse_time(e["started"])
        by_index = sorted(e["trials"], key=lambda t: t["index"])
        starts = [parse_time(t["started"]) for t in by_index]
        ends = sorted(parse_time(t["ended"]) for t in by_index)
        trial_s = [parse_time(t["ended"]) - parse_time(t["started"]) for t in by_index]
        # With 2 executors trial k (in dispatch order) gets a slot once k-1 trials have ended: the gap
        # from that end to its code beginning is the server's bookkeeping plus the next trial's start-up.
        gaps = [starts[k] - ends[k - 2] for k in range(2, len(starts))]
        r = {"cell_s": cell_s, "record_s": record_s, "trials_per_s": trials / cell_s,
             "record_trials_per_s": trials / record_s,
             "send_to_first_trial_code_s": min(starts) - t_wall, "last_trial_end_to_reply_s": t_wall + cell_s - ends[-1],
             "trial_code_to_end_median_ms": 1000 * statistics.median(trial_s),
             "end_to_next_code_median_ms": 1000 * statistics.median(gaps) if gaps else None,
             "slot_ms_per_trial": 1000 * 2 * record_s / trials,
             "server_cpu_s": lab1[0] - lab0[0], "trials_cpu_s": lab1[1] - lab0[1],
             "kernel_cpu_s": kernel1[0] - kernel0[0] + kernel1[1] - kernel0[1],
             "host_busy": (host1[0] - host0[0]) / (host1[1] - host0[1]), "experiment": e["id"]}
        if i == 0:
            continue
        runs.append(r)
        print(f"  hops {i}/{repeats}: {trials} trials in {cell_s:.2f} s = {r['trials_per_s']:.1f} trials/s "
              f"(record: {record_s:.2f} s)", flush=True)
    best = statistics.median(r["trials_per_s"] for r in runs)
    return {"trials_per_s": best, "runs": runs}


def measure_process_floor(trials):
    """The same programs as plain Python processes, 2 at a time: what a process per trial costs at least."""
    code = f"import time; time.sleep({SLEEP_S})"
    run = lambda _: subprocess.run([PYTHON, "-c", code], check=True)  # noqa: E731
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(run, range(trials)))
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "trials_per_s": trials / wall}


def measure_ray(trials, mode, tmp):
    """Ray Tune in a child process (this script with --ray-child), so that Ray's threads, signal handlers
    and processes are its own; everything below the child is killed by pid afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_USAGE_STATS_ENABLED="0", PYTHONWARNINGS="ignore")
    out = os.path.join(tmp, f"ray-{mode}.json")
    argv = [RAY_PYTHON, os.path.abspath(__file__), "--ray-child", mode, "--trials", str(trials), "--ray-out", out,
            "--ray-tmp", os.path.join(tmp, f"r{mode[0]}")]
    log_path = os.path.join(tmp, f"ray-{mode}.log")
    with open(log_path, "wb") as log:  # Ray's own chatter; shown when something failed
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        rc = proc.wait(timeout=1800)
    except BaseException:
        kill_pids(descendants(proc.pid) + [proc.pid])
        proc.wait()
        raise
    finally:
        kill_pids(descendants(proc.pid))
    if rc != 0 or not os.path.exists(out):
        with open(log_path, errors="replace") as f:
            sys.stderr.write("".join(f.readlines()[-40:]))
        raise RuntimeError(f"Ray Tune ({mode}) exited with {rc}: its output is above")
    with open(out) as f:
        return json.load(f)


def ray_child(mode, trials, out, tmp):
    """Runs in the child: N trials of a 10 ms function under Ray Tune, 2 at a time; writes timings."""
    import logging

    t0 = time.perf_counter()
    import ray
    from ray import tune
    t_import = time.perf_counter() - t0

    os.makedirs(tmp, exist_ok=True)
    t0 = time.perf_counter()
    # address="local": a new Ray instance of our own, never one already running on this host.
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR,
             log_to_driver=False, _temp_dir=os.path.join(tmp, "ray"))
    t_init = time.perf_counter() - t0
    logging.getLogger("ray").setLevel(logging.ERROR)

    def trainable(config):
        time.sleep(SLEEP_S)
        tune.report({"score": config["i"]})

    tuner = tune.Tuner(trainable, param_space={"i": tune.grid_search(list(range(trials)))},
                       tune_config=tune.TuneConfig(max_concurrent_trials=2, **RAY_MODES[mode]),
                       run_config=tune.RunConfig(name="bench", storage_path=os.path.join(tmp, "results"), verbose=0))
    t0 = time.perf_counter()
    results = tuner.fit()
    t_fit = time.perf_counter() - t0
    errors = [repr(e)[:500] for e in results.errors]
    t0 = time.perf_counter()
    ray.shutdown()
    t_shutdown = time.perf_counter() - t0
    if errors:
        sys.stderr.write(f"Ray Tune: {len(errors)} trial(s) failed; the first: {errors[0]}\n")
    with open(out, "w") as f:
        json.dump({"mode": mode, "config": RAY_MODES[mode], "import_s": t_import, "init_s": t_init, "fit_s": t_fit,
                   "shutdown_s": t_shutdown, "trials": len(results), "errors": len(errors),
                   "first_error": errors[0] if errors else None,
                   "trials_per_s": trials / t_fit, "ray": ray.__version__}, f)
    return 1 if errors else 0


# ---------------------------------------------------------------------------------------------------
# Report.

def ms(x):
    return f"{x:.1f}"


def report(dispatch, thru, checks, trials):
    if dispatch:
        d = dispatch
        print("\n(a) dispatch latency: `%%hops run` of `pass` vs `python -c pass` (ms)")
        print(f"  {'':<52}{'median':>9}{'p90':>9}{'min':>9}")
        rows = [("hops: execute_request -> trial code began", d["hops_to_trial_code"]),
                ("python -c pass (subprocess.run, wall)", d["python_c_pass"]),
                ("hops: execute_request -> reply + idle (cell done)", d["hops_cell_done"]),
                ("  kernel: execute_request -> record written", d["kernel_to_record"]),
                ("  server: record written -> trial code began", d["record_to_trial_code"]),
                ("  API: POST sent -> record written", d["api"]["post_to_record_s"]),
                ("  API: record written -> trial process spawned", d["api"]["record_to_spawn_s"]),
                ("  API: process spawned -> trial code began", d["api"]["spawn_to_code_s"]),
                ("  API: POST sent -> trial code began", d["api"]["post_to_code_s"]),
                ("  API: POST sent -> end event received", d["api"]["post_to_end_event_s"]),
                ("  python -u -m hops._trial of `pass`, run directly", d["trial_runner_pass"])]
        for label, s in rows:
            print(f"  {label:<52}{ms(s['median_ms']):>9}{ms(s['p90_ms']):>9}{ms(s['min_ms']):>9}")
    if thru:
        print(f"\n(b) throughput: {trials} trials of time.sleep({SLEEP_S}), 2 at a time")
        print(f"  {'':<46}{'trials/s':>10}{'wall s':>9}   notes")
        h = thru["hops"]
        walls = statistics.median(r["cell_s"] for r in h["runs"])
        rec = statistics.median(r["record_s"] for r in h["runs"])
        print(f"  {'hops (%%hops run, execute -> reply + idle)':<46}{h['trials_per_s']:>10.2f}{walls:>9.2f}"
              f"   record ended-started {rec:.2f} s, median of {len(h['runs'])}")
        med = lambda k: statistics.median(r[k] for r in h["runs"])  # noqa: E731
        print(f"      per trial and executor {med('slot_ms_per_trial'):.1f} ms = trial code began -> ended "
              f"{med('trial_code_to_end_median_ms'):.1f} ms + ended -> next trial's code began "
              f"{med('end_to_next_code_median_ms'):.1f} ms (medians)")
        print(f"      execute_request -> first trial's code {1000 * med('send_to_first_trial_code_s'):.0f} ms, "
              f"last trial ended -> reply {1000 * med('last_trial_end_to_reply_s'):.0f} ms")
        print(f"      CPU s: hops lab {med('server_cpu_s'):.2f}, trials {med('trials_cpu_s'):.2f}, "
              f"hops kernel {med('kernel_cpu_s'):.2f}; host busy {100 * med('host_busy'):.0f} % of {os.cpu_count()} CPUs")
        f = thru["process_floor"]
        print(f"  {'python -c processes, 2 at a time (floor)':<46}{f['trials_per_s']:>10.2f}{f['wall_s']:>9.2f}")
        for mode, r in thru.get("ray", {}).items():
            print(f"  {'Ray Tune ' + mode + ' (tuner.fit())':<46}{r['trials_per_s']:>10.2f}{r['fit_s']:>9.2f}"
                  f"   ray.init {r['init_s']:.2f} s, import {r['import_s']:.2f} s, errors {r['errors']}")
    if checks:
        print()
        for c in checks:
            print(f"  {c['check']}: {c['value']:.2f} (target {c['target']}: {'met' if c['met'] else 'NOT met'})")


def write_results(args, dispatch, thru, checks):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(ROOT, "bench", "results", f"experiments-{stamp}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    versions = {"python": platform.python_version(),
                "hops": subprocess.run([HOPS, "version"], capture_output=True, text=True).stdout.strip()}
    ray = subprocess.run([RAY_PYTHON, "-c", "import ray; print(ray.__version__)"], capture_output=True, text=True)
    if ray.returncode == 0:
        versions["ray"] = ray.stdout.strip()
    with open(out, "w") as f:
        json.dump({"when": stamp, "config": {k: v for k, v in vars(args).items() if not k.startswith("ray_")
                                             or k == "ray_modes"},
                   "host": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()}, "versions": versions,
                   "dispatch": dispatch, "throughput": thru, "checks": checks}, f, indent=1)
    return os.path.relpath(out, ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=20, help="dispatch measurements of each kind (after 2 warm-ups)")
    ap.add_argument("--trials", type=int, default=64, help="trials of the throughput run")
    ap.add_argument("--throughput-repeats", type=int, default=3, help="hops throughput runs (after 1 warm-up)")
    ap.add_argument("--ray-modes", default="default,reuse", help=f"Ray Tune configurations: {','.join(RAY_MODES)}")
    ap.add_argument("--skip-ray", action="store_true", help="no Ray Tune (a machine without ray[tune])")
    ap.add_argument("--skip-dispatch", action="store_true", help="only the throughput part")
    ap.add_argument("--ray-child", help=argparse.SUPPRESS)
    ap.add_argument("--ray-out", help=argparse.SUPPRESS)
    ap.add_argument("--ray-tmp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ray_child:
        sys.exit(ray_child(args.ray_child, args.trials, args.ray_out, args.ray_tmp))
    modes = [] if args.skip_ray else [m.strip() for m in args.ray_modes.split(",") if m.strip()]
    if set(modes) - set(RAY_MODES):
        ap.error(f"--ray-modes takes a comma-separated subset of {sorted(RAY_MODES)}")
    if args.repeats < 1 or args.trials < 1 or args.throughput_repeats < 1:
        ap.error("--repeats, --trials and --throughput-repeats must be at least 1")
    if not os.access(HOPS, os.X_OK):
        sys.exit(f"{HOPS} is missing: run `make build`")
    if modes:
        if subprocess.run([RAY_PYTHON, "-c", "import ray.tune"], capture_output=True).returncode != 0:
            sys.exit(f"Ray Tune is not installed in {RAY_PYTHON}: run `make bench-deps` (or pass --skip-ray)")

    # A SIGTERM to this script must still stop hops lab: turn it into an exception that unwinds.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"experiments bench: repeats={args.repeats} trials={args.trials} ray={','.join(modes) or 'skipped'} "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}", flush=True)
    lab, kernel = Lab(), None
    dispatch, thru = None, {}
    try:
        lab.start()
        kernel = HopsKernel(lab.env, lab.url, lab.token, lab.workspace, os.path.join(lab.tmp, "kernel.log"))
        if not args.skip_dispatch:
            dispatch = measure_dispatch(lab, kernel, args.repeats)
        thru["hops"] = measure_hops_throughput(lab, kernel, args.trials, args.throughput_repeats)
        kernel.stop()
        kernel = None
        lab.stop()  # Ray gets the machine to itself, as hops had it
        thru["process_floor"] = measure_process_floor(args.trials)
        print(f"  process floor: {thru['process_floor']['trials_per_s']:.1f} trials/s", flush=True)
        tmp = tempfile.mkdtemp(prefix="hops-bench-ray-")
        try:
            for mode in modes:
                print(f"  Ray Tune {mode}: running {args.trials} trials ...", flush=True)
                r = measure_ray(args.trials, mode, tmp)
                thru.setdefault("ray", {})[mode] = r
                print(f"  Ray Tune {mode}: {r['trials_per_s']:.2f} trials/s (fit {r['fit_s']:.2f} s, "
                      f"init {r['init_s']:.2f} s)", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if kernel is not None:
            kernel.stop()
        lab.stop()

    checks = []
    if dispatch:
        checks.append({"check": "dispatch overhead, median hops - median python -c pass (ms)",
                       "value": dispatch["overhead_ms"], "target": f"<= {TARGET_DISPATCH_OVERHEAD_MS}",
                       "met": dispatch["overhead_ms"] <= TARGET_DISPATCH_OVERHEAD_MS})
    for mode, r in thru.get("ray", {}).items():
        ratio = thru["hops"]["trials_per_s"] / r["trials_per_s"]
        thru["ray"][mode]["hops_ratio"] = ratio
        checks.append({"check": f"throughput hops / Ray Tune {mode}", "value": ratio,
                       "target": f">= {TARGET_THROUGHPUT_RATIO}", "met": ratio >= TARGET_THROUGHPUT_RATIO})
    out = write_results(args, dispatch, thru, checks)
    report(dispatch, thru, checks, args.trials)
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
