"""Derivatives along an axis whose coordinate is a field (it varies by column), per point.

A pressure field ``p(k, y, x)`` on model or uneven levels spaces every column differently.
The derivative along the levels at a point takes the stencil of :mod:`daskgrad.core.stencil`
(the same window rule as for a 1-D coordinate: accuracy 2 with ``edge_order`` 1 or 2 as
``numpy.gradient`` on a coordinate, higher accuracies the ``p + 1`` points of its run nearest
the point) with the weights of that column's own coordinates: the first-derivative weights of
the Lagrange polynomial through the stencil's nodes, in closed form, computed for a whole plane
(or a slab of planes sharing a window) at once. Accuracy 2 is then MetPy's ``first_derivative``
with ``x=`` a field (numpy.gradient's non-uniform formulas per column).

:func:`derive_along_field` is :func:`daskgrad.core.derivatives.derive` whose derivatives along
one of its dims are taken that way, from the chunk and the ghost planes of the coordinate
field (one of its inputs): one task per chunk, the same inputs and ghost planes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .derivatives import Derivatives, Formula, Request
from .kernel import gradient_block
from .metric import MetricModel
from .plan import Plan, is_dask_collection, make_plan
from .stencil import window


def lagrange_weights(nodes: Sequence[np.ndarray], k: int) -> list[np.ndarray]:
    """Weights of the first derivative at node ``k`` of the Lagrange polynomial through
    ``nodes`` (arrays of one shape: one set of nodes per point), in closed form:
    ``w_j = Π_{i≠j,k} (x_k − x_i) / Π_{i≠j} (x_j − x_i)`` for ``j ≠ k`` and
    ``w_k = Σ_{i≠k} 1 / (x_k − x_i)``.

    Parameters
    ----------
    nodes : the ``m`` node coordinates, each an array (or number) of the points' shape.
    k : the node the derivative is taken at.

    Returns
    -------
    list of ``m`` arrays, the weights.

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
                w = sum((1.0 / gaps[i] for i in gaps), np.zeros(x0.shape))
            else:
                num = np.ones(x0.shape)
                den = np.ones(x0.shape)
                for i in range(m):
                    if i != j:
                        den = den * (x[j] - x[i])
                        if i != k:
                            num = num * gaps[i]
                w = num / den
            out.append(np.asarray(w))
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
    dtype : of the result (default ``f``'s float dtype); the weights are float64.

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
    lo, hi = ghosts
    parts_f = [p for p in (lo, f, hi) if p is not None]
    parts_x = [p for p in (x_ghosts[0], x, x_ghosts[1]) if p is not None]
    big = np.moveaxis(np.concatenate(parts_f, axis) if len(parts_f) > 1 else f, axis, 0)
    coord = np.moveaxis(np.concatenate(parts_x, axis) if len(parts_x) > 1 else x, axis, 0)
    g_lo = 0 if lo is None else lo.shape[axis]
    g_hi = 0 if hi is None else hi.shape[axis]
    n = f.shape[axis]
    q_edge = edge_order if accuracy == 2 else accuracy
    q_lo = q_edge if lo is None else accuracy
    q_hi = q_edge if hi is None else accuracy
    out = np.empty((n, *big.shape[1:]), out_dtype)
    if n == 0:
        return np.moveaxis(out, 0, axis)
    if nan_policy == "omit":
        _omit(big, coord, out, g_lo, accuracy, q_lo, q_hi, lo is None, hi is None)
        return np.moveaxis(out, 0, axis)
    # planes sharing a window: the interior slab, then the planes near either end
    windows = [window(i + g_lo, n - 1 - i + g_hi, accuracy, False, q_lo, q_hi) for i in range(n)]
    i0 = 0
    while i0 < n:
        i1 = i0 + 1
        while i1 < n and windows[i1] == windows[i0]:
            i1 += 1
        start, m = windows[i0]
        e0, e1 = i0 + g_lo, i1 + g_lo
        if m <= 1:
            out[i0:i1] = np.nan
        else:
            nodes = [coord[e0 + start + j : e1 + start + j] for j in range(m)]
            values = [big[e0 + start + j : e1 + start + j] for j in range(m)]
            out[i0:i1] = _apply(nodes, values, -start)
        i0 = i1
    return np.moveaxis(out, 0, axis)


def _apply(nodes: list[np.ndarray], values: list[np.ndarray], k: int) -> np.ndarray:
    """Σ_j w_j (f_j − f_k) with the Lagrange weights of ``nodes`` at node ``k``: the weights sum
    to zero, and differences keep float32 data's precision."""
    weights = lagrange_weights(nodes, k)
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


def derive_along_field(
    name: str,
    inputs: Sequence[Any],
    requests: Sequence[Request],
    formula: Formula,
    nout: int,
    dims: Sequence[int],
    *,
    field: int,
    along: int,
    spacing: Any = None,
    accuracy: Any = 2,
    edge_order: Any = 1,
    nan_policy: Any = "propagate",
    periodic: Any = None,
    metric: MetricModel | None = None,
    lines: Sequence[tuple[int, Any]] = (),
) -> tuple[Any, ...]:
    """:func:`daskgrad.core.derivatives.derive`, except that the first derivatives requested
    along ``dims[along]`` are per unit of the coordinate field ``inputs[field]`` (per point,
    :func:`field_derivative`), not of that dim's spacing (give it 1.0).

    Parameters
    ----------
    name, inputs, requests, formula, nout, dims : as for ``derive``.
    field : the index of the coordinate field among ``inputs``.
    along : the position in ``dims`` of the axis it is the coordinate of.
    spacing, accuracy, edge_order, nan_policy, periodic, metric, lines : as for ``derive``.

    Returns
    -------
    tuple of ``nout`` arrays (NumPy, or lazy dask with one task per chunk).

    Examples
    --------
    >>> p = np.array([[1000.0, 990.0], [850.0, 830.0], [700.0, 690.0]])
    >>> def dsdp(d, blocks, factors):
    ...     return (d[0, 0, 1],)
    >>> (out,) = derive_along_field(
    ...     "d", [p**2, p], [(0, 0, 1)], dsdp, 1, (0,), field=1, along=0, edge_order=2
    ... )
    >>> out.round(9).tolist()  # ∂(p²)/∂p = 2p, per column
    [[2000.0, 1980.0], [1700.0, 1660.0], [1400.0, 1380.0]]
    """
    inputs = [a if is_dask_collection(a) else np.asanyarray(a) for a in inputs]
    shape = tuple(inputs[0].shape)
    for k, a in enumerate(inputs[1:], 1):
        if tuple(a.shape) != shape:
            raise ValueError(f"{name}: input {k} has shape {tuple(a.shape)}, input 0 {shape}")
    if any(k != 1 for _, _, k in requests):
        raise ValueError(f"{name}: only first derivatives along a coordinate field")
    common = np.result_type(*[a.dtype for a in inputs])
    plan = make_plan(
        shape, common, spacing, list(dims), edge_order, periodic, accuracy, nan_policy, 1
    )
    aux: tuple[tuple[int, Any], ...] = ()
    if metric is not None:
        aux = tuple(zip(metric.aux_axes, metric.aux_values, strict=True))
    for axis, values in lines:
        if tuple(np.shape(values)) != (shape[axis],):
            raise ValueError(
                f"{name}: a line along axis {axis} has shape {tuple(np.shape(values))}, the "
                f"data {shape}"
            )
    aux += tuple((axis % len(shape), values) for axis, values in lines)
    func = _Block(
        tuple(requests), formula, metric, tuple(axis % len(shape) for axis, _ in lines),
        field, along,
    )  # fmt: skip
    if any(is_dask_collection(a) for a in inputs):
        import dask.array as da

        from .graph import ghosted_dask

        chunks = next(a.chunks for a in inputs if is_dask_collection(a))
        inputs = [a if is_dask_collection(a) else da.from_array(a, chunks=chunks) for a in inputs]
        return ghosted_dask(inputs, plan, func, nout, name, aux)
    from .eager import ghosted_numpy

    aux = tuple((axis, np.asarray(v)) for axis, v in aux)
    return ghosted_numpy(inputs, plan, func, nout, aux)


class _Block:
    """One chunk of :func:`derive_along_field`: the derivatives (along the field per point, the
    others by the kernel), the factors, the formula."""

    def __init__(
        self,
        requests: tuple[Request, ...],
        formula: Formula,
        metric: MetricModel | None,
        line_axes: tuple[int, ...],
        field: int,
        along: int,
    ) -> None:
        self.requests, self.formula, self.metric = requests, formula, metric
        self.line_axes, self.field, self.along = line_axes, field, along

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        from dask.base import tokenize

        return ("field-block", tokenize(self.requests, self.formula, self.metric),
                self.line_axes, self.field, self.along)  # fmt: skip

    def __call__(
        self,
        blocks: Sequence[np.ndarray],
        ghosts: Sequence[Sequence[tuple[np.ndarray | None, np.ndarray | None]]],
        steps: Sequence[Any],
        aux: Sequence[Any],
        *,
        plan: Plan,
        out: Sequence[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, ...]:
        dtype, ndim = plan.dtype, blocks[0].ndim
        if self.line_axes:
            n = len(aux) - len(self.line_axes)
            aux, cut = aux[:n], aux[n:]
            blocks = [
                *blocks,
                *(
                    np.asarray(v).reshape([-1 if k == axis else 1 for k in range(ndim)])
                    for axis, v in zip(self.line_axes, cut, strict=True)
                ),
            ]
        d: Derivatives = {}
        groups: dict[int, list[int]] = {}
        for j, a, _ in self.requests:
            groups.setdefault(j, []).append(a)
        c, z = self.field, self.along
        axis = plan.axes[z].axis
        for j, positions in groups.items():
            kernel = [a for a in positions if a != z]
            if kernel:
                grads = gradient_block(
                    blocks[j], [plan.axes[a].axis for a in kernel],
                    [ghosts[j][a] for a in kernel],
                    [steps[a] for a in kernel], plan.edge_order, dtype,
                    accuracy=plan.accuracy, nan_policy=plan.nan_policy,
                )  # fmt: skip
                d.update({(j, a, 1): gr for a, gr in zip(kernel, grads, strict=True)})
            if z in positions:
                d[(j, z, 1)] = field_derivative(
                    blocks[j], blocks[c], axis, tuple(ghosts[j][z]), tuple(ghosts[c][z]),  # type: ignore[arg-type]
                    accuracy=plan.accuracy, edge_order=plan.edge_order,
                    nan_policy=plan.nan_policy, dtype=dtype,
                )  # fmt: skip
        factors = None if self.metric is None else self.metric.factors(aux, ndim, dtype)
        results = self.formula(d, blocks, factors)
        final = []
        for i, r in enumerate(results):
            arr = np.asarray(r, dtype=dtype)
            if (
                arr.shape != blocks[0].shape
                or arr.base is not None
                or any(arr is b for b in blocks)
            ):
                arr = np.array(np.broadcast_to(arr, blocks[0].shape), dtype=dtype)
            if out is not None:
                np.copyto(out[i], arr, casting="unsafe")
                final.append(out[i])
            else:
                final.append(arr)
        return tuple(final)
