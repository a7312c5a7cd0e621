"""Dask graph: ghost planes along the differentiated axes, one kernel task per chunk."""

from __future__ import annotations

import itertools
from operator import getitem

import dask.array as da
import numpy as np
from dask._task_spec import Task, TaskRef
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from dask.utils import disable_gc

from ._args import AxisPlan, Plan
from ._numpy import block_step, wrapped
from .kernel import coord_ext, gradient_block


def _repaired_chunks(x: da.Array, plan: Plan) -> tuple[tuple[int, ...], ...]:
    """Chunks the kernel can work with: along a differentiated axis no empty chunk, every chunk
    at least as long as the ghost depth (its neighbours take their ghost planes from it alone),
    and a chunk at a true edge long enough that its one-sided stencils reach no further than
    its neighbour's ghost planes. Chunks too short are merged with a neighbour, only there."""
    g, d = plan.depth, plan.accuracy // 2
    # the farthest point a one-sided stencil at a true edge uses, from the edge
    reach = plan.edge_order if plan.accuracy == 2 else 3 * d - 1
    chunks = list(x.chunks)
    for ax in plan.axes:
        c = [s for s in chunks[ax.axis] if s > 0]
        edge = g if ax.periodic else max(g, reach + 1 - g)
        merged: list[int] = []
        acc = 0
        for size in c:
            acc += size
            if acc >= (edge if not merged else g):
                merged.append(acc)
                acc = 0
        if acc:
            merged = merged[:-1] + [merged[-1] + acc] if merged else [acc]
        while len(merged) > 1 and merged[-1] < edge:
            merged[-2:] = [merged[-2] + merged[-1]]
        chunks[ax.axis] = tuple(merged)
    return tuple(chunks)


def _planes(block, needs, depth):
    """The first and last ``depth`` planes of ``block`` along each differentiated axis, as its
    neighbours need them (None where no neighbour does).

    Copies: a view would keep the whole chunk alive, hidden from distributed's memory
    accounting, until every neighbour's kernel has run.
    """
    out = []
    for a, need_first, need_last in needs:
        # a copy either way: np.take copies, and so does the slice of wrapped()
        first = np.array(wrapped(block, a, depth, False)) if need_first else None
        last = np.array(wrapped(block, a, depth, True)) if need_last else None
        out.append((first, last))
    return out


def _kernel_task(block, *steps_and_planes, axes, edge_order, dtype, accuracy, nan_policy):
    # steps_and_planes: k steps, then per axis the planes of the lower and of the upper
    # neighbour (None at a true edge); flat, so that every dependency is a top-level TaskRef
    k = len(axes)
    steps, planes = steps_and_planes[:k], steps_and_planes[k:]
    ghosts = [
        (None if lo is None else lo[j][1], None if hi is None else hi[j][0])
        for j, (lo, hi) in enumerate(zip(planes[::2], planes[1::2], strict=True))
    ]
    return gradient_block(
        block, axes, ghosts, steps, edge_order, dtype, accuracy=accuracy, nan_policy=nan_policy
    )


def _kernel_task_one(block, *steps_and_planes, **kwargs):
    (out,) = _kernel_task(block, *steps_and_planes, **kwargs)
    return out


def _ref(key):
    return None if key is None else TaskRef(key)


def _dask_coord_steps(ax: AxisPlan, chunks: tuple[int, ...], name: str, dsk: dict, depth: int):
    """Per-chunk coordinate tasks for a dask coordinate array; returns (refs, array)."""
    c = ax.step.rechunk((chunks,))
    nb = len(chunks)
    keys = []
    for j in range(nb):
        wrap_lo, wrap_hi = ax.periodic and j == 0, ax.periodic and j == nb - 1
        prev = (c.name, (j - 1) % nb) if (j > 0 or wrap_lo) else None
        nxt = (c.name, (j + 1) % nb) if (j < nb - 1 or wrap_hi) else None
        key = (f"{name}-coord{ax.axis}", j)
        dsk[key] = Task(
            key,
            coord_ext,
            _ref(prev),
            TaskRef((c.name, j)),
            _ref(nxt),
            ax.period,
            wrap_lo,
            wrap_hi,
            depth,
        )
        keys.append(TaskRef(key))
    return keys, c


