"""The quantity flags of `daskgrad run` under attack (issue 20, "Command line"): two outputs of
one name refused naming both flags (identical repeated flags de-duplicated), a bad --vertical
worded with its flag, spaces in a flag's argument stripped the same way by every flag, and a
worker process that dies while the local cluster starts said as such. Small inputs: the runs
compute on this process's threads (no cluster) except the one that starts a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

sys.path.insert(0, str(Path(__file__).parent))

from conftest import cli  # noqa: E402

LEVELS = np.array([500.0, 700.0, 850.0])


def fields(dims, shape, seed=0):
    """u, v, u10, v10, t, theta, z (a geopotential), w and two oddly named variables (iv_u,
    dx: the plain gradient of iv_u along x is named as the divergence of u and dx)."""
    rng = np.random.default_rng(seed)

    def var(units, scale, offset=0.0):
        return (dims, offset + scale * rng.standard_normal(shape), {"units": units})

    return {
        "u": var("m s-1", 5.0, 10.0),
        "v": var("m s-1", 5.0),
        "u10": var("m s-1", 3.0, 5.0),
        "v10": var("m s-1", 3.0),
        "w": var("Pa s-1", 0.1),
        "t": var("K", 2.0, 280.0),
        "theta": var("K", 2.0, 300.0),
        "z": var("m2 s-2", 20.0, 55000.0),
        "iv_u": var("K", 1.0),
        "dx": var("m s-1", 1.0),
    }


@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    """Pressure levels on a small latitude/longitude grid (for --geospatial)."""
    lat, lon = np.arange(50.0, 29, -2.0), np.arange(0.0, 32, 2.0)
    dims = ("level", "latitude", "longitude")
    ds = xr.Dataset(
        fields(dims, (LEVELS.size, lat.size, lon.size)),
        coords={
            "level": ("level", LEVELS, {"units": "hPa"}),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )
    path = tmp_path_factory.mktemp("geo") / "in.zarr"
    ds.chunk({"level": 1}).to_zarr(path)
    return path


DX = 1e5


@pytest.fixture(scope="module")
def cart(tmp_path_factory):
    """One level on x/y in metres (for --dim x --dim y, where MetPy with dx, dy agrees)."""
    ny, nx = 12, 15
    ds = xr.Dataset(
        fields(("y", "x"), (ny, nx), seed=1),
        coords={
            "x": ("x", DX * np.arange(nx), {"units": "m"}),
            "y": ("y", DX * np.arange(ny), {"units": "m"}),
        },
    )
    path = tmp_path_factory.mktemp("cart") / "in.zarr"
    ds.chunk({"y": 6}).to_zarr(path)
    return path


def refused(run, out):
    """The run's one error line, after checking it exited 2 and wrote nothing."""
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1, run.stderr
    assert not out.exists()
    return lines[0]


COLLISIONS = {
    "advection": (
        ["--advection", "t:u,v", "--advection", "t:u10,v10"],
        ["--advection t:u,v", "--advection t:u10,v10", "adv_t"],
    ),
    "frontogenesis": (
        ["--frontogenesis", "theta:u,v", "--frontogenesis", "theta:u10,v10"],
        ["--frontogenesis theta:u,v", "--frontogenesis theta:u10,v10", "fgen_theta"],
    ),
    "ageostrophic": (
        ["--ageostrophic", "z:u,v", "--ageostrophic", "z:v,u"],
        ["--ageostrophic z:u,v", "--ageostrophic z:v,u"],
    ),
    "q_vector": (
        ["--q-vector", "t:u,v", "--q-vector", "t:v,u", "--vertical", "level"],
        ["--q-vector t:u,v", "--q-vector t:v,u"],
    ),
    "across_flags": (  # with W or without, among other flags: both write adv_t
        "--divergence u,v --vorticity u,v --laplacian t --advection t:u,v,w --vertical level "
        "--advection t:u10,v10".split(),
        ["--advection t:u,v,w", "--advection t:u10,v10", "adv_t"],
    ),
    "gradient": (  # d(iv_u)/dx is named div_u_dx, as the divergence of u and dx
        ["--var", "iv_u", "--divergence", "u,dx"],
        ["--var", "--divergence u,dx", "div_u_dx"],
    ),
}


@pytest.mark.parametrize("which", list(COLLISIONS))
def test_two_outputs_of_one_name_exit_2_naming_both_flags(which, geo, tmp_path):
    args, words = COLLISIONS[which]
    out = tmp_path / "out.zarr"
    line = refused(cli("run", geo, out, "--geospatial", *args), out)
    for word in words:
        assert word in line, line


