"""The pipeline behind the command line: open an input lazily and check it, check a request
against it and build the gradient Dataset."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cluster.memory import task_bytes
from ..errors import UsageError, Worded
from ..errors import first_line as _first_line
from ..io.inspect import absent_chunks, truncation
from ..io.locations import Location, access, access_message, bucket_missing, check_bucket
from .derived import Request, derived_outputs
from .quantities import read_once, task_counts


def _open(source: Any, is_zarr: bool, chunks: dict, group: str | None = None) -> Any:
    import xarray as xr

    if is_zarr:
        return xr.open_zarr(source, chunks=chunks, group=group)  # {}: the stored chunks
    return xr.open_dataset(source, chunks=chunks, group=group)


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


def say_warnings(caught: list, say: Callable[[str], None]) -> None:
    """Each distinct warning of ``caught`` as one ``warning: …`` line (its first line), the
    options it names as flags."""
    from .parser import Flags

    said = [
        m.worded(Flags) if isinstance(m, Worded) else str(m) for m in (w.message for w in caught)
    ]
    lines = [text.strip().splitlines() for text in said]
    for line in dict.fromkeys(text[0] for text in lines if text):
        if "consolidated" not in line.lower():
            say(f"warning: {line}")


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


def largest_chunk(var: Any) -> int:
    """Bytes of the largest chunk of an xarray variable (its whole size if not chunked)."""
    chunks = var.chunks or [[n] for n in var.shape]
    return var.dtype.itemsize * math.prod(max(c, default=0) for c in chunks)


@dataclass
class Job:
    """A validated, lazily built gradient: what to read and what to write."""

    source: Any  # the input variables, lazy
    result: Any  # the output Dataset, lazy
    dims: list[str] = field(default_factory=list)  # differentiated dims
    absent: int = 0  # input chunks absent from the store
    accuracy: int = 2
    nan_policy: str = "propagate"
    batch: str = ""  # how tasks group stored chunks, for a failure's chunk index
    inputs: int = 1  # input variables one task reads together (u and v of a vorticity)
    outputs: int = 0  # arrays a task computes besides the derivatives (an operator's result)
    grid: str = ""  # the geospatial grid found, for the summary line

    @property
    def bytes_read(self) -> int:
        return int(sum(v.nbytes for v in self.source.data_vars.values()))

    @property
    def bytes_written(self) -> int:
        return int(sum(v.nbytes for v in self.result.data_vars.values()))

    @property
    def chunk_bytes(self) -> int:
        """The largest chunk of any output variable, in bytes (inputs are at most as large)."""
        return max(map(largest_chunk, self.result.data_vars.values()), default=0)

    @property
    def k(self) -> int:
        """Derivatives computed per input chunk, at most."""
        return len(self.dims)

    @property
    def counts(self) -> dict[str, Any]:
        """What ``task_bytes`` counts besides the chunk and ``k``: the inputs a task reads,
        the outputs it computes besides the derivatives, the input's itemsize over the
        results' (uint8 → float64: 1/8), whether neighbouring chunks give ghost planes."""
        source = list(self.source.data_vars.values())
        result = list(self.result.data_vars.values())
        if not source or not result:
            return {"inputs": self.inputs, "outputs": self.outputs}
        widest = max(result, key=largest_chunk)
        ratio = max(v.dtype.itemsize for v in source) / widest.dtype.itemsize
        neighbours = any(
            v.chunks is not None and d in v.dims and len(v.chunks[v.dims.index(d)]) > 1
            for v in source
            for d in self.dims
        )
        return {
            "inputs": self.inputs,
            "outputs": self.outputs,
            "input_ratio": ratio,
            "neighbours": neighbours,
        }


BIG_CHUNK = 512 * 2**20
# Stored chunks of at most half this are read several to a task (see batch_chunks)
BATCH_BYTES = 16 * 2**20


