"""Whether a run computes on this process's threads instead of starting a cluster: whenever
the memory rule lets one process run a task on each of its threads at once. A run on threads
streams (each thread reads, computes and writes one chunk's task, then drops it), so its
memory is its tasks', not its data's, and it was faster than the default local cluster at
every size measured, 64 MiB to 4 GiB read and written (benchmarks/bench_cluster_default.py
--sizes; README "Clusters"). Nothing here imports distributed (a run on threads never needs
it)."""

from __future__ import annotations

import os
from typing import Any

from .memory import MARGIN, MEMORY_FRACTIONS, WORKER_BASELINE, machine_memory, task_bytes

__all__ = ["THREADS_FACTOR", "threads_suffice", "threads_working_set"]

#: A run on threads holds up to this many times what the memory rule counts of its running
#: tasks, above the baseline, with room to spare: sampled peaks of the command's RSS were 2.6-3.8
#: times the count
#: (u, v to gradients, vorticity and divergence, 4 MiB chunks, 760 MiB to 4 GiB read and
#: written: 400-456 MiB from zarr, the same at 2 and 4 GiB, 480-496 MiB from netCDF; a time
#: derivative with ghost planes, 1 GiB: 339 MiB), for chunks in flight between the reads, the
#: kernels and the encoded writes.
THREADS_FACTOR = 5


def threads_working_set(chunk: int, k: int, counts: dict[str, Any] | None, threads: int) -> float:
    """Bytes a run on ``threads`` threads holds at most: ``WORKER_BASELINE`` and
    ``THREADS_FACTOR`` times one task per thread, each as
    :func:`~daskgrad.cluster.memory.task_bytes` counts it for a chunk of ``chunk`` bytes (the
    largest output chunk) with ``k`` derivatives and the ``counts`` it passes on.

    Examples
    --------
    >>> from daskgrad.cluster.memory import WORKER_BASELINE
    >>> (threads_working_set(2**20, 2, None, 2) - WORKER_BASELINE) / 2**20  # 5 x 2 x 6 MiB
    60.0
    """
    per_task = task_bytes(chunk, k, **(counts or {}))
    return WORKER_BASELINE + THREADS_FACTOR * max(threads, 1) * per_task


def threads_suffice(
    chunk: int,
    k: int,
    counts: dict[str, Any] | None = None,
    memory: int | None = None,
    threads: int | None = None,
) -> bool:
    """Whether a run whose largest output chunk has ``chunk`` bytes computes on this
    process's ``threads`` threads (default: one per core) without a cluster: its working set
    (:func:`threads_working_set`) stays below the share of ``memory`` bytes (default:
    ``memory.machine_memory``) at which distributed would pause a worker (80%) less
    ``MARGIN`` — whatever the size of the data, which the threads stream through.

    Examples
    --------
    >>> threads_suffice(2**20, 2)
    True
    >>> threads_suffice(2**30, 2, memory=8 * 2**30)  # tasks of 6 GiB: a cluster's limits
    False
    >>> threads_suffice(2**20, 2, memory=200 * 2**20)  # not even the baseline fits
    False
    """
    memory = machine_memory() if memory is None else memory
    threads = threads or os.cpu_count() or 1
    held = threads_working_set(chunk, k, counts, threads)
    return held <= (MEMORY_FRACTIONS["pause"] - MARGIN) * memory
