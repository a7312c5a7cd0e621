"""Pure-NumPy finite-difference stencils: all partial derivatives of one block with ghost planes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

# Bytes of one operand per slab; measured best at 256 KiB-1 MiB on a 512 KiB-L2 core (benchmarks/).
SLAB_BYTES = 1 << 19
# Scratch buffers up to this size are kept per thread: fresh pages cost a fault each.
_SCRATCH_KEEP = 1 << 22
_scratch = threading.local()


def coord_ext(
    prev: np.ndarray | None,
    cur: np.ndarray,
    nxt: np.ndarray | None,
    period: float | None = None,
    wrap_lo: bool = False,
    wrap_hi: bool = False,
) -> np.ndarray:
    """Coordinates of a block with one ghost value per side (NaN at a true array edge).

    ``prev``/``nxt`` are the coordinates of the neighbouring blocks (only their last/first value
    is used). When the neighbour is reached by wrapping around a periodic axis, its coordinate
    is shifted by one period in the direction the coordinates run.

    Examples
    --------
    >>> coord_ext(np.array([0.0, 1.0]), np.array([2.0, 4.0]), None)
    array([ 1.,  2.,  4., nan])
    >>> coord_ext(np.array([9.0]), np.array([0.0, 3.0]), None, period=10.0, wrap_lo=True)
    array([-1.,  0.,  3., nan])
    """
    cur = np.asarray(cur, dtype=np.float64)
    ext = np.empty(cur.shape[0] + 2)
    ext[1:-1] = cur
    ext[0] = np.nan if prev is None else prev[-1]
    ext[-1] = np.nan if nxt is None else nxt[0]
    if wrap_lo:
        ext[0] -= (np.sign(ext[0] - cur[0]) or 1.0) * period
    if wrap_hi:
        ext[-1] += (np.sign(cur[-1] - ext[-1]) or 1.0) * period
    return ext


def _centred_coefficients(ext: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """numpy.gradient's non-uniform interior coefficients ``c`` and ``-a`` for every point.

    numpy's formula ``a*f[i-1] + b*f[i] + c*f[i+1]`` has ``a + b + c = 0``, so it equals
    ``c*(f[i+1] - f[i]) - a*(f[i] - f[i-1])``; only ``c`` and ``-a`` are needed over a block.
    """
    dx1 = ext[1:-1] - ext[:-2]
    dx2 = ext[2:] - ext[1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        total = dx1 + dx2
        fwd = dx2 * total
        np.divide(dx1, fwd, out=fwd)
        bwd = dx1 * total
        np.divide(dx2, bwd, out=bwd)
    return fwd.astype(dtype, copy=False), bwd.astype(dtype, copy=False)


def _edge_coefficients(dx1: float, dx2: float, side: str, order: int) -> tuple[float, ...]:
    """numpy.gradient's one-sided coefficients for the points in ascending order.

    ``dx1``, ``dx2`` are the steps between those points (``dx2`` unused for order 1).
    """
    if order == 1:
        return (-1.0 / dx1, 1.0 / dx1)
    if side == "lo":
        return (
            -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2)),
            (dx1 + dx2) / (dx1 * dx2),
            -dx1 / (dx2 * (dx1 + dx2)),
        )
    return (
        dx2 / (dx1 * (dx1 + dx2)),
        -(dx2 + dx1) / (dx1 * dx2),
        (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2)),
    )


def _slab_axis(shape: tuple[int, ...], itemsize: int, target: int) -> tuple[int, int]:
    """The axis slabs range over (whole axes after it fit in ``target``) and the range's step."""
    ndim = len(shape)
    inner = [itemsize] * (ndim + 1)  # inner[ax] = bytes of one index of axis ax-1
    for ax in range(ndim - 1, -1, -1):
        inner[ax] = inner[ax + 1] * shape[ax]
    j = next(ax for ax in range(ndim) if inner[ax + 1] <= target)
    return j, max(1, target // inner[j + 1])


def _slabs(shape: tuple[int, ...], j: int, step: int):
    """Split C-ordered ``shape`` into slabs of ``step`` indices of axis ``j``.

    Yields ``(lead, start, stop)``: fixed indices for axes ``< j``, a range on axis ``j``,
    whole axes after it.
    """
    for lead in np.ndindex(*shape[:j]):
        for start in range(0, shape[j], step):
            yield lead, start, min(start + step, shape[j])


def _scratch_buffer(size: int, dtype: np.dtype) -> np.ndarray:
    """A 1-D work array of ``size`` elements, reused by later calls on the same thread."""
    nbytes = size * dtype.itemsize
    if nbytes > _SCRATCH_KEEP:
        return np.empty(size, dtype)
    buf = getattr(_scratch, "buf", None)
    if buf is None:
        buf = _scratch.buf = np.empty(_SCRATCH_KEEP, np.uint8)
    return buf[:nbytes].view(dtype)


class _Axis:
    """Per-axis data the slab loop needs, prepared once per block."""

    def __init__(self, axis: int, shape: tuple[int, ...], step: Any, coef_dtype: np.dtype):
        self.axis, self.n = axis, shape[axis]
        self.stride = int(np.prod(shape[axis + 1 :], dtype=np.int64))  # in elements
        self.uniform = not isinstance(step, np.ndarray)
        if self.uniform:
            self.h = float(step)
            self.inv2h = 0.5 / self.h
        else:
            self.ext = step
            self.cfwd, self.cbwd = _centred_coefficients(step, coef_dtype)
            self._patterns: tuple[np.ndarray, np.ndarray] | None = None

    def coef_at(self, p: int) -> tuple[float, float, float]:
        """numpy's three centred coefficients (a, b, c) at point ``p``."""
        dx1, dx2 = self.ext[p + 1] - self.ext[p], self.ext[p + 2] - self.ext[p + 1]
        return -self.cbwd[p], self.cbwd.dtype.type((dx2 - dx1) / (dx1 * dx2)), self.cfwd[p]

    def row_patterns(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward and backward coefficients of the last axis tiled over ``length`` points."""
        if self._patterns is None or self._patterns[0].size < length:
            reps = -(-length // self.n)
            self._patterns = (np.tile(self.cfwd, reps), np.tile(self.cbwd, reps))
        return self._patterns


def _interior(f, outs, axes: list[_Axis], tmp, j: int, step: int) -> None:
    """Centred differences of every axis, slab by slab, as 1-D operations on the raveled block.

    Shifting a C-contiguous block by one stride of axis ``a`` gives the neighbours along ``a``
    of every point; only points at index 0 or n-1 of that axis get a neighbour from another
    row, and those are overwritten by :func:`_boundary`. Slabs hold ``step`` indices of axis
    ``j`` (see :func:`_slab_axis`). One flat ufunc call per slab avoids numpy's per-row
    overhead along the short last axis.
    """
    ff = f.reshape(-1)
    size = ff.size
    lead_strides = [int(np.prod(f.shape[i + 1 :], dtype=np.int64)) for i in range(f.ndim)]
    # Uniform axes need no positions: points at index 0 or n-1 get overwritten anyway, so their
    # loop is kept to the two ufunc calls.
    pairs = list(zip(axes, outs, strict=True))
    uniform = [(ax.stride, ax.inv2h, o.reshape(-1)) for ax, o in pairs if ax.uniform]
    general = [(ax, o.reshape(-1)) for ax, o in pairs if not ax.uniform]
    subtract, multiply, add = np.subtract, np.multiply, np.add
    for lead, s, e in _slabs(f.shape, j, step):
        base = sum(i * st for i, st in zip(lead, lead_strides, strict=False))
        s0, e0 = base + s * lead_strides[j], base + e * lead_strides[j]
        for st, inv2h, out in uniform:
            lo, hi = max(s0, st), min(e0, size - st)
            if lo < hi:
                o = out[lo:hi]
                subtract(ff[lo + st : hi + st], ff[lo - st : hi - st], out=o)
                multiply(o, inv2h, out=o)
        for ax, out in general:
            if ax.axis < j:
                p = lead[ax.axis]
                if not 1 <= p <= ax.n - 2:
                    continue
                st = ax.stride
                o, t = out[s0:e0], tmp[: e0 - s0]
                ca, cb, cc = ax.coef_at(p)
                multiply(ff[s0 - st : e0 - st], ca, out=o)
                multiply(ff[s0:e0], cb, out=t)
                add(o, t, out=o)
                multiply(ff[s0 + st : e0 + st], cc, out=t)
                add(o, t, out=o)
                continue
            if ax.stride == 1 and ax.axis > j:
                # the last axis: numpy's per-row loops over short rows cost more than the
                # flat pass, so use flat operations with the coefficients tiled once per block
                lo, hi = max(s0, 1), min(e0, size - 1)
                if lo >= hi:
                    continue
                cf, cb = ax.row_patterns(e0 - s0)
                d = tmp[: hi - lo + 1]
                subtract(ff[lo : hi + 1], ff[lo - 1 : hi], out=d)
                o = out[lo:hi]
                multiply(d[1:], cf[lo - s0 : hi - s0], out=o)
                multiply(d[:-1], cb[lo - s0 : hi - s0], out=d[:-1])
                add(o, d[:-1], out=o)
                continue
            views = _difference_views(ff, out, ax, j, s, e, s0, e0)
            if views is None:
                continue
            # numpy's a*f[i-1] + b*f[i] + c*f[i+1] with a + b + c = 0, as
            # c*(f[i+1] - f[i]) - a*(f[i] - f[i-1]): one difference array serves both terms
            o, lower, upper, k, cf, cb = views
            d = tmp[: lower.size].reshape(lower.shape)
            subtract(upper, lower, out=d)
            pre = (slice(None),) * k
            d_hi, d_lo = d[(*pre, slice(1, None))], d[(*pre, slice(None, -1))]
            multiply(d_hi, cf, out=o)
            multiply(d_lo, cb, out=d_lo)
            add(o, d_lo, out=o)


def _difference_views(ff, out, ax: _Axis, j, s, e, s0, e0):
    """Views of one slab for the interior points along ``ax`` (an axis at or after the slab's):
    the output, the two operands of the forward differences f[i+1] - f[i] from the first
    interior point's left neighbour on, the axis of the view that ``ax`` became, and the
    forward and backward coefficients shaped to broadcast (no tiling, so no memory traffic).
    None when the slab holds no interior point of the axis.
    """
    n, st = ax.n, ax.stride
    if ax.axis == j:
        lo, hi = max(s, 1), min(e, n - 1)
        if lo >= hi:
            return None
        base = s0 - s * st  # flat offset of index 0 along the axis

        def rows(i0, i1, arr=ff):
            return arr[base + i0 * st : base + i1 * st].reshape(i1 - i0, st)

        cf, cb = ax.cfwd[lo:hi, None], ax.cbwd[lo:hi, None]
        return rows(lo, hi, out), rows(lo - 1, hi), rows(lo, hi + 1), 0, cf, cb
    # a trailing axis: the slab holds whole cycles of it
    shape = (-1, n) if st == 1 else (-1, n, st)
    f3, o3 = ff[s0:e0].reshape(shape), out[s0:e0].reshape(shape)
    cf, cb = ax.cfwd[1 : n - 1], ax.cbwd[1 : n - 1]
    if st > 1:
        cf, cb = cf[:, None], cb[:, None]
    return o3[:, 1 : n - 1], f3[:, : n - 1], f3[:, 1:], 1, cf, cb


def _boundary(f, out, ax: _Axis, lo, hi, edge_order: int):
    """Points 0 and n-1 of one axis: centred with a ghost plane, one-sided at a true edge."""
    a, n = ax.axis, ax.n
    pre = (slice(None),) * a

    def plane(i):
        if i == -1:
            return lo
        if i == n:
            return hi
        return f[(*pre, slice(i, i + 1))]

    tmp = None
    for p in sorted({0, n - 1}):
        o = out[(*pre, slice(p, p + 1))]
        has_left, has_right = p > 0 or lo is not None, p < n - 1 or hi is not None
        if has_left and has_right and ax.uniform:
            np.subtract(plane(p + 1), plane(p - 1), out=o)
            np.multiply(o, ax.inv2h, out=o)
            continue
        if has_left and has_right:
            pts = [p - 1, p, p + 1]
            coefs = ax.coef_at(p)
        else:
            side = "hi" if has_left else "lo"
            pts = (
                list(range(edge_order + 1)) if side == "lo" else list(range(p - edge_order, p + 1))
            )
            if ax.uniform:
                dx1 = dx2 = ax.h
            else:
                x = ax.ext[[q + 1 for q in pts]]
                dx1, dx2 = x[1] - x[0], x[-1] - x[-2]
            coefs = _edge_coefficients(dx1, dx2, side, edge_order)
        if tmp is None:
            tmp = np.empty(o.shape, o.dtype)
        np.multiply(plane(pts[0]), coefs[0], out=o)
        for cf, q in zip(coefs[1:], pts[1:], strict=True):
            np.multiply(plane(q), cf, out=tmp)
            np.add(o, tmp, out=o)


def gradient_block(
    block: np.ndarray,
    axes: Sequence[int],
    ghosts: Sequence[tuple[Any, Any]],
    steps: Sequence[Any],
    edge_order: int,
    dtype: Any,
    out: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """Every requested partial derivative of ``block``, numpy.gradient's formulas.

    Parameters
    ----------
    block : ndarray
    axes : axes of ``block`` to differentiate.
    ghosts : per axis ``(lo, hi)``: the neighbouring plane (size 1 along that axis) on each
        side, or None where the block side is a true array edge.
    steps : per axis, a float (uniform spacing) or the block's coordinates with one ghost
        value per side, as made by :func:`coord_ext`.
    edge_order : 1 or 2, the order of the one-sided formulas at true edges.
    dtype : dtype of the outputs.
    out : optional preallocated outputs, one per axis.

    Examples
    --------
    >>> f = np.array([1.0, 2.0, 4.0, 8.0])
    >>> gradient_block(f, [0], [(None, None)], [1.0], 1, f.dtype)
    (array([1. , 1.5, 3. , 4. ]),)
    >>> gradient_block(f[:2], [0], [(None, f[2:3])], [1.0], 1, f.dtype)
    (array([1. , 1.5]),)
    """
    dtype = np.dtype(dtype)
    if block.dtype != dtype:
        block = block.astype(dtype)
        ghosts = [tuple(None if g is None else g.astype(dtype) for g in lh) for lh in ghosts]
    block = np.ascontiguousarray(block)
    if out is None:
        out = [np.empty(block.shape, dtype) for _ in axes]
    work = [o if o.flags.c_contiguous else np.empty(block.shape, dtype) for o in out]
    coef_dtype = np.result_type(np.finfo(dtype).dtype, np.float32)
    prepared = [_Axis(a, block.shape, s, coef_dtype) for a, s in zip(axes, steps, strict=True)]
    if block.size:
        j, step = _slab_axis(block.shape, block.itemsize, SLAB_BYTES)
        # a slab plus one index of its axis: the forward differences along that axis
        row = int(np.prod(block.shape[j + 1 :], dtype=np.int64))
        tmp = _scratch_buffer(min(block.size, (step + 1) * row + 1), dtype)
        # the flat passes compute garbage at row ends (overwritten below): no warnings there
        with np.errstate(invalid="ignore", over="ignore"):
            _interior(block, work, prepared, tmp, j, step)
        for ax, o, (lo, hi) in zip(prepared, work, ghosts, strict=True):
            _boundary(block, o, ax, lo, hi, edge_order)
    for o, w in zip(out, work, strict=True):
        if o is not w:
            o[...] = w
    return tuple(out)
