"""Units of the kinematic quantities with pint: the result's units from the inputs' and the
spacing's, and MetPy's constants (Ω, g) expressed in the units of the data (pint is imported
only when some units are known)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.arrays import is_dask_collection
from ..errors import OptionWarning, warn_caller
from . import units as units_pint

__all__ = [
    "application_registry",
    "array_units",
    "check_inputs_alike",
    "check_latitude",
    "kinematic_units",
    "latitude_in_radians",
    "long_name",
    "magnitude_in",
    "no_units_warning",
    "parsed_units",
    "quantities_of",
    "si_number",
    "simplified",
    "simplified_quantity",
    "spell",
    "with_units",
]

_WIND = ("u", "v")


def long_name(word: str, scalar: Any = None, winds: Sequence[Any] = ()) -> str:
    """A result's ``long_name``: ``word`` of the DataArray ``scalar`` (its long_name, else its
    name), with the wind components ``winds`` by name (their long_names where unnamed), in one
    short sentence rather than every input's long_name joined by "and".

    Examples
    --------
    >>> import xarray as xr
    >>> theta = xr.DataArray(0.0, name="pt", attrs={"long_name": "Potential temperature"})
    >>> u, v = xr.DataArray(0.0, name="u"), xr.DataArray(0.0, name="v")
    >>> long_name("baroclinic potential vorticity", theta, [u, v])
    'baroclinic potential vorticity of Potential temperature, with winds u and v'
    >>> long_name("relative vorticity", None, [u, v])
    'relative vorticity of winds u and v'
    """
    from .coords import describe  # xarray: not imported with numpy-only use of daskgrad

    names = [str(describe(w) if w.name is None else w.name) for w in winds]
    wind = ""
    if names:
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        wind = f"wind{'s' * (len(names) > 1)} {listed}"
    if scalar is None:
        return f"{word} of {wind}"
    return f"{word} of {describe(scalar)}" + (f", with {wind}" if wind else "")


def application_registry() -> Any:
    """pint's application registry, the one MetPy and cf-xarray set: units daskgrad reads from
    attrs live there, so that results mix with MetPy's Quantities."""
    import pint

    return pint.get_application_registry()


def si_number(value: Any, unit: str, what: str) -> float:
    """A constant given as a number (SI) or a Quantity, as a number in ``unit``."""
    if units_pint.is_quantity(value):
        try:
            return float(value.to(unit).magnitude)
        except Exception as err:
            raise ValueError(f"{what} has units {value.units}, not {unit}: {err}") from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} must be a number (SI units) or a Quantity; got {value!r}"
        ) from None


def simplified(unit: Any) -> tuple[Any, float]:
    """(``unit`` with its factors of one dimensionality combined, the number one ``unit`` is in
    it): pint's ``to_reduced_units``, applied only where two factors share a dimensionality
    (``m / km / s`` is 0.001 ``1 / s``; ``K / km`` stays as it is).

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> out, factor = simplified(ureg.Unit("m / km / s"))
    >>> str(out), factor
    ('1 / second', 0.001)
    >>> str(simplified(ureg.Unit("K / km"))[0])
    'kelvin / kilometer'
    """
    reg = unit._REGISTRY
    dims = [str(reg.get_dimensionality(name)) for name in unit._units]
    if len(set(dims)) == len(dims):
        return unit, 1.0
    reduced = reg.Quantity(1.0, unit).to_reduced_units()
    return reduced.units, float(reduced.magnitude)


def simplified_quantity(magnitude: Any, unit: Any) -> Any:
    """A kinematic result as a Quantity in :func:`simplified` units, its numbers scaled to
    them (a NumPy result, which the caller owns, in place; dask lazily, dtype kept).

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> q = simplified_quantity(np.array([2.0]), ureg.Unit("m / km / s"))
    >>> str(q.units), q.magnitude.tolist()
    ('1 / second', [0.002])
    """
    unit, factor = simplified(unit)
    if factor != 1.0:
        if isinstance(magnitude, np.ndarray) and magnitude.flags.writeable:
            magnitude *= magnitude.dtype.type(factor)
        else:
            magnitude = magnitude * np.asarray(factor, dtype=magnitude.dtype)
    return units_pint.quantity(magnitude, unit)


