"""Dims and coordinates of xarray objects as the core takes them (spacing, periods), and the
names, ``long_name`` and units of what is derived from them: shared by every function of the
xarray layer, which differentiate nothing here."""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..compat import contains_datetime_like, to_numeric
from ..core.arrays import is_dask_collection
from ..core.plan import (
    DATETIME_UNITS,
    normalize_datetime_unit,
    normalize_dims,
    normalize_periodic,
    normalize_spacing,
)
from . import units as units_pint

__all__ = [
    "TIME_UNITS",
    "UNIT_FACTOR",
    "accuracy_note",
    "derivative_attrs",
    "derived_dataset",
    "describe",
    "dim_periods",
    "dim_spacings",
    "divide_units",
    "is_time",
    "requested_dims",
    "time_numbers",
]


# xarray's datetime_unit codes, spelled as UDUNITS (and pint) understand them
# UDUNITS names of DATETIME_UNITS
_UDUNITS = ("week", "d", "h", "min", "s", "ms", "us", "ns", "ps", "fs", "as")


TIME_UNITS = dict(zip(DATETIME_UNITS, _UDUNITS, strict=True))


# one UDUNITS factor: a name and an optional integer exponent ("m", "s-1", "m2")
UNIT_FACTOR = re.compile(r"^([^\W\d]+)(-?\d+)?$")


def derived_dataset(out: dict[Hashable, xr.DataArray], ds: xr.Dataset) -> xr.Dataset:
    """The Dataset of ``ds``'s derivatives ``out``, with ``ds``'s coordinates, attrs and the
    file or store it was opened from (``encoding["source"]``: a result computed into memory keeps
    no other trace of it, and ``daskgrad.to_zarr`` refuses to write over it)."""
    result = xr.Dataset(out, coords=ds.coords, attrs=ds.attrs)
    if "source" in ds.encoding:
        result.encoding["source"] = ds.encoding["source"]
    return result


def describe(da: xr.DataArray) -> Any:
    """What a derived variable's long_name says was differentiated: the input's long_name,
    else its name (one rule for gradients, geospatial gradients and operators)."""
    return da.attrs.get("long_name") or da.name or "data"


def is_time(var: xr.Variable) -> bool:
    """datetime64, timedelta64 or cftime values; dask object arrays are taken for cftime
    (telling needs a read), and :func:`time_numbers` checks them when they compute."""
    if var.dtype == object and is_dask_collection(var.data):
        return True

    return bool(contains_datetime_like(var))


def time_numbers(da: xr.DataArray, unit: str | None) -> tuple[Any, str]:
    """Datetime-like data as numbers (and their unit), converted as ``differentiate`` does:
    minus its minimum, in ``unit``; without one, in the dtype's unit, or ns for cftime."""
    var, offset = da.variable, None
    if var.dtype == object:
        data = var.data
        if is_dask_collection(data):
            what = "the data" if da.name is None else f"variable {da.name!r}"
            data = data.map_blocks(_check_cftime, what, meta=data._meta)
        # xarray's builtin min() reads a dask array at once and fails on 2-D arrays
        offset, var = data.min(), xr.Variable(var.dims, data)
    if unit is not None:
        _check_span(var, unit, "the data" if da.name is None else f"variable {da.name!r}")
    numbers = to_numeric(var, offset=offset, datetime_unit=unit).data
    return numbers, unit or (np.datetime_data(var.dtype)[0] if var.dtype.kind in "mM" else "ns")


def _check_cftime(block: np.ndarray, what: str) -> np.ndarray:
    import cftime

    if block.size and not isinstance(block.flat[0], cftime.datetime):
        raise TypeError(
            f"{what} holds {type(block.flat[0]).__name__} objects; of object arrays only "
            "cftime datetimes can be differentiated"
        )
    return block


def requested_dims(
    dim: Any,
    all_dims: Sequence[Hashable],
    kind: str | None = None,
    horizontal: tuple[tuple[Hashable, ...], str] | None = None,
) -> list[Hashable]:
    """The dims named by ``dim``, as names: a translation of ``dim`` for the xarray layer
    (gradients and operators), checked by the one check of ``dim``,
    :func:`daskgrad.core.plan.normalize_dims`, against the input's dims ``all_dims``.

    ``kind``: an operator's name; its dims are then two, x then y (None: the last two), or
    for ``"laplacian"`` any (None: all). ``horizontal``: the dims of a geospatial grid and
    its coordinates' names; ``dim``, if given, must be those dims.

    Examples
    --------
    >>> requested_dims("x", ("y", "x"))
    ['x']
    >>> requested_dims(None, ("y", "x"), "vorticity")
    ['x', 'y']
    >>> requested_dims(["x", "z"], ("y", "x"))
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: dim 'z' is not a dim of the input; its dims are ('y', 'x')
    """
    names = tuple(all_dims)
    axes = normalize_dims(dim, len(names), kind=kind, names=names, horizontal=horizontal)
    return list(horizontal[0]) if horizontal is not None else [names[a] for a in axes]


