"""The attacker's periodic cases: a period that is not a real number, zero, NaN or shorter
than the coordinate's range is refused naming the option (``periodic`` in the API,
``--periodic`` on the command line) and the dim by its name, never by its number."""

import numpy as np
import pytest
import xarray as xr

import daskgrad
from daskgrad.errors import OptionError

from .conftest import cli

LON = np.arange(0.0, 360.0, 30.0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("periodic") / "in.zarr"
    t = xr.DataArray(np.sin(np.radians(LON))[None, :] * np.ones((3, 1)), dims=("y", "lon"))
    xr.Dataset({"t": t}, coords={"lon": LON, "y": [0.0, 1.0, 2.0]}).to_zarr(path)
    return path


def _api(period):
    da = xr.DataArray(np.ones((3, LON.size)), dims=("y", "lon"), coords={"lon": LON})
    return daskgrad.gradient(da, dim="lon", periodic={"lon": period})


@pytest.mark.parametrize(
    ("period", "flag", "words"),
    [
        ("360", None, "real number"),
        (0.0, "0", "finite and non-zero"),
        (np.nan, "nan", "finite and non-zero"),
        (-5.0, "-5", "not larger than the coordinate range"),
        (200.0, "200", "not larger than the coordinate range"),
    ],
)
def test_a_bad_period_names_the_option_and_the_dim(store, tmp_path, period, flag, words):
    with pytest.raises(OptionError) as e:
        _api(period)
    msg = str(e.value)
    assert msg.startswith("periodic") and "dim 'lon'" in msg and words in msg, msg
    assert "dim 1" not in msg and "dim numbers" not in msg, msg
    if flag is None:  # the command line parses the period as a number itself
        return
    run = cli(
        "run", str(store), str(tmp_path / "out.zarr"), "--dim", "lon", "--periodic", f"lon={flag}"
    )
    assert run.returncode == 2, run
    last = run.stderr.strip().splitlines()[-1]
    assert "--periodic" in last and "dim 'lon'" in last and words in last, last
    assert not (tmp_path / "out.zarr").exists()


def test_the_right_period_is_accepted_alike_and_matches_numpy_wrapping(store, tmp_path):
    s = np.sin(np.radians(LON))
    ref = (np.roll(s, -1) - np.roll(s, 1)) / 60.0  # the centred difference across the seam
    da = xr.DataArray(s[None, :] * np.ones((3, 1)), dims=("y", "lon"), coords={"lon": LON})
    out = daskgrad.gradient(da, dim="lon", periodic={"lon": 360.0})
    np.testing.assert_allclose(
        np.asarray(out).reshape(-1, LON.size), ref[None, :].repeat(3, 0), atol=1e-15
    )
    run = cli(
        "run", str(store), str(tmp_path / "out.zarr"), "--dim", "lon", "--periodic", "lon=360"
    )
    assert run.returncode == 0, run.stderr
    got = xr.open_zarr(tmp_path / "out.zarr")
    name = next(iter(got.data_vars))
    np.testing.assert_allclose(got[name].values[0], ref, atol=1e-12)