def batch_chunks(job: Job, room: float | None) -> dict:
    """Dask chunks for reading several small stored chunks per task: ``{dim: n}`` along the
    first dim that every input variable has, that is not differentiated and that has more
    than one chunk, ``n`` a multiple of its stored chunk; ``{}`` when nothing is gained.

    Each task costs the scheduler and a worker a few milliseconds besides its reading,
    computing and writing, about 5 ms per MiB of input here: a few MiB per task lose a tenth
    of the time to scheduling. Tasks grow to about ``BATCH_BYTES`` of each input, no more
    than half of ``room`` (the bytes a worker's running task may hold below distributed's
    spill threshold, None: no limit; a worker also holds the chunks read for its next task) as
    ``task_bytes`` counts them. The output keeps the stored chunks (see
    ``keep_stored_chunks``).
    """
    variables = list(job.source.data_vars.values())
    if not variables or any(v.chunks is None for v in variables):
        return {}
    # the larger of an input's chunk and an output's (float64 derivatives of uint8 data: 8x)
    chunk = max(max(map(largest_chunk, variables)), job.chunk_bytes)
    for dim in variables[0].dims:
        if dim in job.dims or any(dim not in v.dims for v in variables):
            continue
        along = {v.chunks[v.dims.index(dim)] for v in variables}
        if len(along) > 1 or len(sizes := next(iter(along))) < 2:
            continue  # the inputs are chunked differently along it, or it is one chunk
        n = min(BATCH_BYTES // max(chunk, 1), len(sizes))
        counts = job.counts
        while n > 1 and room is not None and 2 * task_bytes(chunk * n, job.k, **counts) > room:
            n -= 1
        return {dim: min(sizes[0] * n, sum(sizes))} if n > 1 else {}
    return {}


def keep_stored_chunks(job: Job, stored: Job) -> None:
    """Write ``job``'s outputs and chunked coordinates in the zarr chunks ``stored``'s have
    (its dask chunks are multiples of them)."""
    before = stored.result.variables
    for name, var in job.result.variables.items():
        chunks = before[name].chunks if name in before else None
        if chunks is not None:
            var.encoding["chunks"] = tuple(c[0] for c in chunks)


def check_input(
    path: Path | Location,
    job: Job,
    strict: bool,
    say: Callable[[str], None],
    group: str | None = None,
) -> int:
    """Report input chunks absent from a zarr store (zarr reads them as the fill value) and
    very large chunks. zarr records nowhere whether an absent chunk was never written (zarr 3
    and xarray skip chunks that are all fill value: a land tile) or lost, so absent chunks are
    not called damage: where the fill value reads as a missing value (NaN, the variable's
    ``_FillValue``/``missing_value``) they are reported in one line; where they would become
    numbers they are a warning, and with ``strict`` a UsageError. Returns the count."""
    from dask.utils import format_bytes

    from ..io.inspect import marks_missing

    names = list(job.source.data_vars)
    if isinstance(path, Location) and path.local is None:
        with access(path, "input"):
            absent = absent_chunks(path.zarr_store(), names, group)
    else:
        local = path.local if isinstance(path, Location) else path
        absent = absent_chunks(local, names, group) if local and local.is_dir() else {}
    for name, (n, total, fill) in absent.items():
        shown = "NaN" if str(fill) == "nan" else str(fill)
        line = (
            f"input variable {name!r}: {n} of {total} chunks absent, read as the fill value {shown}"
        )
        if marks_missing(fill, job.source[name].encoding):
            say(f"{line}, a missing value")
            continue
        line += ", a number, not a missing value"
        if strict:
            raise UsageError(
                f"{line}; --strict refuses absent chunks that would be read as numbers"
            )
        say(f"warning: {line} (--strict refuses this)")
    for name, var in job.source.data_vars.items():
        if (nbytes := largest_chunk(var)) > BIG_CHUNK:
            say(
                f"warning: input variable {name!r} has chunks of {format_bytes(nbytes)}; "
                "--chunks DIM=N makes them smaller"
            )
    return sum(n for n, _, _ in absent.values())


def known_dims(ds: Any, dims: Sequence[Hashable]) -> None:
    """Refuse a dim the input lacks, naming the input's dims (and its groups, if any)."""
    for d in dims:
        if d not in ds.dims:
            raise UsageError(
                f"unknown dim {d!r}; the input has dims {sorted(map(str, ds.dims))}"
                + groups_hint(ds)
            )


def prepare(
    ds: Any,
    dims: Sequence[str],
    variables: Sequence[str] | None = None,
    edge_order: int = 1,
    periodic: dict[str, float | None] | None = None,
    datetime_unit: str | None = None,
    accuracy: int = 2,
    nan_policy: str = "propagate",
    request: Request | None = None,
) -> Job:
    """Check names against ``ds`` and build the lazy gradient Dataset, with the geospatial
    gradients and operators of ``request``. The options and the coordinates are checked where
    they enter the engine (core.plan), as the graph is built: before any cluster starts.

    Raises UsageError, naming the culprit, for anything wrong with the request or the input.
    """
    import daskgrad

    from .parser import said

    request = request or Request()
    if request.geospatial or request.operators:
        return _prepare_derived(
            ds, dims, variables, edge_order, periodic, accuracy, nan_policy, request
        )
    periodic = periodic or {}
    known_dims(ds, [*dims, *periodic])
    if len(set(dims)) != len(dims):
        raise UsageError(f"--dim repeats a dim: {list(dims)}")
    if variables:
        for v in variables:
            if v not in ds.data_vars:
                raise UsageError(
                    f"unknown variable {v!r}; the input has {sorted(map(str, ds.data_vars))}"
                    + groups_hint(ds)
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
            raise UsageError(
                f"no numeric variable in the input has any of the dims {list(dims)}"
                + groups_hint(ds)
            )
    source = ds[variables]
    try:
        per = periodic or None
        result = daskgrad.gradient(
            source,
            dim=list(dims),
            edge_order=edge_order,
            periodic=per,
            datetime_unit=datetime_unit,
            accuracy=accuracy,
            nan_policy=nan_policy,
        )
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise UsageError(said(e)) from e
    result.attrs = {**ds.attrs, **result.attrs}
    _finish(result)
    return Job(source, result, list(dims), accuracy=accuracy, nan_policy=nan_policy)


def _finish(result) -> None:
    """No encodings from the input; regular chunks, as zarr needs (equal sizes, the last one
    possibly smaller)."""
    for name in result.variables:
        result[name].encoding = {}
    for name, var in result.data_vars.items():
        chunks = var.chunks or ()
        if any(len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]) for c in chunks):
            result[name] = var.chunk({d: c[0] for d, c in zip(var.dims, chunks, strict=True)})


