"""PV, Q-vectors and advection with w on DataArrays: the horizontal grid as the operators get it,
the vertical dim by name with its coordinate (or a pressure DataArray), units with pint."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..core.kinematics_vertical import (
    VECTORS,
    advection_arrays,
    potential_vorticity_arrays,
    q_vector_arrays,
)
from ..core.metric import LatLonMetric
from ..core.projection import ProjectedMetric
from . import units as units_pint
from .cf import LAT_NAMES, mapping_of
from .coords import dim_spacings
from .fields import (
    check_inputs,
    check_same_grid,
    grid_data,
    latitude_radians,
)
from .geospatial import curvilinear_tensor, geospatial_gradient
from .kinematic_units import (
    application_registry,
    long_name,
    no_units_warning,
    parsed_units,
    quantities_of,
    simplified_quantity,
)
from .vertical_units import advection_w_units, check_pressure, pv_units, q_vector_units

__all__ = ["vertical_xarray"]

_NAMES = {
    "potential_vorticity_baroclinic": ("theta", "u", "v"),
    "q_vector": ("u", "v", "temperature"),
    "advection": ("scalar", "u", "v", "w"),
}


def vertical_xarray(
    kind: str,
    inputs: Sequence[xr.DataArray],
    coordinate: Any,
    vertical_dim: Hashable | None,
    dims: Any,
    geospatial: bool,
    options: dict[str, Any],
    constants: dict[str, Any],
) -> Any:
    """``kind`` of DataArrays (in the order of :data:`_NAMES`); ``coordinate`` is the
    pressure (a DataArray, a coordinate's name, or None: ``vertical_dim``'s coordinate; a
    number for a Q-vector on one level), or advection's vertical coordinate."""
    names = _NAMES[kind]
    check_inputs(kind, inputs, geospatial, options)
    check_same_grid(kind, inputs, names)
    first = inputs[0]
    plain, found = quantities_of(kind, [a.data for a in inputs[:3]], names[:3])
    quantity = any(u is not None for u in found.values())
    if kind == "advection":
        w_plain, w_unit = units_pint.split(inputs[3].data)
        plain.append(w_plain)
        found["w"] = w_unit
    inputs = [a.copy(data=d) for a, d in zip(inputs, plain, strict=True)]
    if not quantity:
        texts = {n: a.attrs.get("units") for n, a in zip(names, inputs, strict=True)}
        found = parsed_units(texts, application_registry())
    if isinstance(coordinate, str):
        if coordinate not in first.coords:
            raise ValueError(
                f"{kind}: pressure={coordinate!r} is not a coordinate of the input; its "
                f"coordinates are {list(first.coords)}"
            )
        coordinate = first.coords[coordinate]
    vertical_dim = _vertical_dim(kind, first, coordinate, vertical_dim)
    coord, coord_unit = _coordinate(kind, first, coordinate, vertical_dim, quantity)
    source = coordinate if coordinate is not None else first.coords.get(vertical_dim)
    pressure_is = "pressure"
    unread = str(source.attrs.get("units") or "") if isinstance(source, xr.DataArray) else ""
    if isinstance(source, xr.DataArray) and source.name in first.coords:
        pressure_is = f"pressure (coordinate {source.name!r})"
    spacing_unit = _spacing_unit(kind, first, dims, options, geospatial)
    reg = units_pint.registry_of(*found.values()) if quantity else application_registry()
    found = {k: None if u is None else units_pint.in_registry(u, reg) for k, u in found.items()}
    coord_unit = None if coord_unit is None else units_pint.in_registry(coord_unit, reg)
    spacing_unit = None if spacing_unit is None else units_pint.in_registry(spacing_unit, reg)
    if kind == "q_vector":
        sigma = constants["static_stability"]
        if isinstance(sigma, xr.DataArray):
            split = _values(sigma, first, kind, "static_stability")
        else:
            split = units_pint.split(sigma)
        constants = {**constants, "static_stability": split}
    out_unit, run = _prepare(kind, found, coord, coord_unit, spacing_unit, constants)
    phi = None
    latitude = constants.get("latitude")
    if kind == "potential_vorticity_baroclinic" and not geospatial:
        phi = latitude_radians(kind, first, latitude)
    projected = []  # whether the grid was a projected one (the frame of the Q-vector's names)

    def checked(axes: Sequence[int]) -> int | None:
        """The vertical axis, checked not horizontal; the pressure checked."""
        z = None if vertical_dim is None else first.get_axis_num(vertical_dim)
        if z is not None and z in axes:
            raise ValueError(
                f"{kind}: vertical_dim={vertical_dim!r} is also one of the horizontal dims "
                f"{tuple(first.dims[a] for a in axes)}"
            )
        if kind != "advection":  # after the dims are known good: a pressure, positive
            if coord_unit is None and unread:  # units in attrs pint cannot read ("days since")
                raise ValueError(f"{kind}: {pressure_is} has units {unread!r}, not a pressure")
            check_pressure(kind, coord, coord_unit, pressure_is)
        return z

    def engine(_: str, datas, axes, *, spacing, periodic, metric=None, **stencil):
        z = checked(axes)
        projected.append(isinstance(metric, ProjectedMetric))
        lat = phi
        if kind == "potential_vorticity_baroclinic" and phi is None and metric is not None:
            lat = _metric_latitude(kind, metric, first, latitude, datas[0])
        kw = dict(spacing=spacing, periodic=periodic, metric=metric, **stencil)
        return run(datas, tuple(axes), z, lat, kw)

    def curved(_: str, arrays: Sequence[xr.DataArray], grid: Any, _options: Any, stencil: Any):
        """On 2-D latitude/longitude: the horizontal derivatives as the horizontal kinematics
        take them there, the vertical ones and the formula in the core."""
        y_dim, x_dim = grid.dims
        axes = (first.get_axis_num(x_dim), first.get_axis_num(y_dim))
        z = checked(axes)
        lat = None
        if kind == "potential_vorticity_baroclinic":
            lat = _curvilinear_latitude(kind, first, grid, latitude)
        given = _curvilinear_horizontal(kind, arrays, grid, stencil)
        return run(
            [a.data for a in arrays], axes, z, lat, dict(horizontal_derivatives=given, **stencil)
        )

    data, _, extra = grid_data(
        kind, inputs, dims, options, geospatial, None, engine, curved, VECTORS
    )
    frame = ("x", "y")
    if geospatial:
        grid = projected and projected[0] and options.get("winds") == "grid"
        frame = ("grid-x", "grid-y") if grid else ("eastward", "northward")
    out = _wrap(kind, inputs, data, out_unit, quantity, frame)
    for one in out if isinstance(out, tuple) else (out,):
        one.attrs.update(extra)
    return out


