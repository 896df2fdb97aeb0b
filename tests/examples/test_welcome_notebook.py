"""The welcome notebook `make run` puts in its demo workspace, run as a new user runs it: saved once in a
real hops lab (so it has a version), then executed cell by cell by nbclient on the hops kernel. Every cell
but the last shows what its text promises without an error; the last, which the text tells the user to
interrupt, is interrupted."""
import os
import pathlib
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import api, running_hops_lab

WELCOME = pathlib.Path(__file__).resolve().parents[2] / "examples" / "welcome-to-hops.ipynb"
INTERRUPT_AFTER_S = 4


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    ws = tmp_path_factory.mktemp("demo")
    shutil.copy(WELCOME, ws / WELCOME.name)  # as make run does
    with running_hops_lab(ws) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOPS_SERVER_URL", url)
        mp.setenv("HOPS_TOKEN", "sdk")
        mp.setenv("HOPS_NOTEBOOK_PATH", WELCOME.name)
        nb = nbformat.read(ws / WELCOME.name, as_version=4)
        api(url, f"api/contents/{WELCOME.name}", "PUT", {"type": "notebook", "format": "json", "content": nb})
        last = nb.cells[-1]
        client = NotebookClient(nb, kernel_name="hops", timeout=180, allow_errors=True, interrupt_on_timeout=True,
                                timeout_func=lambda cell: INTERRUPT_AFTER_S if cell is last else 180,
                                resources={"metadata": {"path": str(ws)}})
        client.execute()
        runs = api(url, "api/hops/experiments")["experiments"]
        records = [api(url, f"api/hops/experiments/{e['id']}") for e in runs]
        yield {"nb": nb, "records": records, "ws": ws}


def outputs(nb, first_line):
    """The outputs of the one code cell whose first line starts with first_line (all of it, for a magic)."""
    def matches(cell):
        line = cell.source.split("\n")[0]
        return line == first_line if first_line.startswith("%hops ") else line.startswith(first_line)
    cells = [c for c in nb.cells if c.cell_type == "code" and matches(c)]
    assert len(cells) == 1, f"{len(cells)} cells start with {first_line!r}"
    return cells[0].outputs


def text(outs):
    parts = []
    for o in outs:
        parts.append(o.get("text", ""))
        parts.append(o.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_every_cell_but_the_one_to_interrupt_runs_without_an_error(executed):
    code = [c for c in executed["nb"].cells if c.cell_type == "code"]
    for cell in code[:-1]:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.source[:60]!r}: {errors}"
        assert cell.outputs or cell.source.startswith("import"), f"{cell.source[:60]!r} shows nothing"
    last = code[-1]
    assert [o.ename for o in last.outputs if o.output_type == "error"] == ["KeyboardInterrupt"]
    assert "step 0\n" in text(last.outputs)


def test_the_magics_answer(executed):
    nb = executed["nb"]
    assert "%%hops run" in text(outputs(nb, "%hops help"))
    assert text(outputs(nb, "%hops version")).startswith("hops ")
    assert "12.566" in text(outputs(nb, "import math"))
    assert "matplotlib" in text(outputs(nb, "%hops env --grep matplotlib"))
    assert "ipykernel" in text(outputs(nb, "import math"))
    assert "welcome-to-hops.ipynb" in text(outputs(nb, "%hops versions"))
    assert "GPU" in text(outputs(nb, "%hops gpus"))


def test_rich_output_shows_as_with_plain_ipykernel(executed):
    nb = executed["nb"]
    assert any("image/png" in o.get("data", {}) for o in outputs(nb, "import matplotlib"))
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs(nb, "import ipywidgets"))
    assert "'devices':" in text(outputs(nb, "import json, os, urllib.request")), "the kernel called its server back"


def test_the_experiment_runs_six_trials_keeps_their_artifacts_and_gives_a_dataframe(executed):
    nb = executed["nb"]
    shown = text(outputs(nb, "%%hops run"))
    assert "6 finished" in shown and "Best: " in shown
    assert "Kept by the trials" in shown and "t5: path.csv" in shown
    assert any("application/vnd.vegalite.v5+json" in o.get("data", {}) for o in outputs(nb, "%%hops run"))
    frame = outputs(nb, "runs.sort_values")
    assert any("text/html" in o.get("data", {}) for o in frame), frame
    [record] = executed["records"]
    assert record["notebook"] == WELCOME.name and record["commit"] and record["state"] == "finished"
    store = executed["ws"] / ".hops" / "store"
    for trial in record["trials"]:
        [kept] = trial["artifacts"]
        assert kept.endswith(f"/{trial['id']}/artifacts/path.csv")
        assert (store / kept).read_text().startswith("step,w\n0,")
    assert not [p for p in os.listdir(executed["ws"]) if p.endswith(".csv")], "the demo leaves no files behind"
