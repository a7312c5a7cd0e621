"""The gradient of DataArrays and Datasets along named dims, spaced by their coordinates."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np  # noqa: F401  (the examples in the docstrings use np)
import xarray as xr

from ..core.gradient import gradient_array
from ..core.plan import normalize_datetime_unit
from ..errors import dims_named
from . import units as units_pint
from .coords import (
    TIME_UNITS,
    derivative_attrs,
    derived_dataset,
    describe,
    dim_periods,
    dim_spacings,
    is_time,
    requested_dims,
    time_numbers,
)

__all__ = ["describe", "gradient_xarray"]


def gradient_xarray(
    obj: xr.DataArray | xr.Dataset,
    *,
    spacing: Any = None,
    dim: Hashable | Sequence[Hashable] | None = None,
    edge_order: int = 1,
    periodic: Any = None,
    datetime_unit: str | None = None,
    accuracy: int = 2,
    nan_policy: str = "propagate",
) -> tuple[xr.DataArray, ...] | xr.Dataset:
    """Gradient of a DataArray or Dataset along named dims, spaced by their coordinates.

    Parameters
    ----------
    obj : DataArray or Dataset
        NumPy- or dask-backed; dask stays lazy (coordinates included). A DataArray of
        datetime64, timedelta64 or cftime values is made numbers like ``differentiate`` does:
        minus its minimum, in ``datetime_unit``, else in the unit of the dim's time coordinate,
        else in its own unit (ns for cftime).
    spacing : None, scalar or mapping {dim: scalar or 1-D array}, optional
        Overrides the coordinates. A dim's default spacing is its coordinate (datetime64 and
        cftime converted like ``DataArray.differentiate``), else 1.
    dim : str or sequence of str, optional
        Dims to differentiate, all by default.
    edge_order : {1, 2}
        Order of the one-sided differences at the edges.
    periodic : None, True, str, sequence of str or mapping {dim: period}, optional
        Dims that wrap around. Given by name only, a dim's coordinate must be uniform (its
        period is then n·step); for other coordinates give the period (in the coordinate's
        units, or a timedelta for datetime coordinates).
    datetime_unit : str, optional
        Unit of datetime coordinates and datetime-valued data ("D", "h", "s", ...); by default
        the datetime64 dtype's own unit, or "s" for cftime, like ``DataArray.differentiate``.
    accuracy : {2, 4, 6, 8}
        Order of accuracy, as for :func:`daskgrad.gradient`.
    nan_policy : {"propagate", "omit"}
        What NaNs do, as for :func:`daskgrad.gradient`.

    Returns
    -------
    tuple of DataArray or Dataset
        For a DataArray, one DataArray per dim in ``dim`` order, with the input's dims, coords
        and chunks, named ``d{name}_d{dim}``, with ``units`` (data / coordinate units, when
        both are known) and ``long_name`` attrs. For a Dataset, a Dataset holding
        ``d{var}_d{dim}`` for every numeric (integer, float or complex) data variable and
        every requested dim it has (ordered by variable, then by ``dim``), with the input's
        coords and attrs. Other data variables are skipped: bool, text, object and also
        datetime64/timedelta64 ones (give such a variable as a DataArray, ``ds[name]``, to
        differentiate it); a ValueError names them if no variable is left.

    Examples
    --------
    >>> x = xr.DataArray([0.0, 1.0, 3.0, 7.0], dims="x", attrs={"units": "m"})
    >>> T = xr.DataArray(x.values**2, coords={"x": x}, name="T", attrs={"units": "K"})
    >>> (dT,) = gradient_xarray(T, dim="x")
    >>> dT.name, dT.attrs["units"], dT.values
    ('dT_dx', 'K m-1', array([ 1.,  2.,  6., 10.]))
    >>> ds = xr.Dataset({"T": T, "flag": ("x", [True, False, True, True])})
    >>> list(gradient_xarray(ds, edge_order=2).data_vars)
    ['dT_dx']
    >>> gradient_xarray(ds[["flag"]])
    Traceback (most recent call last):
    ...
    ValueError: no numeric data variable of the Dataset has any of the dims ['x']: 'flag' is bool
    >>> when = xr.DataArray(np.array(["2000-01-01", "2000-01-02", "2000-01-04"], "M8[s]"), dims="i")
    >>> gradient_xarray(when, datetime_unit="D")[0].values
    array([1. , 1.5, 2. ])
    """
    opts = dict(edge_order=edge_order, accuracy=accuracy, nan_policy=nan_policy)
    datetime_unit = normalize_datetime_unit(datetime_unit)
    if isinstance(obj, xr.Dataset):
        return _gradient_dataset(obj, spacing, dim, opts, periodic, datetime_unit)
    dims = requested_dims(dim, obj.dims)
    steps, units, codes = dim_spacings(obj, dims, spacing, datetime_unit)
    periods = dim_periods(periodic, dims, steps, units)
    return _gradient_dataarray(obj, dims, steps, units, codes, periods, opts)


def _gradient_dataset(ds, spacing, dim, opts, periodic, datetime_unit) -> xr.Dataset:
    dims = requested_dims(dim, tuple(ds.dims))
    steps, units, codes = dim_spacings(ds, dims, spacing, datetime_unit)
    periods = dim_periods(periodic, dims, steps, units)
    out: dict[Hashable, xr.DataArray] = {}
    skipped = []
    for name, var in ds.data_vars.items():
        these = [d for d in dims if d in var.dims]
        if these and var.dtype.kind in "iufc":
            for grad in _gradient_dataarray(var, these, steps, units, codes, periods, opts):
                out[grad.name] = grad
        elif these:
            skipped.append(f"{name!r} is {var.dtype}")
        else:
            skipped.append(f"{name!r} has dims {tuple(map(str, var.dims))}")
    if not out:  # an empty Dataset would hide that nothing was differentiated
        why = ": " + ", ".join(skipped) if skipped else " (it has no data variables)"
        raise ValueError(
            f"no numeric data variable of the Dataset has any of the dims "
            f"{[str(d) for d in dims]}{why}"
        )
    return derived_dataset(out, ds)


def _gradient_dataarray(da, dims, steps, units, codes, periods, opts):
    """One DataArray per dim. Datetime-like data is first made numbers as ``differentiate``
    does: by ``datetime_unit``, else by the unit of the dim's time coordinate (so one pass per
    distinct unit), else in the data's own unit."""
    data_quantity = units_pint.split(da.data)[1]
    if data_quantity is not None:  # a pint Quantity inside: its magnitude, units put back below
        da = da.copy(data=da.data.magnitude)
    time = is_time(da.variable)
    groups: dict[str | None, list] = {}
    for d in dims:
        groups.setdefault(codes[d] if time else None, []).append(d)
    grads = {}
    for code, these in groups.items():
        data, data_units = da.data, da.attrs.get("units")
        if time:
            data, unit = time_numbers(da, code)
            data_units = data_units or TIME_UNITS.get(unit, unit)
        axes = [da.get_axis_num(d) for d in these]
        with dims_named(da.dims):  # the core numbers dims; the error names them
            out = gradient_array(
                data,
                spacing=[steps[d] for d in these],
                dim=axes,
                **opts,
                periodic={a: periods[d] for a, d in zip(axes, these, strict=True) if d in periods}
                or None,
            )
        grads.update({d: (g, data_units) for d, g in zip(these, out, strict=True)})
    what = describe(da)
    out = tuple(
        xr.DataArray(
            grads[d][0],
            coords=da.coords,
            dims=da.dims,
            name=None if da.name is None else f"d{da.name}_d{d}",
            attrs=derivative_attrs(what, d, grads[d][1], units[d], opts["accuracy"]),
        )
        for d in dims
    )
    if data_quantity is None:
        return out
    return tuple(_requantify(g, data_quantity, units[d], d) for g, d in zip(out, dims, strict=True))


def _requantify(grad: xr.DataArray, data_units: Any, spacing_units: Any, d: Hashable):
    """The derivative of Quantity data as a Quantity of the data's registry: data units per
    unit of the dim's spacing (its coordinate's units attribute, or a Quantity's)."""
    registry = data_units._REGISTRY
    den = units_pint.parse_units(spacing_units, registry, f"the spacing of dim {d!r}")
    unit = units_pint.derivative_units(data_units, den, registry)
    grad.attrs.pop("units", None)
    return grad.copy(data=units_pint.quantity(grad.data, unit))
