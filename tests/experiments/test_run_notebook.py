"""%%hops run in a notebook executed by nbclient on the hops kernel, against a real hops lab: a grid
search on 2 executors with -o, a run with a failing trial, an interrupted run, bad input; then the
records hops lab stored, checked field by field."""
import subprocess
import sys

import nbformat
import pandas
import pytest
from nbclient import NotebookClient

from conftest import api, running_hops_lab

GRID = """%%hops run --name grid --grid lr=0.001,0.01,0.1 --grid batch=32,64 --executors 2 --optimize acc:max -o grid
import hops
for step in range(3):
    hops.log(acc=lr * batch * (step + 1), loss=1 / (step + 1))
print("trained", lr, batch)
"""
CHECK_GRID = """assert list(grid.index) == ["t0", "t1", "t2", "t3", "t4", "t5"], grid
assert list(grid.columns) == ["batch", "lr", "acc", "loss", "state", "duration_s"], grid.columns
assert (grid["state"] == "finished").all()
assert grid["acc"].max() == 0.1 * 64 * 3
print(type(grid).__name__, grid.attrs["hops_experiment"])
"""
FAILING = """%%hops run --name failing --grid x=1,2,3 --executors 3
import hops
if x == 2:
    raise ValueError("x=2 is bad")
hops.log(score=x)
"""
SLEEPY = """%%hops run --name sleepy --grid i=1,2 --executors 2
import time
print("sleeping", i, flush=True)
time.sleep(120)
"""
BAD = {
    "empty grid": ("%%hops run --grid lr=\npass", "UsageError", 'no values after "lr="'),
    "unknown flag": ("%%hops run --gpu 1\npass", "UsageError", "did you mean --gpus"),
    "too many GPUs": ("%%hops run --gpus 2\npass", "UsageError", "--gpus 0"),
}
UNLOGGED = """%%hops run --name unlogged --optimize accuracy:max
import hops
hops.log(loss=0.5)
"""


def errors_of(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def text_of(cell, output_type="stream"):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == output_type)