def gradient_dask(x: da.Array, plan: Plan) -> tuple[da.Array, ...]:
    # k + 2 task objects per chunk, all tracked by the garbage collector: its passes over the
    # growing graph took two thirds of the construction time (dask's slicing does the same)
    with disable_gc():
        return _gradient_dask(x, plan)


def _gradient_dask(x: da.Array, plan: Plan) -> tuple[da.Array, ...]:
    original_chunks = x.chunks
    chunks = _repaired_chunks(x, plan)
    if chunks != original_chunks:
        x = x.rechunk(chunks)
    token = tokenize(x.name, plan)
    g = plan.depth
    name = f"gradient-{token}"
    axes = [ax.axis for ax in plan.axes]
    numblocks = x.numblocks
    dsk: dict = {}
    dependencies = [x]

    # per differentiated axis and chunk index: steps and where the ghost planes come from
    steps_by_axis = []
    for ax in plan.axes:
        c = chunks[ax.axis]
        if isinstance(ax.step, da.Array):
            keys, carr = _dask_coord_steps(ax, c, name, dsk, g)
            dependencies.append(carr)
            steps_by_axis.append(keys)
        else:
            offsets = np.concatenate([[0], np.cumsum(c)])
            steps_by_axis.append(
                [block_step(ax, offsets[j], offsets[j + 1], g) for j in range(len(c))]
            )

    # One task per chunk copies the planes its neighbours need; each kernel task takes its
    # own chunk and its neighbours' planes: k + 3 tasks per chunk with the k output getitems,
    # 3 for k = 1, where the kernel's task is the output (dask would fuse a kernel and its
    # single getitem into a subgraph task, which costs more to run than the two tasks).
    # Tasks are dask's task objects, not legacy tuples, which dask would convert one by one
    # at compute time (a sixth of dask.compute's time on 10^4 tiny chunks).
    xname, planes_name = x.name, f"gradient-planes-{token}"
    idxs = list(itertools.product(*map(range, numblocks)))
    spans = [(ax.axis, numblocks[ax.axis], ax.periodic) for ax in plan.axes]

    def needs(i):
        return [(a, per or i[a] > 0, per or i[a] < nb - 1) for a, nb, per in spans]

    if any(per or nb > 1 for _, nb, per in spans):
        for i in idxs:
            key = (planes_name, *i)
            dsk[key] = Task(key, _planes, TaskRef((xname, *i)), needs(i), g)

    def neighbours(i):
        for a, nb, per in spans:
            lo, hi = i[a] - 1, i[a] + 1
            yield TaskRef((planes_name, *i[:a], lo % nb, *i[a + 1 :])) if per or lo >= 0 else None
            yield TaskRef((planes_name, *i[:a], hi % nb, *i[a + 1 :])) if per or hi < nb else None

    kernel_args = dict(
        axes=axes,
        edge_order=plan.edge_order,
        dtype=plan.dtype,
        accuracy=plan.accuracy,
        nan_policy=plan.nan_policy,
    )
    one = len(axes) == 1
    kernel_name = f"gradient-d{axes[0]}-{token}" if one else name
    for i in idxs:
        key = (kernel_name, *i)
        dsk[key] = Task(
            key,
            _kernel_task_one if one else _kernel_task,
            TaskRef((xname, *i)),
            *[st[i[a]] for a, st in zip(axes, steps_by_axis, strict=True)],
            *neighbours(i),
            **kernel_args,
        )

    graph = HighLevelGraph.from_collections(kernel_name, dsk, dependencies=dependencies)
    meta = np.empty((0,) * x.ndim, dtype=plan.dtype)
    if one:
        out = da.Array(graph, kernel_name, chunks, meta=meta)
        return (out.rechunk(original_chunks) if chunks != original_chunks else out,)
    outs = []
    for k in range(len(axes)):
        out_name = f"gradient-d{axes[k]}-{token}"
        layer = {
            (out_name, *i): Task((out_name, *i), getitem, TaskRef((name, *i)), k) for i in idxs
        }
        g = HighLevelGraph(
            {**graph.layers, out_name: layer}, {**graph.dependencies, out_name: {name}}
        )
        out = da.Array(g, out_name, chunks, meta=meta)
        outs.append(out.rechunk(original_chunks) if chunks != original_chunks else out)
    return tuple(outs)
