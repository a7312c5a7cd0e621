"""Divergence, relative vorticity and Laplacian at scale: one task per chunk reads the chunks
of the inputs and their ghost planes once (see :mod:`daskgrad.core.operators`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.operators import operate_arrays
from .xr import units as units

__all__ = ["divergence", "laplacian", "vorticity"]


def divergence(
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
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
    dim : pair (x, y) of axes (arrays) or dim names (DataArrays)
        Default: the last dim is x, the one before it y (MetPy's ``(…, y, x)`` layout). With
        ``geospatial=True`` the longitude and latitude dims. ``dims`` is an alias.
    geospatial : bool
        Per metre on a latitude/longitude grid, with the metric term ``-(v/R) tan φ``
        (``N(φ)`` in place of ``R`` on WGS84); coordinates found as
        :func:`daskgrad.geospatial_gradient` finds them.
    **options
        ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as for
        :func:`daskgrad.gradient` (spacings may be Quantities); with ``geospatial=True``
        also ``latitude``, ``longitude``, ``earth``, ``radius`` (``spacing``/``periodic``
        then come from the coordinates).

    Returns
    -------
    One array like ``u`` (NumPy, lazy dask with u's chunks, a Quantity, or a DataArray named
    ``div_{u}_{v}`` with units and, for winds, CF's ``divergence_of_wind``).

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> divergence(2 * x, 3 * y)[0]
    array([5., 5., 5., 5., 5.])
    """
    return _operate("divergence", (u, v), _dim(dim, dims), geospatial, options)


def vorticity(
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    **options: Any,
) -> Any:
    """Relative vorticity ∂v/∂x − ∂u/∂y (vertical component of the curl) of (u, v).

    Arguments as for :func:`divergence`; with ``geospatial=True`` the metric term is
    ``+(u/R) tan φ``. A DataArray result is named ``vort_{u}_{v}`` (CF
    ``atmosphere_relative_vorticity`` for winds).

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> vorticity(-y, x)[0]
    array([2., 2., 2., 2., 2.])
    """
    return _operate("vorticity", (u, v), _dim(dim, dims), geospatial, options)


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
    ones of ``q + 2`` points at true edges, ``q`` being ``edge_order`` at accuracy 2). ``dim``
    (alias ``dims``): any number of axes or dim names, all by default. With
    ``geospatial=True`` (1-D latitude and longitude coordinates):
    ``∂²f/∂x² + ∂²f/∂y² − (tan φ / R) ∂f/∂y`` per metre. Other arguments as for
    :func:`divergence`; a DataArray result is named ``lap_{f}``, a Quantity result is in f's
    units per spacing unit squared (``K/m²``).

    Examples
    --------
    >>> x = np.arange(5.0)
    >>> laplacian(x**2 + 3 * x, edge_order=2)
    array([2., 2., 2., 2., 2.])
    """
    return _operate("laplacian", (f,), _dim(dim, dims), geospatial, options)


def _dim(dim: Any, dims: Any) -> Any:
    """``dims`` is an alias of ``dim``, the word :func:`daskgrad.gradient` uses."""
    if dim is not None and dims is not None:
        raise TypeError(f"give dim or its alias dims, not both (dim={dim!r}, dims={dims!r})")
    return dims if dim is None else dim


def _operate(kind, inputs, dims, geospatial, options):
    if not isinstance(geospatial, bool | np.bool_):
        raise TypeError(f"geospatial must be True or False; got {geospatial!r}")
    if any(_is_xarray(a) for a in inputs):
        from .xr.operators import operate_xarray

        return operate_xarray(kind, inputs, dims, geospatial, options)
    if geospatial:
        raise TypeError(
            "geospatial=True needs xarray DataArrays whose latitude/longitude coordinates "
            "give the metric; got arrays"
        )
    allowed = {"spacing", "accuracy", "edge_order", "nan_policy", "periodic"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"{kind}() got unexpected options {sorted(unknown)}; allowed: {allowed}")
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


def _is_xarray(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("xarray.") and type(obj).__name__ in ("DataArray", "Dataset")
