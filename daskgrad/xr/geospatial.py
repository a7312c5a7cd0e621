"""Eastward and northward derivatives per metre on latitude/longitude grids (xarray layer)."""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..core import earth as m
from ..core.gradient import gradient_array as gradient
from ..core.plan import is_dask_collection, uniform_step
from ..core.stencil import EvenCoords
from ..errors import OptionError, dims_named, warn_caller
from . import units as units_pint
from .gradient import accuracy_note, derived_dataset, describe, divide_units

__all__ = ["geospatial_dataset", "geospatial_gradient"]

LAT_NAMES = ("lat", "latitude", "nav_lat")
LON_NAMES = ("lon", "longitude", "nav_lon")


def geospatial_gradient(
    obj: xr.DataArray | xr.Dataset,
    *,
    latitude: Hashable | None = None,
    longitude: Hashable | None = None,
    earth: str = "sphere",
    radius: float | None = None,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    periodic: bool | None = None,
) -> tuple[xr.DataArray, xr.DataArray] | xr.Dataset:
    """Eastward and northward derivatives per metre of data on a latitude/longitude grid.

    Parameters
    ----------
    obj : DataArray or Dataset
        NumPy- or dask-backed; dask stays lazy, coordinates included.
    latitude, longitude : str, optional
        Names of the coordinates, in degrees (radians when their ``units`` say so; without
        units, degrees). By default found by their CF attributes (with cf-xarray:
        standard_name, units ``degrees_north``/``degrees_east``), else by the names
        lat/latitude/nav_lat and lon/longitude/nav_lon. Either 1-D coordinates on two dims
        (regular or Gaussian, ascending or descending, longitude in [0, 360) or [-180, 180)
        or crossing the dateline) or 2-D curvilinear ``lat(y, x)``, ``lon(y, x)``.
    earth : {"sphere", "wgs84"}
        A sphere of ``radius`` metres, or the WGS84 ellipsoid (eastward scale N(φ) cos φ,
        northward M(φ)).
    radius : float, optional
        The sphere's radius in metres (a positive number); by default 6371008.8, the IUGG
        mean radius. Only for ``earth="sphere"``: WGS84 has its own axes.
    accuracy, edge_order, nan_policy
        As for :func:`daskgrad.gradient`, along the grid's index dims (and, on 2-D grids, for
        the derivatives of the coordinates).
    periodic : None or bool
        None: wrap around a 1-D longitude that covers the globe (n·Δλ = 360° to 1e-6); False:
        never; True: wrap, refusing a grid that does not cover the globe. A dask-backed 1-D
        longitude is not inspected: None means no wrap, True wraps with a 360° period.

    Returns
    -------
    tuple (df_dx, df_dy) of DataArrays, or Dataset
        For a DataArray, the eastward and northward derivatives, named ``d{name}_dx`` and
        ``d{name}_dy``, with ``units`` (data units / m, when the data has units) and
        ``long_name`` attrs and the input's dims, coords and chunks; Quantity data gives
        Quantity data per metre in its registry. For a Dataset, a Dataset
        of ``d{var}_dx``, ``d{var}_dy`` for every numeric variable that has the horizontal
        dims, with the input's coords and attrs.

    Notes
    -----
    1-D grids: the derivative along each dim, in radians, times 1/(R cos φ) eastward and 1/R
    northward (1/(N cos φ) and 1/M on the ellipsoid). 2-D grids: the derivatives along the
    two index dims combined through the inverse of the local Jacobian of (eastward, northward)
    distance per index step, which is the derivative of the earth-centred position projected
    on the local east and north; unlike longitude, the position is smooth across the dateline
    and through a pole inside the grid. The eastward derivative is NaN at the poles.

    Examples
    --------
    >>> lat = np.arange(-60.0, 61.0, 30.0)
    >>> lon = np.arange(0.0, 360.0, 90.0)
    >>> T = xr.DataArray(
    ...     np.outer(np.sin(np.radians(lat)), np.ones(lon.size)), name="T",
    ...     coords={"lat": lat, "lon": lon}, dims=("lat", "lon"), attrs={"units": "K"})
    >>> dx, dy = geospatial_gradient(T, radius=1.0)
    >>> dx.name, dy.attrs["units"], float(abs(dx).max())
    ('dT_dx', 'K m-1', 0.0)
    >>> np.round(dy.values[2], 3)  # cos(0) on a coarse grid
    array([0.955, 0.955, 0.955, 0.955])
    """
    if isinstance(obj, xr.Dataset):
        return geospatial_dataset(
            obj,
            latitude=latitude,
            longitude=longitude,
            earth=earth,
            radius=radius,
            accuracy=accuracy,
            edge_order=edge_order,
            nan_policy=nan_policy,
            periodic=periodic,
        )
    if not isinstance(obj, xr.DataArray):
        raise TypeError(
            f"geospatial_gradient takes an xarray DataArray or Dataset; got {type(obj).__name__}"
        )
    grid = Grid(obj, latitude, longitude, earth, radius, periodic)
    return grid.differentiate(obj, _options(accuracy, edge_order, nan_policy))


