"""Kinematics on DataArrays: dims by name, the grid's spacing and metric as the operators get
them, the latitude for f, units with pint, names and CF attributes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..core.arrays import is_dask_collection
from ..core.earth import DEGREE, radians_per_unit
from ..core.kinematics import (
    KINDS,
    Call,
    coriolis_array,
    formula_arrays,
    kinematic_arrays,
)
from ..core.metric import LatLonMetric
from ..core.projection import ProjectedMetric
from . import units as units_pint
from .cf import mapping_of
from .coords import describe, dim_spacings
from .fields import (
    check_inputs,
    check_same_grid,
    grid_data,
    latitude_coords,
    latitude_radians,
)
from .geospatial import curvilinear_tensor, geospatial_gradient
from .kinematic_units import (
    application_registry,
    kinematic_units,
    long_name,
    parsed_units,
    quantities_of,
    simplified_quantity,
    spell,
)

__all__ = ["coriolis_xarray", "kinematic_xarray"]


_KINEMATIC_WORDS = {
    "shearing_deformation": ("shear_def", "shearing deformation"),
    "stretching_deformation": ("stretch_def", "stretching deformation"),
    "total_deformation": ("total_def", "total deformation"),
    "absolute_vorticity": ("abs_vort", "absolute vorticity"),
    "advection": ("adv", "advection"),
    "frontogenesis": ("fgen", "2-D kinematic frontogenesis"),
}
# CF standard names, given only where the inputs' say the result is that quantity
_STANDARD: dict[tuple[str, Any, Any], str] = {
    ("absolute_vorticity", "eastward_wind", "s-1"): "atmosphere_absolute_vorticity",
    ("advection", "air_temperature", "K s-1"): "tendency_of_air_temperature_due_to_advection",
}
_HEIGHTS = ("geopotential_height", "geopotential")
# per quantity: where the wind's (u, v) are among its inputs and whether its result is a vector
# (the (a)geostrophic wind): what the frame of the components changes on a projected grid
_VECTORS: dict[str, tuple[tuple[int, int] | None, bool]] = {
    kind: (
        (spec.inputs.index("u"), spec.inputs.index("v"))
        if "u" in spec.inputs and "v" in spec.inputs
        else None,
        spec.outputs == ("u", "v"),
    )
    for kind, spec in KINDS.items()
}


def kinematic_xarray(call: Call) -> Any:
    """The quantity of a :class:`~daskgrad.core.kinematics.Call` of DataArrays (in the order of
    its inputs, no latitude): one DataArray, or a tuple of them for the (a)geostrophic wind."""
    kind, inputs, dims, geospatial = call.kind, list(call.inputs), call.dims, call.geospatial
    options, latitude, omega, gravity = call.options, call.latitude, call.omega, call.gravity
    spec = KINDS[kind]
    names = spec.data_names
    check_inputs(kind, inputs, geospatial, options)
    check_same_grid(kind, inputs, names)
    plain, found = quantities_of(kind, [a.data for a in inputs], names)
    quantity = any(u is not None for u in found.values())
    first = inputs[0]
    if quantity:
        registry = units_pint.registry_of(*found.values())
        inputs = [a.copy(data=d) for a, d in zip(inputs, plain, strict=True)]
    else:
        registry = application_registry()
        texts = {n: a.attrs.get("units") for n, a in zip(names, inputs, strict=True)}
        found = parsed_units(texts, registry)
    if geospatial and isinstance(latitude, xr.DataArray):
        latitude = _grid_latitude_name(kind, first, latitude)
    if geospatial and latitude is not None:
        options = {**options, "latitude": latitude}
    spacing = "m" if geospatial else _spacing_units(first, dims, options)
    spacing_unit = None
    if spacing is not None:
        spacing_unit = parsed_units({"spacing": spacing}, registry)["spacing"]
    out_units, omega, gravity = kinematic_units(kind, found, spacing_unit, registry, omega, gravity)
    phi = None
    if spec.needs_latitude and not geospatial:
        phi = latitude_radians(kind, first, latitude)

    def engine(_: str, datas, axes, *, spacing, periodic, metric=None, **stencil):
        lat = []
        if spec.needs_latitude:
            lat = [
                phi
                if phi is not None
                else _metric_latitude(kind, metric, first, latitude, datas[0])
            ]
        return kinematic_arrays(
            kind,
            [*datas, *lat],
            axes,
            spacing=spacing,
            periodic=periodic,
            metric=metric,
            omega=omega,
            gravity=gravity,
            **stencil,
        )

    def curved(_: str, datas, grid, _options, stencil):
        return _curvilinear(kind, datas, names, grid, stencil, omega, gravity)

    first_units = next((u for u in found.values() if u is not None), None) if quantity else None
    data, _, extra = grid_data(
        kind, inputs, dims, options, geospatial, first_units, engine, curved, _VECTORS
    )
    out = _wrap(kind, inputs, names, data, out_units, quantity, geospatial)
    for one in out if isinstance(out, tuple) else (out,):
        one.attrs.update(extra)
    return out


def _curvilinear(
    kind: str,
    inputs: Sequence[xr.DataArray],
    names: Sequence[str],
    grid: Any,
    stencil: dict[str, Any],
    omega: float,
    gravity: float,
) -> tuple[Any, ...]:
    """``kind`` on a grid of 2-D latitude/longitude, as divergence and vorticity are there: a
    scalar's eastward and northward derivatives per metre from :func:`geospatial_gradient`,
    the wind's velocity-gradient tensor from those of its earth-centred Cartesian components
    (:func:`curvilinear_tensor`), f from the latitude of each point; then the same formula
    as on any other grid."""
    spec = KINDS[kind]
    first = inputs[0]
    wind = [names.index("u"), names.index("v")] if "u" in names else []
    d: dict[Any, Any] = {}
    for j in sorted({j for j, _, _ in spec.requests} - set(wind)):
        grads: Any = geospatial_gradient(inputs[j], grid=grid, **stencil)
        for a, g in enumerate(grads):
            d[(j, a, 1)] = g.transpose(*first.dims).data
    if any(j in wind for j, _, _ in spec.requests):
        tensor = curvilinear_tensor(inputs[wind[0]], inputs[wind[1]], grid, stencil)
        for (w, a), t in zip(((0, 0), (0, 1), (1, 0), (1, 1)), tensor, strict=True):
            d[(wind[w], a, 1)] = t
    blocks = [a.data for a in inputs]
    if spec.needs_latitude:
        phi = xr.DataArray(grid.lat, dims=grid.dims) * grid.lat_rad
        phi = phi.expand_dims([n for n in first.dims if n not in phi.dims])
        blocks.append(phi.transpose(*first.dims).data)
    wanted = {r: d[r] for r in spec.requests}
    return formula_arrays(kind, wanted, blocks, omega=omega, gravity=gravity)


def _grid_latitude_name(kind: str, like: xr.DataArray, latitude: xr.DataArray) -> Any:
    """With ``geospatial=True`` the latitude is the grid's: a DataArray ``latitude`` is
    accepted when it is one of ``like``'s coordinates (same name and values); its name is
    passed on."""
    name = latitude.name
    if name is not None and name in like.coords and like.coords[name].equals(latitude):
        return name
    raise ValueError(
        f"{kind}: with geospatial=True latitude comes from the grid; the latitude DataArray "
        f"given ({name!r}) is not one of the input's coordinates {list(like.coords)}: pass "
        "latitude=NAME of a coordinate, or geospatial=False with dim= to use it for f only"
    )


def _spacing_units(first: xr.DataArray, dims: Any, options: dict[str, Any]) -> Any:
    """The units of the Cartesian spacing as the operators will find it (None: unknown, or
    mixed); what goes wrong here is reported by the operators' own checks."""
    if dims is None:
        dims = [first.dims[-1], first.dims[-2]] if first.ndim >= 2 else []
    names = [dims] if isinstance(dims, str) or np.ndim(dims) == 0 else list(dims)
    try:
        _, units, _ = dim_spacings(first, names, options.get("spacing"), None)
    except Exception:
        return None
    found = {str(units[d]) for d in names}
    if len(found) > 1 and all(_degrees(units[d], d) for d in names):
        return "degree"  # degrees_north and degrees_east: per degree, as the operators say
    return units[names[0]] if len(found) == 1 else None


