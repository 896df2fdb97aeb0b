"""The trial runner (`python -m hops._trial`) and the SDK calls trials make, run as the executor runs them:
the program in HOPS_PROGRAM, parameters in HOPS_PARAMS, events on the pipe HOPS_EVENTS_FD names."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import hops


class Trial:
    """A finished trial: its exit status, output and events."""

    def __init__(self, returncode, stdout, stderr, events, trial_dir):
        self.returncode, self.stdout, self.stderr, self.events, self.trial_dir = \
            returncode, stdout, stderr, events, trial_dir

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]


@pytest.fixture
def notebook_dir(tmp_path):
    """The notebook's directory, where trials run."""
    d = tmp_path / "notebooks"
    d.mkdir()
    return d


def run_trial(notebook_dir, program, params="{}", trial_id="t03", timeout=60):
    """Runs program as the executor runs a trial and returns what came out of it."""
    scratch = notebook_dir.parent / "scratch" / trial_id
    scratch.mkdir(parents=True, exist_ok=True)
    program_file = notebook_dir.parent / f"{trial_id}.program.py"
    program_file.write_text(textwrap.dedent(program), encoding="utf-8")
    read_end, write_end = os.pipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPS_")}
    env.update(HOPS_PROGRAM=str(program_file), HOPS_PARAMS=params, HOPS_EVENTS_FD=str(write_end),
               HOPS_EXPERIMENT_ID="e1", HOPS_TRIAL_ID=trial_id, HOPS_TRIAL_DIR=str(scratch))
    try:
        proc = subprocess.Popen([sys.executable, "-u", "-m", "hops._trial"], cwd=notebook_dir, env=env,
                                pass_fds=(write_end,), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
    finally:
        os.close(write_end)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(os.fdopen(read_end, "rb")))
    reader.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout)
    for line in lines:
        assert line.endswith(b"\n") and len(line) < 64 << 10, f"an event is not one line under 64 KiB: {line[:200]}"
    events = [json.loads(line) for line in lines]
    for e in events:
        assert isinstance(e["time"], float), e
    return Trial(proc.returncode, stdout, stderr, events, scratch)


