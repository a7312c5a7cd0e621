"""Baroclinic potential vorticity, Q-vectors and advection with w on projected grids (issues 20
and 21): MetPy given pyproj's parallel/meridional scales (and the latitude for f), an analytic
rest state, earth-relative winds turned by pyproj's meridian convergence by hand, laziness and
tasks per chunk, the accessor, and the command line (one read per input chunk)."""

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

from .conftest import cli as daskgrad_cli  # noqa: E402  (in this process: the process is not what is tested)
from .conftest import raise_if_dask_computes  # noqa: E402

R = 6371229.0
G, OMEGA, RD = 9.80665, 7.292115e-5, 8.314462618 / 28.96546e-3
LCC = f"+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R={R} +units=m"
STERE = f"+proj=stere +lat_0=90 +lat_ts=60 +lon_0=-105 +R={R} +units=m"
CASES = {
    # HRRR's projection at ~30 km, and a polar stereographic grid true at 60° N
    "lcc": (LCC, -1.5e6, -6e5, 30000.0),
    "stere": (STERE, -8e5, -2.5e6, 25000.0),
}
LEVELS = np.array([1000.0, 925.0, 850.0, 700.0, 600.0, 500.0])  # hPa, uneven
NY, NX = 16, 18


def factors(crs, x, y):
    """pyproj's parallel and meridional scales, convergence (radians) and latitude (degrees)
    at the points y × x."""
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)
    lon, lat = p(X, Y, inverse=True)
    f = p.get_factors(lon, lat)
    return f.parallel_scale, f.meridional_scale, np.radians(f.meridian_convergence), lat


def fields(x, y, seed=0):
    """θ (K), u, v (m/s, grid-relative), T (K) and w (Pa/s) on (level, y, x): cubics in x, y
    varying nonlinearly with pressure, and a little noise."""
    rng = np.random.default_rng(seed)
    X, Y = np.meshgrid(x, y)
    a, b = (X - X.mean()) / 5e5, (Y - Y.mean()) / 5e5
    terms = [np.ones_like(a), a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3]

    def cubic():
        return sum(c * t for c, t in zip(rng.normal(size=10), terms, strict=True))

    p = LEVELS[:, None, None] / 1000
    shape = (LEVELS.size, *X.shape)

    def noise(scale):
        return scale * rng.standard_normal(shape)

    theta = 300 + 30 * (1 - p) ** 2 + 4 * cubic() * p**2 + noise(0.05)
    u = 10 * cubic() * p**1.5 + 5 + noise(0.1)
    v = 10 * cubic() * (1.2 - p) ** 2 + noise(0.1)
    t = theta * p**0.2857
    w = 0.2 * cubic() * np.sin(3 * p) + noise(0.01)
    return theta, u, v, t, w


