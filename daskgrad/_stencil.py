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

from fractions import Fraction
from functools import cache

import numpy as np

ACCURACIES = (2, 4, 6, 8)
NAN_POLICIES = ("propagate", "omit")


class EvenCoords(float):
    """The step of a coordinate array whose steps are all equal: the kernel's uniform
    arithmetic, with the coordinate rule for the stencils at the ends of runs (findiff treats
    a coordinate array the same way whatever its steps)."""

    def __dask_tokenize__(self):
        return ("EvenCoords", float(self))

    def __reduce__(self):
        return EvenCoords, (float(self),)


def depth(accuracy: int, nan_policy: str) -> int:
    """Ghost points per side a block needs: p/2 for centred stencils, p when NaNs can end runs
    (a one-sided stencil then reaches p points from a point next to a hole)."""
    return accuracy if nan_policy == "omit" else accuracy // 2


def window(left, right, accuracy: int, uniform: bool, q_lo=None, q_hi=None):
    """First offset and number of points of the stencil of points with ``left``/``right`` run points
    on their left/right (scalars or arrays). ``q_lo``/``q_hi``: the order of one-sided
    stencils at the run's left/right end (default ``accuracy``).

    Examples
    --------
    >>> window(5, 5, 4, True), window(0, 9, 4, True), window(1, 9, 4, True)
    ((-2, 5), (0, 5), (0, 5))
    >>> window(1, 9, 4, False), window(1, 3, 4, True), window(1, 1, 4, True)
    ((-1, 5), (-1, 5), (-1, 3))
    """
    l, r = np.asarray(left), np.asarray(right)  # noqa: E741
    d = accuracy // 2
    q_lo = accuracy if q_lo is None else q_lo
    q_hi = accuracy if q_hi is None else q_hi
    run = l + r + 1
    left = l < d
    m = np.where(l >= d, np.where(r >= d, accuracy + 1, np.minimum(q_hi + 1, run)), 0)
    m = np.where(left, np.minimum(q_lo + 1, run), m)
    if uniform:
        start_left = np.minimum(0, r - m + 1)
        start_right = np.maximum(1 - m, -l)
    else:
        start_left, start_right = -l, r - m + 1
    start = np.where(left, start_left, np.where(r < d, start_right, -d))
    if start.ndim == 0:
        return int(start), int(m)
    return start, m


@cache
def uniform_weights(start: int, m: int) -> tuple[float, ...]:
    """Exact weights of the ``m`` unit-spaced nodes ``start, …, start + m - 1`` at node 0.

    Examples
    --------
    >>> uniform_weights(-1, 3)
    (-0.5, 0.0, 0.5)
    >>> uniform_weights(-2, 5)[3:]
    (0.6666666666666666, -0.08333333333333333)
    """
    nodes = [Fraction(start + j) for j in range(m)]
    return tuple(float(w) for w in _lagrange_exact(nodes, -start))


def _lagrange_exact(x: list[Fraction], k: int) -> list[Fraction]:
    out = []
    for j in range(len(x)):
        if j == k:
            out.append(sum((1 / (x[k] - x[i]) for i in range(len(x)) if i != k), Fraction(0)))
            continue
        w = 1 / (x[j] - x[k])
        for i in range(len(x)):
            if i not in (j, k):
                w *= (x[k] - x[i]) / (x[j] - x[i])
        out.append(w)
    return out


def lagrange_weights(x: np.ndarray, k) -> np.ndarray:
    """First-derivative weights at node ``k`` of the nodes ``x[..., :]``, for many points at
    once (``x`` has one row of nodes per point; ``k`` an int or one per row).

    Examples
    --------
    >>> lagrange_weights(np.array([[0.0, 1.0, 3.0]]), 0)
    array([[-1.33333333,  1.5       , -0.16666667]])
    """
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[-1]
    k = np.broadcast_to(np.asarray(k), x.shape[:-1])
    xk = np.take_along_axis(x, k[..., None], axis=-1)[..., 0]
    dk = xk[..., None] - x  # x_k - x_i
    w = np.empty_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = sum(np.where(k == i, 0.0, 1.0 / np.where(k == i, 1.0, dk[..., i])) for i in range(m))
        for j in range(m):
            dj = x[..., j, None] - x  # x_j - x_i
            rest = np.ones(x.shape[:-1])
            for i in range(m):
                if i != j:
                    rest = rest * np.where(k == i, 1.0 / dj[..., i], dk[..., i] / dj[..., i])
            w[..., j] = np.where(k == j, own, rest)
    return w