def _prepare(
    kind: str,
    found: dict[str, Any],
    coord: Any,
    coord_unit: Any,
    spacing_unit: Any,
    constants: dict[str, Any],
) -> tuple[Any, Callable[..., tuple[Any, ...]]]:
    """The result's Unit and the call of the core with the constants in the data's units."""
    if kind == "potential_vorticity_baroclinic":
        units = {"theta": found["theta"], "pressure": coord_unit, "u": found["u"]}
        out, omega, g = pv_units(units, spacing_unit, constants["omega"], constants["g"])

        def pv(datas: Sequence[Any], axes: Any, z: Any, lat: Any, kw: dict) -> tuple[Any, ...]:
            theta, u, v = datas
            return potential_vorticity_arrays(
                theta, coord, u, v, axes, z, latitude=lat, g=g, omega=omega,
                pressure_is_coordinate=True, **kw,
            )  # fmt: skip

        return out, pv
    if kind == "q_vector":
        sigma, sigma_unit = constants["static_stability"]
        if sigma_unit is not None and spacing_unit is not None:
            sigma_unit = units_pint.in_registry(sigma_unit, spacing_unit._REGISTRY)
        units = {
            "u": found["u"],
            "temperature": found["temperature"],
            "pressure": coord_unit,
            "static_stability": sigma_unit or _dimensionless(spacing_unit),
        }
        out, rd = q_vector_units(units, spacing_unit, constants["rd"])

        def q(datas: Sequence[Any], axes: Any, z: Any, lat: Any, kw: dict) -> tuple[Any, ...]:
            u, v, temperature = datas
            return q_vector_arrays(
                u,
                v,
                temperature,
                coord,
                axes,
                vertical_dim=z,
                static_stability=sigma,
                rd=rd,
                **kw,
            )

        return out, q
    units = {"scalar": found["scalar"], "u": found["u"], "w": found["w"]}
    out, factor = advection_w_units(units, spacing_unit, coord_unit)
    scaled = coord if factor == 1.0 or coord is None else coord / factor

    def adv(datas: Sequence[Any], axes: Any, z: Any, lat: Any, kw: dict) -> tuple[Any, ...]:
        scalar, u, v, w = datas
        return advection_arrays(scalar, u, v, w, axes, z, vertical=scaled, **kw)

    return out, adv


