"""make run: executes the demo notebook on the hops kernel and prints what each cell gave, then opens
a Jupyter console on the hops kernel when there is a terminal to type in."""
import argparse
import os
import pathlib
import shutil
import sys

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


def show(nb):
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        print(f"\033[1;32mIn [{cell.execution_count}]:\033[0m " + cell.source.replace("\n", "\n         "))
        for out in cell.outputs:
            if out.output_type == "stream":
                print(out.text, end="")
            elif out.output_type in ("display_data", "execute_result"):
                print(out.data.get("text/plain", "<" + ", ".join(out.data) + ">"))
            elif out.output_type == "error":
                print(f"\033[31m{out.ename}: {out.evalue}\033[0m")
        print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", default="demo")
    args = ap.parse_args()
    ws = ROOT / args.workspace
    ws.mkdir(exist_ok=True)
    target = ws / "hops-kernel-tour.ipynb"
    if not target.exists():  # never overwrite what the user changed
        shutil.copy(ROOT / "examples" / "hops-kernel-tour.ipynb", target)
    nb = nbformat.read(target, as_version=4)
    print(f"Running {target} on the hops kernel...\n")
    NotebookClient(nb, kernel_name="hops", timeout=120, resources={"metadata": {"path": str(ws)}}).execute()
    show(nb)
    nbformat.write(nb, ws / "hops-kernel-tour.out.ipynb")
    print(f"Executed notebook saved as {ws / 'hops-kernel-tour.out.ipynb'}")
    if sys.stdin.isatty():
        print("Starting a Jupyter console on the hops kernel (Ctrl-D to quit). Try: %hops help\n")
        os.execv(sys.executable, [sys.executable, "-m", "jupyter_console", "--kernel", "hops"])


if __name__ == "__main__":
    main()
