"""Tasks that read several small stored chunks of the input, within the workers' memory."""

from __future__ import annotations

from ..cluster.memory import task_bytes
from .jobs import Job, largest_chunk

# Stored chunks of at most half this are read several to a task (see batch_chunks)
BATCH_BYTES = 16 * 2**20
# About the most tasks a run gives a distributed scheduler at once (see pieces): each costs it
# tens of kB (benchmarks/README.md, "Graph overhead")
PIECE_TASKS = 40_000


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


def pieces(graph: dict, writes: list) -> list[list]:
    """``writes`` (the output chunks' write tasks of ``graph``) in consecutive groups, in
    chunk-index order (every variable's write of a chunk together), to submit to a distributed
    scheduler one after another, at most two at once (``daskgrad.io.compute``): each group's
    graph about ``PIECE_TASKS / 2`` tasks, so the scheduler holds about ``PIECE_TASKS`` however
    many stored chunks the store has. One group when ``graph`` has no more than that."""
    if len(graph) <= PIECE_TASKS or len(writes) < 2:
        return [writes]
    per = len(graph) / len(writes)  # tasks per write, reads and kernels included
    size = max(int(PIECE_TASKS / 2 / per), 1)

    def place(key: object) -> tuple:
        return (tuple(key[1:]), str(key[0])) if isinstance(key, tuple) else ((), str(key))

    order = sorted(writes, key=place)
    return [order[i : i + size] for i in range(0, len(order), size)]
