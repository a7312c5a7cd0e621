"""Issue 21, performance: the map-factor forms of vorticity and divergence computed slab by slab
(core/metric.tensor_combination) give MetPy's expressions, written out here in NumPy, and need
no temporaries of the array's size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyproj
import pytest

from daskgrad.core.metric import Factors, tensor_combination
from daskgrad.core.operators import operate_arrays
from daskgrad.core.projection import ProjectedMetric, Projection

LCC = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229 +units=m"


def _factors(kind: str, shape: tuple[int, ...], dtype: str) -> Factors:
    rng = np.random.default_rng(7)

    def field(*s: int) -> np.ndarray:
        return (0.5 + rng.random(s)).astype(dtype)

    ny, nx = shape[-2:]
    if kind == "conformal":  # one m for both axes (the same array), both corrections
        m = field(ny, nx)
        return Factors(mx=m, my=m, cx=field(ny, nx), cy=field(ny, nx), lx=0.0, ly=0.0)
    if kind == "general":  # distinct scales
        return Factors(
            mx=field(ny, nx), my=field(ny, nx), cx=field(ny, nx), cy=field(ny, nx), lx=0, ly=0
        )
    # latitude/longitude: one value per row, cy a number 0
    return Factors(mx=field(ny, 1), my=field(ny, 1), cx=field(ny, 1), cy=0.0, lx=0.0, ly=0.0)


@pytest.mark.parametrize("kind", ["conformal", "general", "latlon"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(37, 53), (3, 37, 53)])
@pytest.mark.parametrize("slab", [64, 1 << 12, 1 << 20])
def test_combination_is_metpys_expression(kind, dtype, shape, slab):
    rng = np.random.default_rng(3)
    A, B, C, D, u, v = (rng.standard_normal(shape).astype(dtype) for _ in range(6))
    f = _factors(kind, shape, dtype)
    # MetPy's vector_derivative with map factors: du/dx = mx u_X - cx v, du/dy = my u_Y + cy v,
    # dv/dx = mx v_X + cx u, dv/dy = my v_Y - cy u
    vort = (f.mx * A + f.cx * u) - (f.my * B + f.cy * v)
    div = (f.mx * C - f.cx * v) + (f.my * D - f.cy * u)
    a, b, c, d = A.copy(), B.copy(), C.copy(), D.copy()
    got_v = tensor_combination(("dv/dx", a), ("du/dy", b), np.subtract, u, v, f, slab)
    got_d = tensor_combination(("du/dx", c), ("dv/dy", d), np.add, u, v, f, slab)
    assert got_v is a and got_d is c  # in place in the first derivative
    assert got_v.dtype == np.dtype(dtype)
    rtol = 1e-13 if dtype == "float64" else 2e-5
    scale = max(np.abs(vort).max(), np.abs(div).max())
    np.testing.assert_allclose(got_v, vort, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(got_d, div, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("kind", ["vorticity", "divergence"])
def test_formula_needs_no_array_sized_temporaries(kind):
    """The peak memory of a projected vorticity (divergence) on one thread: the result and the
    second derivative, plus slabs; the factors' terms once took a temporary of the array's
    size each (peak 3x the result)."""
    ny, nx = 400, 600  # 1.9 MB per array: one thread
    x = (np.arange(nx) - nx / 2) * 3000.0
    y = (np.arange(ny) - ny / 2) * 3000.0
    X, Y = np.meshgrid(x, y)
    u, v = np.sin(X / 4e5) * np.cos(Y / 3e5), np.cos(X / 5e5) * np.sin(Y / 2e5)
    metric = ProjectedMetric(Projection(pyproj.CRS(LCC)), 1, 0, x, y)
    run = dict(spacing=[3000.0, 3000.0], metric=metric)
    operate_arrays(kind, [u, v], (1, 0), **run)  # the factors, kept on the projection
    tracemalloc.start()
    try:
        operate_arrays(kind, [u, v], (1, 0), **run)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * u.nbytes, peak / u.nbytes
