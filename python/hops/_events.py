"""The events a trial reports to its executor, and the checks on what users pass the SDK.

In a trial of `%%hops run`, the executor hands the trial a pipe (its file descriptor number in
HOPS_EVENTS_FD); each event is one JSON object on one line of it, written with a single os.write
under a lock, so that lines from several threads never mix. Anywhere else (no HOPS_EVENTS_FD)
nothing is recorded and the SDK prints what it would have recorded.

Kept small on purpose: the trial runner imports this before the user's code runs. It reads and
writes JSON with the C helpers of the json package (_json), not the package itself, which imports
re: a third of a trial's start-up otherwise.
"""
import _thread
import os
import stat
import sys
import time

try:
    from _json import encode_basestring_ascii as _quote, make_scanner as _make_scanner
except ImportError:  # a Python without the C accelerator
    from json.encoder import py_encode_basestring_ascii as _quote
    _make_scanner = None

# Go's line reader of the executor passes a longer line on in pieces: an event must fit in one.
MAX_LINE = 64 << 10

_NON_FINITE = {float("inf"): "Infinity", float("-inf"): "-Infinity"}

_lock = _thread.RLock()
_fd = None  # the events pipe: None until first needed, -1 where there is none
_warned = False


def _reinit_after_fork():
    # A thread of the parent may have held the lock when a worker was forked (a DataLoader, a
    # multiprocessing pool): the child gets a fresh one, and keeps writing to the same pipe.
    global _lock
    _lock = _thread.RLock()


os.register_at_fork(after_in_child=_reinit_after_fork)


def _warn(message):
    global _warned
    if not _warned:
        _warned = True
        sys.stderr.write(f"hops: {message}\n")


def _events_fd():
    global _fd
    if _fd is None:
        _fd = -1
        value = os.environ.get("HOPS_EVENTS_FD")
        if value:
            try:
                fd = int(value)
                mode = os.fstat(fd).st_mode
            except (ValueError, OSError):
                _warn(f"HOPS_EVENTS_FD={value} is not open in this process (a subprocess of a trial?): "
                      "what it logs is printed, not recorded")
                return -1
            # A program started by a trial inherits HOPS_EVENTS_FD but not the pipe; the number may
            # then be one of its own files, which must not get events.
            if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                _warn(f"HOPS_EVENTS_FD={value} is not the executor's pipe in this process: "
                      "what it logs is printed, not recorded")
                return -1
            _fd = fd
    return _fd


def in_trial():
    """Whether this process reports to an executor (it runs as a trial of `%%hops run`)."""
    return _events_fd() >= 0


