"""`daskgrad run --geospatial` on a projected grid (issue 21): --winds, --crs, the grid in the
summary line; outputs equal the Python API's on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import cli as daskgrad  # in this process: the process is not what is tested

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LCC = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229 +units=m"


def lcc_dataset(mapping=True):
    rng = np.random.default_rng(0)
    x = -1.5e6 + 30000.0 * np.arange(24)
    y = -6e5 + 30000.0 * np.arange(20)
    shape = (2, y.size, x.size)
    attrs = {"units": "m s-1", "grid_mapping": "lcc"} if mapping else {"units": "m s-1"}
    ds = xr.Dataset(
        {
            "u": (("time", "y", "x"), rng.standard_normal(shape), attrs),
            "v": (("time", "y", "x"), rng.standard_normal(shape), attrs),
        },
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
    )
    if mapping:
        ds["lcc"] = ((), 0, pyproj.CRS(LCC).to_cf())
    return ds


def test_projected_vorticity_from_the_command_line(tmp_path, dask_cluster):
    import daskgrad as dg

    ds = lcc_dataset()
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 1, "y": 10, "x": 12}).to_zarr(inp)
    r = daskgrad(
        "run", inp, out, "--geospatial", "--vorticity", "u,v", "--winds", "grid", "--var", "u",
        "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "projected grid 'x'/'y' (Lambert Conic Conformal" in r.stdout
    assert "sphere R=6371229 m (from grid_mapping 'lcc')" in r.stdout
    got = xr.open_zarr(out)
    grid = dg.Grid(ds)
    ref = dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=grid)
    np.testing.assert_allclose(got["vort_u_v"].values, ref.values, rtol=1e-12, atol=1e-18)
    dx, _ = dg.geospatial_gradient(ds.u, grid=grid)
    np.testing.assert_allclose(got["du_dx"].values, dx.values, rtol=1e-12, atol=1e-18)


def test_without_winds_exit_2_naming_the_flag(tmp_path):
    inp = tmp_path / "in.nc"
    lcc_dataset().to_netcdf(inp)
    r = daskgrad("run", inp, tmp_path / "o.zarr", "--geospatial", "--divergence", "u,v")
    assert r.returncode == 2
    assert "needs --winds: 'grid'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_crs_for_a_file_without_grid_mapping(tmp_path, dask_cluster):
    inp = tmp_path / "in.nc"
    lcc_dataset(mapping=False).to_netcdf(inp)
    r = daskgrad("run", inp, tmp_path / "o.zarr", "--geospatial", "--var", "u")
    assert r.returncode == 2 and "need a projected CRS" in r.stderr and "--crs" in r.stderr
    r = daskgrad("run", inp, tmp_path / "o.zarr", "--crs", LCC, "--dim", "x")
    assert r.returncode == 2 and "--crs applies to --geospatial only" in r.stderr
    r = daskgrad(
        "run", inp, tmp_path / "o.zarr", "--geospatial", "--var", "u", "--crs", LCC,
        "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "(from crs=)" in r.stdout
    import daskgrad as dg

    ds = lcc_dataset(mapping=False)
    ref, _ = dg.geospatial_gradient(ds.u, crs=LCC)
    got = xr.open_zarr(tmp_path / "o.zarr")["du_dx"]
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-12, atol=1e-18)
