"""Operators on arrays: divergence, vorticity and Laplacian as sums of stencil terms.

Each operator is a sum of terms ``factor · ∂^k(input)/∂x_a^k`` (k = 1 or 2, or 0 for the
metric terms of a sphere). One block function computes every term of one chunk from the
chunks of its inputs and their ghost planes, so each input chunk is read once and the result
is written once; NumPy input runs the same function on row-blocks on threads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, Protocol

import numpy as np

from .derivatives import trim_ghosts, trim_step
from .kernel import gradient_block
from .plan import Plan, is_dask_collection, is_masked, make_plan, normalize_nan_policy
from .stencil import depth


class EarthModel(Protocol):
    """The radii of curvature the metric terms need (:class:`daskgrad.core.earth.Earth`)."""

    def east(self, phi: np.ndarray) -> np.ndarray: ...

    def north(self, phi: np.ndarray) -> np.ndarray: ...


# one term: (input, position in dims, derivative order, sign)
Term = tuple[int, int, int, float]

# (input, position in dims, derivative order, sign): x is dims[0], y is dims[1]
_TERMS = {
    "divergence": [(0, 0, 1, 1.0), (1, 1, 1, 1.0)],
    "vorticity": [(1, 0, 1, 1.0), (0, 1, 1, -1.0)],
}
# metric term on a sphere/ellipsoid, (input, sign) times tan φ / N(φ) (N = R on a sphere)
_CURVATURE = {"divergence": (1, -1.0), "vorticity": (0, 1.0)}
STANDARD_NAMES = {
    ("divergence", "eastward_wind"): "divergence_of_wind",
    ("vorticity", "eastward_wind"): "atmosphere_relative_vorticity",
    ("divergence", "eastward_sea_water_velocity"): "divergence_of_sea_water_velocity",
    ("vorticity", "eastward_sea_water_velocity"): "ocean_relative_vorticity",
}


def check_same_shape(
    kind: str, inputs: Sequence[Any], names: Sequence[Hashable] = ("u", "v")
) -> None:
    if len(inputs) == 2 and tuple(inputs[0].shape) != tuple(inputs[1].shape):
        raise ValueError(
            f"{kind}: {names[0]} has shape {tuple(inputs[0].shape)} but {names[1]} has shape "
            f"{tuple(inputs[1].shape)}; the components must be on the same points"
        )


def operate_arrays(
    kind: str,
    inputs: Sequence[Any],
    dims: Any = None,
    *,
    spacing: Any = None,
    accuracy: int = 2,
    edge_order: int = 1,
    nan_policy: str = "propagate",
    periodic: Any = None,
    curvature: Any = None,
) -> Any:
    """The operator ``kind`` on NumPy or dask arrays along the axes ``dims``.

    ``curvature``: for geospatial operators, ``(phi, earth, lat_axis, scale)``: the latitude of
    each index of ``lat_axis`` in radians (NumPy or dask), the earth model, and whether to
    divide the derivatives by the metric (the spacings are then in radians).
    """
    inputs = [a if is_dask_collection(a) else np.asanyarray(a) for a in inputs]
    check_same_shape(kind, inputs)
    if any(is_masked(a) for a in inputs):
        run = partial(
            operate_arrays,
            kind,
            dims=dims,
            spacing=spacing,
            accuracy=accuracy,
            edge_order=edge_order,
            nan_policy=nan_policy,
            periodic=periodic,
            curvature=curvature,
        )
        return masked_run(run, inputs, nan_policy)
    ndim = inputs[0].ndim
    if kind == "laplacian":
        dims = tuple(range(ndim)) if dims is None else dims
        dims = (dims,) if np.ndim(dims) == 0 else tuple(dims)
        if not dims:
            raise ValueError(f"laplacian needs at least one dim; got dim={dims!r}")
        terms = [(0, j, 2, 1.0) for j in range(len(dims))]
    else:
        dims = (-1, -2) if dims is None else dims
        if np.ndim(dims) != 1 or len(dims) != 2:
            raise ValueError(f"{kind} needs dim=(x, y), two dims; got dim={dims!r}")
        terms = list(_TERMS[kind])
    dtype = np.result_type(*[a.dtype for a in inputs])
    deriv = 2 if kind == "laplacian" else 1
    plan = make_plan(
        inputs[0].shape, dtype, spacing, dims, edge_order, periodic, accuracy, nan_policy, deriv
    )
    aux: tuple[tuple[int, Any], ...] = ()
    geo = None
    if curvature is not None:
        phi, earth, lat_axis = curvature
        aux = ((lat_axis, phi),)
        geo = (earth, lat_axis)
        if kind == "laplacian":  # − (tan φ / N) ∂f/∂y: y is the latitude, the second dim
            terms.append((0, 1, 1, -1.0))
    func = partial(_operator_block, kind=kind, terms=tuple(terms), geo=geo)
    if any(is_dask_collection(a) for a in inputs):
        import dask.array as da

        from .graph import ghosted_dask

        chunks = next(a.chunks for a in inputs if is_dask_collection(a))
        inputs = [a if is_dask_collection(a) else da.from_array(a, chunks=chunks) for a in inputs]
        return ghosted_dask(inputs, plan, func, 1, kind, aux)[0]
    from .eager import ghosted_numpy

    return ghosted_numpy(inputs, plan, func, 1, aux)[0]


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


def _operator_block(
    blocks: Sequence[np.ndarray],
    ghosts: Sequence[Sequence[tuple[np.ndarray | None, np.ndarray | None]]],
    steps: Sequence[Any],
    aux: Sequence[Any],
    *,
    plan: Plan,
    kind: str,
    terms: tuple[Term, ...],
    geo: tuple[EarthModel, int] | None,
    out: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray]:
    """One chunk of the operator: every term from the chunks and their ghost planes."""
    dtype = plan.dtype
    result = out[0] if out else np.empty(blocks[0].shape, dtype)
    factors = _metric(aux[0], geo, blocks[0].ndim, dtype) if geo is not None else None
    first = True
    groups: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for j, a, deriv, sign in terms:
        groups.setdefault((j, deriv), []).append((a, sign))
    for (j, deriv), members in groups.items():
        g = plan.depth
        trim = g - depth(plan.accuracy, plan.nan_policy, deriv)
        axes = [plan.axes[a] for a, _ in members]
        # the first derivative is computed into the result, the others added to it: one
        # pass over the chunk per further term (two when it has a metric factor)
        outs = [np.empty(result.shape, dtype) for _ in members[1:]]
        grads = gradient_block(
            blocks[j],
            [ax.axis for ax in axes],
            [trim_ghosts(ghosts[j][a], plan.axes[a].axis, trim) for a, _ in members],
            [trim_step(steps[a], trim) for a, _ in members],
            plan.edge_order,
            dtype,
            out=[result, *outs] if first else [np.empty(result.shape, dtype), *outs],
            accuracy=plan.accuracy,
            nan_policy=plan.nan_policy,
            deriv=deriv,
        )
        for (a, sign), d in zip(members, grads, strict=True):
            scale: float | np.ndarray = sign
            if factors is not None:
                scale = sign * factors[(a, deriv, kind == "laplacian")]
            if first:
                if factors is not None or sign != 1.0:
                    np.multiply(result, scale, out=result)
                first = False
            elif factors is None:
                (np.add if sign > 0 else np.subtract)(result, d, out=result)
            else:
                np.multiply(d, scale, out=d)
                np.add(result, d, out=result)
    if factors is not None and kind in _CURVATURE:
        j, sign = _CURVATURE[kind]
        t = np.multiply(blocks[j], sign * factors["tan/N"], dtype=dtype)
        np.add(result, t, out=result)
    return (result,)


def _metric(
    phi: Any, geo: tuple[EarthModel, int], ndim: int, dtype: np.dtype
) -> dict[tuple[int, int, bool] | str, np.ndarray]:
    """Per latitude of the chunk: 1/(N cos φ), 1/M, their squares, and tan φ / N, shaped to
    broadcast along the latitude axis. NaN eastward factors at the poles."""
    earth, lat_axis = geo
    phi = np.asarray(phi, dtype=np.float64)
    shape = [1] * ndim
    shape[lat_axis] = phi.size
    with np.errstate(divide="ignore", invalid="ignore"):
        east = earth.east(phi)
        east = np.where(np.isclose(np.abs(phi), np.pi / 2, rtol=0, atol=1e-12), np.nan, east)
        north = earth.north(phi)
        n_radius = east / np.cos(phi)
        tan_n = np.tan(phi) / n_radius
    x, y = 1.0 / east, 1.0 / north
    r: dict[tuple[int, int, bool] | str, np.ndarray] = {
        (0, 1, False): x,
        (1, 1, False): y,
        (0, 2, True): x * x,
        (1, 2, True): y * y,
        (1, 1, True): tan_n * y,
        "tan/N": tan_n,
    }
    real = np.finfo(dtype).dtype  # float32 factors for float32 (and complex64) data
    return {k: v.reshape(shape).astype(real) for k, v in r.items()}


def output_name(kind: str, names: Sequence[Hashable | None]) -> str | None:
    if any(n is None for n in names):
        return None
    prefix = {"divergence": "div", "vorticity": "vort", "laplacian": "lap"}[kind]
    return "_".join([prefix, *map(str, names)])
