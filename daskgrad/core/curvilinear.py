"""The chain rule of geospatial gradients on latitude/longitude grids: per-metre factors of a
1-D latitude and the Jacobian coefficients of a 2-D (curvilinear) grid, applied in place on
NumPy blocks or lazily on dask (the earth models themselves are :mod:`daskgrad.core.earth`'s)."""

from __future__ import annotations

import itertools
from operator import getitem
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import is_dask_collection
from .earth import Earth, east_factor, north_factor, poles

if TYPE_CHECKING:
    import dask.array as da
    from dask.typing import Key


def jacobian_coefficients(
    lat: np.ndarray,
    lon: np.ndarray,
    lat_rad: float,
    lon_rad: float,
    p_0: np.ndarray,
    p_1: np.ndarray,
) -> np.ndarray:
    """Chain-rule coefficients on a 2-D grid: ``(4, ny, nx)`` such that
    ``df/dx = c[0] df/d0 + c[1] df/d1`` and ``df/dy = c[2] df/d0 + c[3] df/d1``.

    ``p_0``, ``p_1`` are the derivatives of :func:`position` along the two index dims. Their
    components along the local east ``e = (-sin λ, cos λ, 0)`` and north
    ``n = (-sin φ cos λ, -sin φ sin λ, cos φ)`` are the eastward and northward distances per
    index step, ``X_k = e·p_k``, ``Y_k = n·p_k``: the Jacobian ``J = [[X_0, X_1], [Y_0, Y_1]]``
    with ``[f_0, f_1] = [f_X, f_Y] J``, so ``f_X = (f_0 Y_1 - f_1 Y_0) / D`` and
    ``f_Y = (f_1 X_0 - f_0 X_1) / D``, ``D = X_0 Y_1 - X_1 Y_0``. NaN where the grid is
    degenerate and, for df/dx, at the poles.
    """
    phi = np.asarray(lat, dtype=np.float64) * lat_rad
    lam = np.asarray(lon, dtype=np.float64) * lon_rad
    sl, cl, sp = np.sin(lam), np.cos(lam), np.sin(phi)
    x0, x1 = (cl * p[1] - sl * p[0] for p in (p_0, p_1))
    y0, y1 = (np.cos(phi) * p[2] - sp * (cl * p[0] + sl * p[1]) for p in (p_0, p_1))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (x0 * y1 - x1 * y0)
    inv[~np.isfinite(inv)] = np.nan
    c = np.stack([y1 * inv, -y0 * inv, -x1 * inv, x0 * inv])
    c[:2, poles(phi)] = np.nan
    return c


def writable(a: np.ndarray) -> np.ndarray:
    # a chunk that distributed received over the network may be a read-only view of its bytes
    return a if a.flags.writeable else a.copy()


def scale_inplace(g: np.ndarray, factor: np.ndarray, axis: int) -> np.ndarray:
    """``g * factor`` along ``axis``, written into ``g`` (a fresh derivative nobody else reads)."""
    g = writable(g)
    shape = [1] * g.ndim
    shape[axis] = -1
    np.multiply(g, factor.reshape(shape), out=g, casting="unsafe")
    return g


# Bytes of one operand per slab of the chain-rule combination: the temporaries stay in cache.
_SLAB_BYTES = 1 << 19


