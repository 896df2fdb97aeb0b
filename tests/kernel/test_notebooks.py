"""Real notebook clients against the hops kernel: nbclient and papermill run a notebook that mixes
Python cells and %hops cells; the Python cells give exactly what ipykernel alone gives."""
import copy
import json
import pathlib
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).parent / "notebooks" / "mixed.ipynb"


def execute(nb, kernel_name):
    NotebookClient(nb, kernel_name=kernel_name, timeout=120, allow_errors=False).execute()
    return nb


def is_hops(cell):
    return any(line.startswith("%hops") or line.startswith("%%hops") for line in cell.source.splitlines())


def python_only(cell):
    """The cell without its %hops lines, as ipykernel alone would run it."""
    c = copy.deepcopy(cell)
    c.source = "\n".join(l for l in c.source.splitlines() if not l.startswith("%hops"))
    return c


def comparable(outputs):
    """Outputs without execution counts (hops cells also take counts)."""
    out = []
    for o in outputs:
        o = dict(o)
        o.pop("execution_count", None)
        if o.get("output_type") == "error":
            o["traceback"] = len(o["traceback"]) > 0
        out.append(json.loads(json.dumps(o, sort_keys=True)))
    return out


def test_nbclient_runs_mixed_notebook_like_ipykernel():
    hops_nb = execute(nbformat.read(NOTEBOOK, as_version=4), "hops")
    plain = nbformat.read(NOTEBOOK, as_version=4)
    plain.cells = [python_only(c) for c in plain.cells]
    plain_nb = execute(plain, "python3")

    assert hops_nb.metadata.language_info.name == "python"
    for hops_cell, plain_cell in zip(hops_nb.cells, plain_nb.cells):
        if hops_cell.cell_type != "code":
            continue
        hops_out = [o for o in hops_cell.outputs if not (o.output_type == "display_data" and "hops" in
                                                            str(o.get("data", {}).get("text/plain", "")))]
        assert comparable(hops_out) == comparable(plain_cell.outputs), hops_cell.source

    by_source = {c.source: c for c in hops_nb.cells}
    version = by_source["%hops version"].outputs
    assert version[0].output_type == "display_data" and "hops" in version[0].data["text/plain"]
    mixed = by_source["total = sum(squares)\n%hops help version\nprint('total', total)\ntotal * 2"].outputs
    assert [o.output_type for o in mixed] == ["display_data", "stream", "execute_result"]
    assert "%hops version" in mixed[0].data["text/plain"] and mixed[1].text == "total 5\n"
    assert mixed[2].data["text/plain"] == "10"
    image = by_source[NOTEBOOK_CELL_PLOT].outputs
    assert any("image/png" in o.get("data", {}) for o in image)
    env = by_source["%hops env --grep ipykernel"].outputs[0]
    assert "ipykernel==" in env.data["text/plain"] and "<table>" in env.data["text/html"]
    counts = [c.execution_count for c in hops_nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), counts


NOTEBOOK_CELL_PLOT = nbformat.read(NOTEBOOK, as_version=4).cells[6].source


def test_papermill_injects_parameters(tmp_path):
    # papermill fails a run on any error output, even an allowed one: run it without the error cell.
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells = [c for c in nb.cells if "raises-exception" not in c.metadata.get("tags", [])]
    nbformat.write(nb, src)
    subprocess.run([sys.executable, "-m", "papermill", str(src), str(out), "-k", "hops", "-p", "n", "5",
                    "--log-output"], check=True, capture_output=True, timeout=300)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "n = 5" in injected[0].source
    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "squares [0, 1, 4, 9, 16]" in texts
    assert "after the error, n = 5" in texts
