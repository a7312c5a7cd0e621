"""Whether a run computes on this process's threads instead of starting a cluster: a small
run, where starting a cluster costs more than it saves, that the memory rule lets one process
hold whole. Nothing here imports distributed (a small run never needs it)."""

from __future__ import annotations

from typing import Any

from .memory import MARGIN, MEMORY_FRACTIONS, WORKER_BASELINE, machine_memory, task_bytes

__all__ = ["SMALL_BYTES", "threads_suffice"]

#: A run that reads and writes at most this many bytes in all computes on this process's
#: threads when no cluster option is given: below it, starting a local cluster (2-3 s on a
#: 2-core machine) costs more than its processes save (benchmarks/bench_small.py,
#: benchmarks/bench_cluster_default.py; README "Small inputs").
SMALL_BYTES = 256 * 2**20


def threads_suffice(
    bytes_read: int,
    bytes_written: int,
    largest: int,
    arrays: int,
    k: int,
    counts: dict[str, Any] | None = None,
    memory: int | None = None,
) -> bool:
    """Whether a run that reads ``bytes_read`` and writes ``bytes_written`` bytes computes on
    this process's threads: at most ``SMALL_BYTES`` in all, and within the memory rule for one
    process of ``memory`` bytes (default: ``memory.machine_memory``) holding all of it at once —
    ``arrays`` tasks, each as :func:`~daskgrad.cluster.memory.task_bytes` counts it for a
    chunk of ``largest`` bytes (the largest output variable whole) with ``k`` derivatives and
    the ``counts`` it passes on — besides ``WORKER_BASELINE``, below the share of ``memory``
    at which distributed would pause a worker (80%) less ``MARGIN``.

    Examples
    --------
    >>> threads_suffice(2**20, 2**21, 2**20, 1, 2)
    True
    >>> threads_suffice(2**30, 2**31, 2**30, 1, 2)  # more than SMALL_BYTES
    False
    >>> threads_suffice(2**20, 2**21, 2**20, 1, 2, memory=200 * 2**20)  # the rule says no
    False
    """
    if bytes_read + bytes_written > SMALL_BYTES:
        return False
    memory = machine_memory() if memory is None else memory
    held = max(arrays, 1) * task_bytes(largest, k, **(counts or {}))
    return WORKER_BASELINE + held <= (MEMORY_FRACTIONS["pause"] - MARGIN) * memory
