"""The fast path of divergence and vorticity on projected grids (issue 21's performance): on
even x/y at accuracy 2 the derivatives are taken with a spacing of 1/2 per grid step (raw
centred differences, no weighting pass) and the weight 1/(2h) is in the chunk's map factors
(``ProjectedMetric.metres``). Checked against MetPy given pyproj's scales, against pyproj's
scales themselves, and against the per-metre path (equal to rounding)."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
mpcalc = pytest.importorskip("metpy.calc")

from metpy.units import units as mu  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.core.kernel import gradient_block  # noqa: E402
from daskgrad.core.operators import operate_arrays  # noqa: E402
from daskgrad.core.projection import ProjectedMetric, Projection  # noqa: E402
from daskgrad.core.stencil import EvenCoords  # noqa: E402

R = 6371229.0
LCC = f"+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R={R} +units=m"
MERC = f"+proj=merc +lat_ts=20 +lon_0=0 +R={R} +units=m"
LAEA = f"+proj=laea +lat_0=52 +lon_0=10 +R={R} +units=m"


def coords(x0, y0, hx, hy, ny=26, nx=31):
    return x0 + hx * np.arange(nx), y0 + hy * np.arange(ny)


def pyproj_scales(crs, x, y):
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)
    f = p.get_factors(*p(X, Y, inverse=True))
    return np.asarray(f.parallel_scale), np.asarray(f.meridional_scale)


def cubic(x, y, seed):
    rng = np.random.default_rng(seed)
    X, Y = np.meshgrid(x, y)
    a, b = (X - X.mean()) / 5e5, (Y - Y.mean()) / 5e5
    c = rng.normal(size=10)
    terms = [np.ones_like(a), a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3]
    return 10 * sum(ci * t for ci, t in zip(c, terms, strict=True))


def assert_close_scale(ours, ref, rtol=1e-4):
    """MetPy's tolerance: rtol of the field's scale away from the two outermost rows/columns."""
    ref = np.asarray(getattr(ref, "magnitude", ref))[2:-2, 2:-2]
    ours = np.asarray(ours)[2:-2, 2:-2]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=rtol * np.max(np.abs(ref)))


def metpy_pair(crs, x, y, u, v):
    k, h = pyproj_scales(crs, x, y)
    kw = {
        "dx": (x[1] - x[0]) * mu.m,
        "dy": (y[1] - y[0]) * mu.m,
        "parallel_scale": k,
        "meridional_scale": h,
    }
    uu, vv = u * mu("m/s"), v * mu("m/s")
    return mpcalc.vorticity(uu, vv, **kw), mpcalc.divergence(uu, vv, **kw)


def dataset(crs, x, y, u, v, dtype=np.float64):
    attrs = {"units": "m s-1", "grid_mapping": "crs"}
    return xr.Dataset(
        {
            "u": (("y", "x"), u.astype(dtype), attrs),
            "v": (("y", "x"), v.astype(dtype), attrs),
            "crs": ((), 0, pyproj.CRS(crs).to_cf()),
        },
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
    )


@pytest.mark.parametrize("hx, hy", [(3000.0, 3000.0), (3000.0, 4500.0), (3000.0, -3000.0)])
def test_metres_divide_the_scales_and_keep_the_corrections(hx, hy):
    """mx, my per unit of coordinates of ``metres`` (2h: a spacing of 1/2 per step) are
    pyproj's scales over 2h; the corrections, per metre, do not change."""
    x, y = coords(-2.3e6, 1.0e6, hx, hy)
    p = Projection(pyproj.CRS(LCC))
    per_metre = ProjectedMetric(p, 1, 0, x, y).factors((x, y), 2, np.dtype("float64"))
    half = ProjectedMetric(p, 1, 0, x, y, (2 * hx, 2 * hy))
    f = half.factors((x, y), 2, np.dtype("float64"))
    k, h = pyproj_scales(LCC, x, y)
    np.testing.assert_allclose(f.mx, k / (2 * hx), rtol=1e-9)
    np.testing.assert_allclose(f.my, h / (2 * hy), rtol=1e-9)
    assert (f.mx is f.my) == (hx == hy)  # the shared scale of the formulas when it is one
    np.testing.assert_array_equal(f.cx, per_metre.cx)
    np.testing.assert_array_equal(f.cy, per_metre.cy)
    # per metre again for the next caller of the same projection (a key of their own)
    again = ProjectedMetric(p, 1, 0, x, y).factors((x, y), 2, np.dtype("float64"))
    np.testing.assert_array_equal(again.mx, per_metre.mx)


def test_metres_keep_mercators_scale_one_value_per_row():
    x, y = coords(1e6, 2e6, 30000.0, 30000.0)
    p = Projection(pyproj.CRS(MERC))
    f = ProjectedMetric(p, 1, 0, x, y, (6e4, 6e4)).factors((x, y), 2, np.dtype("float32"))
    k, _ = pyproj_scales(MERC, x, y)
    assert f.mx.shape == (y.size, 1) and f.mx.dtype == np.float32
    np.testing.assert_allclose(np.broadcast_to(f.mx, k.shape), k / 6e4, rtol=1e-6)