def dataset(case, seed=0, dims=("p", "y", "x"), mapping_as="coord"):
    """The fields on the case's grid, with CF's grid_mapping (a coordinate, or a data
    variable of the Dataset), on the dims in the order ``dims``."""
    crs, x0, y0, step = CASES[case]
    x, y = x0 + step * np.arange(NX), y0 + step * np.arange(NY)
    theta, u, v, t, w = fields(x, y, seed)
    units = {"theta": "K", "u": "m s-1", "v": "m s-1", "t": "K", "w": "Pa s-1"}
    data = {"theta": theta, "u": u, "v": v, "t": t, "w": w}
    ds = xr.Dataset(
        {
            n: (("p", "y", "x"), a, {"units": units[n], "grid_mapping": "crs"})
            for n, a in data.items()
        },
        coords={
            "p": ("p", LEVELS, {"units": "hPa"}),
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
    ).transpose(*dims)
    if mapping_as == "coord":
        return ds.assign_coords(crs=((), 0, pyproj.CRS(crs).to_cf()))
    return ds.assign(crs=((), 0, pyproj.CRS(crs).to_cf()))


def inner(a):
    """Away from the two outermost rows and columns (the last two axes are y, x)."""
    return np.asarray(getattr(a, "magnitude", a))[..., 2:-2, 2:-2]


def close_to_scale(ours, ref, rtol=1e-4):
    ref = inner(ref)
    np.testing.assert_allclose(inner(ours), ref, rtol=0, atol=rtol * np.max(np.abs(ref)))


GRID = {"geospatial": True, "winds": "grid", "edge_order": 2}


@pytest.mark.parametrize("case", list(CASES))
def test_pv_q_vector_and_advection_with_w_match_metpy_with_pyproj_scales(case):
    crs, _, _, step = CASES[case]
    ds = dataset(case)
    k, h, _, lat = factors(crs, ds.x.values, ds.y.values)
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    theta, u, v, t, w = (ds[n].values for n in ("theta", "u", "v", "t", "w"))
    p = LEVELS[:, None, None] * mu.hPa
    um, vm = u * mu("m/s"), v * mu("m/s")

    ref = mpcalc.potential_vorticity_baroclinic(
        theta * mu.K, p, um, vm, latitude=np.radians(lat) * mu.radian, **kw
    )
    pv = daskgrad.potential_vorticity_baroclinic(
        ds.theta, "p", ds.u, ds.v, vertical_dim="p", **GRID
    )
    assert pv.name == "pv_theta" and pv.attrs["units"] == "K m2 kg-1 s-1"
    assert pv.attrs["grid_mapping"] == "crs"
    close_to_scale(pv.values, ref.to("K m**2 / (kg s)"))

    refs = mpcalc.q_vector(um, vm, t * mu.K, p, **kw)
    qs = daskgrad.q_vector(ds.u, ds.v, ds.t, "p", **GRID)
    assert [q.name for q in qs] == ["q1_t", "q2_t"]
    assert qs[0].attrs["long_name"].startswith("grid-x component of the Q-vector")
    for q, r in zip(qs, refs, strict=True):
        close_to_scale(q.values, r.to("m**2 / (kg s)"))

    dz = np.diff(LEVELS)[:, None, None] * mu.hPa
    ref = mpcalc.advection(theta * mu.K, um, vm, w * mu("Pa/s"), dz=dz, **kw)
    adv = daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **GRID)
    assert adv.name == "adv_theta" and adv.attrs["units"] == "K s-1"
    close_to_scale(adv.values, ref.to("K/s"))


@pytest.mark.parametrize(
    "dims, source",
    [
        (("p", "y", "x"), "projection"),
        (("x", "p", "y"), "projection"),
        (("p", "y", "x"), "coordinate"),
        (("y", "p", "x"), "latitude="),
    ],
)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("lazy", [False, True])
def test_pv_of_a_rest_state_is_minus_g_f_dtheta_dp(case, dims, source, lazy):
    """u = v = 0 and θ(p) quadratic on uneven levels: PV = −g f ∂θ/∂p exactly (second-order
    differences with second-order edges are exact on a quadratic), f = 2Ω sin φ at each point
    of the projected grid: φ from pyproj's inverse, or the data's 2-D latitude coordinate,
    or (shifted by 2°, to tell it apart) the coordinate ``latitude=`` names."""
    crs, *_ = CASES[case]
    ds = dataset(case, dims=dims)
    _, _, _, lat = factors(crs, ds.x.values, ds.y.values)
    kw = {}
    if source == "coordinate":
        ds = ds.assign_coords(lat=(("y", "x"), lat, {"units": "degrees_north"}))
    elif source == "latitude=":
        lat = lat + 2.0
        ds = ds.assign_coords(phi=(("y", "x"), lat, {"units": "degrees_north"}))
        kw = {"latitude": "phi"}
    p = LEVELS * 100
    theta = 290 + 4e-4 * (1e5 - p) + 3e-9 * (1e5 - p) ** 2
    dtheta_dp = -4e-4 - 6e-9 * (1e5 - p)
    f = 2 * OMEGA * np.sin(np.radians(lat))
    exact = -G * f[None] * dtheta_dp[:, None, None]  # (p, y, x)
    rest = xr.zeros_like(ds.u)
    th = ds.theta.transpose("p", "y", "x")
    th = th.copy(data=np.broadcast_to(theta[:, None, None], th.shape)).transpose(*dims)
    if lazy:
        th, rest = th.chunk({"p": 3, "y": 8, "x": 9}), rest.chunk({"p": 3, "y": 8, "x": 9})
    for winds in ("grid", "earth"):
        with raise_if_dask_computes():
            pv = daskgrad.potential_vorticity_baroclinic(
                th, "p", rest, rest, vertical_dim="p", geospatial=True, winds=winds,
                edge_order=2, **kw,
            )  # fmt: skip
        assert isinstance(pv.data, da.Array) == lazy
        got = pv.transpose("p", "y", "x").values
        np.testing.assert_allclose(got, exact, rtol=1e-9, atol=0)


