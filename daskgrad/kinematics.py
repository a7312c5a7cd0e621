"""Kinematics at scale with MetPy's names and definitions: deformations, absolute vorticity,
advection, frontogenesis, the (a)geostrophic wind and the Coriolis parameter, each one task
per chunk for all its derivatives (see :mod:`daskgrad.core.kinematics`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np  # noqa: F401  (the examples in the docstrings use np)

from .core.kinematics import KINDS, Call, coriolis_array, kinematic_arrays
from .core.kinematics_vertical import advection_arrays
from .core.latitude import GRAVITY, OMEGA
from .core.plan import array_options, check_array_options, check_flag, dim_alias
from .xr import units as units_pint
from .xr.kinematic_units import (
    array_units,
    check_inputs_alike,
    kinematic_units,
    latitude_in_radians,
    magnitude_in,
    quantities_of,
    si_number,
    simplified_quantity,
    with_units,
)
from .xr.units import is_xarray
from .xr.vertical_units import advection_w_units

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "absolute_vorticity",
    "advection",
    "ageostrophic_wind",
    "coriolis_parameter",
    "frontogenesis",
    "geostrophic_wind",
    "shearing_deformation",
    "stretching_deformation",
    "total_deformation",
]

# Parameter entries shared by the docstrings below: a line ``%(name)s`` in a docstring is
# replaced by the entry (each line indented as the placeholder), as xarray's and MetPy's
# docstring substitution do, so that the rendered docstrings keep numpydoc's sections.
_SHARED_DOCS = {
    "winds": """\
u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape
    The x and y components, as for :func:`shearing_deformation`.""",
    "dim": """\
dim : pair (x, y) of axes or dim names, optional
    As for :func:`shearing_deformation`.
dims : optional
    Alias of ``dim``.""",
    "options": """\
**options
    As for :func:`shearing_deformation`.""",
    "latitude": """\
latitude : optional
    As for :func:`absolute_vorticity` (required for arrays).""",
    "omega": """\
omega : float or Quantity
    The earth's rotation rate, s⁻¹ (MetPy's 7.292115e-5).""",
    "g": """\
g : float or Quantity
    Gravity, m s⁻² (MetPy's 9.80665).""",
}
_PLACEHOLDER = re.compile(r"( *)%\((\w+)\)s")


def _shared_doc(func: F) -> F:
    """``func`` with the ``%(name)s`` lines of its docstring filled from
    :data:`_SHARED_DOCS`."""
    if func.__doc__:
        lines = []
        for line in func.__doc__.splitlines():
            found = _PLACEHOLDER.fullmatch(line)
            if found is None:
                lines.append(line)
                continue
            indent, name = found.groups()
            lines += [indent + entry for entry in _SHARED_DOCS[name].splitlines()]
        func.__doc__ = "\n".join(lines)
    return func


@_shared_doc
def shearing_deformation(
    u: Any, v: Any, *, dim: Any = None, dims: Any = None, geospatial: bool = False, **options: Any
) -> Any:
    """Shearing deformation ∂v/∂x + ∂u/∂y of the horizontal wind (u, v), as MetPy's.

    Parameters
    ----------
    u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape
        The x and y components (eastward and northward with ``geospatial=True``).
        Quantities (bare or as DataArray data; v is converted to u's units) give a Quantity
        in u's units per spacing unit, in u's registry; masked arrays a masked result.
    dim : pair (x, y) of axes (arrays) or dim names (DataArrays), optional
        Default: the last dim is x, the one before it y (MetPy's ``(…, y, x)``). With
        ``geospatial=True`` the longitude and latitude dims (the only ones accepted).
    dims : optional
        Alias of ``dim`` (give one of them, not both).
    geospatial : bool
        Per metre on a latitude/longitude grid, with the metric terms of the one
        velocity-gradient tensor (``∂v/∂x + (u/R) tan φ``; N(φ) for R on WGS84), as
        :func:`daskgrad.vorticity` has them.
    **options
        ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as for
        :func:`daskgrad.gradient`; with ``geospatial=True`` ``latitude``, ``longitude``,
        ``earth``, ``radius``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` as
        for :func:`daskgrad.geospatial_gradient`. Any other is a TypeError.

    Returns
    -------
    array, Quantity, or DataArray
        Like ``u``: NumPy, lazy dask with u's chunks, masked, a Quantity, or a DataArray
        named ``shear_def_{u}_{v}`` with ``long_name`` and ``units`` (u's / the spacing's,
        when both are known).

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> shearing_deformation(y, x, spacing=0.5)[0]
    array([4., 4., 4., 4.])
    """
    return _kinematic(
        Call("shearing_deformation", (u, v), dim_alias(dim, dims), geospatial, options)
    )