def _prepare_derived(ds, dims, variables, edge_order, periodic, accuracy, nan_policy, request):
    """A run with --geospatial or operators: plain or geospatial gradients of ``variables``
    (none unless named, when operators are asked for), then the operators."""
    import xarray as xr

    periodic = periodic or {}
    known_dims(ds, [*dims, *periodic, *([request.vertical] if request.vertical else [])])
    # every input chunk of the quantities read once, by one task all their outputs share
    ds = read_once(ds, request.variables())
    opts = {"accuracy": accuracy, "edge_order": edge_order, "nan_policy": nan_policy}
    grads: dict = {}
    names = list(variables or [])
    if not names and not request.operators:  # --geospatial alone: every variable it can
        names = [str(v) for v, a in ds.data_vars.items() if a.dtype.kind in "iufc"]
    if names and not request.geospatial:
        job = prepare(ds, dims, names, edge_order, periodic, None, accuracy, nan_policy)
        grads.update(job.result.data_vars)
    outputs = derived_outputs(
        ds,
        request,
        dims,
        names if request.geospatial else [],
        {**opts, "periodic": periodic},
        auto=not variables,
    )
    grads.update(outputs)
    used = list(dict.fromkeys([*names, *request.variables()]))
    result = xr.Dataset(grads, coords=ds.coords, attrs=dict(ds.attrs))
    _finish(result)
    job_dims = list(dims)
    if request.grid is not None:
        job_dims = [str(d) for d in request.grid.dims]
    job_dims += [d for d in request.vertical_dims if d not in job_dims]
    job = Job(ds[used], result, job_dims, accuracy=accuracy, nan_policy=nan_policy)
    if request.grid is not None:
        job.grid = request.grid.describe()
    # one task reads the chunks of every input of the quantities; a quantity's outputs and
    # temporaries are held besides its derivatives (a geospatial one's metric terms too)
    job.inputs, job.outputs = task_counts(request.quantities, request.geospatial)
    return job


@contextlib.contextmanager
def warnings_silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "port 8787 is in use" and friends
        yield
