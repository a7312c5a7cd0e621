"""The stores and files a dask-backed xarray object reads, found by digging through its graph
(xarray's, dask's and zarr's array wrappers): what an output must never replace."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .locations import fs_location, is_url

# attributes through which array wrappers (xarray's, dask's getters, zarr's) reach their store
_THROUGH = (
    "array", "_array", "store", "_store", "chunk_store", "_chunk_store", "store_path",
    "datastore", "zarr_group", "zarr_array", "_manager", "mapper", "map",
)  # fmt: skip


def _sources_in(x: Any, found: dict[str, Any], seen: dict[int, Any], depth: int = 0) -> None:
    """Add to ``found`` the stores and files that ``x`` (a task, a node's value) reads."""
    import numpy as np
    from fsspec import AbstractFileSystem

    if depth > 24 or id(x) in seen or x is None or isinstance(x, str | bytes | int | float):
        return
    if isinstance(x, np.ndarray | np.generic | AbstractFileSystem | type):
        return
    seen[id(x)] = x  # held: a property's fresh object must not free its id for another
    inner: list[Any] = []
    if isinstance(x, list | tuple | set | frozenset):
        inner = list(x)
    elif isinstance(x, dict):
        inner = list(x.values())
    elif type(x).__module__.startswith("dask"):  # the task spec
        inner = [getattr(x, a, None) for a in ("value", "args", "kwargs", "func")]
    fs, name, root = getattr(x, "fs", None), type(x).__name__, None
    if isinstance(fs, AbstractFileSystem):  # FsspecStore, zarr 2 FSStore, FSMap, OpenFile
        path = next((p for a in ("path", "root") if isinstance(p := getattr(x, a, None), str)), "")
        loc = fs_location(fs, path)
        found.setdefault(str(loc), loc)
        return
    if name == "LocalStore":  # zarr 3
        root = getattr(x, "root", None)
    elif name in ("DirectoryStore", "NestedDirectoryStore", "N5Store", "ZipStore"):  # zarr 2
        root = getattr(x, "path", None)
    elif name == "CachingFileManager":  # xarray's netCDF files: the file is its first argument
        root = next(iter(getattr(x, "_args", ()) or ()), None)
    if isinstance(root, str | os.PathLike) and not is_url(root):
        found.setdefault(os.path.abspath(root), Path(os.path.abspath(root)))
        return
    inner.append(root)
    for attr in _THROUGH:
        with contextlib.suppress(Exception):
            inner.append(getattr(x, attr, None))
    for y in inner:
        _sources_in(y, found, seen, depth + 1)


def source_paths(obj: Any) -> list[Any]:
    """Files and zarr stores (paths, or Locations for fsspec stores) the variables of ``obj``
    are read from, whatever opened them: xarray, ``da.from_zarr``, ``zarr.open`` with
    ``da.from_array``, zarr stores of zarr 2 and 3, fsspec mappers; found in the dask graph."""
    found: dict[str, Any] = {}
    seen: dict[int, Any] = {}
    for var in [obj, *obj.variables.values()]:  # a Dataset's own encoding names its store
        source = var.encoding.get("source")
        if isinstance(source, str) and not is_url(source):
            found.setdefault(os.path.abspath(source), Path(os.path.abspath(source)))
        graph = None if var is obj else getattr(var.data, "dask", None)
        for node in dict(graph or {}).values():
            _sources_in(node, found, seen)
    return list(found.values())