@_shared_doc
def stretching_deformation(
    u: Any, v: Any, *, dim: Any = None, dims: Any = None, geospatial: bool = False, **options: Any
) -> Any:
    """Stretching deformation ∂u/∂x − ∂v/∂y of the horizontal wind (u, v), as MetPy's.

    Parameters
    ----------
    %(winds)s
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid with the metric terms
        (``∂u/∂x − (v/R) tan φ``).
    %(options)s

    Returns
    -------
    array, Quantity, or DataArray
        Like ``u``; a DataArray is named ``stretch_def_{u}_{v}``.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> stretching_deformation(x, y)[0]
    array([0., 0., 0., 0.])
    >>> import xarray as xr
    >>> m = {"units": "m"}
    >>> u = xr.DataArray(3 * x, dims=("y", "x"), name="u", attrs={"units": "m s-1"},
    ...                  coords={"x": ("x", 1e3 * np.arange(4), m),
    ...                          "y": ("y", 1e3 * np.arange(3), m)})
    >>> st = stretching_deformation(u, u.rename("v") * 0)
    >>> st.name, st.attrs["units"], st.values[0]
    ('stretch_def_u_v', 's-1', array([0.003, 0.003, 0.003, 0.003]))
    """
    return _kinematic(
        Call("stretching_deformation", (u, v), dim_alias(dim, dims), geospatial, options)
    )


@_shared_doc
def total_deformation(
    u: Any, v: Any, *, dim: Any = None, dims: Any = None, geospatial: bool = False, **options: Any
) -> Any:
    """Total deformation √(shearing² + stretching²) of the horizontal wind, as MetPy's.

    Parameters
    ----------
    %(winds)s
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid, both deformations with their metric terms.
    %(options)s

    Returns
    -------
    array, Quantity, or DataArray
        Like ``u``; a DataArray is named ``total_def_{u}_{v}``.

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> total_deformation(3 * x * ureg("m/s"), 4 * x * ureg("m/s"), spacing=ureg("1 km"))[0]
    <Quantity([0.005 0.005 0.005 0.005], '1 / second')>
    """
    return _kinematic(Call("total_deformation", (u, v), dim_alias(dim, dims), geospatial, options))


@_shared_doc
def absolute_vorticity(
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    latitude: Any = None,
    omega: Any = OMEGA,
    **options: Any,
) -> Any:
    """Absolute vorticity ∂v/∂x − ∂u/∂y + f, f = 2Ω sin φ, as MetPy's.

    Parameters
    ----------
    u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape
        The x and y components, as for :func:`shearing_deformation`; plain numbers are
        taken as m/s on a spacing in metres (f is added in s⁻¹).
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid (metric term ``+(u/R) tan φ``); f from the
        grid's latitude.
    latitude : array, Quantity, str or DataArray, optional
        Arrays: the latitude of every point, broadcastable to u (plain numbers are radians, as
        in MetPy; a Quantity in any angle unit); required. DataArrays: the name of a
        coordinate or a DataArray of latitudes (degrees unless its units say radians); by
        default the grid's latitude with ``geospatial=True``, else the coordinate named
        lat/latitude/nav_lat or with ``standard_name`` latitude.
    %(omega)s
    %(options)s

    Returns
    -------
    array, Quantity, or DataArray
        Like ``u``; a DataArray is named ``abs_vort_{u}_{v}``, with CF's ``standard_name``
        ``atmosphere_absolute_vorticity`` for eastward/northward winds in ``s-1``.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> absolute_vorticity(-y, x, spacing=1e3, latitude=np.pi / 6, omega=1e-4)[0]
    array([0.0021, 0.0021, 0.0021, 0.0021])
    """
    return _kinematic(
        Call(
            "absolute_vorticity", (u, v), dim_alias(dim, dims), geospatial, options, latitude, omega
        )
    )


