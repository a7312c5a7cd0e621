"""Derivatives along a pressure (or height) field that varies by column (issue 20, DESIGN's
clarification "a field broadcastable to the data"): at every point the stencil of the levels
with the weights of that column's own coordinates, as MetPy's ``first_derivative(f, x=field)``
and numpy.gradient per column, not the chain rule over the level index. Oracles: MetPy 1.7,
numpy.gradient per column, and np.polyfit through each point's stencil nodes (accuracy 4)."""

from __future__ import annotations

import dask.array as da
import metpy.calc as mpcalc
import numpy as np
import pytest
import xarray as xr
from metpy.constants import earth_avg_radius
from metpy.units import units

import daskgrad
from daskgrad.core.field_stencil import field_derivative
from daskgrad.core.kinematics_vertical import advection_arrays

R = float(earth_avg_radius.m_as("m"))
SHAPE = (7, 9, 11)
SIGMA = np.array([1.0, 0.93, 0.85, 0.7, 0.5, 0.3, 0.2])  # uneven


def pressure_field(kind, order, shape=SHAPE, seed=0):
    """Pa, varying by column: surface-following (p_s(y, x) σ_k) or random uneven levels
    between 1000 and 200 hPa per column; levels descending or ascending along axis 0."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    if kind == "sigma":
        y, x = np.mgrid[0:ny, 0:nx]
        ps = 1e5 * (1 + 0.04 * np.sin(x / 3) * np.cos(y / 4)) + rng.uniform(-500, 500, (ny, nx))
        p = (
            ps
            * np.interp(np.linspace(0, 1, nz), np.linspace(0, 1, SIGMA.size), SIGMA)[:, None, None]
        )
    else:
        # per column, uneven gaps (0.3 to 1 of each other) from 1000 down to 200 hPa
        gaps = np.cumsum(rng.uniform(0.3, 1.0, (nz - 1, ny, nx)), axis=0)
        top = 1000 - 800 * gaps / gaps[-1]
        p = np.concatenate([np.full((1, ny, nx), 1000.0), top]) * 100
    return p if order == "descending" else p[::-1].copy()


def noisy(p, seed=1):
    rng = np.random.default_rng(seed)
    theta = 300 - 5e-4 * p + rng.standard_normal(p.shape)
    u, v = (10 * rng.standard_normal(p.shape) for _ in range(2))
    return theta, u, v


def close_to_scale(ours, ref, rtol):
    ref = np.asarray(getattr(ref, "magnitude", ref))
    np.testing.assert_allclose(np.asarray(ours), ref, rtol=0, atol=rtol * np.abs(ref).max())


def per_column(f, x, edge_order):
    """numpy.gradient along axis 0 of every column with that column's coordinates."""
    out = np.empty(f.shape)
    for j, k in np.ndindex(*f.shape[1:]):
        out[:, j, k] = np.gradient(f[:, j, k], x[:, j, k], edge_order=edge_order)
    return out


@pytest.mark.parametrize("order", ["descending", "ascending"])
@pytest.mark.parametrize("kind", ["sigma", "random"])
def test_first_derivative_matches_metpy_and_numpy_per_column(kind, order):
    p = pressure_field(kind, order)
    theta, _, _ = noisy(p)
    ref = mpcalc.first_derivative(theta, x=p, axis=0)
    close_to_scale(field_derivative(theta, p, 0, edge_order=2), ref, 1e-12)
    for edge in (1, 2):
        ours = field_derivative(theta, p, 0, edge_order=edge)
        close_to_scale(ours, per_column(theta, p, edge), 1e-12)


