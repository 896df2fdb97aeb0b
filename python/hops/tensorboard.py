"""TensorBoard logs of a trial: write them where hops.tensorboard.logdir() says.

    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(hops.tensorboard.logdir())

In a trial of `%%hops run` the directory is the trial's own, and the executor keeps it with the
experiment. Outside a trial it is ./tensorboard.
"""
import os

from . import _events

__all__ = ["logdir"]

_reported = False


def logdir():
    """The directory for this trial's TensorBoard event files, created if missing.

    Returns:
        The absolute path: in a trial of `%%hops run`, "tensorboard" in the trial's directory
        (HOPS_TRIAL_DIR), which the experiment keeps; elsewhere ./tensorboard, relative to the
        working directory.

    Example:
        writer = tf.summary.create_file_writer(hops.tensorboard.logdir())
    """
    global _reported
    base = os.environ.get("HOPS_TRIAL_DIR") or os.getcwd()
    path = os.path.join(os.path.abspath(base), "tensorboard")
    os.makedirs(path, exist_ok=True)
    with _events.lock():
        if not _reported and _events.in_trial():
            _reported = _events.write_locked(_events.encode("tensorboard", {"path": path}))
    return path