_ORDER = ("[length]", "[mass]", "[time]")


def spell(unit: Any) -> str:
    """A Unit in UDUNITS' words as the CF tables write them: factors with positive exponents
    first, then the negative ones by length, mass, time (``K m-1 s-1``, not ``K s-1 m-1``).

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> spell(ureg.Unit("K / s / m"))
    'K m-1 s-1'
    """
    registry = unit._REGISTRY

    def rank(item: tuple[str, Any]) -> tuple[bool, int]:
        name, exp = item
        if exp > 0:
            return (False, 0)
        dims = registry.get_dimensionality(name)
        return (True, next((i for i, d in enumerate(_ORDER) if d in dims), len(_ORDER)))

    parts = []
    for name, exp in sorted(unit._units.items(), key=rank):
        exp = int(exp) if exp == int(exp) else exp
        symbol = "degree" if name == "degree" else registry.get_symbol(name)  # not pint's "deg"
        parts.append(f"{symbol}{'' if exp == 1 else exp}")
    return " ".join(parts) or "1"


def kinematic_units(
    kind: str,
    units: dict[str, Any],
    spacing: Any,
    registry: Any,
    omega: float,
    gravity: float,
) -> tuple[tuple[Any, ...], float, float]:
    """(the outputs' Units, Ω and g as the formula needs them).

    ``units`` maps the inputs' names to their Units (u's for v, whose data is in u's units)
    or None where unknown, ``spacing`` is the spacing's Unit or None, ``omega`` (s-1) and
    ``gravity`` (m s-2) are SI numbers. The formula gets Ω in the units of the vorticity for
    absolute vorticity, and for the geostrophic wind g (1 for a geopotential) times the factor
    that turns g Z / L / f into the output's units; the outputs are None when some units are
    unknown (numbers are then taken as SI: Z in m, L in m).

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> out, omega, g = kinematic_units(
    ...     "geostrophic_wind", {"height": ureg.Unit("m**2/s**2")}, ureg.Unit("km"), ureg,
    ...     7.292115e-5, 9.80665)
    >>> str(out[0]), g
    ('meter / second', 0.001)
    """
    nout = 2 if kind.endswith("geostrophic_wind") else 1
    if registry is not None:  # Quantities of several registries: all in the first one's
        units = {
            k: None if u is None else units_pint.in_registry(u, registry) for k, u in units.items()
        }
        spacing = None if spacing is None else units_pint.in_registry(spacing, registry)
    height = units.get("height")
    if height is not None:
        dims = height.dimensionality
        if dims == registry.get_dimensionality("[length]**2/[time]**2"):
            gravity = 1.0  # a geopotential: Φ = g Z
        elif dims != registry.get_dimensionality("[length]"):  # not a height either
            raise ValueError(
                f"{kind}: height has units {height}, neither a geopotential height (m) nor a "
                "geopotential (m2 s-2)"
            )
    if registry is None or spacing is None or any(u is None for u in units.values()):
        return (None,) * nout, omega, gravity
    wind = units.get("u")
    per_length = spacing**-1
    angle = _is_angle(spacing, registry)
    if kind in ("shearing_deformation", "stretching_deformation", "total_deformation"):
        return (units_pint.delta_units(wind) * per_length,), omega, gravity
    if kind == "absolute_vorticity":
        rate = units_pint.delta_units(wind) * per_length
        if angle:
            no_units_warning(
                kind, f"its vorticity is per {spell(spacing)} ({spell(rate)}) and f in s-1"
            )
            return (None,), omega, gravity
        try:
            return (
                (rate,),
                omega / units_pint.conversion_factor(rate, registry.Unit("1/s")),
                gravity,
            )
        except Exception:
            raise ValueError(
                f"{kind}: u per spacing has units {rate}, not a rate (1/s): the Coriolis "
                "parameter cannot be added; give u in m/s and the spacing in m"
            ) from None
    if kind == "advection":
        scalar = units_pint.delta_units(units["scalar"])
        return (scalar * wind * per_length,), omega, gravity
    if kind == "frontogenesis":
        theta = units_pint.delta_units(units["theta"]) * per_length
        return (theta * units_pint.delta_units(wind) * per_length,), omega, gravity
    # the geostrophic wind: g Z / (L f), into m/s (or u's units for the ageostrophic wind)
    raw = (registry.Unit("m/s**2") if gravity != 1.0 else registry.dimensionless) * height
    out = registry.Unit("m/s") if wind is None else wind
    if angle:  # per degree: g Z / L / f in the units pint derives (m2 s-1 degree-1)
        derived = raw * per_length * registry.Unit("s")
        if kind == "geostrophic_wind":
            return (derived, derived), omega, gravity
        no_units_warning(
            kind,
            f"its geostrophic wind is per {spell(spacing)} ({spell(derived)}), u in {spell(out)}",
        )
        return (None, None), omega, gravity
    try:
        factor = units_pint.conversion_factor(raw * per_length * registry.Unit("s"), out)
    except Exception:
        raise ValueError(
            f"{kind}: g·height/spacing/f has units {raw * per_length * registry.Unit('s')}, "
            f"not a speed ({out})"
        ) from None
    return (out, out), omega, gravity * factor


