"""Map factors of projected grids (pyproj): scales, their derivatives and the meridian
convergence, per horizontal chunk of the projection's x and y coordinates (metres)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .metric import Factors

# Offset (metres) of the central differences that give the derivatives of the map factors:
# small against the scale on which they vary (hundreds of km), large against the noise of
# pyproj's factors (~1e-12): truncation and noise both ~1e-8 of the derivative.
_DELTA = 500.0
# Bytes of factors kept per projection: the chunks of a grid reused by the next operator.
_CACHE_BYTES = 1 << 28

NAMES = ("k", "h", "cos", "sin", "dk_dy", "dh_dx", "lx", "ly")


class Projection:
    """A projected CRS and its map factors at grid points.

    ``parallel_scale`` k and ``meridional_scale`` h (pyproj's ``Proj.get_factors``, the
    factors MetPy's map-factor formulas take for the x and y axes), their derivatives along
    the projection's x and y, and the angle γ of the meridian convergence (pyproj's sign:
    true north points along ``(-sin γ, cos γ)`` in grid x/y).

    Examples
    --------
    >>> import pyproj
    >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
    >>> f = p.factors(np.array([0.0]), np.array([0.0, 1e6]))
    >>> np.round(f["k"][:, 0], 6), f["cos"][:, 0]  # cosh(y / R), no convergence
    (array([1.      , 1.012344]), array([1., 1.]))
    """

    def __init__(self, crs: Any) -> None:
        import pyproj

        self.crs = crs
        self._proj = pyproj.Proj(crs)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], dict[str, np.ndarray]] = OrderedDict()
        self.evaluations = 0  # chunks whose factors were computed (a count the tests check)
        self.conformal = self._is_conformal()

    def __getstate__(self) -> dict[str, Any]:
        # sent to dask workers: the CRS, not the lock, the PROJ handle or the cache
        return {"crs": self.crs, "conformal": self.conformal}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import pyproj

        self.crs, self.conformal = state["crs"], state["conformal"]
        self._proj = pyproj.Proj(self.crs)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self.evaluations = 0

    def _is_conformal(self) -> bool:
        """True when pyproj finds no angular distortion at a few points of the projection's
        area (Lambert conformal conic, stereographic, Mercator, transverse Mercator, ...)."""
        x = np.array([-2e5, 0.0, 3e5])
        with np.errstate(all="ignore"):
            k, h, *_ = self._scales(x, x[::-1])
        ok = np.isfinite(k) & np.isfinite(h)
        return bool(ok.any() and np.allclose(k[ok], h[ok], rtol=1e-9))

    def _scales(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """k, h and γ (radians) at the points (x, y) (arrays of one shape)."""
        lon, lat = self._proj(x, y, inverse=True, errcheck=False)
        f = self._proj.get_factors(lon, lat, errcheck=False)
        k = np.asarray(f.parallel_scale, dtype=np.float64)
        h = np.asarray(f.meridional_scale, dtype=np.float64)
        gamma = np.radians(np.asarray(f.meridian_convergence, dtype=np.float64))
        return k, h, gamma

    def factors(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Factors on the grid ``y × x`` (1-D coordinates in metres), each ``(ny, nx)``:
        k, h, cos and sin of the angle that turns grid components into eastward/northward
        (east = cos·gx − sin·gy, north = sin·gx + cos·gy, i.e. the angle −γ), dk/dy, dh/dx,
        and the Laplacian's coefficients of ∂f/∂x and ∂f/∂y, k h ∂(k/h)/∂x and
        k h ∂(h/k)/∂y (zero on conformal projections). Kept for the next call on the same
        points (up to 256 MiB per projection)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        key = (x.tobytes(), y.tobytes())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            self.evaluations += 1
        out = self._compute(x, y)
        with self._lock:
            self._cache[key] = out
            total = sum(sum(a.nbytes for a in v.values()) for v in self._cache.values())
            while total > _CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                total -= sum(a.nbytes for a in old.values())
        return out

    def _compute(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        gx, gy = np.meshgrid(x, y)
        d = _DELTA
        k, h, gamma = self._scales(gx, gy)
        k_xp, h_xp, _ = self._scales(gx + d, gy)
        k_xm, h_xm, _ = self._scales(gx - d, gy)
        k_yp, h_yp, _ = self._scales(gx, gy + d)
        k_ym, h_ym, _ = self._scales(gx, gy - d)
        out = {
            "k": k,
            "h": h,
            "cos": np.cos(gamma),
            "sin": -np.sin(gamma),
            "dk_dy": (k_yp - k_ym) / (2 * d),
            "dh_dx": (h_xp - h_xm) / (2 * d),
        }
        if self.conformal:
            out["lx"] = np.zeros_like(k)
            out["ly"] = np.zeros_like(k)
        else:
            out["lx"] = k * h * (k_xp / h_xp - k_xm / h_xm) / (2 * d)
            out["ly"] = k * h * (h_yp / k_yp - h_ym / k_ym) / (2 * d)
        return out


@dataclass(frozen=True)
class ProjectedMetric:
    """The metric of a projected grid for :func:`daskgrad.core.derivatives.derive`: x and y
    in metres along ``x_axis`` and ``y_axis``; ``mx``, ``my`` the parallel and meridional
    scales (MetPy's map-factor convention, with grid-relative vector components).

    Examples
    --------
    >>> import pyproj
    >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
    >>> m = ProjectedMetric(p, 1, 0, np.array([0.0, 1e5]), np.array([0.0, 1e6]))
    >>> f = m.factors(m.aux_values, 2, np.dtype("float64"))
    >>> f.mx.shape, np.round(f.cx.ravel() * 6371000, 4).tolist()  # tan φ = sinh(y / R)
    ((2, 2), [0.0, 0.0, 0.1576, 0.1576])
    """

    projection: Projection
    x_axis: int
    y_axis: int
    x: Any
    y: Any

    @property
    def aux_axes(self) -> tuple[int, ...]:
        return (self.x_axis, self.y_axis)

    @property
    def aux_values(self) -> tuple[Any, ...]:
        return (self.x, self.y)

    def factors(self, aux: Sequence[np.ndarray], ndim: int, dtype: np.dtype) -> Factors:
        """The factors on the chunk's x × y points, shaped to broadcast over the chunk."""
        f = self.projection.factors(aux[0], aux[1])
        real = np.finfo(dtype).dtype
        shape = [1] * ndim
        shape[self.y_axis], shape[self.x_axis] = f["k"].shape
        flip = self.x_axis < self.y_axis

        def shaped(a: np.ndarray) -> np.ndarray:
            a = a.T if flip else a
            return np.ascontiguousarray(a, dtype=real).reshape(shape)

        k, h = f["k"], f["h"]
        zero = real.type(0)
        return Factors(
            mx=shaped(k),
            my=shaped(h),
            cx=shaped(h / k * f["dk_dy"]),
            cy=shaped(k / h * f["dh_dx"]),
            lx=zero if self.projection.conformal else shaped(f["lx"]),
            ly=zero if self.projection.conformal else shaped(f["ly"]),
            cos=shaped(f["cos"]),
            sin=shaped(f["sin"]),
        )
