"""The hops Python SDK: what notebooks and trials use of the project hops lab serves.

In a trial of `%%hops run` (each trial runs the cell as a program, its parameters as variables):

    import hops
    hops.params                                   # this trial's parameters: {"lr": 0.01, "batch": 64}
    hops.log(accuracy=acc, loss=loss, step=epoch)  # metric timelines of the experiment
    hops.artifact("confusion.png")                # a file or directory kept with the experiment
    writer = SummaryWriter(hops.tensorboard.logdir())
    hops.model.export("model/", "mnist", metrics={"accuracy": acc})

Outside a trial (a plain cell, a script) these check their arguments the same way and print what
they would have recorded, so that the code runs unchanged in both places.

The project store, from anywhere hops lab started:

    hops.fs.ls("Resources")
    df = pandas.read_csv(hops.fs.open("Resources/data.csv"))

hops.fs talks to the hops lab that started the kernel (HOPS_SERVER_URL and HOPS_TOKEN, which hops
lab sets for its kernels and trials) through the documented API under /api/hops/.
"""
import os as _os

from . import _events

__all__ = ["log", "params", "artifact", "tensorboard", "model", "fs", "HopsError"]

# Imported when first used, so that a trial that only logs starts without the HTTP client.
_LAZY_MODULES = ("fs", "model", "tensorboard")

_auto_step = 0


def log(step=None, **metrics):
    """Records metrics of this trial at a step, for the experiment's timelines and --optimize.

    Args:
        step: the step the values belong to, an int >= 0 (the epoch, the batch number, ...).
            Left out, hops numbers the calls without a step itself: 0, 1, 2, ...
        **metrics: name=value, one or more; each value is one number: an int, float or bool,
            a numpy scalar or 0-d array, or a 0-d torch tensor (a loss tensor as it is).
            NaN and infinities are recorded as such.

    In a trial of `%%hops run` the values go to the experiment: the live progress table of the
    cell, the metric timelines, the best trial. Elsewhere (a plain cell, a script) the call
    checks the values just the same and prints them:

        >>> hops.log(acc=0.9, loss=0.1)
        hops.log: step 0: acc=0.9, loss=0.1

    Raises:
        TypeError: a value that is not a number (the message names it), or a step that is not an int.
        ValueError: no metrics, or a negative step.

    Example:
        for epoch in range(epochs):
            loss = train_one_epoch(model, lr)
            hops.log(step=epoch, loss=loss, accuracy=evaluate(model))
    """
    global _auto_step
    values = _events.metrics(metrics, "hops.log")
    if step is not None:
        if isinstance(step, bool) or not hasattr(type(step), "__index__"):
            raise TypeError(f"hops.log: step must be an int >= 0, not {type(step).__name__} ({step!r})")
        step = step.__index__()
        if step < 0:
            raise ValueError(f"hops.log: step must be an int >= 0, not {step}")
    with _events.lock():
        if step is None:
            step = _auto_step
            _auto_step += 1
        if _events.in_trial():
            line = _events.encode("log", {"step": step, "metrics": _events.for_json(values)})
            if _events.write_locked(line):
                return
        print(f"hops.log: step {step}: {_events.show(values)}", flush=True)


def artifact(path):
    """Keeps a file or directory of this trial with the experiment.

    Args:
        path: the file or directory, absolute or relative to the working directory (the
            notebook's directory). It must exist when you call this. hops keeps a copy of it as it
            is at the call, so the trial may change or delete it afterwards.

    Returns:
        In a trial of `%%hops run`: where the experiment keeps it, relative to the experiment,
        "<trial id>/artifacts/<name>" (for example "t03/artifacts/plots/confusion.png"). The name
        is the path relative to the working directory, or the base name for a path outside it.
        Logging the same path again replaces what was kept (a checkpoint saved every epoch); another
        path that would get a name already used in this trial gets "-2", "-3", ... before its extension.
        Elsewhere nothing is recorded: the call prints so and returns the absolute path.

    Raises:
        FileNotFoundError: nothing is at path.

    Example:
        fig.savefig("confusion.png")
        hops.artifact("confusion.png")
    """
    full = _events.existing_path(path, "hops.artifact")
    if not _os.path.basename(full):
        raise ValueError(f"hops.artifact: {full} is the root directory: pass a file or a directory below it")
    if _events.in_trial():
        with _events.lock():
            name = _artifact_name(full)
            _artifact_sources[name] = full
        staged = _events.stage(full, "hops.artifact")
        with _events.lock():
            if _events.write_locked(_events.encode("artifact", {"path": staged, "name": name, "source": full})):
                return f"{_events.trial_id()}/artifacts/{name}"
    print(f"hops.artifact: {full} is not recorded outside %%hops run (in a trial it is kept with the experiment)",
          flush=True)
    return full


_artifact_sources = {}  # name under the trial's artifacts/ -> the absolute path it was taken from
def _artifact_name(full):
    rel = _os.path.relpath(full)
    if rel == "." or rel == _os.pardir or rel.startswith(_os.pardir + _os.sep):
        rel = _os.path.basename(full)
    name = rel.replace(_os.sep, "/")
    stem, ext = _os.path.splitext(name)
    n = 2
    while _artifact_sources.get(name, full) != full:
        name, n = f"{stem}-{n}{ext}", n + 1
    return name


def __getattr__(name):
    if name in _LAZY_MODULES:
        __import__(f"{__name__}.{name}")  # the import system sets it on this package
        return globals()[name]
    if name == "HopsError":
        from ._api import HopsError
        globals()["HopsError"] = HopsError
        return HopsError
    if name == "params":
        params = _events.params_from_env()
        globals()["params"] = params
        return params
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