def dim_spacings(obj, dims, spacing, datetime_unit) -> tuple[dict, dict, dict]:
    """Per requested dim: the spacing handed to the core (scalar or 1-D array), its units, and
    the time unit that ``differentiate`` converts datetime-like data by (None: its own). A
    translation: ``spacing`` by dim name (DataArrays and Quantities made numbers and units) is
    checked by the one check of ``spacing``, :func:`daskgrad.core.plan.normalize_spacing`;
    the dims it leaves are spaced by their coordinates."""
    if spacing is not None and not isinstance(spacing, Mapping) and np.ndim(spacing) == 0:
        spacing = dict.fromkeys(dims, spacing)
    given = {d: _override(h) for d, h in spacing.items()} if isinstance(spacing, Mapping) else {}
    names = tuple(obj.dims)
    numbers = {d: h for d, (h, _) in given.items()} if isinstance(spacing, Mapping) else spacing
    shape = tuple(obj.sizes[n] for n in names)
    axes = tuple(names.index(d) for d in dims)
    checked = normalize_spacing(numbers, axes, shape, names=names)
    steps: dict[Hashable, Any] = {}
    units: dict[Hashable, str | None] = {}
    codes = dict.fromkeys(dims, datetime_unit)
    for d, ax in zip(dims, axes, strict=True):
        if ax in checked:
            steps[d], units[d] = checked[ax], given[d][1]
        elif d in obj.coords:
            steps[d], units[d], codes[d] = _coordinate(obj.coords[d], d, datetime_unit)
        else:
            steps[d], units[d] = 1.0, None
    return steps, units, codes


def _override(h: Any) -> tuple[Any, str | None]:
    """A spacing given for a dim: its numbers (NumPy or dask) and units."""
    units = h.attrs.get("units") if isinstance(h, xr.DataArray) else None
    h = h.data if isinstance(h, xr.DataArray | xr.Variable) else h
    h, quantity = units_pint.split(h)
    if quantity is not None:
        units = units_pint.udunits(quantity)
    if np.ndim(h) == 0 or is_dask_collection(h):
        return h, units
    return np.asarray(h), units


def _coordinate(coord: xr.DataArray, d: Hashable, datetime_unit: str | None):
    """The coordinate as numbers, converted exactly like ``DataArray.differentiate`` does."""

    var = coord.variable
    if var.ndim != 1:
        raise ValueError(f"coordinate {d!r} must be 1-D; it has dims {var.dims}")
    magnitude, quantity = units_pint.split(var.data)
    if quantity is not None:  # a pint Quantity coordinate (not an index): its units as attrs
        var = var.copy(data=magnitude)
        return _coordinate(
            xr.DataArray(var, attrs={"units": units_pint.udunits(quantity)}), d, datetime_unit
        )
    if contains_datetime_like(var):
        unit = datetime_unit
        if unit is None:  # differentiate's defaults
            unit = np.datetime_data(var.dtype)[0] if var.dtype.kind in "mM" else "s"
        _check_span(var, unit, f"coordinate {d!r}")
        return to_numeric(var, datetime_unit=unit).data, TIME_UNITS.get(unit, unit), unit
    if var.dtype.kind not in "iuf":
        raise TypeError(
            f"coordinate {d!r} has dtype {var.dtype}, which cannot space a gradient; "
            f"pass spacing={{{d!r}: ...}}"
        )
    return var.data, coord.attrs.get("units"), datetime_unit


def _check_span(var: xr.Variable, unit: str, what: str) -> None:
    """The span of datetime64/timedelta64 ``var`` against ``datetime_unit`` (the one check of
    ``datetime_unit``, core.plan's: NumPy converts it in 64 bits without a word when it
    overflows)."""
    if var.dtype.kind not in "mM" or var.size < 2 or is_dask_collection(var.data):
        return
    values = np.asarray(var.data)
    valid = values[~np.isnat(values)]
    if valid.size >= 2:
        span = int((valid.max() - valid.min()) / np.timedelta64(1, "ns"))
        normalize_datetime_unit(unit, span=(span, what))


