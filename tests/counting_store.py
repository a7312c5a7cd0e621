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
