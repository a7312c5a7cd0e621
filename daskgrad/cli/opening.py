"""Opening an INPUT for the command line: a zarr store or a netCDF file (a group of it), local
or remote, lazily, in its stored chunks or in chunks sized for the cluster's threads."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import UsageError
from ..errors import first_line as _first_line
from ..io.inspect import truncation
from ..io.locations import Location, access, access_message, bucket_missing, check_bucket
from .wording import say_warnings


def _open(source: Any, is_zarr: bool, chunks: dict, group: str | None = None) -> Any:
    import xarray as xr

    if is_zarr:
        return xr.open_zarr(source, chunks=chunks, group=group)  # {}: the stored chunks
    try:
        import netCDF4  # noqa: F401
    except ImportError:  # h5netcdf's h5py keeps a cache of 1 MiB per variable: harmless
        return xr.open_dataset(source, chunks=chunks, group=group)
    if not xr.backends.NetCDF4BackendEntrypoint().guess_can_open(source):
        return xr.open_dataset(source, chunks=chunks, group=group)  # xarray's own error
    # xarray's netCDF4 store, its file opened by open_netcdf4: the same reads and locks
    manager = xr.backends.CachingFileManager(open_netcdf4, str(source), mode="r")
    store = xr.backends.NetCDF4DataStore(manager, group=group, mode="r")
    ds = xr.open_dataset(store, chunks=chunks)
    ds.encoding["source"] = os.path.abspath(source)  # as xarray records a path
    return ds


def open_netcdf4(path: str, mode: Literal["r"] = "r") -> Any:
    """``netCDF4.Dataset(path, "r")`` whose variables, in every group, keep no chunk cache.

    netCDF-C gives each variable it reads a cache of up to 64 MiB of decompressed chunks,
    per open file: a worker that reads three variables of a compressed file larger than its
    memory holds 192 MiB beside its tasks, which the memory rule does not count, and is
    paused at its limit (README "Clusters"). daskgrad's tasks read whole stored chunks
    (``netcdf_chunks`` splits along them), so the cache saves nothing but a ghost plane's
    second decompression, which a zarr input pays as well. Module-level, so that a worker
    can open the file again from a pickled ``CachingFileManager``.

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = tmp.name + "/in.nc"
    >>> xr.Dataset({"t": (("y", "x"), np.zeros((4, 8), "f4"))}).to_netcdf(
    ...     path, encoding={"t": {"zlib": True, "chunksizes": (2, 8)}}
    ... )
    >>> with open_netcdf4(path) as nc:
    ...     nc["t"].get_var_chunk_cache()[0]
    0
    >>> tmp.cleanup()
    """
    import netCDF4

    handle = netCDF4.Dataset(path, mode)
    if handle.data_model.startswith("NETCDF4"):  # netCDF-3 variables have no chunk cache

        def walk(group: Any) -> Iterator[Any]:
            yield from group.variables.values()
            for sub in group.groups.values():
                yield from walk(sub)

        for var in walk(handle):
            if var.chunking() != "contiguous":
                var.set_var_chunk_cache(size=0)
    return handle


def list_groups(source: Any, is_zarr: bool) -> list[str]:
    """The groups below the root of a netCDF file or zarr store, as paths ('a', 'a/b');
    [] if it has none or they cannot be listed."""
    try:
        if is_zarr:
            import zarr

            root = zarr.open_group(source, mode="r")
            return sorted(p for p, m in root.members(max_depth=None) if isinstance(m, zarr.Group))
        try:
            import netCDF4

            handle = netCDF4.Dataset(source, "r")
        except ImportError:
            import h5netcdf

            handle = h5netcdf.File(source, "r")
        with handle:

            def walk(group: Any, prefix: str) -> Iterator[str]:
                for name, sub in group.groups.items():
                    yield prefix + name
                    yield from walk(sub, f"{prefix}{name}/")

            return sorted(walk(handle, ""))
    except Exception:
        return []


def groups_hint(ds: Any) -> str:
    """'; it has groups ['a', 'b'] (--group NAME reads one)' for an input with groups
    (opened by ``open_input``), '' otherwise: names the input lacks may be in a group."""
    groups = ds.encoding.get("daskgrad_groups") or []
    if not groups:
        return ""
    return f"; it has groups {groups} (--group NAME reads one)"


def known_dims(ds: Any, dims: Sequence[Hashable]) -> None:
    """Refuse a dim the input lacks, naming the input's dims (and its groups, if any)."""
    for d in dims:
        if d not in ds.dims:
            raise UsageError(
                f"unknown dim {d!r}; the input has dims {sorted(map(str, ds.dims))}"
                + groups_hint(ds)
            )


def _remote_source(loc: Location) -> Any:
    """The zarr store of a remote INPUT, checked to exist and to be a zarr store."""
    with access(loc, "input"):
        check_bucket(loc)
        if not loc.fs.exists(loc.path):
            if bucket := bucket_missing(loc):
                raise UsageError(f"input {loc}: bucket {bucket!r} does not exist")
            raise UsageError(f"input {loc} does not exist")
        if not loc.has_zarr_metadata():
            what = "an object" if loc.fs.isfile(loc.path) else "a prefix"
            raise UsageError(
                f"input {loc} is {what} but not a zarr store (a netCDF file must be a local "
                "path; convert it with xarray's to_zarr)"
            )
        return loc.zarr_store(read_only=True)


#: A netCDF variable larger than this is split into at least 2 tasks per worker thread
SPLIT_BYTES = 4 * 2**20
#: and into chunks of at most this many float64 bytes (dask's "auto" would give 128 MiB)
NETCDF_CHUNK = 32 * 2**20


