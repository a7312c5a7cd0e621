"""Baroclinic potential vorticity, Q-vectors and advection with w on grids of 2-D latitude and
longitude without a CRS (issue 20; WRF's XLAT/XLONG on an unknown projection, an ocean model's
curvilinear grid): the metrics come from the 2-D latitude/longitude, as for the horizontal
kinematics there. Oracles: MetPy given pyproj's parallel/meridional scales of the grid the
latitudes were made on (with the CRS dropped from the data), the winds turned by pyproj's
meridian convergence by hand; an analytic rest state and a solid-body rotation; laziness,
float32, the accessor, and the command line (one read per input chunk)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
mpcalc = pytest.importorskip("metpy.calc")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
from metpy.units import units as mu  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad import Grid  # noqa: E402
from daskgrad.errors import OptionError  # noqa: E402

from .conftest import cli as daskgrad_cli  # noqa: E402  (in this process: the process is not what is tested)
from .conftest import raise_if_dask_computes  # noqa: E402
from .test_kinematics_curvilinear import rotated_grid  # noqa: E402
from .test_projected_vertical import CASES, LEVELS, NX, NY, R, factors  # noqa: E402

G, OMEGA = 9.80665, 7.292115e-5
GEO = {"geospatial": True, "radius": R, "edge_order": 2}  # the sphere the grids are made on


def turned(u, v, gamma):
    """Grid-relative (u, v) eastward/northward by pyproj's meridian convergence γ (true north
    is (−sin γ, cos γ) in grid x/y)."""
    cos, sin = np.cos(gamma), np.sin(gamma)
    return cos * u + sin * v, -sin * u + cos * v


def fields(x, y, seed=0):
    """θ (K), u, v (m/s, grid-relative), T (K) and w (Pa/s) on (level, y, x): cubics in x, y
    varying nonlinearly with pressure. Smooth, unlike the projected tests' (which add noise at
    the grid scale): the 2-D metrics differentiate the wind's earth-centred components, MetPy
    the grid-relative ones, and on grid-scale noise two second-order forms differ by the
    noise's derivative times the frame's turn per step (here up to 5e-4 of the scale)."""
    rng = np.random.default_rng(seed)
    X, Y = np.meshgrid(x, y)
    a, b = (X - X.mean()) / 5e5, (Y - Y.mean()) / 5e5
    terms = [np.ones_like(a), a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3]

    def cubic():
        return sum(c * t for c, t in zip(rng.normal(size=10), terms, strict=True))

    p = LEVELS[:, None, None] / 1000
    theta = 300 + 30 * (1 - p) ** 2 + 4 * cubic() * p**2
    u = 10 * cubic() * p**1.5 + 5
    v = 10 * cubic() * (1.2 - p) ** 2
    t = theta * p**0.2857
    w = 0.2 * cubic() * np.sin(3 * p)
    return theta, u, v, t, w


def dataset(case, seed=0, dims=("p", "y", "x")):
    """The fields of the projected tests on the case's grid, given by 2-D latitude/longitude
    only (no grid_mapping, no projection x/y), the winds eastward/northward; with the
    grid-relative winds, pyproj's scales and the latitude for MetPy."""
    crs, x0, y0, step = CASES[case]
    x, y = x0 + step * np.arange(NX), y0 + step * np.arange(NY)
    k, h, gamma, lat = factors(crs, x, y)
    lon, _ = pyproj.Proj(crs)(*np.meshgrid(x, y), inverse=True)
    theta, u, v, t, w = fields(x, y, seed)
    east, north = turned(u, v, gamma)
    units = {"theta": "K", "u": "m s-1", "v": "m s-1", "t": "K", "w": "Pa s-1"}
    data = {"theta": theta, "u": east, "v": north, "t": t, "w": w}
    ds = xr.Dataset(
        {n: (("p", "y", "x"), a, {"units": units[n]}) for n, a in data.items()},
        coords={
            "p": ("p", LEVELS, {"units": "hPa"}),
            "lat": (("y", "x"), lat, {"units": "degrees_north"}),
            "lon": (("y", "x"), lon, {"units": "degrees_east"}),
        },
    ).transpose(*dims)
    metpy = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    return ds, (u, v), gamma, lat, metpy


