"""Operators on arrays: divergence, vorticity and Laplacian as sums of stencil terms.

Each operator is a sum of terms ``factor · ∂^k(input)/∂x_a^k`` (k = 1 or 2, or 0 for the
metric terms of a sphere). One block function computes every term of one chunk from the
chunks of its inputs and their ghost planes, so each input chunk is read once and the result
is written once; NumPy input runs the same function on row-blocks on threads.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

import numpy as np

from .arrays import is_dask_collection, is_masked
from .derivatives import Derivatives, derive
from .masked import masked_run
from .metric import Factors, MetricModel, scaled, tensor_combination
from .plan import check_same_shape, operator_dims

STANDARD_NAMES = {
    ("divergence", "eastward_wind"): "divergence_of_wind",
    ("vorticity", "eastward_wind"): "atmosphere_relative_vorticity",
    ("divergence", "eastward_sea_water_velocity"): "divergence_of_sea_water_velocity",
    ("vorticity", "eastward_sea_water_velocity"): "ocean_relative_vorticity",
}


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
    metric: MetricModel | None = None,
) -> Any:
    """The operator ``kind`` on NumPy or dask arrays along the axes ``dims``.

    ``metric``: for geospatial operators, where the chunks' metric factors come from (the
    spacings are then per coordinate unit, radians on latitude/longitude): the operators are
    combinations of :func:`daskgrad.core.metric.velocity_gradient`.
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
            metric=metric,
        )
        return masked_run(run, inputs, nan_policy)
    ndim = inputs[0].ndim
    dims = operator_dims(kind, dims, ndim)
    if kind == "laplacian":
        if metric is None:
            requests = [(0, a, 2) for a in range(len(dims))]
        else:
            requests = [(0, 0, 2), (0, 1, 2), (0, 0, 1), (0, 1, 1)]
    else:
        requests = [(0, 0, 1), (1, 1, 1)] if kind == "divergence" else [(1, 0, 1), (0, 1, 1)]
    formula = partial(_FORMULAS[kind], n=len(requests))
    return derive(
        kind,
        inputs,
        requests,
        formula,
        1,
        dims,
        spacing=spacing,
        accuracy=accuracy,
        edge_order=edge_order,
        nan_policy=nan_policy,
        periodic=periodic,
        metric=metric,
        in_place=True,
    )[0]


def _divergence(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None, n: int) -> Any:
    """∂u/∂x + ∂v/∂y of the velocity-gradient tensor, in place in the derivatives."""
    dudx, dvdy = d[(0, 0, 1)], d[(1, 1, 1)]
    if f is None:
        return (np.add(dudx, dvdy, out=dudx),)
    return (tensor_combination(("du/dx", dudx), ("dv/dy", dvdy), np.add, blocks[0], blocks[1], f),)


def _vorticity(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None, n: int) -> Any:
    """∂v/∂x − ∂u/∂y of the velocity-gradient tensor, in place in the derivatives."""
    dvdx, dudy = d[(1, 0, 1)], d[(0, 1, 1)]
    if f is None:
        return (np.subtract(dvdx, dudy, out=dvdx),)
    pair = ("dv/dx", dvdx), ("du/dy", dudy)
    return (tensor_combination(*pair, np.subtract, blocks[0], blocks[1], f),)


def _laplacian(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None, n: int) -> Any:
    """Σ ∂²f/∂x_a², or with factors mx² f_XX + my² f_YY + lx f_X + ly f_Y."""
    if f is None:
        r = d[(0, 0, 2)]
        for a in range(1, n):
            np.add(r, d[(0, a, 2)], out=r)
        return (r,)
    r = scaled(d[(0, 0, 2)], f.mx * f.mx)
    np.add(r, scaled(d[(0, 1, 2)], f.my * f.my), out=r)
    for key, c in (((0, 0, 1), f.lx), ((0, 1, 1), f.ly)):
        if np.any(c != 0):
            np.add(r, scaled(d[key], c), out=r)
    return (r,)


_FORMULAS = {"divergence": _divergence, "vorticity": _vorticity, "laplacian": _laplacian}


def output_name(kind: str, names: Sequence[Hashable | None]) -> str | None:
    if any(n is None for n in names):
        return None
    prefix = {"divergence": "div", "vorticity": "vort", "laplacian": "lap"}[kind]
    return "_".join([prefix, *map(str, names)])