def geospatial_dataset(
    ds: xr.Dataset,
    variables: Sequence[Hashable] | None = None,
    *,
    latitude: Hashable | None = None,
    longitude: Hashable | None = None,
    earth: str = "sphere",
    radius: float | None = None,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    periodic: bool | None = None,
) -> xr.Dataset:
    """``d{var}_dx``, ``d{var}_dy`` of the ``variables`` of ``ds`` (None: every numeric variable
    with the horizontal dims), with ``ds``'s coords and attrs; the keywords are
    :func:`geospatial_gradient`'s. A named variable that is missing or lacks the horizontal
    dims is a ValueError.

    Examples
    --------
    >>> ds = xr.Dataset({"h": (("y", "x"), np.ones((3, 4)))},
    ...                 coords={"lat": ("y", [0.0, 10, 20]), "lon": ("x", [0.0, 10, 20, 30])})
    >>> list(geospatial_dataset(ds, ["h"]).data_vars)
    ['dh_dx', 'dh_dy']
    """
    how = _options(accuracy, edge_order, nan_policy)
    grid = Grid(ds, latitude, longitude, earth, radius, periodic)
    skip = {grid.lat_name, grid.lon_name}
    if variables is None:
        names = [
            k
            for k, v in ds.data_vars.items()
            if k not in skip and v.dtype.kind in "iufc" and set(grid.dims) <= set(v.dims)
        ]
    else:
        names = list(variables)
        for k in names:
            if k not in ds.data_vars:
                raise ValueError(f"variable {k!r} is not in the dataset: {list(ds.data_vars)}")
            if not set(grid.dims) <= set(ds[k].dims):
                raise ValueError(
                    f"variable {k!r} has dims {ds[k].dims}, not the horizontal dims "
                    f"{grid.dims} of {grid.lat_name!r}/{grid.lon_name!r}"
                )
    out: dict[Hashable, xr.DataArray] = {}
    for k in names:
        dx, dy = grid.differentiate(ds[k], how)
        out[dx.name], out[dy.name] = dx, dy
    return derived_dataset(out, ds)


def _options(accuracy, edge_order, nan_policy) -> dict[str, Any]:
    return {"accuracy": accuracy, "edge_order": edge_order, "nan_policy": nan_policy}


# --- finding the coordinates -----------------------------------------------------------------


def _find(obj, given, what: str, names: tuple[str, ...]) -> Hashable:
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


def grid_dims(obj, latitude=None, longitude=None) -> list[Hashable]:
    """The dims of ``obj``'s latitude and longitude coordinates (found as the geospatial
    functions find them): the dims a geospatial derivative differentiates along."""
    lat = _find(obj, latitude, "latitude", LAT_NAMES)
    lon = _find(obj, longitude, "longitude", LON_NAMES)
    return list(dict.fromkeys([*obj[lat].dims, *obj[lon].dims]))


class Grid:
    """The horizontal grid: which coordinates, on which dims, in radians; metric factors built
    once per chunking and reused by every variable."""

    def __init__(self, obj, latitude, longitude, earth, radius, periodic) -> None:
        self.earth = m.make_earth(earth, radius)
        if periodic not in (None, True, False):
            raise TypeError(f"periodic must be None, True or False; got {periodic!r}")
        self.lat_name = _find(obj, latitude, "latitude", LAT_NAMES)
        self.lon_name = _find(obj, longitude, "longitude", LON_NAMES)
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
        self.dims: tuple[Hashable, Hashable] = dims
        self.lat, self.lon = lat.data, lon.data
        self.lat_rad, self.lon_rad = self._default_units(lat_rad, lon_rad)
        self._setup(periodic)

    def _setup(self, periodic) -> None:
        """Checks what can be checked without computing (dask coordinates are checked as their
        chunks compute) and decides the wrap."""
        self._periodic_arg = periodic
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._eager: Grid | None = None
        if not is_dask_collection(self.lat):
            m.check_latitude(np.asarray(self.lat, dtype=np.float64) * self.lat_rad, self.lat_name)
            if not self.curvilinear:
                m.monotonic(np.asarray(self.lat, dtype=np.float64), self.lat_name, "latitude")
        self.periodic = False if self.curvilinear else self._periodic_1d(periodic)

    def eager(self) -> Grid:
        """This grid with NumPy coordinates, for NumPy data (dask coordinates computed)."""
        if not (is_dask_collection(self.lat) or is_dask_collection(self.lon)):
            return self
        if self._eager is None:
            grid = copy.copy(self)
            grid.lat, grid.lon = np.asarray(self.lat), np.asarray(self.lon)
            grid._setup(self._periodic_arg)
            self._eager = grid
        return self._eager

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

    # --- 1-D coordinates ----------------------------------------------------------------------

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

    # --- 2-D coordinates ----------------------------------------------------------------------

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

    def _differentiate_2d(self, x, a0: int, a1: int, opts):
        g0, g1 = gradient(x, dim=[a0, a1], **opts)
        if not is_dask_collection(x):
            return m.combine_inplace(g0, g1, self._coefficients(None, opts), (a0, a1))
        coef = self._coefficients((x.chunks[a0], x.chunks[a1]), opts)
        return m.combine_dask(g0, g1, coef, (a0, a1))

    # --- both ---------------------------------------------------------------------------------

    def differentiate(self, da_: xr.DataArray, opts) -> tuple[xr.DataArray, xr.DataArray]:
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
        with dims_named(da_.dims, _what(da_)):  # the core numbers dims; the error names them
            if self.curvilinear:
                dx, dy = grid._differentiate_2d(x, a0, a1, opts)
            else:
                dx, dy = grid._differentiate_1d(x, a0, a1, opts)
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
                },
            )

        return wrap(dx, "x", "eastward"), wrap(dy, "y", "northward")


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
    return accuracy_note(opts.get("accuracy", 2))


def _what(da_: xr.DataArray) -> str:
    return "the data" if da_.name is None else f"variable {da_.name!r}"
