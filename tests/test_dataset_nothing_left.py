"""``daskgrad.gradient`` of a Dataset with nothing to differentiate (every data variable bool,
text, datetime or without the dims) raised nothing and gave an empty Dataset, where the
command line refuses; now a one-line ValueError naming each variable and why. A datetime64
data variable is skipped as documented; given as a DataArray it is differentiated as
``DataArray.differentiate`` does."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import daskgrad  # noqa: E402

WHEN = np.array(["2000-01-01", "2000-01-02", "2000-01-04", "2000-01-08"], "M8[s]")


def dataset() -> xr.Dataset:
    return xr.Dataset(
        {
            "flag": ("x", [True, False, True, True]),
            "name": ("x", ["a", "b", "c", "d"]),
            "when": ("x", WHEN),
            "other": ("t", [1.0, 2.0]),
        },
        coords={"x": [0.0, 1.0, 3.0, 4.0]},
    )


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_nothing_numeric_is_a_value_error_naming_each_variable(chunked):
    ds = dataset().chunk() if chunked else dataset()
    with pytest.raises(ValueError) as info:
        daskgrad.gradient(ds, dim="x")
    assert str(info.value) == (
        "no numeric data variable of the Dataset has any of the dims ['x']: 'flag' is bool, "
        "'name' is <U1, 'when' is datetime64[s], 'other' has dims ('t',)"
    )
    with pytest.raises(ValueError, match="'flag' is bool"):
        ds[["flag"]].grad("x")  # the accessor too


def test_a_bool_only_dataset():
    with pytest.raises(ValueError, match=r"^no numeric .* \['x'\]: 'flag' is bool$"):
        daskgrad.gradient(dataset()[["flag"]], dim="x")


def test_a_dataset_without_data_variables():
    with pytest.raises(ValueError, match=r"\(it has no data variables\)$"):
        daskgrad.gradient(xr.Dataset(coords={"x": [0.0, 1.0, 2.0]}), dim="x")


def test_numeric_variables_are_differentiated_and_the_others_skipped():
    ds = dataset().assign(T=("x", np.array([0.0, 1.0, 9.0, 16.0])))
    out = daskgrad.gradient(ds, dim="x")
    assert list(out.data_vars) == ["dT_dx"]
    np.testing.assert_allclose(out.dT_dx.values, np.gradient(ds.T.values, ds.x.values))


def test_a_datetime_variable_as_a_dataarray_is_differentiated():
    ds = dataset()
    (got,) = daskgrad.gradient(ds["when"], dim="x", datetime_unit="D")
    ref = ds["when"].differentiate("x", datetime_unit="D")
    np.testing.assert_allclose(got.values, ref.values)
