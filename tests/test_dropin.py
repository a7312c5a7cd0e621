"""numpy's TestGradient and xarray's test_differentiate*, ported, with the originals as oracles.

Upstream: ``numpy/lib/tests/test_function_base.py::TestGradient`` and
``xarray/tests/test_dataset.py::test_differentiate_datetime`` / ``test_differentiate_cftime``.
The ports are the cases daskgrad failed (datetime64 and timedelta64 data, masked arrays,
numpy's AxisError, datetime- and cftime-valued xarray data), each widened to dask input and to
the spacings and edge orders of the rest of TestGradient. ``np_gradient`` is compared with
``numpy.gradient`` bit for bit (it runs numpy's own arithmetic for these inputs: timedelta
truncation, the mask and the data under it), ``gradient`` with ``DataArray.differentiate`` to
rounding. The last class runs numpy's TestGradient itself from the installed wheel.
"""

from __future__ import annotations

import warnings

import dask
import dask.array as da
import numpy as np
import pytest

from daskgrad import gradient, np_gradient

from .conftest import raise_if_dask_computes

KINDS = ["numpy", "dask"]
AxisError = getattr(np, "exceptions", np).AxisError


def run(f, *varargs, kind="numpy", chunks=2, **kwargs):
    """np_gradient on NumPy or dask input (masked chunks stay masked); dask computed."""
    if kind == "dask":
        f = da.from_array(f, chunks=chunks)
    out = np_gradient(f, *varargs, **kwargs)
    if kind == "dask":
        (out,) = dask.compute(out, scheduler="sync")
    return out


def assert_same(ours, ref):
    """Same type, dtype, shape, mask and values (under the mask too) as numpy.gradient's."""
    assert type(ours) is type(ref)
    if isinstance(ref, tuple):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref, strict=True):
            assert_same(o, r)
        return
    assert (ours.dtype, ours.shape) == (ref.dtype, ref.shape)
    if isinstance(ref, np.ma.MaskedArray):
        np.testing.assert_array_equal(np.ma.getmaskarray(ours), np.ma.getmaskarray(ref))
        ours, ref = ours.data, ref.data
    np.testing.assert_array_equal(ours, ref)


# --- numpy: datetime64 and timedelta64 data ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_datetime64(kind):
    x = np.array(
        [
            "1910-08-16",
            "1910-08-11",
            "1910-08-10",
            "1910-08-12",
            "1910-10-12",
            "1910-12-12",
            "1912-12-12",
        ],
        dtype="datetime64[D]",
    )
    dx = np.array([-5, -3, 0, 31, 61, 396, 731], dtype="timedelta64[D]")
    assert_same(run(x, kind=kind), np.gradient(x))
    np.testing.assert_array_equal(run(x, kind=kind), dx)  # upstream's literal answer


@pytest.mark.parametrize("kind", KINDS)
def test_timedelta64(kind):
    x = np.array([-5, -3, 10, 12, 61, 321, 300], dtype="timedelta64[D]")
    dx = np.array([2, 7, 7, 25, 154, 119, -21], dtype="timedelta64[D]")
    assert_same(run(x, kind=kind), np.gradient(x))
    np.testing.assert_array_equal(run(x, kind=kind), dx)


X_UNEVEN = np.array([0.0, 0.5, 1.0, 3.0, 5.0, 7.0, 7.25])
SPACINGS = {
    "unit": (),
    "scalar": (0.7,),
    "int": (3,),
    "even-coords": (np.arange(7.0) * 2,),  # numpy reduces it to a scalar step
    "int-coords": (np.array([0, 1, 3, 4, 8, 9, 12]),),
    "uneven-coords": (X_UNEVEN,),
}


def time_data(dtype):
    """(7, 5) datetime64 or timedelta64 values, small enough for truncation to show; one NaT."""
    steps = np.random.default_rng(9).integers(-50, 400, (7, 5))
    out = np.cumsum(steps, axis=0).astype(dtype.replace("M8", "m8"))
    if dtype.startswith("M8"):
        out = out + np.datetime64("2001-03-04")
    out[3, 2] = np.array("NaT", dtype=dtype)
    return out


def both_ways(args):
    """Spacing varargs for axis=0 and for axis=None (a second spacing of the same form)."""
    if not args:
        return [(0, ()), (None, ())]
    return [(0, args), (None, (*args, X_UNEVEN[:5] if np.ndim(args[0]) else 1.5))]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", sorted(SPACINGS))