def _dimensionless(unit: Any) -> Any:
    return None if unit is None else unit._REGISTRY.dimensionless


def _vertical_dim(kind: str, first: xr.DataArray, coordinate: Any, dim: Any) -> Any:
    if dim is None and isinstance(coordinate, xr.DataArray) and coordinate.ndim == 1:
        dim = coordinate.dims[0]
    if dim is None:
        if kind == "q_vector":
            return None
        raise ValueError(f"{kind} needs vertical_dim=, the name of the vertical dim")
    if dim not in first.dims:
        raise ValueError(
            f"{kind}: vertical_dim={dim!r} is not one of the input's dims {first.dims}"
        )
    return dim


def _coordinate(
    kind: str, first: xr.DataArray, coordinate: Any, dim: Any, quantity: bool
) -> tuple[Any, Any]:
    """The pressure (vertical coordinate) as an array broadcastable to the data, and its Unit
    (None when unknown)."""
    what = "pressure" if kind != "advection" else "the vertical coordinate"
    if coordinate is None:
        if dim is None:
            raise ValueError(f"{kind} needs pressure=, a number, DataArray or coordinate name")
        if dim not in first.coords:
            if kind == "advection":
                return None, None
            raise ValueError(
                f"{kind}: vertical_dim={dim!r} has no coordinate; pass pressure= as a DataArray"
            )
        coordinate = first.coords[dim]
    if not isinstance(coordinate, xr.DataArray):
        value, unit = units_pint.split(coordinate)
        along = dim is not None and np.ndim(value) == 1 and len(value) == first.sizes[dim]
        if np.ndim(value) != 0 and not along:  # a 1-D array (Quantity) along vertical_dim
            size = "" if dim is None else f" of {first.sizes[dim]} values along {dim!r}"
            raise TypeError(
                f"{kind}: {what} must be a DataArray, a coordinate's name, a number or a 1-D "
                f"array{size} with DataArray input; got shape {np.shape(value)}"
            )
        return value, unit if unit is not None or quantity else None
    return _values(coordinate, first, kind, what)


def _values(arr: xr.DataArray, like: xr.DataArray | None, kind: str, what: str) -> Any:
    """(values broadcastable to ``like``, Unit or None) of a DataArray: 1-D values as they
    are; others transposed to ``like``'s dim order with size-1 dims where it does not vary."""
    values, unit = units_pint.split(arr.data)
    if unit is None and arr.attrs.get("units") is not None:
        unit = parsed_units({what: arr.attrs["units"]}, application_registry())[what]
    if like is None or arr.ndim <= 1:
        return values, unit
    if not set(arr.dims) <= set(like.dims):
        raise ValueError(f"{kind}: {what} has dims {arr.dims}, not all dims of the input")
    order = [d for d in like.dims if d in arr.dims]
    values = xr.Variable(arr.dims, values).transpose(*order).data
    return values.reshape([arr.sizes[d] if d in arr.dims else 1 for d in like.dims]), unit


def _spacing_unit(
    kind: str, first: xr.DataArray, dims: Any, options: dict[str, Any], geo: bool
) -> Any:
    """The horizontal spacing's Unit (metres on a geospatial grid; None when unknown)."""
    reg = application_registry()
    if geo:
        return reg.Unit("m")
    names = [first.dims[-1], first.dims[-2]] if dims is None else list(np.atleast_1d(dims))
    try:
        _, units, _ = dim_spacings(first, names, options.get("spacing"), None)
    except Exception:
        return None  # the operators' own checks say what is wrong
    found = {str(units[d]) for d in names}
    parsed = parsed_units({str(d): units[d] for d in names}, reg)
    if all(u is not None and u == reg.degree for u in parsed.values()):
        # f, w ∂/∂z or ∂/∂p (per second, per pascal) do not add to per-degree terms
        no_units_warning(kind, "its horizontal derivatives are per degree, its other terms not")
        return None
    if len(found) != 1 or units[names[0]] is None:
        return None
    return parsed_units({"spacing": units[names[0]]}, reg)["spacing"]


