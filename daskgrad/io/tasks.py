"""Graph surgery on xarray's delayed zarr write: the chunk writes to compute (not the task that
closes the store), each fused with the identity tasks dask.array.store wraps it in; chains of
reading tasks fused into one, and a kernel of several outputs fused with their writes."""

from __future__ import annotations

import contextlib
from typing import Any


def write_targets(graph: dict, closing: Any) -> list:
    """What to compute of xarray's delayed zarr write: the writes, not the task closing them.

    Each dependency of the ``closing`` task that only gathers chunk writes (dask.array.store's
    ``store-map`` tasks, one gather per variable) is replaced by those writes, aliases resolved
    (an alias is one more task to schedule). Any other dependency, such as a small variable's
    write fused with its gather, is kept as it is: computed whole, it is still written.
    """
    from dask.core import get_dependencies

    from ..compat import Alias  # compat needs a dask with task-spec aliases

    aliases: tuple[type, ...] = (Alias,)

    def resolve(key):
        while isinstance(graph.get(key), aliases):
            key = graph[key].target
        return key

    def is_write(key):
        return isinstance(key, tuple) and str(key[0]).startswith("store-map-")

    targets: list[Any] = []
    for dep in map(resolve, get_dependencies(graph, closing)):
        writes = get_dependencies(graph, dep)
        if writes and all(map(is_write, writes)):
            targets.extend(map(resolve, writes))
        else:
            targets.append(dep)
    return targets


def fuse_chains(graph: dict, writes: list) -> dict:
    """``graph`` with each write fused with the writing tasks below it that only it needs
    (dask.array.store's identity wrappers): one task to schedule per output chunk instead of
    two. The writes keep their keys; reads and kernels stay tasks of their own, so that a
    failure is still blamed on them."""
    from dask.core import get_dependencies, reverse_dict

    from ..compat import Task, convert_legacy_graph

    graph = convert_legacy_graph(graph)
    deps = {k: get_dependencies(graph, k) for k in graph}
    dependents = reverse_dict(deps)
    keep = set(writes)
    for key in writes:
        chain, cur = [graph[key]], key
        while len(deps[cur]) == 1:
            (below,) = deps[cur]
            task = graph.get(below)
            if (
                below in keep
                or len(dependents[below]) != 1
                or not isinstance(task, Task)
                or "store-map-" not in str(below[0] if isinstance(below, tuple) else below)
            ):
                break
            chain.insert(0, task)
            cur = below
        if len(chain) > 1 and isinstance(chain[-1], Task):
            for task in chain[:-1]:
                del graph[task.key]
            graph[key] = Task.fuse(*chain, key=key)
    return graph


def _name(key: Any) -> str:
    return str(key[0] if isinstance(key, tuple) else key)


def fuse_reads(graph: dict) -> dict:
    """``graph`` with each chain of reading tasks fused into one: a task whose only dependency
    is a task of the same name (tokens aside, e.g. ``read-u+v``) that nothing else needs. The
    command line packs its inputs' chunks in one reading task, which the operators' kernels
    pack again: two tasks to schedule per chunk for one read. Each fused task keeps the outer
    key, and a failure in it is a read of the same inputs and chunk."""
    from dask.core import get_dependencies, reverse_dict

    from ..compat import Task
    from ..errors import strip_tokens

    deps = {k: get_dependencies(graph, k) for k in graph}
    dependents = reverse_dict(deps)
    for key in list(graph):
        task = graph.get(key)
        if not isinstance(task, Task) or not _name(key).startswith(("read-", "open_dataset-")):
            continue
        chain = [task]
        cur = key
        while len(deps[cur]) == 1:
            (below,) = deps[cur]
            inner = graph.get(below)
            if (
                not isinstance(inner, Task)
                or len(dependents[below]) != 1
                or strip_tokens(_name(below)) != strip_tokens(_name(key))
            ):
                break
            chain.insert(0, inner)
            cur = below
        if len(chain) > 1:
            for inner in chain[:-1]:
                del graph[inner.key]
            graph[key] = Task.fuse(*chain, key=key)
            deps[key] = deps[cur]
            for below in deps[cur]:
                dependents[below] = {key if d == cur else d for d in dependents[below]}
    return graph


def fuse_kernels(graph: dict, writes: list) -> tuple[dict, list]:
    """``graph`` and its targets with each kernel that computes several outputs (the
    derivatives of a gradient) fused with the writes of all of them: one task per chunk
    instead of one plus one per output, which the scheduler and a worker each spend a few
    milliseconds of CPU on. Only a kernel whose dependents are all writes that need nothing
    else is fused; the fused task takes the first write's key, and a failure of the kernel in
    it is still blamed on the kernel (``blamed_on``)."""
    from dask.core import get_dependencies, reverse_dict

    from ..compat import Task, TaskRef

    targets = {w: n for n, w in enumerate(writes)}
    deps = {k: get_dependencies(graph, k) for k in graph}
    dependents = reverse_dict(deps)
    gone: set[Any] = set()
    for kernel in {d for w in writes for d in deps.get(w, ())}:
        task, needing = graph.get(kernel), dependents.get(kernel, set())
        if (
            len(needing) < 2
            or kernel in targets
            or not isinstance(task, Task)
            or not needing <= targets.keys()
            or any(deps[w] != {kernel} or not isinstance(graph[w], Task) for w in needing)
        ):
            continue
        mine = sorted(needing, key=targets.__getitem__)
        blamed = Task(kernel, blamed_on, kernel, task.func, *task.args, **task.kwargs)
        done_key = ("daskgrad-written", *mine[0][1:]) if isinstance(mine[0], tuple) else None
        done = Task(done_key or f"daskgrad-written-{mine[0]}", _written, *map(TaskRef, mine))
        fused = Task.fuse(blamed, *(graph[w] for w in mine), done, key=mine[0])
        del graph[kernel]
        for w in mine[1:]:
            del graph[w]
            gone.add(w)
        graph[mine[0]] = fused
    return graph, [w for w in writes if w not in gone]


def _written(*_: Any) -> None:
    """The end of a fused kernel and its writes: every write done."""


def blamed_on(key: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)``, an exception it raises marked with ``key`` (its attribute
    ``daskgrad_task``): the kernel's task, fused with writes, is still the one blamed."""
    try:
        return func(*args, **kwargs)
    except Exception as e:
        if getattr(e, "daskgrad_task", None) is None:
            with contextlib.suppress(AttributeError):  # exceptions without a __dict__
                e.daskgrad_task = key  # type: ignore[attr-defined]
        raise
