"""What an array is (lazy dask, masked, a scalar): the questions every layer asks of its
inputs, answered without importing anything of the package."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def is_dask_collection(x: Any) -> bool:
    """Whether ``x`` is a dask collection (lazy: a graph to compute).

    Examples
    --------
    >>> import dask.array as da
    >>> is_dask_collection(da.zeros(3)), is_dask_collection(np.zeros(3))
    (True, False)
    """
    return hasattr(x, "__dask_graph__") and callable(x.__dask_graph__)


def is_masked(x: Any) -> bool:
    """Whether ``x`` is a masked array, or a dask array of masked chunks.

    Examples
    --------
    >>> is_masked(np.ma.masked_array([1.0, 2.0], [0, 1])), is_masked(np.zeros(2))
    (True, False)
    """
    return isinstance(getattr(x, "_meta", x), np.ma.MaskedArray)


def is_scalar(x: Any) -> bool:
    """Whether ``x`` is one number: a Python number or a 0-d NumPy array (a 0-d dask array is
    lazy, not a number yet).

    Examples
    --------
    >>> is_scalar(2.0), is_scalar(np.float32(2)), is_scalar(np.array(2.0)), is_scalar([2.0])
    (True, True, True, False)
    """
    return isinstance(x, numbers.Number) or (
        hasattr(x, "ndim") and hasattr(x, "dtype") and x.ndim == 0 and not is_dask_collection(x)
    )
