"""Issue 22, out of core, the geospatial command-line path: ``daskgrad run --vorticity u,v
--geospatial`` spent about 20 % more CPU per chunk than its Cartesian twin. Most of the
difference was the formula's metric terms (mx·∂v/∂X + cx·u − my·∂u/∂Y) multiplying by
per-latitude factors shaped (1, n_lat, 1): broadcast along the contiguous longitude axis, each
such operation ran one inner loop per row (a stride of 0 along the last axis), about twice the
time of the same operation on contiguous rows. The factors are now spread over the trailing
axes once per chunk (a plane of at most 1/8 of the chunk), so that every operation of the
formula on a slab is one loop over contiguous memory.

Checked: no operation of a chunk's formula broadcasts a line along the last axis (counted by
wrapping NumPy's ufuncs), the planes stay small (tracemalloc), and the results equal the
pure-Python reference stencils and MetPy on the new path."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("dask.array")

import dask  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.core.earth import make_earth  # noqa: E402
from daskgrad.core.metric import LatLonMetric, tensor_combination  # noqa: E402

from .metpy_crs import cf_with_wkt  # noqa: E402
from .test_geo_halfspacing import flow  # noqa: E402
from .test_geospatial import R  # noqa: E402
from .test_operators_geo import _partials  # noqa: E402


class _Strides:
    """A ufunc wrapper that records, for every call on arrays of at least 2 dims, whether an
    operand broadcasts along the last axis (stride 0 there) while the output does not."""

    def __init__(self, real):
        self.real, self.calls, self.strided = real, 0, 0

    def __call__(self, *args, **kwargs):
        out = kwargs.get("out")
        if isinstance(out, tuple):
            out = out[0]
        arrays = [a for a in args if isinstance(a, np.ndarray) and a.ndim >= 2]
        if out is not None and out.ndim >= 2 and out.shape[-1] > 1 and out.strides[-1] != 0:
            self.calls += 1
            if any(a.shape[-1] > 1 and a.strides[-1] == 0 for a in arrays):
                self.strided += 1
        return self.real(*args, **kwargs)


def _winds(lead: int, dtype=np.float32):
    lat, lon = np.arange(80, -80.1, -2.0), np.arange(0, 360, 2.0)
    u, v, _ = flow(lat, lon, lead=(lead,))
    return u.astype(dtype), v.astype(dtype)


@pytest.mark.parametrize("kind", ["vorticity", "divergence"])
def test_no_formula_operation_broadcasts_a_row_factor_along_the_last_axis(kind, monkeypatch):
    """(time, lat, lon) chunks of 8 x 41 x 90: the per-latitude factors mx and cx are
    multiplied in over contiguous rows; before, every multiplication by them (2 of the 5
    operations of each slab) read the factor with a stride of 0 along longitude."""
    u, v = _winds(8)
    lazy = [a.chunk({"t0": 8, "lat": 41, "lon": 90}) for a in (u, v)]
    result = getattr(daskgrad, kind)(*lazy, geospatial=True)
    wrapped = {name: _Strides(getattr(np, name)) for name in ("multiply", "add", "subtract")}
    for name, w in wrapped.items():
        monkeypatch.setattr(np, name, w)
    with dask.config.set(scheduler="sync"):
        values = result.values
    monkeypatch.undo()
    assert sum(w.calls for w in wrapped.values()) > 0
    assert sum(w.strided for w in wrapped.values()) == 0, {
        n: (w.strided, w.calls) for n, w in wrapped.items()
    }
    assert np.isfinite(values[:, 1:-1]).all()


def test_the_planes_are_small():
    """The factors spread over longitude cost at most 1/8 of the chunk each (two of them:
    mx and cx), beyond the scratch slab: a 2-D (lat, lon) chunk, whose plane would be the
    whole chunk, keeps the lines as they are."""
    rng = np.random.default_rng(0)
    phi = np.radians(np.linspace(80, -80, 161))
    metric = LatLonMetric(make_earth("sphere"), 1, phi, (0.02, -0.02))
    for shape in [(8, 161, 360), (161, 360)]:
        axis = len(shape) - 2
        m = LatLonMetric(metric.earth, axis, phi, metric.radians)
        f = m.factors([phi], len(shape), np.dtype("float32"))
        a, b, u, v = (rng.random(shape, dtype=np.float32) for _ in range(4))
        tracemalloc.start()
        try:
            tensor_combination(("dv/dx", a), ("du/dy", b), np.subtract, u, v, f)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= a.nbytes / 4 + (1 << 18) + 4096, (shape, peak / a.nbytes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", [("t0", "lat", "lon"), ("t0", "lon", "lat"), ("lat", "lon")])
def test_equal_to_the_reference_stencils_on_the_new_path(dtype, order):
    """vort = ∂v/∂x − ∂u/∂y + u tan φ/R, div = ∂u/∂x + ∂v/∂y − v tan φ/R, each ∂ by the
    pure-Python reference stencils on the coordinates in radians (longitude wrapped), for
    latitude before longitude (the planes), after it (contiguous lines already) and 2-D."""
    lat, lon = np.arange(75, -75.1, -3.0), np.arange(0, 360, 4.0)
    u, v, phi = flow(lat, lon, lead=(8,) if len(order) == 3 else ())
    u, v = u.astype(dtype), v.astype(dtype)
    args = (2, 1, False, 2 * np.pi, np.radians(lat), np.radians(lon), "sphere", R)
    ux, uy, n = _partials(u.values.astype(np.float64), *args)
    vx, vy, _ = _partials(v.values.astype(np.float64), *args)
    tan = np.tan(phi) / n
    dims = u.dims
    refs = {
        "divergence": xr.DataArray(ux + vy - v.values * tan, dims=dims).transpose(*order),
        "vorticity": xr.DataArray(vx - uy + u.values * tan, dims=dims).transpose(*order),
    }
    chunks = {"t0": 8, "lat": 17, "lon": 45} if len(order) == 3 else {"lat": 17, "lon": 45}
    lazy = [a.transpose(*order).chunk(chunks) for a in (u, v)]
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for kind, ref in refs.items():
        with dask.config.set(scheduler="sync"):
            ours = getattr(daskgrad, kind)(*lazy, geospatial=True).values
        assert ours.dtype == dtype
        scale = float(np.abs(ref.values).max())
        np.testing.assert_allclose(ours, ref.values, rtol=0, atol=tol * scale)


def test_metpy_parity_on_time_lat_lon_chunks():
    """MetPy 1.7, float32, (time, lat, lon) chunks of 8 steps on a regional 0.25° grid (its
    first step): rtol 1e-4 of the field's scale away from the two outermost rows and columns."""
    mpcalc = pytest.importorskip("metpy.calc")
    lat, lon = np.arange(15, -15.1, -0.25), np.arange(-10, 10, 0.25)
    u, v, _ = flow(lat, lon, lead=(8,))
    crs = cf_with_wkt(grid_mapping_name="latitude_longitude", earth_radius=R)
    lazy = [a.astype(np.float32).chunk({"t0": 8, "lat": 61, "lon": 40}) for a in (u, v)]
    for kind in ("vorticity", "divergence"):
        with dask.config.set(scheduler="sync"):
            ours = getattr(daskgrad, kind)(*lazy, geospatial=True).values
        for t in (0,):
            um, vm = (
                a.isel(t0=t).assign_attrs(units="m/s").metpy.assign_crs(**crs) for a in (u, v)
            )
            ref = np.asarray(getattr(mpcalc, kind)(um, vm).metpy.dequantify().values)
            a, b = ours[t, 2:-2, 2:-2], ref[2:-2, 2:-2]
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max())