@_shared_doc
def coriolis_parameter(latitude: Any, *, omega: Any = OMEGA) -> Any:
    """The Coriolis parameter f = 2Ω sin φ, as MetPy's.

    Parameters
    ----------
    latitude : array, Quantity, or DataArray
        NumPy or dask arrays of plain numbers are radians (as in MetPy; values beyond π/2 are
        a ValueError), Quantities in any angle unit, DataArrays in degrees unless their
        ``units`` say radians.
    %(omega)s

    Returns
    -------
    array, Quantity, or DataArray
        f in s⁻¹: like ``latitude`` (lazy for dask); a Quantity ``1/s`` in latitude's
        registry; a DataArray named ``f`` with ``units`` ``s-1`` and CF's ``standard_name``
        ``coriolis_parameter``.

    Examples
    --------
    >>> coriolis_parameter(np.radians([0.0, 30.0, 90.0]))
    array([0.000000e+00, 7.292115e-05, 1.458423e-04])
    >>> import xarray as xr
    >>> f = coriolis_parameter(xr.DataArray([45.0], dims="lat", attrs={"units": "degrees_north"}))
    >>> f.name, f.attrs["standard_name"], round(float(f[0]), 10)
    ('f', 'coriolis_parameter', 0.0001031261)
    """
    omega = si_number(omega, "1/s", "omega")
    if is_xarray(latitude):
        from .xr.kinematics import coriolis_xarray

        return coriolis_xarray(latitude, omega)
    out = coriolis_array(latitude_in_radians("coriolis_parameter", latitude), omega)
    if units_pint.is_quantity(latitude):
        return units_pint.quantity(out, latitude._REGISTRY.Unit("1/s"))
    return out


@_shared_doc
def advection(
    scalar: Any,
    u: Any,
    v: Any,
    w: Any = None,
    *,
    dim: Any = None,
    dims: Any = None,
    vertical_dim: Any = None,
    geospatial: bool = False,
    **options: Any,
) -> Any:
    """Advection −(u ∂s/∂x + v ∂s/∂y) of a scalar by the horizontal wind, as MetPy's.

    Parameters
    ----------
    scalar : NumPy or dask array, pint Quantity, or xarray DataArray
        The advected field.
    u, v : arrays, Quantities or DataArrays like ``scalar``
        The wind's x and y components (eastward and northward with ``geospatial=True``).
    w : optional
        The vertical wind, along ``vertical_dim``, adding ``w ∂s/∂z`` with z's spacing:
        for arrays the third entry of ``spacing`` (a number, a 1-D coordinate, or an array
        broadcastable to the data that varies by column), for DataArrays
        ``vertical_dim``'s coordinate (w per z's units is converted to u per spacing's).
    %(dim)s
    vertical_dim : optional
        The axis (default -3) or dim name of ``w``'s derivative (with ``w`` only); not one
        of ``dim``.
    geospatial : bool
        Per metre on a latitude/longitude grid (a scalar's gradient has no metric term).
    %(options)s

    Returns
    -------
    array, Quantity, or DataArray
        Like ``scalar``, in scalar's units times u's per spacing unit (``K s-1``); a
        DataArray is named ``adv_{scalar}`` (CF's
        ``tendency_of_air_temperature_due_to_advection`` for ``air_temperature`` in K).

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> advection(2 * x + y, np.ones((3, 4)), np.ones((3, 4)))[0]
    array([-3., -3., -3., -3.])
    """
    if w is not None:
        return advection_with_w(
            scalar,
            u,
            v,
            w,
            vertical_dim=vertical_dim,
            dims=dim_alias(dim, dims),
            geospatial=geospatial,
            options=options,
        )
    if vertical_dim is not None:
        raise TypeError("advection: vertical_dim goes with w, the vertical wind; w is None")
    return _kinematic(Call("advection", (scalar, u, v), dim_alias(dim, dims), geospatial, options))


