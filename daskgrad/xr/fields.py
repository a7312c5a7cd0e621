"""The DataArrays the vector operators and the kinematics take, laid out for the array engines:
checked to share one grid, with that grid's spacing, periodic axes and metric (Cartesian,
latitude/longitude, projected), the wind's velocity-gradient tensor on 2-D latitude/longitude
grids, and the latitude of every point."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..core import earth as m
from ..core.arrays import is_dask_collection
from ..core.metric import LatLonMetric
from ..core.plan import check_same_shape, uniform_step
from ..core.projection import ProjectedMetric
from ..core.stencil import EvenCoords
from ..errors import (
    OptionError,
    OptionNotImplemented,
    OptionWarning,
    dims_named,
    unexpected_options,
    warn_caller,
)
from . import units as units
from . import units as units_pint
from .cf import LAT_NAMES
from .coords import dim_periods, dim_spacings, requested_dims
from .grid import make_grid, rotate_winds, unknown_mapping, winds_needed, winds_unknown
from .kinematic_units import check_latitude

__all__ = [
    "CARTESIAN_OPTIONS",
    "GEOSPATIAL_OPTIONS",
    "STENCIL_OPTIONS",
    "check_inputs",
    "check_same_grid",
    "grid_data",
    "latitude_coords",
    "latitude_radians",
]


STENCIL_OPTIONS = ("accuracy", "edge_order", "nan_policy")


CARTESIAN_OPTIONS = {*STENCIL_OPTIONS, "spacing", "periodic"}


GEOSPATIAL_OPTIONS = {
    *STENCIL_OPTIONS,
    *("periodic", "latitude", "longitude", "earth", "radius", "crs", "x", "y", "grid", "winds"),
}


def check_inputs(kind: str, inputs, geospatial, options: dict) -> None:
    """All ``inputs`` are DataArrays and ``options`` are the operators' (with or without
    ``geospatial``)."""
    if not all(isinstance(a, xr.DataArray) for a in inputs):
        kinds = ", ".join(type(a).__name__ for a in inputs)
        raise TypeError(f"{kind} takes DataArrays or arrays, not a mix ({kinds})")
    allowed = GEOSPATIAL_OPTIONS if geospatial else CARTESIAN_OPTIONS
    unknown = set(options) - allowed
    if unknown:
        raise unexpected_options(kind, unknown, allowed, f" with geospatial={geospatial}")


def check_same_grid(kind: str, inputs, names=("u", "v")) -> None:
    """The DataArrays ``inputs`` (called ``names``) have the same dims, shape and coords."""
    if len(inputs) < 2:
        return
    u, first = inputs[0], names[0]
    for v, name in zip(inputs[1:], names[1:], strict=False):
        if u.dims != v.dims:
            raise ValueError(f"{kind}: {first} has dims {u.dims} but {name} has dims {v.dims}")
        check_same_shape(kind, (u, v), (first, name))
        for c in set(u.coords) | set(v.coords):
            if c not in u.coords or c not in v.coords:
                which = first if c in u.coords else name
                raise ValueError(f"{kind}: coordinate {c!r} is on {which} only")
            a, b = u.coords[c], v.coords[c]
            if a.dims != b.dims or not (a.variable.equals(b.variable)):
                raise ValueError(f"{kind}: {first} and {name} have different coordinate {c!r}")


def _cartesian(kind, inputs, dims, options, stencil, data_units, engine):
    first = inputs[0]
    names = requested_dims(dims, first.dims, kind)
    steps, units, _ = dim_spacings(first, names, options.get("spacing"), None)
    if data_units is not None:
        steps, units = _common_units(kind, steps, units, names, data_units._REGISTRY)
    periods = dim_periods(options.get("periodic"), names, steps, units)
    axes = [first.get_axis_num(d) for d in names]
    periodic = {a: periods[d] for a, d in zip(axes, names, strict=True) if d in periods} or None
    data = _named_errors(
        first,
        engine,
        kind,
        [a.data for a in inputs],
        axes,
        spacing=[steps[d] for d in names],
        periodic=periodic,
        **stencil,
    )
    den = units[names[0]]
    if any(units[d] != den for d in names):
        # mixed coordinate units: no units, unless all are degrees (degrees_north, _east)
        den = "degree" if all(_in_degrees(units[d], d) for d in names) else None
    degrees = [d for d in names if str(units[d]).startswith("degree")]
    if degrees:
        where = ", ".join(f"{d}: {units[d]!r}" for d in degrees)
        warn_caller(
            OptionWarning(
                "geospatial",
                f"coordinates in degrees ({where}): the result is per degree; "
                "{opt:geospatial=True} differentiates per metre on the sphere",
            )
        )
    return data, den


def _in_degrees(unit: Any, dim: Any) -> bool:
    """The coordinate units ``unit`` are degrees (any of CF's spellings)."""
    try:
        return m.radians_per_unit(unit, dim, "angle") == m.DEGREE
    except ValueError:
        return False


def _common_units(kind, steps, spacing_units, names, registry):
    """Spacings of Quantity data all in the first dim's units (km and m: the km scaled), so
    that the derivatives along several dims add up."""
    parsed = {
        d: units.parse_units(spacing_units[d], registry, f"{kind}: the spacing of dim {d!r}")
        for d in names
    }
    first = parsed[names[0]]
    steps, spacing_units = dict(steps), dict(spacing_units)
    for d in names[1:]:
        if parsed[d] != first:
            try:
                factor = registry.Quantity(1.0, parsed[d]).to(first).magnitude
            except Exception as err:
                raise ValueError(
                    f"{kind}: dims {names[0]!r} and {d!r} are spaced in incompatible units: {err}"
                ) from None
            step = steps[d] * factor
            steps[d] = EvenCoords(step) if isinstance(steps[d], EvenCoords) else step
            spacing_units[d] = spacing_units[names[0]]
    return steps, spacing_units


def _geospatial(kind, inputs, dims, options, stencil, engine, curvilinear, vectors):
    first = inputs[0]
    winds = options.get("winds")
    if winds not in (None, "grid", "earth"):
        raise OptionError("winds", f"{{opt:winds}} must be 'grid' or 'earth'; got {winds!r}")
    if winds == "grid" and options.get("grid") is None:
        # refused before the grid is built (which warns that the CRS is not used)
        reason = unknown_mapping(first, options.get("crs"))
        if reason is not None:
            raise winds_unknown(reason)
    if winds is None and options.get("grid") is None and _takes_winds(kind, vectors):
        # a grid_mapping named but not attached: projected, not the 2-D lat/lon found next
        reason = unknown_mapping(first, options.get("crs"))
        if reason is not None:
            raise winds_needed(kind, reason)
    grid = make_grid(
        first,
        options.get("grid"),
        options.get("latitude"),
        options.get("longitude"),
        options.get("earth"),
        options.get("radius"),
        options.get("periodic"),
        options.get("crs"),
        x=options.get("x"),
        y=options.get("y"),
    )
    grid.check_winds(winds)
    if options.get("grid") is not None:
        for i, a in enumerate(inputs):
            grid.check_data(a, f"{kind}'s input {a.name!r}" if a.name else f"{kind}'s input {i}")
    lat_dim, lon_dim = grid.dims
    requested_dims(dims, first.dims, kind, (grid.dims, f"{grid.lat_name!r}/{grid.lon_name!r}"))
    if grid.projected:
        return _projected(kind, inputs, grid, winds, stencil, engine, vectors), "m", grid.attrs()
    if grid.curvilinear:
        return curvilinear(kind, inputs, grid, options, stencil), "m", grid.attrs()
    if not is_dask_collection(first.data):
        grid = grid.eager()
    lam, step = grid.lon_1d()
    phi = grid.lat
    phi = phi.astype(np.float64) if is_dask_collection(phi) else np.asarray(phi, np.float64)
    phi = phi * grid.lat_rad
    # coordinates even to the rounding of their stored dtype (float32 degrees, say): the
    # uniform arithmetic, with the coordinate rule at the edges of a regional grid
    lam_spacing = lam if step is None else EvenCoords(step)
    phi_step = None if is_dask_collection(phi) else uniform_step(phi, grid.lat.dtype)
    phi_spacing = phi if phi_step is None else EvenCoords(phi_step)
    axes = (first.get_axis_num(lon_dim), first.get_axis_num(lat_dim))
    # the longitudes themselves: evenly spaced ones keep the coordinate rule at the edges of a
    # regional grid, as dask ones (not inspected) do
    # divergence, vorticity: raw differences on even axes, 1/(2h) in the factors
    spacing, radians = _half_spacing(kind, [lam_spacing, phi_spacing], stencil)
    # a period of None: n steps (of the spacing given, so 1/2 per step on the fast path)
    periodic = {axes[0]: None if step is not None else 2 * np.pi} if grid.periodic else None
    data = _named_errors(
        first,
        engine,
        kind,
        [a.data for a in inputs],
        axes,
        spacing=spacing,
        periodic=periodic,
        metric=LatLonMetric(grid.earth, axes[1], phi, radians),
        **stencil,
    )
    return data, "m", grid.attrs()


def _projected(kind, inputs, grid, winds, stencil, engine, vectors):
    """On a projected grid: grid-relative components (earth-relative ones turned first), the
    derivatives along x and y in metres, MetPy's map-factor forms per chunk. A vector result
    (the (a)geostrophic wind) is turned back for ``winds="earth"``."""
    wind_at, vector_out = _vectors(kind, vectors)
    if wind_at or vector_out:
        if winds is None:
            raise OptionError(
                "winds",
                f"{kind} on a projected grid ({grid.describe()}) needs {{opt:winds}}: 'grid' "
                "when u and v are along the grid's x and y (as models write them), 'earth' "
                "when they are eastward and northward",
            )
        if winds == "earth" and wind_at:
            inputs = list(inputs)
            i, j = wind_at
            inputs[i], inputs[j] = rotate_winds(inputs[i], inputs[j], grid, to="grid")
    first = inputs[0]
    lazy = is_dask_collection(first.data)
    g = grid if lazy else grid.eager()
    y_dim, x_dim = grid.dims
    axes = (first.get_axis_num(x_dim), first.get_axis_num(y_dim))
    spacing, metres = _half_spacing(kind, [g.xy_spacing(g.x), g.xy_spacing(g.y)], stencil)
    metric = ProjectedMetric(g.projection, axes[0], axes[1], g.x, g.y, metres)
    data = _named_errors(
        first,
        engine,
        kind,
        [a.data for a in inputs],
        axes,
        spacing=spacing,
        periodic=None,
        metric=metric,
        **stencil,
    )
    if vector_out and winds == "earth":
        pair = [xr.DataArray(d, dims=first.dims) for d in data]
        data = tuple(a.data for a in rotate_winds(pair[0], pair[1], grid, to="earth"))
    return data


def _half_spacing(
    kind: str, steps: list[Any], stencil: dict[str, Any]
) -> tuple[list[Any], tuple[float, float]]:
    """The spacings divergence and vorticity take along x and y (longitude and latitude in
    radians, or a projection's x and y in metres), and the coordinate units per unit of them
    (``ProjectedMetric.metres``, ``LatLonMetric.radians``): at accuracy 2, 1/2 per grid step
    h along an evenly spaced axis, so that the kernel's centred differences need no weighting
    pass (the weight 1/(2h) is in the chunk's metric factors, computed once, per row); else
    the steps as given, per unit of the coordinates."""
    if kind not in ("divergence", "vorticity") or stencil.get("accuracy", 2) != 2:
        return steps, (1.0, 1.0)
    spacing, units = [], []
    for s in steps:
        even = isinstance(s, EvenCoords) and float(s) != 0 and np.isfinite(float(s))
        spacing.append(EvenCoords(0.5) if even else s)
        units.append(2.0 * float(s) if even else 1.0)
    return spacing, (units[0], units[1])


def _takes_winds(kind: str, vectors) -> bool:
    """Whether ``kind`` has winds among its inputs or a vector result (its frame matters)."""
    if kind in ("divergence", "vorticity"):
        return True
    wind_at, vector_out = (vectors or {}).get(kind, (None, False))
    return wind_at is not None or bool(vector_out)


def _vectors(
    kind: str, vectors: dict[str, tuple[tuple[int, int] | None, bool]] | None
) -> tuple[tuple[int, int] | None, bool]:
    """Where the wind's (u, v) are among the inputs of ``kind``, and whether its result is a
    vector: what depends on the frame of the components on a projected grid. ``vectors``:
    those of the caller's kinds (the kinematics', ``core.kinematics_vertical.VECTORS``)."""
    if kind in ("divergence", "vorticity"):
        return (0, 1), False
    if kind == "laplacian":
        return None, False
    if vectors is not None and kind in vectors:
        return vectors[kind]
    what = "advection with w (a vertical wind)" if kind == "advection" else kind
    raise OptionNotImplemented(
        "geospatial",
        f"{what} on a projected grid is not supported yet; use a latitude/longitude grid",
    )


def grid_data(
    kind, inputs, dims, options, geospatial, data_units, engine, curvilinear, vectors=None
):
    """``engine(kind, datas, axes, *, spacing, periodic, metric=None, **stencil)`` on the
    data of the DataArrays ``inputs`` (checked to share one grid) with the spacing, periodic
    axes and metric of their grid, as the operators get them; returns what it returns and the
    units of the spacing ("m" with ``geospatial``, None when unknown or mixed). On a grid of
    2-D latitude/longitude, ``curvilinear(kind, inputs, grid, options, stencil)`` instead of
    the engine. ``vectors``: where the winds are among the inputs of the caller's kinds, and
    whether their results are vectors (see :func:`_vectors`). The third item
    returned is the attrs every geospatial result carries (``earth``), empty otherwise."""
    stencil = {k: options[k] for k in STENCIL_OPTIONS if k in options}
    if geospatial:
        return _geospatial(kind, inputs, dims, options, stencil, engine, curvilinear, vectors)
    data, den = _cartesian(kind, inputs, dims, options, stencil, data_units, engine)
    return data, den, {}


def _named_errors(obj, fn, *args, **kwargs):
    with dims_named(obj.dims):  # the core numbers dims; the error names them
        return fn(*args, **kwargs)


def latitude_radians(kind: str, like: xr.DataArray, latitude: Any) -> Any:
    """The latitude of ``like``'s points in radians, with ``like``'s number of dims (size 1
    along those it does not vary on): from ``latitude`` (a coordinate's name or a DataArray),
    else the coordinate named lat/latitude/nav_lat or with standard_name latitude."""
    if isinstance(latitude, xr.DataArray):
        lat = latitude
    elif latitude is not None:
        if latitude not in like.coords:
            raise ValueError(
                f"{kind}: latitude={latitude!r} is not a coordinate of the input; its "
                f"coordinates are {list(like.coords)}"
            )
        lat = like.coords[latitude]
    else:
        found = latitude_coords(like)
        if len(found) != 1:
            raise ValueError(
                f"{kind} needs the latitude of every point for the Coriolis parameter: "
                f"{'several' if found else 'no'} latitude coordinates found {found or ''}; "
                "pass latitude=NAME of a coordinate or a DataArray of latitudes"
            )
        lat = like.coords[found[0]]
    if not set(lat.dims) <= set(like.dims):
        raise ValueError(
            f"{kind}: latitude has dims {lat.dims}, which are not all dims of the input {like.dims}"
        )
    values, unit = units_pint.split(lat.data)
    if unit is not None:
        values = lat.data.to(unit._REGISTRY.radian).magnitude
    else:
        values = values * (
            m.radians_per_unit(lat.attrs.get("units"), lat.name, "latitude") or m.DEGREE
        )
    name = "latitude" if lat.name is None else f"latitude {lat.name!r}"
    values = check_latitude(kind, values, name)
    order = [d for d in like.dims if d in lat.dims]
    values = xr.Variable(lat.dims, values).transpose(*order).data
    shape = [lat.sizes[d] if d in lat.dims else 1 for d in like.dims]
    return values.reshape(shape)


def latitude_coords(like: xr.DataArray) -> list[Any]:
    """The names of ``like``'s coordinates that are latitudes (by name or standard_name)."""
    return [
        n
        for n, c in like.coords.items()
        if n in LAT_NAMES or c.attrs.get("standard_name") == "latitude"
    ]
