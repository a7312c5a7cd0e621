"""pint Quantities in and out: strip units on the way in, put the derivative's units back on
the way out, in the input's own registry (pint is imported only when a Quantity is given)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "delta_units",
    "is_quantity",
    "is_xarray",
    "parse_units",
    "quantity",
    "simplified",
    "split",
    "split_spacing",
    "udunits",
]


def is_quantity(x: Any) -> bool:
    """A pint Quantity of any registry (False without importing pint when it is not loaded)."""
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(x, pint.Quantity)


def is_xarray(obj: Any) -> bool:
    """An xarray DataArray or Dataset (False without importing xarray): the input that goes
    to the xarray layer, for the top-level functions that take arrays of any kind."""
    mod = type(obj).__module__
    return mod.startswith("xarray.") and type(obj).__name__ in ("DataArray", "Dataset")


def split(x: Any) -> tuple[Any, Any]:
    """(magnitude, units) of a Quantity; (x, None) for anything else."""
    if is_quantity(x):
        return x.magnitude, x.units
    return x, None


def split_spacing(spacing: Any) -> tuple[Any, Any]:
    """Spacing without units, and its units: one Unit (or None) for a scalar or a Quantity
    array, else a list with one Unit or None per entry."""
    if is_quantity(spacing):
        return spacing.magnitude, spacing.units
    if isinstance(spacing, Sequence) and not isinstance(spacing, str):
        parts = [split(s) for s in spacing]
        if any(u is not None for _, u in parts):
            return [m for m, _ in parts], [u for _, u in parts]
    return spacing, None


def units_of(spacing_units: Any, i: int) -> Any:
    """The units of the i-th differentiated dim's spacing (None: plain numbers)."""
    return spacing_units[i] if isinstance(spacing_units, list) else spacing_units


def registry_of(*units: Any) -> Any:
    """The registry of the first Unit given (None when all are None)."""
    return next((u._REGISTRY for u in units if u is not None), None)


def in_registry(unit: Any, registry: Any) -> Any:
    """``unit`` as a Unit of ``registry`` (Quantities of two registries cannot be mixed)."""
    if unit is None:
        return registry.dimensionless
    if unit._REGISTRY is registry:
        return unit
    return registry.parse_units(str(unit))


def delta_units(unit: Any) -> Any:
    """The units of a difference of values in ``unit``: ``delta_degC`` for ``degC``."""
    one = unit._REGISTRY.Quantity(1.0, unit)
    return (one - one).units


def derivative_units(data: Any, spacing: Any, registry: Any, order: int = 1) -> Any:
    """data units / spacing units ** order (None stands for dimensionless), in ``registry``."""
    num = delta_units(in_registry(data, registry))
    return num / in_registry(spacing, registry) ** order


def quantity(magnitude: Any, unit: Any) -> Any:
    """A Quantity of ``unit``'s registry (lazy when ``magnitude`` is a dask array), in
    ``unit`` simplified (:func:`simplified`: ``m / km / s`` is ``1 / s``, the magnitude
    scaled by pint's own conversion)."""
    factor, unit = simplified(unit)
    if factor != 1.0:
        magnitude = magnitude * factor
    return unit._REGISTRY.Quantity(magnitude, unit)


def simplified(unit: Any) -> tuple[float, Any]:
    """``unit`` with every unit of a dimension it holds twice (``m`` and ``km``) written as
    one of them (the numerator's, else the first), and the factor that converts a magnitude
    in ``unit`` to it (pint's ``to``); dimensionless units (degree, radian) are left as they
    are.

    Examples
    --------
    >>> import pint
    >>> reg = pint.UnitRegistry()
    >>> simplified(reg.Unit("m / km / s"))
    (0.001, <Unit('1 / second')>)
    >>> simplified(reg.Unit("K / km"))
    (1.0, <Unit('kelvin / kilometer')>)
    """
    registry = unit._REGISTRY
    factor = 1.0
    for _ in range(8):  # one pair merged per pass; a unit has few names
        names = list(unit._units.items())
        pair = None
        for i, (a, ea) in enumerate(names):
            dim = registry.Unit(a).dimensionality
            if not dim:
                continue
            for b, eb in names[i + 1 :]:
                if registry.Unit(b).dimensionality == dim:
                    # the target: the numerator's name when one of the two is there
                    pair = (b, a, eb) if ea > 0 or eb < 0 else (a, b, ea)
                    break
            if pair:
                break
        if pair is None:
            return factor, unit
        old, new, exp = pair
        target = unit * (registry.Unit(new) / registry.Unit(old)) ** exp
        try:
            factor *= float(registry.Quantity(1.0, unit).to(target).magnitude)
        except Exception:  # an offset unit pint will not convert: keep it as it is
            return factor, unit
        unit = target
    return factor, unit


# CF's spellings of degrees, which a plain UnitRegistry() does not define
_CF_DEGREES = re.compile(r"^degrees?_?(north|east|n|e)$", re.IGNORECASE)


