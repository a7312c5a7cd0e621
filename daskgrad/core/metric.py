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

from collections.abc import Sequence
from dataclasses import dataclass
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

    Examples
    --------
    >>> from daskgrad.core.earth import make_earth
    >>> m = LatLonMetric(make_earth("sphere", radius=1.0), 0, np.radians([0.0, 60.0]))
    >>> f = m.factors([m.aux_values[0]], 2, np.dtype("float64"))
    >>> np.round(f.mx.ravel(), 6).tolist(), np.round(f.cx.ravel(), 6).tolist()
    ([1.0, 2.0], [0.0, 1.732051])
    """

    earth: Radii
    lat_axis: int
    phi: Any

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
        real = np.finfo(dtype).dtype  # float32 factors for float32 (and complex64) data

        def shaped(a: np.ndarray) -> np.ndarray:
            return np.asarray(a).reshape(shape).astype(real)

        zero = real.type(0)
        return Factors(
            mx=shaped(mx),
            my=shaped(my),
            cx=shaped(tan_n),
            cy=zero,
            lx=zero,
            ly=shaped(-tan_n * my),
        )


def scaled(a: np.ndarray, factor: Any) -> np.ndarray:
    """``a * factor`` in place in ``a`` (a derivative the formula owns)."""
    out: np.ndarray = np.multiply(a, factor, out=a, casting="unsafe")
    return out


def tensor_component(which: str, raw: np.ndarray, u: Any, v: Any, f: Factors | None) -> Any:
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
        term = np.multiply(other, correction, dtype=out.dtype)
        (np.add if sign > 0 else np.subtract)(out, term, out=out)
    return out


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
