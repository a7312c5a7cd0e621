"""Masked arrays through the kernel: a masked result whose mask covers every point whose stencil
reaches a masked value, and no value under a mask used (the rule of every public function)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arrays import is_dask_collection, is_masked
from .plan import normalize_nan_policy


def masked_run(run: Callable[[list[Any]], Any], inputs: Sequence[Any], nan_policy: str) -> Any:
    """``run(inputs)`` of masked inputs (NumPy or dask), as a masked result whose mask covers
    every point whose stencil reaches a masked value.

    ``run`` goes twice through the kernel: on the data with the masked values replaced (by 0,
    or with nan_policy="omit" by NaN, holes the stencils go around), so that no value under a
    mask is ever used; and on indicators, NaN where masked and 0 elsewhere, so that NaN marks
    exactly the points whose stencils, of every term and at every accuracy, edge order and
    ghost plane, touch a masked value. ``run`` returns one array or a tuple of them.
    """
    omit = normalize_nan_policy(nan_policy) == "omit"
    data, flags = zip(*(split_masked(a, omit) for a in inputs), strict=True)
    values, touched = run(list(data)), run(list(flags))
    if isinstance(values, tuple):
        return tuple(join_masked(v, t) for v, t in zip(values, touched, strict=True))
    return join_masked(values, touched)


def split_masked(a: Any, omit: bool) -> tuple[Any, Any]:
    """The data of ``a`` with its masked values replaced (0, or NaN for ``omit``), and its
    mask as float64 NaN (masked) and 0 (not); a plain array is its own data, mask all 0."""
    xp: Any = np
    if is_dask_collection(a):
        import dask.array as xp

        mask = xp.ma.getmaskarray(a) if is_masked(a) else xp.zeros(a.shape, bool, chunks=a.chunks)
        data = xp.ma.getdata(a) if is_masked(a) else a
    else:
        mask, data = np.ma.getmaskarray(a), np.ma.getdata(a)
    if omit and data.dtype.kind not in "fc":
        data = data.astype(np.float64)
    fill = np.nan if omit else 0
    return xp.where(mask, fill, data).astype(data.dtype), xp.where(mask, np.nan, 0.0)


def join_masked(values: Any, touched: Any) -> Any:
    """``values`` masked where ``touched`` is NaN (see :func:`masked_run`)."""
    if is_dask_collection(values):
        import dask.array as da

        # block by block: dask's ma.masked_array refuses unknown chunk sizes
        meta = np.ma.masked_array(np.empty((0,) * values.ndim, values.dtype))
        return da.map_blocks(_mask_where_nan, values, touched, dtype=values.dtype, meta=meta)
    return _mask_where_nan(values, touched)


def _mask_where_nan(values: np.ndarray, touched: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_array(values, mask=np.isnan(touched))
