"""Earth models and metric factors for geospatial gradients: NumPy per block, lazy for dask."""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from operator import getitem
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError, OptionTypeError
from .gradient import gradient_array as gradient
from .plan import is_dask_collection

if TYPE_CHECKING:
    import dask.array as da
    from dask.typing import Key

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


def jacobian_coefficients(
    lat: np.ndarray,
    lon: np.ndarray,
    lat_rad: float,
    lon_rad: float,
    p_0: np.ndarray,
    p_1: np.ndarray,
) -> np.ndarray:
    """Chain-rule coefficients on a 2-D grid: ``(4, ny, nx)`` such that
    ``df/dx = c[0] df/d0 + c[1] df/d1`` and ``df/dy = c[2] df/d0 + c[3] df/d1``.

    ``p_0``, ``p_1`` are the derivatives of :func:`position` along the two index dims. Their
    components along the local east ``e = (-sin λ, cos λ, 0)`` and north
    ``n = (-sin φ cos λ, -sin φ sin λ, cos φ)`` are the eastward and northward distances per
    index step, ``X_k = e·p_k``, ``Y_k = n·p_k``: the Jacobian ``J = [[X_0, X_1], [Y_0, Y_1]]``
    with ``[f_0, f_1] = [f_X, f_Y] J``, so ``f_X = (f_0 Y_1 - f_1 Y_0) / D`` and
    ``f_Y = (f_1 X_0 - f_0 X_1) / D``, ``D = X_0 Y_1 - X_1 Y_0``. NaN where the grid is
    degenerate and, for df/dx, at the poles.
    """
    phi = np.asarray(lat, dtype=np.float64) * lat_rad
    lam = np.asarray(lon, dtype=np.float64) * lon_rad
    sl, cl, sp = np.sin(lam), np.cos(lam), np.sin(phi)
    x0, x1 = (cl * p[1] - sl * p[0] for p in (p_0, p_1))
    y0, y1 = (np.cos(phi) * p[2] - sp * (cl * p[0] + sl * p[1]) for p in (p_0, p_1))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (x0 * y1 - x1 * y0)
    inv[~np.isfinite(inv)] = np.nan
    c = np.stack([y1 * inv, -y0 * inv, -x1 * inv, x0 * inv])
    c[:2, poles(phi)] = np.nan
    return c


def writable(a: np.ndarray) -> np.ndarray:
    # a chunk that distributed received over the network may be a read-only view of its bytes
    return a if a.flags.writeable else a.copy()


def scale_inplace(g: np.ndarray, factor: np.ndarray, axis: int) -> np.ndarray:
    """``g * factor`` along ``axis``, written into ``g`` (a fresh derivative nobody else reads)."""
    g = writable(g)
    shape = [1] * g.ndim
    shape[axis] = -1
    np.multiply(g, factor.reshape(shape), out=g, casting="unsafe")
    return g


# Bytes of one operand per slab of the chain-rule combination: the temporaries stay in cache.
_SLAB_BYTES = 1 << 19