def inner(a):
    """Away from the two outermost rows and columns (the last two axes are y, x)."""
    return np.asarray(getattr(a, "magnitude", a))[..., 2:-2, 2:-2]


def close_to_scale(ours, ref, rtol=1e-4):
    ref = inner(ref)
    np.testing.assert_allclose(inner(ours), ref, rtol=0, atol=rtol * np.max(np.abs(ref)))


@pytest.mark.parametrize("case", list(CASES))
def test_pv_q_vector_and_advection_with_w_match_metpy_given_pyproj_scales(case):
    ds, (u, v), gamma, lat, kw = dataset(case)
    assert Grid(ds).curvilinear and not Grid(ds).projected
    theta, t, w = (ds[n].values for n in ("theta", "t", "w"))
    p = LEVELS[:, None, None] * mu.hPa
    um, vm = u * mu("m/s"), v * mu("m/s")  # MetPy's convention: grid-relative

    ref = mpcalc.potential_vorticity_baroclinic(
        theta * mu.K, p, um, vm, latitude=np.radians(lat) * mu.radian, **kw
    )
    pv = daskgrad.potential_vorticity_baroclinic(ds.theta, "p", ds.u, ds.v, vertical_dim="p", **GEO)
    assert pv.name == "pv_theta" and pv.attrs["units"] == "K m2 kg-1 s-1"
    assert pv.attrs["earth"] == "sphere R=6371229 m"
    close_to_scale(pv.values, ref.to("K m**2 / (kg s)"))

    q1_ref, q2_ref = mpcalc.q_vector(um, vm, t * mu.K, p, **kw)
    q1_ref, q2_ref = (q.to("m**2 / (kg s)").magnitude for q in (q1_ref, q2_ref))
    q1, q2 = daskgrad.q_vector(ds.u, ds.v, ds.t, "p", **GEO)
    assert [q.name for q in (q1, q2)] == ["q1_t", "q2_t"]
    assert q1.attrs["long_name"].startswith("eastward component of the Q-vector")
    east, north = turned(q1_ref, q2_ref, gamma)  # MetPy's along grid x/y, turned
    close_to_scale(q1.values, east)
    close_to_scale(q2.values, north)

    dz = np.diff(LEVELS)[:, None, None] * mu.hPa
    ref = mpcalc.advection(theta * mu.K, um, vm, w * mu("Pa/s"), dz=dz, **kw)
    adv = daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **GEO)
    assert adv.name == "adv_theta" and adv.attrs["units"] == "K s-1"
    close_to_scale(adv.values, ref.to("K/s"))


@pytest.mark.parametrize("dims", [("p", "y", "x"), ("x", "p", "y")])
@pytest.mark.parametrize("lazy", [False, True])
def test_pv_of_a_rest_state_is_minus_g_f_dtheta_dp(dims, lazy):
    """u = v = 0 and θ(p) quadratic on uneven levels: PV = −g f ∂θ/∂p exactly, f = 2Ω sin φ
    from the 2-D latitude of each point."""
    ds, _, _, lat, _ = dataset("lcc", dims=dims)
    p = LEVELS * 100
    theta = 290 + 4e-4 * (1e5 - p) + 3e-9 * (1e5 - p) ** 2
    dtheta_dp = -4e-4 - 6e-9 * (1e5 - p)
    exact = -G * 2 * OMEGA * np.sin(np.radians(lat))[None] * dtheta_dp[:, None, None]
    rest = xr.zeros_like(ds.u)
    th = ds.theta.transpose("p", "y", "x")
    th = th.copy(data=np.broadcast_to(theta[:, None, None], th.shape)).transpose(*dims)
    if lazy:
        th, rest = th.chunk({"p": 3, "y": 8, "x": 9}), rest.chunk({"p": 3, "y": 8, "x": 9})
    for winds in (None, "earth"):
        with raise_if_dask_computes():
            pv = daskgrad.potential_vorticity_baroclinic(
                th, "p", rest, rest, vertical_dim="p", winds=winds, **GEO
            )
        assert isinstance(pv.data, da.Array) == lazy
        np.testing.assert_allclose(pv.transpose("p", "y", "x").values, exact, rtol=1e-9, atol=0)


