"""The pipeline behind the command line: open an input lazily, check a request against it and
build the gradient Dataset, write it atomically to zarr on a dask cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import UsageError
from ._errors import first_line as _first_line


def open_input(path: Path, chunks: Any = None) -> Any:
    """Open a zarr store or netCDF file lazily; ``chunks`` None keeps the stored chunking."""
    import xarray as xr

    if not path.exists():
        raise UsageError(f"input {path} does not exist")
    try:
        if path.is_dir() or path.suffix == ".zarr":
            with warnings.catch_warnings():
                # a store without consolidated metadata is fine: xarray falls back by itself
                warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
                return xr.open_zarr(path, chunks={} if chunks is None else chunks)
        # netCDF files are often contiguous: never let one chunk be the whole variable
        return xr.open_dataset(path, chunks="auto" if chunks is None else chunks)
    except Exception as e:
        raise UsageError(f"cannot read input {path}: {_first_line(e)}") from e


@dataclass
class Job:
    """A validated, lazily built gradient: what to read and what to write."""

    source: Any  # the input variables, lazy
    result: Any  # the output Dataset, lazy

    @property
    def bytes_read(self) -> int:
        return int(sum(v.nbytes for v in self.source.data_vars.values()))

    @property
    def bytes_written(self) -> int:
        return int(sum(v.nbytes for v in self.result.data_vars.values()))


def _check_coordinate(ds: Any, dim: str) -> None:
    if dim not in ds.indexes:
        return
    index = ds.indexes[dim]
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise UsageError(f"coordinate {dim!r} repeats the value {dup}")
    if not (index.is_monotonic_increasing or index.is_monotonic_decreasing):
        raise UsageError(f"coordinate {dim!r} is not monotonic")


def prepare(
    ds: Any,
    dims: Sequence[str],
    variables: Sequence[str] | None = None,
    edge_order: int = 1,
    periodic: dict[str, float | None] | None = None,
) -> Job:
    """Check names and coordinates against ``ds`` and build the lazy gradient Dataset.

    Raises UsageError, naming the culprit, for anything wrong with the request or the input.
    """
    import daskgrad

    periodic = periodic or {}
    for d in [*dims, *periodic]:
        if d not in ds.dims:
            raise UsageError(f"unknown dim {d!r}; the input has dims {sorted(map(str, ds.dims))}")
    for d in periodic:
        if d not in dims:
            raise UsageError(f"periodic dim {d!r} is not one of the --dim dims {list(dims)}")
    if len(set(dims)) != len(dims):
        raise UsageError(f"--dim repeats a dim: {list(dims)}")
    if variables:
        for v in variables:
            if v not in ds.data_vars:
                raise UsageError(
                    f"unknown variable {v!r}; the input has {sorted(map(str, ds.data_vars))}"
                )
            if not set(ds[v].dims) & set(dims):
                raise UsageError(f"variable {v!r} has none of the dims {list(dims)}")
            if ds[v].dtype.kind not in "iufc":
                raise UsageError(f"variable {v!r} has non-numeric dtype {ds[v].dtype}")
    else:
        variables = [
            str(v)
            for v, da in ds.data_vars.items()
            if da.dtype.kind in "iufc" and set(da.dims) & set(dims)
        ]
        if not variables:
            raise UsageError(f"no numeric variable in the input has any of the dims {list(dims)}")
    for d in dims:
        n = ds.sizes[d]
        if d not in periodic and n < edge_order + 1:
            raise UsageError(
                f"dim {d!r} has {n} points; --edge-order {edge_order} needs at least "
                f"{edge_order + 1}"
            )
        _check_coordinate(ds, d)
    source = ds[variables]
    try:
        per = periodic or None
        result = daskgrad.gradient(source, dim=list(dims), edge_order=edge_order, periodic=per)
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise UsageError(_first_line(e).partition(": ")[2]) from e
    result.attrs = {**ds.attrs, **result.attrs}
    for name in result.variables:
        result[name].encoding = {}
    for name, var in result.data_vars.items():
        chunks = var.chunks or ()
        # zarr needs regular chunks: equal sizes, the last one possibly smaller
        if any(len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]) for c in chunks):
            result[name] = var.chunk({d: c[0] for d, c in zip(var.dims, chunks, strict=True)})
    return Job(source, result)


@contextlib.contextmanager
def warnings_silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "port 8787 is in use" and friends
        yield


def _executing(keys: set[str], dask_worker: Any = None) -> int:
    return sum(str(ts.key) in keys for ts in dask_worker.state.executing)


def _quiesce(client: Any, keys: set[str], timeout: float = 30.0) -> None:
    """Wait until no worker is still running one of ``keys``: a cancelled task that is already
    executing runs to its end and would write into the store after we removed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            busy = sum(client.run(_executing, keys, on_error="return").values(), 0)
        except Exception:
            return
        if not busy:
            return
        time.sleep(0.2)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _write_targets(graph: dict, closing: Any) -> list:
    """What to compute of xarray's delayed zarr write: the writes, not the task closing them.

    Each dependency of the ``closing`` task that only gathers chunk writes (dask.array.store's
    ``store-map`` tasks, one gather per variable) is replaced by those writes, aliases resolved
    (an alias is one more task to schedule). Any other dependency, such as a small variable's
    write fused with its gather, is kept as it is: computed whole, it is still written.
    """
    from dask.core import get_dependencies

    try:
        from dask._task_spec import Alias
    except ImportError:  # a dask without task-spec aliases
        Alias = ()  # noqa: N806

    def resolve(key):
        while isinstance(graph.get(key), Alias):
            key = graph[key].target
        return key

    def is_write(key):
        return isinstance(key, tuple) and str(key[0]).startswith("store-map-")

    targets = []
    for dep in map(resolve, get_dependencies(graph, closing)):
        writes = get_dependencies(graph, dep)
        if writes and all(map(is_write, writes)):
            targets.extend(map(resolve, writes))
        else:
            targets.append(dep)
    return targets


