"""The hops Python SDK: what notebooks and trials use of the project hops lab serves.

    import hops
    hops.fs.ls("Resources")
    df = pandas.read_csv(hops.fs.open("Resources/data.csv"))

It talks to the hops lab that started the kernel (HOPS_SERVER_URL and HOPS_TOKEN, which hops lab
sets for its kernels and trials) through the documented API under /api/hops/.
"""
from . import fs
from ._api import HopsError

__all__ = ["fs", "HopsError"]
