"""Metric factors: what turns derivatives per coordinate unit into derivatives per metre.

One chunk's :class:`Factors` come from a :class:`MetricModel` (latitude/longitude on a sphere or
the WGS84 ellipsoid here; map projections in :mod:`daskgrad.core.projection`). Every operator
on a horizontal vector field is a combination of one velocity-gradient tensor,
:func:`velocity_gradient`, in the metric's frame, so divergence, vorticity, the deformations,
frontogenesis and Q-vectors agree with each other by construction. The tensor is MetPy's
``vector_derivative`` with map factors (``parallel_scale`` ``mx``, ``meridional_scale`` ``my``):

    ∂u/∂x = mx ∂u/∂X − cx v        ∂u/∂y = my ∂u/∂Y + cy v
    ∂v/∂x = mx ∂v/∂X + cx u        ∂v/∂y = my ∂v/∂Y − cy u

with ``cx = (my/mx) ∂mx/∂y`` and ``cy = (mx/my) ∂my/∂x`` (X, Y the grid's coordinates). On a
latitude/longitude grid X = λ and Y = φ in radians, ``mx = 1/(N cos φ)``, ``my = 1/M``,
``cx = tan φ / N`` and ``cy = 0`` (N = M = R on a sphere): the tan φ terms of the sphere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Factors:
    """Metric factors of one chunk, each an array broadcastable to the chunk (or a number).

    Attributes
    ----------
    mx, my : per-metre factors of a derivative along the grid's x (y) axis, per unit of that
        axis's coordinate (1/(N cos φ) and 1/M per radian on latitude/longitude; the map
        factors, dimensionless, on a projection in metres).
    cx, cy : MetPy's map-factor corrections ``(my/mx) ∂mx/∂y`` and ``(mx/my) ∂my/∂x`` (1/m);
        a number (or one value) 0 where a correction vanishes, which the formulas then skip.
    lx, ly : the Laplacian's coefficients of ∂f/∂X and ∂f/∂Y:
        ``mx my ∂(mx/my)/∂X`` and ``mx my ∂(my/mx)/∂Y``.
    cos, sin : the rotation of grid-relative components (gx, gy) to eastward/northward:
        ``east = cos gx − sin gy``, ``north = sin gx + cos gy``; None where the frames coincide
        or the formulas, which work in the grid's frame, do not need it.
    """

    mx: Any
    my: Any
    cx: Any
    cy: Any
    lx: Any
    ly: Any
    cos: Any = None
    sin: Any = None


class MetricModel(Protocol):
    """Where a chunk's :class:`Factors` come from.

    ``aux_axes``/``aux_values``: the 1-D arrays (NumPy or dask) the model needs, each running
    along one axis of the data and chunked with it; ``factors`` gets each chunk's slices of
    them in that order.
    """

    @property
    def aux_axes(self) -> tuple[int, ...]: ...

    @property
    def aux_values(self) -> tuple[Any, ...]: ...

    def factors(self, aux: Sequence[np.ndarray], ndim: int, dtype: np.dtype) -> Factors: ...


class Radii(Protocol):
    """The radii of curvature (:class:`daskgrad.core.earth.Earth`)."""

    def east(self, phi: np.ndarray) -> np.ndarray: ...

    def north(self, phi: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LatLonMetric:
    """Latitude/longitude in radians on a sphere or an ellipsoid.

    Parameters
    ----------
    earth : the radii of curvature (``east(φ) = N cos φ``, ``north(φ) = M``).
    lat_axis : the axis of the data along which latitude varies.
    phi : the latitude of each index along ``lat_axis``, in radians (NumPy or dask).
    radians : the radians per unit of the coordinates the derivatives are taken in, along
        longitude and latitude (default 1: per radian). A caller that differentiates with a
        spacing of 1/2 per grid step h (``radians`` = 2h) gets raw centred differences
        ``f[i+1] − f[i−1]`` from the kernel, with no pass to weight them: the weight 1/(2h) is
        folded into ``mx`` = 1/(N cos φ), ``my`` = 1/M (and the Laplacian's ``ly``), which
        are computed once per chunk, per latitude (equal to rounding). The corrections
        ``cx``, ``cy`` multiply the wind, not a derivative, and do not change.

    Examples
    --------
    >>> from daskgrad.core.earth import make_earth
    >>> m = LatLonMetric(make_earth("sphere", radius=1.0), 0, np.radians([0.0, 60.0]))
    >>> f = m.factors([m.aux_values[0]], 2, np.dtype("float64"))
    >>> np.round(f.mx.ravel(), 6).tolist(), np.round(f.cx.ravel(), 6).tolist()
    ([1.0, 2.0], [0.0, 1.732051])
    >>> half = LatLonMetric(m.earth, 0, m.phi, radians=(0.5, 0.25))  # steps of 1/4 and 1/8 rad
    >>> g = half.factors([half.aux_values[0]], 2, np.dtype("float64"))
    >>> [np.round(a.ravel(), 6).tolist() for a in (g.mx, g.my, g.cx)]
    [[2.0, 4.0], [4.0, 4.0], [0.0, 1.732051]]
    """

    earth: Radii
    lat_axis: int
    phi: Any
    radians: tuple[float, float] = (1.0, 1.0)

    @property
    def aux_axes(self) -> tuple[int, ...]:
        return (self.lat_axis,)

    @property
    def aux_values(self) -> tuple[Any, ...]:
        return (self.phi,)

    def factors(self, aux: Sequence[np.ndarray], ndim: int, dtype: np.dtype) -> Factors:
        """Per latitude of the chunk, shaped to broadcast along the latitude axis; NaN
        eastward factors at the poles."""
        phi = np.asarray(aux[0], dtype=np.float64)
        shape = [1] * ndim
        shape[self.lat_axis] = phi.size
        with np.errstate(divide="ignore", invalid="ignore"):
            east = self.earth.east(phi)
            pole = np.isclose(np.abs(phi), np.pi / 2, rtol=0, atol=1e-12)
            east = np.where(pole, np.nan, east)
            north = self.earth.north(phi)
            tan_n = np.tan(phi) * np.cos(phi) / east  # tan φ / N
        mx, my = 1.0 / east, 1.0 / north
        # the scales (and the Laplacian's term) per unit of the coordinates, in float64
        per_x, per_y = self.radians
        sx = mx if per_x == 1.0 else mx / per_x
        sy = my if per_y == 1.0 else my / per_y
        real = np.finfo(dtype).dtype  # float32 factors for float32 (and complex64) data

        def shaped(a: np.ndarray) -> np.ndarray:
            return np.asarray(a).reshape(shape).astype(real)

        zero = real.type(0)
        return Factors(
            mx=shaped(sx),
            my=shaped(sy),
            cx=shaped(tan_n),
            cy=zero,
            lx=zero,
            ly=shaped(-tan_n * sy),
        )


def scaled(a: np.ndarray, factor: Any) -> np.ndarray:
    """``a * factor`` in place in ``a`` (a derivative the formula owns)."""
    out: np.ndarray = np.multiply(a, factor, out=a, casting="unsafe")
    return out


# Bytes of one operand per slab of :func:`tensor_combination`: its ~8 operands stay in L2.
FORMULA_SLAB_BYTES = 1 << 18


def tensor_component(
    which: str,
    raw: np.ndarray,
    u: Any,
    v: Any,
    f: Factors | None,
    scratch: np.ndarray | None = None,
) -> Any:
    """One component of :func:`velocity_gradient` ("du/dx", "du/dy", "dv/dx" or "dv/dy") from
    its raw derivative per coordinate unit, which it overwrites.

    Examples
    --------
    >>> f = Factors(mx=2.0, my=3.0, cx=0.5, cy=0.0, lx=0.0, ly=0.0)
    >>> float(tensor_component("du/dx", np.array(1.0), 4.0, 6.0, f))
    -1.0
    """
    if f is None:
        return raw
    scale, correction, other, sign = {
        "du/dx": (f.mx, f.cx, v, -1.0),
        "du/dy": (f.my, f.cy, v, 1.0),
        "dv/dx": (f.mx, f.cx, u, 1.0),
        "dv/dy": (f.my, f.cy, u, -1.0),
    }[which]
    out = scaled(raw, scale)
    # an array of the chunk's points is applied as it is: no pass over it to look for zeros
    if np.size(correction) > 1 or np.any(correction != 0):
        term = np.multiply(other, correction, dtype=out.dtype, out=scratch)
        (np.add if sign > 0 else np.subtract)(out, term, out=out)
    return out


def tensor_combination(
    first: tuple[str, np.ndarray],
    second: tuple[str, np.ndarray],
    combine: Callable[..., Any],
    u: Any,
    v: Any,
    f: Factors,
    slab_bytes: int = FORMULA_SLAB_BYTES,
) -> np.ndarray:
    """``combine(a, b)`` (``np.add`` or ``np.subtract``) of two components of
    :func:`velocity_gradient`, each given as ``(which, raw)`` as for :func:`tensor_component`,
    in place in the first's raw derivative (which it returns; the second's is overwritten too).

    Slab by slab of ``slab_bytes`` per operand: the operations over each slab read their
    operands from the cache, where whole arrays cost a pass over memory each. When the two
    components share their scale (a conformal projection's m: vorticity, divergence), the
    raw derivatives are combined first and scaled once, ``m (a ± b) + corrections``, one
    operation fewer than :func:`tensor_component` twice (equal to rounding); otherwise the
    same operations in the same order.

    Examples
    --------
    >>> f = Factors(mx=2.0, my=3.0, cx=0.5, cy=0.0, lx=0.0, ly=0.0)
    >>> a, b = np.ones((3, 4)), np.ones((3, 4))
    >>> u, v = np.full((3, 4), 4.0), np.full((3, 4), 6.0)
    >>> tensor_combination(("dv/dx", a), ("du/dy", b), np.subtract, u, v, f)[0].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    (w1, raw1), (w2, raw2) = first, second
    shape = raw1.shape
    sign = 1.0 if combine is np.add else -1.0 if combine is np.subtract else None
    if (
        sign is None
        or raw1.ndim == 0
        or raw2.shape != shape
        or not (raw1.flags.writeable and raw2.flags.writeable)
    ):
        a = tensor_component(w1, raw1, u, v, f)
        return combine(a, tensor_component(w2, raw2, u, v, f), out=a)  # type: ignore[no-any-return]
    (s1, c1, o1, n1), (s2, c2, o2, n2) = _TERMS[w1](f, u, v), _TERMS[w2](f, u, v)
    shared = s1 is s2 or (np.ndim(s1) == 0 and np.ndim(s2) == 0 and s1 == s2)
    # per component: scale, correction (None: a 0, skipped), the other component, the sign
    # of the correction's term in the component; in the result, times ``sign`` for the second
    parts = [
        (
            _sliceable(sc, shape),
            _sliceable(c, shape) if np.size(c) > 1 or np.any(c != 0) else None,
            _sliceable(o, shape),
            n,
        )
        for sc, c, o, n in ((s1, c1, o1, n1), (s2, c2, o2, n2))
    ]
    scratch = np.empty(_slab_items(shape, raw1.itemsize, slab_bytes), raw1.dtype)
    multiply, dtype = np.multiply, raw1.dtype
    for at in _slab_index(shape, raw1.itemsize, slab_bytes):
        a, b = raw1[at], raw2[at]
        t = scratch[: a.size].reshape(a.shape)
        if shared:  # m (A ± B) ± c1 o1 ± c2 o2
            combine(a, b, out=a)
            multiply(a, _at(parts[0][0], at), out=a, casting="unsafe")
            for k, (_, c, o, n) in enumerate(parts):
                if c is not None:
                    multiply(_at(o, at), _at(c, at), dtype=dtype, out=t)
                    (np.add if n * (sign if k else 1.0) > 0 else np.subtract)(a, t, out=a)
            continue
        for r, (sc, c, o, n) in zip((a, b), parts, strict=True):
            multiply(r, _at(sc, at), out=r, casting="unsafe")
            if c is not None:
                multiply(_at(o, at), _at(c, at), dtype=dtype, out=t)
                (np.add if n > 0 else np.subtract)(r, t, out=r)
        combine(a, b, out=a)
    return raw1


_TERMS: dict[str, Callable[[Factors, Any, Any], tuple[Any, Any, Any, float]]] = {
    "du/dx": lambda f, u, v: (f.mx, f.cx, v, -1.0),
    "du/dy": lambda f, u, v: (f.my, f.cy, v, 1.0),
    "dv/dx": lambda f, u, v: (f.mx, f.cx, u, 1.0),
    "dv/dy": lambda f, u, v: (f.my, f.cy, u, -1.0),
}


def _sliceable(a: Any, shape: tuple[int, ...], plane_bytes: int | None = None) -> Any:
    """A number kept as it is, an array broadcast to ``shape`` (a view).

    A factor that varies along one axis only (a line: latitude/longitude's factors, one per
    row) is first spread over the axes after that one, once, up to ``plane_bytes`` (default
    an eighth of an array of ``shape``): the view's trailing axes are then contiguous, and
    an operation over a slab runs as one loop over it, where a line broadcast as it is (a
    stride of 0 along the last axis) costs one inner loop per row, about twice the time of
    the operation on short rows (720 values: 0.36 against 0.20 ms per 2·10⁶ float32). A line
    of one value (1/M on a sphere) is that value."""
    if np.ndim(a) == 0:
        return a
    a = np.asarray(a)
    if a.size > 1 and a.size * 8 <= math.prod(shape):
        first = a.flat[0]
        if np.all(a == first):  # a line of one value (M on a sphere): a number
            return first
    ndim = len(shape)
    if a.ndim == ndim and ndim >= 2:
        varying = [k for k in range(ndim) if a.shape[k] != 1]
        if len(varying) == 1 and varying[0] < ndim - 1 and a.strides[varying[0]] != 0:
            k = varying[0]
            plane = (*a.shape[: k + 1], *shape[k + 1 :])
            limit = math.prod(shape) * a.itemsize // 8 if plane_bytes is None else plane_bytes
            if math.prod(plane) * a.itemsize <= limit:
                a = np.ascontiguousarray(np.broadcast_to(a, plane))
    return np.broadcast_to(a, shape)


def spread_factors(f: Factors, shape: tuple[int, ...]) -> Factors:
    """``f`` with each factor that varies along one axis only, not the last, spread over the
    axes after it to ``shape``'s (see :func:`_sliceable`), once for the slabs of ``shape``
    that :func:`tensor_combination` is then called on: it spreads a line only when the plane
    is small against the array, which a slab's is not. The same values."""

    def spread(a: Any) -> Any:
        if not isinstance(a, np.ndarray) or a.ndim != len(shape) or a.ndim < 2:
            return a
        varying = [k for k in range(a.ndim) if a.shape[k] != 1]
        if len(varying) != 1 or varying[0] == a.ndim - 1:
            return a
        if a.size > 1 and np.all(a == a.flat[0]):
            return a  # a line of one value: _sliceable makes it a number
        k = varying[0]
        return np.ascontiguousarray(np.broadcast_to(a, (*a.shape[: k + 1], *shape[k + 1 :])))

    return replace(f, **{name: spread(getattr(f, name)) for name in _FIELDS})


_FIELDS = ("mx", "my", "cx", "cy", "lx", "ly", "cos", "sin")


def _at(a: Any, at: tuple[Any, ...]) -> Any:
    """The slab ``at`` of a :func:`_sliceable`."""
    return a if np.ndim(a) == 0 else a[at]


def _slab_axis(shape: tuple[int, ...], itemsize: int, target: int) -> tuple[int, int]:
    """The axis the slabs run along (the axes after it fit in ``target`` bytes) and the
    number of its indices per slab."""
    for j in range(len(shape)):
        row = math.prod(shape[j + 1 :]) * itemsize
        if row <= target:
            return j, max(1, target // max(row, 1))
    return len(shape) - 1, 1


def _slab_items(shape: tuple[int, ...], itemsize: int, target: int) -> int:
    j, step = _slab_axis(shape, itemsize, target)
    return min(step, shape[j]) * math.prod(shape[j + 1 :])


def _slab_index(shape: tuple[int, ...], itemsize: int, target: int) -> Iterator[tuple[Any, ...]]:
    """Index tuples of the slabs that tile an array of ``shape``, in memory order."""
    j, step = _slab_axis(shape, itemsize, target)
    for lead in np.ndindex(*shape[:j]):
        for s in range(0, shape[j], step):
            yield (*lead, slice(s, s + step))


def velocity_gradient(
    dudx: Any, dudy: Any, dvdx: Any, dvdy: Any, u: Any, v: Any, f: Factors | None
) -> tuple[Any, Any, Any, Any]:
    """(∂u/∂x, ∂u/∂y, ∂v/∂x, ∂v/∂y) per metre in the metric's frame from the derivatives per
    coordinate unit, MetPy's ``vector_derivative``; the raw derivatives when ``f`` is None.

    Examples
    --------
    >>> f = Factors(mx=2.0, my=3.0, cx=0.5, cy=0.0, lx=0.0, ly=0.0)
    >>> [float(c) for c in velocity_gradient(1.0, 1.0, 1.0, 1.0, 4.0, 6.0, f)]
    [-1.0, 3.0, 4.0, 3.0]
    """
    names = ("du/dx", "du/dy", "dv/dx", "dv/dy")
    raw: tuple[Any, ...] = (dudx, dudy, dvdx, dvdy)
    if f is not None:
        raw = tuple(np.array(r, dtype=np.result_type(r, f.mx)) for r in raw)
    a, b, c, d = (tensor_component(w, r, u, v, f) for w, r in zip(names, raw, strict=True))
    return a, b, c, d
