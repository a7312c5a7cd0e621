"""The fast path of divergence and vorticity on latitude/longitude grids (issue 22, out of
core): on evenly spaced latitude and longitude at accuracy 2 the derivatives are taken with a
spacing of 1/2 per grid step (raw centred differences: the kernel makes no weighting pass) and
the weight 1/(2h) is in the chunk's per-latitude factors 1/(N cos φ) and 1/M
(``LatLonMetric.radians``). Checked against the analytic radii, a pure-Python reference of
the stencils (sphere and WGS84, periodic, NaN omitted, float32), MetPy, and by counting the
elements the whole computation multiplies."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("dask.array")

import dask  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.core.earth import make_earth  # noqa: E402
from daskgrad.core.metric import LatLonMetric  # noqa: E402
from daskgrad.core.operators import operate_arrays  # noqa: E402
from daskgrad.core.stencil import EvenCoords  # noqa: E402
from daskgrad.xr.fields import grid_data  # noqa: E402

from .metpy_crs import cf_with_wkt  # noqa: E402
from .test_geospatial import R, wgs84_radii  # noqa: E402
from .test_operators_geo import U0, _partials, winds  # noqa: E402


def flow(lat, lon, lead=(2,)):
    """A smooth rotational and divergent wind with noise (m s-1) on 1-D lat/lon (degrees)."""
    rng = np.random.default_rng(7)
    u, v, phi, lam = winds(
        lat,
        lon,
        lambda ph, la: U0 * (np.cos(ph) ** 2 * np.sin(3 * la) + np.cos(ph)),
        lambda ph, la: U0 * np.sin(2 * ph) * np.cos(2 * la),
        lead=lead,
    )
    return u + 0.1 * rng.standard_normal(u.shape), v + 0.1 * rng.standard_normal(v.shape), phi


# --- the factors ------------------------------------------------------------------------------


@pytest.mark.parametrize("earth", ["sphere", "wgs84"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_radians_divide_the_scales_and_keep_the_corrections(earth, dtype):
    """Per unit of coordinates of ``radians`` = (2hλ, 2hφ): mx = 1/(N cos φ)/(2hλ) and
    my = 1/M/(2hφ) (the analytic radii), the Laplacian's ly over 2hφ; cx = tan φ / N as per
    radian."""
    phi = np.radians(np.arange(-89.0, 89.1, 0.5))[::-1]  # descending, as ERA5's
    hx, hy = np.radians(0.25), -np.radians(0.5)
    e = make_earth(earth)
    n, m = wgs84_radii(phi) if earth == "wgs84" else (np.full_like(phi, R), np.full_like(phi, R))
    per_radian = LatLonMetric(e, 1, phi).factors([phi], 3, np.dtype(dtype))
    f = LatLonMetric(e, 1, phi, (2 * hx, 2 * hy)).factors([phi], 3, np.dtype(dtype))
    rtol = 1e-12 if dtype == "float64" else 1e-6
    assert f.mx.dtype == f.my.dtype == np.dtype(dtype) and f.mx.shape == (1, phi.size, 1)
    np.testing.assert_allclose(f.mx.ravel(), 1 / (n * np.cos(phi)) / (2 * hx), rtol=rtol)
    np.testing.assert_allclose(
        np.broadcast_to(f.my, f.mx.shape).ravel(), 1 / m / (2 * hy), rtol=rtol
    )
    np.testing.assert_allclose(f.cx.ravel(), np.tan(phi) / n, rtol=rtol)
    np.testing.assert_array_equal(f.cx, per_radian.cx)
    np.testing.assert_allclose(f.ly.ravel(), -np.tan(phi) / n / m / (2 * hy), rtol=rtol)


# --- what the engine is given -----------------------------------------------------------------


def _spy():
    seen = []

    def engine(kind, datas, axes, *, spacing, periodic, metric=None, **stencil):
        seen.append((spacing, metric))
        return operate_arrays(
            kind, datas, axes, spacing=spacing, periodic=periodic, metric=metric, **stencil
        )

    return seen, engine


@pytest.mark.parametrize("kind", ["vorticity", "divergence"])
def test_even_latitude_and_longitude_get_a_spacing_of_one_half(kind):
    u, v, _ = flow(np.arange(80, -80.1, -0.5), np.arange(0, 360, 0.25), lead=())
    seen, engine = _spy()
    out, _, _ = grid_data(kind, (u, v), None, {}, True, None, engine, None)
    ((spacing, metric),) = seen
    assert [float(s) for s in spacing] == [0.5, 0.5]
    assert all(isinstance(s, EvenCoords) for s in spacing)
    np.testing.assert_allclose(metric.radians, (2 * np.radians(0.25), -2 * np.radians(0.5)))
    assert np.isfinite(out).any()


@pytest.mark.parametrize(
    "kind, accuracy, expect_half",
    [("vorticity", 4, False), ("laplacian", 2, False), ("divergence", 6, False)],
)
def test_other_orders_and_operators_keep_the_per_radian_spacing(kind, accuracy, expect_half):
    u, v, _ = flow(np.arange(60, -60.1, -1.0), np.arange(0, 360, 2.0), lead=())
    seen, engine = _spy()
    inputs = (u,) if kind == "laplacian" else (u, v)
    grid_data(kind, inputs, None, {"accuracy": accuracy}, True, None, engine, None)
    ((spacing, metric),) = seen
    assert [float(s) for s in spacing] == pytest.approx([np.radians(2.0), -np.radians(1.0)])
    assert metric.radians == (1.0, 1.0)


def test_an_uneven_latitude_keeps_its_coordinates_and_longitude_is_halved():
    lat = np.degrees(np.arcsin(np.linspace(-0.95, 0.95, 40)))  # uneven (Gaussian-like)
    u, v, _ = flow(lat, np.arange(0, 360, 3.0), lead=())
    seen, engine = _spy()
    grid_data("vorticity", (u, v), None, {}, True, None, engine, None)
    ((spacing, metric),) = seen
    assert float(spacing[0]) == 0.5 and isinstance(spacing[0], EvenCoords)
    np.testing.assert_allclose(spacing[1], np.radians(lat))
    assert metric.radians[1] == 1.0
    np.testing.assert_allclose(metric.radians[0], 2 * np.radians(3.0))


# --- the passes, counted ----------------------------------------------------------------------


class _Counting:
    """np.multiply counting the elements it writes (the real ufunc does the work)."""

    def __init__(self, real):
        self.real, self.elements = real, 0

    def __call__(self, *args, **kwargs):
        out = self.real(*args, **kwargs)
        self.elements += np.size(out)
        return out


@pytest.mark.parametrize("kind", ["vorticity", "divergence"])
def test_no_weighting_pass_multiplies_fewer_elements(kind, monkeypatch):
    """A chunk of vorticity multiplies each of its points 3 times (mx·∂v/∂X, my·∂u/∂Y,
    cx·u), the centred differences themselves not at all: before, the kernel weighted each
    of the two derivatives by 1/(2h), 5 multiplications per point."""
    u, v, _ = flow(np.arange(80, -80.1, -1.0), np.arange(0, 360, 1.0), lead=(2,))
    lazy = [a.chunk({"t0": 1, "lat": 81, "lon": 180}) for a in (u, v)]
    result = getattr(daskgrad, kind)(*lazy, geospatial=True)
    counting = _Counting(np.multiply)
    monkeypatch.setattr(np, "multiply", counting)
    with dask.config.set(scheduler="sync"):
        values = result.values
    monkeypatch.undo()
    per_point = counting.elements / values.size
    assert 2.9 <= per_point <= 3.2, per_point


# --- equal to the references ------------------------------------------------------------------


@pytest.mark.parametrize(
    "earth, dtype, opts",
    [
        ("sphere", np.float64, dict(accuracy=2, edge_order=1)),
        ("wgs84", np.float32, dict(accuracy=2, edge_order=2, periodic=False)),
        ("wgs84", np.float64, dict(accuracy=2, nan_policy="omit")),
        ("sphere", np.float32, dict(accuracy=2, nan_policy="omit")),
        ("wgs84", np.float64, dict(accuracy=4)),
    ],
)
def test_equal_to_the_reference_stencils(earth, dtype, opts):
    """div = ∂u/∂x + ∂v/∂y − v tan φ/N, vort = ∂v/∂x − ∂u/∂y + u tan φ/N with each ∂ by the
    pure-Python reference on the coordinates in radians (global longitude wrapped unless
    periodic=False; NaN holes gone around with nan_policy="omit"), NumPy and dask."""
    lat, lon = np.arange(75, -75.1, -3.0), np.arange(0, 360, 4.0)
    u, v, phi = flow(lat, lon)
    omit = opts.get("nan_policy") == "omit"
    if omit:
        rng = np.random.default_rng(2)
        u, v = u.where(rng.random(u.shape) > 0.05), v.where(rng.random(v.shape) > 0.05)
    u, v = u.astype(dtype), v.astype(dtype)
    args = (
        opts["accuracy"],
        opts.get("edge_order", 1),
        omit,
        None if opts.get("periodic") is False else 2 * np.pi,
        np.radians(lat),
        np.radians(lon),
        earth,
        R,
    )
    ux, uy, n = _partials(u.values.astype(np.float64), *args)
    vx, vy, _ = _partials(v.values.astype(np.float64), *args)
    tan = np.tan(phi) / n
    refs = {
        "divergence": ux + vy - v.values * tan,
        "vorticity": vx - uy + u.values * tan,
    }
    tol = 1e-10 if dtype == np.float64 else 2e-5
    lazy = (u.chunk({"lat": 17, "lon": 40}), v.chunk({"lat": 17, "lon": 40}))
    for kind, ref in refs.items():
        ours = getattr(daskgrad, kind)(u, v, geospatial=True, earth=earth, **opts)
        assert ours.dtype == dtype
        scale = float(np.nanmax(np.abs(ref)))
        np.testing.assert_allclose(ours.values, ref, rtol=0, atol=tol * scale, equal_nan=True)
        with dask.config.set(scheduler="sync"):
            chunked = getattr(daskgrad, kind)(*lazy, geospatial=True, earth=earth, **opts).values
        np.testing.assert_allclose(chunked, ours.values, rtol=0, atol=tol * scale / 100)


@pytest.mark.parametrize("dtype", [np.float32])
def test_metpy_parity_on_the_fast_path(dtype):
    """MetPy 1.7 on a regional 0.25° grid (descending latitude, as ERA5's) with the same
    sphere, float32: rtol 1e-4 of the field's scale away from the two outermost columns (the
    sides of the region, where MetPy's edge stencils are its own)."""
    mpcalc = pytest.importorskip("metpy.calc")
    lat, lon = np.arange(30, -30.1, -0.25), np.arange(-20, 20, 0.25)
    u, v, _ = flow(lat, lon, lead=())
    crs = cf_with_wkt(grid_mapping_name="latitude_longitude", earth_radius=R)
    um, vm = (a.assign_attrs(units="m/s").metpy.assign_crs(**crs) for a in (u, v))
    rows, cols = slice(2, -2), slice(2, -2)
    for kind in ("vorticity", "divergence"):
        ref = getattr(mpcalc, kind)(um, vm).metpy.dequantify()
        ours = getattr(daskgrad, kind)(u.astype(dtype), v.astype(dtype), geospatial=True)
        assert ours.dtype == dtype
        a, b = ours.values[rows][:, cols], np.asarray(ref.values)[rows][:, cols]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max())
