"""Eager path for NumPy input: the kernel on a few row-blocks of the array, one thread each."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._args import AxisPlan, Plan
from .kernel import coord_ext, gradient_block

# Below this many bytes one thread is faster than starting a pool.
_THREAD_MIN_BYTES = 8 << 20


def take(arr: np.ndarray, axis: int, i: int) -> np.ndarray:
    """Plane ``i`` of ``arr`` along ``axis``, keeping the axis (length 1)."""
    return arr[(slice(None),) * axis + (slice(i, i + 1),)]


def block_step(ax: AxisPlan, start: int, stop: int):
    """The kernel's step for the block ``[start, stop)`` of an axis with NumPy or no coordinates."""
    if ax.uniform:
        return ax.step
    x, n = ax.step, ax.size
    wrap_lo, wrap_hi = ax.periodic and start == 0, ax.periodic and stop == n
    prev = x[:start] if start > 0 else (x if wrap_lo else None)
    nxt = x[stop:] if stop < n else (x if wrap_hi else None)
    return coord_ext(prev, x[start:stop], nxt, ax.period, wrap_lo, wrap_hi)


def gradient_numpy(f: np.ndarray, plan: Plan) -> tuple[np.ndarray, ...]:
    f = np.ascontiguousarray(f)
    outs = tuple(np.empty(f.shape, plan.dtype) for _ in plan.axes)
    if f.size == 0:
        return outs
    n0 = f.shape[0]
    # Row-blocks along axis 0 are contiguous; each must keep 2 rows so an edge-order-2 formula
    # finds its third point in the neighbour's ghost plane.
    workers = 1 if f.nbytes < _THREAD_MIN_BYTES else max(1, min(os.cpu_count() or 1, n0 // 2))
    bounds = np.linspace(0, n0, workers + 1).astype(int)
    axes = [ax.axis for ax in plan.axes]

    def run(start: int, stop: int) -> None:
        part = f[start:stop]
        ghosts, steps = [], []
        for ax in plan.axes:
            if ax.axis == 0:
                lo = f[start - 1 : start] if start > 0 else (f[-1:] if ax.periodic else None)
                hi = f[stop : stop + 1] if stop < n0 else (f[:1] if ax.periodic else None)
                steps.append(block_step(ax, start, stop))
            else:
                lo = take(part, ax.axis, -1 % ax.size) if ax.periodic else None
                hi = take(part, ax.axis, 0) if ax.periodic else None
                steps.append(block_step(ax, 0, ax.size))
            ghosts.append((lo, hi))
        gradient_block(
            part,
            axes,
            ghosts,
            steps,
            plan.edge_order,
            plan.dtype,
            out=[o[start:stop] for o in outs],
        )

    if workers == 1:
        run(0, n0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, bounds[:-1], bounds[1:]))
    return outs
