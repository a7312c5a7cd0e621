"""Dask graph: depth-1 ghost planes along the differentiated axes, one kernel task per chunk."""

from __future__ import annotations

import itertools
from operator import getitem

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ._args import AxisPlan, Plan
from ._numpy import block_step
from .kernel import coord_ext, gradient_block


def _repaired_chunks(x: da.Array, plan: Plan) -> tuple[tuple[int, ...], ...]:
    """Chunks the kernel can work with: no empty chunks along a differentiated axis, and at a
    true edge at least 2 points when edge_order is 2 (the third comes from the ghost plane)."""
    chunks = list(x.chunks)
    for ax in plan.axes:
        c = [s for s in chunks[ax.axis] if s > 0]
        if plan.edge_order == 2 and not ax.periodic:
            while len(c) > 1 and c[0] < 2:
                c[:2] = [c[0] + c[1]]
            while len(c) > 1 and c[-1] < 2:
                c[-2:] = [c[-2] + c[-1]]
        chunks[ax.axis] = tuple(c)
    return tuple(chunks)


def _planes(block, needs):
    """The first and last plane of ``block`` along each differentiated axis, as its neighbours
    need them (None where no neighbour does).

    Copies: a view would keep the whole chunk alive, hidden from distributed's memory
    accounting, until every neighbour's kernel has run.
    """
    out = []
    for a, need_first, need_last in needs:
        pre = (slice(None),) * a
        first = block[(*pre, slice(0, 1))].copy() if need_first else None
        last = block[(*pre, slice(-1, None))].copy() if need_last else None
        out.append((first, last))
    return out


def _kernel_task(block, neighbours, steps, axes, edge_order, dtype):
    # neighbours[k] = [planes of the lower neighbour along axes[k], of the upper one]
    ghosts = [
        (None if lo is None else lo[k][1], None if hi is None else hi[k][0])
        for k, (lo, hi) in enumerate(neighbours)
    ]
    return gradient_block(block, axes, ghosts, steps, edge_order, dtype)


def _dask_coord_steps(ax: AxisPlan, chunks: tuple[int, ...], name: str, dsk: dict):
    """Per-chunk coordinate tasks for a dask coordinate array; returns (keys, array)."""
    c = ax.step.rechunk((chunks,))
    nb = len(chunks)
    keys = []
    for j in range(nb):
        wrap_lo, wrap_hi = ax.periodic and j == 0, ax.periodic and j == nb - 1
        prev = (c.name, (j - 1) % nb) if (j > 0 or wrap_lo) else None
        nxt = (c.name, (j + 1) % nb) if (j < nb - 1 or wrap_hi) else None
        key = (f"{name}-coord{ax.axis}", j)
        dsk[key] = (coord_ext, prev, (c.name, j), nxt, ax.period, wrap_lo, wrap_hi)
        keys.append(key)
    return keys, c


def gradient_dask(x: da.Array, plan: Plan) -> tuple[da.Array, ...]:
    original_chunks = x.chunks
    chunks = _repaired_chunks(x, plan)
    if chunks != original_chunks:
        x = x.rechunk(chunks)
    token = tokenize(x.name, plan.axes, plan.edge_order, plan.dtype)
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
            keys, carr = _dask_coord_steps(ax, c, name, dsk)
            dependencies.append(carr)
            steps_by_axis.append(keys)
        else:
            offsets = np.concatenate([[0], np.cumsum(c)])
            steps_by_axis.append(
                [block_step(ax, offsets[j], offsets[j + 1]) for j in range(len(c))]
            )

    # One task per chunk copies the planes its neighbours need; each kernel task takes its
    # own chunk and its neighbours' planes: k + 3 tasks per chunk with the k output getitems.
    xname, planes_name = x.name, f"gradient-planes-{token}"
    idxs = list(itertools.product(*map(range, numblocks)))
    spans = [(ax.axis, numblocks[ax.axis], ax.periodic) for ax in plan.axes]

    def needs(i):
        return [(a, per or i[a] > 0, per or i[a] < nb - 1) for a, nb, per in spans]

    dsk.update(
        {
            (planes_name, *i): (_planes, (xname, *i), needs(i))
            for i in idxs
            if any(per or nb > 1 for _, nb, per in spans)
        }
    )

    def neighbours(i):
        return [
            [
                (planes_name, *i[:a], (i[a] - 1) % nb, *i[a + 1 :]) if per or i[a] else None,
                (planes_name, *i[:a], (i[a] + 1) % nb, *i[a + 1 :])
                if per or i[a] < nb - 1
                else None,
            ]
            for a, nb, per in spans
        ]

    kernel_args = (axes, plan.edge_order, plan.dtype)
    dsk.update(
        {
            (name, *i): (
                _kernel_task,
                (xname, *i),
                neighbours(i),
                [st[i[a]] for a, st in zip(axes, steps_by_axis, strict=True)],
                *kernel_args,
            )
            for i in idxs
        }
    )

    graph = HighLevelGraph.from_collections(name, dsk, dependencies=dependencies)
    meta = np.empty((0,) * x.ndim, dtype=plan.dtype)
    outs = []
    for k in range(len(axes)):
        out_name = f"gradient-d{axes[k]}-{token}"
        layer = {(out_name, *i): (getitem, (name, *i), k) for i in idxs}
        g = HighLevelGraph(
            {**graph.layers, out_name: layer}, {**graph.dependencies, out_name: {name}}
        )
        out = da.Array(g, out_name, chunks, meta=meta)
        outs.append(out.rechunk(original_chunks) if chunks != original_chunks else out)
    return tuple(outs)
