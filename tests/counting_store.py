"""A zarr store that counts the reads of each key, for the tests that check that a run reads
every stored chunk once (zarr's own WrapperStore around a LocalStore: no mock)."""

from __future__ import annotations

import collections
from pathlib import Path


def counting_store(path: str | Path):
    """A read-only store on the zarr store at ``path`` whose ``gets`` counts each key read."""
    from zarr.storage import LocalStore, WrapperStore

    class Counting(WrapperStore):
        def __init__(self, store):
            super().__init__(store)
            self.gets = collections.Counter()

        async def get(self, key, prototype, byte_range=None):
            self.gets[key] += 1
            return await self._store.get(key, prototype, byte_range)

    return Counting(LocalStore(path, read_only=True))


def run_counting_reads(path: str | Path, argv: list[str], names: tuple[str, ...]):
    """The job ``daskgrad run in.zarr out.zarr *argv`` computes on the store at ``path``,
    computed on the sync scheduler from a counting store: its result, and how often each
    stored chunk (``/c/`` keys) of the variables ``names`` (``"u/"``, …) was read."""
    import warnings

    import dask
    import xarray as xr

    from daskgrad.cli.app import _request
    from daskgrad.cli.parser import build_parser
    from daskgrad.cli.pipeline import prepare

    args = build_parser().parse_args(["run", "in.zarr", "out.zarr", *argv])
    counting = counting_store(path)
    ds = xr.open_zarr(counting)
    counting.gets.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = prepare(ds, args.dim, args.var, request=_request(args))
    with dask.config.set(scheduler="sync"):
        result = job.result.compute()
    reads = {k: n for k, n in counting.gets.items() if k.startswith(names) and "/c/" in k}
    return result, reads
