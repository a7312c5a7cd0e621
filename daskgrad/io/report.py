"""Failures of a write in a user's words: which input variable, chunk or step a failed task was
(dask's keys translated), on one line."""

from __future__ import annotations

from typing import Any

from ..errors import first_line, strip_tokens


class ComputeFailed(RuntimeError):
    """A task failed while computing: one line with the first error, its variable and chunk."""


def describe_key(key: Any) -> str:
    """Where a task key comes from, in a user's words: 'input variable 't', chunk (0, 1)'."""
    name, index = (key[0], tuple(key[1:])) if isinstance(key, tuple) else (key, ())
    name = str(name).removeprefix("original-")
    where = f", chunk {index}" if index else ""
    if "-finalize-" in name or name.startswith("finalize-"):
        # a graph of one chunk, fused by dask into its finalizing task: names mean nothing
        return "computing and writing the output"
    if name.startswith("open_dataset-"):
        # xarray names it open_dataset-VAR-TOKEN, with more -TOKENs after a rechunk
        return f"reading input variable {strip_tokens(name[13:])!r}{where}"
    if name.startswith("read-"):  # several inputs' chunks read in one task
        names = " and ".join(map(repr, strip_tokens(name[5:]).split("+")))
        return f"reading input variables {names}{where}"
    if "store-map-" in name or name.startswith("store-"):
        return f"writing the output{where}"
    if name.startswith("gradient"):
        return f"computing the gradient{where}"
    return f"task {name.rsplit('-', 1)[0]}{where}"


def blamed_key(key: Any, dask_scheduler: Any = None) -> Any:
    """The key of the task a failure of ``key`` is blamed on (run on the scheduler)."""
    ts = dask_scheduler.tasks.get(key)
    blamed = getattr(ts, "exception_blame", None) if ts is not None else None
    return blamed.key if blamed is not None else key


def failure(fut: Any, error: Exception, client: Any) -> str:
    """What went wrong with the future ``fut`` of ``client``, cancelled or failed with ``error``
    (not a ReadFailed, which names its variable and chunk itself), on one line."""
    if fut.status == "cancelled":
        if client.status != "running":  # the scheduler went away: distributed cancels all
            return f"lost the dask scheduler at {client.scheduler.address}"
        return f"the write of {describe_key(fut.key)} was cancelled"
    try:
        key = client.run_on_scheduler(blamed_key, fut.key)
    except Exception:
        key = fut.key
    return f"{describe_key(key)}: {first_line(error)}"
