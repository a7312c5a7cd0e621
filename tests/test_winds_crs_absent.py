"""winds= left out where the data's grid_mapping variable is not attached to the DataArrays
(a data variable of their Dataset): the grid is projected, so winds is required, as the
command line requires it of the same file; the answer is never silently the earth winds'."""

import numpy as np
import pyproj
import pytest
import xarray as xr

import daskgrad
from tests.conftest import cli

LCC = {
    "grid_mapping_name": "lambert_conformal_conic",
    "standard_parallel": [30.0, 60.0],
    "longitude_of_central_meridian": -100.0,
    "latitude_of_projection_origin": 45.0,
    "earth_radius": 6371229.0,
}


def _dataset() -> xr.Dataset:
    x = np.arange(-1e6, 1e6, 1e5)
    y = np.arange(-8e5, 8e5, 1e5)
    X, Y = np.meshgrid(x, y)
    lon, lat = pyproj.Proj(pyproj.CRS.from_cf(LCC))(X, Y, inverse=True)
    u = 10 * np.sin(X / 2e6) * np.cos(Y / 2e6) + 5
    v = -10 * np.cos(X / 2e6) * np.sin(Y / 2e6)
    attrs = {"units": "m/s", "grid_mapping": "crs"}
    return xr.Dataset(
        {
            "u": (("y", "x"), u, attrs),
            "v": (("y", "x"), v, attrs),
            "crs": ((), 0, LCC),  # a data variable: not among u's coords
        },
        coords={
            "x": ("x", x, {"units": "m", "standard_name": "projection_x_coordinate"}),
            "y": ("y", y, {"units": "m", "standard_name": "projection_y_coordinate"}),
            "lat": (("y", "x"), lat, {"units": "degrees_north"}),
            "lon": (("y", "x"), lon, {"units": "degrees_east"}),
        },
    )


@pytest.mark.parametrize("kind", ["vorticity", "divergence", "total_deformation"])
def test_winds_left_out_with_unattached_crs_is_refused(kind):
    ds = _dataset()
    with pytest.raises(ValueError) as info:
        getattr(daskgrad, kind)(ds.u, ds.v, geospatial=True)
    msg = str(info.value)
    assert "\n" not in msg
    assert "winds" in msg and "'crs'" in msg


def test_advection_winds_left_out_with_unattached_crs_is_refused():
    ds = _dataset()
    with pytest.raises(ValueError, match="winds"):
        daskgrad.advection(ds.u, ds.u, ds.v, geospatial=True)


def test_earth_winds_still_taken_and_attached_crs_agrees():
    """winds='earth' needs no projection (the 2-D lat/lon do); with the crs attached the
    same call gives the same result (a projected grid, winds turned to the grid)."""
    ds = _dataset()
    with pytest.warns(UserWarning, match="'crs'"):
        a = daskgrad.vorticity(ds.u, ds.v, geospatial=True, winds="earth").values
    c = ds.set_coords("crs")
    b = daskgrad.vorticity(c.u, c.v, geospatial=True, winds="earth").values
    s = (slice(2, -2), slice(2, -2))
    assert np.abs(a - b)[s].max() <= 1e-3 * np.abs(b[s]).max()


def test_scalar_gradient_needs_no_winds():
    ds = _dataset()
    with pytest.warns(UserWarning, match="'crs'"):
        out = daskgrad.geospatial_gradient(ds.u)
    assert out[0].shape == ds.u.shape


def test_cli_refuses_the_same_file_naming_winds(tmp_path):
    path = tmp_path / "lcc.nc"
    _dataset().to_netcdf(path)
    # in this process (tests/conftest.py ``cli``): a refusal, no process of its own needed
    args = ["--vorticity", "u,v", "--geospatial", "--no-progress"]
    r = cli("run", path, tmp_path / "o.zarr", *args)
    assert r.returncode == 2, r.stderr
    assert "--winds" in r.stderr
