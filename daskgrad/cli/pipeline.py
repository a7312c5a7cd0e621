"""The pipeline behind the command line, one job per module: ``opening`` (open an input
lazily), ``jobs`` (check a request against it and build the gradient Dataset), ``checks``
(absent and very large input chunks), ``batching`` (several stored chunks per task). Their
names are re-exported here for the callers that import them from ``daskgrad.cli.pipeline``."""

from __future__ import annotations

from .batching import BATCH_BYTES, batch_chunks, keep_stored_chunks
from .checks import BIG_CHUNK, check_input
from .jobs import Job, largest_chunk, prepare
from .opening import (
    NETCDF_CHUNK,
    SPLIT_BYTES,
    groups_hint,
    known_dims,
    list_groups,
    netcdf_chunks,
    open_input,
)
from .parser import say_warnings

__all__ = [
    "BATCH_BYTES",
    "BIG_CHUNK",
    "NETCDF_CHUNK",
    "SPLIT_BYTES",
    "Job",
    "batch_chunks",
    "check_input",
    "groups_hint",
    "keep_stored_chunks",
    "known_dims",
    "largest_chunk",
    "list_groups",
    "netcdf_chunks",
    "open_input",
    "prepare",
    "say_warnings",
]
