"""The HTTP client of /api/hops: the server's address and token from the environment, errors with
the server's message."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request


class HopsError(Exception):
    """A request to hops lab failed; the message is the server's (what was wrong, what to do)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _base():
    url = os.environ.get("HOPS_SERVER_URL")
    if not url:
        raise HopsError("this Python was not started by hops lab (HOPS_SERVER_URL is not set): "
                        "run the code in a notebook served by `hops lab`, or set HOPS_SERVER_URL and HOPS_TOKEN")
    return url if url.endswith("/") else url + "/"


def quote_path(path):
    """Each segment of a "/"-separated store path, URL-encoded."""
    return "/".join(urllib.parse.quote(seg, safe="") for seg in str(path).strip("/").split("/") if seg != "")


def request(method, path, query=None, body=None, headers=None, timeout=300):
    """Sends a request to /api/hops/<path> and returns the open response (a file-like object)."""
    url = _base() + "api/hops/" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", "token " + os.environ.get("HOPS_TOKEN", ""))
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        message = e.reason
        try:
            message = json.loads(e.read() or b"{}").get("message") or message
        except ValueError:
            pass
        raise HopsError(message, status=e.code) from None
    except urllib.error.URLError as e:
        raise HopsError(f"cannot reach hops lab at {_base()}: {e.reason}") from None


def get_json(path, query=None):
    with request("GET", path, query) as resp:
        return json.load(resp)
