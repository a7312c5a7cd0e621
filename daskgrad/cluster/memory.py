"""Worker memory: what a worker holds besides its tasks, what a task holds, and the checks
and choices made from them before and after a cluster starts."""

from __future__ import annotations

import math
import sys
from typing import Any

from ..errors import UsageError

__all__ = ["WORKER_BASELINE", "check_memory_limit", "local_cluster_shape", "task_bytes"]
__all__ += ["largest_chunk_allowed", "machine_memory", "task_room"]

#: Resident memory of a worker process once it has run daskgrad's tasks: 103 MiB started,
#: 122 MiB after a zarr-to-zarr run, 135 MiB with a netCDF4 input (distributed 2026.8, Python
#: 3.11, x86_64); 153-169 MiB with the same code once the test extra's packages (MetPy, s3fs,
#: findiff) were installed beside it (tests/test_cluster.py checks it stays below); sampled peaks
#: of 180-195 MiB beside small tasks (benchmarks/measure_memory_rule.py).
WORKER_BASELINE = 190 * 2**20


def fmt_bytes(n: float) -> str:
    """``format_bytes`` of a float."""
    from dask.utils import format_bytes

    return format_bytes(int(n))


def machine_memory() -> int:
    """The memory this process may use, in bytes: the machine's, lowered to a cgroup's limit
    or an RSS rlimit, as ``distributed.system.memory_limit`` computes it (without importing
    distributed).

    Examples
    --------
    >>> machine_memory() > 0
    True
    """
    import os

    try:
        import psutil  # distributed's dependency

        limit = int(psutil.virtual_memory().total)
    except ImportError:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if sys.platform == "linux":
        for path in (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroups v1 hard limit
            "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes",  # cgroups v1 soft limit
            "/sys/fs/cgroup/memory.max",  # cgroups v2 hard limit
            "/sys/fs/cgroup/memory.high",  # cgroups v2 soft limit
            "/sys/fs/cgroup/memory.low",  # cgroups v2 softest limit
        ):
            try:
                with open(path) as f:
                    value = int(f.read())
            except (OSError, ValueError):  # absent, or "max"
                continue
            if value > 0:
                limit = min(limit, value)
    if sys.platform != "win32":
        import resource

        hard = resource.getrlimit(resource.RLIMIT_RSS)[1]
        if 0 < hard < limit:
            limit = hard
    return limit


def _usable_fraction(*keys: str) -> float:
    """The fraction of a worker's memory limit at which distributed pauses it (else kills it),
    or the first of ``keys`` set (``spill``: where it starts writing its data to disk)."""
    import dask

    keys = (*keys, "distributed.worker.memory.pause", "distributed.worker.memory.terminate")
    # distributed adds its defaults to dask's config when imported; a run on this process's
    # threads does not import it, and reads them here (a user's dask config wins either way)
    values = [dask.config.get(k, MEMORY_FRACTIONS[k.rsplit(".", 1)[1]]) for k in keys]
    return float(next((f for f in values if f), 1.0))


#: distributed's defaults for the fractions of a worker's limit at which it spills to disk,
#: pauses, and is restarted (its distributed.yaml; tests/test_small_inputs.py compares)
MEMORY_FRACTIONS = {"spill": 0.7, "pause": 0.8, "terminate": 0.95}


#: The least limit keeps a worker this far below the fraction at which distributed pauses it:
#: the sampled resident memory of a worker peaks above what its tasks hold (allocator pages
#: not yet returned, buffers of the transfers between workers)
MARGIN = 0.05


def task_bytes(
    chunk_bytes: float,
    k: int,
    *,
    inputs: int = 1,
    outputs: int = 0,
    input_ratio: float = 1.0,
    neighbours: bool = False,
) -> float:
    """Memory of one running task whose largest result chunk has ``chunk_bytes`` bytes (in the
    results' dtype: float64 for integer input), with ``k`` derivatives of each of ``inputs``
    input variables read together (2 for a divergence or vorticity) and ``outputs`` arrays
    computed besides the derivatives (an operator's result: the Laplacian's sum).

    It holds each input chunk as read (``input_ratio``: the input's itemsize over the
    results', 1/8 for uint8) and as converted to the results' dtype with its ghost planes,
    the derivatives, the other outputs, and each array it writes once more as encoded (the
    derivatives, or only the operators' results when there are ``outputs``). With
    ``neighbours`` (a differentiated dim split into several chunks) a worker also holds the
    input chunks read for its neighbours' ghost planes, two per input.

    Examples
    --------
    >>> task_bytes(1, 2)  # read, converted, 2 derivatives, 2 encoded
    6.0
    >>> task_bytes(1, 2, inputs=2, outputs=1)  # a vorticity: 2 read, 2 converted, 4, 1, 1
    10.0
    >>> task_bytes(1, 1, input_ratio=1 / 8, neighbours=True)  # uint8 data
    3.375
    """
    read = inputs * input_ratio
    held = 2 * read if neighbours else 0.0
    written = 2 * outputs if outputs else inputs * k
    return chunk_bytes * (read + held + inputs + inputs * k + written)


