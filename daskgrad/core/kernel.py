"""Pure-NumPy finite-difference stencils: all partial derivatives of one block with ghost planes.

Also, as part of the same job: a plan's per-block arguments (steps, wrapped ghost planes) for the
threaded NumPy path and the dask graph alike, and nan_policy="omit"'s re-differentiation of the
points whose stencil met a NaN.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any, Protocol

import numpy as np

from .stencil import (
    EvenCoords,
    depth,
    half_width,
    node_weights,
    point_weights,
    uniform_weights,
    window,
)

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
    depth: int = 1,
) -> np.ndarray:
    """Coordinates of a block with ``depth`` ghost values per side (NaN at a true array edge).

    ``prev``/``nxt`` are the coordinates of the neighbouring blocks (only their last/first
    ``depth`` values are used). When the neighbour is reached by wrapping around a periodic
    axis, its coordinates are shifted by one period in the direction the coordinates run.

    Examples
    --------
    >>> coord_ext(np.array([0.0, 1.0]), np.array([2.0, 4.0]), None)
    array([ 1.,  2.,  4., nan])
    >>> coord_ext(np.array([9.0]), np.array([0.0, 3.0]), None, period=10.0, wrap_lo=True)
    array([-1.,  0.,  3., nan])
    >>> coord_ext(np.array([0.0, 1.0]), np.array([2.0, 4.0]), np.array([5.0]), depth=2)
    array([ 0.,  1.,  2.,  4.,  5., nan])
    """
    cur = np.asarray(cur, dtype=np.float64)
    g = depth
    ext = np.full(cur.shape[0] + 2 * g, np.nan)
    ext[g:-g] = cur
    if prev is not None:
        prev = np.asarray(prev, dtype=np.float64)
        q = np.arange(-g, 0)  # a periodic axis shorter than the depth wraps more than once
        lo = prev[q % prev.size] if wrap_lo else prev[-g:]
        if wrap_lo:
            turns = (-q - 1) // prev.size + 1
            lo = lo - turns * (np.sign(prev[-1] - cur[0]) or 1.0) * period
        ext[g - lo.size : g] = lo
    if nxt is not None:
        nxt = np.asarray(nxt, dtype=np.float64)
        q = np.arange(g)
        hi = nxt[q % nxt.size] if wrap_hi else nxt[:g]
        if wrap_hi:
            turns = q // nxt.size + 1
            hi = hi + turns * (np.sign(cur[-1] - nxt[0]) or 1.0) * period
        ext[cur.size + g : cur.size + g + hi.size] = hi
    return ext


def _slab_axis(shape: tuple[int, ...], itemsize: int, target: int) -> tuple[int, int]:
    """The axis slabs range over (whole axes after it fit in ``target``) and the range's step."""
    ndim = len(shape)
    inner = [itemsize] * (ndim + 1)  # inner[ax] = bytes of one index of axis ax-1
    for ax in range(ndim - 1, -1, -1):
        inner[ax] = inner[ax + 1] * shape[ax]
    j = next(ax for ax in range(ndim) if inner[ax + 1] <= target)
    return j, max(1, target // inner[j + 1])


def _slabs(shape: tuple[int, ...], j: int, step: int) -> Iterator[tuple[tuple[int, ...], int, int]]:
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
    buf: np.ndarray | None = getattr(_scratch, "buf", None)
    if buf is None:
        buf = _scratch.buf = np.empty(_SCRATCH_KEEP, np.uint8)
    return buf[:nbytes].view(dtype)


class _Axis:
    """Per-axis data the slab loop needs, prepared once per block.

    Uniform axes carry the centred stencil as pair weights: ``Σ w_o (f[i+o] - f[i-o])``.
    Coordinate axes carry it per point in difference form, ``Σ_k c_k[i] D[i+k]`` over
    ``k = -d..d-1`` with ``D[t] = f[t+1] - f[t]``: one difference array serves every term.
    """

    def __init__(
        self,
        axis: int,
        shape: tuple[int, ...],
        step: Any,  # a float (EvenCoords too) or the block's coordinates with ghost values
        ghosts: tuple[np.ndarray | None, np.ndarray | None],
        accuracy: int,
        edge_order: int,
        depth: int,
        coef_dtype: np.dtype,
        deriv: int,
    ) -> None:
        self.axis, self.n, self.g, self.p, self.deriv = axis, shape[axis], depth, accuracy, deriv
        self.stride = math.prod(shape[axis + 1 :])  # in elements
        self.lo, self.hi = ghosts
        # the order of one-sided stencils at a true edge: numpy's edge_order at accuracy 2
        self.q_edge = edge_order if accuracy == 2 else accuracy
        self.uniform = not isinstance(step, np.ndarray)
        # stencils at run ends: from the point for a scalar step, else the nearest points
        self.from_point = self.uniform and not isinstance(step, EvenCoords)
        self.coef_dtype = coef_dtype
        self.d = d = half_width(accuracy, self.from_point, deriv)  # of the centred stencil
        if self.uniform:
            self.h = float(step)
            central = uniform_weights(-d, 2 * d + 1, deriv)
            scale = self.h**deriv
            # Σ w_o (f[i+o] ∓ f[i-o]) + w_0 f[i]: antisymmetric weights for odd derivatives
            self.pairs = [central[d + o] / scale for o in range(1, d + 1)]
            self.centre = central[d] / scale
            # even derivatives in difference form: Σ_k c_k (D[i+k] - D[i-k-1]), D[t] = f[t+1] -
            # f[t], c_k the sum of the pair weights beyond k
            self.nested = [sum(self.pairs[k:]) for k in range(d)]
            return
        self.ext = step  # the block's coordinates with ``depth`` ghost values per side
        n = self.n
        nodes = np.lib.stride_tricks.sliding_window_view(step, 2 * d + 1)[depth - d :][:n]
        w = node_weights(nodes, d, deriv)  # (n, 2d + 1), NaN next to a true edge (not used)
        # difference form: c_k = sum of the weights right of k (k >= 0), minus those up to k
        self.direct = w.astype(coef_dtype)
        self.cd = [
            (w[:, d + k + 1 :].sum(axis=1) if k >= 0 else -w[:, : d + k + 1].sum(axis=1)).astype(
                coef_dtype
            )
            for k in range(-d, d)
        ]
        self._patterns: list[np.ndarray] | None = None

    def row_patterns(self, length: int) -> list[np.ndarray]:
        """The difference-form coefficients of the last axis tiled over ``length`` points."""
        if self._patterns is None or self._patterns[0].size < length:
            reps = -(-length // self.n)
            self._patterns = [np.tile(c, reps) for c in self.cd]
        return self._patterns

    def stencil(self, i: int) -> tuple[list[int], list[float]]:
        """Positions (negative or >= n: ghost planes) and weights of the stencil of plane i."""
        left = i + (self.g if self.lo is not None else 0)
        right = self.n - 1 - i + (self.g if self.hi is not None else 0)
        q_lo = self.q_edge if self.lo is None else self.p
        q_hi = self.q_edge if self.hi is None else self.p
        start, m = window(left, right, self.p, self.from_point, q_lo, q_hi, self.deriv)
        if m <= self.deriv:
            return [], []
        pos = list(range(i + start, i + start + m))
        if self.uniform:
            return pos, [w / self.h**self.deriv for w in uniform_weights(start, m, self.deriv)]
        nodes = self.ext[start + i + self.g : start + i + self.g + m]
        return pos, point_weights(nodes, -start, self.deriv)


def _sum_terms(
    out: np.ndarray, terms: Sequence[tuple[Any, np.ndarray]], tmp: np.ndarray, scratch: bool
) -> None:
    """out = Σ weight · view over ``terms`` [(weight, view)], weights scalars or arrays that
    broadcast. With ``scratch`` the views are work space: the last one is scaled in place."""
    (w0, v0), rest = terms[0], terms[1:]
    np.multiply(v0, w0, out=out)
    for n, (w, v) in enumerate(rest):
        t = v if scratch and n == len(rest) - 1 else tmp[: v.size].reshape(v.shape)
        np.multiply(v, w, out=t)
        np.add(out, t, out=out)


def _interior(
    f: np.ndarray,
    outs: Sequence[np.ndarray],
    axes: list[_Axis],
    tmp: np.ndarray,
    tmp2: np.ndarray,
    j: int,
    step: int,
) -> None:
    """Centred stencils of every axis, slab by slab, as 1-D operations on the raveled block.

    Shifting a C-contiguous block by ``o`` strides of axis ``a`` gives the neighbours at
    offset ``o`` along ``a`` of every point; only points within ``d`` of index 0 or n-1 of that
    axis get neighbours from another row, and those are overwritten by :func:`_boundary`.
    Slabs hold ``step`` indices of axis ``j`` (see :func:`_slab_axis`). One flat ufunc call
    per slab avoids numpy's per-row overhead along the short last axis.
    """
    ff = f.reshape(-1)
    size = ff.size
    lead_strides = [math.prod(f.shape[i + 1 :]) for i in range(f.ndim)]
    pairs = [(ax, o.reshape(-1)) for ax, o in zip(axes, outs, strict=True)]
    subtract = np.subtract
    for lead, s, e in _slabs(f.shape, j, step):
        base = sum(i * st for i, st in zip(lead, lead_strides, strict=False))
        s0, e0 = base + s * lead_strides[j], base + e * lead_strides[j]
        for ax, out in pairs:
            st, d = ax.stride, ax.d
            if ax.uniform:
                # Σ w_o (f[i+o] - f[i-o]); points near row ends are overwritten later
                lo, hi = max(s0, d * st), min(e0, size - d * st)
                if lo >= hi:
                    continue
                o = out[lo:hi]
                if ax.deriv % 2 == 0:
                    # neighbouring values differ exactly, so float32 data keep their precision;
                    # f[i+1] + f[i-1] - 2 f[i] loses it to rounding the sum (1e-3 of a smooth
                    # field's Laplacian)
                    for k, c in enumerate(ax.nested):
                        a, b = (o if k == 0 else tmp[: hi - lo]), tmp2[: hi - lo]
                        subtract(
                            ff[lo + (k + 1) * st : hi + (k + 1) * st],
                            ff[lo + k * st : hi + k * st],
                            out=a,
                        )
                        subtract(
                            ff[lo - k * st : hi - k * st],
                            ff[lo - (k + 1) * st : hi - (k + 1) * st],
                            out=b,
                        )
                        subtract(a, b, out=a)
                        np.multiply(a, c, out=a)
                        if k:
                            np.add(o, a, out=o)
                    continue
                pair = subtract if ax.deriv % 2 else np.add
                for k, w in enumerate(ax.pairs, start=1):
                    t = o if k == 1 else tmp2[: hi - lo]
                    pair(ff[lo + k * st : hi + k * st], ff[lo - k * st : hi - k * st], out=t)
                    if w != 1.0:  # a weight of 1 (a spacing of 1/2) is exact: no pass
                        np.multiply(t, w, out=t)
                    if k > 1:
                        np.add(o, t, out=o)
                if ax.centre:
                    t = tmp2[: hi - lo]
                    np.multiply(ff[lo:hi], ax.centre, out=t)
                    np.add(o, t, out=o)
                continue
            if ax.axis < j:
                # the slab lies in one plane of the axis: scalar weights, direct form
                p = lead[ax.axis]
                if d <= p <= ax.n - 1 - d:
                    w = ax.direct[p]
                    terms = [(w[k + d], ff[s0 + k * st : e0 + k * st]) for k in range(-d, d + 1)]
                    _sum_terms(out[s0:e0], terms, tmp, scratch=False)
                continue
            if ax.stride == 1 and ax.axis > j:
                # the last axis: numpy's per-row loops over short rows cost more than the
                # flat pass, so use flat operations with the coefficients tiled once per block
                lo, hi = max(s0, d), min(e0, size - d)
                if lo >= hi:
                    continue
                pats = ax.row_patterns(e0 - s0)
                diff = tmp[: hi - lo + 2 * d - 1]
                subtract(ff[lo - d + 1 : hi + d], ff[lo - d : hi + d - 1], out=diff)
                terms = [(c[lo - s0 : hi - s0], diff[k : k + hi - lo]) for k, c in enumerate(pats)]
                _sum_terms(out[lo:hi], terms, tmp2, scratch=True)
                continue
            views = _difference_views(ff, out, ax, j, s, e, s0, e0)
            if views is None:
                continue
            o, lower, upper, k_ax, coefs = views
            diff = tmp[: lower.size].reshape(lower.shape)
            subtract(upper, lower, out=diff)
            pre = (slice(None),) * k_ax
            span = o.shape[k_ax]
            terms = [(c, diff[pre + (slice(k, k + span),)]) for k, c in enumerate(coefs)]
            _sum_terms(o, terms, tmp2, scratch=True)


def _interior_odd_uniform(
    f: np.ndarray, outs: Sequence[np.ndarray], axes: list[_Axis], tmp2: np.ndarray, step: int
) -> None:
    """:func:`_interior` when every axis is uniform with an odd derivative (gradients): the
    same operations in the same order, Σ w_o (f[i+o] - f[i-o]) as flat shifts of the raveled
    block, over plain ranges of ``step`` elements (the slab needs no row structure), with the
    Python work per slab cut to the ufunc calls: on 16 MiB blocks ``_interior``'s per-slab
    bookkeeping cost about as much as the in-cache scaling pass."""
    ff = f.reshape(-1)
    size = ff.size
    subtract, multiply, add = np.subtract, np.multiply, np.add
    jobs = []
    for ax, o in zip(axes, outs, strict=True):
        st, d = ax.stride, ax.d
        if d * st < size - d * st:
            weights = [(k * st, w, w != 1.0) for k, w in enumerate(ax.pairs, start=1)]
            jobs.append((o.reshape(-1), d * st, size - d * st, weights, ax.centre))
    for s0 in range(0, size, step):
        e0 = s0 + step
        for out, lo_all, hi_all, weights, centre in jobs:
            lo = s0 if s0 > lo_all else lo_all
            hi = e0 if e0 < hi_all else hi_all
            if lo >= hi:
                continue
            o = out[lo:hi]
            for k, (off, w, scale) in enumerate(weights):
                t = o if k == 0 else tmp2[: hi - lo]
                subtract(ff[lo + off : hi + off], ff[lo - off : hi - off], out=t)
                if scale:  # a weight of 1 (a spacing of 1/2) is exact: no pass
                    multiply(t, w, out=t)
                if k:
                    add(o, t, out=o)
            if centre:
                t = tmp2[: hi - lo]
                multiply(ff[lo:hi], centre, out=t)
                add(o, t, out=o)


def _difference_views(
    ff: np.ndarray, out: np.ndarray, ax: _Axis, j: int, s: int, e: int, s0: int, e0: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, list[np.ndarray]] | None:
    """Views of one slab for the interior points along ``ax`` (an axis at or after the slab's):
    the output, the two operands of the differences f[t+1] - f[t] from ``d`` points before the
    first interior point to ``d`` after the last, the axis of the view that ``ax`` became, and
    the difference-form coefficients shaped to broadcast. None when the slab holds no interior
    point of the axis.
    """
    n, st, d = ax.n, ax.stride, ax.d
    if ax.axis == j:
        lo, hi = max(s, d), min(e, n - d)
        if lo >= hi:
            return None
        base = s0 - s * st  # flat offset of index 0 along the axis

        def rows(i0: int, i1: int, arr: np.ndarray = ff) -> np.ndarray:
            return arr[base + i0 * st : base + i1 * st].reshape(i1 - i0, st)

        coefs = [c[lo:hi, None] for c in ax.cd]
        return rows(lo, hi, out), rows(lo - d, hi + d - 1), rows(lo - d + 1, hi + d), 0, coefs
    if n < 2 * d + 1:
        return None
    # a trailing axis: the slab holds whole cycles of it
    shape = (-1, n) if st == 1 else (-1, n, st)
    f3, o3 = ff[s0:e0].reshape(shape), out[s0:e0].reshape(shape)
    coefs = [c[d : n - d] if st == 1 else c[d : n - d, None] for c in ax.cd]
    return o3[:, d : n - d], f3[:, : n - 1], f3[:, 1:], 1, coefs


# per plane within d of an end: None (no stencil: NaN), or ("second", pos, weights) or
# ("diff", [(w, q, r)]): o = Σ w (f[q] - f[r])
_Recipe = list[tuple[int, Any]]


def _boundary_recipe(ax: _Axis) -> _Recipe:
    """What :func:`_boundary` computes for each plane within ``d`` of index 0 or n-1."""
    n, d = ax.n, ax.d
    recipe: _Recipe = []
    for i in sorted(set(range(min(d, n))) | set(range(max(n - d, 0), n))):
        pos, weights = ax.stencil(i)
        if not pos:
            recipe.append((i, None))
            continue
        if ax.deriv == 2:
            recipe.append((i, ("second", pos, weights)))
            continue
        # differences with the point itself, Σ w_q (f[q] - f[i]) (the weights sum to zero): a
        # constant gives exactly zero; a centred uniform first derivative pairs f[i+o] - f[i-o]
        terms = [(w, q) for w, q in zip(weights, pos, strict=True) if q != i and w != 0]
        # (evenly spaced coordinates too: numpy's uniform formula skips f[i] there as well, so a
        # NaN at i stays out of its own centred derivative on a block's first and last planes)
        paired = ax.uniform and ax.deriv == 1 and pos == list(range(i - d, i + d + 1))
        if paired:
            differences = [(w, q, 2 * i - q) for w, q in terms if q > i]
        else:
            differences = [(w, q, i) for w, q in terms]
        recipe.append((i, ("diff", differences)))
    return recipe


# recipes of uniform axes, which depend on a few scalars only (tiny blocks ask for the same
# ones over and over); bounded, as a block's shape and step are part of the key
_RECIPES: dict[tuple[Any, ...], _Recipe] = {}
_RECIPES_KEEP = 4096


def _cached_recipe(ax: _Axis) -> _Recipe:
    if not ax.uniform or not math.isfinite(ax.h) or ax.h == 0:  # -0.0 == 0.0 as a key
        return _boundary_recipe(ax)
    key: tuple[Any, ...] = (ax.n, ax.d, ax.g, ax.p, ax.q_edge, ax.deriv, ax.from_point, ax.h)
    key += (ax.lo is None, ax.hi is None)
    recipe = _RECIPES.get(key)
    if recipe is None:
        if len(_RECIPES) >= _RECIPES_KEEP:
            _RECIPES.clear()
        recipe = _RECIPES[key] = _boundary_recipe(ax)
    return recipe


def _boundary(f: np.ndarray, out: np.ndarray, ax: _Axis) -> None:
    """The planes within ``d`` of index 0 or n-1: centred with ghost planes, else one-sided."""
    a, n = ax.axis, ax.n
    pre = (slice(None),) * a

    def plane(i: int) -> np.ndarray:
        if i < 0:  # a stencil reaches before index 0 only into a ghost plane
            assert ax.lo is not None
            return ax.lo[pre + (slice(ax.g + i, ax.g + i + 1),)]
        if i >= n:
            assert ax.hi is not None
            return ax.hi[pre + (slice(i - n, i - n + 1),)]
        return f[pre + (slice(i, i + 1),)]

    tmp: np.ndarray | None = None
    for i, how in _cached_recipe(ax):
        o = out[pre + (slice(i, i + 1),)]
        if how is None:
            o[...] = np.nan
            continue
        if tmp is None and (how[0] == "second" or len(how[1]) > 1):
            tmp = np.empty(o.shape, o.dtype)
        if how[0] == "second":
            assert tmp is not None
            _second_differences(o, tmp, plane, how[1], how[2])
            continue
        for k, (w, q, r) in enumerate(how[1]):
            t = o if k == 0 else tmp
            assert t is not None
            np.subtract(plane(q), plane(r), out=t)
            if w != 1.0:  # exact: as in :func:`_interior`
                np.multiply(t, w, out=t)
            if k:
                np.add(o, t, out=o)


# Blocks of at most this many elements take :func:`_padded` where they can: a pass over the
# whole axis costs a copy of the block, and saves the per-plane work of the edge planes, which
# dominates on tiny blocks (10^5 chunks of 4^3).
PADDED_MAX = 1 << 12


@cache
def _coef_dtype(dtype: np.dtype) -> np.dtype:
    return np.result_type(np.finfo(dtype).dtype, np.float32)


# the centred pair weights of uniform axes by (d, deriv, h), which tiny blocks ask for over and
# over; bounded, as the step is part of the key
_PAIRS: dict[tuple[int, int, float], list[float]] = {}
_PAIRS_KEEP = 4096


def _centred_pairs(d: int, deriv: int, h: float) -> list[float]:
    """The weights :class:`_Axis` gives a uniform axis of step ``h``: w_o, o = 1..d."""
    key = (d, deriv, h)
    pairs = _PAIRS.get(key) if math.isfinite(h) and h != 0 else None  # -0.0 == 0.0 as a key
    if pairs is None:
        central, scale = uniform_weights(-d, 2 * d + 1, deriv), h**deriv
        pairs = [central[d + o] / scale for o in range(1, d + 1)]
        if math.isfinite(h) and h != 0:
            if len(_PAIRS) >= _PAIRS_KEEP:
                _PAIRS.clear()
            _PAIRS[key] = pairs
    return pairs


def _padded(
    f: np.ndarray,
    out: np.ndarray,
    a: int,
    step: Any,
    ghosts: tuple[np.ndarray | None, np.ndarray | None],
    accuracy: int,
    g: int,
    deriv: int,
) -> bool:
    """The centred odd-derivative stencil of a uniform axis ``a`` over every plane of ``f`` at
    once, from ``f`` padded with ``d`` ghost planes per side, when both sides have them; False
    (and nothing done) otherwise. The same operations, in the same order, as :func:`_interior`
    and :func:`_boundary` on those planes: Σ_k w_k (f[i+k] - f[i-k]), k = 1..d. Nothing of
    :class:`_Axis` is prepared: on tiny blocks that cost more than the arithmetic."""
    lo, hi = ghosts
    if lo is None or hi is None or not deriv % 2 or isinstance(step, (np.ndarray, EvenCoords)):
        return False
    d, n = half_width(accuracy, True, deriv), f.shape[a]
    if g < d or n < 1:
        return False
    pairs = _centred_pairs(d, deriv, float(step))
    pre = (slice(None),) * a
    if g != d:
        lo, hi = lo[pre + (slice(g - d, g),)], hi[pre + (slice(0, d),)]
    ext = np.concatenate((lo, f, hi), a)
    tmp: np.ndarray | None = None
    for k, w in enumerate(pairs, start=1):
        if k == 1:
            t = out
        else:
            tmp = np.empty_like(out) if tmp is None else tmp
            t = tmp
        np.subtract(
            ext[pre + (slice(d + k, d + k + n),)], ext[pre + (slice(d - k, d - k + n),)], out=t
        )
        if w != 1.0:  # exact: as in :func:`_interior`
            np.multiply(t, w, out=t)
        if k > 1:
            np.add(out, t, out=out)
    return True


def gradient_block(
    block: np.ndarray,
    axes: Sequence[int],
    ghosts: Sequence[tuple[Any, Any]],
    steps: Sequence[Any],
    edge_order: int,
    dtype: Any,
    out: Sequence[np.ndarray] | None = None,
    accuracy: int = 2,
    nan_policy: str = "propagate",
    deriv: int = 1,
) -> tuple[np.ndarray, ...]:
    """Every requested partial derivative of ``block`` (see :mod:`daskgrad.core.stencil`).

    Parameters
    ----------
    block : ndarray
    axes : axes of ``block`` to differentiate.
    ghosts : per axis ``(lo, hi)``: the neighbouring planes on each side, ``depth(accuracy,
        nan_policy)`` of them along that axis, or None where the block side is a true edge.
    steps : per axis, a float (uniform spacing) or the block's coordinates with ``depth``
        ghost values per side, as made by :func:`coord_ext`.
    edge_order : 1 or 2, the order of the one-sided formulas at true edges (accuracy 2).
    dtype : dtype of the outputs.
    out : optional preallocated outputs, one per axis.
    accuracy : 2, 4, 6 or 8.
    nan_policy : "propagate" or "omit".
    deriv : 1 (gradients) or 2 (the second derivatives of a Laplacian).

    Examples
    --------
    >>> f = np.array([1.0, 2.0, 4.0, 8.0])
    >>> gradient_block(f, [0], [(None, None)], [1.0], 1, f.dtype)
    (array([1. , 1.5, 3. , 4. ]),)
    >>> gradient_block(f[:2], [0], [(None, f[2:3])], [1.0], 1, f.dtype)
    (array([1. , 1.5]),)
    >>> gradient_block(np.arange(6.0) ** 3, [0], [(None, None)], [1.0], 1, float, accuracy=4)[0]
    array([ 0.,  3., 12., 27., 48., 75.])
    """
    dtype = np.dtype(dtype)
    if (
        len(axes) == 1
        and out is None
        and nan_policy == "propagate"
        and block.dtype == dtype
        and 0 < block.size <= PADDED_MAX
        and block.flags.c_contiguous
    ):
        # one axis of a tiny block (a task per partial on tiny chunks): what the general path
        # below does for it, without its per-call preparations, which cost more than the
        # arithmetic
        o = np.empty(block.shape, dtype)
        if _padded(
            block,
            o,
            axes[0],
            steps[0],
            ghosts[0],
            accuracy,
            depth(accuracy, nan_policy, deriv),
            deriv,
        ):
            return (o,)
    if block.dtype != dtype:
        block = block.astype(dtype)
        ghosts = [
            (None if lo is None else lo.astype(dtype), None if hi is None else hi.astype(dtype))
            for lo, hi in ghosts
        ]
    block = np.ascontiguousarray(block)
    if out is None:
        out = [np.empty(block.shape, dtype) for _ in axes]
    work = [o if o.flags.c_contiguous else np.empty(block.shape, dtype) for o in out]
    g = depth(accuracy, nan_policy, deriv)
    todo = list(zip(axes, steps, ghosts, work, strict=True))
    if block.size and block.size <= PADDED_MAX and nan_policy == "propagate":
        # small blocks: axes with ghost planes on both sides in one pass each (see _padded)
        todo = [t for t in todo if not _padded(block, t[3], t[0], t[1], t[2], accuracy, g, deriv)]
    coef_dtype = _coef_dtype(dtype)
    prepared = [
        _Axis(a, block.shape, s, gh, accuracy, edge_order, g, coef_dtype, deriv)
        for a, s, gh, _ in todo
    ]
    work_rest = [t[3] for t in todo]
    if block.size and prepared and all(ax.uniform and ax.deriv % 2 for ax in prepared):
        # gradients of uniform axes only: flat shifts of the raveled block, no per-row structure
        step = max(1, SLAB_BYTES // block.itemsize)
        d = max(ax.d for ax in prepared)
        work_space = d > 1 or any(ax.centre for ax in prepared)  # (odd: no centre weight)
        tmp2 = np.empty(min(block.size, step) if work_space else 0, dtype)
        # the flat passes compute garbage at row ends (overwritten below): no warnings there
        with np.errstate(invalid="ignore", over="ignore"):
            _interior_odd_uniform(block, work_rest, prepared, tmp2, step)
    elif block.size and prepared:
        j, step = _slab_axis(block.shape, block.itemsize, SLAB_BYTES)
        row = math.prod(block.shape[j + 1 :])
        # a slab plus 2d-1 indices of its axis: the differences along that axis
        d = max((ax.d for ax in prepared), default=1)
        tmp = _scratch_buffer(min(block.size, (step + 2 * d) * row + 2 * d), dtype)
        tmp2 = np.empty(min(block.size, step * row) if d > 1 or deriv > 1 else 0, dtype)
        # the flat passes compute garbage at row ends (overwritten below): no warnings there
        with np.errstate(invalid="ignore", over="ignore"):
            _interior(block, work_rest, prepared, tmp, tmp2, j, step)
    if block.size and prepared:
        for ax, o in zip(prepared, work_rest, strict=True):
            _boundary(block, o, ax)
        if nan_policy == "omit":
            fill_holes(block, work_rest, prepared)
    for o, w in zip(out, work, strict=True):
        if o is not w:
            o[...] = w
    return tuple(out)


def _second_differences(
    o: np.ndarray,
    tmp: np.ndarray,
    plane: Callable[[int], np.ndarray],
    pos: list[int],
    weights: list[float],
) -> None:
    """o = Σ w_q f[q] over consecutive ``pos`` as Σ_j W2_j (f[j+2] - 2 f[j+1] + f[j]) - W2_b
    (f[b+1] - f[b]), b = pos[-2], W2 the twice-accumulated weights (summation by parts; the
    last term vanishes for weights that annihilate linear functions of the index). Each term
    is as small as the result, so float32 data keep their precision, where the one-sided
    weights' large alternating terms w_q (f[q] - f[i]) lost it to cancellation."""
    w2 = np.cumsum(np.cumsum(weights)[:-1])
    last = len(w2) - 1
    for j, e in enumerate(w2):
        q, t = pos[j], (o if j == 0 else tmp)
        np.subtract(plane(q + 1), plane(q), out=t)
        if j < last:  # a second difference
            np.subtract(np.subtract(plane(q + 2), plane(q + 1)), t, out=t)
        np.multiply(t, e if j < last else -e, out=t)  # the last: the leftover first difference
        if j:
            np.add(o, t, out=o)


# --- a plan's blocks -----------------------------------------------------------------------------
# The kernel's arguments from a plan (core.plan's Plan and AxisPlan: the fields below are what
# the adapter reads of them), for the NumPy path on threads and the dask graph alike.


class BlockAxis(Protocol):
    """What the block adapter reads of one axis's plan (:class:`daskgrad.core.plan.AxisPlan`)."""

    @property
    def axis(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def step(self) -> Any: ...  # a float (uniform), else the coordinates
    @property
    def period(self) -> float | None: ...
    @property
    def uniform(self) -> bool: ...
    @property
    def periodic(self) -> bool: ...


class BlockPlan(Protocol):
    """What the block adapter reads of a plan (:class:`daskgrad.core.plan.Plan`)."""

    @property
    def axes(self) -> Sequence[BlockAxis]: ...
    @property
    def edge_order(self) -> int: ...
    @property
    def dtype(self) -> np.dtype: ...
    @property
    def accuracy(self) -> int: ...
    @property
    def nan_policy(self) -> str: ...
    @property
    def deriv(self) -> int: ...


def take(arr: np.ndarray, axis: int, i: int, stop: int | None = None) -> np.ndarray:
    """Planes ``i`` to ``stop`` (default: plane ``i`` alone) of ``arr`` along ``axis``."""
    stop = i + 1 if stop is None else stop
    return arr[(slice(None),) * axis + (slice(i, stop or None),)]


def wrapped(arr: np.ndarray, axis: int, depth: int, lo: bool) -> np.ndarray:
    """The ``depth`` planes before index 0 (``lo``) or after the last index of a periodic
    ``axis``: the last or first planes, repeated when the axis is shorter than ``depth``."""
    n = arr.shape[axis]
    if n >= depth:
        return take(arr, axis, -depth, 0) if lo else take(arr, axis, 0, depth)
    q = np.arange(-depth, 0) if lo else np.arange(depth)
    planes: np.ndarray = np.take(arr, q % n, axis=axis)
    return planes


def block_step(ax: BlockAxis, start: int, stop: int, depth: int = 1) -> Any:
    """The kernel's step for the block ``[start, stop)`` of an axis with NumPy or no coordinates
    (a float, or the coordinates with ``depth`` ghost values per side)."""
    if ax.uniform:
        return ax.step
    x, n = ax.step, ax.size
    wrap_lo, wrap_hi = ax.periodic and start == 0, ax.periodic and stop == n
    prev = x[:start] if start > 0 else (x if wrap_lo else None)
    nxt = x[stop:] if stop < n else (x if wrap_hi else None)
    return coord_ext(prev, x[start:stop], nxt, ax.period, wrap_lo, wrap_hi, depth)


def gradient_blocks(
    blocks: Sequence[np.ndarray],
    ghosts: Sequence[Sequence[tuple[np.ndarray | None, np.ndarray | None]]],
    steps: Sequence[Any],
    aux: Sequence[Any],
    *,
    plan: BlockPlan,
    out: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """The block function of :func:`daskgrad.gradient`: every partial derivative of one block."""
    return gradient_block(
        blocks[0],
        [ax.axis for ax in plan.axes],
        ghosts[0],
        steps,
        plan.edge_order,
        plan.dtype,
        out=out,
        accuracy=plan.accuracy,
        nan_policy=plan.nan_policy,
        deriv=plan.deriv,
    )


# --- nan_policy="omit" --------------------------------------------------------------------------
# Re-differentiate the points whose stencil touched a NaN, inside their run.
#
# The kernel first computes every point with the stencils of a NaN-free array; only points with
# a NaN within ``p`` along the axis can have a different stencil (see :mod:`daskgrad.core.stencil`).
# Those — a band along coastlines — are recomputed here, grouped by stencil window so that each
# group is a handful of vectorized gathers.


def fill_holes(f: np.ndarray, outs: Sequence[np.ndarray], axes: Sequence[_Axis]) -> None:
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


def _refill(f: np.ndarray, ax: _Axis, flat: np.ndarray, dtype: np.dtype) -> np.ndarray:
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


def _gather(f: np.ndarray, ax: _Axis, flat: np.ndarray, i: np.ndarray, k: int) -> np.ndarray:
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
