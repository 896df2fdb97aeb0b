"""The project store (Experiments/, Models/, FeatureStore/, Resources/, Logs/), on a local directory
or HDFS, whichever hops lab was started with. Paths are relative to the store's root:

    hops.fs.put("iris.csv", "Resources/iris.csv")
    df = pandas.read_csv(hops.fs.open("Resources/iris.csv"))
    with hops.fs.open("Models/notes.txt", "w") as f:
        f.write("trained on iris\\n")

Reads stream from the server; writes are published whole when the file is closed.
"""
import io
import json
import os
import shutil
import tempfile

from ._api import HopsError, get_json, quote_path, request

__all__ = ["open", "ls", "put", "get", "exists", "mkdir", "rm", "mv", "HopsError"]

_CHUNK = 1 << 20


def _store(path):
    return "store/" + quote_path(path)


class _Upload(io.RawIOBase):
    """A file being written: spooled to memory, then to a temporary file past 16 MiB, and streamed
    to the store when closed."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self._buf = tempfile.SpooledTemporaryFile(max_size=16 << 20)
        self._aborted = False

    def writable(self):
        return True

    def write(self, b):
        return self._buf.write(b)

    def abort(self):
        """Discards what was written: the store keeps what it had."""
        self._aborted = True
        self.close()

    def close(self):
        if self.closed:
            return
        try:
            if not self._aborted:
                size = self._buf.tell()
                self._buf.seek(0)
                with request("PUT", _store(self.path), body=self._buf,
                             headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)}):
                    pass
        finally:
            self._buf.close()
            super().close()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()  # a with-block that failed publishes nothing
        else:
            self.close()
        return False


def open(path, mode="rb", encoding="utf-8", newline=None):  # noqa: A001 (the name users expect)
    """Opens a store file: "rb"/"r" to read (streamed), "wb"/"w" to write (published on close)."""
    if mode not in ("r", "rb", "w", "wb", "rt", "wt"):
        raise ValueError(f"mode {mode!r}: use 'r', 'rb', 'w' or 'wb'")
    if "w" in mode:
        raw = _Upload(path)
        if "b" in mode:
            return io.BufferedWriter(raw, buffer_size=_CHUNK)
        return _TextUpload(io.BufferedWriter(raw, buffer_size=_CHUNK), raw, encoding=encoding, newline=newline)
    resp = request("GET", _store(path))
    if resp.headers.get("X-Hops-Store-Entry") == "directory":
        resp.close()
        raise IsADirectoryError(f"{path} is a directory in the project store: list it with hops.fs.ls")
    stream = io.BufferedReader(resp, buffer_size=_CHUNK)
    return stream if "b" in mode else io.TextIOWrapper(stream, encoding=encoding, newline=newline)


class _TextUpload(io.TextIOWrapper):
    def __init__(self, buffered, raw, **kw):
        super().__init__(buffered, **kw)
        self._raw = raw

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._raw.abort()
        else:
            self.close()
        return False


def ls(path=""):
    """The entries of a store directory: dicts with name, size, modified, dir."""
    listing = get_json(_store(path))
    if "entries" not in listing:
        raise NotADirectoryError(f"{path} is a file in the project store")
    return listing["entries"]


def exists(path):
    """Whether a file or directory is at path."""
    try:
        with request("HEAD", _store(path)):
            return True
    except HopsError as e:
        if e.status == 404:
            return False
        raise


def put(local_path, path):
    """Copies a local file into the store (streamed)."""
    size = os.path.getsize(local_path)
    with builtin_open(local_path, "rb") as f:
        with request("PUT", _store(path), body=f,
                     headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)}):
            pass


def get(path, local_path):
    """Copies a store file to a local file (streamed)."""
    with request("GET", _store(path)) as resp, builtin_open(local_path, "wb") as out:
        shutil.copyfileobj(resp, out, _CHUNK)


def mkdir(path):
    """Creates a store directory and its parents."""
    with request("PUT", _store(path), query={"type": "directory"}, body=b""):
        pass


def rm(path):
    """Removes a store file, or a directory with everything below it."""
    with request("DELETE", _store(path)):
        pass


def mv(src, dst):
    """Renames within the store; a file at dst is replaced."""
    with request("PATCH", _store(src), body=json.dumps({"path": str(dst).strip("/")}).encode(),
                 headers={"Content-Type": "application/json"}):
        pass


builtin_open = io.open
