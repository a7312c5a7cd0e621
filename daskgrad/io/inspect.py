"""Integrity checks of an input: before it is differentiated, a netCDF-3 file shorter than its
header says and zarr chunks absent from the store (read back as the fill value); while it is
read, a chunk that cannot be read named by its variable and stored chunk."""

from __future__ import annotations

import itertools
import os
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError, first_line, strip_tokens
from .locations import is_timeout

# netCDF-3 external types: byte char short int float double ubyte ushort uint int64 uint64
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}
_STREAMING = 0xFFFFFFFF


class _Reader:
    def __init__(self, data: bytes, version: int) -> None:
        self.data, self.pos = data, 4
        self.big = version == 5  # CDF-5: 64-bit counts and sizes

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise EOFError
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def count(self) -> int:
        return self.take(">q" if self.big else ">i")

    def skip(self, n: int) -> None:
        self.pos += n + (-n % 4)

    def name(self) -> None:
        self.skip(self.count())

    def attributes(self) -> None:
        self.take(">i")  # NC_ATTRIBUTE or ABSENT
        for _ in range(self.count()):
            self.name()
            nc_type = self.take(">i")
            self.skip(self.count() * _TYPE_SIZES.get(nc_type, 1))


def netcdf3_expected_size(head: bytes) -> int | None:
    """Bytes a netCDF-3 file (CDF-1, -2 or -5) needs according to its header, from the header's
    first bytes; None if ``head`` is not a netCDF-3 header (or is too short to tell).

    Examples
    --------
    >>> netcdf3_expected_size(b"CDF" + bytes([1]) + bytes(28))  # no dims, attributes, variables
    32
    >>> netcdf3_expected_size(b"\\x89HDF\\r\\n") is None
    True
    """
    if head[:3] != b"CDF" or len(head) < 4 or head[3] not in (1, 2, 5):
        return None
    version = head[3]
    r = _Reader(head, version)
    try:
        numrecs = r.take(">Q" if version == 5 else ">I")
        r.take(">i")
        dims = []
        for _ in range(r.count()):
            r.name()
            dims.append(r.count())
        r.attributes()
        r.take(">i")
        ends = []
        rec_sizes, rec_vars = [], []
        for _ in range(r.count()):
            r.name()
            dimids = [r.count() for _ in range(r.count())]
            r.attributes()
            itemsize = _TYPE_SIZES.get(r.take(">i"), 1)
            vsize = r.count() if version == 5 else r.take(">I")
            begin = r.take(">q" if version in (2, 5) else ">i")
            shape = [dims[d] for d in dimids]
            is_record = bool(shape) and shape[0] == 0
            exact = itemsize
            for n in shape[1:] if is_record else shape:
                exact *= n
            if is_record:
                rec_sizes.append(vsize)
                rec_vars.append((begin, exact))
            else:
                ends.append(begin + exact)
    except (EOFError, IndexError, struct.error):
        return None
    if rec_vars and numrecs != _STREAMING and numrecs:
        # one record variable alone is not padded to 4 bytes per record
        recsize = rec_vars[0][1] if len(rec_vars) == 1 else sum(rec_sizes)
        ends += [begin + (numrecs - 1) * recsize + exact for begin, exact in rec_vars]
    return max(ends, default=r.pos)


