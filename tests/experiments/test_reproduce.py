"""Reproduce by rerun and checkout, in a notebook executed by nbclient on the hops kernel against a
real hops lab whose project environment is a throwaway venv (so %hops pip does not change the venv
the tests run with): a deterministic scikit-learn training cell runs as an experiment; the notebook is edited and
saved; rerun gives identical metrics and no environment difference; after %hops pip install of a
small package, rerun reports exactly that package; checkout restores the notebook as committed."""
import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import api, running_hops_lab

TRAIN = """%%hops run --name fit --grid alpha=0.0001,0.01 --optimize r2:max
import hops
from sklearn.datasets import make_regression
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import train_test_split
X, y = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = SGDRegressor(alpha=alpha, random_state=0)
for epoch in range(20):
    model.partial_fit(X_train, y_train)
    hops.log(r2=model.score(X_test, y_test), step=epoch)
"""


def tiny_wheel(dir, name="hopstiny", version="1.0"):
    """A pure-Python wheel pip installs without an index."""
    path = pathlib.Path(dir) / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info/"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n",
             info + "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             info + "WHEEL": "Wheel-Version: 1.0\nGenerator: hops-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(path, "w") as z:
        for n, body in files.items():
            z.writestr(n, body)
        z.writestr(info + "RECORD", "".join(f"{n},,\n" for n in files) + info + "RECORD,,\n")
    return path


def execute(cells, ws):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="hops", timeout=180, allow_errors=True, resources={"metadata": {"path": str(ws)}}).execute()
    return nb


def errors(cell):
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


def shown(cell):
    """The text of what the cell displayed."""
    return "".join(o.data.get("text/plain", "") for o in cell.outputs if o.output_type == "display_data")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """hops lab on a workspace whose project Python is a throwaway venv that sees the test venv's
    packages (a .pth file) and installs into its own site-packages."""
    root = tmp_path_factory.mktemp("repro")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = pathlib.Path(subprocess.check_output([str(venv / "bin" / "python"), "-c",
                                                    "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    (purelib / "hops-test-parent.pth").write_text(sysconfig.get_path("purelib") + "\n")
    (venv / "share").mkdir()
    (venv / "share" / "jupyter").symlink_to(pathlib.Path(sys.prefix) / "share" / "jupyter")  # JupyterLab's assets
    ws = root / "ws"
    ws.mkdir()
    with running_hops_lab(ws, python=str(venv / "bin" / "python")) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOPS_SERVER_URL", url)
        mp.setenv("HOPS_TOKEN", "sdk")
        mp.setenv("HOPS_NOTEBOOK_PATH", "train.ipynb")
        yield url, ws, root


def save(url, cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "hops", "display_name": "Python 3 (hops)", "language": "python"}
    api(url, "api/contents/train.ipynb", "PUT", {"type": "notebook", "format": "json", "content": nb})


def test_rerun_is_identical_until_a_package_is_installed_and_checkout_restores_the_notebook(lab):
    url, ws, root = lab
    save(url, [TRAIN])
    first = execute([TRAIN], ws)
    assert not errors(first.cells[0])
    orig = api(url, "api/hops/experiments?name=fit")["experiments"][0]
    assert orig["state"] == "finished" and orig["commit"] and orig["code_changed"] is False

    save(url, [TRAIN, "print('an edit after the run')"])
    save(url, [TRAIN, "print('another edit')"])

    again = execute([f"%hops rerun {orig['id']}"], ws).cells[0]
    text = shown(again)
    assert not errors(again), errors(again)
    assert "Metrics: identical in every trial." in text and "Environment: no difference." in text, text

    wheel = tiny_wheel(root)
    pip = execute([f"%hops pip install --no-index {wheel}", "%hops pip install --no-index hops-no-such-package-xyz"], ws)
    assert "package hopstiny 1.0 added" in shown(pip.cells[0])
    lock = (ws / "requirements.lock").read_text()
    assert "\nhopstiny==1.0\n" in lock
    assert any("hops-no-such-package-xyz failed" in e and "requirements.lock is unchanged" in e for e in errors(pip.cells[1]))
    assert (ws / "requirements.lock").read_text() == lock, "a failed install changed the lock"

    third = execute([f"%hops rerun {orig['id']}"], ws).cells[0]
    warned = "".join(o.text for o in third.outputs if o.output_type == "stream" and o.name == "stderr")
    assert "(1 difference(s)):\n  package hopstiny 1.0 added\n" in warned, warned
    text = shown(third)
    assert "Metrics: identical in every trial." in text and "Environment: 1 difference(s):\n  package hopstiny 1.0 added" in text, text
    reruns = [e for e in api(url, "api/hops/experiments?name=fit")["experiments"] if e.get("rerun_of") == orig["id"]]
    assert len(reruns) == 2

    checkout = execute([f"%hops checkout {orig['id']}", f"%hops checkout {orig['id']}", "%hops checkout nope"], ws)
    short = orig["id"].rsplit("-", 1)[1]
    written = (ws / f"train@{short}.ipynb").read_bytes()
    committed = subprocess.run(["git", "show", f"{orig['commit']}:train.ipynb"], cwd=ws, capture_output=True, check=True).stdout
    assert written == committed, "checkout restores the notebook byte for byte as committed"
    assert "hopstiny" not in (ws / f"train@{short}.requirements.txt").read_text(), "the lock it ran with, not today's"
    assert any("already exists" in e for e in errors(checkout.cells[1]))
    assert any("no such experiment" in e for e in errors(checkout.cells[2]))
    model = api(url, f"api/contents/train@{short}.ipynb")
    assert model["type"] == "notebook" and model["content"]["cells"][0]["source"].startswith("%%hops run --name fit")