def test_pv_of_solid_body_rotation_on_a_rotated_grid():
    """u = U cos φ, v = 0 (relative vorticity 2U sin φ / R) and θ(p), on a grid whose rows
    cross the parallels: PV = −g (2Ω sin φ + 2U sin φ / R) ∂θ/∂p to O(h²); advection with
    w of θ(p) is −w ∂θ/∂p (no horizontal gradient)."""
    lat2d, lon2d = rotated_grid(half=4.0)
    phi = np.radians(lat2d)
    U = 30.0
    p = LEVELS * 100
    theta = (300 + 5e-4 * (1e5 - p))[:, None, None] + 0 * phi
    shape = theta.shape
    ds = xr.Dataset(
        {
            "theta": (("p", "y", "x"), theta, {"units": "K"}),
            "u": (("p", "y", "x"), np.broadcast_to(U * np.cos(phi), shape), {"units": "m/s"}),
            "v": (("p", "y", "x"), np.zeros(shape), {"units": "m/s"}),
            "w": (("p", "y", "x"), np.full(shape, 0.3), {"units": "Pa/s"}),
        },
        coords={
            "p": ("p", p, {"units": "Pa"}),
            "lat": (("y", "x"), lat2d, {"units": "degrees_north"}),
            "lon": (("y", "x"), lon2d, {"units": "degrees_east"}),
        },
    )
    geo = {"geospatial": True, "edge_order": 2}  # the default sphere, R = 6371008.8 m
    pv = daskgrad.potential_vorticity_baroclinic(ds.theta, "p", ds.u, ds.v, vertical_dim="p", **geo)
    exact = G * 2 * (OMEGA + U / 6371008.8) * np.sin(phi) * 5e-4
    np.testing.assert_allclose(pv.values, np.broadcast_to(exact, shape), rtol=1e-4)
    adv = daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **geo)
    np.testing.assert_allclose(adv.values, 0.3 * 5e-4, rtol=1e-9)


def test_dask_is_lazy_keeps_float32_and_equals_numpy():
    ds = dataset("stere")[0].astype(np.float32)
    lazy = ds.chunk({"p": 3, "y": 8, "x": (7, 11)})
    kw = {"geospatial": True}

    def outputs(s):
        return (
            daskgrad.potential_vorticity_baroclinic(s.theta, "p", s.u, s.v, vertical_dim="p", **kw),
            *daskgrad.q_vector(s.u, s.v, s.t, "p", **kw),
            daskgrad.advection(s.theta, s.u, s.v, s.w, vertical_dim="p", **kw),
        )

    with raise_if_dask_computes():
        outs = outputs(lazy)
    eager = outputs(ds)
    with dask.config.set(scheduler="sync"):
        computed = [o.values for o in outs]
    for out, got, ref in zip(outs, computed, eager, strict=True):
        assert isinstance(out.data, da.Array) and out.chunks == lazy.u.chunks
        assert out.dtype == np.float32 and got.dtype == np.float32 and ref.dtype == np.float32
        scale = np.abs(ref.values).max()
        np.testing.assert_allclose(got, ref.values, rtol=0, atol=1e-5 * scale)


def test_q_vector_on_one_level_and_pressure_varying_by_column():
    """A Q-vector of one level (a number for p) and PV with a pressure field: the same as
    with the 1-D coordinate (MetPy's form, with the 2-D metrics)."""
    ds = dataset("lcc")[0]
    level = ds.isel(p=2)
    q1, q2 = daskgrad.q_vector(level.u, level.v, level.t, 85000.0, geospatial=True)
    r1, r2 = daskgrad.q_vector(ds.u, ds.v, ds.t, "p", geospatial=True)
    np.testing.assert_allclose(q1.values, r1.isel(p=2).values, rtol=1e-12)
    np.testing.assert_allclose(q2.values, r2.isel(p=2).values, rtol=1e-12)
    field = (ds.p * 100).broadcast_like(ds.u).assign_attrs(units="Pa")
    kw = {"vertical_dim": "p", "geospatial": True}
    pv = daskgrad.potential_vorticity_baroclinic(ds.theta, field, ds.u, ds.v, **kw)
    ref = daskgrad.potential_vorticity_baroclinic(ds.theta, "p", ds.u, ds.v, **kw)
    np.testing.assert_allclose(pv.values, ref.values, rtol=1e-12)


