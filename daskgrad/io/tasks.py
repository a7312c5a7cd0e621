"""Graph surgery on xarray's delayed zarr write: the chunk writes to compute (not the task that
closes the store), each fused with the identity tasks dask.array.store wraps it in."""

from __future__ import annotations

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
