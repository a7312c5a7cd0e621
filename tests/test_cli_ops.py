"""`daskgrad run --geospatial` and the operators: outputs equal the Python API's on the same
data, in one run with plain gradients, on a real cluster; bad requests exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import cli

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    """The session's external cluster (tests/conftest.py): its scheduler file."""
    return dask_cluster


def winds(seed=0):
    """u, v, T on a global 3° grid with a NaN island in T; lat/lon with CF units."""
    rng = np.random.default_rng(seed)
    lat, lon = np.arange(-81.0, 82, 3.0), np.arange(0.0, 360, 3.0)
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    shape = (3, lat.size, lon.size)
    noise = rng.standard_normal(shape)
    t = 280 + 20 * np.cos(phi) * np.sin(lam) + noise
    t[:, 20:25, 30:40] = np.nan
    return xr.Dataset(
        {
            "u": (("time", "lat", "lon"), 10 * np.cos(phi) + noise, {"units": "m s-1"}),
            "v": (("time", "lat", "lon"), np.sin(lam) * np.cos(phi) + noise, {"units": "m s-1"}),
            "T": (("time", "lat", "lon"), t, {"units": "K"}),
        },
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )


def test_geospatial_operators_and_gradients_in_one_run(cluster, tmp_path):
    import daskgrad as dg

    ds = winds()
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 1, "lat": 19, "lon": 40}).to_zarr(inp)
    r = cli(
        "run", inp, out, "--geospatial", "--var", "T", "--vorticity", "u,v",
        "--divergence", "u,v", "--laplacian", "T", "--accuracy", "4", "--nan-policy", "omit",
        "--scheduler-file", cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "5 arrays (accuracy 4, nan-policy omit)" in r.stdout
    got = xr.open_zarr(out)
    src = xr.open_zarr(inp)
    opts = dict(geospatial=True, accuracy=4, nan_policy="omit")
    refs = [
        dg.vorticity(src.u, src.v, **opts),
        dg.divergence(src.u, src.v, **opts),
        dg.laplacian(src.T, **opts),
        *dg.geospatial_gradient(src.T, accuracy=4, nan_policy="omit"),
    ]
    assert sorted(got.data_vars) == sorted(r.name for r in refs)
    for ref in refs:
        np.testing.assert_array_equal(got[ref.name].values, ref.values)
        assert got[ref.name].attrs["units"] == ref.attrs["units"]
    assert got.vort_u_v.attrs["units"] == "s-1" and got.lap_T.attrs["units"] == "K m-2"
    assert np.isnan(got.lap_T.values[:, 22, 35]).all()  # the island
    assert np.isfinite(got.lap_T.values[:, 22, 20]).all()  # the sea next to it


def test_cartesian_operators_with_plain_gradients(cluster, tmp_path):
    import daskgrad as dg

    ds = winds(1).rename(lat="y", lon="x")
    ds = ds.assign_coords(
        x=("x", np.cumsum(np.linspace(1.0, 2.0, ds.x.size)), {"units": "km"}),
        y=("y", 50.0 * np.arange(ds.y.size), {"units": "km"}),
    )
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 2, "y": 10, "x": 33}).to_zarr(inp)
    r = cli(
        "run", inp, out, "--dim", "x", "--dim", "y", "--var", "u", "--divergence", "u,v",
        "--laplacian", "v", "--scheduler-file", cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = xr.open_zarr(out)
    src = xr.open_zarr(inp)
    assert sorted(got.data_vars) == ["div_u_v", "du_dx", "du_dy", "lap_v"]
    np.testing.assert_array_equal(got.div_u_v, dg.divergence(src.u, src.v, dims=["x", "y"]))
    np.testing.assert_array_equal(got.lap_v, dg.laplacian(src.v, dims=["x", "y"]))
    np.testing.assert_array_equal(got.du_dx, dg.gradient(src.u, dim="x")[0])
    assert got.div_u_v.attrs["units"] == "m s-1 km-1" and got.lap_v.attrs["units"] == "m s-1 km-2"


def test_per_degree_operators_warn_in_one_daskgrad_line(cluster, tmp_path):
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    winds().chunk({"time": 1}).to_zarr(inp)
    r = cli(
        "run", inp, out, "--vorticity", "u,v", "--divergence", "u,v", "--dim", "lon",
        "--dim", "lat", "--scheduler-file", cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "warning" in ln.lower()]
    assert lines == [
        "daskgrad: warning: coordinates in degrees (lon: 'degrees_east', lat: 'degrees_north'): "
        "the result is per degree; --geospatial differentiates per metre on the sphere"
    ], r.stdout + r.stderr
    assert "UserWarning" not in r.stderr and ".py:" not in r.stderr, r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--geospatial", "--dim", "lat"], "--dim does not go with --geospatial"),
        ([], "--dim (or --geospatial)"),
        (["--dim", "lon", "--vorticity", "u"], "two variable names"),
        (["--dim", "lon", "--dim", "lat", "--vorticity", "u,w"], "unknown variable 'w'"),
        (["--dim", "lon", "--divergence", "u,v"], "needs --dim (x, y), two dim names"),
        (["--geospatial", "--periodic", "lon"], "--periodic does not go with --geospatial"),
        (["--geospatial", "--earth", "mars"], "invalid choice"),
    ],
)
def test_bad_requests_exit_2_before_computing(tmp_path, args, message):
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    winds().isel(time=0).to_zarr(inp)
    r = cli("run", inp, out, *args, "--workers", "1", "--no-progress")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists() and "cluster" not in r.stdout


