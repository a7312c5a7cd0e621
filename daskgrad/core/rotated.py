"""Rotated-pole grids (CF ``rotated_latitude_longitude``, PROJ's ``ob_tran`` with
``o_proj=longlat``): a latitude/longitude grid on a sphere whose pole is moved, in closed form.

The grid's rotated longitude λr and latitude φr are an ordinary latitude/longitude grid on the
rotated sphere, so its metric is the sphere's with φr. :class:`RotatedPole` offers it in the
form of :class:`daskgrad.core.projection.Projection` (the interface
:class:`daskgrad.core.projection.ProjectedMetric` and the grid use) for the coordinates
x = R λr, y = R φr in metres: a plate carrée on the rotated sphere, with parallel scale
k = 1/cos φr, meridional scale h = 1, and the angle between the grid's axes and true
east/north at every point.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from .projection import Projection


class RotatedPole(Projection):
    """The rotated pole of a grid on a sphere, and its factors at grid points: a
    :class:`~daskgrad.core.projection.Projection` in closed form (no PROJ handle), whose
    :meth:`factors` (computed once per set of points, kept) and :meth:`lonlat` serve
    :class:`~daskgrad.core.projection.ProjectedMetric` and the grid.

    Parameters
    ----------
    pole_latitude, pole_longitude : float
        The true latitude and longitude (degrees) of the grid's north pole (CF's
        ``grid_north_pole_latitude``/``grid_north_pole_longitude``).
    pole_grid_longitude : float
        The grid longitude (degrees) of the true north pole (CF's
        ``north_pole_grid_longitude``, PROJ's ``o_lon_p``; 0 by default).
    radius : float
        The sphere's radius in metres: the grid's x/y are ``radius`` times the rotated
        longitude/latitude in radians.
    crs : pyproj.CRS, optional
        The CRS it came from (kept for the grid's description).

    Examples
    --------
    >>> p = RotatedPole(39.25, -162.0, 0.0, 6371229.0)
    >>> lon, lat = p.to_true(np.array([0.0]), np.array([0.0]))  # the grid's origin
    >>> np.round(np.degrees([lon[0], lat[0]]), 10).tolist()
    [18.0, 50.75]
    >>> f = p.factors(np.array([0.0]), np.array([0.0, 6371229.0 * np.pi / 3]))
    >>> # φr = 60° on the origin's meridian lies past the true north pole (at φr = 39.25°):
    >>> # there the grid's x axis points west
    >>> np.round(f["k"][:, 0], 12).tolist(), np.round(f["cos"][:, 0], 12).tolist()
    ([1.0, 2.0], [1.0, -1.0])
    """

    def __init__(
        self,
        pole_latitude: float,
        pole_longitude: float,
        pole_grid_longitude: float,
        radius: float,
        crs: Any = None,
    ) -> None:
        self.pole_latitude = float(pole_latitude)
        self.pole_longitude = float(pole_longitude)
        self.pole_grid_longitude = float(pole_grid_longitude)
        self.radius = float(radius)
        self.crs = crs
        self.conformal = False  # k = 1/cos φr, h = 1
        self.closed = None  # Projection.factors computes with _compute below
        self.unit = 1.0
        if not -90.0 <= self.pole_latitude <= 90.0:
            raise ValueError(
                f"grid_north_pole_latitude must lie within [-90, 90] degrees; got {pole_latitude!r}"
            )
        fp, lp = math.radians(self.pole_latitude), math.radians(self.pole_longitude)
        z = np.array([math.cos(fp) * math.cos(lp), math.cos(fp) * math.sin(lp), math.sin(fp)])
        # the grid's origin (λr = o_lon_p, φr = 0) lies on the pole's meridian, 90° from it,
        # on the true north pole's side
        x = np.array([-math.sin(fp) * math.cos(lp), -math.sin(fp) * math.sin(lp), math.cos(fp)])
        # columns: the rotated sphere's x, y, z axes in true earth-centred coordinates
        self.matrix = np.stack([x, np.cross(z, x), z], axis=1)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self.evaluations = 0  # chunks whose factors were computed (a count the tests check)

    def __getstate__(self) -> dict[str, Any]:
        # sent to dask workers: the parameters, not the lock or the cache
        keys = ("pole_latitude", "pole_longitude", "pole_grid_longitude", "radius", "crs")
        return {k: getattr(self, k) for k in keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def describe(self) -> str:
        """The pole, as the grid's description says it."""
        s = (
            f"rotated pole at {self.pole_latitude:g}°N {self.pole_longitude:g}°E"
            if self.pole_grid_longitude == 0
            else f"rotated pole at {self.pole_latitude:g}°N {self.pole_longitude:g}°E, "
            f"north pole at grid longitude {self.pole_grid_longitude:g}°"
        )
        return s

    # --- the transformation -------------------------------------------------------------------

    def _vectors(self, lam_r: np.ndarray, phi_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The points (earth-centred unit vectors, true frame) and the grid's eastward unit
        vectors there, each ``(3, *shape)``."""
        lam0 = lam_r - math.radians(self.pole_grid_longitude)
        c, s = np.cos(phi_r), np.sin(phi_r)
        cl, sl = np.cos(lam0), np.sin(lam0)
        local = np.stack([c * cl, c * sl, s])
        east = np.stack([-sl, cl, np.zeros_like(cl)])
        mat = self.matrix
        return np.tensordot(mat, local, axes=1), np.tensordot(mat, east, axes=1)

    def to_true(self, lam_r: Any, phi_r: Any) -> tuple[np.ndarray, np.ndarray]:
        """True longitude and latitude (radians) of the grid points (λr, φr) (radians)."""
        p, _ = self._vectors(np.asarray(lam_r, np.float64), np.asarray(phi_r, np.float64))
        lat = np.arcsin(np.clip(p[2], -1.0, 1.0))
        lon = np.arctan2(p[1], p[0])
        return lon, lat

    def lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """True longitude and latitude (degrees) of the points (x, y) in metres
        (x = R λr, y = R φr)."""
        lon, lat = self.to_true(np.divide(x, self.radius), np.divide(y, self.radius))
        return np.degrees(lon), np.degrees(lat)

    def rotation(self, lam_r: np.ndarray, phi_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cos α, sin α)`` of the angle α from true east to the grid's x axis (counter-
        clockwise): the grid's eastward unit vector is ``cos α e + sin α n`` (e, n true east
        and north); NaN at the true poles, where east is undefined."""
        p, grid_east = self._vectors(lam_r, phi_r)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.hypot(p[0], p[1])  # cos φ
            east = np.stack([-p[1] / rho, p[0] / rho])  # (−sin λ, cos λ, 0)
            cos = grid_east[0] * east[0] + grid_east[1] * east[1]
            # true north = (−sin φ cos λ, −sin φ sin λ, cos φ); only the z part remains after
            # removing the eastward one: sin α = gz / cos φ
            sin = grid_east[2] / rho
        pole = rho < 1e-12
        cos[pole] = np.nan
        sin[pole] = np.nan
        norm = np.hypot(cos, sin)  # 1 to rounding: keep the pair on the unit circle
        return cos / norm, sin / norm

    # --- the Projection interface -------------------------------------------------------------

    def _compute(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """The factors of :meth:`Projection.factors` on the grid ``y × x`` (metres), each
        ``(ny, nx)``: k = 1/cos φr, h = 1, the rotation (east = cos·gx − sin·gy),
        dk/dy = sin φr / (R cos² φr), dh/dx = 0, and the Laplacian's coefficients lx = 0,
        ly = k h ∂(h/k)/∂y = −tan φr / R."""
        r = self.radius
        lam_r, phi_r = np.meshgrid(x / r, y / r)
        shape = lam_r.shape
        c1 = np.cos(y / r)
        with np.errstate(divide="ignore", invalid="ignore"):
            k1 = np.where(np.isclose(np.abs(y / r), np.pi / 2, rtol=0, atol=1e-12), np.nan, 1 / c1)
            dk1 = np.sin(y / r) * k1 * k1 / r
            ly1 = -np.tan(y / r) / r
        cos, sin = self.rotation(lam_r, phi_r)
        zero = np.zeros(shape)
        return {
            "k": np.broadcast_to(k1[:, None], shape).copy(),
            "h": np.ones(shape),
            "cos": cos,
            "sin": sin,
            "dk_dy": np.broadcast_to(dk1[:, None], shape).copy(),
            "dh_dx": zero,
            "lx": zero,
            "ly": np.broadcast_to(ly1[:, None], shape).copy(),
        }