@pytest.mark.parametrize("dtype", ["M8[D]", "M8[ns]", "m8[s]", "m8[h]"])
def test_time_data_like_numpy(dtype, spacing, edge_order, kind):
    # TestGradient.test_spacing's spacings and edge orders, on time data; ragged dask chunks
    f = time_data(dtype)
    for axis, varargs in both_ways(SPACINGS[spacing]):
        ref = np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
        chunks = ((1, 2, 4), (3, 2))
        assert_same(
            run(f, *varargs, kind=kind, chunks=chunks, axis=axis, edge_order=edge_order), ref
        )


@pytest.mark.parametrize("kind", KINDS)
def test_time_data_through_gradient_and_dask_coordinates(kind):
    f = time_data("M8[s]")
    (ours,) = gradient(
        f if kind == "numpy" else da.from_array(f, chunks=3), spacing=[X_UNEVEN], dim=0
    )
    assert_same(np.asarray(ours), np.gradient(f, X_UNEVEN, axis=0))
    x = da.from_array(X_UNEVEN, chunks=4)
    with raise_if_dask_computes():
        out = np_gradient(da.from_array(f, chunks=(2, 5)), x, 2.0, edge_order=2)
    assert all(o.dtype == np.dtype("m8[s]") for o in out)
    assert_same(dask.compute(out, scheduler="sync")[0], np.gradient(f, X_UNEVEN, 2.0, edge_order=2))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["m8[m]", "M8[s]", "masked"])
def test_periodic_matches_wrap_padded_numpy(kind, dtype):
    # daskgrad's periodic dims on time and masked data: numpy on the input padded with its
    # far planes
    f = masked_data("float64") if dtype == "masked" else time_data(dtype)
    src = f if kind == "numpy" else da.from_array(f, chunks=(3, 5))
    concatenate = np.ma.concatenate if dtype == "masked" else np.concatenate
    padded = concatenate([f[-1:], f, f[:1]])
    (ours,) = dask.compute(gradient(src, dim=0, periodic=True), scheduler="sync")[0]
    assert_same(ours, np.gradient(padded, axis=0)[1:-1])
    period = X_UNEVEN[-1] - X_UNEVEN[0] + 0.6
    ext = np.concatenate([[X_UNEVEN[-1] - period], X_UNEVEN, [X_UNEVEN[0] + period]])
    ours = gradient(src, spacing=[X_UNEVEN], dim=0, periodic={0: period})
    (ours,) = dask.compute(ours, scheduler="sync")[0]
    assert_same(ours, np.gradient(padded, ext, axis=0)[1:-1])


# --- numpy: masked arrays ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_masked(kind):
    x = np.ma.array([[1, 1], [3, 4]], mask=[[False, False], [False, False]])
    out = run(x, kind=kind)[0]
    assert type(out) is type(x)
    assert x._mask is not out._mask  # the output's mask is its own
    x2 = np.ma.arange(5)
    x2[2] = np.ma.masked
    run(x2, kind=kind, edge_order=2)  # upstream calls np.gradient here; we test ours
    np.testing.assert_array_equal(x2.mask, [False, False, True, False, False])


def masked_data(dtype):
    values = np.random.default_rng(10).standard_normal((7, 5)) * 10
    mask = np.zeros((7, 5), bool)
    mask[[0, 2, 6, 6, 4], [0, 1, 1, 4, 3]] = True  # edges, interior, a corner
    return np.ma.array(values.astype(dtype), mask=mask)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", sorted(SPACINGS))
@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_masked_like_numpy(dtype, spacing, edge_order, kind):
    f = masked_data(dtype)
    for axis, varargs in both_ways(SPACINGS[spacing]):
        ref = np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
        chunks = ((2, 1, 4), (1, 4))
        assert_same(
            run(f, *varargs, kind=kind, chunks=chunks, axis=axis, edge_order=edge_order), ref
        )


def test_masked_dask_stays_lazy_with_masked_chunks():
    f = masked_data("float64")
    with raise_if_dask_computes():
        out = gradient(da.from_array(f, chunks=3), spacing=[X_UNEVEN, 2.0])
    assert all(
        isinstance(o._meta, np.ma.MaskedArray) and o.chunks == ((3, 3, 1), (3, 2)) for o in out
    )
    assert_same(dask.compute(out, scheduler="sync")[0], np.gradient(f, X_UNEVEN, 2.0))