def test_accessor():
    ds = dataset("lcc")[0]
    kw = {"geospatial": True}
    pv = ds.grad.potential_vorticity_baroclinic("theta", None, "u", "v", vertical_dim="p", **kw)
    ref = daskgrad.potential_vorticity_baroclinic(ds.theta, "p", ds.u, ds.v, vertical_dim="p", **kw)
    np.testing.assert_array_equal(pv.values, ref.values)
    q1, _ = ds.grad.q_vector("u", "v", "t", "p", **kw)
    np.testing.assert_array_equal(q1.values, daskgrad.q_vector(ds.u, ds.v, ds.t, "p", **kw)[0])
    adv = ds.grad.advection("theta", "u", "v", w=ds.w, vertical_dim="p", **kw)
    ref = daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **kw)
    np.testing.assert_array_equal(adv.values, ref.values)


def test_winds_grid_is_refused_by_name_and_the_vertical_dim_must_not_be_horizontal():
    ds = dataset("lcc")[0]
    calls = (
        lambda **kw: daskgrad.potential_vorticity_baroclinic(
            ds.theta, "p", ds.u, ds.v, vertical_dim="p", geospatial=True, **kw
        ),
        lambda **kw: daskgrad.q_vector(ds.u, ds.v, ds.t, "p", geospatial=True, **kw),
        lambda **kw: daskgrad.advection(
            ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", geospatial=True, **kw
        ),
    )
    for call in calls:
        with pytest.raises(OptionError, match="winds='grid' needs the directions") as err:
            call(winds="grid")
        assert err.value.option == "winds" and "\n" not in str(err.value)
    flat = ds.isel(p=0).rename(y="p", x="level")  # no dim left for the vertical
    with pytest.raises(ValueError, match="vertical_dim='p' is also one of the horizontal"):
        daskgrad.advection(flat.theta, flat.u, flat.v, flat.w, vertical_dim="p", geospatial=True)


# --- the command line --------------------------------------------------------------------------

ARGV = [
    "--geospatial", "--potential-vorticity", "theta:u,v", "--q-vector", "t:u,v",
    "--advection", "theta:u,v,w", "--vertical", "p", "--var", "t",
]  # fmt: skip
CHUNKS = {"p": 3, "y": 8, "x": 9}


def api_outputs(ds):
    kw = {"geospatial": True}
    return [
        daskgrad.potential_vorticity_baroclinic(ds.theta, ds.p, ds.u, ds.v, vertical_dim="p", **kw),
        *daskgrad.q_vector(ds.u, ds.v, ds.t, ds.p, **kw),
        daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **kw),
    ]


def test_one_pass_reads_each_input_chunk_once(tmp_path):
    """The job of a run with the three flags on a store that counts its reads: every stored
    chunk of every input read exactly once; the outputs equal the API's."""
    from .counting_store import run_counting_reads

    path = tmp_path / "in.zarr"
    dataset("lcc")[0].chunk(CHUNKS).to_zarr(path)
    names = ("u/", "v/", "w/", "t/", "theta/")
    result, reads = run_counting_reads(path, ARGV, names)
    n_chunks = 5 * 2 * 2 * 2  # 5 inputs of (2, 2, 2) chunks
    assert len(reads) == n_chunks, sorted(reads)
    assert set(reads.values()) == {1}, collections.Counter(reads.values())
    for ref in api_outputs(xr.open_zarr(path).load()):
        np.testing.assert_allclose(
            result[ref.name].values, ref.values, rtol=1e-12, atol=1e-12 * abs(ref).max().item()
        )


def test_daskgrad_run_writes_them(tmp_path, dask_cluster):
    ds = dataset("stere")[0]
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk(CHUNKS).to_zarr(inp)
    r = daskgrad_cli(
        "run", inp, out, *ARGV, "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "latitude/longitude grid 'lat'/'lon' (2-D)" in r.stdout
    got = xr.open_zarr(out)
    for ref in api_outputs(ds):
        np.testing.assert_allclose(
            got[ref.name].values, ref.values, rtol=1e-12, atol=1e-12 * abs(ref).max().item()
        )
        assert got[ref.name].attrs["units"] == ref.attrs["units"]
    r = daskgrad_cli("run", inp, tmp_path / "o.zarr", *ARGV, "--winds", "grid")
    assert r.returncode == 2 and "--winds" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
