"""accuracy and edge_order: one rule for whole numbers in the Python API and on the command
line. numpy.gradient takes edge_order=2.0, so 2.0 is 2 for both options in both places; a
fraction (1.5), a bool or a string is refused."""

import numpy as np
import pytest
import xarray as xr

import daskgrad
from tests.conftest import cli


def test_numpy_takes_a_whole_float_edge_order():
    """The oracle the rule follows."""
    f = np.arange(10.0) ** 2
    np.testing.assert_array_equal(np.gradient(f, edge_order=2.0), np.gradient(f, edge_order=2))


@pytest.mark.parametrize("value", [2.0, np.float64(2.0)])
def test_api_edge_order_whole_float(value):
    f = np.random.default_rng(0).random((6, 7))
    for ours, ref in zip(
        daskgrad.gradient(f, edge_order=value), np.gradient(f, edge_order=2), strict=True
    ):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_api_accuracy_whole_float_as_int():
    x = np.linspace(0, 2, 21)
    f = np.sin(x)
    (a,) = daskgrad.gradient(f, spacing=[x], accuracy=4.0)
    (b,) = daskgrad.gradient(f, spacing=[x], accuracy=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, np.cos(x), atol=1e-3)


@pytest.mark.parametrize(
    "kw",
    [
        {"accuracy": 2.5},
        {"accuracy": "2"},
        {"accuracy": True},
        {"edge_order": 1.5},
        {"edge_order": "2"},
        {"edge_order": True},
    ],
)
def test_api_refuses_non_whole(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        daskgrad.gradient(np.zeros((5, 5)), **kw)


def _run(tmp_path, *flags):
    """``daskgrad run`` in this process (tests/conftest.py ``cli``): what is compared is how
    its options are read, which no process of its own changes; a small input computes on this
    process's threads."""
    src = tmp_path / "in.nc"
    x = np.linspace(0.0, 3.0, 16)
    xr.Dataset({"t": (("x",), np.sin(x))}, coords={"x": x}).to_netcdf(src)
    out = tmp_path / "out.zarr"
    r = cli("run", src, out, "--dim", "x", "--no-progress", *flags)
    return r, out, x


@pytest.mark.parametrize(
    "flags,kw",
    [(("--edge-order", "2.0"), {"edge_order": 2}), (("--accuracy", "4.0"), {"accuracy": 4})],
)
def test_cli_takes_whole_floats_as_the_api(tmp_path, flags, kw):
    r, out, x = _run(tmp_path, *flags)
    assert r.returncode == 0, r.stderr
    got = xr.open_zarr(out)["dt_dx"].values
    if "edge_order" in kw:
        ref = np.gradient(np.sin(x), x, edge_order=2)
    else:
        (ref,) = daskgrad.gradient(np.sin(x), spacing=[x], accuracy=4)
        assert np.abs(ref - np.cos(x)).max() < 1e-3
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "flags", [("--edge-order", "1.5"), ("--accuracy", "2.5"), ("--accuracy", "x")]
)
def test_cli_refuses_what_the_api_refuses(tmp_path, flags):
    r, _, _ = _run(tmp_path, *flags)
    assert r.returncode == 2
    assert flags[0] in r.stderr


def test_cli_radius_by_crs_as_the_api_radius(tmp_path):
    """The API's radius= is the CLI's --crs '+proj=longlat +R=...' (no --radius flag): first
    derivatives scale by R_default / R (DESIGN), and both give the same numbers."""
    lat = np.linspace(-40.0, 40.0, 17)
    lon = np.linspace(0.0, 40.0, 21)
    t = np.sin(np.deg2rad(lon))[None, :] * np.cos(np.deg2rad(lat))[:, None]
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    ds = xr.Dataset({"t": (("lat", "lon"), t, {"units": "K"})}, coords=coords)
    src, out = tmp_path / "ll.nc", tmp_path / "o.zarr"
    ds.to_netcdf(src)
    radius = 6371229.0
    crs = f"+proj=longlat +R={radius:.0f} +no_defs"
    r = cli("run", src, out, "--geospatial", "--var", "t", "--crs", crs, "--no-progress")
    assert r.returncode == 0, r.stderr
    got = xr.open_zarr(out)
    dx, dy = daskgrad.geospatial_gradient(ds.t, radius=radius)
    default_dx, _ = daskgrad.geospatial_gradient(ds.t)
    np.testing.assert_allclose(got["dt_dx"].values, dx.values, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(got["dt_dy"].values, dy.values, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(dx.values, default_dx.values * 6371008.8 / radius, rtol=1e-12)