def write_atomic(
    result: Any, output: Path, client: Any, *, overwrite: bool = False, progress: bool = False
) -> None:
    """Compute ``result`` into a temporary sibling of ``output`` and rename it into place.

    On any failure or interrupt the temporary is removed and ``output`` is left as it was.
    """
    from dask.optimization import cull
    from dask.utils import ensure_dict
    from distributed import as_completed

    tmp = output.with_name(f".{output.name}.daskgrad-{uuid.uuid4().hex[:8]}.tmp")
    futures: list[Any] = []
    keys: set[str] = set()
    try:
        with warnings_silenced():  # zarr v3 "consolidated metadata is not in the spec"
            # metadata and in-memory coordinates are written now, array chunks below
            delayed = result.to_zarr(tmp, mode="w-", compute=False)
        graph = ensure_dict(delayed.__dask_graph__())
        # Only the chunk writes are computed, each as its own target. xarray's closing task
        # (which closes a copy of the store on a worker) depends on all of them, and behind it
        # dask.order reads input chunks far ahead of the neighbours their kernels wait for:
        # about 140 chunks held per worker instead of 6 on the out-of-core benchmark, which
        # then spills to disk.
        writes = _write_targets(graph, delayed.key)
        # culled here, not left to the scheduler: dask.order must not see the closing task
        graph = cull(graph, writes)[0]
        keys = {str(k) for k in graph}
        if writes:
            futures = client.get(graph, writes, sync=False)
        if progress and futures:
            from distributed import progress as progress_bar

            progress_bar(futures, multi=False, scheduler=client.scheduler.address)
        # the first failure is raised as soon as it happens (unlike distributed.wait), and an
        # interrupt leaves no orphaned gather behind (unlike client.gather)
        with client.as_current():
            for done in as_completed(futures):
                if done.status != "finished":
                    done.result()
        if output.exists() or output.is_symlink():
            if not overwrite:
                raise UsageError(f"output {output} exists; pass --overwrite to replace it")
            old = output.with_name(f".{output.name}.daskgrad-{uuid.uuid4().hex[:8]}.old")
            os.replace(output, old)
            os.replace(tmp, output)
            _remove(old)
        else:
            os.replace(tmp, output)
    except BaseException:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel(futures, force=True)
                _quiesce(client, keys)
        _remove(tmp)
        raise