@pytest.mark.parametrize("case", list(CASES))
def test_earth_relative_winds_turned_by_pyproj_convergence(case):
    """The same wind given eastward/northward (turned from the grid's by hand with pyproj's
    meridian convergence γ: true north is (−sin γ, cos γ) in grid x/y) gives the same PV and
    advection, and the Q-vector turned eastward/northward the same way."""
    crs, *_ = CASES[case]
    ds = dataset(case)
    *_, gamma, _ = factors(crs, ds.x.values, ds.y.values)
    cos, sin = np.cos(gamma), np.sin(gamma)
    earth = ds.assign(
        u=ds.u.copy(data=cos * ds.u.values + sin * ds.v.values),
        v=ds.v.copy(data=-sin * ds.u.values + cos * ds.v.values),
    )
    scale = {}
    for name, s in (("grid", ds), ("earth", earth)):
        kw = {"geospatial": True, "winds": name}
        pv = daskgrad.potential_vorticity_baroclinic(s.theta, "p", s.u, s.v, vertical_dim="p", **kw)
        adv = daskgrad.advection(s.theta, s.u, s.v, s.w, vertical_dim="p", **kw)
        q1, q2 = daskgrad.q_vector(s.u, s.v, s.t, "p", **kw)
        scale[name] = (pv, adv, q1, q2)
    (pv, adv, q1, q2), (pv_e, adv_e, q1_e, q2_e) = scale["grid"], scale["earth"]

    def same(a, b):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.abs(b).max())

    same(pv_e.values, pv.values)
    same(adv_e.values, adv.values)
    same(q1_e.values, cos * q1.values + sin * q2.values)
    same(q2_e.values, -sin * q1.values + cos * q2.values)
    assert q1_e.attrs["long_name"].startswith("eastward component of the Q-vector")


def test_dask_is_lazy_one_task_per_chunk_and_factors_once_per_horizontal_chunk():
    ds = dataset("lcc").astype(np.float32)
    chunks = {"p": 3, "y": 8, "x": (7, 11)}
    lazy = ds.chunk(chunks)
    grid = Grid(ds)
    kw = {"geospatial": True, "grid": grid}
    with raise_if_dask_computes():
        outs = {
            winds: (
                daskgrad.potential_vorticity_baroclinic(
                    lazy.theta, "p", lazy.u, lazy.v, vertical_dim="p", winds=winds, **kw
                ),
                *daskgrad.q_vector(lazy.u, lazy.v, lazy.t, "p", winds=winds, **kw),
                daskgrad.advection(
                    lazy.theta, lazy.u, lazy.v, lazy.w, vertical_dim="p", winds=winds, **kw
                ),
            )
            for winds in ("grid", "earth")
        }
    kernels = {"potential_vorticity": 1, "q_vector": 1, "advection": 1}
    for out in outs["grid"]:
        assert isinstance(out.data, da.Array) and out.chunks == lazy.u.chunks
        assert out.dtype == np.float32
        graph = dict(out.data.__dask_graph__())
        names = collections.Counter(
            k[0].rsplit("-", 1)[0] for k in graph if isinstance(k, tuple) and "-" in k[0]
        )
        # every derivative of a chunk (horizontal and vertical) in one kernel task
        (kernel,) = [n for n in names if n in kernels]
        assert names[kernel] == out.data.npartitions, names
    with dask.config.set(scheduler="sync"):
        computed = {w: [o.values for o in outs[w]] for w in outs}
    # 2 × 2 horizontal chunks (× 2 vertical chunks, × 4 outputs, × 2 frames): each once
    assert grid.projection.evaluations == 4
    eager = (
        daskgrad.potential_vorticity_baroclinic(
            ds.theta, "p", ds.u, ds.v, vertical_dim="p", winds="grid", **kw
        ),
        *daskgrad.q_vector(ds.u, ds.v, ds.t, "p", winds="grid", **kw),
        daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", winds="grid", **kw),
    )
    for got, ref in zip(computed["grid"], eager, strict=True):
        assert ref.dtype == np.float32
        np.testing.assert_allclose(got, ref.values, rtol=0, atol=1e-5 * np.abs(ref.values).max())


