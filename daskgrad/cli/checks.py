"""Checks of an opened INPUT against a job: absent chunks, very large chunks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..io.inspect import absent_chunks
from ..io.locations import Location, access
from .jobs import Job, largest_chunk

#: An input chunk larger than this is worth a warning: --chunks DIM=N makes it smaller
BIG_CHUNK = 512 * 2**20


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