def _is_angle(unit: Any, registry: Any) -> bool:
    """``unit`` is an angle (degrees, radians): dimensionless to pint but not 1."""
    return bool(unit.dimensionless) and unit != registry.dimensionless


def no_units_warning(kind: str, why: str) -> None:
    """Warn that ``kind``'s result has no units (it would have otherwise been silent)."""
    warn_caller(
        OptionWarning(
            "geospatial",
            f"{kind}: the result has no units: {why}, which do not add; "
            "{opt:geospatial=True} differentiates per metre on the sphere",
        )
    )


def parsed_units(texts: dict[str, Any], registry: Any) -> dict[str, Any]:
    """Units written in attrs as Units of ``registry`` (None where absent or unknown)."""
    out = {}
    for name, text in texts.items():
        try:
            out[name] = None if text is None else units_pint.parse_units(text, registry, name)
        except ValueError:
            out[name] = None
    return out


def quantities_of(kind: str, datas: Sequence[Any], names: Sequence[str]) -> tuple[list, dict]:
    """The magnitudes of the inputs (the winds in u's units) and their Units by name, all
    None when none is a Quantity; a ValueError naming the one without units otherwise."""
    parts = [units_pint.split(a) for a in datas]
    check_inputs_alike(kind, [m for m, _ in parts], names)
    if all(u is None for _, u in parts):
        return [m for m, _ in parts], dict.fromkeys(names)
    for (_, u), name in zip(parts, names, strict=True):
        if u is None:
            have = next(n for (_, w), n in zip(parts, names, strict=True) if w is not None)
            raise ValueError(
                f"{kind}: {have} is a Quantity but {name} has no units; give every input as a "
                "Quantity or none"
            )
    plain = [m for m, _ in parts]
    found = {n: u for (_, u), n in zip(parts, names, strict=True)}
    if "v" in names:
        i, j = names.index("u"), names.index("v")
        winds, wind_units = units_pint.same_units(kind, [datas[i], datas[j]], _WIND)
        plain[i], plain[j] = winds
        found["v"] = wind_units
    return plain, found


def check_latitude(kind: str, radians: Any, name: str = "latitude") -> Any:
    """``radians`` (NumPy) refused when beyond ±90° (dask values: as each chunk computes, in
    the formula's task, see :func:`daskgrad.core.latitude.checked_latitude`)."""
    if is_dask_collection(radians):
        return radians
    values = np.asarray(radians)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{kind}: {name} must be real numbers; got dtype {values.dtype}")
    top = float(np.nanmax(np.abs(values))) if values.size and not np.isnan(values).all() else 0.0
    if top > np.pi / 2 * (1 + 1e-12):
        raise ValueError(
            f"{kind}: {name} reaches {np.degrees(top):.6g} degrees, beyond ±90 "
            "(latitude and longitude swapped, or the wrong units?)"
        )
    return radians


