"""Units of the kinematics with a vertical coordinate (PV, Q-vector, advection with w) with pint:
the result's units from the inputs', MetPy's constants folded with the conversion factors into
the numbers the formulas take (pint is imported only when some units are known)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import is_dask_collection
from ..errors import warn_caller
from . import units as units_pint

__all__ = ["advection_w_units", "check_pressure", "pv_units", "q_vector_units"]

PV_UNITS = "K * m**2 / (kg * s)"  # MetPy's result units of the baroclinic PV


def _known(units: dict[str, Any], spacing: Any) -> bool:
    return spacing is not None and all(u is not None for u in units.values())


def _rate(kind: str, wind: Any, spacing: Any) -> Any:
    rate = units_pint.delta_units(wind) / spacing
    if rate.dimensionality != rate._REGISTRY.get_dimensionality("1/[time]"):
        raise ValueError(
            f"{kind}: u per spacing has units {rate}, not a rate (1/s): the Coriolis parameter "
            "cannot be added; give u in m/s and the spacing in m"
        )
    return rate


def pv_units(
    units: dict[str, Any], spacing: Any, omega: float, g: float
) -> tuple[Any, float, float]:
    """(the PV's Unit or None, Ω and g as the formula takes them).

    ``units``: Units of theta, pressure and u (None where unknown: numbers are then SI and so
    is the result); ``omega`` (s-1), ``g`` (m s-2) SI numbers. Ω comes in the vorticity's
    units; g with the factor that makes the result K m2 kg-1 s-1 (MetPy's), or the inputs'
    own combination when it is not convertible to that (θ not a temperature, say).

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> u = {"theta": ureg.K, "pressure": ureg.hPa, "u": ureg("m/s").units}
    >>> out, omega, g = pv_units(u, ureg.km, 7.292115e-5, 9.80665)
    >>> str(out), round(omega, 4), round(g / 1e-5, 5)
    ('kelvin * meter ** 2 / kilogram / second', 0.0729, 9.80665)
    """
    if not _known(units, spacing):
        return None, omega, g
    reg = spacing._REGISTRY
    rate = _rate("potential_vorticity_baroclinic", units["u"], spacing)
    omega = omega / units_pint.conversion_factor(rate, reg.Unit("1/s"))
    raw = reg.Unit("m/s**2") * units_pint.delta_units(units["theta"]) * rate / units["pressure"]
    try:
        return reg.Unit(PV_UNITS), omega, g * units_pint.conversion_factor(raw, reg.Unit(PV_UNITS))
    except Exception:
        return raw, omega, g


def q_vector_units(units: dict[str, Any], spacing: Any, rd: float) -> tuple[Any, float]:
    """(the Q-vector's Unit or None, Rd as the formula takes it): MetPy's, in base units.

    ``units``: Units of u, temperature, pressure and static_stability (dimensionless for a
    plain number); ``rd`` in J kg-1 K-1.

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> u = {"u": ureg("m/s").units, "temperature": ureg.K, "pressure": ureg.hPa,
    ...      "static_stability": ureg.dimensionless}
    >>> out, rd = q_vector_units(u, ureg.km, 287.0)
    >>> str(out), round(rd, 8)
    ('meter ** 2 / kilogram / second', 2.87e-06)
    """
    if not _known(units, spacing):
        return None, rd
    reg = spacing._REGISTRY
    raw = (
        reg.Unit("J / (kg * K)")
        / (units["pressure"] * units["static_stability"])
        * units_pint.delta_units(units["u"])
        * units_pint.delta_units(units["temperature"])
        / spacing**2
    )
    base = reg.Quantity(1.0, raw).to_base_units()
    return base.units, rd * float(base.magnitude)


def advection_w_units(units: dict[str, Any], spacing: Any, vertical: Any) -> tuple[Any, float]:
    """(the advection's Unit or None, the factor turning w ∂s/∂z into the units of
    u ∂s/∂x): the vertical coordinate is divided by it.

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> u = {"scalar": ureg.K, "u": ureg("m/s").units, "w": ureg("hPa/s").units}
    >>> out, factor = advection_w_units(u, ureg.m, ureg.Pa)
    >>> str(out), factor
    ('kelvin / second', 100.0)
    """
    if not _known(units, spacing) or vertical is None:
        return None, 1.0
    horizontal = units_pint.delta_units(units["u"]) / spacing
    try:
        factor = units_pint.conversion_factor(units["w"] / vertical, horizontal)
    except Exception:
        raise ValueError(
            f"advection: w per vertical coordinate has units {units['w'] / vertical}, not those "
            f"of u per spacing ({horizontal}); the terms cannot be added"
        ) from None
    return units_pint.delta_units(units["scalar"]) * horizontal, factor


def check_pressure(kind: str, values: Any, unit: Any, what: str = "pressure") -> None:
    """Refuse a ``pressure`` that is not one: a Quantity (``unit``) not of pint's pressure
    dimensionality, or NumPy values not all positive (dask values are not inspected: that
    would compute them). Warn (one UserWarning) when values without units look like hPa
    (0 < max ≤ 1100): plain numbers are read as Pa, so hPa would be 100× off.

    Examples
    --------
    >>> check_pressure("q_vector", 85000.0, None)
    >>> check_pressure("q_vector", np.array(["2020-01-01"], "datetime64[ns]"), None)
    Traceback (most recent call last):
    ...
    ValueError: q_vector: pressure holds times (datetime64[ns]), not a pressure; ...
    >>> check_pressure("q_vector", -1.0, None)
    Traceback (most recent call last):
    ...
    ValueError: q_vector: pressure must be positive; its smallest value is -1
    """
    dtype = _dtype(values)
    if dtype is not None and dtype.kind in "mM":  # the dtype only: dask values not computed
        raise ValueError(
            f"{kind}: {what} holds times ({dtype}), not a pressure; give the pressure levels "
            "(Pa, hPa, …)"
        )
    if dtype is not None and dtype.kind not in "iuf":
        raise TypeError(f"{kind}: {what} must be real numbers; got dtype {dtype}")
    if unit is not None:
        reg = unit._REGISTRY
        if reg.Quantity(1.0, unit).dimensionality != reg.get_dimensionality("[pressure]"):
            raise ValueError(f"{kind}: {what} has units {unit}, not a pressure (Pa, hPa, …)")
    if values is None or is_dask_collection(values):
        return
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        return
    low = float(np.nanmin(arr)) if not np.all(np.isnan(arr)) else np.nan
    if low <= 0:
        raise ValueError(f"{kind}: {what} must be positive; its smallest value is {low:.6g}")
    top = float(np.nanmax(arr)) if np.isfinite(low) else np.nan
    if unit is None and 0 < top <= 1100:
        warn_caller(  # at the user's line, however deep the API's calls go
            f"{kind}: {what} has no units and values up to {top:.6g}, which look like hPa; "
            "plain numbers are read as Pa (SI), 100x off if they are hPa: give units "
            "(attrs['units'] = 'hPa' or a Quantity) or values in Pa"
        )


def _dtype(values: Any) -> np.dtype | None:
    if values is None:
        return None
    dtype = getattr(values, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(values).dtype
