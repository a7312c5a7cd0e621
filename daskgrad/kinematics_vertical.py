"""Kinematics with a vertical coordinate, with MetPy's names and definitions: baroclinic potential
vorticity and Q-vectors (advection with a vertical wind is :func:`daskgrad.advection`'s);
each one task per chunk for all its derivatives (see :mod:`daskgrad.core.kinematics_vertical`)."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the examples in the docstrings use np)

from .core.kinematics_vertical import (
    RD,
    potential_vorticity_arrays,
    q_vector_arrays,
)
from .core.latitude import GRAVITY, OMEGA
from .core.plan import array_options, check_flag, dim_alias
from .xr.kinematic_units import (
    array_units,
    latitude_in_radians,
    magnitude_in,
    si_number,
    with_units,
)
from .xr.units import is_xarray
from .xr.vertical_units import check_pressure, pv_units, q_vector_units

__all__ = ["potential_vorticity_baroclinic", "q_vector"]


def potential_vorticity_baroclinic(
    theta: Any,
    pressure: Any,
    u: Any,
    v: Any,
    *,
    vertical_dim: Any = None,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    latitude: Any = None,
    omega: Any = OMEGA,
    g: Any = GRAVITY,
    **options: Any,
) -> Any:
    """Baroclinic potential vorticity −g[(f + ζ) ∂θ/∂p + ∂u/∂p ∂θ/∂y − ∂v/∂p ∂θ/∂x], as MetPy's.

    ζ is :func:`daskgrad.vorticity`'s (the same velocity-gradient tensor), f = 2Ω sin φ, and
    ∂/∂p is along ``vertical_dim``, spaced by the pressure (any spacing, ascending or
    descending; MetPy's one-sided edges with ``edge_order=2``).

    Parameters
    ----------
    theta : NumPy or dask array, pint Quantity, or xarray DataArray
        Potential temperature.
    pressure : array, Quantity, DataArray, str or None
        Arrays: a 1-D array along ``vertical_dim``, or an array broadcastable to theta
        (pressure varying by column, NumPy or dask: then ∂/∂p at each point takes the
        stencil of the levels with the weights of its own column's pressures, MetPy's
        ``first_derivative(f, x=pressure)`` with ``edge_order=2``). DataArrays: a DataArray
        (1-D along the vertical dim, or a field), a 1-D array or Quantity along
        ``vertical_dim`` (MetPy's ``ds.level.values * units.hPa``), a coordinate's name, or
        None for ``vertical_dim``'s coordinate. Plain numbers are Pa (values ≤ 1100 without
        units warn: hPa?); pressure must be positive and, as a Quantity, a pressure.
    u, v : arrays, Quantities or DataArrays like ``theta``
        The wind's x and y components (eastward and northward with ``geospatial=True`` on a
        latitude/longitude grid; on a projected grid as ``winds`` says).
    vertical_dim : int or str, optional
        The vertical axis (arrays; default -3, MetPy's ``(…, p, y, x)``) or dim name
        (DataArrays; default the dim of a 1-D pressure DataArray). Not one of ``dim``.
    dim : pair (x, y) of axes or dim names, optional
        The horizontal dims, as for :func:`daskgrad.shearing_deformation`.
    dims : optional
        Alias of ``dim``.
    geospatial : bool
        Per metre on the data's grid: latitude/longitude (1-D, or 2-D without a CRS: the
        metrics from the 2-D coordinates, winds eastward/northward), or projected (CF
        ``grid_mapping`` or ``crs=``; MetPy's map-factor forms with pyproj's scales). f from
        the grid's latitude; on a projected grid from ``latitude=``, else the data's
        latitude coordinate, else pyproj's inverse of x/y.
    latitude : optional
        As for :func:`daskgrad.absolute_vorticity` (required for arrays).
    omega : float or Quantity
        The earth's rotation rate, s⁻¹ (MetPy's 7.292115e-5).
    g : float or Quantity
        Gravity, m s⁻² (MetPy's 9.80665).
    **options
        As for :func:`daskgrad.shearing_deformation`; ``spacing`` is the horizontal one. On
        a projected grid ``winds="grid"`` (u, v along the grid's x and y, MetPy's convention)
        or ``"earth"`` (eastward/northward, turned to the grid first) is required.

    Returns
    -------
    array, Quantity, or DataArray
        Like ``theta``, in K m² kg⁻¹ s⁻¹ (MetPy's units; plain numbers as SI); a DataArray is
        named ``pv_{theta}`` (no CF standard name: ``ertel_potential_vorticity`` is another
        quantity).

    Examples
    --------
    >>> p = np.array([1000.0, 900.0, 800.0]) * 100
    >>> theta = np.broadcast_to(300 - 1e-4 * p[:, None, None], (3, 4, 5))
    >>> rest = np.zeros((3, 4, 5))
    >>> pv = potential_vorticity_baroclinic(theta, p, rest, rest, latitude=np.pi / 2,
    ...                                     spacing=1e5)
    >>> round(float(pv[1, 2, 2]) / 1e-6, 6)  # −g f ∂θ/∂p, in PVU
    0.143022
    """
    check_flag(geospatial)
    consts = {
        "omega": si_number(omega, "1/s", "omega"),
        "g": si_number(g, "m/s**2", "g"),
        "latitude": latitude,
    }
    kind = "potential_vorticity_baroclinic"
    horizontal = dim_alias(dim, dims)
    if any(is_xarray(a) for a in (theta, u, v)):
        from .xr.kinematics_vertical import vertical_xarray

        inputs = (theta, u, v)
        return vertical_xarray(
            kind, inputs, pressure, vertical_dim, horizontal, geospatial, options, consts
        )
    options = array_options(kind, geospatial, options)
    (theta, u, v), found, registry, step = array_units(kind, (theta, u, v), options)
    p, p_unit = magnitude_in(kind, pressure, registry, "pressure")
    check_pressure(kind, p, p_unit)
    units = {"theta": found["theta"], "pressure": p_unit, "u": found["u"]}
    out_unit, omega_, g_ = pv_units(units, step, consts["omega"], consts["g"])
    if latitude is None:
        raise ValueError(
            f"{kind} needs latitude= (the latitude of every point, radians or an angle "
            "Quantity) for the Coriolis parameter"
        )
    z = -3 if vertical_dim is None else vertical_dim
    out = potential_vorticity_arrays(
        theta,
        p,
        u,
        v,
        (-1, -2) if horizontal is None else horizontal,
        z,
        latitude=latitude_in_radians(kind, latitude),
        g=g_,
        omega=omega_,
        **options,
    )
    return with_units(out, out_unit)[0]


def q_vector(
    u: Any,
    v: Any,
    temperature: Any,
    pressure: Any,
    *,
    static_stability: Any = 1,
    vertical_dim: Any = None,
    dim: Any = None,
    dims: Any = None,
    geospatial: bool = False,
    rd: Any = RD,
    **options: Any,
) -> Any:
    """The Q-vector (Q1, Q2) = −Rd/(σ p) (∂v⃗/∂x · ∇T, ∂v⃗/∂y · ∇T), as MetPy's.

    The wind's derivatives are the one velocity-gradient tensor of :func:`daskgrad.vorticity`
    and the deformations (with its metric terms on the sphere).

    Parameters
    ----------
    u, v : NumPy or dask arrays, pint Quantities, or xarray DataArrays of the same shape
        The (geostrophic) wind's x and y components.
    temperature : array, Quantity or DataArray like ``u``
        Temperature.
    pressure : number, array, Quantity, DataArray or str
        One level's pressure (a number or 0-d Quantity); a 1-D array along ``vertical_dim``;
        or an array broadcastable to the data. DataArrays: also a coordinate's name, or None
        for ``vertical_dim``'s coordinate. Plain numbers are Pa.
    static_stability : number, array, Quantity or DataArray
        σ (J kg⁻¹ Pa⁻²), broadcastable to the data; the default 1 (no units) is GEMPAK's
        QVEC, as in MetPy.
    vertical_dim : int or str, optional
        The axis or dim a 1-D ``pressure`` runs along.
    dim : pair (x, y) of axes or dim names, optional
        As for :func:`daskgrad.shearing_deformation`.
    dims : optional
        Alias of ``dim``.
    geospatial : bool
        Per metre on the data's grid (latitude/longitude, 1-D or 2-D, or projected as for
        :func:`potential_vorticity_baroclinic`), with the metric terms.
    rd : float or Quantity
        The gas constant of dry air, J kg⁻¹ K⁻¹ (MetPy's R/Md = 287.0475).
    **options
        As for :func:`daskgrad.shearing_deformation`; ``winds`` as for
        :func:`potential_vorticity_baroclinic`.

    Returns
    -------
    tuple (Q1, Q2)
        Like ``u``, in base SI units as MetPy's (m² kg⁻¹ s⁻¹ with σ = 1); DataArrays named
        ``q1_{temperature}`` and ``q2_{temperature}``. On a projected grid along the grid's
        x and y with ``winds="grid"``, eastward and northward with ``winds="earth"``.

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> q1, q2 = q_vector(y, x, x, 50000.0, rd=287.0)
    >>> float(q1[1, 1]), float(q2[1, 1])
    (-0.0, -0.00574)
    """
    check_flag(geospatial)
    kind = "q_vector"
    horizontal = dim_alias(dim, dims)
    rd = si_number(rd, "J/(kg*K)", "rd")
    if any(is_xarray(a) for a in (u, v, temperature)):
        from .xr.kinematics_vertical import vertical_xarray

        consts = {"rd": rd, "static_stability": static_stability}
        return vertical_xarray(
            kind,
            (u, v, temperature),
            pressure,
            vertical_dim,
            horizontal,
            geospatial,
            options,
            consts,
        )
    options = array_options(kind, geospatial, options)
    (u, v, temperature), found, registry, step = array_units(kind, (u, v, temperature), options)
    p, p_unit = magnitude_in(kind, pressure, registry, "pressure")
    check_pressure(kind, p, p_unit)
    sigma, sigma_unit = magnitude_in(kind, static_stability, registry, "static_stability", True)
    units = {
        "u": found["u"],
        "temperature": found["temperature"],
        "pressure": p_unit,
        "static_stability": sigma_unit,
    }
    out_unit, rd_ = q_vector_units(units, step, rd)
    out = q_vector_arrays(
        u,
        v,
        temperature,
        p,
        (-1, -2) if horizontal is None else horizontal,
        vertical_dim=vertical_dim,
        static_stability=sigma,
        rd=rd_,
        **options,
    )
    return with_units(out, out_unit)