@_shared_doc
def frontogenesis(
    theta: Any,
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    **options: Any,
) -> Any:
    """2-D kinematic (Petterssen) frontogenesis ½|∇θ|(D cos 2β − δ), as MetPy's.

    Computed as the equal −(θx² ∂u/∂x + θx θy (∂v/∂x + ∂u/∂y) + θy² ∂v/∂y)/|∇θ| (0 where
    ∇θ = 0), the wind's derivatives from the one velocity-gradient tensor.

    Parameters
    ----------
    theta : NumPy or dask array, pint Quantity, or xarray DataArray
        Potential temperature.
    u, v : arrays, Quantities or DataArrays like ``theta``
        The wind's x and y components (eastward and northward with ``geospatial=True``).
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid, the wind's derivatives with their metric
        terms.
    %(options)s

    Returns
    -------
    array, Quantity, or DataArray
        Like ``theta``, in θ's units per spacing unit times u's per spacing unit
        (``K m-1 s-1``); a DataArray is named ``fgen_{theta}``.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> frontogenesis(x, -x, y)[0]  # θ along x, compressed along x: frontogenetic
    array([1., 1., 1., 1.])
    """
    return _kinematic(
        Call("frontogenesis", (theta, u, v), dim_alias(dim, dims), geospatial, options)
    )


@_shared_doc
def geostrophic_wind(
    height: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    latitude: Any = None,
    omega: Any = OMEGA,
    g: Any = GRAVITY,
    **options: Any,
) -> Any:
    """The geostrophic wind (−(g/f) ∂Z/∂y, (g/f) ∂Z/∂x), as MetPy's.

    Parameters
    ----------
    height : NumPy or dask array, pint Quantity, or xarray DataArray
        Geopotential height (m), or geopotential (m² s⁻², then g is not used), told apart by
        the units of a Quantity or of the ``units`` attribute; plain numbers are heights in m
        on a spacing in m.
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid, f from the grid's latitude.
    %(latitude)s
    %(omega)s
    %(g)s
    %(options)s

    Returns
    -------
    tuple (u_g, v_g)
        Like ``height`` in m/s (infinite where f = 0, as MetPy's); DataArrays named
        ``ug_{height}`` and ``vg_{height}``, with CF's ``geostrophic_eastward_wind`` and
        ``geostrophic_northward_wind`` on a latitude/longitude grid.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> ug, vg = geostrophic_wind(10 * y + 5 * x, spacing=1.0, latitude=np.pi / 2, omega=0.5, g=1.0)
    >>> ug[0], vg[0]
    (array([-10., -10., -10., -10.]), array([5., 5., 5., 5.]))
    """
    return _kinematic(
        Call(
            "geostrophic_wind",
            (height,),
            dim_alias(dim, dims),
            geospatial,
            options,
            latitude,
            omega,
            g,
        )
    )


@_shared_doc
def ageostrophic_wind(
    height: Any,
    u: Any,
    v: Any,
    *,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    latitude: Any = None,
    omega: Any = OMEGA,
    g: Any = GRAVITY,
    **options: Any,
) -> Any:
    """The ageostrophic wind (u − u_g, v − v_g), as MetPy's.

    Parameters
    ----------
    height : array, Quantity or DataArray
        Geopotential height or geopotential, as for :func:`geostrophic_wind`.
    u, v : arrays, Quantities or DataArrays like ``height``
        The wind.
    %(dim)s
    geospatial : bool
        Per metre on a latitude/longitude grid, f from the grid's latitude.
    %(latitude)s
    %(omega)s
    %(g)s
    %(options)s

    Returns
    -------
    tuple (u_a, v_a)
        Like ``u``, in u's units; DataArrays named ``ageo_{u}_{height}`` and
        ``ageo_{v}_{height}``.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> ua, va = ageostrophic_wind(-y, 1 + 0 * x, 0 * x, latitude=np.pi / 2, omega=0.5, g=1.0)
    >>> ua[0], va[0]
    (array([0., 0., 0., 0.]), array([0., 0., 0., 0.]))
    """
    return _kinematic(
        Call(
            "ageostrophic_wind",
            (height, u, v),
            dim_alias(dim, dims),
            geospatial,
            options,
            latitude,
            omega,
            g,
        )
    )