CHUNKS = [None, 1, 2, (3, 4), (2, 3, 2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("chunks", CHUNKS, ids=lambda c: f"levels-{c}")
@pytest.mark.parametrize("order", ["descending", "ascending"])
@pytest.mark.parametrize("kind", ["sigma", "random"])
def test_pv_with_a_pressure_field_matches_metpy_cartesian(kind, order, chunks, dtype):
    p = pressure_field(kind, order, seed=2)
    theta, u, v = noisy(p, seed=3)
    lat = np.radians(np.linspace(20, 50, SHAPE[1]))[:, None] + 0 * np.arange(SHAPE[2])
    dx, dy = 25e3, 30e3
    # MetPy on the values daskgrad gets (float32 rounded), in float64
    t, uu, vv, pp = (np.asarray(a.astype(dtype), np.float64) for a in (theta, u, v, p))
    ref = mpcalc.potential_vorticity_baroclinic(
        t * units.K, pp * units.Pa, uu * units("m/s"), vv * units("m/s"),
        dx=dx * units.m, dy=dy * units.m, latitude=lat * units.radian,
    )  # fmt: skip
    args = [a.astype(dtype) for a in (theta, p, u, v)]
    if chunks is not None:
        args = [da.from_array(a, chunks=(chunks, 4, 6)) for a in args]
    pv = daskgrad.potential_vorticity_baroclinic(
        *args, spacing=[dx, dy], latitude=lat, edge_order=2
    )
    if chunks is not None:
        assert isinstance(pv, da.Array)
        assert pv.chunks == args[0].chunks
        pv = pv.compute(scheduler="sync")
    assert pv.dtype == dtype
    close_to_scale(pv, ref, 1e-10 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("chunks", [None, 1, 2, (4, 3)], ids=lambda c: f"levels-{c}")
@pytest.mark.parametrize("order", ["descending", "ascending"])
def test_advection_with_w_along_a_height_field(order, chunks, edge_order):
    """−(u ∂s/∂x + v ∂s/∂y + w ∂s/∂z), z a height field varying by column: numpy.gradient."""
    rng = np.random.default_rng(4)
    z = np.cumsum(rng.uniform(100, 900, SHAPE), axis=0)  # m, uneven, its own in every column
    z = z if order == "ascending" else z[::-1].copy()
    s, u, v, w = (rng.standard_normal(SHAPE) for _ in range(4))
    dx, dy = 25e3, 30e3
    ref = -(
        u * np.gradient(s, dx, axis=2, edge_order=edge_order)
        + v * np.gradient(s, dy, axis=1, edge_order=edge_order)
        + w * per_column(s, z, edge_order)
    )
    args = [s, u, v, w, z]
    if chunks is not None:
        args = [da.from_array(a, chunks=(chunks, 5, 6)) for a in args]
    (adv,) = advection_arrays(
        *args[:4], (2, 1), 0, vertical=args[4], spacing=(dx, dy), edge_order=edge_order
    )
    close_to_scale(np.asarray(adv), ref, 1e-10)


def polyfit_oracle(f, x, accuracy):
    """Per column and point: the derivative at the point of the polynomial through the
    ``accuracy + 1`` levels nearest it (centred inside, the end's at the ends)."""
    n, m = f.shape[0], accuracy + 1
    out = np.empty(f.shape)
    for j, k in np.ndindex(*f.shape[1:]):
        for i in range(n):
            s = min(max(i - accuracy // 2, 0), n - m)
            xs, x0 = x[s : s + m, j, k], x[i, j, k]
            scale = np.ptp(xs)
            coef = np.polyfit((xs - x0) / scale, f[s : s + m, j, k], m - 1)
            out[i, j, k] = coef[-2] / scale  # the linear coefficient at x0
    return out


@pytest.mark.parametrize("chunks", [None, 2, (3, 4)], ids=lambda c: f"levels-{c}")
@pytest.mark.parametrize("kind", ["sigma", "random"])
def test_accuracy_4_along_a_pressure_field(kind, chunks):
    p = pressure_field(kind, "descending", seed=5)
    theta, _, w = noisy(p, seed=6)
    ref = -w * polyfit_oracle(theta, p, 4)
    s, ww, pp = theta, w, p
    if chunks is not None:
        s, ww, pp = (da.from_array(a, chunks=(chunks, 5, 6)) for a in (s, ww, pp))
    (adv,) = advection_arrays(s, None, None, ww, (2, 1), 0, vertical=pp, accuracy=4)
    close_to_scale(np.asarray(adv), ref, 1e-9)


def test_dask_pressure_field_one_task_per_chunk_and_lazy():
    p = pressure_field("sigma", "descending")
    theta, u, v = (da.from_array(a, chunks=(2, 5, 6)) for a in noisy(p))
    pv = daskgrad.potential_vorticity_baroclinic(
        theta, da.from_array(p, chunks=(2, 5, 6)), u, v, spacing=[1e4, 1e4], latitude=0.7
    )
    graph = dict(pv.__dask_graph__())
    assert len([k for k in graph if isinstance(k, tuple) and k[0] == pv.name]) == pv.npartitions


LAT = np.arange(30.0, 60.01, 0.25)
LON = np.arange(0.0, 10.0, 0.25)
LEVELS = np.array([850.0, 700.0, 500.0, 300.0])  # hPa, uneven


@pytest.mark.parametrize("dask", [False, True])
@pytest.mark.parametrize("varying", [False, True], ids=["same-columns", "by-column"])
def test_pv_geospatial_with_a_pressure_field_matches_metpy(varying, dask):
    """The new user's case: P = level × ones (dask), or a field varying by longitude."""
    P, PHI, LAM = np.meshgrid(LEVELS, np.radians(LAT), np.radians(LON), indexing="ij")
    rng = np.random.default_rng(7)
    theta = 300 - 0.05 * (P - 1000) + 5 * np.cos(PHI) ** 2 * np.sin(3 * LAM)
    theta += 0.5 * rng.standard_normal(P.shape)
    u = 10 * np.cos(PHI) * (1 + P / 1000) + rng.standard_normal(P.shape)
    v = 5 * np.sin(2 * PHI) * np.cos(2 * LAM) + rng.standard_normal(P.shape)
    coords = {
        "level": ("level", LEVELS, {"units": "hPa"}),
        "lat": ("lat", LAT, {"units": "degrees_north"}),
        "lon": ("lon", LON, {"units": "degrees_east"}),
    }
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=R)

    def arr(a, un):
        out = xr.DataArray(a, dims=("level", "lat", "lon"), coords=coords, attrs={"units": un})
        return out.metpy.assign_crs(**crs)

    th, uu, vv = arr(theta, "K"), arr(u, "m/s"), arr(v, "m/s")
    field = P * (1 + 0.03 * np.sin(LAM) * (P / 1000)) if varying else P
    pf = arr(field, "hPa")
    ref = mpcalc.potential_vorticity_baroclinic(th, pf, uu, vv)
    if dask:
        th, uu, vv, pf = (a.chunk({"level": 1, "lat": 40}) for a in (th, uu, vv, pf))
    pv = daskgrad.potential_vorticity_baroclinic(
        th, pf, uu, vv, vertical_dim="level", geospatial=True, edge_order=2, radius=R
    )
    inside = (slice(None), slice(None), slice(2, -2))
    close_to_scale(pv.values[inside], ref.metpy.dequantify().values[inside], 1e-4)


def run_oracle(s, z, hole):
    """nan_policy="omit" in one column with NaN at ``hole``: each run differentiated alone,
    numpy.gradient's edge_order 1 at the array's true ends, second order at the hole."""
    out = np.full(s.shape, np.nan)
    for a, b in ((0, hole), (hole + 1, s.size)):
        first = np.gradient(s[a:b], z[a:b], edge_order=1)
        second = np.gradient(s[a:b], z[a:b], edge_order=2)
        out[a:b] = first
        if a > 0:
            out[a] = second[0]
        if b < s.size:
            out[b - 1] = second[-1]
    return out


@pytest.mark.parametrize("chunks", [None, 2, (3, 4)], ids=lambda c: f"levels-{c}")
def test_nan_omit_along_a_height_field(chunks):
    rng = np.random.default_rng(8)
    z = np.cumsum(rng.uniform(100, 900, SHAPE), axis=0)
    s, w = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    s[3, 2, 4] = np.nan  # a hole in one column: runs of 3 levels either side
    ref = np.empty(SHAPE)
    for j, k in np.ndindex(*SHAPE[1:]):
        col = s[:, j, k]
        ref[:, j, k] = (
            run_oracle(col, z[:, j, k], 3)
            if np.isnan(col).any()
            else np.gradient(col, z[:, j, k], edge_order=1)
        )
    args = [s, w, z]
    if chunks is not None:
        args = [da.from_array(a, chunks=(chunks, 5, 6)) for a in args]
    (adv,) = advection_arrays(
        args[0], None, None, args[1], (2, 1), 0, vertical=args[2], nan_policy="omit"
    )
    adv = np.asarray(adv)
    assert np.isnan(adv[3, 2, 4]) and np.isnan(adv).sum() == 1
    ok = ~np.isnan(ref)
    close_to_scale(adv[ok], -w[ok] * ref[ok], 1e-12)
