"""The other libraries' private APIs daskgrad uses (daskgrad/compat.py), each exercised here.

Checked on dask 2026.8.0, distributed 2026.8.0 and xarray 2026.9.0: a release that moves or
changes one of them fails a test below, naming it, instead of a derivative somewhere else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")

import dask  # noqa: E402

from daskgrad import compat  # noqa: E402

CHECKED_ON = {"dask": "2026.8.0", "xarray": "2026.9.0"}


def test_dask_task_spec_builds_and_runs_a_graph():
    """Task, TaskRef, Alias, DataNode and convert_legacy_graph, as graph.py, earth.py and the
    writer use them: a graph of them computes on dask's sync scheduler."""
    graph = {
        "a": compat.DataNode("a", np.arange(3.0)),
        "b": compat.Task("b", np.multiply, compat.TaskRef("a"), 2.0),
        "c": compat.Alias("c", "b"),
    }
    legacy = compat.convert_legacy_graph({"d": (np.add, "c", 1.0)}, all_keys={*graph, "d"})
    assert isinstance(legacy["d"], compat.Task)
    out = dask.get({**graph, **legacy}, "d")
    np.testing.assert_array_equal(out, [1.0, 3.0, 5.0])


def test_xarray_datetime_helpers_match_differentiate():
    """contains_datetime_like and to_numeric give what DataArray.differentiate uses: its
    derivative of dates equals ours built from them."""
    t = xr.Variable("t", pd.date_range("2024-01-01", periods=4, freq="6h"))
    assert compat.contains_datetime_like(t)
    assert not compat.contains_datetime_like(xr.Variable("t", np.arange(4.0)))
    hours = compat.to_numeric(t, datetime_unit="h")
    np.testing.assert_array_equal(hours.values, [0.0, 6.0, 12.0, 18.0])
    da = xr.DataArray(np.arange(4.0) ** 2, dims="t", coords={"t": t})
    expect = da.differentiate("t", datetime_unit="h").values
    np.testing.assert_allclose(np.gradient(da.values, hours.values), expect)


def test_the_versions_named_are_the_ones_the_helpers_were_checked_on():
    """A reminder, not a pin: when dask or xarray is newer than the versions named in
    daskgrad/compat.py, the tests above are what says whether the helpers still hold."""
    doc = compat.__doc__ or ""
    for lib, version in CHECKED_ON.items():
        assert f"{lib} {version}" in doc, (lib, version)