def netcdf_chunks(ds: Any, threads: int, max_chunk: float | None = None) -> dict[str, int]:
    """Dask chunks for a netCDF file's dims: the largest variable in at least ``2 * threads``
    chunks when it holds more than ``SPLIT_BYTES`` (one chunk when smaller), each of at most
    ``max_chunk`` bytes as float64 (its derivatives' dtype; default ``NETCDF_CHUNK``), split
    along its leading dims first (contiguous on disk: each chunk one read), in multiples of
    the file's own chunks where it has them.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": (("time", "y", "x"), np.zeros((24, 721, 1440), "f4"))})
    >>> netcdf_chunks(ds, threads=4)
    {'time': 3, 'y': 721, 'x': 1440}
    """
    variables = [v for v in ds.data_vars.values() if v.ndim]
    if not variables:
        return {}
    var = max(variables, key=lambda v: v.size)
    elements = 8.0 * var.size  # float64 bytes
    limit = min(max_chunk or NETCDF_CHUNK, NETCDF_CHUNK)
    if var.nbytes > SPLIT_BYTES:
        limit = min(limit, elements / (2 * max(threads, 1)))
    limit = max(limit, 2**20)  # never tasks of less than 1 MiB
    stored = var.encoding.get("chunksizes") or var.encoding.get("preferred_chunks")
    if isinstance(stored, dict):
        stored = tuple(stored.get(d, 1) for d in var.dims)
    if var.encoding.get("contiguous") or not stored or len(stored) != var.ndim:
        stored = (1,) * var.ndim
    sizes = dict(var.sizes)
    chunks = dict(sizes)
    for i, dim in enumerate(var.dims):
        step = 8.0 * math.prod(sizes[d] for d in var.dims[i + 1 :])  # one index along dim
        if step * sizes[dim] <= limit:
            break  # dim and the later ones whole
        n = int(limit // step) // stored[i] * stored[i]
        chunks[dim] = min(max(n, stored[i]), sizes[dim])
        if n:
            break  # a slab of whole later dims fits
    return {str(d): int(n) for d, n in chunks.items()}


def open_input(
    path: Path | Location,
    chunks: dict[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
    threads: int | None = None,
    max_chunk: float | None = None,
    group: str | None = None,
) -> Any:
    """Open a zarr store or netCDF file (its ``group``, default the root) lazily, from a local
    path or a remote ``Location``.

    ``chunks`` maps dims to sizes or "auto"; a zarr store keeps its stored chunks for the other
    dims, a netCDF file (often contiguous on disk) gets ``netcdf_chunks`` for them: at least
    two tasks for each of the cluster's ``threads`` (default: this machine's cores), each of at
    most ``max_chunk`` bytes of float64 derivatives. Warnings (a chunking that splits the stored
    chunks, say) are passed to ``say`` as one line each. A local input's groups are listed in
    the Dataset's ``encoding["daskgrad_groups"]``, for errors about names it lacks (see
    ``groups_hint``).
    """
    say = say or (lambda s: None)
    loc = path if isinstance(path, Location) else Location(str(path), local=Path(path))
    if loc.local is None:
        source, is_zarr = _remote_source(loc), True
    else:
        source = path = loc.local
        if not path.exists():
            raise UsageError(f"input {path} does not exist")
        is_zarr = path.is_dir() or path.suffix == ".zarr"
        if path.is_dir() and not any((path / m).exists() for m in ("zarr.json", ".zgroup")):
            raise UsageError(f"input {path} is a directory but not a zarr store")
        if not is_zarr and (message := truncation(path)):
            raise UsageError(message)
    group = (group.strip("/") or None) if group is not None else None  # "/": the root
    # a remote store's groups are listed only to say why --group failed: each costs requests
    groups = list_groups(source, is_zarr) if loc.local is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if group is not None:
                groups = list_groups(source, is_zarr) if groups is None else groups
                if group not in groups:
                    have = f"its groups are {groups}" if groups else "it has no groups"
                    raise UsageError(
                        f"argument --group: input {loc} has no group {group!r}; {have}"
                    )
            ds = _open(source, is_zarr, {}, group)
            ds.encoding["daskgrad_groups"] = groups or []
            unknown = [d for d in chunks or {} if d not in ds.dims]
            if unknown:
                raise UsageError(
                    f"argument --chunks: unknown dim {unknown[0]!r}; the input has dims "
                    f"{sorted(map(str, ds.dims))}{groups_hint(ds)}"
                )
            if chunks or not is_zarr:
                auto = {}
                if not is_zarr:
                    if threads is None:
                        from dask.system import CPU_COUNT

                        threads = CPU_COUNT
                    fixed = {d: n for d, n in (chunks or {}).items() if n != "auto"}
                    auto = netcdf_chunks(ds, threads, max_chunk)
                    auto = {d: n for d, n in auto.items() if d not in fixed}
                ds.close()
                ds = _open(source, is_zarr, {**auto, **(chunks or {})}, group)
                ds.encoding["daskgrad_groups"] = groups or []
        except UsageError:
            raise
        except Exception as e:
            if "did not find a match in any of xarray's currently installed IO backends" in str(e):
                raise UsageError(
                    f"cannot read input {loc}: not a zarr store or a netCDF file"
                ) from e
            if loc.local is None:
                raise UsageError(access_message(e, loc, "cannot read input")) from e
            raise UsageError(f"cannot read input {path}: {_first_line(e)}") from e
    say_warnings(caught, say)
    return ds