def _kinematic(call: Call) -> Any:
    check_flag(call.geospatial)
    omega = si_number(call.omega, "1/s", "omega")
    gravity = si_number(call.gravity, "m/s**2", "g")
    call = replace(call, omega=omega, gravity=gravity)
    if any(is_xarray(a) for a in call.inputs):
        from .xr.kinematics import kinematic_xarray

        return kinematic_xarray(call)
    kind, inputs, options, latitude = call.kind, call.inputs, call.options, call.latitude
    check_array_options(kind, call.geospatial, options)
    spec = KINDS[kind]
    plain, found = quantities_of(kind, inputs, spec.data_names)
    step_units = None
    if "spacing" in options:
        options["spacing"], step_units = units_pint.common_spacing(kind, options["spacing"])
    if "periodic" in options:
        options["periodic"] = units_pint.strip_periods(options["periodic"], step_units)
    registry = units_pint.registry_of(*found.values(), step_units)
    if spec.needs_latitude:
        if latitude is None:
            raise ValueError(
                f"{kind} needs latitude= (the latitude of every point, radians or an angle "
                "Quantity) for the Coriolis parameter"
            )
        plain.append(latitude_in_radians(kind, latitude))
    if registry is not None and step_units is None:
        step_units = registry.dimensionless
    out_units, omega, gravity = kinematic_units(kind, found, step_units, registry, omega, gravity)
    out = kinematic_arrays(kind, plain, call.dims, **options, omega=omega, gravity=gravity)
    if registry is not None:
        out = tuple(simplified_quantity(o, unit) for o, unit in zip(out, out_units, strict=True))
    return out[0] if len(out) == 1 else out


def advection_with_w(
    scalar: Any,
    u: Any,
    v: Any,
    w: Any,
    *,
    vertical_dim: Any,
    dims: Any,
    geospatial: bool,
    options: dict[str, Any],
) -> Any:
    """:func:`daskgrad.advection` with a vertical wind ``w`` along ``vertical_dim``.

    Arrays: ``spacing`` has the two horizontal spacings and, third, the vertical one (a
    number, a 1-D coordinate along ``vertical_dim`` or an array broadcastable to the data);
    ``vertical_dim`` defaults to -3. DataArrays: the vertical coordinate is
    ``vertical_dim``'s (index spacing without one).

    Examples
    --------
    >>> z = np.array([0.0, 100.0, 300.0, 600.0])
    >>> s = np.broadcast_to(2 * z[:, None, None], (4, 3, 3))
    >>> one = np.ones((4, 3, 3))
    >>> advection_with_w(s, one, one, one, vertical_dim=0, dims=None, geospatial=False,
    ...                  options={"spacing": (1.0, 1.0, z)})[:, 1, 1]
    array([-2., -2., -2., -2.])
    """
    check_flag(geospatial)
    if any(is_xarray(a) for a in (scalar, u, v, w)):
        from .xr.kinematics_vertical import vertical_xarray

        return vertical_xarray(
            "advection", (scalar, u, v, w), None, vertical_dim, dims, geospatial, options, {}
        )
    options = array_options("advection", geospatial, options)
    spacing = options.pop("spacing", None)
    if isinstance(spacing, list | tuple) and len(spacing) == 3:
        horizontal, vertical = list(spacing[:2]), spacing[2]
    elif spacing is None or np.ndim(units_pint.split(spacing)[0]) == 0:
        horizontal, vertical = spacing, spacing
    else:
        raise ValueError(
            "advection with w: spacing must be a scalar or three spacings (x, y, vertical)"
        )
    options["spacing"] = horizontal
    (scalar, u, v), found, registry, step = array_units("advection", (scalar, u, v), options)
    w, found["w"] = magnitude_in("advection", w, registry, "w")
    check_inputs_alike("advection", [scalar, w], ["scalar", "w"])
    z, z_unit = magnitude_in("advection", vertical, registry, "spacing[2]")
    units = {"scalar": found["scalar"], "u": found["u"], "w": found["w"]}
    out_unit, factor = advection_w_units(units, step, z_unit)
    if factor != 1.0:
        z = z / factor
    out = advection_arrays(
        scalar,
        u,
        v,
        w,
        (-1, -2) if dims is None else dims,
        -3 if vertical_dim is None else vertical_dim,
        vertical=z,
        **options,
    )
    return with_units(out, out_unit)[0]
