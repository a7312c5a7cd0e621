"""The public functions: dispatch NumPy, dask and xarray input to their layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.arrays import is_dask_collection
from .core.gradient import gradient_array
from .core.plan import dim_alias, normalize_datetime_unit
from .xr import units as units


def gradient(
    input: Any,
    *,
    spacing: Any = None,
    dim: Any = None,
    edge_order: int = 1,
    periodic: Any = None,
    datetime_unit: str | None = None,
    accuracy: int = 2,
    nan_policy: str = "propagate",
    dims: Any = None,
) -> Any:
    """Numerical gradient like ``numpy.gradient`` and ``torch.gradient``, of order 2 to 8.

    Parameters
    ----------
    input : array-like, dask array, pint Quantity, or xarray DataArray/Dataset
        The sampled function. Integers are differentiated as float64; bool is refused.
        datetime64 and timedelta64 give timedelta64, and masked arrays (``numpy.ma``, also as
        dask chunks) masked arrays, with numpy.gradient's own arithmetic. A pint Quantity
        (NumPy- or dask-backed, bare or as a DataArray's data) gives Quantities in the
        derivative's units (data units / spacing units) of the input's own registry.
    spacing : None, scalar, or sequence
        None: unit spacing. A scalar: the same spacing for every differentiated dim. A sequence:
        one entry per differentiated dim, each a scalar or a 1-D coordinate array (NumPy, list
        or dask) as long as that dim. Any of them may be a pint Quantity (its units divide the
        result's). For xarray input, a mapping ``{dim: scalar or 1-D array}``
        overriding the coordinates.
    dim : None, int, or sequence of int (names for xarray)
        Dims to differentiate, all by default. Negative ints count from the end.
    edge_order : {1, 2}
        Order of the one-sided differences at the true edges of the array.
    periodic : None, True, int, sequence, or mapping {dim: period}
        Dims that wrap around: their edges use centred differences with the opposite edge.
        With coordinate spacing the period is required.
    datetime_unit : str, optional
        For xarray input: the time unit of datetime coordinates and datetime-valued data.
    accuracy : {2, 4, 6, 8}
        Order of accuracy. 2 is numpy.gradient's formulas (``edge_order`` applies). Higher
        orders use centred stencils of ``accuracy + 1`` points and, near a true edge, one-sided
        stencils of the same order (findiff's); ``edge_order`` must then stay 1.
    nan_policy : {"propagate", "omit"}
        "propagate": a NaN spoils the derivative of every point whose stencil uses it, as in
        numpy. "omit": NaNs are holes (land, missing data); each point is differentiated within
        its run of valid points, with one-sided stencils of the requested order next to a hole
        and lower orders in runs too short for them; NaN points, and valid points with no valid
        neighbour along the dim, give NaN.
    dims : None, int, name, or sequence
        An alias of ``dim`` (the word the operators use); give one of the two.

    Returns
    -------
    tuple of arrays, tuple of DataArrays, or Dataset
        One derivative per differentiated dim, in the order of ``dim``: NumPy arrays for
        array-like input, lazy dask arrays with the input's chunks for dask input, masked
        arrays for masked input, Quantities for Quantity input. For a DataArray, DataArrays
        named ``d{name}_d{dim}`` with the input's dims, coords and chunks and ``units`` (data /
        coordinate units, when both are known) and ``long_name`` attrs. For a Dataset, a
        Dataset of ``d{var}_d{dim}`` for every numeric data variable and requested dim it has.

    Examples
    --------
    >>> import numpy as np
    >>> gradient(np.array([4.0, 1.0, 1.0, 16.0]), spacing=[np.array([-2.0, -1.0, 1.0, 4.0])])
    (array([-3., -2.,  2.,  5.]),)
    >>> t = np.array([[1, 2, 4, 8], [10, 20, 40, 80]])
    >>> gradient(t, spacing=[2.0, 3.0])
    (array([[ 4.5,  9. , 18. , 36. ],
           [ 4.5,  9. , 18. , 36. ]]), array([[ 0.33333333,  0.5       ,  1.        ,  1.33333333],
           [ 3.33333333,  5.        , 10.        , 13.33333333]]))

    xarray input is differentiated along its dims by name, spaced by its coordinates:

    >>> import xarray as xr
    >>> x = xr.DataArray([0.0, 1.0, 3.0], dims="x", attrs={"units": "m"})
    >>> T = xr.DataArray([0.0, 1.0, 9.0], coords={"x": x}, name="T", attrs={"units": "K"})
    >>> (dT_dx,) = gradient(T, dim="x")
    >>> dT_dx.name, dT_dx.attrs["units"], dT_dx.values
    ('dT_dx', 'K m-1', array([1., 2., 4.]))
    """
    dim = dim_alias(dim, dims)
    if units.is_xarray(input):
        from .xr.gradient import gradient_xarray

        return gradient_xarray(
            input,
            spacing=spacing,
            dim=dim,
            edge_order=edge_order,
            periodic=periodic,
            datetime_unit=datetime_unit,
            accuracy=accuracy,
            nan_policy=nan_policy,
        )
    normalize_datetime_unit(datetime_unit, xarray=False)
    data, data_units = units.split(input)
    steps, step_units = units.split_spacing(spacing)
    periodic = units.strip_periods(periodic, step_units)
    out = gradient_array(data, steps, dim, edge_order, periodic, accuracy, nan_policy)
    return _with_units(out, data_units, step_units)


def _with_units(out: tuple, data_units: Any, step_units: Any) -> tuple:
    """Quantities in the derivative's units when the data or the spacing had units."""
    step_list = step_units if isinstance(step_units, list) else [step_units]
    registry = units.registry_of(data_units, *step_list)
    if registry is None:
        return out
    return tuple(
        units.quantity(
            g, units.derivative_units(data_units, units.units_of(step_units, i), registry)
        )
        for i, g in enumerate(out)
    )


def np_gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Drop-in for ``numpy.gradient`` (NumPy or dask input): same arguments, same returns.

    Parameters
    ----------
    f : array-like, dask array, masked array, or pint Quantity
        The sampled function, as for ``numpy.gradient``. Integers are differentiated as
        float64. As numpy's: datetime64 data gives timedelta64 of its unit, timedelta64 stays
        timedelta64 (both truncated as numpy truncates), a masked array (``numpy.ma``, also as
        dask chunks) gives a masked array. A Quantity (NumPy- or dask-backed) gives Quantities
        in the derivative's units, in its own registry.
    *varargs : scalars or 1-D arrays, optional
        The spacing, as ``numpy.gradient``'s: none (unit spacing), one scalar for every
        differentiated axis, or one entry per differentiated axis, each a scalar step or a 1-D
        coordinate array as long as that axis. Any of them may be a pint Quantity (its units
        divide the result's).
    axis : None, int, or tuple of ints, optional
        Axes to differentiate, all by default. Negative ints count from the end.
    edge_order : {1, 2}
        Order of the one-sided differences at the edges of the array.

    Returns
    -------
    array or tuple of arrays
        One array when a single axis is differentiated, else a tuple of one per axis in the
        order of ``axis``: NumPy for NumPy input, lazy dask arrays with the input's chunks for
        dask input, masked arrays for masked input, Quantities for Quantity input.

    Examples
    --------
    >>> import numpy as np
    >>> np_gradient(np.array([1, 2, 4, 7, 11, 16]), 2.0)
    array([0.5 , 0.75, 1.25, 1.75, 2.25, 2.5 ])
    >>> np_gradient(np.array([[1, 2, 6], [3, 4, 5]]), axis=0)
    array([[ 2.,  2., -1.],
           [ 2.,  2., -1.]])
    >>> np_gradient(np.array(["2000-01-01", "2000-01-03", "2000-01-08"], dtype="M8[D]"))
    array([2, 3, 5], dtype='timedelta64[D]')
    >>> np_gradient(np.ma.array([1.0, 2.0, 4.0, 8.0], mask=[0, 0, 1, 0]))
    masked_array(data=[1.0, --, 3.0, --],
                 mask=[False,  True, False,  True],
           fill_value=1e+20)

    A coordinate array per axis gives a tuple; dask input stays lazy, Quantities keep units:

    >>> np_gradient(np.array([[1, 2, 6], [3, 4, 5]]), 1.0, np.array([0.0, 1.0, 3.0]))
    (array([[ 2.,  2., -1.],
           [ 2.,  2., -1.]]), array([[1.        , 1.33333333, 2.        ],
           [1.        , 0.83333333, 0.5       ]]))
    >>> import dask.array as da
    >>> lazy = np_gradient(da.from_array(np.array([1.0, 2.0, 4.0, 7.0]), chunks=2), 2.0)
    >>> lazy.chunks, lazy.compute()
    (((2, 2),), array([0.5 , 0.75, 1.25, 1.5 ]))
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> np_gradient(np.array([1.0, 2.0, 4.0, 7.0]) * ureg.K, 0.5 * ureg.m)
    <Quantity([2. 3. 5. 6.], 'kelvin / meter')>
    """
    f, data_units = units.split(f)
    varargs, step_units = units.split_spacing(list(varargs))
    if not is_dask_collection(f) and not isinstance(f, np.ma.MaskedArray):
        f = np.asarray(f)
    if isinstance(step_units, list) and len(step_units) == 1:
        step_units = step_units[0]
    if not varargs:
        spacing = None
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = varargs[0]
    else:
        n_axes = f.ndim if axis is None else (1 if np.ndim(axis) == 0 else len(axis))
        if len(varargs) != n_axes:
            raise TypeError(
                f"np_gradient got {len(varargs)} spacing arguments for {n_axes} axes; give none, "
                "one scalar, or one scalar or 1-D coordinate array per axis"
            )
        spacing = list(varargs)
    out = _with_units(gradient_array(f, spacing, axis, edge_order), data_units, step_units)
    return out[0] if len(out) == 1 else out