def dim_periods(periodic, dims, steps, units) -> dict[Hashable, float | None]:
    """{dim: period}; None lets the core use n·step for a scalar spacing. A translation of
    ``periodic`` by dim name (Quantity periods in their coordinate's units, the coordinates'
    time units for timedelta periods), checked by the one check of ``periodic``,
    :func:`daskgrad.core.plan.normalize_periodic`, against the differentiated ``dims`` and
    their ``steps``."""
    names = tuple(dims)
    if isinstance(periodic, Mapping):
        periodic = {
            d: units_pint.period_magnitude(p, units[d], d) if d in units else p
            for d, p in periodic.items()
        }
    time_units = {
        i: next((k for k, v in TIME_UNITS.items() if v == units[d]), None)
        for i, d in enumerate(names)
    }
    shape = tuple(np.shape(steps[d])[0] if np.ndim(steps[d]) == 1 else 1 for d in names)
    axes = tuple(range(len(names)))
    periods = normalize_periodic(
        periodic, axes, shape, [steps[d] for d in names], names=names, time_units=time_units
    )
    return {names[a]: p for a, p in periods.items()}


def derivative_attrs(
    what: Any, d: Hashable, data_units: Any, coord_units: Any, accuracy: int = 2
) -> dict[str, str]:
    attrs = {"long_name": f"derivative of {what} with respect to {d}{accuracy_note(accuracy)}"}
    if isinstance(data_units, str) and isinstance(coord_units, str) and coord_units.strip():
        attrs["units"] = divide_units(data_units, coord_units)
    return attrs


def accuracy_note(accuracy: int) -> str:
    """What a result's ``long_name`` says of an accuracy above numpy.gradient's 2.

    Examples
    --------
    >>> accuracy_note(4), accuracy_note(2)
    (' (order-4 accurate)', '')
    """
    return f" (order-{accuracy} accurate)" if accuracy > 2 else ""


def divide_units(num: str, den: str) -> str:
    """UDUNITS-style units of ``num / den``: with pint when installed, else plainly.

    Examples
    --------
    >>> divide_units("K", "m"), divide_units("m s-1", "s"), divide_units("1", "km")
    ('K m-1', 'm s-2', 'km-1')
    """
    simple = _divide_symbols(num, den)
    if simple is not None:  # pint's answer without building a registry (~1 s cold)
        return simple
    try:
        return _divide_pint(num, den)
    except Exception:  # pint missing, or a spelling it does not know (e.g. "degrees_north")
        return _divide_plain(num, den)


# SI symbols that pint reads as distinct units: only identical factors combine, so exponents
# added by name give pint's result, in its order (the numerator's factors, then the
# denominator's new ones; positive exponents first)
_SYMBOLS = frozenset(
    {"m", "km", "cm", "mm", "s", "K", "kg", "g", "Pa", "hPa", "kPa", "J", "W", "N"}
)


def _divide_symbols(num: str, den: str) -> str | None:
    exponents: dict[str, int] = {}
    for text, sign in ((num, 1), (den, -1)):
        for factor in text.split():
            match = UNIT_FACTOR.match(factor)
            if factor == "1" and len(text.split()) == 1:
                continue
            if not match or match[1] not in _SYMBOLS:
                return None
            exponents[match[1]] = exponents.get(match[1], 0) + sign * int(match[2] or 1)
    factors = sorted(((n, e) for n, e in exponents.items() if e), key=lambda item: item[1] < 0)
    return " ".join(f"{n}{'' if e == 1 else e}" for n, e in factors) or "1"


@functools.cache
def _registry():
    import pint

    return pint.UnitRegistry()


def _pint_syntax(units: str) -> str:
    return " * ".join(re.sub(r"(?<=[^\W\d])(-?\d+)$", r"**\1", f) for f in units.split()) or "1"


def _divide_pint(num: str, den: str) -> str:
    ureg = _registry()
    ratio = ureg.parse_units(_pint_syntax(num)) / ureg.parse_units(_pint_syntax(den))
    spelled: dict[str, str] = {}  # pint's name -> the spelling the user wrote
    for factor in f"{num} {den}".split():
        match = UNIT_FACTOR.match(factor)
        if match:
            (name,) = ureg.parse_units(match[1])._units
            spelled.setdefault(name, match[1])
    factors = sorted(ratio._units.items(), key=lambda item: item[1] < 0)
    if any(e != int(e) for _, e in factors):
        raise ValueError("fractional exponent")
    text = (f"{spelled.get(n) or ureg.get_symbol(n)}{'' if e == 1 else int(e)}" for n, e in factors)
    return " ".join(text) or "1"


def _divide_plain(num: str, den: str) -> str:
    match = UNIT_FACTOR.match(den.strip())
    inverse = f"{match[1]}{-int(match[2] or 1)}" if match else f"({den})-1"
    return inverse if num.strip() in ("", "1") else f"{num} {inverse}"
