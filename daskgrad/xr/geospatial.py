"""Eastward and northward derivatives per metre on latitude/longitude and projected grids."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np  # noqa: F401  (the examples use it)
import xarray as xr

from .gradient import derived_dataset
from .grid import Grid, grid_dims

__all__ = ["geospatial_dataset", "geospatial_gradient", "grid_dims"]


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
    return grid.differentiate(obj, how, frame)


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
        dx, dy = grid.differentiate(ds[k], how, frame)
        out[dx.name], out[dy.name] = dx, dy
    return derived_dataset(out, ds)


def _options(accuracy, edge_order, nan_policy) -> dict[str, Any]:
    return {"accuracy": accuracy, "edge_order": edge_order, "nan_policy": nan_policy}


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
