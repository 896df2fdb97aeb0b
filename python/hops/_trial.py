"""The trial runner: `python -u -m hops._trial` runs one trial of `%%hops run`.

The executor starts it in the notebook's directory with
  HOPS_PROGRAM     a UTF-8 file holding the cell's code (the program)
  HOPS_PARAMS      this trial's parameters, a JSON object; each one becomes a variable of the program
  HOPS_EVENTS_FD   the pipe that gets the trial's events, one JSON object a line
  HOPS_EXPERIMENT_ID, HOPS_TRIAL_ID, HOPS_TRIAL_DIR (the trial's scratch directory)
and streams its stdout and stderr to the notebook.

The program runs as a script would (__name__ == "__main__", its namespace is sys.modules["__main__"],
so classes it defines pickle), under the file name "<hops cell>". Before it starts the runner writes
a "start" event. When it raises, the runner prints the traceback (the program's frames and what they
called, none of the runner's), writes an "error" event and exits 1; sys.exit(n) exits n, with an
"error" event unless n is 0 or None. It starts about as fast as `python -c pass`: it imports only
what a program that logs needs.
"""
import builtins
import os
import sys

from . import _events

FILENAME = "<hops cell>"


def main():
    program = os.environ.get("HOPS_PROGRAM")
    if not program:
        sys.stderr.write("hops._trial runs a trial of %%hops run: the executor starts it with HOPS_PROGRAM "
                         "(the file of the program) and HOPS_PARAMS set\n")
        return 2
    try:
        with open(program, encoding="utf-8") as f:
            source = f.read()
        params = _events.params_from_env()
    except (OSError, ValueError) as e:
        sys.stderr.write(f"hops._trial: {e}\n")
        return 2

    import hops
    hops.params = dict(params)

    # The program's module: its globals are {"__name__": "__main__", "__builtins__": builtins, **params}
    # (and the other attributes every module has), and pickle finds what it defines as __main__.X.
    main_module = type(sys)("__main__")
    namespace = main_module.__dict__
    namespace["__builtins__"] = builtins
    namespace.update(params)
    sys.modules["__main__"] = main_module
    sys.argv = [FILENAME]
    _register(source)

    _events.emit("start")
    try:
        exec(compile(source, FILENAME, "exec"), namespace)
    except SystemExit as e:
        if e.code is None or e.code == 0:
            return 0
        if isinstance(e.code, int):
            status = e.code
        else:  # sys.exit("message"): Python prints the message and exits 1
            sys.stderr.write(f"{e.code}\n")
            status = 1
        _report(e, show=False)
        return status
    except KeyboardInterrupt as e:
        _report(e)
        # Exit as Python does on an uncaught KeyboardInterrupt (killed by SIGINT), without printing it twice.
        sys.excepthook = lambda *args: None
        raise KeyboardInterrupt from None
    except BaseException as e:  # noqa: BLE001 (whatever the program raises is its error)
        _report(e)
        return 1
    return 0


def _register(source):
    """Puts the program's lines in linecache, where tracebacks, warnings and inspect.getsource
    (tf.function, torch.jit) read them. linecache imports tokenize and re, a third of the start-up:
    unless something has already, it is loaded when first read, keeping the cache set here."""
    entry = (len(source), None, source.splitlines(True), FILENAME)
    if "linecache" not in sys.modules:
        try:
            import importlib.util  # already imported by `python -m`

            spec = importlib.util.find_spec("linecache")
            spec.loader = importlib.util.LazyLoader(spec.loader)
            module = importlib.util.module_from_spec(spec)
            sys.modules["linecache"] = module
            spec.loader.exec_module(module)
            module.cache = {FILENAME: entry}  # setting an attribute does not load it; reading one would
            return
        except Exception:  # noqa: BLE001 (an unusual import system: load it now)
            sys.modules.pop("linecache", None)
    import linecache
    linecache.cache[FILENAME] = entry


def _report(error, show=True):
    """Prints the program's traceback to stderr (show) and writes the "error" event."""
    import traceback

    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb))
    if show:
        sys.stderr.write(text)
    try:
        sys.stderr.flush()
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        evalue = str(error)
    except Exception:  # noqa: BLE001
        evalue = f"<unprintable {type(error).__name__}>"
    evalue = evalue[:8192]
    for _ in range(32):
        try:
            _events.emit("error", ename=type(error).__name__, evalue=evalue, traceback=text)
            return
        except ValueError:  # longer than an event may be: keep the end of the traceback, where the error is
            text = "...\n" + text[len(text) // 2:] if len(text) > 64 else ""
            evalue = evalue[:1024]


if __name__ == "__main__":
    sys.exit(main())