def test_curvilinear_laplacian_is_refused_in_one_line(tmp_path):
    ds = winds().isel(time=0).rename(lat="y", lon="x")
    lat2, lon2 = np.meshgrid(ds.y.values, ds.x.values, indexing="ij")
    ds = ds.drop_vars(["y", "x"]).assign_coords(
        lat=(("y", "x"), lat2, {"units": "degrees_north"}),
        lon=(("y", "x"), lon2, {"units": "degrees_east"}),
    )
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.to_zarr(inp)
    r = cli("run", inp, out, "--geospatial", "--laplacian", "T", "--workers", "1")
    assert r.returncode == 2 and "1-D latitude and longitude" in r.stderr, r.stderr
    assert "--laplacian with --geospatial needs" in r.stderr and "(geospatial=" not in r.stderr
    assert not out.exists()


def test_geospatial_options_without_geospatial_and_missing_coordinates(tmp_path):
    """--earth/--latitude only with --geospatial; a grid whose coordinates are not found names
    the command line's option, not the Python keyword."""
    ds = winds().isel(time=0)
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.to_zarr(inp)
    r = cli("run", inp, out, "--dim", "lon", "--earth", "wgs84", "--workers", "1")
    assert r.returncode == 2 and "--earth applies to --geospatial only" in r.stderr, r.stderr
    bare = tmp_path / "bare.zarr"
    ds.rename(lat="y", lon="x").drop_vars(["y", "x"]).to_zarr(bare)
    r = cli("run", bare, out, "--geospatial", "--workers", "1")
    assert r.returncode == 2 and "pass --latitude NAME" in r.stderr, r.stderr
    assert "ValueError" not in r.stderr and not out.exists()


def test_failing_chunk_named_by_its_variable_after_rechunks():
    """The variable, not 'v-<token>', when the input was rechunked on its way to an operator."""
    from daskgrad.io.writer import describe_key

    token = "47a8919692ad3bfe97459d5b05d57fae"
    for name in (f"open_dataset-v-{token}", f"open_dataset-v-{token}-{token[::-1]}"):
        assert describe_key((name, 3, 1, 2)) == "reading input variable 'v', chunk (3, 1, 2)"
    assert (
        describe_key((f"open_dataset-u-10-{token}", 0))
        == "reading input variable 'u-10', chunk (0,)"
    )
    read = f"read-u+v-{token}"  # several inputs read in one task
    assert describe_key((read, 0, 1)) == "reading input variables 'u' and 'v', chunk (0, 1)"
    # a one-chunk graph fused by dask into its finalizing task: no made-up variable names
    fused = f"read-store-map-vorticity-finalize-hlgfinalizecompute-{token}"
    assert describe_key(fused) == describe_key(f"finalize-hlgfinalizecompute-{token}")
    assert describe_key(fused) == "computing and writing the output"


@pytest.mark.parametrize("bad", ["False", 1, None])
def test_geospatial_must_be_a_bool(bad):
    import daskgrad as dg

    with pytest.raises(TypeError, match="geospatial must be True or False"):
        dg.vorticity(np.ones((4, 4)), np.ones((4, 4)), geospatial=bad)
