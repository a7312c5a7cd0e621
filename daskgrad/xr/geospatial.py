"""Eastward and northward derivatives per metre on latitude/longitude and projected grids: the
index derivatives of the core turned per metre with the metric factors of a :class:`Grid`."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..core import curvilinear as c
from ..core.arrays import is_dask_collection
from ..core.earth import Earth, position
from ..core.gradient import gradient_array as gradient
from ..core.stencil import EvenCoords
from ..errors import OptionError, OptionNotImplemented, dims_named
from . import cf
from . import units as units_pint
from .coords import accuracy_note, derived_dataset, describe, divide_units
from .grid import Grid, grid_dims, make_grid

__all__ = [
    "curvilinear_operator",
    "curvilinear_tensor",
    "differentiate",
    "geospatial_dataset",
    "geospatial_gradient",
    "grid_dims",
    "make_grid",
]


def geospatial_gradient(
    obj: xr.DataArray | xr.Dataset,
    *,
    latitude: Hashable | None = None,
    longitude: Hashable | None = None,
    earth: str | None = None,
    radius: float | None = None,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    periodic: bool | None = None,
    crs: Any = None,
    frame: str = "earth",
    grid: Grid | None = None,
) -> tuple[xr.DataArray, xr.DataArray] | xr.Dataset:
    """Eastward and northward derivatives per metre on a latitude/longitude or projected grid.

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
        Projected grids (1-D x/y projection coordinates with a CF ``grid_mapping`` or
        ``crs``) are found as :class:`daskgrad.Grid` finds them.
    earth : {"sphere", "wgs84"}, optional
        A sphere of ``radius`` metres, or the WGS84 ellipsoid (eastward scale N(φ) cos φ,
        northward M(φ)). By default the earth of the data's ``grid_mapping`` (its sphere or
        ellipsoid), else a sphere; contradicting the ``grid_mapping`` is a ValueError.
    radius : float, optional
        The sphere's radius in metres (a positive number); by default the grid_mapping's, else
        6371008.8, the IUGG mean radius. Only for ``earth="sphere"``: WGS84 has its own axes.
    accuracy, edge_order, nan_policy
        As for :func:`daskgrad.gradient`, along the grid's index dims (and, on 2-D grids, for
        the derivatives of the coordinates).
    periodic : None or bool
        None: wrap around a 1-D longitude that covers the globe (n·Δλ = 360° to 1e-6); False:
        never; True: wrap, refusing a grid that does not cover the globe. A dask-backed 1-D
        longitude is not inspected: None means no wrap, True wraps with a 360° period.
    crs : pyproj.CRS, dict, str or int, optional
        The CRS of data without a ``grid_mapping`` (see :class:`daskgrad.Grid`).
    frame : {"earth", "grid"}
        On a projected grid: "earth" (default) turns the derivatives eastward/northward by
        the meridian convergence; "grid" keeps them along grid x and y (per metre on the
        earth: ``k ∂f/∂x`` and ``h ∂f/∂y``, MetPy's convention). Ignored on lat/lon grids.
    grid : Grid, optional
        A :class:`daskgrad.Grid` built before (its map factors are reused); the options
        that build a grid are then not given.

    Returns
    -------
    tuple (df_dx, df_dy) of DataArrays, or Dataset
        For a DataArray, the eastward and northward derivatives, named ``d{name}_dx`` and
        ``d{name}_dy``, with ``units`` (data units / m, when the data has units) and
        ``long_name`` attrs and the input's dims, coords and chunks; Quantity data gives
        Quantity data per metre in its registry. For a Dataset, a Dataset
        of ``d{var}_dx``, ``d{var}_dy`` for every numeric variable that has the horizontal
        dims, with the input's coords and attrs. Every result has ``attrs["earth"]``, the
        earth model used (``sphere R=6371008.8 m`` by default).

    Notes
    -----
    1-D grids: the derivative along each dim, in radians, times 1/(R cos φ) eastward and 1/R
    northward (1/(N cos φ) and 1/M on the ellipsoid). 2-D grids: the derivatives along the
    two index dims combined through the inverse of the local Jacobian of (eastward, northward)
    distance per index step, which is the derivative of the earth-centred position projected
    on the local east and north; unlike longitude, the position is smooth across the dateline
    and through a pole inside the grid. The eastward derivative is NaN at the poles.
    Projected grids: the derivatives along x and y (metres) times the parallel and meridional
    scales from pyproj, turned by the meridian convergence for ``frame="earth"``.

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
    if not isinstance(obj, xr.DataArray | xr.Dataset):
        raise TypeError(
            f"geospatial_gradient takes an xarray DataArray or Dataset; got {type(obj).__name__}"
        )
    grid = make_grid(obj, grid, latitude, longitude, earth, radius, periodic, crs)
    how = _options(accuracy, edge_order, nan_policy)
    if isinstance(obj, xr.Dataset):
        return _dataset(obj, None, grid, how, frame)
    return differentiate(grid, obj, how, frame)


def geospatial_dataset(
    ds: xr.Dataset,
    variables: Sequence[Hashable] | None = None,
    *,
    latitude: Hashable | None = None,
    longitude: Hashable | None = None,
    earth: str | None = None,
    radius: float | None = None,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    periodic: bool | None = None,
    crs: Any = None,
    frame: str = "earth",
    grid: Grid | None = None,
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
    grid = make_grid(ds, grid, latitude, longitude, earth, radius, periodic, crs)
    return _dataset(ds, variables, grid, _options(accuracy, edge_order, nan_policy), frame)


def _dataset(
    ds: xr.Dataset, variables: Sequence[Hashable] | None, grid: Grid, how: dict, frame: str
) -> xr.Dataset:
    """:func:`geospatial_dataset` on ``grid`` with the stencil options ``how``."""
    if variables is None:
        names = [
            k
            for k, v in ds.data_vars.items()
            if k not in grid.skip and v.dtype.kind in "iufc" and set(grid.dims) <= set(v.dims)
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
        dx, dy = differentiate(grid, ds[k], how, frame)
        out[dx.name], out[dy.name] = dx, dy
    return derived_dataset(out, ds)


def _options(accuracy, edge_order, nan_policy) -> dict[str, Any]:
    return {"accuracy": accuracy, "edge_order": edge_order, "nan_policy": nan_policy}


def differentiate(
    grid: Grid, da_: xr.DataArray, opts: dict[str, Any], frame: str = "earth"
) -> tuple[xr.DataArray, xr.DataArray]:
    """``(df/dx, df/dy)`` per metre of ``da_`` on ``grid`` (eastward/northward, or along grid
    x/y with ``frame="grid"`` on a projected grid), named and with attrs; ``opts`` are the
    stencil options (accuracy, edge_order, nan_policy)."""
    if frame not in ("earth", "grid"):
        raise OptionError("frame", f"{{opt:frame}} must be 'earth' or 'grid'; got {frame!r}")
    missing = [d for d in grid.dims if d not in da_.dims]
    if missing:
        raise ValueError(
            f"{cf.what_var(da_)} has dims {da_.dims}, not the horizontal dims {grid.dims} of "
            f"{grid.lat_name!r}/{grid.lon_name!r}"
        )
    grid.check_data(da_)
    x, data_units = units_pint.split(da_.data)
    on = grid
    if not is_dask_collection(x):
        x, on = np.asarray(x), grid.eager()
    a0, a1 = (da_.get_axis_num(d) for d in grid.dims)
    with dims_named(da_.dims, cf.what_var(da_)):  # the core numbers dims; the error names them
        if grid.projected:
            dx, dy = _projected(on, x, a0, a1, opts, frame)
        elif grid.curvilinear:
            dx, dy = _curvilinear(on, x, a0, a1, opts)
        else:
            dx, dy = _latlon_1d(on, x, a0, a1, opts)
    what = describe(da_)
    units = None if data_units is not None else da_.attrs.get("units")
    if data_units is not None:  # a Quantity in: Quantities per metre, in its registry
        reg = data_units._REGISTRY
        per_m = units_pint.derivative_units(data_units, reg.meter, reg)
        dx, dy = units_pint.quantity(dx, per_m), units_pint.quantity(dy, per_m)

    placed, encoding = cf.mapping_of(da_)
    note = accuracy_note(opts.get("accuracy", 2))

    def wrap(g: Any, c: str, word: str) -> xr.DataArray:
        out = xr.DataArray(
            g,
            coords=da_.coords,
            dims=da_.dims,
            name=None if da_.name is None else f"d{da_.name}_d{c}",
            attrs={
                "long_name": f"{word} derivative of {what}{note}",
                **({"units": divide_units(units, "m")} if isinstance(units, str) else {}),
                **grid.attrs(),
                **placed,
            },
        )
        out.encoding.update(encoding)
        return out

    if grid.projected and frame == "grid":
        return wrap(dx, "x", "grid-x"), wrap(dy, "y", "grid-y")
    return wrap(dx, "x", "eastward"), wrap(dy, "y", "northward")


def _latlon_1d(grid: Grid, x: Any, ay: int, ax: int, opts: dict[str, Any]) -> tuple[Any, Any]:
    lam, step = grid.lon_1d()
    # an even longitude's period is n steps (its 360° to the coordinates' rounding)
    periodic = {ax: None if step is not None else 2 * np.pi} if grid.periodic else None
    g_y, g_x = gradient(
        x,
        dim=[ay, ax],
        spacing=[grid.lat_spacing(), lam if step is None else EvenCoords(step)],
        periodic=periodic,
        **opts,
    )
    chunks = x.chunks[ay] if is_dask_collection(x) else None
    dx = c.scale(g_x, grid.lat_factor("east", chunks), ay)
    if grid.earth.constant_north is None:
        g_y = c.scale(g_y, grid.lat_factor("north", chunks), ay)
    return dx, g_y


def _curvilinear(grid: Grid, x: Any, a0: int, a1: int, opts: dict[str, Any]) -> tuple[Any, ...]:
    g0, g1 = gradient(x, dim=[a0, a1], **opts)
    if not is_dask_collection(x):
        return c.combine_inplace(g0, g1, _coefficients(grid, None, opts), (a0, a1))
    coef = _coefficients(grid, (x.chunks[a0], x.chunks[a1]), opts)
    return c.combine_dask(g0, g1, coef, (a0, a1))


def _coefficients(grid: Grid, chunks: Any, opts: dict[str, Any]) -> Any:
    key = ("jacobian", chunks, tuple(sorted(opts.items())))
    return grid.cached(
        key,
        lambda: curvilinear_coefficients(
            grid.lat,
            grid.lon,
            grid.lat_rad,
            grid.lon_rad,
            grid.earth,
            grid.lat_name,
            chunks,
            opts,
        ),
    )


def _projected(
    grid: Grid, x: Any, ay: int, ax: int, opts: dict[str, Any], frame: str
) -> tuple[Any, ...]:
    spacing = [grid.xy_spacing(grid.y), grid.xy_spacing(grid.x)]
    g_y, g_x = gradient(x, dim=[ay, ax], spacing=spacing, **opts)
    if not is_dask_collection(x):
        return c.combine_inplace(g_y, g_x, grid.map_factors(None, frame), (ay, ax))
    coef = grid.map_factors((x.chunks[ay], x.chunks[ax]), frame)
    return c.combine_dask(g_y, g_x, coef, (ay, ax))


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
    """:func:`~daskgrad.core.curvilinear.jacobian_coefficients` of 2-D coordinates (the
    derivatives of their earth-centred positions): NumPy when ``chunks`` is None, else a dask
    array chunked ``(4,) + chunks``, computed once per horizontal chunk."""
    args = (lat_rad, lon_rad)
    if chunks is None:
        lat, lon = np.asarray(lat), np.asarray(lon)
        p_0, p_1 = gradient(position(lat, lon, *args, earth, name), dim=[1, 2], **opts)
        return c.jacobian_coefficients(lat, lon, *args, p_0, p_1)
    import dask.array as da

    lat, lon = (
        a.rechunk(chunks) if is_dask_collection(a) else da.from_array(a, chunks) for a in (lat, lon)
    )
    meta = np.empty((0, 0, 0))
    pos = da.map_blocks(
        position, lat, lon, *args, earth, name, new_axis=0, chunks=((3,), *chunks), meta=meta
    )
    p_0, p_1 = gradient(pos, dim=[1, 2], **opts)
    coef = da.map_blocks(
        c.jacobian_coefficients, lat, lon, *args, p_0, p_1, chunks=((4,), *chunks), meta=meta
    )
    return c.barrier(coef)


def curvilinear_tensor(
    u: xr.DataArray, v: xr.DataArray, grid: Any, stencil: dict[str, Any]
) -> tuple[Any, Any, Any, Any]:
    """(∂u/∂x, ∂u/∂y, ∂v/∂x, ∂v/∂y) per metre in the eastward/northward frame on a grid of
    2-D latitude/longitude: the wind's earth-centred Cartesian components V_i = u e_i + v n_i
    (smooth through a pole inside the grid, where u and v are not) differentiated eastward
    and northward, projected back on e and n (∂u/∂x = Σ_i e_i ∂V_i/∂x, …), which on a regular
    grid is the tensor with its metric terms (∂u/∂x − v tan φ / N, …)."""
    phi = xr.DataArray(grid.lat, dims=grid.dims) * grid.lat_rad
    lam = xr.DataArray(grid.lon, dims=grid.dims) * grid.lon_rad
    east = (-np.sin(lam), np.cos(lam), None)
    north = (-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi))
    parts: list[Any] = [0, 0, 0, 0]
    for e_i, n_i in zip(east, north, strict=True):
        component = v * n_i if e_i is None else u * e_i + v * n_i
        component = component.rename(u.name).assign_attrs(u.attrs)
        dx, dy = geospatial_gradient(component, grid=grid, **stencil)
        for k, (g, basis) in enumerate(((dx, e_i), (dy, e_i), (dx, n_i), (dy, n_i))):
            if basis is not None:
                parts[k] = parts[k] + g * basis
    a, b, c, e = (p.transpose(*u.dims).data for p in parts)
    return a, b, c, e


def curvilinear_operator(kind, inputs, grid, options, stencil):
    """2-D latitude/longitude (divergence and vorticity): the earth-centred Cartesian components
    V_i = u e_i + v n_i of the wind, smooth through a pole inside the grid where u and v are
    not, each differentiated eastward and northward by geospatial_gradient's chain rule; then
    div = Σ_i (∂V_i/∂x e_i + ∂V_i/∂y n_i), vort = Σ_i (∂V_i/∂x n_i − ∂V_i/∂y e_i), which on a
    regular grid are ∂u/∂x + ∂v/∂y − v tan φ / N and ∂v/∂x − ∂u/∂y + u tan φ / N."""
    if kind not in ("divergence", "vorticity"):
        raise OptionNotImplemented(
            "geospatial",
            f"{{opt:{kind}}} with {{opt:geospatial=True}} needs 1-D latitude and longitude "
            f"coordinates; {grid.lat_name!r}/{grid.lon_name!r} are 2-D (curvilinear). Regrid, "
            f"or use the Cartesian {kind} on projected coordinates",
        )
    kw = {"grid": grid}
    u, v = inputs
    phi = xr.DataArray(grid.lat, dims=grid.dims) * grid.lat_rad
    lam = xr.DataArray(grid.lon, dims=grid.dims) * grid.lon_rad
    east = (-np.sin(lam), np.cos(lam), 0.0 * lam)
    north = (-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi))
    out: Any = 0.0  # a DataArray from the first term on
    for e_i, n_i in zip(east, north, strict=True):
        component = (u * e_i + v * n_i).rename(u.name).assign_attrs(u.attrs)
        dx, dy = geospatial_gradient(component, **kw, **stencil)
        if kind == "divergence":
            out = out + dx * e_i + dy * n_i
        else:
            out = out + dx * n_i - dy * e_i
    return out.transpose(*u.dims).data
