"""Array-level gradient: validate the arguments once, then run the NumPy or the dask path."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .arrays import is_dask_collection, is_masked
from .eager import (
    gradient_numpy,
    gradient_numpy_ops,
    needs_numpy_ops,
    numpy_operand,
    numpy_ops_axis,
    numpy_steps,
)
from .kernel import block_step
from .masked import masked_run
from .plan import AxisPlan, Plan, make_plan


def gradient_array(
    f: Any,
    spacing: Any = None,
    dim: Any = None,
    edge_order: int = 1,
    periodic: Any = None,
    accuracy: Any = 2,
    nan_policy: Any = "propagate",
) -> tuple[Any, ...]:
    """Gradient of a NumPy array, array-like or dask array along integer dims.

    The arguments are those of :func:`daskgrad.gradient` for arrays; the xarray layer calls
    this with the axes and spacings it derived from names and coordinates. datetime64 and
    timedelta64 data give timedelta64 and masked arrays give masked arrays, computed with
    numpy.gradient's own arithmetic (its rounding, its mask); everything else runs the kernel.

    Examples
    --------
    >>> gradient_array(np.array([1.0, 2.0, 4.0]), spacing=0.5)
    (array([2., 3., 4.]),)
    >>> gradient_array(np.array(["2000-01-01", "2000-01-02", "2000-01-04"], dtype="M8[D]"))
    (array([1, 1, 2], dtype='timedelta64[D]'),)
    """
    if not is_dask_collection(f) and not isinstance(f, np.ma.MaskedArray):
        f = np.asarray(f)
    if not is_dask_collection(f) and isinstance(spacing, list | tuple):
        # eager data computes its coordinates anyway: as NumPy they get NumPy's checks (a
        # repeated or NaN value), which a lazy coordinate only gets as its chunks compute
        spacing = [np.asarray(h) if is_dask_collection(h) else h for h in spacing]
    plan = make_plan(f.shape, f.dtype, spacing, dim, edge_order, periodic, accuracy, nan_policy)
    if f.ndim == 0 or not plan.axes:
        return ()
    numpy_like = (plan.accuracy, plan.nan_policy) == (2, "propagate")
    unknown = is_dask_collection(f) and any(np.isnan(n) for n in f.shape)
    if is_masked(f) and plan.dtype.kind != "m" and (not numpy_like or unknown):
        # the kernel's stencils, masked where they reach a masked value (dask's overlap, which
        # numpy's arithmetic per chunk uses, needs every chunk size known)
        def run(arrays: list[Any]) -> tuple[Any, ...]:
            return gradient_array(
                arrays[0], spacing, dim, edge_order, periodic, accuracy, nan_policy
            )

        masked: tuple[Any, ...] = masked_run(run, [f], plan.nan_policy)
        return masked
    if is_dask_collection(f):
        if needs_numpy_ops(f, plan.dtype):
            return _gradient_dask_numpy_ops(f, plan, spacing)
        from .graph import gradient_dask

        return gradient_dask(f, plan)
    if needs_numpy_ops(f, plan.dtype):
        return gradient_numpy_ops(f, plan, spacing)
    return gradient_numpy(f, plan)


def _gradient_dask_numpy_ops(x: Any, plan: Plan, spacing: Any) -> tuple[Any, ...]:
    """numpy.gradient's arithmetic per chunk of a dask array, one overlap per axis.

    These dtypes are rare and numpy's arithmetic is slow anyway, so this uses dask's own
    ``overlap`` rather than the kernel's one-task-per-chunk graph; the values equal numpy's on
    the whole array, because every point sees the same neighbours and coefficients.
    """
    import dask.array as da
    from dask.array.overlap import overlap

    from .graph import repaired_chunks

    chunks = repaired_chunks(x, plan)
    y = x.rechunk(chunks) if chunks != x.chunks else x
    meta = np.empty((0,) * x.ndim, plan.dtype)
    if isinstance(x._meta, np.ma.MaskedArray):
        meta = np.ma.masked_array(meta)
    outs = []
    for k, (ax, h) in enumerate(zip(plan.axes, numpy_steps(plan, spacing), strict=True)):
        a, nb = ax.axis, len(chunks[ax.axis])
        depth, boundary = {a: 1}, {a: "periodic" if ax.periodic else "none"}
        args = [overlap(y, depth=depth, boundary=boundary, allow_rechunk=False)]
        if is_dask_collection(ax.step):  # coordinates travel as a (1, .., n, .., 1) array
            shape = tuple(-1 if i == a else 1 for i in range(x.ndim))
            coord = ax.step.rechunk((chunks[a],)).reshape(shape)
            args.append(overlap(coord, depth=depth, boundary=boundary))
            ax = dataclasses.replace(ax, step=None)
        out = da.map_blocks(
            _numpy_ops_block,
            *args,
            chunks=chunks,
            meta=meta,
            ax=ax,
            uniform_step=h if ax.uniform else None,
            offsets=np.concatenate([[0], np.cumsum(chunks[a])]),
            nb=nb,
            edge_order=plan.edge_order,
            otype=plan.dtype,  # map_blocks keeps ``dtype`` for itself
            label=f"spacing[{k}] (dim {a})",
        )
        outs.append(out.rechunk(x.chunks) if chunks != x.chunks else out)
    return tuple(outs)


def _numpy_ops_block(
    g: np.ndarray,
    coord: np.ndarray | None = None,
    *,
    block_id: tuple[int, ...],
    ax: AxisPlan,
    uniform_step: float | None,
    offsets: np.ndarray,
    nb: int,
    edge_order: int,
    otype: np.dtype,
    label: str,
) -> np.ndarray:
    i = block_id[ax.axis]
    lo, hi = ax.periodic or i > 0, ax.periodic or i < nb - 1
    if ax.uniform:
        step = uniform_step
    else:
        if coord is None:
            ext = block_step(ax, offsets[i], offsets[i + 1])
        else:
            from .graph import checked_coord_ext

            c = coord.ravel()
            ext = checked_coord_ext(
                c[:1] if lo else None,
                c[int(lo) : c.size - int(hi)],
                c[-1:] if hi else None,
                ax.period,
                ax.periodic and i == 0,
                ax.periodic and i == nb - 1,
                1,
                label,
                int(offsets[i]),
                ax.size,
            )
        step = ext[0 if lo else 1 : None if hi else -1]
    return numpy_ops_axis(numpy_operand(g, otype), ax.axis, step, edge_order, otype, lo, hi)
