"""Divergence, relative vorticity and Laplacian at scale: one task per chunk reads the chunks
of the inputs and their ghost planes once (see :mod:`daskgrad.core.operators`)."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the examples in the docstrings use np)

from .core.operators import operate_arrays
from .core.plan import check_array_options, check_flag, dim_alias
from .xr import units as units

__all__ = ["divergence", "laplacian", "vorticity"]


def divergence(
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    winds: str | None = None,
    **options: Any,
) -> Any:
    """Horizontal divergence ∂u/∂x + ∂v/∂y of the vector field (u, v).

    Parameters
    ----------
    u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape (and
        dims/coords)
        The x and y components (eastward and northward with ``geospatial=True``). Quantities
        (bare or as DataArray data; v is converted to u's units) give a Quantity in u's units
        per spacing unit (``1/s`` for winds in m/s on metres), in u's registry.
    dim : pair (x, y) of axes (arrays) or dim names (DataArrays), optional
        Default: the last dim is x, the one before it y (MetPy's ``(…, y, x)`` layout). With
        ``geospatial=True`` the longitude and latitude dims (the only ones accepted).
    dims : optional
        Alias of ``dim`` (give one of them, not both).
    geospatial : bool
        Per metre on a latitude/longitude grid, with the metric term ``-(v/R) tan φ``
        (``N(φ)`` in place of ``R`` on WGS84); coordinates found as
        :func:`daskgrad.geospatial_gradient` finds them, or a projected grid as
        :class:`daskgrad.Grid` finds it.
    winds : {"grid", "earth"}, optional
        With ``geospatial=True`` on a projected grid, required: "grid" when u and v are along
        the grid's x and y (as regional models write them; MetPy's convention), "earth" when
        they are eastward and northward (turned to the grid by the meridian convergence
        first). The result is MetPy's map-factor form with pyproj's parallel and meridional
        scales. Ignored on latitude/longitude grids, where the frames coincide.
    **options
        ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as for
        :func:`daskgrad.gradient` (spacings may be Quantities; for DataArrays a mapping
        ``{dim: spacing}`` overriding the coordinates); with ``geospatial=True``
        ``latitude``, ``longitude``, ``earth``, ``radius``, ``accuracy``, ``edge_order``,
        ``nan_policy``, ``periodic``, ``crs``, ``grid`` as for
        :func:`daskgrad.geospatial_gradient` (the spacing then comes from the coordinates).
        Any other is a TypeError.

    Returns
    -------
    array, Quantity, or DataArray
        One array like ``u``: NumPy, lazy dask with u's chunks, masked where a stencil of
        either component touches a masked value, a Quantity, or a DataArray with u's dims and
        coords named ``div_{u}_{v}``, with ``long_name``, ``units`` (u's units / coordinate
        units, when both are known) and, for winds and sea-water velocities in ``s-1``, CF's
        ``standard_name`` (``divergence_of_wind``, ``divergence_of_sea_water_velocity``).

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> divergence(2 * x, 3 * y)[0]
    array([5., 5., 5., 5., 5.])
    >>> divergence(2 * x, 3 * y, dim=(0, 1))[0]  # x is axis 0 now: u and v constant along it
    array([0., 0., 0., 0., 0.])
    >>> import xarray as xr
    >>> coords = {"y": ("y", [0.0, 1e3, 2e3, 3e3], {"units": "m"}),
    ...           "x": ("x", [0.0, 1e3, 2e3, 3e3, 4e3], {"units": "m"})}
    >>> u = xr.DataArray(2 * x, coords, ("y", "x"), name="u", attrs={"units": "m s-1"})
    >>> v = xr.DataArray(3 * y, coords, ("y", "x"), name="v", attrs={"units": "m s-1"})
    >>> div = divergence(u, v)
    >>> div.name, div.attrs["units"], div.values[0]
    ('div_u_v', 's-1', array([0.005, 0.005, 0.005, 0.005, 0.005]))
    """
    return _operate("divergence", (u, v), dim_alias(dim, dims), geospatial, _winds(winds, options))


def vorticity(
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    winds: str | None = None,
    **options: Any,
) -> Any:
    """Relative vorticity ∂v/∂x − ∂u/∂y (vertical component of the curl) of (u, v).

    Parameters
    ----------
    u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape (and
        dims/coords)
        The x and y components (eastward and northward with ``geospatial=True``), as for
        :func:`divergence`: Quantities give a Quantity in u's units per spacing unit, in u's
        registry; masked arrays give a masked result.
    dim : pair (x, y) of axes (arrays) or dim names (DataArrays), optional
        Default: the last dim is x, the one before it y. With ``geospatial=True`` the
        longitude and latitude dims (the only ones accepted).
    dims : optional
        Alias of ``dim`` (give one of them, not both).
    geospatial : bool
        Per metre on a latitude/longitude grid, with the metric term ``+(u/R) tan φ``
        (``N(φ)`` in place of ``R`` on WGS84); coordinates found as
        :func:`daskgrad.geospatial_gradient` finds them, or a projected grid as
        :class:`daskgrad.Grid` finds it.
    winds : {"grid", "earth"}, optional
        With ``geospatial=True`` on a projected grid, required: "grid" when u and v are along
        the grid's x and y (as regional models write them; MetPy's convention), "earth" when
        they are eastward and northward (turned to the grid by the meridian convergence
        first). The result is MetPy's map-factor form with pyproj's parallel and meridional
        scales. Ignored on latitude/longitude grids, where the frames coincide.
    **options
        ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as for
        :func:`daskgrad.gradient`; with ``geospatial=True`` ``latitude``, ``longitude``,
        ``earth``, ``radius``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as
        for :func:`daskgrad.geospatial_gradient`. Any other is a TypeError.

    Returns
    -------
    array, Quantity, or DataArray
        One array like ``u`` (NumPy, lazy dask with u's chunks, masked, a Quantity), or a
        DataArray with u's dims and coords named ``vort_{u}_{v}``, with ``long_name``,
        ``units`` and, for winds and sea-water velocities in ``s-1``, CF's ``standard_name``
        (``atmosphere_relative_vorticity``, ``ocean_relative_vorticity``).

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> vorticity(-y, x)[0]
    array([2., 2., 2., 2., 2.])
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> vorticity(-y * ureg("m/s"), x * ureg("m/s"), spacing=1000.0 * ureg.m)[0]
    <Quantity([0.002 0.002 0.002 0.002 0.002], '1 / second')>
    >>> import xarray as xr
    >>> u = xr.DataArray(-y, dims=("y", "x"), name="u",
    ...                  attrs={"units": "m s-1", "standard_name": "eastward_wind"})
    >>> v = xr.DataArray(x, dims=("y", "x"), name="v",
    ...                  attrs={"units": "m s-1", "standard_name": "northward_wind"})
    >>> vort = vorticity(u, v, spacing={"x": 1e3, "y": 1e3})
    >>> vort.name, vort.values[0]
    ('vort_u_v', array([0.002, 0.002, 0.002, 0.002, 0.002]))
    """
    return _operate("vorticity", (u, v), dim_alias(dim, dims), geospatial, _winds(winds, options))


def laplacian(
    f: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    **options: Any,
) -> Any:
    """Σ ∂²f/∂x_d² over ``dim`` with second-derivative stencils of the requested accuracy.

    Not the gradient of the gradient: at accuracy 2 the 3-point ``(f[i+1] − 2f[i] + f[i−1])/h²``
    for a scalar step, findiff's stencils otherwise (Fornberg weights on coordinates; one-sided
    ones of ``q + 2`` points at true edges, ``q`` being ``edge_order`` at accuracy 2).

    Parameters
    ----------
    f : NumPy or dask array, masked array, pint Quantity, or xarray DataArray
        The scalar field. A Quantity (bare or as DataArray data) gives a Quantity in f's units
        per spacing unit squared (``K/m²``), in f's registry; a masked array a result masked
        wherever a stencil touches a masked value.
    dim : None, int, dim name, or sequence of them, optional
        Any number of axes (arrays) or dim names (DataArrays), all by default. With
        ``geospatial=True`` the latitude and longitude dims (the only ones accepted).
    dims : optional
        Alias of ``dim`` (give one of them, not both).
    geospatial : bool
        Per metre on a latitude/longitude grid with 1-D coordinates (2-D ones are a
        NotImplementedError): ``∂²f/∂x² + ∂²f/∂y² − (tan φ / R) ∂f/∂y``; coordinates found as
        :func:`daskgrad.geospatial_gradient` finds them. On a projected grid (see
        :class:`daskgrad.Grid`) ``k² f_xx + h² f_yy`` plus, on non-conformal projections,
        ``k h ∂(k/h)/∂x f_x + k h ∂(h/k)/∂y f_y`` (k, h the parallel and meridional scales).
    **options
        As for :func:`divergence`: ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``,
        ``periodic``; with ``geospatial=True`` ``latitude``, ``longitude``, ``earth``,
        ``radius`` in place of ``spacing``. Any other is a TypeError.

    Returns
    -------
    array, Quantity, or DataArray
        One array like ``f`` (NumPy, lazy dask with f's chunks, masked, a Quantity), or a
        DataArray with f's dims and coords named ``lap_{f}``, with ``long_name`` and ``units``
        (f's units / coordinate units squared, when both are known) attrs.

    Examples
    --------
    >>> x = np.arange(5.0)
    >>> laplacian(x**2 + 3 * x, edge_order=2)
    array([2., 2., 2., 2., 2.])
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> laplacian(x**2 + y**2, dim=1, spacing=0.5, edge_order=2)[0]  # along x only
    array([8., 8., 8., 8., 8.])
    >>> import xarray as xr
    >>> T = xr.DataArray(x**2 + y**2, dims=("y", "x"), name="T", attrs={"units": "K"},
    ...                  coords={"x": ("x", np.arange(5.0), {"units": "m"}),
    ...                          "y": ("y", np.arange(4.0), {"units": "m"})})
    >>> lap = laplacian(T, edge_order=2)
    >>> lap.name, lap.attrs["units"], lap.values[0]
    ('lap_T', 'K m-2', array([4., 4., 4., 4., 4.]))
    """
    return _operate("laplacian", (f,), dim_alias(dim, dims), geospatial, options)


def _winds(winds: Any, options: dict[str, Any]) -> dict[str, Any]:
    return options if winds is None else {**options, "winds": winds}


def _operate(kind, inputs, dims, geospatial, options):
    check_flag(geospatial)
    if any(units.is_xarray(a) for a in inputs):
        from .xr.operators import operate_xarray

        return operate_xarray(kind, inputs, dims, geospatial, options)
    check_array_options(kind, geospatial, options)
    names = ("u", "v") if len(inputs) == 2 else ("f",)
    plain, data_units = units.same_units(kind, inputs, names)
    if "spacing" in options:
        options["spacing"], step_units = units.common_spacing(kind, options["spacing"])
    else:
        step_units = None
    if "periodic" in options:
        options["periodic"] = units.strip_periods(options["periodic"], step_units)
    out = operate_arrays(kind, plain, dims, **options)
    registry = units.registry_of(data_units, step_units)
    if registry is None:
        return out
    order = 2 if kind == "laplacian" else 1
    return units.quantity(out, units.derivative_units(data_units, step_units, registry, order))
