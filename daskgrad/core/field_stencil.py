"""Derivatives along an axis whose coordinate is a field (it varies by column), per point.

A pressure field ``p(k, y, x)`` on model or uneven levels spaces every column differently.
The derivative along the levels at a point takes the stencil of :mod:`daskgrad.core.stencil`
(the same window rule as for a 1-D coordinate: accuracy 2 with ``edge_order`` 1 or 2 as
``numpy.gradient`` on a coordinate, higher accuracies the ``p + 1`` points of its run nearest
the point) with the weights of that column's own coordinates: the first-derivative weights of
the Lagrange polynomial through the stencil's nodes, in closed form, computed for a whole plane
(or a slab of planes sharing a window) at once. Accuracy 2 is then MetPy's ``first_derivative``
with ``x=`` a field (numpy.gradient's non-uniform formulas per column).

:class:`AlongField` asks :func:`daskgrad.core.derivatives.derive` for its derivatives along
one of its dims taken that way, from the chunk and the ghost planes of the coordinate field
(one of its inputs): one task per chunk, the same inputs and ghost planes. The field is
checked strictly monotonic along the axis in every column as its chunks are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stencil import window


def lagrange_weights(nodes: Sequence[np.ndarray], k: int, at_k: bool = True) -> list[np.ndarray]:
    """Weights of the first derivative at node ``k`` of the Lagrange polynomial through
    ``nodes`` (arrays of one shape: one set of nodes per point), in closed form:
    ``w_j = Π_{i≠j,k} (x_k − x_i) / Π_{i≠j} (x_j − x_i)`` for ``j ≠ k`` and
    ``w_k = Σ_{i≠k} 1 / (x_k − x_i)``.

    Parameters
    ----------
    nodes : the ``m`` node coordinates, each an array (or number) of the points' shape.
    k : the node the derivative is taken at.
    at_k : whether to compute ``w_k`` (else it is an array of zeros: the weights sum to zero,
        and ``Σ_{j≠k} w_j (f_j − f_k)`` does without it).

    Returns
    -------
    list of ``m`` arrays, the weights (float64).

    Examples
    --------
    >>> x = [np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([3.0, 3.0])]
    >>> [w.round(6).tolist() for w in lagrange_weights(x, 0)]
    [[-1.333333, -0.833333], [1.5, 1.5], [-0.166667, -0.666667]]
    """
    x = [np.asarray(v, dtype=np.float64) for v in nodes]
    m, x0 = len(x), x[k]
    gaps = {i: x0 - x[i] for i in range(m) if i != k}  # x_k − x_i
    out: list[np.ndarray] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(m):
            if j == k:
                w = np.zeros(x0.shape)
                if at_k:
                    for i in gaps:
                        w += 1.0 / gaps[i]
                out.append(w)
                continue
            num: np.ndarray | None = None
            den: np.ndarray | None = None
            for i in range(m):
                if i != j:
                    step = x[j] - x[i]
                    den = step if den is None else den * step
                    if i != k:
                        num = gaps[i] if num is None else num * gaps[i]
            assert den is not None
            out.append(np.asarray((1.0 if num is None else num) / den))
    return out


# one slab of planes sharing a window: planes i0..i1 of the block, its first node at plane
# i + start, and the weights of its nodes (None at the point itself)
_Slab = tuple[int, int, int, list[np.ndarray | None]]


class _Extended:
    """A block and its ghost planes along axis 0 as one axis of extended indices, without a
    copy: a range of planes is a view when it lies in one of the three parts."""

    def __init__(self, block: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None) -> None:
        self.parts = [p for p in (lo, block, hi) if p is not None]
        self.bounds = np.cumsum([0] + [p.shape[0] for p in self.parts]).tolist()

    def planes(self, e0: int, e1: int) -> np.ndarray:
        for part, b0, b1 in zip(self.parts, self.bounds, self.bounds[1:], strict=False):
            if b0 <= e0 and e1 <= b1:
                return part[e0 - b0 : e1 - b0]
        return np.concatenate([self.planes(e, e + 1) for e in range(e0, e1)])


def _slabs(n: int, g_lo: int, g_hi: int, accuracy: int, q_lo: int, q_hi: int) -> list[Any]:
    """(i0, i1, start, m): the planes sharing a window, split so that each slab's nodes lie in
    the block, or the slab is one plane."""
    windows = [window(i + g_lo, n - 1 - i + g_hi, accuracy, False, q_lo, q_hi) for i in range(n)]
    out = []
    i = 0
    while i < n:
        start, m = windows[i]
        inside = 0 <= i + start and i + start + m <= n
        j = i + 1
        if inside:
            while j < n and windows[j] == windows[i] and j + start + m <= n:
                j += 1
        out.append((i, j, start, m))
        i = j
    return out


def field_stencils(
    x: np.ndarray,
    x_ghosts: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    *,
    accuracy: int = 2,
    edge_order: int = 1,
    dtype: Any = np.float64,
) -> list[_Slab]:
    """The stencils along axis 0 of a block whose coordinate at every point is ``x``: per slab
    of planes sharing a window, ``(i0, i1, start, weights)`` (see :func:`field_derivative`).

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]])
    >>> [(i0, i1, start, len(w)) for i0, i1, start, w in field_stencils(x)]
    [(0, 1, 0, 2), (1, 2, -1, 3), (2, 3, -1, 2)]
    """
    lo, hi = x_ghosts
    g_lo = 0 if lo is None else lo.shape[0]
    g_hi = 0 if hi is None else hi.shape[0]
    q_edge = edge_order if accuracy == 2 else accuracy
    q_lo = q_edge if lo is None else accuracy
    q_hi = q_edge if hi is None else accuracy
    ext = _Extended(x, lo, hi)
    out: list[_Slab] = []
    for i0, i1, start, m in _slabs(x.shape[0], g_lo, g_hi, accuracy, q_lo, q_hi):
        if m <= 1:
            out.append((i0, i1, start, []))
            continue
        e0, e1 = i0 + g_lo + start, i1 + g_lo + start
        nodes = [ext.planes(e0 + j, e1 + j) for j in range(m)]
        weights = lagrange_weights(nodes, -start, at_k=False)
        out.append((i0, i1, start, [None if j == -start else w.astype(dtype, copy=False)
                                    for j, w in enumerate(weights)]))  # fmt: skip
    return out


def apply_stencils(
    f: np.ndarray,
    stencils: list[_Slab],
    ghosts: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    dtype: Any = None,
) -> np.ndarray:
    """Σ_{j≠k} w_j (f_j − f_k) along axis 0 with :func:`field_stencils`' weights: the weights
    sum to zero, and the differences keep float32 data's precision.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]])
    >>> apply_stencils(x**2, field_stencils(x, edge_order=2))
    array([[0., 0.],
           [2., 4.],
           [6., 6.]])
    """
    out_dtype = np.dtype(dtype) if dtype is not None else np.result_type(f.dtype, np.float16)
    lo, hi = ghosts
    g_lo = 0 if lo is None else lo.shape[0]
    ext = _Extended(f, lo, hi)
    out = np.empty(f.shape, out_dtype)
    tmp: np.ndarray | None = None
    for i0, i1, start, weights in stencils:
        o = out[i0:i1]
        if not weights:
            o[...] = np.nan
            continue
        k = -start
        e0 = i0 + g_lo + start
        centre = ext.planes(e0 + k, e0 + k + i1 - i0)
        first = True
        for j, w in enumerate(weights):
            if w is None:
                continue
            if first:
                t = o
            else:
                if tmp is None or tmp.shape[0] < o.shape[0]:
                    tmp = np.empty(o.shape, out_dtype)
                t = tmp[: o.shape[0]]
            np.subtract(ext.planes(e0 + j, e0 + j + i1 - i0), centre, out=t)
            np.multiply(t, w, out=t)
            if not first:
                np.add(o, t, out=o)
            first = False
    return out


def field_derivative(
    f: np.ndarray,
    x: np.ndarray,
    axis: int,
    ghosts: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    x_ghosts: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    *,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    dtype: Any = None,
) -> np.ndarray:
    """∂f/∂x along ``axis`` at every point of ``f``, ``x`` the coordinate of every point.

    Parameters
    ----------
    f, x : arrays of one shape (a block), the data and its coordinate along ``axis``.
    axis : the axis.
    ghosts, x_ghosts : the planes of ``f`` and ``x`` before and after the block along
        ``axis`` (None at a true edge of the array), as many on each side as the stencils
        reach (:func:`daskgrad.core.stencil.depth`).
    accuracy : 2, 4, 6 or 8.
    edge_order : 1 or 2, the order of the one-sided stencils at a true edge (accuracy 2).
    nan_policy : "propagate", or "omit": the stencils of a point stay in its run of non-NaN
        values (of ``f`` and ``x``), as :mod:`daskgrad.core.stencil` says.
    dtype : of the result (default ``f``'s float dtype), and of the weights.

    Returns
    -------
    ndarray of ``f``'s shape.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]])  # two columns, their own levels
    >>> field_derivative(x**2, x, 0, edge_order=2)  # exact on quadratics
    array([[0., 0.],
           [2., 4.],
           [6., 6.]])
    >>> field_derivative(x**2, x, 0).round(12).tolist()  # edge_order 1: first order at ends
    [[1.0, 2.0], [2.0, 4.0], [4.0, 5.0]]
    """
    out_dtype = np.dtype(dtype) if dtype is not None else np.result_type(f.dtype, np.float16)

    def first(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.moveaxis(a, axis, 0)

    fg = (first(ghosts[0]), first(ghosts[1]))
    xg = (first(x_ghosts[0]), first(x_ghosts[1]))
    f0, x0 = np.moveaxis(f, axis, 0), np.moveaxis(x, axis, 0)
    if nan_policy == "omit":
        out = np.empty(f0.shape, out_dtype)
        big = np.concatenate([p for p in (fg[0], f0, fg[1]) if p is not None])
        coord = np.concatenate([p for p in (xg[0], x0, xg[1]) if p is not None])
        q_edge = edge_order if accuracy == 2 else accuracy
        q_lo = q_edge if fg[0] is None else accuracy
        q_hi = q_edge if fg[1] is None else accuracy
        g_lo = 0 if fg[0] is None else fg[0].shape[0]
        if out.size:
            _omit(big, coord, out, g_lo, accuracy, q_lo, q_hi, fg[0] is None, fg[1] is None)
        return np.moveaxis(out, 0, axis)
    stencils = field_stencils(x0, xg, accuracy=accuracy, edge_order=edge_order, dtype=out_dtype)
    return np.moveaxis(apply_stencils(f0, stencils, fg, out_dtype), 0, axis)


def _apply(nodes: list[np.ndarray], values: list[np.ndarray], k: int) -> np.ndarray:
    """Σ_j w_j (f_j − f_k) with the Lagrange weights of ``nodes`` at node ``k``."""
    weights = lagrange_weights(nodes, k, at_k=False)
    total: np.ndarray | None = None
    for j, w in enumerate(weights):
        if j == k:
            continue
        term = w * np.subtract(values[j], values[k], dtype=np.float64)
        total = term if total is None else total + term
    assert total is not None
    return total


def _omit(
    big: np.ndarray,
    coord: np.ndarray,
    out: np.ndarray,
    g_lo: int,
    accuracy: int,
    q_lo: int,
    q_hi: int,
    true_lo: bool,
    true_hi: bool,
) -> None:
    """nan_policy="omit" along axis 0 of the extended ``big``/``coord``: each point's window in
    its run of valid values, points grouped by window."""
    n_ext, n = big.shape[0], out.shape[0]
    valid = ~(np.isnan(big) | np.isnan(coord))
    left = np.zeros(big.shape, np.int64)  # valid points of the run left of each point
    right = np.zeros(big.shape, np.int64)
    for e in range(1, n_ext):
        left[e] = np.where(valid[e - 1], left[e - 1] + 1, 0)
    for e in range(n_ext - 2, -1, -1):
        right[e] = np.where(valid[e + 1], right[e + 1] + 1, 0)
    sl = slice(g_lo, g_lo + n)
    l, r, ok = left[sl], right[sl], valid[sl]  # noqa: E741
    e_idx = np.arange(g_lo, g_lo + n).reshape((n,) + (1,) * (big.ndim - 1))
    # the run reaches the array's true end: that end's order; a hole or a ghost's end: p
    qa = np.where(true_lo & (l == e_idx), q_lo, accuracy)
    qb = np.where(true_hi & (r == n_ext - 1 - e_idx), q_hi, accuracy)
    start, m = window(l, r, accuracy, False, qa, qb)
    start, m = np.broadcast_to(start, l.shape), np.broadcast_to(m, l.shape)
    out[...] = np.nan
    usable = ok & (m > 1)
    pairs = np.unique(np.stack([start[usable], m[usable]]), axis=1).T.tolist()
    flat_big = big.reshape(n_ext, -1)
    flat_coord = coord.reshape(n_ext, -1)
    flat_out = out.reshape(n, -1)
    for s, mm in pairs:
        where = np.nonzero((usable & (start == s) & (m == mm)).reshape(n, -1))
        rows, cols = where[0] + g_lo, where[1]
        nodes = [flat_coord[rows + s + j, cols] for j in range(int(mm))]
        values = [flat_big[rows + s + j, cols] for j in range(int(mm))]
        flat_out[where] = _apply(nodes, values, -int(s))


@dataclass(frozen=True)
class AlongField:
    """The first derivatives along ``dims[position]`` of a :func:`derive` call taken per unit
    of the coordinate field ``inputs[input]`` (per point, :func:`field_derivative`), not of
    that dim's spacing (give it 1.0). ``name`` (and ``kind``, the quantity) word the error
    for a field that is not strictly monotonic along the axis in some column; ``check``, if
    given, is called first on each chunk of the field and its ghost planes (a pressure's
    positivity).

    Examples
    --------
    >>> from daskgrad.core.derivatives import derive
    >>> p = np.array([[1000.0, 990.0], [850.0, 830.0], [700.0, 690.0]])
    >>> def dsdp(d, blocks, factors):
    ...     return (d[0, 0, 1],)
    >>> along = AlongField(1, 0, "pressure")
    >>> (out,) = derive("d", [p**2, p], [(0, 0, 1)], dsdp, 1, (0,), along=along, edge_order=2)
    >>> out.round(9).tolist()  # ∂(p²)/∂p = 2p, per column
    [[2000.0, 1980.0], [1700.0, 1660.0], [1400.0, 1380.0]]
    """

    input: int
    position: int
    name: str = "coordinate"
    kind: str = ""
    check: Callable[[np.ndarray], Any] | None = None

    def stencils(
        self,
        x: np.ndarray,
        x_ghosts: Sequence[np.ndarray | None],
        axis: int,
        *,
        accuracy: int,
        edge_order: int,
        nan_policy: str,
        dtype: Any,
    ) -> list[_Slab] | None:
        """The chunk ``x`` of the field checked (:func:`checked_monotonic`), and the weights
        of its columns, once for every input (None with nan_policy "omit": each input's
        runs of valid values choose its stencils)."""
        if self.check is not None:  # the ghost planes too: their check comes before ours
            for part in (x_ghosts[0], x, x_ghosts[1]):
                if part is not None:
                    self.check(part)
        x0 = np.moveaxis(x, axis, 0)
        xg = (_first(x_ghosts[0], axis), _first(x_ghosts[1], axis))
        checked_monotonic(x0, xg, self.name, axis, self.kind)
        if nan_policy == "omit":
            return None
        return field_stencils(x0, xg, accuracy=accuracy, edge_order=edge_order, dtype=dtype)

    def derivative(
        self,
        f: np.ndarray,
        ghosts: Sequence[np.ndarray | None],
        x: np.ndarray,
        x_ghosts: Sequence[np.ndarray | None],
        axis: int,
        stencils: list[_Slab] | None,
        *,
        accuracy: int,
        edge_order: int,
        nan_policy: str,
        dtype: Any,
    ) -> np.ndarray:
        """∂f/∂x along ``axis`` of the chunk ``f`` with :meth:`stencils`' weights."""
        if stencils is not None:
            fg = (_first(ghosts[0], axis), _first(ghosts[1], axis))
            along = apply_stencils(np.moveaxis(f, axis, 0), stencils, fg, dtype)
            return np.moveaxis(along, 0, axis)
        return field_derivative(
            f, x, axis, (ghosts[0], ghosts[1]), (x_ghosts[0], x_ghosts[1]),
            accuracy=accuracy, edge_order=edge_order, nan_policy=nan_policy, dtype=dtype,
        )  # fmt: skip


def _first(a: np.ndarray | None, axis: int) -> np.ndarray | None:
    return None if a is None else np.moveaxis(a, axis, 0)


def checked_monotonic(
    x: np.ndarray,
    ghosts: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    name: str = "coordinate",
    axis: int = 0,
    kind: str = "",
) -> np.ndarray:
    """``x`` (a chunk of a coordinate field, its axis first, and the ghost planes around
    it), refused with a one-line ValueError naming ``name`` unless strictly monotonic along
    axis 0 in every column (NaN aside: a NaN coordinate gives NaN where it is used). Chunks
    read with at least one ghost plane per side see every pair of consecutive steps.

    Examples
    --------
    >>> x = np.array([[1000.0, 1000.0], [850.0, 850.0], [850.0, 700.0]])
    >>> checked_monotonic(x, name="pressure", kind="pv")
    Traceback (most recent call last):
    ...
    ValueError: pv: pressure repeats the value 850.0 along vertical_dim 0 in some column
    """
    parts = [p for p in (ghosts[0], x, ghosts[1]) if p is not None]
    ext = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if ext.shape[0] < 2 or ext.dtype.kind not in "fiu":
        return x
    with np.errstate(invalid="ignore"):
        dx = np.diff(ext, axis=0)
        zero = dx == 0
        rise, fall = np.any(dx > 0, axis=0), np.any(dx < 0, axis=0)
    prefix = f"{kind}: " if kind else ""
    where = f"along vertical_dim {axis} in some column"
    if zero.any():
        value = float(ext[tuple(np.argwhere(zero)[0])])
        raise ValueError(f"{prefix}{name} repeats the value {value!r} {where}")
    turns = rise & fall
    if turns.any():
        col = tuple(np.argwhere(turns)[0])
        column = ext[(slice(None),) + col]
        steps = np.sign(np.diff(column))
        known = steps[~np.isnan(steps)]
        i = int(np.flatnonzero(steps == -known[0])[0])
        way = "falls" if known[0] < 0 else "rises"
        raise ValueError(
            f"{prefix}{name} is not monotonic {where}: it {way}, then goes from "
            f"{float(column[i])!r} to {float(column[i + 1])!r}; it must be strictly monotonic "
            "in every column"
        )
    return x
