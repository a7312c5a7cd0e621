"""Eager NumPy path: the kernel on threaded row-blocks; numpy's arithmetic for time and masks."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .arrays import is_scalar
from .kernel import block_step, gradient_blocks, take, wrapped
from .plan import Plan

# Below this many bytes one thread is faster than starting a pool.
_THREAD_MIN_BYTES = 8 << 20


def gradient_numpy(f: np.ndarray, plan: Plan) -> tuple[np.ndarray, ...]:
    return ghosted_numpy([f], plan, gradient_blocks, len(plan.axes))


def ghosted_numpy(
    arrays: Sequence[np.ndarray],
    plan: Plan,
    func: Callable[..., Any],
    nout: int,
    aux: Sequence[tuple[int, np.ndarray]] = (),
) -> tuple[np.ndarray, ...]:
    """``func(blocks, ghosts, steps, aux, plan=plan, out=outs)`` over row-blocks of the
    same-shaped ``arrays`` on threads; ``ghosts`` per array and differentiated axis, ``aux``
    the slices of the 1-D arrays ``aux`` [(axis, values)] that fall in the block."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    f = arrays[0]
    outs = tuple(np.empty(f.shape, plan.dtype) for _ in range(nout))
    if f.size == 0:
        return outs
    n0, g = f.shape[0], plan.depth
    # Row-blocks along axis 0 are contiguous; each keeps enough rows that its one-sided
    # stencils at a true edge, and its neighbours' ghost planes, stay within one block.
    rows = max(2, plan.accuracy + plan.deriv, g)
    nbytes = sum(a.nbytes for a in arrays)
    workers = 1 if nbytes < _THREAD_MIN_BYTES else max(1, min(os.cpu_count() or 1, n0 // rows))
    bounds = np.linspace(0, n0, workers + 1).astype(int)

    def ghosts_of(
        a: np.ndarray, start: int, stop: int
    ) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
        out = []
        for ax in plan.axes:
            lo: np.ndarray | None
            hi: np.ndarray | None
            if ax.axis == 0:
                lo = hi = None
                if start > 0 or ax.periodic:
                    lo = a[start - g : start] if start > 0 else wrapped(a, 0, g, True)
                if stop < n0 or ax.periodic:
                    hi = a[stop : stop + g] if stop < n0 else wrapped(a, 0, g, False)
            else:
                part = a[start:stop]
                lo = wrapped(part, ax.axis, g, True) if ax.periodic else None
                hi = wrapped(part, ax.axis, g, False) if ax.periodic else None
            out.append((lo, hi))
        return out

    def run(start: int, stop: int) -> None:
        steps = [
            block_step(ax, start, stop, g) if ax.axis == 0 else block_step(ax, 0, ax.size, g)
            for ax in plan.axes
        ]
        func(
            [a[start:stop] for a in arrays],
            [ghosts_of(a, start, stop) for a in arrays],
            steps,
            [v[start:stop] if axis == 0 else v for axis, v in aux],
            plan=plan,
            out=[o[start:stop] for o in outs],
        )

    if workers == 1:
        run(0, n0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, bounds[:-1], bounds[1:]))
    return outs


# --- numpy's own arithmetic, for datetime64/timedelta64 and masked data -----------------------


def needs_numpy_ops(f: Any, dtype: np.dtype) -> bool:
    """Whether ``f`` takes numpy's own arithmetic instead of the kernel: timedelta64 output
    (datetime64 or timedelta64 input) or masked data (NumPy, or dask with masked chunks)."""
    return dtype.kind == "m" or isinstance(getattr(f, "_meta", f), np.ma.MaskedArray)


def numpy_operand(f: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``f`` as numpy.gradient computes with it: datetime64 viewed as the output's timedelta64,
    integers as float64 (no modular arithmetic), anything else as it is."""
    if f.dtype.kind == "M":
        return f.view(dtype)
    if f.dtype.kind in "iu":
        return f.astype(np.float64)
    return f


def numpy_ops_axis(
    f: np.ndarray,
    axis: int,
    step: Any,
    edge_order: int,
    dtype: np.dtype,
    lo_ghost: bool = False,
    hi_ghost: bool = False,
) -> np.ndarray:
    """numpy.gradient's expressions along ``axis``, operand for operand.

    Timedelta arithmetic truncates at every product and quotient, and masked arithmetic keeps
    the first operand's data under the mask, so only the same expressions in the same order
    give numpy's values, dtype, mask and masked data. ``f`` (already a :func:`numpy_operand`)
    carries one ghost plane on each side flagged ``lo_ghost``/``hi_ghost``; a side without one
    is a true edge. ``step`` is a float or the coordinates of all of ``f``'s points along
    ``axis``. Returns the derivative at ``f``'s own points.

    Examples
    --------
    >>> t = np.array([0, 2, 3, 7], dtype="m8[s]")
    >>> numpy_ops_axis(t, 0, 1.0, 1, t.dtype)
    array([2, 1, 2, 4], dtype='timedelta64[s]')
    >>> numpy_ops_axis(t, 0, 1.0, 1, t.dtype, lo_ghost=True)  # t[0] is a ghost plane
    array([1, 2, 4], dtype='timedelta64[s]')
    """

    def at(i: int | slice) -> tuple[int | slice, ...]:
        return (slice(None),) * axis + (i,)

    out = np.empty_like(f, dtype=dtype)
    if np.ndim(step) == 0:
        out[at(slice(1, -1))] = (f[at(slice(2, None))] - f[at(slice(None, -2))]) / (2.0 * step)
    else:
        dx = np.diff(step)
        shape = [1] * f.ndim
        shape[axis] = -1
        dx1, dx2 = dx[0:-1], dx[1:]
        a = (-(dx2) / (dx1 * (dx1 + dx2))).reshape(shape)
        b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
        c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
        out[at(slice(1, -1))] = (
            a * f[at(slice(None, -2))] + b * f[at(slice(1, -1))] + c * f[at(slice(2, None))]
        )
    uniform = np.ndim(step) == 0
    if edge_order == 1:
        if not lo_ghost:
            out[at(0)] = (f[at(1)] - f[at(0)]) / (step if uniform else dx[0])
        if not hi_ghost:
            out[at(-1)] = (f[at(-1)] - f[at(-2)]) / (step if uniform else dx[-1])
    else:
        if not lo_ghost:
            if uniform:
                a, b, c = -1.5 / step, 2.0 / step, -0.5 / step
            else:
                dx1, dx2 = dx[0], dx[1]
                a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
                b = (dx1 + dx2) / (dx1 * dx2)
                c = -dx1 / (dx2 * (dx1 + dx2))
            out[at(0)] = a * f[at(0)] + b * f[at(1)] + c * f[at(2)]
        if not hi_ghost:
            if uniform:
                a, b, c = 0.5 / step, -2.0 / step, 1.5 / step
            else:
                dx1, dx2 = dx[-2], dx[-1]
                a = (dx2) / (dx1 * (dx1 + dx2))
                b = -(dx2 + dx1) / (dx1 * dx2)
                c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
            out[at(-1)] = a * f[at(-3)] + b * f[at(-2)] + c * f[at(-1)]
    return out[at(slice(1 if lo_ghost else 0, -1 if hi_ghost else None))]


def numpy_steps(plan: Plan, spacing: Any) -> list[Any]:
    """Per axis, the uniform step as numpy.gradient holds it (else the plan's coordinates).

    That is the scalar the caller gave, or the first difference of even coordinates as a NumPy
    scalar: NumPy scalars are not weakly typed, so which of the two it is decides float32
    rounding and which data masked arithmetic leaves under the mask.
    """
    k = len(plan.axes)
    given = [1.0] * k if spacing is None else [spacing] * k if is_scalar(spacing) else spacing
    out = []
    for ax, h in zip(plan.axes, given, strict=True):
        if ax.uniform and not ax.periodic and np.ndim(h) != 0:
            x = np.asanyarray(h)
            h = np.diff(x.astype(np.float64) if x.dtype.kind in "iu" else x)[0]
        out.append(h if ax.uniform and not ax.periodic else ax.step)
    return out


def gradient_numpy_ops(f: np.ndarray, plan: Plan, spacing: Any = None) -> tuple[np.ndarray, ...]:
    """numpy.gradient's arithmetic on a whole NumPy array (see :func:`numpy_ops_axis`); periodic
    axes get their wrap-around planes as ghosts. ``spacing`` is the one ``plan`` was made from.
    """
    f = numpy_operand(f, plan.dtype)
    concatenate = np.ma.concatenate if isinstance(f, np.ma.MaskedArray) else np.concatenate
    outs = []
    for ax, h in zip(plan.axes, numpy_steps(plan, spacing), strict=True):
        step, g = h if ax.uniform else block_step(ax, 0, ax.size), f
        if ax.periodic:
            g = concatenate([take(f, ax.axis, ax.size - 1), f, take(f, ax.axis, 0)], axis=ax.axis)
        elif not ax.uniform:
            step = step[1:-1]  # coord_ext's NaNs at the true edges
        outs.append(
            numpy_ops_axis(g, ax.axis, step, plan.edge_order, plan.dtype, ax.periodic, ax.periodic)
        )
    return tuple(outs)