def combine_inplace(
    f0: np.ndarray, f1: np.ndarray, coef: np.ndarray, axes: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(df/dx, df/dy)`` from the index derivatives ``f0``, ``f1`` (along the data's ``axes``)
    and :func:`jacobian_coefficients`, written into ``f0`` and ``f1`` slab by slab along axis 0
    (fresh derivatives nobody else reads), so no temporary is as large as a chunk."""
    f0, f1 = writable(f0), writable(f1)
    if f0.size == 0:
        return f0, f1
    c = coef if axes[0] < axes[1] else coef.swapaxes(1, 2)
    shape = [1] * f0.ndim
    for axis, n in zip(sorted(axes), c.shape[1:], strict=True):
        shape[axis] = n
    parts = [ci.reshape(shape) for ci in c]
    row = f0[0].nbytes or 1
    step = max(1, _SLAB_BYTES // row)
    on_0 = 0 in axes
    for s in range(0, f0.shape[0], step):
        sl = slice(s, s + step)
        a, b = f0[sl], f1[sl]
        cs = [ci[sl] if on_0 else ci for ci in parts]
        x = a * cs[0]
        x += b * cs[1]
        b *= cs[3]
        b += a * cs[2]
        a[...] = x
    return f0, f1


def lat_factor(
    kind: str, lat: Any, to_rad: float, earth: Earth, name: Any, chunks: tuple[int, ...] | None
) -> Any:
    """:func:`east_factor` or :func:`north_factor` of a 1-D latitude: NumPy when ``chunks`` is
    None, else a dask array with those chunks (lazy, the range check included)."""
    fn = east_factor if kind == "east" else north_factor
    if chunks is None:
        return fn(np.asarray(lat), to_rad, earth, name)
    import dask.array as da

    lat = lat.rechunk((chunks,)) if is_dask_collection(lat) else da.from_array(lat, (chunks,))
    return lat.map_blocks(fn, to_rad, earth, name, dtype=np.float64, meta=np.empty((0,)))


def curvilinear_coefficients(
    lat: Any,
    lon: Any,
    lat_rad: float,
    lon_rad: float,
    earth: Earth,
    name: Any,
    chunks: tuple[tuple[int, ...], tuple[int, ...]] | None,
    opts: dict[str, Any],
) -> Any:
    """:func:`jacobian_coefficients` of 2-D coordinates: NumPy when ``chunks`` is None, else a
    dask array chunked ``(4,) + chunks``, computed once per horizontal chunk."""
    args = (lat_rad, lon_rad)
    if chunks is None:
        lat, lon = np.asarray(lat), np.asarray(lon)
        p_0, p_1 = gradient(position(lat, lon, *args, earth, name), dim=[1, 2], **opts)
        return jacobian_coefficients(lat, lon, *args, p_0, p_1)
    import dask.array as da

    lat, lon = (
        c.rechunk(chunks) if is_dask_collection(c) else da.from_array(c, chunks) for c in (lat, lon)
    )
    meta = np.empty((0, 0, 0))
    pos = da.map_blocks(
        position, lat, lon, *args, earth, name, new_axis=0, chunks=((3,), *chunks), meta=meta
    )
    p_0, p_1 = gradient(pos, dim=[1, 2], **opts)
    coef = da.map_blocks(
        jacobian_coefficients, lat, lon, *args, p_0, p_1, chunks=((4,), *chunks), meta=meta
    )
    return barrier(coef)


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


def unwrap_dask(lam: da.Array, axis: int) -> da.Array:
    """``numpy.unwrap`` of a dask array (radians) along ``axis``, lazily: the 2π jumps between
    neighbours summed across chunks (``da.diff``'s ``prepend`` would compute its argument)."""
    import dask.array as da

    def part(s: slice) -> da.Array:
        planes: da.Array = lam[(slice(None),) * axis + (s,)]
        return planes

    n = lam.shape[axis]
    jumps = -2 * np.pi * da.round((part(slice(1, n)) - part(slice(0, n - 1))) / (2 * np.pi))
    total = da.concatenate([da.zeros_like(part(slice(0, 1))), da.cumsum(jumps, axis)], axis)
    unwrapped: da.Array = (lam + total).rechunk(lam.chunks)
    return unwrapped


def scale(g: Any, factor: Any, axis: int) -> Any:
    """``g`` times a 1-D ``factor`` along ``axis``, in place, per chunk for dask."""
    if not is_dask_collection(g):
        return scale_inplace(g, factor, axis)
    import dask.array as da

    ind = tuple(range(g.ndim))
    return da.blockwise(
        scale_inplace, ind, g, ind, factor, (axis,), axis=axis, dtype=g.dtype, meta=g._meta
    )


def barrier(a: da.Array) -> da.Array:
    """``a`` behind a layer of aliases: dask would otherwise fuse the coefficients' blockwise
    tasks into every consumer, recomputing them once per time step."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    from ..compat import Alias

    name = f"geospatial-metrics-{a.name}"
    layer: dict[Key, Alias] = {
        (name, *i): Alias((name, *i), (a.name, *i))
        for i in itertools.product(*map(range, a.numblocks))
    }
    # dask.array.Array fails dask's own DaskCollection protocol (see core.graph)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[a])  # type: ignore[list-item]
    return da.Array(graph, name, a.chunks, meta=a._meta)


def combine_dask(
    g0: da.Array, g1: da.Array, coef: da.Array, axes: tuple[int, int]
) -> tuple[da.Array, ...]:
    """One task per chunk turns the two index derivatives into (df/dx, df/dy)."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    from ..compat import Task, TaskRef

    token = tokenize(g0.name, g1.name, coef.name, axes)
    name = f"geospatial-{token}"
    idxs = list(itertools.product(*map(range, g0.numblocks)))
    layer: dict[Key, Task] = {
        (name, *i): Task(
            (name, *i),
            combine_inplace,
            TaskRef((g0.name, *i)),
            TaskRef((g1.name, *i)),
            TaskRef((coef.name, 0, i[axes[0]], i[axes[1]])),
            axes,
        )
        for i in idxs
    }
    # dask.array.Array fails dask's own DaskCollection protocol (see core.graph)
    graph = HighLevelGraph.from_collections(
        name,
        layer,
        dependencies=[g0, g1, coef],  # type: ignore[list-item]
    )
    outs = []
    for k, word in enumerate(("dx", "dy")):
        out_name = f"geospatial-{word}-{token}"
        sub: dict[Key, Task] = {
            (out_name, *i): Task((out_name, *i), getitem, TaskRef((name, *i)), k) for i in idxs
        }
        g = HighLevelGraph(
            {**graph.layers, out_name: sub}, {**graph.dependencies, out_name: {name}}
        )
        outs.append(da.Array(g, out_name, g0.chunks, meta=g0._meta))
    return tuple(outs)
