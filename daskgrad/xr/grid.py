"""The public horizontal grid: latitude/longitude (1-D or 2-D) or projection x/y with a CRS,
its earth model, periodicity and metric factors, built once from a Dataset or DataArray."""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from ..core import curvilinear as c
from ..core import earth as m
from ..core.arrays import is_dask_collection
from ..core.plan import Longitude, normalize_periodic, uniform_step
from ..core.stencil import EvenCoords
from ..errors import OptionError, OptionWarning, Wording, warn_caller
from . import cf
from . import units as units_pint

__all__ = [
    "Grid",
    "ProjectionCoordinatesMissing",
    "grid_dims",
    "make_grid",
    "rotate_winds",
    "unknown_mapping",
    "winds_needed",
    "winds_unknown",
]


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
        ``xr.open_dataset(..., decode_coords="all")`` puts it), or from ``crs``. A rotated
        pole (CF ``rotated_latitude_longitude``) takes the 1-D rotated longitude/latitude
        (``standard_name`` ``grid_longitude``/``grid_latitude``, or rlon/rlat; degrees) as
        its x/y, on a sphere. Otherwise latitude/longitude as
        :func:`daskgrad.geospatial_gradient` finds them.
    latitude, longitude : str, optional
        Names of the latitude/longitude coordinates; giving one asks for a latitude/longitude
        grid even when projection coordinates are present.
    x, y : str, optional
        Names of the projection x/y coordinates (a projected CRS is then needed), or of a
        rotated pole's longitude/latitude.
    crs : pyproj.CRS, dict, str or int, optional
        The CRS when the data has no ``grid_mapping``: a pyproj CRS, a CF grid-mapping dict, a
        PROJ string or an EPSG code. A geographic CRS gives the earth of a lat/lon grid.
    earth : {"sphere", "wgs84"}, optional
        The earth model. By default the ellipsoid or sphere of the CRS, else a sphere of
        radius 6371008.8 m. Contradicting the CRS is a ValueError naming both. A rotated pole
        is on a sphere (its CRS's, else ``radius`` or the default).
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
    >>> pole = {"grid_mapping_name": "rotated_latitude_longitude", "earth_radius": 6371229.0,
    ...         "grid_north_pole_latitude": 39.25, "grid_north_pole_longitude": -162.0}
    >>> r = np.arange(-2.0, 2.1, 0.5)
    >>> rotated = Grid(xr.Dataset({"rotated_pole": ((), 0, pole)}, coords={"rlat": r, "rlon": r}))
    >>> rotated.projected, rotated.describe().split(" on a ")[0]
    (True, "rotated-pole grid 'rlon'/'rlat' (rotated pole at 39.25°N -162°E)")
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
        self.crs, self.crs_source = cf.data_crs(obj, crs)
        latlon = latitude is not None or longitude is not None
        pole = cf.rotated_pole(self.crs, self.crs_source)
        self.rotated: Any = None  # the rotated pole (daskgrad.core.rotated.RotatedPole)
        if pole is not None and not latlon:
            self._init_rotated(obj, x, y, earth, radius, periodic, pole)
            check_latlon(self, obj, crs is not None)
            self._finish(obj, crs)
            return
        projected_crs = self.crs is not None and self.crs.is_projected
        names = None if latlon else cf.projection_xy(obj, x, y, projected_crs)
        if names is not None and not projected_crs:
            explicit = x is not None or y is not None or self.crs is not None
            if explicit or len(cf.latlon_names(obj)) < 2:
                absent = cf.absent_grid_mapping(obj)
                raise OptionError(
                    "crs",
                    f"projection coordinates {names[0]!r}/{names[1]!r} need a projected CRS; "
                    + (
                        f"{self.crs_source} is {cf.crs_words(self.crs)}"
                        if self.crs is not None
                        else f"the data names grid_mapping {absent!r}, which is not among its "
                        "coords: open the file with decode_coords='all', pass "
                        "grid=daskgrad.Grid(ds) built from the Dataset, or pass {opt:crs}"
                        if absent is not None
                        else "the data has no grid_mapping: pass {opt:crs} (a PROJ string, "
                        "an EPSG code, a CF dict or a pyproj CRS)"
                    ),
                )
            names = None  # lat/lon found next, or an error naming both kinds
        if projected_crs and names is None and not latlon:
            raise ProjectionCoordinatesMissing(
                crs is not None, self.crs_source, self.crs.name, list(obj.coords)
            )
        if pole is not None:  # latitude=/longitude= on a rotated pole's true lat/lon
            self.earth, self.earth_source = cf.rotated_earth(
                earth, radius, self.crs, self.crs_source
            )
        else:
            self.earth, self.earth_source = cf.data_earth(earth, radius, self.crs, self.crs_source)
        self.projected = names is not None
        self.projection: Any = None
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._eager: Grid | None = None
        self._periodic_arg = periodic
        if self.projected:
            assert names is not None
            self._init_projected(obj, *names, periodic)
            check_latlon(self, obj, crs is not None)
        else:
            self._init_latlon(obj, latitude, longitude, periodic)
        self._finish(obj, crs)

    def _finish(self, obj, crs) -> None:
        self.frame_unknown = self._frame_unknown(obj, crs)
        # what check_data compares: the horizontal sizes, the 1-D coordinates' NumPy values
        names = (self.y_name, self.x_name) if self.projected else (self.lat_name, self.lon_name)
        self.sizes = {d: int(obj.sizes[d]) for d in self.dims}
        self._coord_values = {
            n: np.asarray(obj[n].values)
            for n in names
            if obj[n].ndim == 1 and not is_dask_collection(obj[n].data)
        }

    def check_data(self, da_: xr.DataArray, name: str | None = None) -> None:
        """ValueError naming ``grid`` when ``da_`` (called ``name``) is not on this grid: it
        lacks the grid's dims, has other sizes along them, or other values of its 1-D
        coordinates (the grid of another domain)."""
        what = name or cf.what_var(da_)
        if not set(self.dims) <= set(da_.dims):
            raise ValueError(
                f"grid= is on the dims {self.sizes} but {what} has dims {dict(da_.sizes)}: "
                "pass the Grid of the data's own Dataset"
            )
        sizes = {d: int(da_.sizes[d]) for d in self.dims}
        if sizes != self.sizes:
            raise ValueError(
                f"grid= has shape {self.sizes} but {what} has {sizes} along those dims: "
                "pass the Grid of the data's own Dataset"
            )
        for n, values in self._coord_values.items():
            if n not in da_.coords:  # (coords.get gives a dim without one 0, 1, ...)
                continue
            c = da_.coords[n]
            if c.ndim != 1 or is_dask_collection(c.data):
                continue
            if not np.array_equal(np.asarray(c.values), values):
                raise ValueError(
                    f"grid= has other {n!r} coordinates than {what} (from {values[0]!r} to "
                    f"{values[-1]!r}, {what} from {c.values[0]!r} to {c.values[-1]!r}): pass "
                    "the Grid of the data's own Dataset"
                )

    def _frame_unknown(self, obj, crs) -> str | None:
        """Why the directions of the grid's x and y are unknown (grid-relative winds cannot be
        taken as given), or None when they are known: a projected grid, or 1-D
        latitude/longitude (grid x/y are eastward/northward) of known CRS."""
        if self.projected:
            return None
        if self.curvilinear:
            return (
                f"2-D latitude/longitude {self.lat_name!r}/{self.lon_name!r} without a "
                "projection (no grid_mapping, no projection x/y coordinates)"
            )
        return unknown_mapping(obj, crs)

    def check_winds(self, winds: str | None) -> None:
        """OptionError naming ``winds`` when ``winds="grid"`` on a grid whose x/y directions
        are unknown (:attr:`frame_unknown`): those winds would be taken as eastward and
        northward, silently wrong."""
        if winds == "grid" and self.frame_unknown is not None:
            raise winds_unknown(self.frame_unknown)

    # --- construction -------------------------------------------------------------------------

    def _init_projected(self, obj, x_name, y_name, periodic) -> None:
        from ..core.projection import Projection

        self._periodic_1d(periodic, "needs a 1-D longitude; a projected grid never wraps")
        coords = []
        for name, what in ((x_name, "x"), (y_name, "y")):
            c = obj[name]
            if c.ndim != 1 or c.dtype.kind not in "iuf":
                raise ValueError(
                    f"projection {what} coordinate {name!r} must be a 1-D array of real "
                    f"numbers; it has dims {c.dims} and dtype {c.dtype}"
                )
            unit = str(c.attrs.get("units", "m")).strip()
            if unit not in cf.METRES:
                raise ValueError(
                    f"projection {what} coordinate {name!r} has units {unit!r}; expected m or km"
                )
            data = c.data.astype(np.float64) * cf.METRES[unit]
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
        self.skip = {x_name, y_name, *cf.latlon_names(obj)}

    def _init_rotated(self, obj, x, y, earth, radius, periodic, pole) -> None:
        """A rotated-pole grid: its rotated longitude/latitude (degrees, or radians by their
        units) become x = R λr, y = R φr in metres, a plate carrée on the rotated sphere whose
        factors :class:`daskgrad.core.rotated.RotatedPole` gives in closed form."""
        from ..core.rotated import RotatedPole

        x_name, y_name = cf.rotated_xy(obj, x, y, self.crs_source)
        self.earth, self.earth_source = cf.rotated_earth(earth, radius, self.crs, self.crs_source)
        self.projected = True
        self._cache = {}
        self._eager = None
        self._periodic_arg = periodic
        self._periodic_1d(
            periodic,
            "is not supported on a rotated-pole grid: it is differentiated without wrapping",
        )
        r = self.earth.a
        coords = []
        for name, what in ((x_name, "longitude"), (y_name, "latitude")):
            c = cf.angle(obj[name])
            if c.ndim != 1 or c.dtype.kind not in "iuf":
                raise ValueError(
                    f"rotated {what} coordinate {name!r} must be a 1-D array of real numbers; "
                    f"it has dims {c.dims} and dtype {c.dtype}"
                )
            unit = c.attrs.get("units")
            try:
                rad = m.radians_per_unit(unit, name, f"rotated {what}") or m.DEGREE
            except ValueError:
                raise ValueError(
                    f"rotated {what} coordinate {name!r} has units {unit!r}, which is not an "
                    "angle: a rotated-pole grid's coordinates are degrees (or radians)"
                ) from None
            data = c.data.astype(np.float64) * rad
            if not is_dask_collection(data):
                data = np.asarray(data)
                if what == "longitude":
                    data = np.unwrap(data)
                else:
                    m.check_latitude(data, name)
                m.monotonic(data, name, f"rotated {what}")
            coords.append((c, data * r))
        (xc, self.x), (yc, self.y) = coords
        if xc.dims == yc.dims:
            raise ValueError(
                f"rotated coordinates {x_name!r} and {y_name!r} share the dim {xc.dims[0]!r}"
            )
        self.dims = (yc.dims[0], xc.dims[0])
        self.x_name, self.y_name = x_name, y_name
        self.lat_name, self.lon_name = y_name, x_name  # the names the messages give
        self.curvilinear = False
        self.periodic = False
        self.rotated = RotatedPole(**pole, radius=r, crs=self.crs)
        cf.check_rotated(self.rotated, self.crs, self.crs_source)
        self.projection = self.rotated
        self.skip = {x_name, y_name, *cf.latlon_names(obj)}

    def _init_latlon(self, obj, latitude, longitude, periodic) -> None:
        memo: dict[str, Any] = {}  # cf_xarray's findings, for both
        self.lat_name = cf.find_coordinate(obj, latitude, "latitude", cf.LAT_NAMES, memo)
        self.lon_name = cf.find_coordinate(obj, longitude, "longitude", cf.LON_NAMES, memo)
        if self.lat_name == self.lon_name:
            raise ValueError(f"latitude and longitude are the same coordinate {self.lat_name!r}")
        lat, lon = (cf.angle(obj[n]) for n in (self.lat_name, self.lon_name))
        for coord, what in ((lat, "latitude"), (lon, "longitude")):
            if coord.ndim not in (1, 2) or coord.dtype.kind not in "iuf":
                first = coord.dims[0] if coord.ndim == 3 else None  # wrfout's XLAT(Time, y, x)
                hint = (
                    f"; select one {first!r}, e.g. {coord.name}.isel({first}=0)"
                    if first is not None and coord.dtype.kind in "iuf"
                    else ""
                )
                raise ValueError(
                    f"{what} coordinate {coord.name!r} must be a 1-D or 2-D array of real numbers; "
                    f"it has dims {coord.dims} and dtype {coord.dtype}{hint}"
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
            self._periodic_1d(
                periodic,
                f"needs a 1-D longitude; 2-D coordinates {lat.name!r}/{lon.name!r} are "
                "differentiated without wrapping",
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

    def describe(self, wording: type[Wording] = Wording) -> str:
        """One line saying which grid and which earth (the command line's summary shows it),
        options named in ``wording``'s words (the API's keywords by default)."""
        if self.rotated is not None:
            what = f"rotated-pole grid {self.x_name!r}/{self.y_name!r} ({self.rotated.describe()})"
        elif self.projected:
            op = self.crs.coordinate_operation
            proj = op.method_name if op is not None else self.crs.name
            what = f"projected grid {self.x_name!r}/{self.y_name!r} ({proj})"
        else:
            shape = "2-D" if self.curvilinear else "periodic" if self.periodic else "1-D"
            what = f"latitude/longitude grid {self.lat_name!r}/{self.lon_name!r} ({shape})"
        source = OptionWarning("earth", self.earth_source).worded(wording)
        return f"{what} on a {self.earth.describe()} ({source})"

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
            return c.unwrap_dask(lam.astype(np.float64) * self.lon_rad, 0), None
        lam = np.unwrap(np.asarray(lam, dtype=np.float64) * self.lon_rad)
        m.monotonic(lam, self.lon_name, "longitude")
        return lam, uniform_step(lam, self.lon.dtype)

    def _periodic_1d(self, periodic, no_wrap: str | None = None) -> bool:
        """Whether the longitude wraps: what the grid knows of its longitude, for the one
        check of ``periodic`` (core.plan.normalize_periodic). ``no_wrap`` says why this grid
        never wraps (projected, rotated, 2-D coordinates)."""
        lon = Longitude(self.lon_name if no_wrap is None else None, no_wrap)
        if no_wrap is None and is_dask_collection(self.lon):
            lon = Longitude(self.lon_name, lazy=True)
        elif no_wrap is None and periodic in (None, True, False) and periodic is not False:
            lam, step = self.lon_1d()
            n = lam.size
            covers = step is not None and math.isclose(n * abs(step), 2 * np.pi, rel_tol=1e-6)
            gap = 2 * np.pi - abs(lam[-1] - lam[0]) if n > 1 else 0.0
            gap_ok = n > 1 and step is None and 0 < gap <= np.max(np.abs(np.diff(lam))) * (1 + 1e-6)
            span = float(np.degrees(abs(lam[-1] - lam[0]))) if n else 0.0
            lon = Longitude(self.lon_name, None, False, covers, covers or gap_ok, n, span)
        return bool(normalize_periodic(periodic, (), (), longitude=lon))

    def lat_factor(self, kind: str, chunks):
        """The east or north factor of the 1-D latitude (see
        :func:`daskgrad.core.curvilinear.lat_factor`), cached per chunking."""
        key = (kind, chunks)
        if key not in self._cache:
            args = (self.lat, self.lat_rad, self.earth, self.lat_name)
            self._cache[key] = c.lat_factor(kind, *args, chunks)
        return self._cache[key]

    def lat_spacing(self):
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

    # --- 2-D latitude/longitude -----------------------------------------------------------------

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
            out = c.barrier(out)
        self._cache[key] = out
        return out

    def rotation(self, chunks: tuple[tuple[int, ...], tuple[int, ...]] | None):
        """``(cos, sin)`` of the angle turning grid-relative components eastward/northward
        (east = cos·gx − sin·gy), ``(2, ny, nx)``; None on a latitude/longitude grid."""
        if not self.projected:
            return None
        return self.map_factors(chunks, "rotation")

    # --- every grid -----------------------------------------------------------------------------

    def cached(self, key: tuple[Any, ...], make: Any) -> Any:
        """``make()``, computed once per ``key`` on this grid (metric factors shared by every
        variable differentiated with it)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def attrs(self) -> dict[str, str]:
        """The attrs every result on this grid carries: the earth model it used."""
        return {"earth": self.earth.describe()}


class ProjectionCoordinatesMissing(OptionError):
    """A projected CRS for data without projection x/y coordinates. The Python API asks for
    ``x=``/``y=``; the option at fault (:attr:`option`) is "crs" when the CRS came from
    ``crs=`` (:attr:`given`), else "x". The command line, which has no x/y flags, words its
    own message from :attr:`given`, :attr:`crs_name` and :attr:`coords` (the data's
    coordinates)."""

    NEEDS = (
        "1-D coordinates with standard_name projection_x_coordinate and "
        "projection_y_coordinate, units m or km (or coordinates x and y on dims x and y)"
    )

    def __init__(self, given: bool, source: str | None, crs_name: str, coords: list) -> None:
        self.given, self.crs_name, self.coords = given, crs_name, coords
        super().__init__(
            "crs" if given else "x",
            f"the CRS {source} is a projected CRS ({crs_name!r}) but the data has no "
            f"projection x/y coordinates: {self.NEEDS}; its coordinates are {coords}; pass "
            "{opt:x=NAME} and {opt:y=NAME} naming them, or add them (see the README's WRF "
            "recipe)",
        )


def unknown_mapping(obj, crs: Any = None) -> str | None:
    """Why a DataArray's CRS is unknown: its attrs name a grid_mapping that is not among its
    coords (and no ``crs`` is given); else None."""
    name = None if crs is not None else cf.unattached_mapping(obj)
    if name is None:
        return None
    return (
        f"{cf.what_var(obj)}, whose grid_mapping {name!r} is named in its attrs but is not "
        "among its coords"
    )


def winds_unknown(reason: str) -> OptionError:
    """The error of ``winds="grid"`` on a grid whose x/y directions are unknown (``reason``),
    in the Python API's words (the command line words its own)."""
    return OptionError(
        "winds",
        "{opt:winds='grid'} needs the directions of the grid's x and y, which are unknown on "
        f"{reason}: give the projection ({{opt:grid}}=daskgrad.Grid(ds) of the Dataset that "
        "holds the grid_mapping variable, or {opt:crs=CRS} with projection x/y coordinates), or "
        "turn u and v eastward/northward first (daskgrad.rotate_winds, or WRF's "
        "COSALPHA/SINALPHA) and pass {opt:winds='earth'}",
    )


def winds_needed(kind: str, reason: str) -> OptionError:
    """The error of ``winds`` left out where the data names a grid mapping that is not
    attached (``reason``, from :func:`unknown_mapping`): the grid is projected, so ``winds`` is
    required as on any projected grid, and ``winds="grid"`` needs that mapping attached."""
    return OptionError(
        "winds",
        f"{kind} on a projected grid needs {{opt:winds}}: 'grid' when u and v are along the "
        "grid's x and y (as models write them), 'earth' when they are eastward and northward; "
        f"the projection is unknown on {reason}: for 'grid' keep it as a coordinate "
        "(ds.set_coords(NAME), or open the file with decode_coords='all'), pass "
        "{opt:grid}=daskgrad.Grid(ds) or {opt:crs=CRS}",
    )


def factor_block(proj: Any, kind: str, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One horizontal chunk's factors: the chain-rule coefficients ``c`` of
    :func:`daskgrad.core.curvilinear.combine_inplace` (``d/dx = c0 ∂f/∂y + c1 ∂f/∂x``,
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


# How far (great-circle degrees) a projected grid's latitude/longitude coordinates may lie
# from the points its projection gives. Real data differs by rounding (float32: ~1e-5°) and
# by the earth model: coordinates computed on WGS84 for a grid on a sphere (WRF's 6370 km)
# differ by up to ~0.2° (geodetic against spherical latitude, the points' shift on large
# domains). Beyond _QUIET the coordinates are of another grid point or earth (a staggered
# grid, a rounded pole): said; beyond _REFUSE (a degree, ~111 km) they are of another grid.
_QUIET = 0.3
_REFUSE = 1.0


def check_latlon(grid: Grid, obj: Any, given: bool) -> None:
    """Compare a projected or rotated-pole grid's latitude/longitude coordinates (1-D or 2-D
    on its dims; a longitude is optional) with the points its projection gives, at the
    corners and the centre: refuse them beyond :data:`_REFUSE` degrees, warn beyond
    :data:`_QUIET` (derivatives use the projection, f the coordinate). Dask coordinates are
    not checked: nothing computes while a graph is built."""
    lat_name, lon_name = (
        n if n is not None and n not in (grid.x_name, grid.y_name) else None
        for n in cf.true_latlon(obj)
    )
    if lat_name is None:
        return
    picked = {}
    for name, what in ((lat_name, "latitude"), (lon_name, "longitude")):
        if name is None:
            continue
        c = cf.angle(obj[name])
        if is_dask_collection(c.data):
            return  # never computed while the graph is built (a file's own: a few points read)
        if not 1 <= c.ndim <= 2 or not set(c.dims) <= set(grid.dims) or c.dtype.kind not in "iuf":
            return  # not a coordinate of this grid's points (a track, a 3-D XLAT): not ours
        try:
            rad = m.radians_per_unit(c.attrs.get("units"), name, what) or m.DEGREE
        except ValueError:
            return
        picked[name] = (c, rad)
    dy, dx = grid.dims
    ny, nx = int(obj.sizes[dy]), int(obj.sizes[dx])
    iy = np.array([0, 0, ny // 2, ny - 1, ny - 1])
    ix = np.array([0, nx - 1, nx // 2, 0, nx - 1])
    if is_dask_collection(grid.x) or is_dask_collection(grid.y):
        return
    xs = np.asarray(grid.x[ix], dtype=np.float64)
    ys = np.asarray(grid.y[iy], dtype=np.float64)
    with np.errstate(all="ignore"):
        plon, plat = (np.asarray(v, dtype=np.float64) for v in grid.projection.lonlat(xs, ys))
    points = {dy: xr.DataArray(iy, dims="point"), dx: xr.DataArray(ix, dims="point")}
    values = []
    for c, rad in picked.values():
        at = c.isel({d: points[d] for d in c.dims})
        values.append(np.degrees(np.asarray(at.values, dtype=np.float64) * rad))
    lat = values[0]
    with np.errstate(all="ignore"):
        if len(values) == 2:  # great-circle distance: longitude is meaningless at the poles
            a, b, dlon = np.radians(lat), np.radians(plat), np.radians(values[1] - plon)
            hav = np.sin((b - a) / 2) ** 2 + np.cos(a) * np.cos(b) * np.sin(dlon / 2) ** 2
            off = np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0))))
        else:
            off = np.abs(lat - plat)
    off = np.where(np.isfinite(off), off, -1.0)
    k = int(np.argmax(off))
    if off[k] <= _QUIET:
        return
    names = f"latitude {lat_name!r}" + (f"/longitude {lon_name!r}" if lon_name else "")
    data = f"{lat[k]:.4g}°N" + (f" {values[1][k]:.4g}°E" if lon_name else "")
    mapping = "CRS of {opt:crs}" if given else str(grid.crs_source).removeprefix("from ")
    said = (
        f"{names} of the data and the {mapping} disagree by up to {off[k]:.3g}° (at "
        f"{dy}={iy[k]}, {dx}={ix[k]}: {data} in the data, {plat[k]:.4g}°N {plon[k]:.4g}°E "
        "from the projection)"
    )
    if off[k] > _REFUSE:
        text = f"{said}: they are not of the same grid; fix or drop one of them"
        if given:
            raise OptionError("crs", text)
        raise ValueError(text)
    text = (
        f"{said}: derivatives and the winds' turn use the projection, f (Coriolis) uses "
        f"{lat_name!r}"
    )
    warn_caller(OptionWarning("crs", text) if given else text)


def grid_dims(obj, latitude=None, longitude=None, crs=None) -> list[Hashable]:
    """The horizontal dims of ``obj``'s grid (found as :class:`Grid` finds it): the dims a
    geospatial derivative differentiates along."""
    return list(Grid(obj, latitude=latitude, longitude=longitude, crs=crs).dims)


def make_grid(obj, grid, latitude, longitude, earth, radius, periodic, crs, **more) -> Grid:
    """``grid`` when given (then the options that build one must not be), else the
    :class:`Grid` of ``obj``."""
    if grid is None:
        return Grid(
            obj,
            latitude=latitude,
            longitude=longitude,
            earth=earth,
            radius=radius,
            periodic=periodic,
            crs=crs,
            **more,
        )
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a daskgrad.Grid; got {type(grid).__name__}")
    given = {
        "latitude": latitude,
        "longitude": longitude,
        "earth": earth,
        "radius": radius,
        "periodic": periodic,
        "crs": crs,
        **more,
    }
    clash = sorted(k for k, v in given.items() if v is not None)
    if clash:
        raise TypeError(f"grid= is given: {clash} belong to the grid (pass them to Grid)")
    return grid


# --- vector components between the grid's x/y axes and eastward/northward -------------------------


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
        grid.check_data(a, n)
    if u.shape != v.shape or u.dims != v.dims:
        raise ValueError(f"u has dims {dict(u.sizes)} but v {dict(v.sizes)}")
    data = units_pint.split(u.data)[0]
    lazy = is_dask_collection(data)
    chunks = tuple(u.chunksizes[d] for d in grid.dims) if lazy else None
    rot = (grid if lazy else grid.eager()).rotation(chunks)
    # float32 winds stay float32 (the factors are float64)
    real = np.finfo(data.dtype).dtype if np.dtype(data.dtype).kind in "fc" else np.float64
    cos, sin = (xr.DataArray(rot[i].astype(real, copy=False), dims=grid.dims) for i in (0, 1))
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
