"""The attacker's datetime_unit cases: a unit too fine for the span of the time coordinate
(four days in attoseconds overflow NumPy's 64-bit timedelta) is refused naming the option
instead of returning wrapped numbers; a unit that fits gives xarray's differentiate."""

import numpy as np
import pytest
import xarray as xr

import daskgrad
from daskgrad.errors import OptionError

from .conftest import cli

TIME = np.datetime64("2000-01-01") + np.arange(5) * np.timedelta64(1, "D")


def _data():
    rng = np.random.default_rng(3)
    return xr.DataArray(rng.random((5, 4)), dims=("time", "x"), coords={"time": TIME}, name="t")


@pytest.mark.parametrize("unit", ["as", "fs"])
def test_a_unit_that_overflows_the_span_is_refused(unit, tmp_path):
    with pytest.raises(OptionError) as e:
        daskgrad.gradient(_data(), dim="time", datetime_unit=unit)
    msg = str(e.value)
    assert msg.startswith(f"datetime_unit={unit!r}") and "coordinate 'time'" in msg, msg
    store = tmp_path / "in.zarr"
    _data().to_dataset().to_zarr(store)
    run = cli(
        "run", str(store), str(tmp_path / "out.zarr"), "--dim", "time", "--datetime-unit", unit
    )
    assert run.returncode == 2, run
    assert "--datetime-unit" in run.stderr.strip().splitlines()[-1], run.stderr
    assert not (tmp_path / "out.zarr").exists()


@pytest.mark.parametrize("unit", ["ps", "ns", "s", "h", "D"])
def test_a_unit_that_fits_matches_xarray(unit):
    got = daskgrad.gradient(_data(), dim="time", datetime_unit=unit)
    got = got[0] if isinstance(got, list | tuple) else got
    ref = _data().differentiate("time", datetime_unit=unit)
    np.testing.assert_allclose(np.asarray(got), ref.values, rtol=1e-12)
