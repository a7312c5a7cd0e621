"""daskgrad.gradient / np_gradient on NumPy and dask arrays: every rule of the README's "Arrays"."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

import daskgrad
from daskgrad import gradient, np_gradient

from .conftest import assert_gradients_close, raise_if_dask_computes

RNG = np.random.default_rng(42)
F3 = RNG.standard_normal((6, 7, 8))
XS3 = [np.cumsum(RNG.uniform(0.3, 1.7, n)) for n in F3.shape]


def as_input(f, kind, chunks=3):
    return da.from_array(f, chunks=chunks) if kind == "dask" else f


def compute(res):
    return tuple(np.asarray(r) for r in dask.compute(*res, scheduler="sync"))


KINDS = ["numpy", "dask"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_default_all_dims_unit_spacing(kind, edge_order):
    res = gradient(as_input(F3, kind), edge_order=edge_order)
    assert isinstance(res, tuple) and len(res) == 3
    assert_gradients_close(compute(res), np.gradient(F3, edge_order=edge_order), F3)


@pytest.mark.parametrize("kind", KINDS)
def test_numpy_in_numpy_out_dask_in_lazy_dask_out(kind):
    res = gradient(as_input(F3, kind, chunks=(2, 7, 3)))
    if kind == "numpy":
        assert all(type(r) is np.ndarray for r in res)
    else:
        assert all(
            isinstance(r, da.Array) and r.chunks == ((2, 2, 2), (7,), (3, 3, 2)) for r in res
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "spacing",
    [2.5, np.float32(0.5), np.array(3.0), [2.0, -1.0, 3.0], XS3, [XS3[0], 2.0, list(XS3[2])]],
    ids=["scalar", "np-scalar", "0d-array", "per-dim", "coords", "mixed"],
)
def test_spacing_forms(kind, spacing):
    res = compute(gradient(as_input(F3, kind), spacing=spacing))
    varargs = spacing if isinstance(spacing, list) else [spacing]
    ref = np.gradient(F3, *varargs)
    steps = [np.asarray(s, float) for s in varargs]
    assert_gradients_close(res, ref, F3, steps)


def test_dask_coordinates_stay_lazy_and_match():
    f = da.from_array(F3, chunks=(4, 3, 5))
    coords = [da.from_array(x, chunks=2) for x in XS3]
    with raise_if_dask_computes():
        res = gradient(f, spacing=coords, edge_order=2)
    assert_gradients_close(compute(res), np.gradient(F3, *XS3, edge_order=2), F3, XS3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dim", [0, -1, [2, 0], (1,), [-3, -2]])
def test_dim_subsets_in_given_order(kind, dim):
    res = compute(gradient(as_input(F3, kind), dim=dim, spacing=2.0))
    ref = np.gradient(F3, 2.0, axis=dim)
    assert_gradients_close(res, ref if isinstance(ref, tuple) else (ref,), F3, [2.0])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "dtype,expected",
    [
        (np.int8, np.float64),
        (np.uint8, np.float64),
        (np.int64, np.float64),
        (np.float16, np.float16),
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.complex64, np.complex64),
        (np.complex128, np.complex128),
    ],
)
def test_dtypes_follow_numpy(kind, dtype, expected):
    f = (RNG.integers(0, 100, (5, 6)) + (1j if np.dtype(dtype).kind == "c" else 0)).astype(dtype)
    res = gradient(as_input(f, kind))
    assert all(r.dtype == expected for r in res)
    ref = np.gradient(f)
    assert all(r.dtype == expected for r in ref)
    rtol = {np.float16: 1e-3, np.float32: 1e-6, np.complex64: 1e-6}.get(dtype, 1e-12)
    for o, r in zip(compute(res), ref, strict=True):
        np.testing.assert_allclose(o, r, rtol=rtol, atol=rtol * np.abs(f).max())


def test_uint8_does_not_wrap_around():
    (res,) = gradient(np.array([250, 5, 0], dtype=np.uint8))
    np.testing.assert_array_equal(res, [-245.0, -125.0, -5.0])


def test_zero_d_gives_empty_tuple():
    assert gradient(np.float64(3.0)) == ()
    assert gradient(da.from_array(np.array(3.0))) == ()


def test_array_likes_and_non_differentiated_short_dims():
    res = gradient([[1, 2, 4, 8]], dim=1)
    np.testing.assert_array_equal(res[0], [[1.0, 1.5, 3.0, 4.0]])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_periodic_uniform_matches_wrap_padded_numpy(kind, edge_order):
    f = F3
    res = compute(
        gradient(as_input(f, kind), spacing=[0.5, 2.0, 1.0], periodic=[0, 2], edge_order=edge_order)
    )
    padded = np.pad(f, [(1, 1), (0, 0), (1, 1)], mode="wrap")
    ref = np.gradient(padded, 0.5, 2.0, 1.0, edge_order=edge_order)
    ref = tuple(r[1:-1, :, 1:-1] for r in ref)
    assert_gradients_close(res, ref, f, [0.5])


@pytest.mark.parametrize("kind", KINDS)
def test_periodic_coordinates_with_period(kind):
    lon = np.sort(RNG.uniform(0, 360, 8))
    f = np.sin(np.deg2rad(lon))[None, :] * np.ones((3, 1))
    res = compute(gradient(as_input(f, kind), spacing=[lon], dim=1, periodic={1: 360.0}))
    ext = np.concatenate([[lon[-1] - 360], lon, [lon[0] + 360]])
    padded = np.pad(f, [(0, 0), (1, 1)], mode="wrap")
    ref = np.gradient(padded, ext, axis=1)[:, 1:-1]
    assert_gradients_close(res, (ref,), f, [ext])


def test_periodic_dask_coordinates_decreasing():
    lat = np.linspace(80, -80, 9)
    f = np.cos(np.deg2rad(lat)) ** 2
    res = compute(
        gradient(
            da.from_array(f, chunks=4), spacing=[da.from_array(lat, chunks=5)], periodic={0: 180.0}
        )
    )
    ext = np.concatenate([[lat[-1] + 180 - 360], lat, [lat[0] - 180 + 0]])
    ext = np.concatenate([[lat[-1] + 180], lat, [lat[0] - 180]])
    ref = np.gradient(np.pad(f, 1, mode="wrap"), ext)[1:-1]
    assert_gradients_close(res, (ref,), f, [ext])


def test_periodic_scalar_spacing_with_other_period_uses_coordinates():
    f = RNG.standard_normal(6)
    (res,) = gradient(f, spacing=1.0, periodic={0: 8.0})
    x = np.arange(6.0)
    ext = np.concatenate([[x[-1] - 8.0], x, [x[0] + 8.0]])
    ref = np.gradient(np.pad(f, 1, mode="wrap"), ext)[1:-1]
    np.testing.assert_allclose(res, ref, rtol=1e-12)


def test_periodic_dims_need_only_one_point():
    (res,) = gradient(np.array([[5.0, 6.0]]), dim=0, periodic=True)
    np.testing.assert_array_equal(res, [[0.0, 0.0]])


# --- np_gradient ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((), {}),
        ((2.0,), {}),
        ((2.0, 3.0, 0.5), {}),
        (tuple(XS3), {"edge_order": 2}),
        ((), {"axis": 1}),
        ((XS3[2],), {"axis": -1}),
        ((1.5, XS3[0]), {"axis": (1, 0)}),
    ],
)
def test_np_gradient_is_a_drop_in(kind, args, kwargs):
    ours = np_gradient(as_input(F3, kind), *args, **kwargs)
    ref = np.gradient(F3, *args, **kwargs)
    assert type(ours) is type(ref) or isinstance(ours, da.Array)
    ours = compute(ours if isinstance(ours, tuple) else (ours,))
    ref = ref if isinstance(ref, tuple) else (ref,)
    steps = [np.asarray(a, float) for a in args] or [1.0]
    assert_gradients_close(ours, ref, F3, steps)


def test_np_gradient_one_d_returns_array():
    assert isinstance(np_gradient([1.0, 2.0, 4.0]), np.ndarray)


def test_np_gradient_wrong_number_of_varargs():
    with pytest.raises(TypeError, match="3 spacing arguments for 2 axes"):
        np_gradient(np.ones((3, 3)), 1.0, 2.0, 3.0)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"dim": 3}, IndexError, r"dim 3 is out of range for an input with 3 dims"),
        ({"dim": -4}, IndexError, r"dim -4 is out of range"),
        ({"dim": [0, -3]}, ValueError, r"dim has repeated entries"),
        ({"dim": 1.0}, TypeError, r"dim must be .* got 1.0"),
        ({"dim": "x"}, TypeError, r"got 'x'"),
        ({"edge_order": 0}, ValueError, r"edge_order must be 1 or 2; got 0"),
        ({"edge_order": 3}, ValueError, r"edge_order must be 1 or 2; got 3"),
        ({"edge_order": 1.5}, ValueError, r"edge_order must be 1 or 2; got 1.5"),
        ({"edge_order": True}, ValueError, r"edge_order must be 1 or 2; got True"),
        ({"spacing": [1.0]}, ValueError, r"spacing has 1 entries but 3 dims are differentiated"),
        ({"spacing": [1.0, 2.0], "dim": 0}, ValueError, r"spacing has 2 entries but 1 dims"),
        ({"spacing": 0.0}, ValueError, r"spacing must be finite and non-zero; got 0.0"),
        ({"spacing": np.nan}, ValueError, r"spacing must be finite and non-zero"),
        ({"spacing": 1j}, TypeError, r"spacing must be a real number"),
        ({"spacing": "1"}, TypeError, r"spacing must be None, a scalar, or a sequence"),
        ({"spacing": {0: 1.0}}, TypeError, r"spacing must be None, a scalar, or a sequence"),
        (
            {"spacing": [np.arange(5.0)], "dim": 0},
            ValueError,
            r"spacing\[0\] \(dim 0\) has 5 coordinates but the dim it spaces has 6 points",
        ),
        (
            {"spacing": [np.ones((6, 1))], "dim": 0},
            ValueError,
            r"spacing\[0\] \(dim 0\) must be a scalar or a 1-D coordinate array; got 2 dims",
        ),
        (
            {"spacing": [np.array([0, 1, 1, 2, 3, 4.0])], "dim": 0},
            ValueError,
            r"spacing\[0\] \(dim 0\) repeats the value 1.0 at positions 1 and 2",
        ),
        (
            {"spacing": [np.array(["a"] * 6)], "dim": 0},
            TypeError,
            r"spacing\[0\] \(dim 0\) must hold real numbers",
        ),
        (
            {"periodic": [1], "spacing": [XS3[1]], "dim": 1},
            ValueError,
            r"dim 1 is periodic with coordinate spacing, so its period is required",
        ),
        (
            {"periodic": {1: 3.0}, "spacing": [XS3[1]], "dim": 1},
            ValueError,
            r"period 3.0 of dim 1 is not larger than the coordinate range",
        ),
        (
            {"periodic": [2], "dim": 0},
            ValueError,
            r"periodic dim 2 is not one of the differentiated dims \(0,\)",
        ),
        ({"periodic": [5]}, IndexError, r"periodic dim 5 is out of range"),
        ({"periodic": "x"}, TypeError, r"periodic must be None, True, an int"),
        ({"datetime_unit": "s"}, TypeError, r"datetime_unit applies to xarray input only"),
    ],
)
def test_bad_arguments_name_the_culprit(kind, kwargs, exc, match):
    with raise_if_dask_computes(), pytest.raises(exc, match=match):
        gradient(as_input(F3, kind), **kwargs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("edge_order,n", [(1, 1), (2, 2)])
def test_too_short_dim_names_dim_and_size(kind, edge_order, n):
    f = np.ones((n, 9))
    with pytest.raises(
        ValueError,
        match=rf"dim 0 has {n} points; edge_order={edge_order} needs at least {edge_order + 1}",
    ):
        gradient(as_input(f, kind), edge_order=edge_order)
    gradient(as_input(f, kind), dim=1, edge_order=edge_order)  # other dims are unconstrained


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [bool, object, "U3", "S3"])
def test_non_numeric_dtypes_are_type_errors(kind, dtype):
    f = np.zeros((4, 4), dtype=dtype)
    with pytest.raises(TypeError, match=r"input has dtype"):
        gradient(f if kind == "numpy" or dtype in ("U3", "S3", object) else da.from_array(f))


def test_package_exports():
    assert set(daskgrad.__all__) >= {"gradient", "np_gradient"}


@pytest.mark.parametrize("edge_order", [1, 2])
def test_numpy_input_large_enough_for_threads(edge_order):
    # over _numpy._THREAD_MIN_BYTES, so row-blocks run on threads and meet at ghost planes
    rng = np.random.default_rng(5)
    f = rng.standard_normal((131, 100, 101))
    assert f.nbytes > 8 << 20
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for n in f.shape]
    res = gradient(f, spacing=xs, edge_order=edge_order)
    assert_gradients_close(res, np.gradient(f, *xs, edge_order=edge_order), f, xs)
    # periodic along the split axis: uniform, then coordinates with a period
    padded = np.pad(f, [(1, 1), (0, 0), (0, 0)], mode="wrap")
    res = gradient(f, spacing=[0.5, xs[1]], dim=[0, 1], periodic=[0], edge_order=edge_order)
    ref = np.gradient(padded, 0.5, xs[1], axis=(0, 1), edge_order=edge_order)
    assert_gradients_close(res, tuple(r[1:-1] for r in ref), f, [0.5, xs[1]])
    period = xs[0][-1] - xs[0][0] + 0.7
    (res,) = gradient(f, spacing=[xs[0]], dim=0, periodic={0: period})
    ext = np.concatenate([[xs[0][-1] - period], xs[0], [xs[0][0] + period]])
    ref = np.gradient(padded, ext, axis=0)[1:-1]
    assert_gradients_close((res,), (ref,), f, [ext])