def combine_inplace(
    f0: np.ndarray, f1: np.ndarray, coef: np.ndarray, axes: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(df/dx, df/dy)`` from the index derivatives ``f0``, ``f1`` (along the data's ``axes``)
    and :func:`jacobian_coefficients`, written into ``f0`` and ``f1`` slab by slab along axis 0
    (fresh derivatives nobody else reads), so no temporary is as large as a chunk."""
    f0, f1 = writable(f0), writable(f1)
    if f0.size == 0:
        return f0, f1
    c = coef if axes[0] < axes[1] else coef.swapaxes(1, 2)
    shape = [1] * f0.ndim
    for axis, n in zip(sorted(axes), c.shape[1:], strict=True):
        shape[axis] = n
    parts = [ci.reshape(shape) for ci in c]
    row = f0[0].nbytes or 1
    step = max(1, _SLAB_BYTES // row)
    on_0 = 0 in axes
    for s in range(0, f0.shape[0], step):
        sl = slice(s, s + step)
        a, b = f0[sl], f1[sl]
        cs = [ci[sl] if on_0 else ci for ci in parts]
        x = a * cs[0]
        x += b * cs[1]
        b *= cs[3]
        b += a * cs[2]
        a[...] = x
    return f0, f1


def lat_factor(
    kind: str, lat: Any, to_rad: float, earth: Earth, name: Any, chunks: tuple[int, ...] | None
) -> Any:
    """:func:`east_factor` or :func:`north_factor` of a 1-D latitude: NumPy when ``chunks`` is
    None, else a dask array with those chunks (lazy, the range check included)."""
    fn = east_factor if kind == "east" else north_factor
    if chunks is None:
        return fn(np.asarray(lat), to_rad, earth, name)
    import dask.array as da

    lat = lat.rechunk((chunks,)) if is_dask_collection(lat) else da.from_array(lat, (chunks,))
    return lat.map_blocks(fn, to_rad, earth, name, dtype=np.float64, meta=np.empty((0,)))


def unwrap_dask(lam: da.Array, axis: int) -> da.Array:
    """``numpy.unwrap`` of a dask array (radians) along ``axis``, lazily: the 2π jumps between
    neighbours summed across chunks (``da.diff``'s ``prepend`` would compute its argument)."""
    import dask.array as da

    def part(s: slice) -> da.Array:
        planes: da.Array = lam[(slice(None),) * axis + (s,)]
        return planes

    n = lam.shape[axis]
    jumps = -2 * np.pi * da.round((part(slice(1, n)) - part(slice(0, n - 1))) / (2 * np.pi))
    total = da.concatenate([da.zeros_like(part(slice(0, 1))), da.cumsum(jumps, axis)], axis)
    unwrapped: da.Array = (lam + total).rechunk(lam.chunks)
    return unwrapped


def scale(g: Any, factor: Any, axis: int) -> Any:
    """``g`` times a 1-D ``factor`` along ``axis``, in place, per chunk for dask."""
    if not is_dask_collection(g):
        return scale_inplace(g, factor, axis)
    import dask.array as da

    ind = tuple(range(g.ndim))
    return da.blockwise(
        scale_inplace, ind, g, ind, factor, (axis,), axis=axis, dtype=g.dtype, meta=g._meta
    )


def barrier(a: da.Array) -> da.Array:
    """``a`` behind a layer of aliases: dask would otherwise fuse the coefficients' blockwise
    tasks into every consumer, recomputing them once per time step."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    from ..compat import Alias

    name = f"geospatial-metrics-{a.name}"
    layer: dict[Key, Alias] = {
        (name, *i): Alias((name, *i), (a.name, *i))
        for i in itertools.product(*map(range, a.numblocks))
    }
    # dask.array.Array fails dask's own DaskCollection protocol (see core.graph)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[a])  # type: ignore[list-item]
    return da.Array(graph, name, a.chunks, meta=a._meta)


def combine_dask(
    g0: da.Array, g1: da.Array, coef: da.Array, axes: tuple[int, int]
) -> tuple[da.Array, ...]:
    """One task per chunk turns the two index derivatives into (df/dx, df/dy)."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    from ..compat import Task, TaskRef

    token = tokenize(g0.name, g1.name, coef.name, axes)
    name = f"geospatial-{token}"
    idxs = list(itertools.product(*map(range, g0.numblocks)))
    layer: dict[Key, Task] = {
        (name, *i): Task(
            (name, *i),
            combine_inplace,
            TaskRef((g0.name, *i)),
            TaskRef((g1.name, *i)),
            TaskRef((coef.name, 0, i[axes[0]], i[axes[1]])),
            axes,
        )
        for i in idxs
    }
    # dask.array.Array fails dask's own DaskCollection protocol (see core.graph)
    graph = HighLevelGraph.from_collections(
        name,
        layer,
        dependencies=[g0, g1, coef],  # type: ignore[list-item]
    )
    outs = []
    for k, word in enumerate(("dx", "dy")):
        out_name = f"geospatial-{word}-{token}"
        sub: dict[Key, Task] = {
            (out_name, *i): Task((out_name, *i), getitem, TaskRef((name, *i)), k) for i in idxs
        }
        g = HighLevelGraph(
            {**graph.layers, out_name: sub}, {**graph.dependencies, out_name: {name}}
        )
        outs.append(da.Array(g, out_name, g0.chunks, meta=g0._meta))
    return tuple(outs)