def test_a_plain_gradient_of_the_name_of_a_quantity_is_refused(cart, tmp_path):
    out = tmp_path / "out.zarr"
    run = cli("run", cart, out, "--dim", "x", "--dim", "y", "--var", "iv_u", "--divergence", "u,dx")
    line = refused(run, out)
    assert "--var" in line and "--divergence u,dx" in line and "div_u_dx" in line, line


def metpy_values(path):
    """MetPy's advection of t, frontogenesis of theta and total deformation in u, v of the
    Cartesian input (dx, dy given: edge order 2, as --edge-order 2)."""
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    ds = xr.open_zarr(path).load()
    q = {n: units.Quantity(ds[n].values, ds[n].attrs["units"]) for n in ("u", "v", "t", "theta")}
    d = dict(dx=DX * units.m, dy=DX * units.m)
    return {
        "adv_t": mpcalc.advection(q["t"], q["u"], q["v"], **d).m_as("K/s"),
        "fgen_theta": mpcalc.frontogenesis(q["theta"], q["u"], q["v"], **d).m_as("K/m/s"),
        "total_def_u_v": mpcalc.total_deformation(q["u"], q["v"], **d).m_as("1/s"),
        "shear_def_u_v": mpcalc.shearing_deformation(q["u"], q["v"], **d).m_as("1/s"),
        "stretch_def_u_v": mpcalc.stretching_deformation(q["u"], q["v"], **d).m_as("1/s"),
        "div_u_v": mpcalc.divergence(q["u"], q["v"], **d).m_as("1/s"),
    }


def assert_metpy(out, ref, more=()):
    got = xr.open_zarr(out)
    assert sorted(got.data_vars) == sorted([*ref, *more])
    for name, values in ref.items():
        scale = float(np.max(np.abs(values)))
        np.testing.assert_allclose(got[name].values, values, rtol=0, atol=1e-10 * scale)


def test_identical_repeated_flags_write_one_output(cart, tmp_path):
    """The same flag and argument twice: one output, silently (not a clash)."""
    out = tmp_path / "out.zarr"
    run = cli(
        "run", cart, out, "--dim", "x", "--dim", "y", "--edge-order", "2",
        "--frontogenesis", "theta:u,v", "--frontogenesis", "theta:u,v",
        "--advection", "t:u,v", "--advection", "t: u ,v",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    ref = metpy_values(cart)
    assert_metpy(out, {n: ref[n] for n in ("adv_t", "fgen_theta")})


def test_spaces_around_names_are_stripped_by_every_flag(cart, tmp_path):
    out = tmp_path / "out.zarr"
    run = cli(
        "run", cart, out, "--dim", "x", "--dim", "y", "--edge-order", "2",
        "--advection", " t : u , v ", "--frontogenesis", "theta: u, v", "--deformation", "u, v",
        "--divergence", " u,v", "--laplacian", " t ",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert_metpy(out, metpy_values(cart), more=["lap_t"])


@pytest.mark.parametrize(
    "args",
    [
        ["--potential-vorticity", "theta:u,v", "--vertical", "nope"],
        ["--advection", "t:u,v,w", "--vertical", "nope"],
        ["--q-vector", "t:u,v", "--vertical", "nope"],
        ["--potential-vorticity", "theta:u,v", "--vertical", "latitude"],
        ["--advection", "t:u,v,w", "--vertical", "longitude"],
        ["--q-vector", "t:u,v", "--vertical", "latitude"],
    ],
)
def test_a_bad_vertical_is_worded_with_its_flag(args, geo, tmp_path):
    out = tmp_path / "out.zarr"
    line = refused(cli("run", geo, out, "--geospatial", *args), out)
    assert line.startswith("daskgrad: error: argument --vertical: "), line
    assert repr(args[-1]) in line, line
    assert "vertical_dim" not in line, line  # the API's keyword is not the command line's


def test_a_worker_dying_while_the_cluster_starts_is_said(tmp_path):
    """A worker process killed (SIGKILL, by a worker preload) as the local cluster starts:
    exit 1, one line saying the cluster could not start because a worker died; no OUTPUT."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    killer = tmp_path / "killer.py"
    killer.write_text("import os, signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n")
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    xr.Dataset({"t": (("y", "x"), np.ones((4, 5)))}).to_zarr(inp)
    with dask.config.set({"distributed.worker.preload": [str(killer)]}):
        run = cli("run", inp, out, "--dim", "x", "--workers", "1")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1, run.stderr
    assert len(lines) == 1, run.stderr
    assert "could not start" in lines[0] and "worker process died" in lines[0], lines[0]
    assert "computation failed" not in lines[0], lines[0]
    assert not out.exists()
