"""The attacker's case: --winds without --geospatial was accepted silently (and did nothing),
while --earth there is refused; the API refuses winds= without geospatial=True alike."""

import numpy as np
import pytest
import xarray as xr

import daskgrad

from .conftest import cli


def test_winds_without_geospatial_is_refused_in_both(tmp_path):
    u = xr.DataArray(np.random.default_rng(0).random((4, 5)), dims=("y", "x"), name="u")
    ds = xr.Dataset({"u": u, "v": u.rename("v")}, coords={"x": np.arange(5.0), "y": np.arange(4.0)})
    ds.to_zarr(tmp_path / "in.zarr")
    run = cli(
        "run", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"),
        "--dim", "x", "--dim", "y", "--vorticity", "u,v", "--winds", "grid",
    )  # fmt: skip
    assert run.returncode == 2, run
    last = run.stderr.strip().splitlines()[-1]
    assert "--winds" in last and "--geospatial" in last, last
    assert not (tmp_path / "out.zarr").exists()
    with pytest.raises(TypeError, match="winds"):
        daskgrad.vorticity(ds.u, ds.v, winds="grid")