def displays_of(cell):
    return [o for o in cell.outputs if o.output_type == "display_data"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, saved through the contents API (so it has a version), then executed by nbclient
    on the hops kernel, which reaches hops lab as a kernel hops lab started would."""
    ws = tmp_path_factory.mktemp("workspace")
    with running_hops_lab(ws) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOPS_SERVER_URL", url)
        mp.setenv("HOPS_TOKEN", "sdk")
        mp.setenv("HOPS_NOTEBOOK_PATH", "train.ipynb")
        yield execute(url, ws)


def execute(url, ws):
    cells = [GRID, CHECK_GRID, FAILING, SLEEPY, *[b[0] for b in BAD.values()], UNLOGGED, "%hops gpus",
             "%hops experiments list --name grid", "%hops experiments compare onlyone"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "hops", "display_name": "Python 3 (hops)", "language": "python"}
    api(url, "api/contents/train.ipynb", "PUT", {"type": "notebook", "format": "json", "content": nb})
    client = NotebookClient(nb, kernel_name="hops", timeout=180, allow_errors=True, interrupt_on_timeout=True,
                            timeout_func=lambda cell: 6 if "sleepy" in cell.source else 180,
                            resources={"metadata": {"path": str(ws)}})
    client.execute()
    runs = {e["name"]: e for e in api(url, "api/hops/experiments?limit=50")["experiments"]}
    full = {name: api(url, f"api/hops/experiments/{e['id']}") for name, e in runs.items()}
    return {"nb": nb, "url": url, "ws": ws, "runs": full}


def test_the_grid_search_shows_progress_logs_best_trial_and_plot(executed):
    cell = executed["nb"].cells[0]
    assert not errors_of(cell), errors_of(cell)
    logs = text_of(cell)
    for lr in ("0.001", "0.01", "0.1"):
        for batch in ("32", "64"):
            assert f"trained {lr} {batch}" in logs
    assert "[t0] trained" in logs, "each line carries its trial's prefix"
    kinds = [list(o.data) for o in displays_of(cell)]
    table, summary, plot = displays_of(cell)[0], displays_of(cell)[1], displays_of(cell)[2]
    assert "text/html" in table.data and "<table>" in table.data["text/html"], kinds
    assert "finished" in table.data["text/plain"] and "6 finished" in table.data["text/plain"], "the table ends updated in place"
    assert "Best: t5 (batch=64, lr=0.1) with acc = 19.2 (max)" in summary.data["text/plain"]
    spec = plot.data["application/vnd.vegalite.v5+json"]
    assert spec["$schema"].endswith("vega-lite/v5.json") and len(spec["vconcat"]) == 2
    check = executed["nb"].cells[1]
    assert not errors_of(check), errors_of(check)
    assert text_of(check).startswith("DataFrame ")


def test_the_grid_record_has_code_notebook_version_params_metrics_env_and_logs(executed):
    e = executed["runs"]["grid"]
    body = GRID.split("\n", 1)[1]
    assert e["code"] == body and e["cell"].startswith("%%hops run --name grid") and e["state"] == "finished"
    assert e["notebook"] == "train.ipynb" and "kernel_id" not in e, "nbclient's kernel is not one of hops lab's"
    head = subprocess.run(["git", "log", "-1", "--format=%H", "--", "train.ipynb"], cwd=executed["ws"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert e["commit"] == head and e["code_changed"] is False
    assert e["method"] == "grid" and e["objective"] == {"metric": "acc", "direction": "max"} and e["executors"] == 2
    assert e["trials_total"] == 6 and e["best"] == "t5" and e["location"] == "Experiments/" + e["id"]
    combos = {(t["params"]["lr"], t["params"]["batch"]) for t in e["trials"]}
    assert combos == {(lr, b) for lr in (0.001, 0.01, 0.1) for b in (32, 64)}
    for t in e["trials"]:
        lr, batch = t["params"]["lr"], t["params"]["batch"]
        assert isinstance(lr, float) and isinstance(batch, int)
        assert t["state"] == "finished" and t["exit_code"] == 0 and t["ended"] >= t["started"]
        assert [p["value"] for p in t["timeline"]["acc"]] == pytest.approx([lr * batch * s for s in (1, 2, 3)])
        assert [p["step"] for p in t["timeline"]["loss"]] == [0, 1, 2]
        assert t["metrics"] == pytest.approx({"acc": lr * batch * 3, "loss": 1 / 3})
        log = api(executed["url"], f"api/hops/store/{e['location']}/{t['id']}/output.log").decode()
        assert log == f"trained {lr} {batch}\n"
        assert api(executed["url"], f"api/hops/store/{e['location']}/{t['id']}/params.json") == t["params"]
    env = e["environment"]
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    packages = {p["name"].lower(): p["version"] for p in env["python"]["packages"]}
    assert packages["pandas"] == pandas.__version__ and "ipykernel" in packages
    assert env["os"] and env["cpu"] and env["cores"] >= 1 and env["hops"] and env["gpu_error"]
    assert "PATH" in env["variables"] and not any("TOKEN" in k for k in env["variables"])
    program = api(executed["url"], f"api/hops/store/{e['location']}/program.py").decode()
    assert program == body
    stored = api(executed["url"], f"api/hops/store/{e['location']}/experiment.json")
    assert stored["id"] == e["id"] and stored["state"] == "finished" and len(stored["trials"]) == 6


def test_a_failing_trial_is_failed_with_its_traceback_and_the_others_finish(executed):
    cell = executed["nb"].cells[2]
    assert not errors_of(cell), "one failed trial does not fail the cell"
    assert 'raise ValueError("x=2 is bad")' in text_of(cell) and "[t1] ValueError: x=2 is bad" in text_of(cell)
    assert "1 of 3 trials failed" in displays_of(cell)[1].data["text/plain"]
    e = executed["runs"]["failing"]
    states = {t["id"]: t["state"] for t in e["trials"]}
    assert states == {"t0": "finished", "t1": "failed", "t2": "finished"} and e["state"] == "finished"
    bad = e["trials"][1]
    assert bad["error"] == "ValueError: x=2 is bad" and bad["exit_code"] == 1
    assert 'raise ValueError("x=2 is bad")' in bad["traceback"] and "_trial.py" not in bad["traceback"]


def test_an_interrupted_run_stops_every_trial_and_is_recorded_killed(executed):
    cell = executed["nb"].cells[3]
    assert [e.ename for e in errors_of(cell)] == ["KeyboardInterrupt"], cell.outputs
    assert "killed" in displays_of(cell)[1].data["text/plain"]
    e = executed["runs"]["sleepy"]
    assert e["state"] == "killed" and e["note"] == "stopped by the user"
    assert [t["state"] for t in e["trials"]] == ["killed", "killed"]
    assert "sleeping 1" in api(executed["url"], f"api/hops/store/{e['location']}/t0/output.log").decode()


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_refused_before_anything_runs(executed, name):
    index = 4 + list(BAD).index(name)
    ename, message = BAD[name][1], BAD[name][2]
    errs = errors_of(executed["nb"].cells[index])
    assert [e.ename for e in errs] == [ename] and message in errs[0].evalue, errs
    assert set(executed["runs"]) == {"grid", "failing", "sleepy", "unlogged"}, "nothing was recorded for bad input"


def test_a_metric_to_optimize_that_no_trial_logs_is_noted_in_the_summary(executed):
    cell = executed["nb"].cells[4 + len(BAD)]
    assert not errors_of(cell)
    assert 'no trial logged the metric to optimize, "accuracy"' in displays_of(cell)[1].data["text/plain"]
    assert "best" not in executed["runs"]["unlogged"]


def test_hops_gpus_says_there_is_no_gpu_here(executed):
    cell = executed["nb"].cells[-3]
    assert not errors_of(cell)
    assert "Trials run with --gpus 0" in displays_of(cell)[0].data["text/plain"] or "GPU 0" in displays_of(cell)[0].data["text/plain"]


def test_hops_experiments_lists_runs_and_refuses_to_compare_one(executed):
    listing = executed["nb"].cells[-2]
    assert not errors_of(listing)
    text = displays_of(listing)[0].data["text/plain"]
    grid = executed["runs"]["grid"]
    assert text.startswith("1 experiment(s), newest first") and grid["id"] in text and "acc=19.2 (t5)" in text
    assert "train.ipynb@" + grid["commit"][:7] in text
    errs = errors_of(executed["nb"].cells[-1])
    assert [e.ename for e in errs] == ["UsageError"] and "two or more experiment ids, got 1" in errs[0].evalue
