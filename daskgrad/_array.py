"""Array-level gradient: validate the arguments once, then run the NumPy or the dask path."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import is_dask_collection, make_plan


def gradient_array(
    f: Any,
    spacing: Any = None,
    dim: Any = None,
    edge_order: int = 1,
    periodic: Any = None,
) -> tuple[Any, ...]:
    """Gradient of a NumPy array, array-like or dask array along integer dims.

    The arguments are those of :func:`daskgrad.gradient` for arrays; the xarray layer calls
    this with the axes and spacings it derived from names and coordinates.

    Examples
    --------
    >>> gradient_array(np.array([1.0, 2.0, 4.0]), spacing=0.5)
    (array([2., 3., 4.]),)
    """
    if not is_dask_collection(f):
        f = np.asarray(f)
    plan = make_plan(f.shape, f.dtype, spacing, dim, edge_order, periodic)
    if f.ndim == 0 or not plan.axes:
        return ()
    if is_dask_collection(f):
        from ._dask import gradient_dask

        return gradient_dask(f, plan)
    from ._numpy import gradient_numpy

    return gradient_numpy(f, plan)
