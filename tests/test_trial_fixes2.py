"""Findings of the new-user trial of 2026-12-07 (afternoon), each with a test that failed
before its fix."""

from __future__ import annotations

import warnings

import numpy as np
import pyproj
import pytest
import xarray as xr

import daskgrad


def _lcc_file(path):
    crs = pyproj.CRS.from_cf(
        {
            "grid_mapping_name": "lambert_conformal_conic",
            "standard_parallel": 38.5,
            "longitude_of_central_meridian": 262.5,
            "latitude_of_projection_origin": 38.5,
            "earth_radius": 6371229.0,
        }
    )
    x = np.arange(-5, 5) * 3000.0
    y = np.arange(-4, 4) * 3000.0
    theta = np.add.outer(y, x) / 1e4 + 290.0
    ds = xr.Dataset(
        {
            "theta": (("y", "x"), theta, {"grid_mapping": "crs", "units": "K"}),
            "crs": ((), 0, crs.to_cf()),
        },
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
    )
    ds.to_netcdf(path)
    return path


def test_a_grid_mapping_left_as_a_variable_is_named_with_what_to_do(tmp_path):
    # xr.open_dataset without decode_coords="all" leaves the grid mapping a data variable:
    # the DataArray names it but does not carry it. The error said "the data has no
    # grid_mapping", which the file contradicts.
    path = _lcc_file(tmp_path / "lcc.nc")
    with xr.open_dataset(path) as ds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError) as e:
                daskgrad.geospatial_gradient(ds.theta)
    message = str(e.value)
    assert "'crs'" in message and "decode_coords='all'" in message and "\n" not in message
    assert "has no grid_mapping" not in message
    # and what it says works: opened with decode_coords="all", the same call runs
    with xr.open_dataset(path, decode_coords="all") as ds:
        out = daskgrad.geospatial_gradient(ds.theta)
    assert np.isfinite(np.asarray(out[0])).all()


def test_input_through_a_symlink_and_dotdot_is_the_store_the_os_names(tmp_path):
    # `lnk/../in.zarr` is, for the OS, the link target's parent's in.zarr (A/in.zarr); zarr
    # and xarray dropped `lnk/..` from the text and read w/in.zarr beside the link. The check
    # (OUTPUT is not INPUT) and the read disagreed: with OUTPUT w/in.zarr and --overwrite,
    # w/in.zarr was read and replaced by its own gradient.
    from tests.conftest import cli

    (tmp_path / "A" / "B").mkdir(parents=True)
    work = tmp_path / "w"
    work.mkdir()
    (work / "lnk").symlink_to(tmp_path / "A" / "B")
    f = np.arange(5.0) ** 2
    xr.Dataset({"f": ("x", f)}).to_zarr(work / "in.zarr")
    xr.Dataset({"g": ("x", 3 * f)}).to_zarr(tmp_path / "A" / "in.zarr")
    dotdot = f"{work}/lnk/../in.zarr"
    r = cli("run", dotdot, work / "in.zarr", "--dim", "x", "--overwrite")
    assert r.returncode == 0, r.stderr
    with xr.open_zarr(work / "in.zarr") as ds:  # A's g differentiated, not w's f
        assert list(ds.data_vars) == ["dg_dx"]
        np.testing.assert_allclose(ds.dg_dx.values, np.gradient(3 * f))
    with xr.open_zarr(tmp_path / "A" / "in.zarr") as ds:  # the input untouched
        np.testing.assert_array_equal(ds.g.values, 3 * f)
    # the OS's same store as OUTPUT is refused as the input, and stays as it was
    r = cli("run", dotdot, tmp_path / "A" / "in.zarr", "--dim", "x", "--overwrite")
    assert r.returncode == 2 and "input" in r.stderr
    with xr.open_zarr(tmp_path / "A" / "in.zarr") as ds:
        np.testing.assert_array_equal(ds.g.values, 3 * f)
