"""Stencil weights: which points a derivative uses (the window rule) and with which weights.

One rule serves every accuracy and both NaN policies. A point ``i`` lies in a *run* of usable
points: the whole axis (nan_policy="propagate"), or a stretch of non-NaN points ended by NaNs
or true edges ("omit"). ``l`` and ``r`` count the run's points left and right of ``i``.

- ``l >= p/2`` and ``r >= p/2``: the centred stencil of ``p + 1`` points.
- Otherwise ``m = min(q + 1, l + r + 1)`` points, where ``q`` is ``p``, except for accuracy 2 at
  a true array edge, where it is ``edge_order`` (numpy.gradient's rule). Uniform spacing: the
  ``m`` points starting at ``i`` and going inward (findiff's one-sided stencils), shifted inward
  just enough to stay in the run. Coordinate spacing: the ``m`` points of the run nearest its
  end (findiff's rule for coordinate arrays). A run of one point gives NaN.

Weights are the exact first-derivative weights of the Lagrange polynomial through the nodes
(Fornberg 1988): rational numbers for uniform spacing, computed per point for coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

#: the options' allowed values; core.plan checks them, the command line offers them as choices
ACCURACIES = (2, 4, 6, 8)
NAN_POLICIES = ("propagate", "omit")
EDGE_ORDERS = (1, 2)


class EvenCoords(float):
    """The step of a coordinate array whose steps are all equal: the kernel's uniform
    arithmetic, with the coordinate rule for the stencils at the ends of runs (findiff treats
    a coordinate array the same way whatever its steps)."""

    def __dask_tokenize__(self) -> tuple[str, float]:
        return ("EvenCoords", float(self))

    def __reduce__(self) -> tuple[type[EvenCoords], tuple[float]]:
        return EvenCoords, (float(self),)


def depth(accuracy: int, nan_policy: str, deriv: int = 1) -> int:
    """Ghost points per side a block needs: the half-width of the centred stencils (p/2, one
    more for second derivatives on coordinates), or, when NaNs can end runs, the reach of a
    one-sided stencil from a point next to a hole (p + deriv - 1)."""
    return accuracy + deriv - 1 if nan_policy == "omit" else accuracy // 2 + deriv - 1


def half_width(accuracy: int, from_point: bool, deriv: int = 1) -> int:
    """Half-width of the centred stencil: p/2 for a scalar step; for coordinates findiff's
    p/2 + 1 for second derivatives (no symmetry to gain an order from)."""
    return accuracy // 2 + (0 if from_point else deriv - 1)


def window(
    left: Any,
    right: Any,
    accuracy: int,
    from_point: bool,
    q_lo: Any = None,
    q_hi: Any = None,
    deriv: int = 1,
) -> tuple[Any, Any]:
    """First offset and number of points of the stencil of points with ``left``/``right`` run
    points on their left/right (scalars or arrays). ``from_point``: a scalar step (one-sided
    stencils start at the point) rather than coordinates (the points nearest the run's end).
    ``q_lo``/``q_hi``: the order of one-sided stencils at the run's left/right end (default
    ``accuracy``); they take ``q + deriv`` points. Fewer than ``deriv + 1`` points: no stencil.

    Examples
    --------
    >>> window(5, 5, 4, True), window(0, 9, 4, True), window(1, 9, 4, True)
    ((-2, 5), (0, 5), (0, 5))
    >>> window(1, 9, 4, False), window(1, 3, 4, True), window(1, 1, 4, True)
    ((-1, 5), (-1, 5), (-1, 3))
    >>> window(5, 5, 2, False, deriv=2), window(1, 5, 2, True, deriv=2, q_lo=1)
    ((-2, 5), (-1, 3))
    """
    half = half_width(accuracy, from_point, deriv)
    q_lo = accuracy if q_lo is None else q_lo
    q_hi = accuracy if q_hi is None else q_hi
    if all(isinstance(v, int) for v in (left, right, q_lo, q_hi)):
        return _window_scalar(left, right, accuracy, from_point, q_lo, q_hi, deriv, half)
    l, r = np.asarray(left), np.asarray(right)  # noqa: E741
    run = l + r + 1
    near_left, near_right = l < half, r < half
    m = np.where(near_right, np.minimum(q_hi + deriv, run), 2 * half + 1)
    m = np.where(near_left, np.minimum(q_lo + deriv, run), m)
    if from_point:
        start_left = np.minimum(0, r - m + 1)
        start_right = np.maximum(1 - m, -l)
    else:
        start_left, start_right = -l, r - m + 1
    start = np.where(near_left, start_left, np.where(near_right, start_right, -half))
    if start.ndim == 0:
        return int(start), int(m)
    return start, m


@cache
def _window_scalar(
    left: int,
    right: int,
    accuracy: int,
    from_point: bool,
    q_lo: int,
    q_hi: int,
    deriv: int,
    half: int,
) -> tuple[int, int]:
    """:func:`window` for one point, in plain Python (the kernel's edge planes ask often)."""
    run = left + right + 1
    if left >= half and right >= half:
        return -half, 2 * half + 1
    if left < half:
        m = min(q_lo + deriv, run)
        return (min(0, right - m + 1) if from_point else -left), m
    m = min(q_hi + deriv, run)
    return (max(1 - m, -left) if from_point else right - m + 1), m


@cache
def uniform_weights(start: int, m: int, deriv: int = 1) -> tuple[float, ...]:
    """Exact weights of the ``m`` unit-spaced nodes ``start, …, start + m - 1`` at node 0.

    Examples
    --------
    >>> uniform_weights(-1, 3)
    (-0.5, 0.0, 0.5)
    >>> uniform_weights(-2, 5)[3:]
    (0.6666666666666666, -0.08333333333333333)
    >>> uniform_weights(-1, 3, deriv=2)
    (1.0, -2.0, 1.0)
    """
    nodes = np.array([Fraction(start + j) for j in range(m)], dtype=object)
    return tuple(float(w) for w in fornberg(nodes, Fraction(0), deriv))


def fornberg(x: Any, x0: Any, deriv: int = 1) -> np.ndarray:
    """Weights of the nodes ``x[..., :]`` for the ``deriv``-th derivative at ``x0[...]``
    (Fornberg 1988), for many points at once; exact when given Fractions (object arrays).

    Examples
    --------
    >>> fornberg(np.array([[0.0, 1.0, 3.0]]), np.array([0.0]))
    array([[-1.33333333,  1.5       , -0.16666667]])
    """
    x = np.asarray(x)
    n = x.shape[-1]
    lead = x.shape[:-1]
    zero, one = (Fraction(0), Fraction(1)) if x.dtype == object else (0.0, 1.0)
    c = np.full(lead + (n, deriv + 1), zero, dtype=x.dtype)
    c[..., 0, 0] = one
    c1 = one
    c4 = x[..., 0] - x0
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(1, n):
            mn = min(i, deriv)
            c2 = one
            c5, c4 = c4, x[..., i] - x0
            for j in range(i):
                c3 = x[..., i] - x[..., j]
                c2 = c2 * c3
                if j == i - 1:
                    for k in range(mn, 0, -1):
                        c[..., i, k] = c1 * (k * c[..., i - 1, k - 1] - c5 * c[..., i - 1, k]) / c2
                    c[..., i, 0] = -c1 * c5 * c[..., i - 1, 0] / c2
                for k in range(mn, 0, -1):
                    c[..., j, k] = (c4 * c[..., j, k] - k * c[..., j, k - 1]) / c3
                c[..., j, 0] = c4 * c[..., j, 0] / c3
            c1 = c2
    weights: np.ndarray = c[..., deriv]
    return weights


def point_weights(x: Iterable[Any], k: int, deriv: int = 1) -> list[float]:
    """:func:`node_weights` of one point's nodes, in plain Python floats (Fornberg's recursion
    on scalars: the kernel's edge planes need one stencil each, numpy's overhead would dominate).

    Examples
    --------
    >>> [round(w, 6) for w in point_weights([0.0, 1.0, 3.0], 0)]
    [-1.333333, 1.5, -0.166667]
    """
    xs = [float(v) for v in x]
    x0, n = xs[k], len(xs)
    c = [[0.0] * (deriv + 1) for _ in range(n)]
    c[0][0] = c1 = 1.0
    c4 = xs[0] - x0
    for i in range(1, n):
        mn, c2, c5, c4 = min(i, deriv), 1.0, c4, xs[i] - x0
        for j in range(i):
            c3 = xs[i] - xs[j]
            c2 *= c3
            if j == i - 1:
                for q in range(mn, 0, -1):
                    c[i][q] = c1 * (q * c[i - 1][q - 1] - c5 * c[i - 1][q]) / c2
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2
            for q in range(mn, 0, -1):
                c[j][q] = (c4 * c[j][q] - q * c[j][q - 1]) / c3
            c[j][0] = c4 * c[j][0] / c3
        c1 = c2
    return [row[deriv] for row in c]


def node_weights(x: np.ndarray, k: int | np.ndarray, deriv: int = 1) -> np.ndarray:
    """Weights of the nodes ``x[..., :]`` at their node ``k`` (an int or one per row).

    Examples
    --------
    >>> node_weights(np.array([[0.0, 1.0, 3.0]]), 0)
    array([[-1.33333333,  1.5       , -0.16666667]])
    """
    x = np.asarray(x, dtype=np.float64)
    rows = np.broadcast_to(np.asarray(k), x.shape[:-1])
    x0 = np.take_along_axis(x, rows[..., None], axis=-1)[..., 0]
    return fornberg(x, x0, deriv)