@pytest.mark.parametrize("crs, x0, y0", [(LCC, -2.3e6, 1.0e6), (LAEA, 1.2e6, 8e5)])
@pytest.mark.parametrize("kind", ["vorticity", "divergence"])
def test_half_spacing_equals_the_per_metre_path_and_metpy(crs, x0, y0, kind):
    """The arrays' engine with a spacing of 1/2 and ``metres`` = 2h: the per-metre result to
    rounding, and MetPy's given pyproj's scales (conformal and not)."""
    h = 30000.0
    x, y = coords(x0, y0, h, h)
    u, v = cubic(x, y, 1), cubic(x, y, 2)
    p = Projection(pyproj.CRS(crs))
    per_metre = operate_arrays(
        kind, [u, v], (1, 0), spacing=[EvenCoords(h)] * 2,
        metric=ProjectedMetric(p, 1, 0, x, y),
    )  # fmt: skip
    half = operate_arrays(
        kind, [u, v], (1, 0), spacing=[EvenCoords(0.5)] * 2,
        metric=ProjectedMetric(p, 1, 0, x, y, (2 * h, 2 * h)),
    )  # fmt: skip
    np.testing.assert_allclose(half, per_metre, rtol=0, atol=1e-13 * np.abs(per_metre).max())
    mv, md = metpy_pair(crs, x, y, u, v)
    assert_close_scale(half, mv if kind == "vorticity" else md)


def test_half_spacing_laplacian_of_a_non_conformal_projection():
    """The Laplacian's scales and first-derivative terms per unit of coordinates of 2h."""
    h = 30000.0
    x, y = coords(1.2e6, 8e5, h, h)
    f = cubic(x, y, 3)
    p = Projection(pyproj.CRS(LAEA))
    per_metre = operate_arrays(
        "laplacian", [f], (1, 0), spacing=[EvenCoords(h)] * 2,
        metric=ProjectedMetric(p, 1, 0, x, y),
    )  # fmt: skip
    half = operate_arrays(
        "laplacian", [f], (1, 0), spacing=[EvenCoords(0.5)] * 2,
        metric=ProjectedMetric(p, 1, 0, x, y, (2 * h, 2 * h)),
    )  # fmt: skip
    np.testing.assert_allclose(half, per_metre, rtol=0, atol=1e-12 * np.abs(per_metre).max())


def test_a_spacing_of_one_half_gives_the_raw_centred_differences():
    f = np.random.default_rng(0).normal(size=(40, 50))
    gy, gx = gradient_block(f, [0, 1], [(None, None)] * 2, [0.5, 0.5], 1, f.dtype)
    np.testing.assert_array_equal(gy[1:-1], f[2:] - f[:-2])
    np.testing.assert_array_equal(gx[:, 1:-1], f[:, 2:] - f[:, :-2])


@pytest.mark.parametrize("hx, hy", [(3000.0, 3000.0), (3000.0, 4500.0), (3000.0, -3000.0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_public_vorticity_and_divergence_match_metpy(hx, hy, dtype):
    """NumPy and dask, even steps (equal, unequal, y descending), float64 and float32: MetPy
    given pyproj's scales; dask equal to NumPy; the dtype kept."""
    x, y = coords(-2.3e6, 1.0e6, hx, hy, ny=40, nx=44)
    u, v = cubic(x, y, 4), cubic(x, y, 5)
    ds = dataset(LCC, x, y, u, v, dtype)
    grid = daskgrad.Grid(ds)
    ops = {"geospatial": True, "winds": "grid", "grid": grid}
    mv, md = metpy_pair(LCC, x, y, u, v)
    rtol = 1e-4 if dtype == np.float64 else 1e-3
    lazy = ds.chunk({"y": 17, "x": 20})
    for fn, ref in ((daskgrad.vorticity, mv), (daskgrad.divergence, md)):
        ours = fn(ds.u, ds.v, **ops)
        assert ours.dtype == dtype
        assert_close_scale(ours.values, ref, rtol)
        dask_out = fn(lazy.u, lazy.v, **ops)
        np.testing.assert_array_equal(dask_out.values, ours.values)


def test_accuracy_4_keeps_the_per_metre_path():
    """Accuracy 4 (no weight of 1 to skip): the per-metre path, as before."""
    h = 3000.0
    x, y = coords(-2.3e6, 1.0e6, h, h)
    u, v = cubic(x, y, 6), cubic(x, y, 7)
    ds = dataset(LCC, x, y, u, v)
    grid = daskgrad.Grid(ds)
    ours = daskgrad.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=grid, accuracy=4)
    p = Projection(pyproj.CRS(LCC))
    ref = operate_arrays(
        "vorticity", [u, v], (1, 0), spacing=[EvenCoords(h)] * 2, accuracy=4,
        metric=ProjectedMetric(p, 1, 0, x, y),
    )  # fmt: skip
    np.testing.assert_array_equal(ours.values, ref)
