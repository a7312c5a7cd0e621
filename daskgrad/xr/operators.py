"""Operators on DataArrays: dims by name, spacing from coordinates or from the lat/lon metric,
names and CF attributes."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..core.operators import STANDARD_NAMES, operate_arrays, output_name
from . import units as units
from .cf import mapping_of
from .coords import UNIT_FACTOR, accuracy_note, describe, divide_units
from .fields import check_inputs, check_same_grid, grid_data
from .geospatial import curvilinear_operator
from .kinematic_units import long_name

_WORDS = {"divergence": "divergence", "vorticity": "relative vorticity", "laplacian": "Laplacian"}


def operate_xarray(
    kind: str, inputs, dims, geospatial: bool | np.bool_, options: dict
) -> xr.DataArray:
    check_inputs(kind, inputs, geospatial, options)
    check_same_grid(kind, inputs)
    names = ("u", "v") if len(inputs) == 2 else ("f",)
    datas, data_units = units.same_units(kind, [a.data for a in inputs], names)
    if data_units is not None:  # pint Quantities inside: differentiate their magnitudes
        # units as attrs meanwhile, so that CF's names are given as to attrs-units input
        spelled = units.udunits(data_units)
        inputs = tuple(
            a.copy(data=d).assign_attrs(units=spelled) for a, d in zip(inputs, datas, strict=True)
        )
    first = inputs[0]
    data, units_den, extra = grid_data(
        kind, inputs, dims, options, geospatial, data_units, operate_arrays, curvilinear_operator
    )
    out = _wrap(kind, inputs, data, units_den, first, options.get("accuracy", 2))
    out.attrs.update(extra)
    if data_units is None:
        return out
    registry = data_units._REGISTRY
    den = units.parse_units(units_den, registry, f"the {kind}'s spacing")
    order = 2 if kind == "laplacian" else 1
    out.attrs.pop("units", None)
    return out.copy(
        data=units.quantity(out.data, units.derivative_units(data_units, den, registry, order))
    )


def _wrap(kind, inputs, data, den, first, accuracy: int) -> xr.DataArray:
    # the winds by name (their long_names where unnamed), or the Laplacian's one field
    what = long_name(_WORDS[kind], None, inputs) if len(inputs) == 2 else None
    what = what or f"{_WORDS[kind]} of {describe(first)}"
    attrs: dict[str, Any] = {"long_name": f"{what}{accuracy_note(accuracy)}"}
    units = first.attrs.get("units")
    if isinstance(units, str) and isinstance(den, str) and den.strip():
        square = f"{den.strip()}2" if UNIT_FACTOR.fullmatch(den.strip()) else None
        if kind != "laplacian":
            attrs["units"] = divide_units(units, den)
        elif square:  # in one division: "degC m-2", not pint's offset-unit "Δ°C m-2"
            attrs["units"] = divide_units(units, square)
        else:
            attrs["units"] = divide_units(divide_units(units, den), den)
    names = [a.attrs.get("standard_name") for a in inputs]
    standard = STANDARD_NAMES.get((kind, names[0])) if len(names) == 2 else None
    # CF's names have units of s-1: not for a per-degree result or one of unknown units
    if standard and names[1] == names[0].replace("eastward", "northward"):
        if attrs.get("units") == "s-1":
            attrs["standard_name"] = standard
    placed, encoding = mapping_of(first)
    out = xr.DataArray(
        data,
        coords=first.coords,
        dims=first.dims,
        name=output_name(kind, [a.name for a in inputs]),
        attrs={**attrs, **placed},
    )
    out.encoding.update(encoding)
    return out
