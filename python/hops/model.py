"""Models a trial trained, for the model registry: hops.model.export("model/", "mnist").

    torch.save(net.state_dict(), "model/weights.pt")
    hops.model.export("model/", "mnist", metrics={"accuracy": acc})

In a trial of `%%hops run` the executor records the model with the experiment, and hops gives it
the next version of its name. Outside a trial nothing is recorded: export checks its arguments
and prints so.
"""
from . import _events

__all__ = ["export"]

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def export(path, name, metrics=None):
    """Exports a model this trial wrote (a file or a directory) under a name of the model registry.

    Args:
        path: the model's file or directory, absolute or relative to the working directory (the
            notebook's directory). It must exist when you call this. hops keeps a copy of it as it
            is at the call, so it may be in a temporary directory that goes right after.
        name: the model's name: 1 to 64 letters, digits, "_" or "-" ("mnist", "resnet50-v2").
            Each export of a name is a new version of it.
        metrics: optional, name to number ({"accuracy": 0.97}), numbers as hops.log takes them;
            they let you compare and pick versions.

    Returns:
        None. In a trial it prints
        "hops: model mnist exported from /abs/path (hops records it with version on the experiment)".

    Raises:
        FileNotFoundError: nothing is at path.
        ValueError: a name that breaks the rule above.
        TypeError: a metric value that is not a number.

    Example:
        model.save("export/")
        hops.model.export("export/", "mnist", metrics={"accuracy": acc})
    """
    full = _events.existing_path(path, "hops.model.export")
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not _NAME_CHARS.issuperset(name):
        raise ValueError(f"hops.model.export: model name {name!r}: a name is 1 to 64 letters, digits, "
                         "'_' or '-' (matches ^[A-Za-z0-9_-]{1,64}$), for example 'mnist'")
    if metrics is not None and not hasattr(metrics, "items"):
        raise TypeError(f"hops.model.export: metrics is a dict of name to number, not a {type(metrics).__name__}")
    values = _events.metrics(metrics, "hops.model.export") if metrics else {}
    if _events.in_trial():
        staged = _events.stage(full, "hops.model.export")
        if _events.emit("model", path=staged, name=name, metrics=_events.for_json(values), source=full):
            print(f"hops: model {name} exported from {full} (hops records it with version on the experiment)",
                  flush=True)
            return
    print(f"hops.model.export: model {name} at {full} is not recorded outside %%hops run "
          "(in a trial it is exported to the model registry)", flush=True)