def run_outside(cwd, code):
    """Runs code in a plain Python, the way a notebook cell or a script does (no trial around it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPS_")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_parameters_are_variables_of_the_program_and_hops_params(notebook_dir):
    t = run_trial(notebook_dir, """
        import sys
        import hops
        print(repr(lr), type(lr).__name__, repr(epochs), type(epochs).__name__)
        print(repr(name), type(name).__name__, repr(augment), type(augment).__name__)
        assert hops.params == {"lr": 1.0, "epochs": 3, "name": "x", "augment": True}, hops.params
        assert __name__ == "__main__" and sys.argv == ["<hops cell>"]
        import os; print(os.getcwd())
    """, params='{"lr": 1.0, "epochs": 3, "name": "x", "augment": true}')
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines() == ["1.0 float 3 int", "'x' str True bool", str(notebook_dir)]
    assert [e["type"] for e in t.events] == ["start"]


def test_the_program_is_the_main_module_so_what_it_defines_pickles(notebook_dir):
    t = run_trial(notebook_dir, """
        import pickle, sys
        class Net:
            width = 3
        assert sys.modules["__main__"].Net is Net
        print(pickle.loads(pickle.dumps(Net())).width)
    """)
    assert (t.returncode, t.stdout) == (0, "3\n"), t.stderr


def test_log_records_metrics_at_automatic_and_explicit_steps(notebook_dir):
    t = run_trial(notebook_dir, """
        import numpy as np
        import hops
        hops.log(acc=0.5, loss=2)              # step 0
        hops.log(step=10, acc=0.75)            # explicit steps leave the counter alone
        hops.log(acc=np.float32(0.875), loss=np.array(1.5), n=np.int64(7), ok=True)  # step 1
        hops.log(np.int64(11), nan=float("nan"), inf=float("inf"), ninf=-float("inf"))
        print("logged")
    """)
    assert t.returncode == 0, t.stderr
    assert t.stdout == "logged\n", "in a trial, hops.log records and prints nothing"
    logs = [{k: v for k, v in e.items() if k != "time"} for e in t.of("log")]
    assert logs == [
        {"type": "log", "step": 0, "metrics": {"acc": 0.5, "loss": 2.0}},
        {"type": "log", "step": 10, "metrics": {"acc": 0.75}},
        {"type": "log", "step": 1, "metrics": {"acc": 0.875, "loss": 1.5, "n": 7.0, "ok": 1.0}},
        {"type": "log", "step": 11, "metrics": {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"}},
    ]
    assert t.events[0]["type"] == "start" and t.events[0]["time"] <= t.events[1]["time"]


def test_log_refuses_what_is_not_a_metric_and_records_nothing_for_it(notebook_dir):
    t = run_trial(notebook_dir, """
        import numpy as np
        import hops
        for step, metrics in [(None, {"acc": "0.9"}), (None, {"acc": None}), (None, {"acc": np.ones(3)}),
                              (None, {}), (-1, {"acc": 1}), (1.5, {"acc": 1}), (True, {"acc": 1})]:
            try:
                hops.log(step, **metrics)
            except (TypeError, ValueError) as e:
                print(type(e).__name__, e)
        hops.log(acc=1)
    """)
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines() == [
        "TypeError hops.log: metric 'acc' is not a number: '0.9' (str); "
        "pass an int, float or bool, or a numpy or torch scalar",
        "TypeError hops.log: metric 'acc' is not a number: None (NoneType); "
        "pass an int, float or bool, or a numpy or torch scalar",
        "TypeError hops.log: metric 'acc' is an array of shape (3,) (ndarray), not one number: "
        "pass a scalar, for example x.item() or x.mean()",
        "ValueError hops.log: no metrics given: name them, for example hops.log(accuracy=0.9)",
        "ValueError hops.log: step must be an int >= 0, not -1",
        "TypeError hops.log: step must be an int >= 0, not float (1.5)",
        "TypeError hops.log: step must be an int >= 0, not bool (True)",
    ]
    assert [(e["step"], e["metrics"]) for e in t.of("log")] == [(0, {"acc": 1.0})], "a refused call uses no step"


def test_log_from_threads_writes_whole_lines_and_numbers_each_step_once(notebook_dir):
    t = run_trial(notebook_dir, """
        import threading, hops
        def work(i):
            for _ in range(200):
                hops.log(worker=i, padding=1.0 / 3)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        [th.start() for th in threads]
        [th.join() for th in threads]
    """)
    assert t.returncode == 0, t.stderr
    assert sorted(e["step"] for e in t.of("log")) == list(range(800))


def test_forked_workers_log_to_the_trial(notebook_dir):
    t = run_trial(notebook_dir, """
        import multiprocessing, threading, hops
        def evaluate(i):
            hops.log(step=i, worker_acc=i / 10)
        busy = threading.Thread(target=lambda: [hops.log(main=1) for _ in range(300)])
        busy.start()  # logs while the workers are forked: they must not inherit a held lock
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(evaluate, range(4))
        busy.join()
    """)
    assert t.returncode == 0, t.stderr
    assert sorted(e["step"] for e in t.of("log") if "worker_acc" in e["metrics"]) == [0, 1, 2, 3]


def test_artifact_is_recorded_as_an_absolute_path_and_named_within_the_experiment(notebook_dir):
    t = run_trial(notebook_dir, """
        import os, hops
        os.makedirs("out/plots")
        with open("out/weights.bin", "wb") as f:
            f.write(b"w")
        print(hops.artifact("out/weights.bin"))
        print(hops.artifact("out/plots/"))
        try:
            hops.artifact("out/missing.csv")
        except FileNotFoundError as e:
            print(e)
    """)
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines() == [
        "t03/artifacts/out/weights.bin",
        "t03/artifacts/out/plots",
        f"hops.artifact: out/missing.csv does not exist (looked for {notebook_dir}/out/missing.csv): "
        "write the file or directory first, then pass its path",
    ]
    assert [e["source"] for e in t.of("artifact")] == [str(notebook_dir / "out/weights.bin"),
                                                        str(notebook_dir / "out/plots")]
    assert [e["name"] for e in t.of("artifact")] == ["out/weights.bin", "out/plots"]
    # What goes to the experiment is a copy in the trial's directory, made at the call.
    scratch = notebook_dir.parent / "scratch" / "t03"
    assert [e["path"] for e in t.of("artifact")] == [str(scratch / "staged/1/weights.bin"),
                                                      str(scratch / "staged/2/plots")]
    assert (scratch / "staged/1/weights.bin").read_bytes() == b"w"


def test_an_artifact_is_kept_as_it_was_at_the_call_even_when_the_trial_rewrites_or_deletes_it(notebook_dir):
    t = run_trial(notebook_dir, """
        import os, hops
        for epoch in range(3):
            with open("ckpt.pt", "w") as f:
                f.write(f"epoch {epoch}")
            hops.artifact("ckpt.pt")
        os.makedirs("plots")
        with open("plots/loss.svg", "w") as f:
            f.write("<svg/>")
        hops.artifact("plots")
        os.remove("ckpt.pt")
        os.remove("plots/loss.svg")
    """)
    assert t.returncode == 0, t.stderr
    events = t.of("artifact")
    assert [e["name"] for e in events] == ["ckpt.pt", "ckpt.pt", "ckpt.pt", "plots"]
    assert [open(e["path"]).read() for e in events[:3]] == ["epoch 0", "epoch 1", "epoch 2"]
    assert open(os.path.join(events[3]["path"], "loss.svg")).read() == "<svg/>"


def test_artifacts_with_the_same_base_name_are_kept_apart_and_the_same_path_again_replaces(notebook_dir, tmp_path):
    outside = tmp_path / "elsewhere" / "model.pt"
    outside.parent.mkdir()
    outside.write_bytes(b"o")
    t = run_trial(notebook_dir, f"""
        import os, hops
        for d in ("a", "b"):
            os.makedirs(d)
            open(f"{{d}}/model.pt", "wb").close()
        open("model.pt", "wb").close()
        print(hops.artifact("a/model.pt"))
        print(hops.artifact("b/model.pt"))
        print(hops.artifact("model.pt"))
        print(hops.artifact({str(outside)!r}))  # outside the working directory: its base name, taken
        print(hops.artifact("a/model.pt"))  # the same file again: the same name
    """)
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines() == ["t03/artifacts/a/model.pt", "t03/artifacts/b/model.pt",
                                     "t03/artifacts/model.pt", "t03/artifacts/model-2.pt",
                                     "t03/artifacts/a/model.pt"]


def test_an_artifact_that_cannot_be_copied_is_a_clear_error_and_leaves_nothing_half_copied(notebook_dir):
    t = run_trial(notebook_dir, """
        import os, hops
        os.makedirs("data")
        open("data/a.bin", "wb").close()
        os.mkfifo("data/pipe")  # not a file a copy can read to its end
        try:
            hops.artifact("data")
        except OSError as e:
            print(e)
        print(os.listdir(os.environ["HOPS_TRIAL_DIR"] + "/staged"))
    """)
    assert t.returncode == 0, t.stderr
    error, staged = t.stdout.splitlines()
    assert error.startswith(f"hops.artifact: cannot copy {notebook_dir}/data for the experiment (")
    assert error.endswith("nothing of it was recorded: pass regular files and directories, and have room for a copy")
    assert f"(`{notebook_dir}/data/pipe` is a named pipe);" in error
    assert staged == "[]"
    assert t.of("artifact") == []


def test_model_export_is_recorded_with_its_name_and_metrics(notebook_dir):
    t = run_trial(notebook_dir, """
        import os, numpy as np, hops
        os.makedirs("model")
        assert hops.model.export("model", "mnist-v2_1", metrics={"accuracy": np.float64(0.97), "loss": 1}) is None
        hops.model.export("model", "plain")
        for name in ["bad name", "", "x" * 65, 3]:
            try:
                hops.model.export("model", name)
            except ValueError as e:
                print(e)
        try:
            hops.model.export("model", "mnist", metrics={"accuracy": "high"})
        except TypeError as e:
            print(e)
    """)
    assert t.returncode == 0, t.stderr
    out = t.stdout.splitlines()
    assert out[:2] == [
        f"hops: model mnist-v2_1 exported from {notebook_dir}/model (hops records it with version on the experiment)",
        f"hops: model plain exported from {notebook_dir}/model (hops records it with version on the experiment)",
    ]
    assert len(out) == 7 and all("1 to 64 letters, digits, '_' or '-'" in line for line in out[2:6]), out
    assert out[6].startswith("hops.model.export: metric 'accuracy' is not a number: 'high' (str)")
    # What goes to the registry is a copy in the trial's directory, made at the call.
    staged = notebook_dir.parent / "scratch" / "t03" / "staged"
    assert [{k: v for k, v in e.items() if k != "time"} for e in t.of("model")] == [
        {"type": "model", "path": str(staged / "1" / "model"), "source": str(notebook_dir / "model"),
         "name": "mnist-v2_1", "metrics": {"accuracy": 0.97, "loss": 1.0}},
        {"type": "model", "path": str(staged / "2" / "model"), "source": str(notebook_dir / "model"),
         "name": "plain", "metrics": {}},
    ]


def test_tensorboard_logdir_is_in_the_trial_directory_and_reported_once(notebook_dir):
    t = run_trial(notebook_dir, """
        import os, hops
        first, second = hops.tensorboard.logdir(), hops.tensorboard.logdir()
        assert first == second and os.path.isdir(first)
        print(first)
    """)
    assert t.returncode == 0, t.stderr
    logdir = str(t.trial_dir / "tensorboard")
    assert t.stdout == logdir + "\n"
    assert [e["path"] for e in t.of("tensorboard")] == [logdir]


def test_a_failing_program_exits_1_with_its_own_traceback_and_an_error_event(notebook_dir):
    t = run_trial(notebook_dir, """
        import hops
        def train(lr):
            raise ValueError(f"lr {lr} is too large")
        hops.log(acc=0.1)
        train(lr)
    """, params='{"lr": 10.0}')
    assert t.returncode == 1
    assert [e["type"] for e in t.events] == ["start", "log", "error"]
    error = t.events[-1]
    assert (error["ename"], error["evalue"]) == ("ValueError", "lr 10.0 is too large")
    assert error["traceback"] == t.stderr
    assert t.stderr.splitlines() == [
        "Traceback (most recent call last):",
        '  File "<hops cell>", line 6, in <module>',
        "    train(lr)",
        '  File "<hops cell>", line 4, in train',
        '    raise ValueError(f"lr {lr} is too large")',
        "ValueError: lr 10.0 is too large",
    ]
    assert "_trial.py" not in t.stderr


def test_errors_raised_in_what_the_program_calls_keep_those_frames(notebook_dir):
    t = run_trial(notebook_dir, """
        import hops
        hops.log(acc="high")
    """)
    assert t.returncode == 1 and t.of("error")[0]["ename"] == "TypeError"
    assert '  File "<hops cell>", line 3, in <module>\n    hops.log(acc="high")\n' in t.stderr
    assert "hops/__init__.py" in t.stderr and "_trial.py" not in t.stderr


def test_a_syntax_error_is_the_program_s_error(notebook_dir):
    t = run_trial(notebook_dir, """
        x = 1
        y = (x +
    """)
    assert t.returncode == 1
    assert t.of("error")[0]["ename"] == "SyntaxError"
    assert 'File "<hops cell>", line 3' in t.stderr and "y = (x +" in t.stderr and "_trial.py" not in t.stderr


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "sys.exit()", "sys.exit(None)", "raise SystemExit"])
def test_a_clean_sys_exit_is_a_normal_end(notebook_dir, exit_call):
    t = run_trial(notebook_dir, f"""
        import sys
        print("done")
        {exit_call}
        print("not reached")
    """)
    assert (t.returncode, t.stdout, t.stderr) == (0, "done\n", "")
    assert [e["type"] for e in t.events] == ["start"]


def test_sys_exit_with_a_status_exits_with_it_and_reports_an_error(notebook_dir):
    t = run_trial(notebook_dir, "import sys\nsys.exit(3)\n")
    assert (t.returncode, t.stderr) == (3, "")
    assert [(e["ename"], e["evalue"]) for e in t.of("error")] == [("SystemExit", "3")]
    t = run_trial(notebook_dir, "import sys\nsys.exit('no data found')\n")
    assert (t.returncode, t.stderr) == (1, "no data found\n"), "as Python: the message printed, status 1"
    assert [(e["ename"], e["evalue"]) for e in t.of("error")] == [("SystemExit", "no data found")]


def test_a_keyboard_interrupt_ends_the_trial_as_sigint_ends_python(notebook_dir):
    t = run_trial(notebook_dir, "raise KeyboardInterrupt\n")
    assert t.returncode == -signal.SIGINT
    assert [e["ename"] for e in t.of("error")] == ["KeyboardInterrupt"]
    assert t.stderr == ('Traceback (most recent call last):\n  File "<hops cell>", line 1, in <module>\n'
                        "    raise KeyboardInterrupt\nKeyboardInterrupt\n"), "printed once, without the runner"


def test_a_program_started_by_a_trial_prints_what_it_logs(notebook_dir):
    t = run_trial(notebook_dir, """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import hops; hops.log(acc=0.5)"], check=True)
    """)
    assert t.returncode == 0, t.stderr
    assert t.stdout == "hops.log: step 0: acc=0.5\n"
    assert "HOPS_EVENTS_FD=" in t.stderr and "printed, not recorded" in t.stderr
    assert t.of("log") == []


def test_outside_a_trial_the_sdk_checks_and_prints(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"w")
    r = run_outside(tmp_path, """
        import os, hops
        print(hops.params)
        hops.log(acc=0.9, loss=0.1)
        hops.log(step=7, acc=1)
        hops.log(acc=0.95)
        print(hops.artifact("weights.bin"))
        logdir = hops.tensorboard.logdir()
        print(logdir, os.path.isdir(logdir))
        print(hops.model.export("weights.bin", "mnist"))
        try:
            hops.log(acc="high")
        except TypeError as e:
            print("TypeError")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "{}",
        "hops.log: step 0: acc=0.9, loss=0.1",
        "hops.log: step 7: acc=1",
        "hops.log: step 1: acc=0.95",
        f"hops.artifact: {tmp_path}/weights.bin is not recorded outside %%hops run "
        "(in a trial it is kept with the experiment)",
        f"{tmp_path}/weights.bin",
        f"{tmp_path}/tensorboard True",
        f"hops.model.export: model mnist at {tmp_path}/weights.bin is not recorded outside %%hops run "
        "(in a trial it is exported to the model registry)",
        "None",
        "TypeError",
    ]


