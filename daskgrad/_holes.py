"""nan_policy="omit": re-differentiate the points whose stencil touched a NaN, inside their run.

The kernel first computes every point with the stencils of a NaN-free array; only points with
a NaN within ``p`` along the axis can have a different stencil (see :mod:`daskgrad._stencil`).
Those — a band along coastlines — are recomputed here, grouped by stencil window so that each
group is a handful of vectorized gathers.
"""

from __future__ import annotations

import numpy as np

from ._stencil import lagrange_weights, uniform_weights, window


def fill_holes(f: np.ndarray, outs, axes) -> None:
    """Apply nan_policy="omit" to the outputs ``outs`` of the kernel's axes ``axes``."""
    nan = np.isnan(f)
    ghost_nans = [
        tuple(None if gh is None else np.isnan(gh) for gh in (ax.lo, ax.hi)) for ax in axes
    ]
    has_nan = nan.any()
    for ax, out, (lo_nan, hi_nan) in zip(axes, outs, ghost_nans, strict=True):
        if not has_nan and not any(gh is not None and gh.any() for gh in (lo_nan, hi_nan)):
            continue
        _fill_axis(f, nan, lo_nan, hi_nan, out, ax)
        if has_nan:
            np.copyto(out, np.nan, where=nan)


def _along(a: int, ndim: int, index):
    return (slice(None),) * a + (index,) + (slice(None),) * (ndim - a - 1)


def _fill_axis(f, nan, lo_nan, hi_nan, out, ax) -> None:
    a, n, g, p = ax.axis, ax.n, ax.g, ax.p
    ndim = f.ndim
    pad = nan.shape[:a] + (g,) + nan.shape[a + 1 :]
    parts = [np.zeros(pad, bool) if lo_nan is None else lo_nan, nan]
    parts.append(np.zeros(pad, bool) if hi_nan is None else hi_nan)
    ext = np.concatenate(parts, axis=a)  # NaN flags with g ghost planes per side
    near = np.zeros(nan.shape, bool)
    for k in range(1, p + 1):
        near |= ext[_along(a, ndim, slice(g + k, g + k + n))]
        near |= ext[_along(a, ndim, slice(g - k, g - k + n))]
    near &= ~nan
    idx = np.nonzero(near)
    if not idx[0].size:
        return
    i = idx[a]

    def invalid(q):
        at = list(idx)
        at[a] = np.clip(q + g, 0, n + 2 * g - 1)
        bad = ext[tuple(at)]
        if ax.lo is None:
            bad = bad | (q < 0)
        if ax.hi is None:
            bad = bad | (q >= n)
        return bad

    left = np.full(i.shape, p)
    right = np.full(i.shape, p)
    for k in range(p, 0, -1):
        left = np.where(invalid(i - k), k - 1, left)
        right = np.where(invalid(i + k), k - 1, right)
    q_lo = np.where((ax.lo is None) & (i - left - 1 < 0), ax.q_edge, p)
    q_hi = np.where((ax.hi is None) & (i + right + 1 >= n), ax.q_edge, p)
    start, m = window(left, right, p, ax.uniform, q_lo, q_hi)
    result = np.full(i.shape, np.nan, dtype=out.dtype)
    keys = start * 32 + m
    for key in np.unique(keys[m > 1]):
        rows = np.flatnonzero(keys == key)
        s, size = int(start[rows[0]]), int(m[rows[0]])
        pos = i[rows, None] + np.arange(s, s + size)
        values = [_gather(f, ax, [ix[rows] for ix in idx], pos[:, j]) for j in range(size)]
        if ax.uniform:
            weights = [w / ax.h for w in uniform_weights(s, size)]
        else:
            w = lagrange_weights(ax.ext[pos + g], -s).astype(ax.coef_dtype)
            weights = list(w.T)
        total = values[0] * weights[0]
        for v, w in zip(values[1:], weights[1:], strict=True):
            total += v * w
        result[rows] = total
    out[idx] = result


def _gather(f, ax, idx, q):
    """Values at the points ``idx`` moved to position ``q`` along the axis (ghosts for q < 0
    or q >= n)."""
    a, n, g = ax.axis, ax.n, ax.g
    values = np.empty(q.shape, f.dtype)
    for source, sel, pos in (
        (f, (q >= 0) & (q < n), q),
        (ax.lo, q < 0, q + g),
        (ax.hi, q >= n, q - n),
    ):
        if not sel.any():
            continue
        at = [ix[sel] for ix in idx]
        at[a] = pos[sel]
        values[sel] = source[tuple(at)]
    return values