def _metric_latitude(kind: str, metric: Any, like: xr.DataArray, latitude: Any, data: Any) -> Any:
    """The latitude of the grid's points for f: a latitude/longitude grid's, along its axis;
    on a projected grid ``latitude=`` (a coordinate's name or a DataArray), else the input's
    latitude coordinate, else the grid's own from x/y and the CRS (per chunk of ``data``)."""
    if isinstance(metric, LatLonMetric):
        shape = [1] * like.ndim
        shape[metric.lat_axis] = -1
        return metric.phi.reshape(shape)
    if not isinstance(metric, ProjectedMetric):
        raise ValueError(f"{kind} needs the grid's latitude")
    found = [
        n
        for n, c in like.coords.items()
        if n in LAT_NAMES or c.attrs.get("standard_name") == "latitude"
    ]
    if latitude is not None or found:
        return latitude_radians(kind, like, latitude)
    return metric.latitude(data)


# where the scalar and the wind (u, v) are among the inputs, and whether the wind's own
# derivatives are taken (the scalar's gradient always is)
_ROLES = {
    "potential_vorticity_baroclinic": (0, (1, 2)),
    "q_vector": (2, (0, 1)),
    "advection": (0, None),
}


def _curvilinear_horizontal(
    kind: str, inputs: Sequence[xr.DataArray], grid: Any, stencil: dict[str, Any]
) -> dict[tuple[int, int], Any]:
    """The derivatives along x (0) and y (1) per metre, eastward and northward, keyed by input,
    on a grid of 2-D latitude/longitude: a scalar's from :func:`geospatial_gradient`, the
    wind's velocity-gradient tensor from :func:`curvilinear_tensor` (its earth-centred
    Cartesian components, smooth through a pole inside the grid), as the horizontal
    kinematics take them there."""
    scalar, wind = _ROLES[kind]
    dims = inputs[0].dims
    grads: Any = geospatial_gradient(inputs[scalar], grid=grid, **stencil)
    given = {(scalar, a): g.transpose(*dims).data for a, g in enumerate(grads)}
    if wind is not None:
        iu, iv = wind
        dudx, dudy, dvdx, dvdy = curvilinear_tensor(inputs[iu], inputs[iv], grid, stencil)
        given[(iu, 1)], given[(iv, 0)] = dudy, dvdx
        if kind == "q_vector":  # PV needs only the vorticity's two
            given[(iu, 0)], given[(iv, 1)] = dudx, dvdy
    return given


def _curvilinear_latitude(kind: str, like: xr.DataArray, grid: Any, latitude: Any) -> Any:
    """The latitude (radians) for f on a grid of 2-D latitude/longitude: ``latitude=``'s
    when given, else the grid's, with ``like``'s number of dims."""
    if latitude is not None:
        return latitude_radians(kind, like, latitude)
    phi = xr.DataArray(grid.lat, dims=grid.dims) * grid.lat_rad
    order = [d for d in like.dims if d in grid.dims]
    values = phi.transpose(*order).data
    return values.reshape([like.sizes[d] if d in grid.dims else 1 for d in like.dims])


_VERTICAL_WORDS = {
    "potential_vorticity_baroclinic": ["baroclinic potential vorticity"],
    "q_vector": ["{x} component of the Q-vector", "{y} component of the Q-vector"],
    "advection": ["advection"],
}


def _wrap(kind, inputs, data, unit, quantity: bool, names: tuple[str, str]) -> Any:
    first = inputs[0]
    # the temperature (q_vector) or the scalar (the others) with the winds
    scalar, winds = (inputs[2], inputs[:2]) if kind == "q_vector" else (first, inputs[1:])
    frame = dict(zip("xy", names, strict=True))
    label = inputs[2].name if kind == "q_vector" else first.name
    prefixes = {"potential_vorticity_baroclinic": ["pv"], "q_vector": ["q1", "q2"]}
    outs = []
    for i, d in enumerate(data):
        attrs: dict[str, Any] = {
            "long_name": long_name(_VERTICAL_WORDS[kind][i].format(**frame), scalar, winds)
        }
        if quantity and unit is not None:
            d = simplified_quantity(d, unit)
        elif unit is not None:
            attrs["units"] = units_pint.udunits(unit)
        if kind == "advection" and first.attrs.get("standard_name") == "air_temperature":
            if attrs.get("units") == "K s-1":
                attrs["standard_name"] = "tendency_of_air_temperature_due_to_advection"
        prefix = prefixes.get(kind, ["adv"])[i]
        name = None if label is None else f"{prefix}_{label}"
        placed, encoding = mapping_of(first)  # placed on the input's grid, as it is
        out = xr.DataArray(d, coords=first.coords, dims=first.dims, name=name, attrs=attrs)
        out.attrs.update(placed)
        out.encoding.update(encoding)
        outs.append(out)
    return outs[0] if len(outs) == 1 else tuple(outs)
