"""Vector components between a projected (or rotated-pole) grid's x/y axes and
eastward/northward."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..core.plan import is_dask_collection
from ..errors import OptionError
from . import units as units_pint
from .grid import Grid

__all__ = ["rotate_winds"]


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