def parse_units(text: Any, registry: Any, what: str) -> Any:
    """Units written in attrs (UDUNITS, ``m s-1``, or pint's ``m / s``) as a Unit of
    ``registry``; None and "" are dimensionless; a ValueError naming ``what`` otherwise."""
    if text is None or not str(text).strip():
        return registry.dimensionless
    text = str(text).strip()
    if _CF_DEGREES.match(text):
        text = "degree"
    tries = [text, " * ".join(re.sub(r"(?<=[^\W\d])(-?\d+)$", r"**\1", f) for f in text.split())]
    for t in tries:
        try:
            return registry.parse_units(t)
        except Exception:  # pint's errors for unknown names and bad syntax differ by version
            continue
    raise ValueError(
        f"{what} has units {text!r}, which the input's unit registry does not know; give the "
        "spacing as a Quantity or fix the units attribute"
    )


def udunits(unit: Any) -> str:
    """A Unit spelled the UDUNITS way of attrs (``m s-1``), with the registry's symbols.

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> udunits(ureg.Unit("meter / second")), udunits(ureg.Unit("kilometer"))
    ('m s-1', 'km')
    """
    registry = unit._REGISTRY
    factors = sorted(unit._units.items(), key=lambda item: item[1] < 0)
    text = []
    for name, exp in factors:
        exp = int(exp) if exp == int(exp) else exp
        text.append(f"{registry.get_symbol(name)}{'' if exp == 1 else exp}")
    return " ".join(text) or "1"


def same_units(kind: str, inputs: Sequence[Any], names: Sequence[str]) -> tuple[list, Any]:
    """Magnitudes of the components of an operator, all in the first one's units; a
    ValueError naming the component when some have units and others none."""
    parts = [split(a) for a in inputs]
    unit = parts[0][1]
    if all(u is None for _, u in parts):
        return [m for m, _ in parts], None
    for (_, u), name in zip(parts, names, strict=False):
        if u is None or unit is None:
            have = names[0] if unit is not None else name
            lack = name if unit is not None else names[0]
            raise ValueError(
                f"{kind}: {have} is a Quantity but {lack} has no units; give both as "
                "Quantities or neither"
            )
    out = [parts[0][0]]
    for a, name in zip(inputs[1:], names[1:], strict=False):
        try:
            out.append(a.to(in_registry(unit, a._REGISTRY)).magnitude)
        except Exception as err:
            raise ValueError(
                f"{kind}: {name} has units {a.units} but {names[0]} has units {unit}: {err}"
            ) from None
    return out, unit


def common_spacing(kind: str, spacing: Any) -> tuple[Any, Any]:
    """An operator's spacing without units, every entry in the units of the first Quantity
    (operators add derivatives along several dims, so their spacings must agree)."""
    plain, units = split_spacing(spacing)
    if not isinstance(units, list):
        return plain, units
    if any(u is None for u in units):
        raise ValueError(
            f"{kind}: spacing mixes Quantities and plain numbers ({list(map(str, units))}); "
            "give every entry with units or none"
        )
    first = units[0]
    out = []
    for entry, q in zip(plain, spacing, strict=True):
        try:
            out.append(
                q.to(in_registry(first, q._REGISTRY)).magnitude if q.units != first else entry
            )
        except Exception as err:
            raise ValueError(f"{kind}: spacing entries of different dimensions: {err}") from None
    return out, first


def period_magnitude(period: Any, spacing_unit: Any, d: Any) -> Any:
    """A period given as a Quantity, as a number in the units of its dim's spacing (a Unit or
    an attrs string); anything else unchanged."""
    if not is_quantity(period):
        return period
    if isinstance(spacing_unit, str):
        spacing_unit = parse_units(spacing_unit, period._REGISTRY, f"the spacing of dim {d!r}")
    if spacing_unit is None:
        raise ValueError(
            f"the period of dim {d!r} is a Quantity ({period}) but its spacing has no units"
        )
    try:
        return period.to(in_registry(spacing_unit, period._REGISTRY)).magnitude
    except Exception as err:
        raise ValueError(f"the period of dim {d!r}: {err}") from None


def strip_periods(periodic: Any, spacing_units: Any) -> Any:
    """Array input: Quantity periods as numbers in the spacing's units (one unit for all dims
    with units, else the dims cannot be told apart here)."""
    if not isinstance(periodic, dict) or not any(map(is_quantity, periodic.values())):
        return periodic
    found = (
        {str(u) for u in spacing_units if u is not None}
        if isinstance(spacing_units, list)
        else None
    )
    unit = spacing_units
    if found is not None:
        if len(found) > 1:
            raise ValueError(
                "periods given as Quantities need spacings of one unit; give the periods as "
                "numbers in their dims' spacing units"
            )
        unit = next(u for u in spacing_units if u is not None) if found else None
    return {d: period_magnitude(p, unit, d) for d, p in periodic.items()}


def conversion_factor(unit: Any, to: Any) -> float:
    """How many ``to`` one ``unit`` is (both pint Units of one registry)."""
    return float(unit._REGISTRY.Quantity(1.0, unit).to(to).magnitude)
