"""Worker memory: what a worker holds besides its tasks, what a task holds, and the checks
and choices made from them before and after a cluster starts."""

from __future__ import annotations

import math

from ._errors import UsageError

__all__ = ["WORKER_BASELINE", "check_memory_limit", "local_cluster_shape", "task_bytes"]
__all__ += ["task_room"]

#: Resident memory of a worker process once it has run daskgrad's tasks: 103 MiB started,
#: 122 MiB after a zarr-to-zarr run, 135 MiB with a netCDF4 input (distributed 2026.8, Python
#: 3.11, x86_64); 153-169 MiB with the same code once the test extra's packages (MetPy, s3fs,
#: findiff) were installed beside it (tests/test_cluster.py checks it stays below).
WORKER_BASELINE = 175 * 2**20


def fmt_bytes(n: float) -> str:
    """``format_bytes`` of a float."""
    from dask.utils import format_bytes

    return format_bytes(int(n))


def _usable_fraction(*keys: str) -> float:
    """The fraction of a worker's memory limit at which distributed pauses it (else kills it),
    or the first of ``keys`` set (``spill``: where it starts writing its data to disk)."""
    import dask
    import distributed  # noqa: F401 - its config holds the fractions

    keys = (*keys, "distributed.worker.memory.pause", "distributed.worker.memory.terminate")
    return float(next((f for f in (dask.config.get(k, False) for k in keys) if f), 1.0))


def task_bytes(chunk_bytes: float, k: int) -> float:
    """Memory of one running task on a chunk of ``chunk_bytes`` with ``k`` derivatives.

    It holds its input chunk as read and decompressed, and its derivatives as computed and,
    partly, as encoded for writing: a 64 MiB chunk with k = 2 failed at 428 MiB (the plain
    1 + k model's minimum) and ran at 560 MiB.
    """
    return chunk_bytes * 1.5 * (1 + k)


def task_room(memory_limit: int | None, threads: int, spill: bool = False) -> float | None:
    """Bytes each of a worker's ``threads`` running tasks may hold before it pauses, or with
    ``spill`` before it starts spilling to disk (None: no limit)."""
    if not memory_limit:
        return None
    keys = ("distributed.worker.memory.spill",) if spill else ()
    return max(0.0, memory_limit * _usable_fraction(*keys) - WORKER_BASELINE) / max(threads, 1)


def check_memory_limit(memory_limit: int | None, chunk_bytes: int, k: int, threads: int) -> None:
    """UsageError, saying what would fit, unless a worker with ``memory_limit`` bytes (None: no
    limit) holds ``WORKER_BASELINE`` plus one task per thread (a chunk of ``chunk_bytes`` and its
    ``k`` derivatives, 1.5 times over) below the share of its limit at which distributed pauses
    it (80%).
    Anything less pauses a worker for ever or restarts it in a loop; a limit of 1 byte or less,
    which dask would read as a fraction of the machine's memory, is refused as well.

    Examples
    --------
    >>> check_memory_limit(2 * 2**30, 8 * 2**20, 2, 2)
    >>> check_memory_limit(10 * 2**20, 0, 0, 1)
    Traceback (most recent call last):
    ...
    daskgrad._errors.UsageError: memory limit 10.00 MiB per worker is too small: ...
    """
    if memory_limit is None:
        return
    usable = _usable_fraction()
    task = task_bytes(chunk_bytes, k) * threads
    if memory_limit > 0 and memory_limit * usable >= WORKER_BASELINE + task:
        return
    least = math.ceil((WORKER_BASELINE + task) / usable / 2**20) * 2**20
    tasks = (
        f" plus {fmt_bytes(task)} for {threads} running task{'s' * (threads > 1)} (each a "
        f"{fmt_bytes(chunk_bytes)} chunk and its {k} derivative{'s' * (k > 1)})"
        if task
        else ""
    )
    msg = (
        f"memory limit {fmt_bytes(max(memory_limit, 0))} per worker is too small: a worker needs "
        f"about {fmt_bytes(WORKER_BASELINE)}{tasks}, below the {usable:.0%} of its limit at which "
        f"dask pauses it; use at least {fmt_bytes(least)}"
    )
    room = task_room(memory_limit, threads)
    if task and room:
        msg += f", or chunks of at most {fmt_bytes(room / task_bytes(1, k))}"
    raise UsageError(msg)


def local_cluster_shape(
    workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | None = None,
) -> tuple[int, int, int]:
    """``(workers, threads per worker, memory limit in bytes)`` of the embedded cluster, as
    ``distributed.LocalCluster`` chooses unset ones (cores split into workers and threads, the
    memory shared by the workers; a limit above the machine's memory lowered to it), so that
    the limit can be checked before anything starts.

    Examples
    --------
    >>> local_cluster_shape(2, 1, 2**30)
    (2, 1, 1073741824)
    """
    from dask.system import CPU_COUNT
    from distributed.deploy.utils import nprocesses_nthreads
    from distributed.system import MEMORY_LIMIT

    if workers is None and threads_per_worker is None:
        workers, threads_per_worker = nprocesses_nthreads(CPU_COUNT)
    elif workers is None:
        workers = max(1, CPU_COUNT // threads_per_worker)
    elif threads_per_worker is None:
        threads_per_worker = max(1, math.ceil(CPU_COUNT / workers))
    if memory_limit is None:
        memory_limit = MEMORY_LIMIT // workers
    return workers, threads_per_worker, min(int(memory_limit), MEMORY_LIMIT)