def truncation(path: Path) -> str | None:
    """A message if ``path`` is a netCDF-3 file shorter than its header implies, else None."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    expected = netcdf3_expected_size(head)
    actual = path.stat().st_size
    if expected is not None and actual < expected:
        return (
            f"input {path} is truncated: its netCDF header describes {expected} bytes, "
            f"the file has {actual}"
        )
    return None


def absent_chunks(
    store: Any, variables: Sequence[str], group: str | None = None
) -> dict[str, tuple[int, int, Any]]:
    """{variable: (absent chunks, all chunks, fill value)} for the variables of a zarr
    store (its ``group``) that lack some chunk objects (zarr reads those as the fill value)."""
    import zarr

    try:
        root = zarr.open_group(store, mode="r")
        if group and group.strip("/"):
            node = root[group.strip("/")]
            if not isinstance(node, zarr.Group):
                return {}
            root = node
    except Exception:
        return {}
    out = {}
    for name in variables:
        try:
            arr = root[name]
            if not isinstance(arr, zarr.Array):
                continue
            total, present = int(arr.nchunks), int(arr.nchunks_initialized)
        except Exception:
            continue
        if present < total:
            if isinstance(store, str | os.PathLike):
                check_chunk_files(Path(store), arr, name)
            out[name] = (total - present, total, arr.fill_value)
    return out


def check_chunk_files(root: Path, arr: Any, name: str) -> None:
    """UsageError naming the variable and chunk if a chunk key of the zarr array ``arr`` of
    the local store at ``root`` is a directory: zarr counts it absent and reads it as the fill
    value, but a chunk that exists and is not a file is damage, not a chunk never written."""
    base = root / arr.path
    encode = arr.metadata.encode_chunk_key
    word = "shard" if getattr(arr, "shards", None) else "chunk"
    for here, subdirs, _ in os.walk(base):
        for sub in list(subdirs):
            key = Path(here, sub).relative_to(base).as_posix()
            index = tuple(int(i) for i in re.findall(r"\d+", key))
            if len(index) == arr.ndim and encode(index) == key:
                raise UsageError(
                    f"input variable {name!r}, {word} {index} is unreadable: "
                    f"{base / key} is a directory, not a file"
                )


def marks_missing(fill: Any, encoding: dict) -> bool:
    """Whether the raw ``fill`` value of a zarr array reads as a missing value: NaN, or the
    ``_FillValue``/``missing_value`` that xarray masked the variable with (its ``encoding``
    after decoding). Absent chunks of such an array read as missing, not as numbers.

    Examples
    --------
    >>> marks_missing(float("nan"), {}), marks_missing(0.0, {"_FillValue": 0.0})
    (True, True)
    >>> marks_missing(0.0, {}), marks_missing(0, {"missing_value": [-1, -9999]})
    (False, False)
    """
    try:
        value = np.asarray(fill)
        if value.dtype.kind in "fc" and np.isnan(value).all():
            return True
        for key in ("_FillValue", "missing_value"):
            if key in encoding and encoding[key] is not None:
                marker = np.asarray(encoding[key]).ravel()
                if np.isin(value, marker).all():
                    return True
    except (TypeError, ValueError):  # a fill value that is not a number marks nothing missing
        return False
    return False


class ReadFailed(Exception):
    """A chunk of an input could not be read; the message names its variable and stored chunk."""


class NamedReads:
    """An input array as a dask graph holds it (the ``original-…`` data its read tasks slice)
    whose failed reads name the variable and the stored chunk, whatever the task that reads:
    several stored chunks per task, a rechunked input, a read fused into a kernel or a write.

    ``stored`` is the stored chunk (or shard) shape and the word for it, None if unknown.
    """

    def __init__(self, array: Any, name: str, stored: tuple[tuple[int, ...], str] | None):
        self.array, self.name, self.stored = array, name, stored

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> Any:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return len(self.array.shape)

    def _read(self, key: Any) -> Any:
        value = self.array[key]
        get = getattr(value, "get_duck_array", None)  # xarray's lazy adapters read here
        value = get() if get is not None else value
        return value if isinstance(value, np.ndarray) else np.asarray(value)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._read(key)
        except Exception as e:
            raise ReadFailed(self.describe(key, e)) from e

    def describe(self, key: Any, error: BaseException) -> str:
        """'reading input variable 'v', chunk (2, 0, 0): RuntimeError: …' for a read of
        ``key`` that failed with ``error``: the stored chunk that fails when read alone, or
        the range of chunks read if the store stopped answering (each chunk read again would
        wait for the store as long again)."""
        what = f"reading input variable {self.name!r}"
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != len(self.shape) or not all(isinstance(k, slice) for k in key):
            return f"{what}: {first_line(error)}"
        bounds = [k.indices(n)[:2] for k, n in zip(key, self.shape, strict=True)]
        if self.stored is None:
            where = ", ".join(f"{a}:{b}" for a, b in bounds)
            return f"{what}, elements [{where}]: {first_line(error)}"
        chunks, word = self.stored
        ranges = [
            range(a // c, max(a, b - 1) // c + 1) for (a, b), c in zip(bounds, chunks, strict=True)
        ]
        indices = list(itertools.product(*ranges))
        if len(indices) > 1 and not is_timeout(error):  # the one that fails alone
            for index in indices:
                part = tuple(
                    slice(i * c, min((i + 1) * c, n))
                    for i, c, n in zip(index, chunks, self.shape, strict=True)
                )
                try:
                    self._read(part)
                except Exception as e:
                    return f"{what}, {word} {index}: {first_line(e)}"
            return f"{what}, {word}s {indices[0]} to {indices[-1]}: {first_line(error)}"
        return f"{what}, {word} {indices[0]}: {first_line(error)}"


def _zarr_array(obj: Any) -> Any:
    """The zarr array under xarray's adapters (or ``obj`` itself), None if there is none."""
    import zarr

    for _ in range(8):
        if isinstance(obj, zarr.Array):
            return obj
        inner = getattr(obj, "array", None)
        obj = inner if inner is not None else getattr(obj, "_array", None)
        if obj is None:
            return None
    return None


