# Prints the Python environment of this interpreter as JSON: hops runs it with the engine's (or a
# trial's) interpreter to snapshot the environment. Standard library only.
import importlib.metadata as metadata
import json
import platform
import sys

packages = {}
for dist in metadata.distributions():
    name = dist.metadata.get("Name")
    if name and name.lower() not in packages:  # first on sys.path wins, as for imports
        packages[name.lower()] = {"name": name, "version": dist.version}

print(json.dumps({
    "version": platform.python_version(),
    "implementation": platform.python_implementation(),
    "executable": sys.executable,
    "prefix": sys.prefix,
    "packages": sorted(packages.values(), key=lambda p: p["name"].lower()),
}))
