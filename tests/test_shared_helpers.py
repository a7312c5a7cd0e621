"""Logic that was written out in several modules and now lives once (issue 19): each caller still
says the same thing. The messages and names are the ones users saw before the move."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import daskgrad

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")


def boolean(dims=("y", "x"), name=None):
    coords = {d: np.arange(n, dtype=float) for d, n in zip(dims, (3, 4), strict=True)}
    return xr.DataArray(np.ones((3, 4), bool), dims=dims, coords=coords, name=name)


@pytest.mark.parametrize(
    "call",
    [
        lambda: daskgrad.gradient(boolean(), dim="x"),
        lambda: boolean().grad("x"),
        lambda: daskgrad.vorticity(boolean(), boolean(), dim=("x", "y")),
        lambda: daskgrad.divergence(boolean(), boolean(), dim=("x", "y")),
    ],
    ids=["gradient", "accessor", "vorticity", "divergence"],
)
def test_an_array_layer_error_names_the_dims_by_number(call):
    with pytest.raises(TypeError) as err:
        call()
    assert str(err.value).endswith("(dim numbers: 0='y', 1='x')"), err.value
    assert "dtype bool" in str(err.value)


def test_a_geospatial_error_says_what_it_differentiated():
    with pytest.raises(TypeError) as err:
        daskgrad.geospatial_gradient(boolean(("lat", "lon"), name="t"))
    assert str(err.value).endswith("(differentiating variable 't'; dims 0='lat', 1='lon')")


def test_an_option_error_names_the_dim_not_its_number():
    one = xr.DataArray(np.ones((3, 1)), dims=("y", "x"))
    with pytest.raises(ValueError, match=r"^dim 'x' has 1 points; edge_order=1 needs"):
        daskgrad.gradient(one, dim="x")


@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_long_names_say_the_order_above_two(accuracy):
    lat = np.linspace(-30.0, 30.0, 12)
    lon = np.linspace(0.0, 60.0, 16)
    f = xr.DataArray(
        np.add.outer(np.sin(np.radians(lat)), np.cos(np.radians(lon))),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        name="t",
    )
    note = f" (order-{accuracy} accurate)" if accuracy > 2 else ""
    names = [
        daskgrad.gradient(f, dim="lon", accuracy=accuracy)[0].attrs["long_name"],
        daskgrad.geospatial_gradient(f, accuracy=accuracy)[0].attrs["long_name"],
        daskgrad.laplacian(f, dim=("lon", "lat"), accuracy=accuracy).attrs["long_name"],
    ]
    assert names == [
        f"derivative of t with respect to lon{note}",
        f"eastward derivative of t{note}",
        f"Laplacian of t{note}",
    ]


def test_pid_alive_on_real_processes():
    from daskgrad.signals import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(child.pid) and pid_alive(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)  # reaped: no such process (pids are not reused this fast)
    assert pid_alive(1)  # init: another user's, not signalled, but running


def test_zarr_markers_local_and_on_an_object_store(tmp_path):
    """A local directory is a zarr store by zarr.json, .zgroup or .zarray at its root; on an
    object store zarr v2's consolidated .zmetadata alone is a sign of one too."""
    import fsspec

    from daskgrad.io.locations import locate
    from daskgrad.io.target import is_zarr_store

    for name in ("zarr.json", ".zgroup", ".zarray", ".zmetadata", ".zattrs"):
        d = tmp_path / name.strip(".")
        d.mkdir()
        (d / name).write_text("{}")
        assert is_zarr_store(d) == (name in ("zarr.json", ".zgroup", ".zarray")), name
        url = f"memory://markers-{os.getpid()}/{name.strip('.')}"
        fsspec.filesystem("memory").pipe(f"{url}/{name}", b"{}")
        loc = locate(url, None, "store")
        assert loc.has_zarr_metadata() == (name != ".zattrs"), name
