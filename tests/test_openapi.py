"""The OpenAPI document of /api/hops parses and documents every /api/hops route the server registers."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_hops_route_is_documented():
    spec = yaml.safe_load((ROOT / "server" / "openapi.yaml").read_text())
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    source = "".join(p.read_text() for p in sorted((ROOT / "server").glob("*.go")) if not p.name.endswith("_test.go"))
    routes = re.findall(r'HandleFunc\("(GET|POST|PUT|PATCH|DELETE) (/api/hops/[^"]*)"', source)
    assert routes, "no /api/hops routes found in server/*.go"
    for method, route in routes:
        path = re.sub(r"\{(\w+)\.\.\.\}", r"{\1}", route)
        assert (method, path) in documented, f"{method} {path} is served but not in server/openapi.yaml"