# --- numpy: the axis error --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axis", [3, -3, (0, 2)])
def test_specific_axes_axis_error(kind, axis):
    x = np.array([[1, 1], [3, 4]])
    with pytest.raises(AxisError):
        np.gradient(x, axis=axis)
    with pytest.raises(AxisError, match=r"dim -?\d is out of range for an input with 2 dims"):
        run(x, kind=kind, axis=axis)


# --- xarray: datetime- and cftime-valued data -------------------------------------------------

xr = pytest.importorskip("xarray")


def assert_close(ours, ref):
    """The accuracy rule, rtol 1e-10 against max|ref|: ours runs the kernel, not numpy's formula."""
    ref = np.asarray(ref)
    np.testing.assert_allclose(np.asarray(ours), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("use_dask", [False, True])
def test_differentiate_datetime(use_dask):
    rs = np.random.default_rng(42)
    coord = np.array(
        [
            "2004-07-13",
            "2006-01-13",
            "2010-08-13",
            "2010-09-13",
            "2010-10-11",
            "2010-12-13",
            "2011-02-13",
            "2012-08-13",
        ],
        dtype="datetime64",
    )
    arr = xr.DataArray(
        rs.random((8, 6)),
        dims=["x", "y"],
        coords={"x": coord, "z": 3, "x2d": (("x", "y"), rs.random((8, 6)))},
    )
    if use_dask:
        arr = arr.chunk({"x": 4})
    (actual,) = gradient(arr, dim="x", datetime_unit="D")
    assert_close(actual, arr.differentiate("x", edge_order=1, datetime_unit="D"))
    (actual2,) = gradient(arr, dim="x", datetime_unit="h")
    assert np.allclose(actual, actual2 * 24)
    # for datetime variable
    (actual,) = gradient(arr["x"], dim="x", datetime_unit="D")
    assert_close(actual, arr["x"].differentiate("x", edge_order=1, datetime_unit="D"))
    assert np.allclose(actual, 1.0)
    # with different date unit
    arr = xr.DataArray(coord.astype("datetime64[ms]"), dims=["x"], coords={"x": coord})
    if use_dask:
        arr = arr.chunk({"x": 3})
    (actual,) = gradient(arr, dim="x", edge_order=1)
    assert_close(actual, arr.differentiate("x", edge_order=1))
    assert np.allclose(actual, 1.0) and actual.attrs["units"] == "1"


@pytest.mark.parametrize("use_dask", [False, True])
def test_differentiate_cftime(use_dask):
    pytest.importorskip("cftime")
    rs = np.random.default_rng(42)
    coord = xr.date_range("2000", periods=8, freq="2ME", use_cftime=True)
    arr = xr.DataArray(
        rs.random((8, 6)),
        coords={"time": coord, "z": 3, "t2d": (("time", "y"), rs.random((8, 6)))},
        dims=["time", "y"],
    )
    if use_dask:
        arr = arr.chunk({"time": 4})
    (actual,) = gradient(arr, dim="time", datetime_unit="D")
    assert_close(actual, arr.differentiate("time", edge_order=1, datetime_unit="D"))
    (actual2,) = gradient(arr, dim="time", datetime_unit="h")
    assert np.allclose(actual, actual2 * 24)
    # the differentiation of datetimes themselves
    (actual,) = gradient(arr["time"], dim="time", datetime_unit="D")
    assert_close(actual, arr["time"].differentiate("time", edge_order=1, datetime_unit="D"))
    assert np.allclose(actual, 1.0)


def time_values(kind):
    """Eight times 0, 1, 3, 4, 8, 9, 10, 14 h from 27 Feb 2000 (noleap for cftime)."""
    hours = np.array([0, 1, 3, 4, 8, 9, 10, 14])
    if kind == "cftime":
        pytest.importorskip("cftime")
        start = xr.date_range("2000-02-27", periods=1, calendar="noleap", use_cftime=True)[0]
        return np.array([start + np.timedelta64(int(h), "h").item() for h in hours])
    if kind == "timedelta64[m]":
        return (hours * 60).astype("m8[m]")
    return np.datetime64("2000-02-27", "ns") + hours * np.timedelta64(3600, "s")


COORDINATES = {  # coordinate of x, and the units attr of d/dx for data converted to `unit`
    "numeric": ({"x": ("x", np.cumsum(np.arange(1.0, 9.0)), {"units": "m"})}, "{unit} m-1"),
    "datetime64[s]": ({"x": time_values("datetime64").astype("M8[s]")}, "1"),
    "none": ({}, None),
}


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("unit", [None, "h", "D"])
@pytest.mark.parametrize("coord", sorted(COORDINATES))
@pytest.mark.parametrize("data", ["datetime64[ns]", "timedelta64[m]", "cftime"])
def test_time_valued_data_like_differentiate(data, coord, unit, backend):
    coords, units = COORDINATES[coord]
    arr = xr.DataArray(time_values(data), dims="x", coords=coords, name="t")
    src = arr.chunk({"x": 3}) if backend == "dask" else arr
    for edge_order in (1, 2):
        (ours,) = gradient(src, datetime_unit=unit, edge_order=edge_order)
        ref = arr.differentiate("x", edge_order=edge_order, datetime_unit=unit)
        assert ours.dtype == np.float64 and ours.name == "dt_dx"
        assert_close(ours, ref)
    # the unit differentiate converts the data to: datetime_unit, the coordinate's, its own
    own = "ns" if data == "cftime" else np.datetime_data(arr.dtype)[0]  # xarray keeps s or ns
    data_unit = {"h": "h", "D": "d"}.get(unit) or ("s" if coord == "datetime64[s]" else own)
    assert ours.attrs.get("units") == (units and units.format(unit=data_unit))


@pytest.mark.parametrize("data", ["datetime64[ns]", "cftime"])
def test_time_valued_dask_data_stays_lazy(data):
    values = np.stack([time_values(data), time_values(data)[::-1]])
    arr = xr.DataArray(values, dims=("y", "x"), coords={"x": np.arange(8.0) ** 2}, name="t")
    with raise_if_dask_computes():
        dy, dx = gradient(arr.chunk({"x": 3, "y": 1}), datetime_unit="h")
    with dask.config.set(scheduler="sync"):
        for row in range(2):  # xarray's builtin min() fails on 2-D cftime: row by row
            assert_close(dx[row], arr[row].differentiate("x", datetime_unit="h"))
        hours = (values[1] - values[0]) / np.timedelta64(1, "h")  # two rows: one difference
        assert_close(dy, np.broadcast_to(hours.astype(float), values.shape))


def test_dask_object_data_that_is_not_cftime_names_the_variable():
    arr = xr.DataArray(np.array(list("abcdef"), dtype=object), dims="x", name="label")
    with raise_if_dask_computes():
        (out,) = gradient(arr.chunk({"x": 3}))
    with pytest.raises(TypeError, match=r"variable 'label' holds str objects"):
        out.compute(scheduler="sync")
    with pytest.raises(TypeError, match=r"input has dtype object"):
        gradient(arr)  # NumPy-backed: looked at at once


# --- numpy's own TestGradient, from the installed wheel ----------------------------------------

try:
    with warnings.catch_warnings():  # its marks (thread_unsafe) are registered in numpy's conftest
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        from numpy.lib.tests import test_function_base as _upstream
except ImportError:  # a numpy built without its tests
    _upstream = None


@pytest.mark.skipif(_upstream is None, reason="numpy installed without its tests")
class TestNumpysTestGradient(_upstream.TestGradient if _upstream else object):
    """Every method of numpy's TestGradient with its ``gradient`` replaced by np_gradient.

    Left out: ``test_args``, which matches numpy's message ("scalars or 1d") for 2-D spacing,
    where np_gradient raises the same ValueError in its own words (test_api.py checks it), and
    ``test_specific_axes`` (below).
    test_masked's second half and test_second_order_accurate call ``np.gradient`` by name, so
    those lines still test numpy; the ports above cover them for np_gradient.
    """

    test_args = None
    # its vararg-order check wants dx / 2.0 bit for bit; the kernel multiplies by 1 / (2 h)
    # and agrees to rounding (the ports above check the AxisError part; test_api the orders)
    test_specific_axes = None

    @pytest.fixture(autouse=True)
    def _ours(self, monkeypatch):  # raises if numpy's module ever stops naming it `gradient`
        monkeypatch.setattr(_upstream, "gradient", np_gradient)