def _degrees(unit: Any, dim: Any) -> bool:
    try:
        return radians_per_unit(unit, dim, "angle") == DEGREE
    except ValueError:
        return False


def _metric_latitude(
    kind: str, metric: Any, like: xr.DataArray, latitude: Any, data: Any = None
) -> Any:
    """The latitude of a latitude/longitude grid's metric, shaped along its axis; on a
    projected grid without a latitude coordinate (or ``latitude=``), the grid's own, from
    x/y and the CRS (per chunk of ``data`` when it is dask)."""
    if isinstance(metric, LatLonMetric):
        shape = [1] * like.ndim
        shape[metric.lat_axis] = -1
        return metric.phi.reshape(shape)
    if isinstance(metric, ProjectedMetric) and latitude is None and not latitude_coords(like):
        return metric.latitude(data)
    return latitude_radians(kind, like, latitude)


def _wrap(kind, inputs, names, data, out_units, quantity: bool, geospatial: bool) -> Any:
    first = inputs[0]
    texts = [None if u is None else spell(u) for u in out_units]
    labels = [a.name for a in inputs]
    if kind in _KINEMATIC_WORDS:
        prefix, word = _KINEMATIC_WORDS[kind]
        named = [labels[0]] if kind in ("advection", "frontogenesis") else labels
        name = None if any(n is None for n in named) else "_".join([prefix, *map(str, named)])
        # a scalar carried or deformed by the wind, or the wind alone
        scalar, winds = (first, inputs[1:]) if len(inputs) == 3 else (None, inputs)
        text = long_name(word, scalar, winds)
        long_names, out_names = [text], [name]
        standard = _STANDARD.get((kind, first.attrs.get("standard_name"), texts[0]))
        paired = kind != "absolute_vorticity" or _paired(inputs, names)
        standards = [standard if paired else None]
    else:  # the geostrophic wind of the height (its ageostrophic part of the wind)
        z = describe(first)
        frame = ("eastward", "northward") if geospatial else ("x", "y")
        if kind == "geostrophic_wind":
            long_names = [f"{c} geostrophic wind of {z}" for c in frame]
            out_names = [None if labels[0] is None else f"{c}g_{labels[0]}" for c in "uv"]
            good = geospatial and first.attrs.get("standard_name") in _HEIGHTS
            standards = [
                f"geostrophic_{c}_wind" if good and t == "m s-1" else None
                for c, t in zip(frame, texts, strict=True)
            ]
        else:
            long_names = [f"ageostrophic part of {describe(w)} (given {z})" for w in inputs[1:]]
            out_names = [None if n is None else f"ageo_{n}_{labels[0]}" for n in labels[1:]]
            standards = [None, None]
    outs = []
    for d, unit, text, said, name, standard in zip(
        data, out_units, texts, long_names, out_names, standards, strict=True
    ):
        attrs: dict[str, Any] = {"long_name": said}
        if quantity and unit is not None:
            d = simplified_quantity(d, unit)
        elif text is not None:
            attrs["units"] = text
        if standard:
            attrs["standard_name"] = standard
        placed, encoding = mapping_of(first)
        out = xr.DataArray(d, coords=first.coords, dims=first.dims, name=name, attrs=attrs)
        out.attrs.update(placed)
        out.encoding.update(encoding)
        outs.append(out)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _paired(inputs: Sequence[xr.DataArray], names: Sequence[str]) -> bool:
    """The winds (if any) are CF's eastward and northward pair of the same kind."""
    if "u" not in names:
        return True
    u, v = (inputs[names.index(n)].attrs.get("standard_name") for n in ("u", "v"))
    return isinstance(u, str) and u.startswith("eastward") and v == u.replace("east", "north")


def coriolis_xarray(latitude: xr.DataArray, omega: float) -> xr.DataArray:
    """2Ω sin φ of a DataArray of latitudes (degrees unless its units say radians; Quantity
    data in any angle unit), named ``f`` with CF's ``coriolis_parameter``."""
    phi = latitude_radians("coriolis_parameter", latitude, latitude)
    values = np.reshape(phi, latitude.shape) if not is_dask_collection(phi) else phi
    out = coriolis_array(values, omega)
    attrs = {
        "long_name": f"Coriolis parameter at {describe(latitude)}",
        "standard_name": "coriolis_parameter",
    }
    if units_pint.is_quantity(latitude.data):
        out = units_pint.quantity(out, latitude.data._REGISTRY.Unit("1/s"))
    else:
        attrs["units"] = "s-1"
    return xr.DataArray(out, coords=latitude.coords, dims=latitude.dims, name="f", attrs=attrs)