def _least(memory: float, fraction: float) -> int:
    return math.ceil(memory / fraction / 2**20) * 2**20


def task_room(memory_limit: int | None, threads: int, spill: bool = False) -> float | None:
    """Bytes each of a worker's ``threads`` running tasks may hold before it comes within
    ``MARGIN`` of the fraction of its limit where it pauses, or with ``spill`` before it
    starts spilling to disk (None: no limit)."""
    if not memory_limit:
        return None
    keys = ("distributed.worker.memory.spill",) if spill else ()
    fraction = _usable_fraction(*keys) - MARGIN
    return max(0.0, memory_limit * fraction - WORKER_BASELINE) / max(threads, 1)


def largest_chunk_allowed(memory_limit: int | None, k: int, threads: int) -> float | None:
    """Bytes of the largest float64 chunk with ``k`` derivatives that ``threads`` tasks per
    worker may hold within ``memory_limit`` (None: no limit)."""
    room = task_room(memory_limit, threads)
    return None if room is None else room / task_bytes(1, k, neighbours=True)


def check_memory_limit(
    memory_limit: int | None, chunk_bytes: int, k: int, threads: int, **counts: Any
) -> None:
    """UsageError, saying what would fit, unless a worker with ``memory_limit`` bytes (None: no
    limit) holds ``WORKER_BASELINE`` plus one task per thread (``task_bytes`` of a chunk of
    ``chunk_bytes`` with ``k`` derivatives and the ``counts`` it passes on) below the share of
    its limit at which distributed pauses it (80%), less ``MARGIN``.
    Anything less pauses a worker for ever or restarts it in a loop; a limit of 1 byte or less,
    which dask would read as a fraction of the machine's memory, is refused as well.

    Examples
    --------
    >>> check_memory_limit(2 * 2**30, 8 * 2**20, 2, 2)
    >>> check_memory_limit(10 * 2**20, 0, 0, 1)
    Traceback (most recent call last):
    ...
    daskgrad.errors.UsageError: memory limit 10.00 MiB per worker is too small: ...
    """
    if memory_limit is None:
        return
    usable = _usable_fraction() - MARGIN
    task = task_bytes(chunk_bytes, k, **counts) * threads
    if memory_limit > 0 and memory_limit * usable >= WORKER_BASELINE + task:
        return
    least = _least(WORKER_BASELINE + task, usable)
    inputs = counts.get("inputs", 1)
    what = f"{inputs} input chunks" if inputs > 1 else "an input chunk"
    tasks = (
        f" plus {fmt_bytes(task)} for {threads} running task{'s' * (threads > 1)} (each "
        f"{what}, its {k} derivative{'s' * (k != 1)} per input"
        + (f" and {counts['outputs']} more output" if counts.get("outputs") else "")
        + f" of {fmt_bytes(chunk_bytes)} a chunk)"
        if task
        else ""
    )
    msg = (
        f"memory limit {fmt_bytes(max(memory_limit, 0))} per worker is too small: a worker needs "
        f"about {fmt_bytes(WORKER_BASELINE)}{tasks}, below {usable:.0%} of its limit (dask "
        f"pauses a worker at {usable + MARGIN:.0%}); use at least {fmt_bytes(least)}"
    )
    room = task_room(memory_limit, threads)
    if task and room:
        msg += f", or chunks of at most {fmt_bytes(room / task_bytes(1, k, **counts))}"
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

    if workers is None:
        if threads_per_worker is None:
            workers, threads_per_worker = default_shape(CPU_COUNT)
        else:
            workers = max(1, CPU_COUNT // threads_per_worker)
    elif threads_per_worker is None:
        threads_per_worker = max(1, math.ceil(CPU_COUNT / workers))
    total = machine_memory()
    if memory_limit is None:
        memory_limit = total // workers
    return workers, threads_per_worker, min(int(memory_limit), total)


def default_shape(cores: int) -> tuple[int, int]:
    """``(workers, threads per worker)`` of the embedded cluster on ``cores`` cores when no
    option sets them: on up to 2 cores one worker process with a thread per core, measured
    1.25-1.4x faster than distributed's one process per core on 2 cores, with one worker's
    baseline memory instead of two (benchmarks/bench_cluster_default.py, README "Clusters");
    on more cores distributed's choice (one process per core up to 4 cores).

    Examples
    --------
    >>> default_shape(2)
    (1, 2)
    >>> default_shape(4)
    (4, 1)
    """
    if cores <= 2:
        return 1, max(cores, 1)
    if cores <= 4:
        return max(cores, 1), 1
    workers = min(f for f in range(1, cores + 1) if cores % f == 0 and f * f >= cores)
    return workers, cores // workers
