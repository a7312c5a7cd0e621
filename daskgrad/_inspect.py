"""Integrity checks of an input before it is differentiated: a netCDF-3 file shorter than its
header says, zarr chunks absent from the store (read back as the fill value)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def absent_chunks(store: Any, variables: Sequence[str]) -> dict[str, tuple[int, int, Any]]:
    """{variable: (absent chunks, all chunks, fill value)} for the variables of a zarr
    store that lack some chunk objects (zarr reads those as the fill value)."""
    import zarr

    try:
        group = zarr.open_group(store, mode="r")
    except Exception:
        return {}
    out = {}
    for name in variables:
        try:
            arr = group[name]
            total, present = int(arr.nchunks), int(arr.nchunks_initialized)
        except Exception:
            continue
        if present < total:
            out[name] = (total - present, total, arr.fill_value)
    return out