def _named(key: str, value: Any) -> NamedReads | None:
    """``value`` (the data of graph key ``key``) wrapped in ``NamedReads`` if it is an input
    array: xarray's ``original-open_dataset-VAR-…`` or a zarr array; None otherwise."""
    if isinstance(value, NamedReads) or not hasattr(value, "shape"):
        return None
    arr = _zarr_array(value)
    if key.startswith("original-open_dataset-"):
        name = strip_tokens(key.removeprefix("original-open_dataset-"))
    elif arr is not None:
        name = str(arr.path or arr.basename or "array").rsplit("/", 1)[-1]
    else:
        return None
    stored = None
    if arr is not None and tuple(arr.shape) == tuple(value.shape):
        shards = getattr(arr, "shards", None)
        stored = (tuple(shards), "shard") if shards else (tuple(arr.chunks), "chunk")
    return NamedReads(value, name, stored)


def name_reads(graph: dict) -> dict:
    """``graph`` (a dict) with the input arrays its tasks read from wrapped in ``NamedReads``:
    xarray's ``original-open_dataset-VAR-…`` data and zarr arrays (``dask.array.from_zarr``),
    whether a key's value, its data node, the data node of a task passing it on (dask's
    ProhibitReuse) or inside a task that runs a fused subgraph (a graph of one chunk)."""
    from ..compat import DataNode, Task

    def node(key: Any, value: Any, name: str) -> Any:
        """``value`` with its input arrays wrapped; ``name``: the key whose value it is."""
        if isinstance(value, Task):
            args = [node(None, a, name) for a in value.args]
            if all(a is b for a, b in zip(args, value.args, strict=True)):
                return value
            return Task(value.key, value.func, *args, **value.kwargs)
        if isinstance(value, DataNode):
            inner = node(None, value.value, name)
            return value if inner is value.value else DataNode(value.key, inner)
        if isinstance(value, dict):  # a fused subgraph
            out = {k: node(k, v, k if isinstance(k, str) else "") for k, v in value.items()}
            changed = any(out[k] is not v for k, v in value.items())
            return out if changed else value
        if name.startswith("original-") and (wrapped := _named(name, value)) is not None:
            return wrapped
        return value

    # only named keys: the per-chunk tasks (keys (name, i, j…)) refer to the arrays, and
    # walking their arguments costs a second per 10^5 tasks
    return {k: node(k, v, k) if isinstance(k, str) else v for k, v in graph.items()}


def zarr_format_of(source: Any) -> int | None:
    """The zarr format (2 or 3) of the store at ``source`` (a path or a ``Location``), None if
    it is not a zarr store (a netCDF file) or cannot be read."""
    import zarr

    from .locations import Location

    try:
        if isinstance(source, Location):
            if source.local is None:
                return int(zarr.open_group(source.zarr_store(), mode="r").metadata.zarr_format)
            source = source.local
        path = Path(source)
        if not path.is_dir():
            return None
        if (path / "zarr.json").exists():
            return 3
        if (path / ".zgroup").exists() or (path / ".zarray").exists():
            return 2
    except Exception:
        return None
    return None