def test_accessor_builds_the_grid_from_the_whole_dataset():
    """The grid_mapping a data variable of the Dataset (not a coordinate of its variables)."""
    ds = dataset("stere", mapping_as="variable")
    assert "crs" not in ds.u.coords
    kw = {"geospatial": True, "winds": "grid"}
    grid = Grid(ds)
    pv = ds.grad.potential_vorticity_baroclinic("theta", None, "u", "v", vertical_dim="p", **kw)
    ref = daskgrad.potential_vorticity_baroclinic(
        ds.theta, "p", ds.u, ds.v, vertical_dim="p", grid=grid, **kw
    )
    np.testing.assert_array_equal(pv.values, ref.values)
    q1, _ = ds.grad.q_vector("u", "v", "t", "p", **kw)
    np.testing.assert_array_equal(
        q1.values, daskgrad.q_vector(ds.u, ds.v, ds.t, "p", grid=grid, **kw)[0].values
    )
    adv = ds.grad.advection("theta", "u", "v", w=ds.w, vertical_dim="p", **kw)
    np.testing.assert_array_equal(
        adv.values,
        daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", grid=grid, **kw).values,
    )


def test_winds_is_required_on_a_projected_grid():
    ds = dataset("lcc")
    calls = {
        "potential_vorticity_baroclinic": lambda: daskgrad.potential_vorticity_baroclinic(
            ds.theta, "p", ds.u, ds.v, vertical_dim="p", geospatial=True
        ),
        "q_vector": lambda: daskgrad.q_vector(ds.u, ds.v, ds.t, "p", geospatial=True),
        "advection": lambda: daskgrad.advection(
            ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", geospatial=True
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"{name} on a projected grid .* needs winds") as e:
            call()
        assert e.value.option == "winds"
        assert len(str(e.value).splitlines()) == 1


# --- the command line --------------------------------------------------------------------------

ARGV = [
    "--geospatial", "--potential-vorticity", "theta:u,v", "--q-vector", "t:u,v",
    "--advection", "theta:u,v,w", "--vertical", "p", "--var", "t",
]  # fmt: skip
CHUNKS = {"p": 3, "y": 8, "x": 9}


def api_outputs(ds, winds):
    kw = {"geospatial": True, "winds": winds, "grid": Grid(ds)}
    return [
        daskgrad.potential_vorticity_baroclinic(ds.theta, ds.p, ds.u, ds.v, vertical_dim="p", **kw),
        *daskgrad.q_vector(ds.u, ds.v, ds.t, ds.p, **kw),
        daskgrad.advection(ds.theta, ds.u, ds.v, ds.w, vertical_dim="p", **kw),
    ]


@pytest.mark.parametrize("winds", ["grid", "earth"])
def test_one_pass_reads_each_input_chunk_once(tmp_path, winds):
    """The job of a run with the three flags on a store that counts its reads: every stored
    chunk of every input read exactly once; the outputs equal the API's."""
    from .counting_store import run_counting_reads

    path = tmp_path / "in.zarr"
    dataset("lcc", mapping_as="variable").chunk(CHUNKS).to_zarr(path)
    names = ("u/", "v/", "w/", "t/", "theta/")
    result, reads = run_counting_reads(path, [*ARGV, "--winds", winds], names)
    n_chunks = 5 * 2 * 2 * 2  # 5 inputs of (2, 2, 2) chunks
    assert len(reads) == n_chunks, sorted(reads)
    assert set(reads.values()) == {1}, collections.Counter(reads.values())
    for ref in api_outputs(xr.open_zarr(path).load(), winds):
        np.testing.assert_allclose(
            result[ref.name].values, ref.values, rtol=1e-12, atol=1e-12 * abs(ref).max().item()
        )


def test_daskgrad_run_writes_them_with_winds_earth(tmp_path, dask_cluster):
    ds = dataset("stere", mapping_as="variable")
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk(CHUNKS).to_zarr(inp)
    r = daskgrad_cli(
        "run", inp, out, *ARGV, "--winds", "earth", "--scheduler-file", dask_cluster,
        "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "projected grid 'x'/'y' (Polar Stereographic" in r.stdout
    got = xr.open_zarr(out)
    for ref in api_outputs(ds, "earth"):
        np.testing.assert_allclose(
            got[ref.name].values, ref.values, rtol=1e-12, atol=1e-12 * abs(ref).max().item()
        )
        assert got[ref.name].attrs["units"] == ref.attrs["units"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--potential-vorticity", "theta:u,v"],
        ["--q-vector", "t:u,v"],
        ["--advection", "theta:u,v,w"],
    ],
)
def test_without_winds_exit_2_naming_the_flag(tmp_path, flags):
    inp = tmp_path / "in.zarr"
    dataset("lcc", mapping_as="variable").to_zarr(inp)
    r = daskgrad_cli("run", inp, tmp_path / "o.zarr", "--geospatial", *flags, "--vertical", "p")
    assert r.returncode == 2, r.stderr
    assert "needs --winds: 'grid'" in r.stderr and flags[0] in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