def dumps(value):
    """JSON text of what events hold (dicts with str keys, str, int, finite float, bool, None),
    as json.dumps(value, separators=(",", ":"), allow_nan=False) writes it."""
    if isinstance(value, str):
        return _quote(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in _NON_FINITE:
            raise ValueError(f"{value!r} has no JSON form")
        return float.__repr__(value)
    if isinstance(value, dict):
        return "{" + ",".join(_quote(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    raise TypeError(f"an event holds no {type(value).__name__}")


class _Decoding:  # what the C scanner reads of a json.JSONDecoder
    strict = True
    object_hook = object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity


def loads(text):
    """json.loads(text), for the JSON a trial is given."""
    text = text.strip()
    if _make_scanner is not None:
        try:
            value, end = _make_scanner(_Decoding)(text, 0)
            if end == len(text):
                return value
        except (StopIteration, ValueError):
            pass
    import json  # not JSON (or no C scanner): json says what is wrong
    return json.loads(text)


def encode(kind, fields):
    """The event's line, bytes with its newline; ValueError when it is too long for one line."""
    line = dumps({"type": kind, "time": time.time(), **fields}).encode() + b"\n"
    if len(line) >= MAX_LINE:
        raise ValueError(f"the {kind} event is {len(line)} bytes and an event is at most {MAX_LINE - 1}")
    return line


def write_locked(line):
    """Writes one encoded event; the caller holds the lock. False where nothing was recorded."""
    global _fd
    fd = _events_fd()
    if fd < 0:
        return False
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        _fd = -1
        _warn(f"cannot write to the executor's pipe ({e}): from now on, what this trial logs is printed, not recorded")
        return False
    return True


def emit(kind, **fields):
    """Sends an event to the executor; False where there is none (outside a trial)."""
    line = encode(kind, fields)
    with _lock:
        return write_locked(line)


def lock():
    """The lock that orders events (and the SDK's own counters): hold it around write_locked."""
    return _lock


def params_from_env():
    """This trial's parameters (HOPS_PARAMS, a JSON object); {} outside a trial."""
    value = os.environ.get("HOPS_PARAMS")
    if not value:
        return {}
    params = loads(value)
    if not isinstance(params, dict):
        raise ValueError(f"HOPS_PARAMS is not a JSON object: {value[:200]}")
    return params


def trial_id():
    return os.environ.get("HOPS_TRIAL_ID") or "trial"


_NUMBERS = (bool, int, float)


def number(value, key, caller):
    """A metric value as a float; TypeError (naming the key and the type) for anything but a number."""
    if type(value) not in _NUMBERS:  # numpy and torch scalars, Decimal, ...: float() if they are one number
        if isinstance(value, (str, bytes, bytearray, complex)) or value is None \
                or getattr(getattr(value, "dtype", None), "kind", "") == "c":
            raise TypeError(_not_a_number(value, key, caller))
        if getattr(value, "ndim", 0) != 0:
            raise TypeError(f"{caller}: metric {key!r} is an array of shape {tuple(getattr(value, 'shape', ()))} "
                            f"({type(value).__name__}), not one number: pass a scalar, for example x.item() or x.mean()")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{caller}: metric {key!r} is too large for a float: {_short(value)}") from None
    except (TypeError, ValueError):
        raise TypeError(_not_a_number(value, key, caller)) from None


def _not_a_number(value, key, caller):
    return (f"{caller}: metric {key!r} is not a number: {_short(value)} ({type(value).__name__}); "
            "pass an int, float or bool, or a numpy or torch scalar")


def _short(value):
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 (a broken __repr__ must not hide the real error)
        return "unprintable"
    return text if len(text) <= 60 else text[:57] + "..."


def metrics(values, caller):
    """Checked metrics: names to floats, as the events carry them (NaN and infinities as strings)."""
    if not values:
        raise ValueError(f"{caller}: no metrics given: name them, for example {caller}(accuracy=0.9)")
    out = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"{caller}: metric names are non-empty strings, not {key!r}")
        out[key] = number(value, key, caller)
    return out


def for_json(values):
    """Metrics as an event carries them: NaN, Infinity and -Infinity are strings (JSON has no such numbers)."""
    return {k: ("NaN" if v != v else _NON_FINITE.get(v, v)) for k, v in values.items()}


def show(values):
    """Metrics for a printed line: acc=0.9, loss=0.1."""
    return ", ".join(f"{k}={v:.6g}" for k, v in values.items())


_staged = 0  # copies made by stage so far


def stage(full, caller):
    """A copy of what is at `full` now, in the trial's directory, which hops moves to the experiment.

    The trial may rewrite or delete the original right after the call (a checkpoint saved every epoch, a
    model saved in a temporary directory): what is kept is what was there at the call, never a
    half-written file. Without a trial directory (an executor that gives none) the original is sent.
    """
    global _staged
    trial_dir = os.environ.get("HOPS_TRIAL_DIR")
    if not trial_dir:
        return full
    import shutil  # here, not at the top: a trial that keeps no file starts without it

    with _lock:  # only the number: the copy does not hold up other threads' logs
        _staged += 1
        dest = os.path.join(trial_dir, "staged", str(_staged), os.path.basename(full))
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(full):
            shutil.copytree(full, dest, symlinks=True)
        else:
            shutil.copy2(full, dest)
    except OSError as e:  # shutil.Error (a directory copied in part) and SpecialFileError are OSErrors too
        shutil.rmtree(os.path.dirname(dest), ignore_errors=True)
        if isinstance(e, shutil.Error) and e.args and isinstance(e.args[0], list):
            why = "; ".join(str(reason) for _, _, reason in e.args[0][:3])  # (source, copy, why) per file
        else:
            why = e.strerror or str(e)
        raise OSError(f"{caller}: cannot copy {full} for the experiment ({why}); nothing of it was "
                      "recorded: pass regular files and directories, and have room for a copy") from e
    return dest


def existing_path(path, caller):
    """The absolute path of an existing file or directory; FileNotFoundError, clearly, otherwise."""
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"{caller}: path must be a str or os.PathLike, not {type(path).__name__}") from None
    if not name:
        raise ValueError(f"{caller}: path is empty: pass the path of a file or directory")
    full = os.path.abspath(name)
    if not os.path.exists(full):
        raise FileNotFoundError(f"{caller}: {name} does not exist (looked for {full}): "
                                "write the file or directory first, then pass its path")
    return full
