"""The latitude the kinematics read beside their data (and a pressure, alike): checked per chunk
within ±90° (positive), as a 1-D line along the one axis it varies on, or broadcast to the
data; and the earth's Ω and g, MetPy's. Pure functions on arrays, below every engine."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import is_dask_collection

OMEGA = 7.292115e-5  # s-1, the earth's rotation rate (MetPy's)
GRAVITY = 9.80665  # m s-2, standard gravity (MetPy's)

__all__ = [
    "GRAVITY",
    "OMEGA",
    "broadcast_latitude",
    "checked_latitude",
    "checked_positive",
    "compact",
    "latitude_line",
]


def checked_latitude(phi: np.ndarray, kind: str, name: str = "latitude") -> np.ndarray:
    """``phi`` (radians), refused beyond ±90° with a ValueError naming ``name``: the check of
    dask latitudes, made in the task that reads them for f (on their distinct values).

    Examples
    --------
    >>> checked_latitude(np.array([0.0, 2.0]), "f")
    Traceback (most recent call last):
    ...
    ValueError: f: latitude reaches 114.592 degrees (2 radians), beyond ±90 (...)
    """
    if phi.size and phi.dtype.kind in "fiu":
        with np.errstate(invalid="ignore"):
            top = np.max(np.abs(phi), initial=0.0, where=~np.isnan(phi))
        slack = max(1e-12, 4 * float(np.finfo(phi.dtype).eps)) if phi.dtype.kind == "f" else 0
        if top > np.pi / 2 * (1 + slack):  # float32's π/2 is above float64's
            raise ValueError(
                f"{kind}: {name} reaches {np.degrees(top):.6g} degrees ({top:.6g} radians), "
                "beyond ±90 (latitude and longitude swapped, or degrees given as radians?)"
            )
    return phi


def latitude_line(
    phi: Any, like: Any, dtype: Any, name: str = "latitude"
) -> tuple[int, Any] | None:
    """``phi`` as ``(axis, values)``, a 1-D array along the one axis of ``like`` it varies on
    (any axis when it is one value), in ``dtype``: what :func:`derive` takes as a line, read
    per chunk without a task or ghost planes of its own. None when it varies on several axes.
    ValueError naming ``name`` when it does not broadcast to ``like``.

    Examples
    --------
    >>> latitude_line(np.array([[0.0], [1.0]]), np.zeros((2, 3)), np.float32)
    (0, array([0., 1.], dtype=float32))
    >>> latitude_line(np.zeros((2, 3)), np.zeros((2, 3)), np.float64) is None
    True
    """
    phi = phi if is_dask_collection(phi) else np.asarray(phi)
    shape = tuple(like.shape)
    _check_broadcast(phi, shape, name)
    full = (1,) * (len(shape) - phi.ndim) + tuple(phi.shape)
    varying = [k for k, n in enumerate(full) if n > 1]
    if len(varying) > 1 or not shape:
        return None
    axis = varying[0] if varying else len(shape) - 1
    values = phi.reshape(-1).astype(dtype)
    if values.shape[0] != shape[axis]:  # one value: the same along the axis
        values = (
            values.repeat(shape[axis])
            if is_dask_collection(values)
            else np.repeat(values, shape[axis])
        )
    return axis, values


def broadcast_latitude(phi: Any, like: Any, dtype: Any) -> Any:
    """``phi`` broadcast to ``like``'s shape (numpy's rules) in ``dtype``, without copying:
    a read-only view for NumPy, chunked like ``like`` for dask (a latitude that varies on
    several axes, an input of the formula; a dask array of the data's shape made by task
    objects, or in memory, as it is, so that the engine sees its chunks as the data's).

    Examples
    --------
    >>> broadcast_latitude(np.array([[0.0], [1.0]]), np.zeros((2, 3)), np.float32).strides
    (4, 0)
    """
    lazy = is_dask_collection(like)
    phi = phi if is_dask_collection(phi) else np.asarray(phi)
    _check_broadcast(phi, tuple(like.shape))
    shape = (1,) * (len(like.shape) - phi.ndim) + tuple(phi.shape)
    phi = phi.reshape(shape).astype(dtype, copy=False)  # no copy of a float64 latitude
    if not lazy:
        return np.broadcast_to(phi, like.shape)
    import dask.array as da

    chunks = tuple(c if n > 1 else (1,) for c, n in zip(like.chunks, phi.shape, strict=True))
    if is_dask_collection(phi):
        phi = phi.rechunk(chunks)
        if phi.shape == tuple(like.shape) and _task_objects(phi):
            return phi  # nothing to broadcast, nothing to wrap: an input as the data are
    else:
        phi = da.from_array(phi, chunks=chunks)
    # a task object per chunk on top of dask's broadcast (legacy tasks), so that the engine
    # reads the latitude's chunk in the same task as the data's (see core/graph.py)
    return da.broadcast_to(phi, like.shape, chunks=like.chunks).map_blocks(_same, dtype=dtype)


def _same(block: np.ndarray) -> np.ndarray:
    return block


def _task_objects(x: Any) -> bool:
    """Whether the chunks of the dask array ``x`` are made by task objects, or held in its
    graph (chunks in memory), which the engine reads as they are: no legacy tuple task."""
    node = x.__dask_graph__().get((x.name, *(0,) * x.ndim))
    return node is not None and not isinstance(node, tuple)


def _check_broadcast(phi: Any, shape: tuple[int, ...], name: str = "latitude") -> None:
    try:
        if len(phi.shape) > len(shape) or np.broadcast_shapes(phi.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{name} has shape {tuple(phi.shape)}, which does not broadcast to the data's "
            f"shape {shape}"
        ) from None


def compact(a: np.ndarray) -> np.ndarray:
    """The distinct values of a broadcast view (a size-1 axis where its stride is 0): the sine
    of a latitude broadcast to a chunk costs one row of it.

    Examples
    --------
    >>> compact(np.broadcast_to(np.array([[1.0], [2.0]]), (2, 5))).shape
    (2, 1)
    """
    return a[tuple(slice(0, 1) if s == 0 else slice(None) for s in a.strides)]


def checked_positive(values: Any, kind: str, name: str = "pressure") -> Any:
    """``values`` (a chunk's, or a number), refused with a ValueError naming ``name`` unless
    all positive (NaN aside): the check of a dask pressure in the task that reads it.

    Examples
    --------
    >>> checked_positive(np.array([850.0, 0.0]), "q_vector")
    Traceback (most recent call last):
    ...
    ValueError: q_vector: pressure must be positive; its smallest value is 0
    """
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind in "fiu":
        with np.errstate(invalid="ignore"):
            low = np.min(arr, initial=np.inf, where=~np.isnan(arr))
        if low <= 0:
            raise ValueError(f"{kind}: {name} must be positive; its smallest value is {low:.6g}")
    return values
