"""The public functions: dispatch NumPy, dask and xarray input to their layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import is_dask_collection
from ._array import gradient_array


def _is_xarray(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("xarray.") and type(obj).__name__ in ("DataArray", "Dataset")


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
) -> Any:
    """Numerical gradient like ``numpy.gradient`` and ``torch.gradient``, of order 2 to 8.

    Parameters
    ----------
    input : array-like, dask array, or xarray DataArray/Dataset
        The sampled function. Integers are differentiated as float64; bool is refused.
        datetime64 and timedelta64 give timedelta64, and masked arrays (``numpy.ma``, also as
        dask chunks) masked arrays, with numpy.gradient's own arithmetic.
    spacing : None, scalar, or sequence
        None: unit spacing. A scalar: the same spacing for every differentiated dim. A sequence:
        one entry per differentiated dim, each a scalar or a 1-D coordinate array (NumPy, list
        or dask) as long as that dim. For xarray input, a mapping ``{dim: scalar or 1-D array}``
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

    Returns
    -------
    tuple of arrays, one per differentiated dim in the order of ``dim``: NumPy for array-like
    input, lazy dask arrays with the input's chunks for dask input. For a Dataset, a Dataset.

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
    """
    if _is_xarray(input):
        from .xarray import gradient_xarray

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
    if datetime_unit is not None:
        raise TypeError("datetime_unit applies to xarray input only")
    return gradient_array(input, spacing, dim, edge_order, periodic, accuracy, nan_policy)


def np_gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Drop-in for ``numpy.gradient`` (NumPy or dask input): same arguments, same returns.

    Returns one array when a single axis is differentiated, else a tuple. As numpy's:
    datetime64 data gives timedelta64 of its unit, timedelta64 stays timedelta64 (both
    truncated as numpy truncates), a masked array gives a masked array.

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
    """
    if not is_dask_collection(f) and not isinstance(f, np.ma.MaskedArray):
        f = np.asarray(f)
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
    out = gradient_array(f, spacing, axis, edge_order)
    return out[0] if len(out) == 1 else out
