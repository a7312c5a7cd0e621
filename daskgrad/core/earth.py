"""Earth models (sphere, ellipsoid) and their metric factors per latitude: the one check of
``earth``/``radius``, the units of angles, the earth-centred position of a point."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import OptionError, OptionTypeError

SPHERE_RADIUS = 6371008.8  # m, the IUGG mean radius
WGS84_A = 6378137.0  # m, semi-major axis
WGS84_F = 1 / 298.257223563  # flattening
# |φ| within this (relative) of 90° is a pole, where the eastward derivative is undefined; a
# latitude beyond 90° by more than it is an error
_POLE_RTOL = 1e-10
HALF_PI = math.pi / 2
DEGREE = math.pi / 180  # radians

# CF spellings of degrees (canonical, and the lat/lon forms of the CF conventions' table 4.1)
_DEGREES = {"degree", "degrees", "deg", "°", "arc_degree", "angular_degree"}
for _suffix in ("north", "east"):
    for _stem in ("degree", "degrees"):
        _DEGREES.update({f"{_stem}_{_suffix}", f"{_stem}_{_suffix[0]}", f"{_stem}{_suffix[0]}"})
_RADIANS = {"radian", "radians", "rad"}


@dataclass(frozen=True)
class Earth:
    """Radii of curvature of the sphere or the WGS84 ellipsoid, in metres.

    Eastward distance is ``east(φ) dλ`` (R cos φ, or N(φ) cos φ on the ellipsoid), northward
    distance ``north(φ) dφ`` (R, or the meridional radius M(φ)).

    Examples
    --------
    >>> e = make_earth("wgs84")
    >>> round(float(e.north(0.0))), round(float(e.east(0.0)))
    (6335439, 6378137)
    >>> float(make_earth("sphere", radius=1.0).east(np.pi / 3))
    0.5000000000000001
    """

    kind: str
    a: float
    e2: float = 0.0

    def east(self, phi: np.ndarray) -> np.ndarray:
        r: np.ndarray
        if self.e2 == 0:
            r = self.a * np.cos(phi)
        else:
            r = self.a * np.cos(phi) / np.sqrt(1 - self.e2 * np.sin(phi) ** 2)
        return r

    def north(self, phi: np.ndarray) -> np.ndarray:
        r: np.ndarray
        if self.e2 == 0:
            r = np.full(np.shape(phi), self.a)
        else:
            r = self.a * (1 - self.e2) / (1 - self.e2 * np.sin(phi) ** 2) ** 1.5
        return r

    @property
    def constant_north(self) -> float | None:
        """The northward scale when it does not depend on latitude (the sphere's R)."""
        return self.a if self.e2 == 0 else None

    @property
    def inverse_flattening(self) -> float:
        """1/f of the ellipsoid; 0 for a sphere (pyproj's and CF's convention)."""
        return 0.0 if self.e2 == 0 else 1.0 / (1.0 - math.sqrt(1.0 - self.e2))

    def describe(self) -> str:
        """``sphere R=6371008.8 m`` or ``WGS84 ellipsoid a=6378137 m 1/f=298.257223563``."""
        if self.e2 == 0:
            return f"sphere R={self.a:.10g} m"
        name = "WGS84 ellipsoid" if self.kind == "wgs84" else "ellipsoid"
        return f"{name} a={self.a:.10g} m 1/f={self.inverse_flattening:.12g}"

    def same(self, other: Earth) -> bool:
        """Equal axes (to 1e-9 relative): the same earth whatever it is called."""
        return math.isclose(self.a, other.a, rel_tol=1e-9) and math.isclose(
            self.e2, other.e2, rel_tol=1e-9, abs_tol=1e-15
        )


def ellipsoid(a: float, inverse_flattening: float) -> Earth:
    """The earth of semi-major axis ``a`` metres and ``1/f`` (0: a sphere of radius ``a``).

    Examples
    --------
    >>> ellipsoid(6370000.0, 0.0).describe()
    'sphere R=6370000 m'
    >>> ellipsoid(6378137.0, 298.257223563).kind
    'wgs84'
    """
    if not inverse_flattening:
        return Earth("sphere", float(a))
    f = 1.0 / inverse_flattening
    wgs84 = math.isclose(a, WGS84_A, rel_tol=1e-12) and math.isclose(f, WGS84_F, rel_tol=1e-9)
    return Earth("wgs84" if wgs84 else "ellipsoid", float(a), f * (2 - f))


# the earth models by name (``earth=``, ``--earth``), case-insensitive
EARTHS = ("sphere", "wgs84")


def make_earth(
    earth: Any,
    radius: Any = None,
    *,
    data: Earth | None = None,
    source: str = "",
    rotated: bool = False,
) -> Earth:
    """The earth model named by ``earth`` ("sphere", the default, or "wgs84"), with
    ``radius`` for a sphere: the one check of ``earth`` (and ``radius``). ``data``: the earth
    of the data's CRS (named by ``source``), which ``earth``/``radius``, when given, must
    agree with; it is then the result. ``rotated``: a rotated-pole grid's, a sphere."""
    kind = earth.lower() if isinstance(earth, str) else earth
    if rotated and earth is not None and str(earth).lower() != "sphere":
        raise OptionError(
            "earth",
            f"{{opt:earth={earth!r}}}: a rotated-pole grid ({source}) is a latitude/longitude "
            "grid on a rotated sphere; pass {opt:earth='sphere'}",
        )
    if data is not None and earth is None and radius is None:
        return data
    kind = "sphere" if earth is None else kind
    if kind not in EARTHS:
        allowed = " or ".join(map(repr, EARTHS))
        raise OptionError("earth", f"{{opt:earth}} must be {allowed}; got {earth!r}")
    if kind == "wgs84" and radius is not None:
        raise OptionError(
            "radius",
            f"{{opt:radius={radius!r}}} applies to {{opt:earth='sphere'}} only; WGS84 has "
            "its own axes",
        )
    ok = isinstance(radius, numbers.Real) and not isinstance(radius, bool)
    if radius is not None and not ok:
        raise OptionTypeError(
            "radius", f"{{opt:radius}} must be a number of metres; got {radius!r}"
        )
    if radius is not None and (not math.isfinite(radius) or radius <= 0):
        raise OptionError(
            "radius", f"{{opt:radius}} must be a positive number of metres; got {radius!r}"
        )
    if kind == "wgs84":
        mine = Earth("wgs84", WGS84_A, WGS84_F * (2 - WGS84_F))
    else:
        mine = Earth("sphere", SPHERE_RADIUS if radius is None else float(radius))
    if data is None:
        return mine
    if kind == "sphere" and earth is not None and radius is None and data.e2 == 0:
        mine = data
    if not mine.same(data):
        what = ", ".join(
            f"{{opt:{k}={v!r}}}" for k, v in (("earth", earth), ("radius", radius)) if v is not None
        )
        raise OptionError(
            "earth" if earth is not None else "radius",
            f"{what} ({mine.describe()}) contradicts the earth of the data's CRS "
            f"({data.describe()}, {source}); drop it, or change the grid_mapping",
        )
    return data


def radians_per_unit(units: Any, name: Any, what: str) -> float | None:
    """π/180 for degrees, 1 for radians, None when the coordinate has no units.

    Examples
    --------
    >>> radians_per_unit("degrees_north", "lat", "latitude") == np.pi / 180
    True
    >>> radians_per_unit("m", "y", "latitude")
    Traceback (most recent call last):
    ...
    ValueError: latitude coordinate 'y' has units 'm', which is not an angle; ...
    """
    if units is None:
        return None
    key = str(units).strip().lower()
    if key in _DEGREES:
        return DEGREE
    if key in _RADIANS:
        return 1.0
    raise ValueError(
        f"{what} coordinate {name!r} has units {units!r}, which is not an angle; expected "
        "degrees (degrees_north, degrees_east, degree, ...) or radians; pass "
        f"{what}= the name of a {what} coordinate"
    )


def check_latitude(phi: np.ndarray, name: Any) -> None:
    """ValueError when a latitude (radians) lies outside ±90°; NaN is allowed (no point)."""
    with np.errstate(invalid="ignore"):
        worst = np.nanmax(np.abs(phi)) if np.size(phi) and not np.all(np.isnan(phi)) else 0.0
    if worst > HALF_PI * (1 + _POLE_RTOL):
        raise ValueError(
            f"latitude coordinate {name!r} has values outside ±90 degrees (largest |latitude| "
            f"{np.degrees(worst):.6g} degrees); are latitude and longitude swapped, or is it "
            "in radians without units='radians'?"
        )


def poles(phi: np.ndarray) -> np.ndarray:
    near: np.ndarray = np.abs(phi) >= HALF_PI * (1 - _POLE_RTOL)
    return near


def east_factor(lat: np.ndarray, to_rad: float, earth: Earth, name: Any) -> np.ndarray:
    """1 / eastward scale, per metre and radian of longitude; NaN at the poles."""
    phi = np.asarray(lat, dtype=np.float64) * to_rad
    check_latitude(phi, name)
    with np.errstate(divide="ignore"):
        out = 1.0 / earth.east(phi)
    out[poles(phi)] = np.nan
    return out


def north_factor(lat: np.ndarray, to_rad: float, earth: Earth, name: Any) -> np.ndarray:
    """1 / northward scale, per metre and radian of latitude."""
    phi = np.asarray(lat, dtype=np.float64) * to_rad
    check_latitude(phi, name)
    return 1.0 / earth.north(phi)


def position(
    lat: np.ndarray, lon: np.ndarray, lat_rad: float, lon_rad: float, earth: Earth, name: Any
) -> np.ndarray:
    """Earth-centred Cartesian position (metres), shape ``(3, *lat.shape)``: smooth across the
    dateline and through the poles, unlike longitude."""
    phi = np.asarray(lat, dtype=np.float64) * lat_rad
    check_latitude(phi, name)
    lam = np.asarray(lon, dtype=np.float64) * lon_rad
    horizontal = earth.east(phi)  # distance from the axis: R cos φ or N cos φ
    if earth.e2 == 0:
        vertical = earth.a * np.sin(phi)
    else:
        vertical = (1 - earth.e2) * earth.a * np.sin(phi) / np.sqrt(1 - earth.e2 * np.sin(phi) ** 2)
    return np.stack([horizontal * np.cos(lam), horizontal * np.sin(lam), vertical])


def monotonic(x: np.ndarray, name: Any, what: str) -> None:
    """ValueError unless the 1-D coordinate ``x`` is free of NaN and strictly monotonic."""
    holes = np.flatnonzero(np.isnan(x))
    if holes.size:
        raise ValueError(
            f"{what} coordinate {name!r} contains NaN (first at position "
            f"{int(holes[0])}); a 1-D {what} needs a value at every point: "
            "drop or fill those points first"
        )
    d = np.diff(x)
    if not (np.all(d > 0) or np.all(d < 0)):
        raise ValueError(
            f"{what} coordinate {name!r} is not strictly monotonic (nor, for longitude, once "
            "unwrapped across the dateline); sort it first, e.g. obj.sortby(...)"
        )
