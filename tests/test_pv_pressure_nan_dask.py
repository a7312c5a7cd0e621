"""A fault in potential vorticity's 1-D ``pressure`` given as a dask array is named
``pressure``, in the words the NumPy ``pressure`` gets, when it computes. Found in the closing
note of 2026-12-07: with dask data the error named ``spacing[2] (dim 0)`` (the position the
pressure takes among derive's spacings), with NumPy data "pressure must be finite; it holds
nan"; a NumPy pressure gave "pressure holds non-finite coordinates"."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import daskgrad  # noqa: E402
from daskgrad.errors import OptionError  # noqa: E402

LEVELS = np.array([1000.0, 900.0, 800.0, 700.0, 600.0]) * 100  # Pa


def inputs(dask_data: bool):
    p = LEVELS[:, None, None]
    theta = np.broadcast_to(300 - 0.0001 * p, (5, 4, 6)).copy()
    wind = np.zeros((5, 4, 6))
    if dask_data:
        return [da.from_array(a, chunks=(2, 2, 3)) for a in (theta, wind, wind)]
    return [theta, wind, wind]


def pv(pressure, dask_data: bool):
    theta, u, v = inputs(dask_data)
    out = daskgrad.potential_vorticity_baroclinic(
        theta, pressure, u, v, dims=(2, 1), vertical_dim=0, latitude=np.pi / 4, spacing=1e5
    )
    return np.asarray(out)


BAD = {
    "nan": ([100000.0, 90000, np.nan, 70000, 60000], "pressure holds non-finite coordinates"),
    "inf": ([100000.0, 90000, 80000, np.inf, 60000], "pressure holds non-finite coordinates"),
    # a turn and a repeat across the dask pressure's chunks (2 levels each)
    "turn": ([100000.0, 90000, 95000, 70000, 60000], "pressure"),
    "repeat": ([100000.0, 90000, 90000, 70000, 60000], "pressure repeats the value 90000.0"),
}


@pytest.mark.parametrize("fault", list(BAD))
@pytest.mark.parametrize("dask_data", [True, False], ids=["dask-data", "numpy-data"])
def test_a_fault_in_a_dask_pressure_names_pressure_as_numpy_does(fault, dask_data):
    values, start = BAD[fault]
    with pytest.raises(OptionError) as numpy_err:
        pv(np.array(values), dask_data)
    assert str(numpy_err.value).startswith(start)
    assert numpy_err.value.option == "pressure"
    with pytest.raises(OptionError) as dask_err:
        pv(da.from_array(np.array(values), chunks=2), dask_data)
    assert str(dask_err.value) == str(numpy_err.value)
    assert dask_err.value.option == "pressure"
    assert "spacing" not in str(dask_err.value)


def test_on_a_local_cluster_the_error_names_pressure():
    """The same error, raised in a worker process and brought back by distributed."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with pytest.raises(OptionError, match=r"^pressure holds non-finite coordinates$"):
            pv(da.from_array(np.array(BAD["nan"][0]), chunks=2), True)


def test_a_good_dask_pressure_gives_numpy_pressures_result():
    """The check passes a good pressure through: the result is the NumPy pressure's, and
    −g f ∂θ/∂p (θ linear in p, no wind), as MetPy's formula gives."""
    got = pv(da.from_array(LEVELS, chunks=2), True)
    ref = pv(LEVELS, False)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    f = 2 * 7.292115e-5 * np.sin(np.pi / 4)
    np.testing.assert_allclose(got, -9.80665 * f * -0.0001, rtol=1e-9)


@pytest.mark.parametrize(
    "values", [[100000.0, 0, 80000, 70000, 60000], -LEVELS], ids=["zero", "neg"]
)
def test_a_dask_pressure_not_positive_is_refused_as_numpy_does(values):
    """Positive first, as the NumPy pressure is checked (before its coordinate check)."""
    with pytest.raises(ValueError) as numpy_err:
        pv(np.array(values), True)
    assert str(numpy_err.value).startswith("potential_vorticity_baroclinic: pressure must be")
    with pytest.raises(ValueError) as dask_err:
        pv(da.from_array(np.array(values), chunks=2), True)
    assert str(dask_err.value) == str(numpy_err.value)
