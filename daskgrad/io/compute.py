"""Running a write's graph: on a distributed client (the first failure raised at once, the rest
cancelled and waited for on an interrupt) or on dask's threads in this process."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable
from typing import Any

from ..errors import first_line
from .inspect import ReadFailed
from .report import ComputeFailed, describe_key, failure


def _executing(keys: set[str], dask_worker: Any = None) -> int:
    return sum(str(ts.key) in keys for ts in dask_worker.state.executing)


def _quiesce(client: Any, keys: set[str], timeout: float = 30.0) -> None:
    """Wait until no worker is still running one of ``keys``: a cancelled task that is already
    executing runs to its end and would write into the store after we removed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            busy = sum(client.run(_executing, keys, on_error="return").values(), 0)
        except Exception:
            return
        if not busy:
            return
        time.sleep(0.2)


def compute_distributed(
    graph: dict,
    writes: list,
    client: Any,
    progress: bool,
    watch: Any,
    pieces: Callable[[dict, list], list[list]] | None = None,
) -> None:
    """Compute ``writes`` of ``graph`` on ``client``, ``watch.check()`` between polls; on
    any failure or interrupt cancel the rest and wait until no worker still runs one.
    ``pieces``: splits ``writes`` into groups submitted one after another (see
    ``_in_pieces``); None or one group: the whole graph at once."""
    from dask.highlevelgraph import HighLevelGraph
    from distributed import as_completed

    keys = {str(k) for k in graph}
    groups = pieces(graph, writes) if pieces is not None else [writes]
    if len(groups) > 1:
        _in_pieces(graph, groups, client, watch, keys)
        return
    # as a HighLevelGraph: distributed names a plain dict graph by tokenizing every task,
    # a third of a second for 10^3 tasks
    layers = HighLevelGraph({"daskgrad-write": graph}, {"daskgrad-write": set()})
    futures = client.get(layers, writes, sync=False)
    try:
        if progress:
            import threading

            from distributed import progress as progress_bar

            # the text bar, also in Jupyter (its widget needs ipywidgets); in a thread of its
            # own, so that this one keeps checking (watch.check acts on a held Ctrl-C)
            kwargs = {"multi": False, "scheduler": client.scheduler.address, "notebook": False}
            bar = threading.Thread(target=progress_bar, args=(futures,), kwargs=kwargs)
            bar.daemon = True
            bar.start()
        # the first failure is raised as soon as it happens (unlike distributed.wait), and an
        # interrupt leaves no orphaned gather behind (unlike client.gather)
        with client.as_current():
            done = as_completed(futures)
            while not done.is_empty():
                for fut in done.next_batch(block=False) if done.has_ready() else ():
                    if fut.status != "finished":
                        _raise_failed(fut, client)
                if watch is not None:
                    watch.check()
                time.sleep(0.05)
            if progress:
                bar.join(5.0)  # its last line drawn before the summary
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
            _quiesce(client, keys)
        raise


def _in_pieces(graph: dict, groups: list[list], client: Any, watch: Any, keys: set[str]) -> None:
    """Compute each group of writes of ``graph`` as a graph of its own (culled), at most two
    groups on the scheduler at once: the next is submitted when one has finished and its
    futures are released, so the scheduler holds two groups' tasks, not the whole graph's
    (tasks two groups share, such as reads of the chunks at their boundary, are one task
    while both are there, else read again). No progress bar. Failures and interrupts as in
    ``compute_distributed``."""
    from dask.highlevelgraph import HighLevelGraph
    from dask.optimization import cull
    from distributed import as_completed

    live: dict[int, list] = {}  # group: its futures, until all have finished
    left: dict[int, int] = {}
    owner: dict[Any, int] = {}
    done = as_completed()
    submitted = 0

    def submit() -> None:
        nonlocal submitted
        group, name = groups[submitted], f"daskgrad-write-{submitted}"
        layers = HighLevelGraph({name: cull(graph, group)[0]}, {name: set()})
        futures = client.get(layers, group, sync=False)
        live[submitted], left[submitted] = futures, len(futures)
        owner.update((f.key, submitted) for f in futures)
        done.update(futures)
        submitted += 1

    try:
        with client.as_current():
            while submitted < min(2, len(groups)):
                submit()
            while not done.is_empty():
                for fut in done.next_batch(block=False) if done.has_ready() else ():
                    if fut.status != "finished":
                        _raise_failed(fut, client)
                    i = owner.pop(fut.key)
                    left[i] -= 1
                    if not left[i]:
                        del live[i], left[i]  # released: the scheduler forgets the group
                        if submitted < len(groups):
                            submit()
                if watch is not None:
                    watch.check()
                time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel([f for futures in live.values() for f in futures], force=True)
            _quiesce(client, keys)
        raise


def _raise_failed(fut: Any, client: Any) -> None:
    try:
        fut.result()
    except ReadFailed as e:  # names the input variable and its stored chunk
        if fut.status == "cancelled":
            raise ComputeFailed(failure(fut, e, client)) from e
        raise ComputeFailed(str(e)) from e
    except Exception as e:
        kernel = getattr(e, "daskgrad_task", None)  # a kernel fused with its writes failed
        if kernel is not None and fut.status != "cancelled":
            raise ComputeFailed(f"{describe_key(kernel)}: {first_line(e)}") from e
        raise ComputeFailed(failure(fut, e, client)) from e


def compute_local(graph: dict, writes: list, progress: bool) -> None:
    """Compute ``writes`` of ``graph`` on dask's threads in this process, one per core. A
    signal of the command line is acted on at once (``signals.raising``), also while every
    thread waits for an object store that stopped answering."""
    import dask.threaded

    from ..signals import STOP_WAIT, held, raising
    from .threadpool import DaemonThreads

    bar: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if progress:
        from dask.diagnostics import ProgressBar

        bar = ProgressBar()
    pool = DaemonThreads(os.cpu_count() or 1)
    try:
        with bar, raising():
            dask.threaded.get(_blamed_writes(graph, writes), writes, pool=pool)
    except ReadFailed as e:  # names the input variable and its stored chunk
        raise ComputeFailed(str(e)) from e
    except Exception as e:  # named as on a cluster: "writing the output, chunk (0, 0, 0): …"
        if (task := getattr(e, "daskgrad_task", None)) is not None:
            raise ComputeFailed(f"{describe_key(task)}: {first_line(e)}") from e
        raise
    finally:
        # tasks already running finish before the temporary is removed, so none writes into
        # a store that no longer exists; after a signal only for STOP_WAIT seconds: one that
        # waits for a store that stopped answering is left (a daemon thread: it ends with the
        # process, which exits at once)
        pool.stop(STOP_WAIT if held() is not None else None)


def _blamed_writes(graph: dict, writes: list) -> dict:
    """``graph`` with each write's task marking an exception it raises with its key (see
    ``tasks.blamed_on``: a fused kernel's own failure keeps the kernel's): dask's threads
    raise a failed task's exception without saying which task it was."""
    from ..compat import Task, TaskRef
    from .tasks import blamed_on

    graph = dict(graph)
    for key in writes:
        node = graph.get(key)
        if not isinstance(node, Task):
            continue
        deps = tuple(node.dependencies)
        run = functools.partial(blamed_on, key, _run_node, node, deps)
        graph[key] = Task(key, run, *map(TaskRef, deps))
    return graph


def _run_node(node: Any, keys: tuple, *values: Any) -> Any:
    return node(dict(zip(keys, values, strict=True)))