def latitude_in_radians(kind: str, latitude: Any) -> Any:
    """Latitudes in radians: a Quantity converted, plain numbers radians (as in MetPy); both
    refused beyond ±90° (NumPy values now; dask ones as their chunks compute).

    Examples
    --------
    >>> import pint
    >>> latitude_in_radians("f", pint.UnitRegistry().Quantity(100.0, "degree"))
    Traceback (most recent call last):
    ...
    ValueError: f: latitude reaches 100 degrees, beyond ±90 (...)
    """
    values, unit = units_pint.split(latitude)
    if unit is not None:
        try:
            values = latitude.to(unit._REGISTRY.radian).magnitude
        except Exception:
            raise ValueError(f"{kind}: latitude has units {unit}, not an angle") from None
        return check_latitude(kind, values)
    if is_dask_collection(values):
        return values
    values = np.asarray(values)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{kind}: latitude must be real numbers; got dtype {values.dtype}")
    top = float(np.nanmax(np.abs(values))) if values.size else 0.0
    if top > np.pi / 2 * (1 + 1e-12):
        raise ValueError(
            f"{kind}: latitude reaches {top:.6g}, beyond π/2: plain numbers are radians (as "
            "in MetPy); pass np.radians(lat) or a Quantity in degrees"
        )
    return values


def check_inputs_alike(kind: str, datas: Sequence[Any], names: Sequence[str]) -> None:
    """Refuse complex inputs and inputs whose shape differs from the first's, naming them.

    Examples
    --------
    >>> check_inputs_alike("advection", [np.ones(3), np.ones(2)], ["scalar", "u"])
    Traceback (most recent call last):
    ...
    ValueError: advection: u has shape (2,) but scalar has shape (3,)
    """
    shape = tuple(np.shape(datas[0])) if datas else ()
    for data, name in zip(datas, names, strict=True):
        dtype = getattr(data, "dtype", None)
        if dtype is None:
            dtype = np.asarray(data).dtype
        if np.dtype(dtype).kind == "c":
            raise TypeError(f"{kind}: {name} is complex ({dtype}); give real numbers")
        if tuple(np.shape(data)) != shape:
            raise ValueError(
                f"{kind}: {name} has shape {tuple(np.shape(data))} but {names[0]} has shape {shape}"
            )


def array_units(
    kind: str, inputs: tuple[Any, ...], options: dict[str, Any]
) -> tuple[list[Any], dict[str, Any], Any, Any]:
    """The inputs' magnitudes, their Units by name, the registry (None without Quantities)
    and the horizontal spacing's Unit; ``options``' spacing and periods made plain."""
    names = {"potential_vorticity_baroclinic": ("theta", "u", "v")}.get(
        kind, ("u", "v", "temperature") if kind == "q_vector" else ("scalar", "u", "v")
    )
    plain, found = quantities_of(kind, list(inputs), names)
    step = None
    if options.get("spacing") is not None:
        options["spacing"], step = units_pint.common_spacing(kind, options["spacing"])
    if "periodic" in options:
        options["periodic"] = units_pint.strip_periods(options["periodic"], step)
    registry = units_pint.registry_of(*found.values(), step)
    if registry is not None:
        step = units_pint.in_registry(step, registry)
    return plain, found, registry, step


def magnitude_in(kind: str, value: Any, registry: Any, name: str, optional: bool = False) -> Any:
    """(magnitude, Unit in ``registry``) of a Quantity argument; a plain one with Quantity
    data has no units (an error) unless ``optional`` (then dimensionless)."""
    magnitude, unit = units_pint.split(value)
    if registry is None:
        if unit is not None:
            raise ValueError(
                f"{kind}: {name} is a Quantity but the data are plain numbers; give both "
                "with units or neither"
            )
        return magnitude, None
    if unit is None and not optional:
        raise ValueError(f"{kind}: the inputs are Quantities but {name} has no units")
    return magnitude, units_pint.in_registry(unit, registry)


def with_units(out: tuple[Any, ...], unit: Any) -> tuple[Any, ...]:
    if unit is None:
        return out
    return tuple(simplified_quantity(o, unit) for o in out)