def test_the_runner_imports_no_http_client(notebook_dir):
    r = run_outside(notebook_dir, """
        import sys, hops._trial
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("urllib", "http", "email", "json", "re")
                     or m in ("hops._api", "hops.fs", "threading", "linecache")))
    """)
    assert (r.returncode, r.stdout) == (0, "[]\n"), r.stderr
    t = run_trial(notebook_dir, """
        import sys
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("urllib", "http", "email")
                     or m in ("hops._api", "hops.fs")))
    """)
    assert (t.returncode, t.stdout) == (0, "[]\n"), t.stderr


def test_the_sdk_modules_load_when_first_used():
    assert hops.fs.ls is not None and hops.model.export is not None and hops.tensorboard.logdir is not None
    from hops import HopsError, fs  # noqa: F401 (the names users import)
    from hops._api import HopsError as api_error
    assert hops.HopsError is HopsError is api_error
    assert {"log", "artifact", "params", "fs", "model", "tensorboard", "HopsError"} <= set(dir(hops))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hops.nope  # noqa: B018


def test_help_says_what_to_pass_with_an_example():
    for fn, words in [(hops.log, ["step", "**metrics", "Raises", "Example", "hops.log: step 0: acc=0.9, loss=0.1"]),
                      (hops.artifact, ["path", "Returns", "t03/artifacts/", "Example"]),
                      (hops.model.export, ["name", "metrics", "1 to 64 letters", "Example"]),
                      (hops.tensorboard.logdir, ["HOPS_TRIAL_DIR", "Example"])]:
        for word in words:
            assert word in fn.__doc__, (fn.__name__, word)


def test_events_are_json_as_the_json_module_writes_it():
    from hops import _events
    event = {"type": "x", "s": "tab\t \"q\" é \udcff \u2028", "i": -3, "f": 1e-300, "g": 0.1, "b": True, "n": None,
             "d": {"k": 1.5, "nan": "NaN"}}
    assert _events.dumps(event) == json.dumps(event, separators=(",", ":"))
    with pytest.raises(ValueError):
        _events.dumps(float("nan"))
    assert _events.loads(' {"lr": 1.0, "n": 3, "s": "x", "b": true, "l": [1]} ') == \
        {"lr": 1.0, "n": 3, "s": "x", "b": True, "l": [1]}
    with pytest.raises(json.JSONDecodeError):
        _events.loads('{"lr": 1.0} trailing')
