"""nan_policy="omit": re-differentiate the points whose stencil touched a NaN, inside their run.

The kernel first computes every point with the stencils of a NaN-free array; only points with
a NaN within ``p`` along the axis can have a different stencil (see :mod:`daskgrad.core.stencil`).
Those — a band along coastlines — are recomputed here, grouped by stencil window so that each
group is a handful of vectorized gathers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .stencil import node_weights, uniform_weights, window


class HoleAxis(Protocol):
    """What re-differentiating needs of one of the kernel's axes (its per-block axis data)."""

    n: int  # points along the axis in the block
    g: int  # ghost planes per side
    p: int  # accuracy
    stride: int  # in elements
    deriv: int
    lo: np.ndarray | None  # ghost planes before the block; None at a true edge
    hi: np.ndarray | None
    q_edge: int  # the order of one-sided stencils at a true edge
    from_point: bool
    uniform: bool
    h: float  # the step, when uniform
    ext: Any  # the block's coordinates with g ghost values per side, when not uniform
    coef_dtype: np.dtype


def fill_holes(f: np.ndarray, outs: Sequence[np.ndarray], axes: Sequence[HoleAxis]) -> None:
    """Apply nan_policy="omit" to the outputs ``outs`` (C-contiguous, like ``f``) of the
    kernel's axes ``axes``.

    A valid point whose output is NaN is one whose stencil met a NaN (or whose data hold
    infinities): only those can have a different stencil inside their run, because every
    stencil that met no NaN lies inside the run and is the one the run's rule picks.
    """
    nan = np.not_equal(f, f)  # isnan, but faster
    has_nan = bool(nan.any())
    valid = ~nan if has_nan else None
    bad = np.empty(f.shape, bool)
    for ax, out in zip(axes, outs, strict=True):
        ghost_nan = any(gh is not None and np.isnan(gh).any() for gh in (ax.lo, ax.hi))
        if not (has_nan or ghost_nan):
            continue
        np.not_equal(out, out, out=bad)
        if has_nan:
            # NaN points whose stencil skipped them (a centred uniform one has no weight there)
            out.reshape(-1)[np.flatnonzero(nan & ~bad)] = np.nan
            assert valid is not None
            np.logical_and(bad, valid, out=bad)
        flat = np.flatnonzero(bad)
        if flat.size:
            out.reshape(-1)[flat] = _refill(f, ax, flat, out.dtype)


def _refill(f: np.ndarray, ax: HoleAxis, flat: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The derivative at the points ``flat`` (flat indices into ``f``) within their runs."""
    n, g, p, st, deriv = ax.n, ax.g, ax.p, ax.stride, ax.deriv
    i = (flat // st) % n
    # values at offsets -g..g along the axis (g: the farthest a stencil reaches), from the
    # block or its ghost planes
    offsets = range(-g, g + 1)
    inner = (i >= g) & (i < n - g)  # every offset inside the block: plain takes
    ff = f.reshape(-1)
    if inner.all():
        values = np.stack([ff.take(flat + k * st) for k in offsets])
    else:
        values = np.empty((2 * g + 1, flat.size), f.dtype)
        fi, fo = flat[inner], flat[~inner]
        for r, k in enumerate(offsets):
            values[r, inner] = ff.take(fi + k * st)
            values[r, ~inner] = _gather(f, ax, fo, i[~inner], k)
    invalid = np.isnan(values)
    left = np.full(i.shape, g)
    right = np.full(i.shape, g)
    for k in range(g, 0, -1):
        left = np.where(invalid[g - k], k - 1, left)
        right = np.where(invalid[g + k], k - 1, right)
    q_lo = np.where((ax.lo is None) & (i - left - 1 < 0), ax.q_edge, p)
    q_hi = np.where((ax.hi is None) & (i + right + 1 >= n), ax.q_edge, p)
    start, m = window(left, right, p, ax.from_point, q_lo, q_hi, deriv)
    # grouped by stencil window, each group a contiguous range after one sort
    none = -(2**20)  # no stencil: a run of one point
    keys = np.where(m > deriv, start * 32 + m, none)
    order = np.argsort(keys, kind="stable")
    keys, values, i = keys[order], values[:, order], i[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    result = np.full(i.shape, np.nan, dtype=dtype)
    for a, b in zip([0, *cuts], [*cuts, keys.size], strict=True):
        if keys[a] == none:
            continue  # NaN
        s, size = int(start[order[a]]), int(m[order[a]])
        if ax.uniform:
            weights = [w / ax.h**deriv for w in uniform_weights(s, size, deriv)]
        else:
            nodes = ax.ext[i[a:b, None] + np.arange(s, s + size) + g]
            weights = list(node_weights(nodes, -s, deriv).astype(ax.coef_dtype).T)
        centre, total, t = values[g, a:b], result[a:b], np.empty(b - a, dtype)
        total[...] = 0
        for j in range(size):  # Σ w_j (f_j - f_i): a constant run gives exactly zero
            if s + j != 0:
                np.subtract(values[g + s + j, a:b], centre, out=t)
                np.multiply(t, weights[j], out=t)
                np.add(total, t, out=total)
    out = np.empty_like(result)
    out[order] = result
    return out


def _gather(f: np.ndarray, ax: HoleAxis, flat: np.ndarray, i: np.ndarray, k: int) -> np.ndarray:
    """Values ``k`` points along the axis from the points ``flat`` (at axis index ``i``):
    from the block, from a ghost plane, or NaN beyond a true edge."""
    n, g, st = ax.n, ax.g, ax.stride
    q = i + k
    out = np.full(flat.shape, np.nan, f.dtype)
    inside = (q >= 0) & (q < n)
    out[inside] = f.reshape(-1)[flat[inside] + k * st]
    for ghost, sel, pos in ((ax.lo, q < 0, q + g), (ax.hi, q >= n, q - n)):
        if ghost is None or not sel.any():
            continue
        fl = flat[sel]
        outer, inner = fl // (st * n), fl % st
        out[sel] = np.ravel(ghost)[(outer * g + pos[sel]) * st + inner]
    return out
