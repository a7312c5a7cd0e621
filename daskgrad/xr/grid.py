"""The public horizontal grid: latitude/longitude (1-D or 2-D) or projection x/y with a CRS,
its earth model, periodicity and metric factors, built once from a Dataset or DataArray."""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from ..core import earth as m
from ..core.gradient import gradient_array as gradient
from ..core.plan import is_dask_collection, uniform_step
from ..core.stencil import EvenCoords
from ..errors import OptionError, warn_caller
from . import units as units_pint

__all__ = ["Grid", "grid_dims"]

_LAT_NAMES = ("lat", "latitude", "nav_lat")
_LON_NAMES = ("lon", "longitude", "nav_lon")
_PROJECTION = {"x": "projection_x_coordinate", "y": "projection_y_coordinate"}
_METRES = {"m": 1.0, "metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0, "km": 1e3}
_METRES.update({"kilometre": 1e3, "kilometer": 1e3, "kilometres": 1e3, "kilometers": 1e3})


class Grid:
    """The horizontal grid of a Dataset or DataArray, built once and passed around.

    A latitude/longitude grid (1-D coordinates on two dims, or 2-D curvilinear ones) or a
    projected grid (1-D projection x/y coordinates in m or km plus a CRS), with the earth it
    is on, whether longitude wraps around, and its metric factors (computed lazily once per
    horizontal chunking and shared by every variable differentiated with it).

    Parameters
    ----------
    obj : DataArray or Dataset
        The data whose coordinates and CF metadata give the grid. Projection coordinates are
        found by ``standard_name`` (``projection_x_coordinate``/``projection_y_coordinate``)
        or, with ``crs``, as the coordinates of dims named x and y; the CRS comes from the CF
        ``grid_mapping`` variable its variables name (``pyproj.CRS.from_cf``; for a DataArray
        the grid-mapping variable must be among its coords, as
        ``xr.open_dataset(..., decode_coords="all")`` puts it), or from ``crs``. Otherwise
        latitude/longitude as :func:`daskgrad.geospatial_gradient` finds them.
    latitude, longitude : str, optional
        Names of the latitude/longitude coordinates; giving one asks for a latitude/longitude
        grid even when projection coordinates are present.
    x, y : str, optional
        Names of the projection x/y coordinates (a projected CRS is then needed).
    crs : pyproj.CRS, dict, str or int, optional
        The CRS when the data has no ``grid_mapping``: a pyproj CRS, a CF grid-mapping dict, a
        PROJ string or an EPSG code. A geographic CRS gives the earth of a lat/lon grid.
    earth : {"sphere", "wgs84"}, optional
        The earth model. By default the ellipsoid or sphere of the CRS, else a sphere of
        radius 6371008.8 m. Contradicting the CRS is a ValueError naming both.
    radius : float, optional
        The sphere's radius in metres (``earth="sphere"``); contradicting the CRS is a
        ValueError.
    periodic : None or bool
        As for :func:`daskgrad.geospatial_gradient` (1-D longitudes only).

    Returns
    -------
    Grid
        With ``dims`` (the two horizontal dims, y-like first), ``projected``, ``crs`` (a
        pyproj CRS or None), ``earth`` (its ``describe()`` is said in results' attrs),
        ``periodic``, and :meth:`describe`. Pass it as ``grid=`` to
        :func:`daskgrad.geospatial_gradient`, :func:`daskgrad.divergence`,
        :func:`daskgrad.vorticity`, :func:`daskgrad.laplacian` and
        :func:`daskgrad.rotate_winds`, which then reuse its map factors.

    Examples
    --------
    >>> import pyproj
    >>> x = np.arange(-3.0, 4.0) * 3000.0
    >>> ds = xr.Dataset(
    ...     {"T": (("y", "x"), np.zeros((7, 7)), {"grid_mapping": "crs"}),
    ...      "crs": ((), 0, {"grid_mapping_name": "lambert_conformal_conic",
    ...                      "standard_parallel": 38.5, "longitude_of_central_meridian": 262.5,
    ...                      "latitude_of_projection_origin": 38.5, "earth_radius": 6371229.0})},
    ...     coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
    ...             "y": ("y", x, {"standard_name": "projection_y_coordinate", "units": "m"})})
    >>> grid = Grid(ds)
    >>> grid.projected, grid.dims
    (True, ('y', 'x'))
    >>> grid.describe()[:50]
    "projected grid 'x'/'y' (Lambert Conic Conformal (1"
    >>> grid.describe()[50:]
    "SP)) on a sphere R=6371229 m (from grid_mapping 'crs')"
    >>> lat = xr.DataArray(np.arange(-60.0, 61.0, 30.0), dims="lat")
    >>> Grid(xr.Dataset(coords={"lat": lat, "lon": np.arange(0.0, 360.0, 90.0)})).describe()
    "latitude/longitude grid 'lat'/'lon' (periodic) on a sphere R=6371008.8 m (default)"
    """

    def __init__(
        self,
        obj: xr.DataArray | xr.Dataset,
        *,
        latitude: Hashable | None = None,
        longitude: Hashable | None = None,
        x: Hashable | None = None,
        y: Hashable | None = None,
        crs: Any = None,
        earth: str | None = None,
        radius: float | None = None,
        periodic: bool | None = None,
    ) -> None:
        if not isinstance(obj, xr.DataArray | xr.Dataset):
            raise TypeError(f"Grid takes an xarray DataArray or Dataset; got {type(obj).__name__}")
        if periodic not in (None, True, False):
            raise TypeError(f"periodic must be None, True or False; got {periodic!r}")
        self.crs, self.crs_source = _crs(obj, crs)
        latlon = latitude is not None or longitude is not None
        projected_crs = self.crs is not None and self.crs.is_projected
        names = None if latlon else _projection_xy(obj, x, y, projected_crs)
        if names is not None and not projected_crs:
            explicit = x is not None or y is not None or self.crs is not None
            if explicit or len(_latlon_names(obj)) < 2:
                raise OptionError(
                    "crs",
                    f"projection coordinates {names[0]!r}/{names[1]!r} need a projected CRS; "
                    + (
                        f"{self.crs_source} is {self.crs.name!r}"
                        if self.crs is not None
                        else "the data has no grid_mapping: pass {opt:crs} (a PROJ string, "
                        "an EPSG code, a CF dict or a pyproj CRS)"
                    ),
                )
            names = None  # lat/lon found next, or an error naming both kinds
        if projected_crs and names is None and not latlon:
            raise OptionError(
                "crs",
                f"{self.crs_source} is a projected CRS ({self.crs.name!r}) but no projection "
                "x/y coordinates were found (standard_name projection_x_coordinate/"
                f"projection_y_coordinate, or dims x and y); the coordinates are "
                f"{list(obj.coords)}; pass {{opt:x}} and {{opt:y}}",
            )
        self.earth, self.earth_source = _earth(earth, radius, self.crs, self.crs_source)
        self.projected = names is not None
        self.projection: Any = None
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._eager: Grid | None = None
        self._periodic_arg = periodic
        if self.projected:
            assert names is not None
            self._init_projected(obj, *names, periodic)
        else:
            self._init_latlon(obj, latitude, longitude, periodic)

    # --- construction -------------------------------------------------------------------------

    def _init_projected(self, obj, x_name, y_name, periodic) -> None:
        from ..core.projection import Projection

        if periodic:
            raise ValueError("periodic=True needs a 1-D longitude; a projected grid never wraps")
        coords = []
        for name, what in ((x_name, "x"), (y_name, "y")):
            c = obj[name]
            if c.ndim != 1 or c.dtype.kind not in "iuf":
                raise ValueError(
                    f"projection {what} coordinate {name!r} must be a 1-D array of real "
                    f"numbers; it has dims {c.dims} and dtype {c.dtype}"
                )
            unit = str(c.attrs.get("units", "m")).strip()
            if unit not in _METRES:
                raise ValueError(
                    f"projection {what} coordinate {name!r} has units {unit!r}; expected m or km"
                )
            data = c.data.astype(np.float64) * _METRES[unit]
            if not is_dask_collection(data):
                data = np.asarray(data)
                m.monotonic(data, name, f"projection {what}")
            coords.append((c, data))
        (xc, self.x), (yc, self.y) = coords
        if xc.dims == yc.dims:
            raise ValueError(
                f"projection coordinates {x_name!r} and {y_name!r} share the dim {xc.dims[0]!r}"
            )
        self.dims: tuple[Hashable, Hashable] = (yc.dims[0], xc.dims[0])
        self.x_name, self.y_name = x_name, y_name
        self.lat_name, self.lon_name = y_name, x_name  # the names the messages give
        self.curvilinear = False
        self.periodic = False
        self.projection = Projection(self.crs)
        self.skip = {x_name, y_name, *_latlon_names(obj)}

    def _init_latlon(self, obj, latitude, longitude, periodic) -> None:
        self.lat_name = find_coordinate(obj, latitude, "latitude", _LAT_NAMES)
        self.lon_name = find_coordinate(obj, longitude, "longitude", _LON_NAMES)
        if self.lat_name == self.lon_name:
            raise ValueError(f"latitude and longitude are the same coordinate {self.lat_name!r}")
        lat, lon = (_angle(obj[n]) for n in (self.lat_name, self.lon_name))
        for c, what in ((lat, "latitude"), (lon, "longitude")):
            if c.ndim not in (1, 2) or c.dtype.kind not in "iuf":
                raise ValueError(
                    f"{what} coordinate {c.name!r} must be a 1-D or 2-D array of real numbers; "
                    f"it has dims {c.dims} and dtype {c.dtype}"
                )
        lat_rad = m.radians_per_unit(lat.attrs.get("units"), lat.name, "latitude")
        lon_rad = m.radians_per_unit(lon.attrs.get("units"), lon.name, "longitude")
        self.curvilinear = lat.ndim == 2 or lon.ndim == 2
        if self.curvilinear:
            dims = lat.dims if lat.ndim == 2 else lon.dims
            if not (set(lat.dims) <= set(dims) and set(lon.dims) <= set(dims)):
                raise ValueError(
                    f"latitude {lat.name!r} has dims {lat.dims} and longitude {lon.name!r} "
                    f"dims {lon.dims}; 2-D coordinates must share the same two dims"
                )
            if periodic:
                raise ValueError(
                    "periodic=True needs a 1-D longitude; 2-D coordinates "
                    f"{lat.name!r}/{lon.name!r} are differentiated without wrapping"
                )
            sizes = dict((lat if lat.ndim == 2 else lon).sizes)
            lat, lon = (c.variable.set_dims(sizes).transpose(*dims) for c in (lat, lon))
        elif lat.dims == lon.dims:
            raise ValueError(
                f"latitude {lat.name!r} and longitude {lon.name!r} share the dim {lat.dims[0]!r} "
                "(points along a track or an unstructured mesh); geospatial gradients need a "
                "grid: 1-D coordinates on two dims or 2-D coordinates"
            )
        else:
            dims = (lat.dims[0], lon.dims[0])
            lat, lon = lat.variable, lon.variable
        self.dims = dims
        self.lat, self.lon = lat.data, lon.data
        self.lat_rad, self.lon_rad = self._default_units(lat_rad, lon_rad)
        self.skip = {self.lat_name, self.lon_name}
        self._setup(periodic)

    def _setup(self, periodic) -> None:
        """Checks what can be checked without computing (dask coordinates are checked as their
        chunks compute) and decides the wrap."""
        if not is_dask_collection(self.lat):
            m.check_latitude(np.asarray(self.lat, dtype=np.float64) * self.lat_rad, self.lat_name)
            if not self.curvilinear:
                m.monotonic(np.asarray(self.lat, dtype=np.float64), self.lat_name, "latitude")
        self.periodic = False if self.curvilinear else self._periodic_1d(periodic)

    def eager(self) -> Grid:
        """This grid with NumPy coordinates, for NumPy data (dask coordinates computed)."""
        lazy = [self.x, self.y] if self.projected else [self.lat, self.lon]
        if not any(is_dask_collection(c) for c in lazy):
            return self
        if self._eager is None:
            grid = copy.copy(self)
            grid._cache = {}
            if self.projected:
                grid.x, grid.y = np.asarray(self.x), np.asarray(self.y)
            else:
                grid.lat, grid.lon = np.asarray(self.lat), np.asarray(self.lon)
                grid._setup(self._periodic_arg)
            self._eager = grid
        return self._eager

    def describe(self) -> str:
        """One line saying which grid and which earth (the command line's summary shows it)."""
        if self.projected:
            op = self.crs.coordinate_operation
            proj = op.method_name if op is not None else self.crs.name
            what = f"projected grid {self.x_name!r}/{self.y_name!r} ({proj})"
        else:
            shape = "2-D" if self.curvilinear else "periodic" if self.periodic else "1-D"
            what = f"latitude/longitude grid {self.lat_name!r}/{self.lon_name!r} ({shape})"
        return f"{what} on a {self.earth.describe()} ({self.earth_source})"

    def _default_units(self, lat_rad: float | None, lon_rad: float | None) -> tuple[float, float]:
        """Radians per unit of latitude and longitude: coordinates without units are degrees;
        warn when a latitude could be radians."""
        lat, lon = self.lat, self.lon
        lazy = is_dask_collection(lat) or is_dask_collection(lon)
        if lat_rad is None and lon_rad != m.DEGREE and not lazy and np.size(lat) > 1:
            small_lat = np.nanmax(np.abs(lat)) <= np.pi / 2
            small_lon = lon_rad == 1.0 or np.nanmax(np.abs(lon)) <= 2 * np.pi
            if small_lat and small_lon:
                warn_caller(
                    f"latitude {self.lat_name!r} has no units and all its values lie within "
                    "±π/2; it is taken as degrees. Set its attrs['units'] to 'degrees_north' "
                    "or 'radians' to say which"
                )
        return lat_rad or m.DEGREE, lon_rad or m.DEGREE

    # --- 1-D latitude/longitude -----------------------------------------------------------------

    def lon_1d(self):
        """Longitude in radians, unwrapped (a grid crossing the dateline), and its step when
        uniform."""
        lam = self.lon
        if is_dask_collection(lam):
            return m.unwrap_dask(lam.astype(np.float64) * self.lon_rad, 0), None
        lam = np.unwrap(np.asarray(lam, dtype=np.float64) * self.lon_rad)
        m.monotonic(lam, self.lon_name, "longitude")
        return lam, uniform_step(lam, self.lon.dtype)

    def _periodic_1d(self, periodic) -> bool:
        if periodic is False or (periodic is None and is_dask_collection(self.lon)):
            return False
        if is_dask_collection(self.lon):
            return True  # asked for; the wrap step is computed lazily with a period of 360°
        lam, step = self.lon_1d()
        n = lam.size
        covers = step is not None and math.isclose(n * abs(step), 2 * np.pi, rel_tol=1e-6)
        if not covers and periodic and n > 1 and step is None:
            gap = 2 * np.pi - abs(lam[-1] - lam[0])
            covers = 0 < gap <= np.max(np.abs(np.diff(lam))) * (1 + 1e-6)
        if periodic and not covers:
            span = np.degrees(abs(lam[-1] - lam[0])) if n else 0.0
            raise ValueError(
                f"periodic=True but longitude {self.lon_name!r} does not cover the globe: "
                f"{n} points spanning {span:.6g} degrees"
                + (
                    " (its last point repeats the first; drop it)"
                    if math.isclose(span, 360)
                    else ""
                )
            )
        return covers

    def _lat_factor(self, kind: str, chunks):
        key = (kind, chunks)
        if key not in self._cache:
            args = (self.lat, self.lat_rad, self.earth, self.lat_name)
            self._cache[key] = m.lat_factor(kind, *args, chunks)
        return self._cache[key]

    def _lat_spacing(self):
        """Latitude spacing for the index derivative: metres on the sphere (R·φ, so no scaling
        pass is needed), radians on the ellipsoid."""
        scale = self.lat_rad * (self.earth.constant_north or 1.0)
        phi = self.lat
        if is_dask_collection(phi):
            return phi.astype(np.float64) * scale
        # an even coordinate's step as EvenCoords: uniform arithmetic, and the coordinate rule
        # at the edges of a regional grid, as for dask coordinates (not inspected)
        phi = np.asarray(phi, dtype=np.float64)
        step = uniform_step(phi, self.lat.dtype)
        return phi * scale if step is None else EvenCoords(step * scale)

    def _differentiate_1d(self, x, ay: int, ax: int, opts):
        lam, step = self.lon_1d()
        # an even longitude's period is n steps (its 360° to the coordinates' rounding)
        periodic = {ax: None if step is not None else 2 * np.pi} if self.periodic else None
        g_y, g_x = gradient(
            x,
            dim=[ay, ax],
            spacing=[self._lat_spacing(), lam if step is None else EvenCoords(step)],
            periodic=periodic,
            **opts,
        )
        chunks = x.chunks[ay] if is_dask_collection(x) else None
        dx = m.scale(g_x, self._lat_factor("east", chunks), ay)
        if self.earth.constant_north is None:
            g_y = m.scale(g_y, self._lat_factor("north", chunks), ay)
        return dx, g_y

    # --- 2-D latitude/longitude -----------------------------------------------------------------

    def _coefficients(self, chunks, opts):
        key = ("jacobian", chunks, tuple(sorted(opts.items())))
        if key not in self._cache:
            self._cache[key] = m.curvilinear_coefficients(
                self.lat,
                self.lon,
                self.lat_rad,
                self.lon_rad,
                self.earth,
                self.lat_name,
                chunks,
                opts,
            )
        return self._cache[key]

    def _differentiate_2d(self, x, a0: int, a1: int, opts, coef=None):
        g0, g1 = gradient(x, dim=[a0, a1], **opts)
        if not is_dask_collection(x):
            return m.combine_inplace(g0, g1, coef or self._coefficients(None, opts), (a0, a1))
        if coef is None:
            coef = self._coefficients((x.chunks[a0], x.chunks[a1]), opts)
        return m.combine_dask(g0, g1, coef, (a0, a1))

    # --- projected --------------------------------------------------------------------------------

    def xy_spacing(self, c):
        """Spacing of a projection coordinate (metres): its step when even."""
        if is_dask_collection(c):
            return c
        step = uniform_step(c, c.dtype)
        return c if step is None else EvenCoords(step)

    def map_factors(self, chunks: tuple[tuple[int, ...], tuple[int, ...]] | None, kind: str):
        """The projection's factors for ``kind`` (see :func:`factor_block`), ``(n, ny, nx)``:
        NumPy when ``chunks`` (along y, x) is None, else dask, computed once per horizontal
        chunk and cached on the grid."""
        key = ("factors", chunks, kind)
        if key in self._cache:
            return self._cache[key]
        n = {"rotation": 2}.get(kind, 4)
        out: Any
        if chunks is None:
            out = factor_block(self.projection, kind, np.asarray(self.y), np.asarray(self.x))
        else:
            import dask.array as da

            y, x = (
                c.rechunk((ch,)) if is_dask_collection(c) else da.from_array(c, (ch,))
                for c, ch in zip((self.y, self.x), chunks, strict=True)
            )
            out = da.blockwise(
                factor_block,
                "kij",
                self.projection,
                None,
                kind,
                None,
                y,
                "i",
                x,
                "j",
                new_axes={"k": n},
                dtype=np.float64,
                meta=np.empty((0, 0, 0)),
            )
            out = m.barrier(out)
        self._cache[key] = out
        return out

    def _differentiate_projected(self, x, ay: int, ax: int, opts, frame: str):
        spacing = [self.xy_spacing(self.y), self.xy_spacing(self.x)]
        g_y, g_x = gradient(x, dim=[ay, ax], spacing=spacing, **opts)
        if not is_dask_collection(x):
            return m.combine_inplace(g_y, g_x, self.map_factors(None, frame), (ay, ax))
        coef = self.map_factors((x.chunks[ay], x.chunks[ax]), frame)
        return m.combine_dask(g_y, g_x, coef, (ay, ax))

    def rotation(self, chunks: tuple[tuple[int, ...], tuple[int, ...]] | None):
        """``(cos, sin)`` of the angle turning grid-relative components eastward/northward
        (east = cos·gx − sin·gy), ``(2, ny, nx)``; None on a latitude/longitude grid."""
        if not self.projected:
            return None
        return self.map_factors(chunks, "rotation")

    # --- every grid -----------------------------------------------------------------------------

    def differentiate(
        self, da_: xr.DataArray, opts, frame: str = "earth"
    ) -> tuple[xr.DataArray, xr.DataArray]:
        """``(df/dx, df/dy)`` per metre of ``da_`` (eastward/northward, or along grid x/y with
        ``frame="grid"`` on a projected grid), named and with attrs."""
        if frame not in ("earth", "grid"):
            raise OptionError("frame", f"{{opt:frame}} must be 'earth' or 'grid'; got {frame!r}")
        missing = [d for d in self.dims if d not in da_.dims]
        if missing:
            raise ValueError(
                f"{_what(da_)} has dims {da_.dims}, not the horizontal dims {self.dims} of "
                f"{self.lat_name!r}/{self.lon_name!r}"
            )
        x, data_units = units_pint.split(da_.data)
        grid = self
        if not is_dask_collection(x):
            x, grid = np.asarray(x), self.eager()
        a0, a1 = (da_.get_axis_num(d) for d in self.dims)
        try:
            if self.projected:
                dx, dy = grid._differentiate_projected(x, a0, a1, opts, frame)
            elif self.curvilinear:
                dx, dy = grid._differentiate_2d(x, a0, a1, opts)
            else:
                dx, dy = grid._differentiate_1d(x, a0, a1, opts)
        except OptionError as err:  # the core numbers dims; the error names them
            err.dims = da_.dims
            raise
        except (ValueError, TypeError, IndexError) as err:  # gradient()'s, naming axes
            names = ", ".join(f"{i}={d!r}" for i, d in enumerate(da_.dims))
            raise type(err)(f"{err} (differentiating {_what(da_)}; dims {names})") from err
        from .gradient import describe, divide_units

        what = describe(da_)
        units = None if data_units is not None else da_.attrs.get("units")
        if data_units is not None:  # a Quantity in: Quantities per metre, in its registry
            reg = data_units._REGISTRY
            per_m = units_pint.derivative_units(data_units, reg.meter, reg)
            dx, dy = units_pint.quantity(dx, per_m), units_pint.quantity(dy, per_m)

        def wrap(g: Any, c: str, word: str) -> xr.DataArray:
            return xr.DataArray(
                g,
                coords=da_.coords,
                dims=da_.dims,
                name=None if da_.name is None else f"d{da_.name}_d{c}",
                attrs={
                    "long_name": f"{word} derivative of {what}{_order(opts)}",
                    **({"units": divide_units(units, "m")} if isinstance(units, str) else {}),
                    **self.attrs(),
                },
            )

        if self.projected and frame == "grid":
            return wrap(dx, "x", "grid-x"), wrap(dy, "y", "grid-y")
        return wrap(dx, "x", "eastward"), wrap(dy, "y", "northward")

    def attrs(self) -> dict[str, str]:
        """The attrs every result on this grid carries: the earth model it used."""
        return {"earth": self.earth.describe()}


def factor_block(proj: Any, kind: str, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One horizontal chunk's factors: the chain-rule coefficients ``c`` of
    :func:`daskgrad.core.earth.combine_inplace` (``d/dx = c0 ∂f/∂y + c1 ∂f/∂x``,
    ``d/dy = c2 ∂f/∂y + c3 ∂f/∂x``) for ``kind`` "grid" (k ∂f/∂x, h ∂f/∂y) or "earth" (those
    turned eastward/northward), or ``(cos, sin)`` for "rotation"."""
    f = proj.factors(x, y)
    k, h, cos, sin = f["k"], f["h"], f["cos"], f["sin"]
    if kind == "rotation":
        return np.stack([cos, sin])
    if kind == "grid":
        zero = np.zeros_like(k)
        return np.stack([zero, k, h, zero])
    return np.stack([-sin * h, cos * k, cos * h, sin * k])


# --- finding the coordinates and the CRS --------------------------------------------------------


def find_coordinate(obj, given, what: str, names: tuple[str, ...]) -> Hashable:
    """The name of ``obj``'s latitude or longitude coordinate (``what``): ``given``, or found by
    its CF attributes, or by one of ``names``."""
    variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
    if given is not None:
        if given not in variables:
            raise OptionError(
                what,
                f"{{opt:{what}={given!r}}} is not a coordinate of the input; its coordinates "
                f"are {list(obj.coords)}",
            )
        return given
    pools = [obj.coords]
    if isinstance(obj, xr.Dataset):  # 2-D lat/lon stored as data variables
        pools.append(obj.data_vars)
    for pool in pools:
        found = _cf_candidates(obj, pool, what) or [n for n in names if n in pool]
        if len(found) == 1:
            return found[0]
        if found:
            raise OptionError(
                what, f"several {what} coordinates: {found}; pass {{opt:{what}=NAME}}, one of them"
            )
    raise OptionError(
        what,
        f"no {what} coordinate found: none has CF attributes (standard_name {what!r}, units "
        f"'degrees_{'north' if what == 'latitude' else 'east'}') nor one of the names "
        f"{list(names)}; the input's coordinates are {list(obj.coords)}; pass "
        f"{{opt:{what}=NAME}}",
    )


def _cf_candidates(obj, pool, what: str) -> list[Hashable]:
    try:
        import cf_xarray  # noqa: F401
    except ImportError:
        return []
    if isinstance(obj, xr.Dataset) and pool is not obj.coords:
        obj = obj.set_coords(list(pool))
    return [n for n in obj.cf.coordinates.get(what, []) if n in pool]


def _latlon_names(obj) -> set[Hashable]:
    found = set()
    for what, names in (("latitude", _LAT_NAMES), ("longitude", _LON_NAMES)):
        try:
            found.add(find_coordinate(obj, None, what, names))
        except ValueError:
            pass
    return found


def grid_dims(obj, latitude=None, longitude=None, crs=None) -> list[Hashable]:
    """The horizontal dims of ``obj``'s grid (found as :class:`Grid` finds it): the dims a
    geospatial derivative differentiates along."""
    return list(Grid(obj, latitude=latitude, longitude=longitude, crs=crs).dims)


def _projection_xy(obj, x, y, have_crs: bool) -> tuple[Hashable, Hashable] | None:
    """Names of the projection x/y coordinates: given, or by standard_name, or (with a
    projected CRS) the coordinates of dims named x and y."""
    if x is not None or y is not None:
        for name, what in ((x, "x"), (y, "y")):
            if name is None or name not in obj.coords:
                raise OptionError(
                    what,
                    f"{{opt:{what}={name!r}}} is not a coordinate of the input; its coordinates "
                    f"are {list(obj.coords)}"
                    + ("" if name is not None else " (give {opt:x} and {opt:y} together)"),
                )
        return x, y
    found = []
    for what in ("x", "y"):
        hits = [
            n for n, c in obj.coords.items() if c.attrs.get("standard_name") == _PROJECTION[what]
        ]
        if len(hits) > 1:
            raise OptionError(
                what, f"several projection {what} coordinates: {hits}; pass {{opt:{what}=NAME}}"
            )
        if not hits and have_crs:
            hits = [n for n in (what, what.upper()) if n in obj.coords and obj[n].dims == (n,)]
        found.append(hits[0] if hits else None)
    if found[0] is None or found[1] is None:
        return None
    return found[0], found[1]


def _grid_mapping(obj) -> tuple[Hashable, dict[str, Any]] | None:
    """The CF grid-mapping variable the data's variables name (attrs or, as xarray's
    ``decode_coords="all"`` leaves it, encoding): its name and attrs."""
    variables = [obj] if isinstance(obj, xr.DataArray) else list(obj.data_vars.values())
    pool = obj.coords if isinstance(obj, xr.DataArray) else obj.variables
    names: dict[Hashable, None] = {}
    for v in variables:
        ref = v.attrs.get("grid_mapping", v.encoding.get("grid_mapping"))
        if isinstance(ref, str) and ref.strip():
            names[ref.split(":")[0].split()[0]] = None
    if not names:
        found = [n for n, c in pool.items() if "grid_mapping_name" in c.attrs]
        names = dict.fromkeys(found[:1]) if len(found) == 1 else {}
    if len(names) > 1:
        raise ValueError(f"the variables name several grid mappings {list(names)}; select one")
    if not names:
        return None
    (name,) = names
    if name not in pool:
        if isinstance(obj, xr.DataArray):
            warn_caller(
                f"{_what(obj)} names grid_mapping {name!r}, which is not among its coords: "
                "its CRS and earth are not used (pass the Dataset, open it with "
                "decode_coords='all', or pass crs=)"
            )
            return None
        raise ValueError(f"grid_mapping {name!r} is named but not in the dataset")
    return name, dict(pool[name].attrs)


def _crs(obj, crs) -> tuple[Any, str | None]:
    """The CRS (pyproj) of the data or of ``crs``, and where it came from."""
    mapping = _grid_mapping(obj)
    if crs is None and mapping is None:
        return None, None
    import pyproj

    data = None
    if mapping is not None:
        try:
            data = pyproj.CRS.from_cf(mapping[1])
        except Exception as err:
            raise ValueError(
                f"grid_mapping {mapping[0]!r} does not describe a CRS pyproj knows: {err}"
            ) from None
    if crs is None:
        return data, f"from grid_mapping {mapping[0]!r}" if mapping else None
    try:
        given = (
            pyproj.CRS.from_cf(crs) if isinstance(crs, dict) else pyproj.CRS.from_user_input(crs)
        )
    except Exception as err:
        raise OptionError(
            "crs", f"{{opt:crs}} is not a CRS pyproj knows ({crs!r}): {err}"
        ) from None
    if mapping is not None and data is not None and not given.equals(data, ignore_axis_order=True):
        raise OptionError(
            "crs",
            f"{{opt:crs}} ({given.name!r}) contradicts grid_mapping {mapping[0]!r} of the data "
            f"({data.name!r}); drop one",
        )
    return given, "from crs="


def _earth(earth, radius, crs, source) -> tuple[m.Earth, str]:
    """The earth model: the CRS's, unless ``earth``/``radius`` say otherwise (then they must
    agree with it); without a CRS, ``earth``/``radius`` or the default sphere."""
    given = earth is not None or radius is not None
    if crs is None:
        return m.make_earth(earth or "sphere", radius), "earth=/radius=" if given else "default"
    ell = crs.ellipsoid
    data = m.ellipsoid(ell.semi_major_metre, ell.inverse_flattening)
    if not given:
        return data, source
    if earth is None or (str(earth).lower() == "sphere" and radius is None and data.e2 == 0):
        mine = data if radius is None else m.make_earth("sphere", radius)
    else:
        mine = m.make_earth(earth, radius)
    if not mine.same(data):
        what = ", ".join(
            f"{{opt:{k}={v!r}}}" for k, v in (("earth", earth), ("radius", radius)) if v is not None
        )
        raise OptionError(
            "earth" if earth is not None else "radius",
            f"{what} ({mine.describe()}) contradicts the earth of the data's CRS "
            f"({data.describe()}, {source}); drop it, or change the grid_mapping",
        )
    return data, source


def _angle(c: Any) -> Any:
    """A latitude/longitude coordinate holding a pint Quantity as degrees with a units attr."""
    _, unit = units_pint.split(c.data)
    if unit is None:
        return c
    try:
        degrees = c.data.to(unit._REGISTRY.degree).magnitude
    except Exception:
        raise ValueError(f"coordinate {c.name!r} has units {unit}, which is not an angle") from None
    return c.copy(data=degrees).assign_attrs(units="degrees")


def _order(opts) -> str:
    p = opts.get("accuracy", 2)
    return f" (order-{p} accurate)" if p > 2 else ""


def _what(da_: xr.DataArray) -> str:
    return "the data" if da_.name is None else f"variable {da_.name!r}"


_RENAMED = {
    "earth": {"x_wind": "eastward_wind", "y_wind": "northward_wind"},
    "grid": {"eastward_wind": "x_wind", "northward_wind": "y_wind"},
}


def rotate_winds(u: Any, v: Any, grid: Any, *, to: str = "earth") -> tuple[Any, Any]:
    """Turn vector components between the grid's x/y axes and eastward/northward.

    Parameters
    ----------
    u, v : DataArrays, or NumPy/dask arrays laid out ``(..., y, x)``
        The components: along grid x and y for ``to="earth"``, eastward and northward for
        ``to="grid"``. Dask stays lazy.
    grid : Grid, Dataset or DataArray
        The :class:`Grid`, or data to build it from.
    to : {"earth", "grid"}
        The frame of the result.

    Returns
    -------
    tuple (u, v)
        Like the input. On a latitude/longitude grid the frames coincide and u, v are
        returned as given; DataArrays keep their names and attrs (CF's ``x_wind``/
        ``y_wind`` standard names become ``eastward_wind``/``northward_wind`` and back).

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"crs": ((), 0, {"grid_mapping_name": "polar_stereographic",
    ...                      "straight_vertical_longitude_from_pole": 0.0,
    ...                      "latitude_of_projection_origin": 90.0,
    ...                      "standard_parallel": 60.0, "earth_radius": 6371000.0})},
    ...     coords={"x": ("x", [1e5], {"standard_name": "projection_x_coordinate"}),
    ...             "y": ("y", [0.0], {"standard_name": "projection_y_coordinate"})})
    >>> u = xr.DataArray([[1.0]], dims=("y", "x"))  # at 90°E, grid x points south
    >>> east, north = rotate_winds(u, 0 * u, ds)
    >>> np.round([float(east[0, 0]), float(north[0, 0])], 6) + 0.0
    array([ 0., -1.])
    """
    if to not in _RENAMED:
        raise OptionError("to", f"{{opt:to}} must be 'earth' or 'grid'; got {to!r}")
    if isinstance(grid, xr.DataArray | xr.Dataset):
        grid = Grid(grid)
    elif not isinstance(grid, Grid):
        raise TypeError(f"grid must be a daskgrad.Grid, Dataset or DataArray; got {grid!r}")
    arrays = not isinstance(u, xr.DataArray)
    if arrays != (not isinstance(v, xr.DataArray)):
        raise TypeError("rotate_winds takes two DataArrays or two arrays, not a mix")
    if not grid.projected:
        return u, v
    if arrays:
        u, v = (_as_grid_array(a, grid, n) for a, n in ((u, "u"), (v, "v")))
    for a, n in ((u, "u"), (v, "v")):
        if not set(grid.dims) <= set(a.dims):
            raise ValueError(f"{n} has dims {a.dims}, not the grid's dims {grid.dims}")
    if u.shape != v.shape or u.dims != v.dims:
        raise ValueError(f"u has dims {dict(u.sizes)} but v {dict(v.sizes)}")
    data = units_pint.split(u.data)[0]
    lazy = is_dask_collection(data)
    chunks = tuple(u.chunksizes[d] for d in grid.dims) if lazy else None
    rot = (grid if lazy else grid.eager()).rotation(chunks)
    cos, sin = (xr.DataArray(rot[i], dims=grid.dims) for i in (0, 1))
    if to == "earth":
        a, b = cos * u - sin * v, sin * u + cos * v
    else:
        a, b = cos * u + sin * v, cos * v - sin * u
    out = []
    for new, old in ((a, u), (b, v)):
        new = new.transpose(*old.dims).rename(old.name)
        attrs = dict(old.attrs)
        name = attrs.get("standard_name")
        if name in _RENAMED[to]:
            attrs["standard_name"] = _RENAMED[to][name]
        out.append(new.assign_attrs(attrs))
    if arrays:
        return out[0].data, out[1].data
    return out[0], out[1]


def _as_grid_array(a: Any, grid: Grid, name: str) -> xr.DataArray:
    shape = tuple(np.shape(a))
    if len(shape) < 2:
        raise ValueError(f"{name} must have at least the grid's two dims (..., y, x)")
    dims = (*(f"dim_{i}" for i in range(len(shape) - 2)), *grid.dims)
    return xr.DataArray(a if is_dask_collection(a) else np.asanyarray(a), dims=dims)
