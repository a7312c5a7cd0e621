"""nan_policy="omit": NaN holes end runs of valid points; each point uses the best stencil there.

The reference (``tests.test_stencil.reference``) walks every line along the axis in pure Python,
finds its runs of valid points (wrapping on periodic axes), picks each point's window by the
rules of issue 10 and weighs it with its own Fornberg routine.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daskgrad import gradient

from .conftest import raise_if_dask_computes
from .test_properties import chunks
from .test_stencil import assert_close, compute, reference, stretched

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
P = np.polynomial.polynomial


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_hand_computed_accuracy_2(kind):
    # x**2 at x = 0..5 with holes at 3 and 7, and an isolated valid point at 8
    f = np.array([0.0, 1.0, 4.0, np.nan, 16.0, 25.0, 36.0, np.nan, 3.0])
    # true edge: 2-point; next to a hole: numpy's 3-point one-sided formula (exact for x**2)
    expected = [1.0, 2.0, 4.0, np.nan, 8.0, 10.0, 12.0, np.nan, np.nan]
    inp = f if kind == "numpy" else da.from_array(f, chunks=1)
    (ours,) = gradient(inp, nan_policy="omit")
    ours = compute((ours,))[0] if kind == "dask" else ours
    np.testing.assert_allclose(ours, expected, rtol=1e-14, equal_nan=True)
    (ours,) = gradient(inp, nan_policy="omit", edge_order=2)
    ours = compute((ours,))[0] if kind == "dask" else ours
    np.testing.assert_allclose(ours, [0.0, *expected[1:]], rtol=1e-14, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_hand_computed_short_edge_run_and_complex(kind):
    # edge_order=2 at a true edge of a 2-point run: the 2-point difference is all there is
    f = np.array([1.0, 4.0, np.nan, 0.0, 1.0, 4.0, 9.0])
    inp = f if kind == "numpy" else da.from_array(f, chunks=2)
    (ours,) = gradient(inp, nan_policy="omit", edge_order=2)
    ours = compute((ours,))[0] if kind == "dask" else ours
    np.testing.assert_allclose(ours, [3.0, 3.0, np.nan, 0.0, 2.0, 4.0, 6.0], atol=1e-14)
    # complex data: real and imaginary parts are differentiated alike, NaN points stay NaN
    z = np.arange(10.0) ** 2 + 1j * np.arange(10.0) ** 3
    z[4] = np.nan
    inp = z if kind == "numpy" else da.from_array(z, chunks=3)
    (ours,) = gradient(inp, accuracy=4, nan_policy="omit")
    ours = compute((ours,))[0] if kind == "dask" else ours
    assert ours.dtype == np.complex128 and np.isnan(ours[4])
    x = np.arange(10.0)
    ok = np.arange(10) != 4
    np.testing.assert_allclose(ours[ok], (2 * x + 3j * x**2)[ok], rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("p", [4, 6, 8])
def test_runs_are_exact_for_the_degree_they_allow(kind, uniform, p):
    """A run of L points is exact for degree min(p, L-1): short runs use all their points."""
    runs, at = [], 0
    for length in [p + 1, 1, 2, 3, p - 1, p, p + 2, 2]:
        runs.append(slice(at, at + length))
        at += length + 1  # one hole after every run
    n = at - 1
    valid = np.zeros(n, bool)
    for run in runs:
        valid[run] = True
    rng = np.random.default_rng(p)
    x = np.cumsum(rng.uniform(0.5, 1.5, n)) / 10
    xs = np.arange(n) * 0.1 if uniform else x
    spacing = [0.1 if uniform else x]
    for q in range(1, p + 1):
        c = rng.standard_normal(q + 1)
        f = np.where(valid, P.polyval(xs, c), np.nan)
        inp = f if kind == "numpy" else da.from_array(f, chunks=3)
        (ours,) = gradient(inp, spacing=spacing, accuracy=p, nan_policy="omit")
        ours = compute((ours,))[0] if kind == "dask" else ours
        assert np.isnan(ours[~valid]).all()
        exact = P.polyval(xs, P.polyder(c))
        atol = 1e-9 * np.nanmax(np.abs(f)) / np.min(np.diff(xs))
        for run in runs:
            length = run.stop - run.start
            if length == 1:
                assert np.isnan(ours[run]).all()
            elif length - 1 >= q:
                np.testing.assert_allclose(
                    ours[run], exact[run], rtol=0, atol=atol, err_msg=f"run {run}, degree {q}"
                )


@st.composite
def omit_problems(draw, with_nans=True):
    p = draw(st.sampled_from([2, 4, 6, 8]))
    edge_order = draw(st.sampled_from([1, 2])) if p == 2 else 1
    ndim = draw(st.integers(1, 3))
    axes = draw(st.permutations(range(ndim)).map(list))
    axes = axes[: draw(st.integers(1, ndim))]
    extra = {1: 24, 2: 6, 3: 3}[ndim]
    shape = tuple(
        draw(st.integers(p + 1, p + 1 + extra)) if ax in axes else draw(st.integers(1, 3))
        for ax in range(ndim)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    f = rng.standard_normal(shape)
    if with_nans:
        f[rng.random(shape) < draw(st.floats(0.0, 0.6))] = np.nan
    spacing, steps, periodic, periods = [], [], {}, []
    for ax in axes:
        kind = draw(st.sampled_from(["scalar", "numpy", "dask", "even"]))
        wrap = draw(st.booleans())
        if kind == "scalar":
            h = draw(st.sampled_from([1.0, 0.5, -2.0]))
            spacing.append(h)
            steps.append(h)
            periods.append(True if wrap else None)
            if wrap:
                periodic[ax] = abs(h) * shape[ax]
            continue
        if kind == "even":  # equal steps, but a coordinate array: the coordinate windows
            h = draw(st.sampled_from([0.5, -2.0]))
            x = h * np.arange(shape[ax]) + 1.0
            gap = abs(h) if draw(st.booleans()) else rng.uniform(0.2, 2.0)
        else:
            x = (np.cumsum(rng.uniform(0.2, 2.0, shape[ax])) - 3.0) * draw(st.sampled_from([1, -1]))
            gap = rng.uniform(0.2, 2.0)
        steps.append(x)
        spacing.append(x if kind != "dask" else da.from_array(x, chunks=draw(chunks(x.shape))))
        period = float(abs(x[-1] - x[0]) + gap) if wrap else None
        periods.append(period)
        if wrap:
            periodic[ax] = period
    return p, edge_order, f, axes, spacing, steps, periodic, periods


@SETTINGS
@given(problem=omit_problems(), data=st.data())
def test_matches_reference(problem, data):
    p, edge_order, f, axes, spacing, steps, periodic, periods = problem
    ref = tuple(
        reference(f, ax, p, s, edge_order=edge_order, period=per, omit=True)
        for ax, s, per in zip(axes, steps, periods, strict=True)
    )
    options = dict(dim=axes, accuracy=p, edge_order=edge_order, nan_policy="omit")
    if data.draw(st.booleans(), label="dask"):
        x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
        outs = gradient(x, spacing=spacing, periodic=periodic, **options)
        assert all(o.chunks == x.chunks for o in outs)
        ours = compute(outs)
    else:
        plain = [np.asarray(s) for s in spacing]
        ours = gradient(f, spacing=plain, periodic=periodic, **options)
    assert_close(ours, ref, f, steps)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=omit_problems(with_nans=False), data=st.data())
def test_without_nans_omit_equals_propagate(problem, data):
    p, edge_order, f, axes, spacing, steps, periodic, _ = problem
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    options = dict(spacing=spacing, dim=axes, accuracy=p, edge_order=edge_order, periodic=periodic)
    omit = compute(gradient(x, nan_policy="omit", **options))
    propagate = compute(gradient(x, **options))
    assert_close(omit, propagate, f, steps, rtol=1e-13)


@pytest.mark.parametrize("h", [2.0, -2.0])
@pytest.mark.parametrize("p", [4, 6])
def test_periodic_period_given_for_a_scalar_step_is_the_same_axis(h, p):
    """periodic={dim: n*|h|} with a scalar step is periodic=[dim]: the uniform windows."""
    n = 2 * p + 6  # runs long enough that the uniform and coordinate windows differ
    f = np.random.default_rng(p).standard_normal((3, n))
    f[:, 3] = np.nan
    f[1, p + 6] = np.nan
    ref = reference(f, 1, p, h, period=True, omit=True)
    for periodic in ([1], {1: n * abs(h)}):
        (ours,) = gradient(f, spacing=h, dim=1, periodic=periodic, accuracy=p, nan_policy="omit")
        assert_close((ours,), (ref,), f, [h])


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("p", [2, 4, 6, 8])
def test_nan_points_stay_nan_and_isolated_points_give_nan(kind, p):
    rng = np.random.default_rng(p)
    f = rng.standard_normal((12, 16))
    f[:, 1::2] = np.nan  # along axis 1 every valid point is isolated
    f[5, :] = np.nan
    inp = f if kind == "numpy" else da.from_array(f, chunks=(1, 5))
    d0, d1 = gradient(inp, accuracy=p, nan_policy="omit")
    d0, d1 = compute((d0, d1)) if kind == "dask" else (d0, d1)
    assert np.isnan(d1).all()
    assert np.isnan(d0[np.isnan(f)]).all()
    # columns 0, 2, ... are runs 0..4 and 6..11 along axis 0: all finite
    assert np.isfinite(d0[:, ::2][np.arange(12) != 5]).all()
    (wrapped,) = gradient(inp, accuracy=p, nan_policy="omit", dim=1, periodic=True)
    wrapped = compute((wrapped,))[0] if kind == "dask" else wrapped
    assert np.isnan(wrapped).all()


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_propagate_at_accuracy_2_is_numpys_nan_pattern(kind, edge_order):
    rng = np.random.default_rng(edge_order)
    f = rng.standard_normal((9, 11))
    f[rng.random(f.shape) < 0.2] = np.nan
    x = np.cumsum(rng.uniform(0.2, 2.0, 11))
    inp = f if kind == "numpy" else da.from_array(f, chunks=(2, 3))
    for spacing in ([0.5, 2.0], [0.5, x]):
        ref = np.gradient(f, *spacing, edge_order=edge_order)
        ours = gradient(inp, spacing=spacing, edge_order=edge_order)
        ours = compute(ours) if kind == "dask" else ours
        assert_close(ours, ref, f, spacing, rtol=1e-12)


# --- a coastline ------------------------------------------------------------------------------


def _coast_field(X, Y):
    f = np.sin(2.0 * X + 0.3) * np.exp(0.8 * Y) + np.cos(1.7 * Y) * np.exp(-0.5 * X)
    fx = 2.0 * np.cos(2.0 * X + 0.3) * np.exp(0.8 * Y) - 0.5 * np.cos(1.7 * Y) * np.exp(-0.5 * X)
    fy = 0.8 * np.sin(2.0 * X + 0.3) * np.exp(0.8 * Y) - 1.7 * np.sin(1.7 * Y) * np.exp(-0.5 * X)
    return f, fx, fy


def _next_to(land, axis, d):
    """Sea points with land within d points along ``axis``."""
    out = np.zeros_like(land)
    for k in range(1, d + 1):
        out |= np.roll(land, k, axis) | np.roll(land, -k, axis)
    return out & ~land


COAST_SIZES = {2: [40, 80, 160, 320], 4: [40, 80, 160, 320], 6: [30, 60, 120, 240]}


@pytest.mark.parametrize("p", [2, 4, 6])
@pytest.mark.parametrize("grid", ["uniform", "stretched"])
def test_coastline_converges_at_order_p(p, grid):
    """An island in a smooth field: next to its coast the error falls as h**p."""
    errors, hs = [], []
    for n in COAST_SIZES[p]:
        x = stretched(n, 0.3 if grid == "stretched" else 0.0) * 2.0
        y = stretched(3 * n // 4, -0.25 if grid == "stretched" else 0.0) * 1.5
        X, Y = np.meshgrid(x, y, indexing="ij")
        f, fx, fy = _coast_field(X, Y)
        land = ((X - 1.0) / 0.35) ** 2 + ((Y - 0.75) / 0.3) ** 2 < 1
        f[land] = np.nan
        spacing = [x, y] if grid == "stretched" else [x[1] - x[0], y[1] - y[0]]
        gx, gy = gradient(f, spacing=spacing, accuracy=p, nan_policy="omit")
        assert np.isnan(gx[land]).all() and np.isnan(gy[land]).all()
        assert np.isfinite(gx[~land]).all() and np.isfinite(gy[~land]).all()
        d = max(p // 2, 2)
        coast_x, coast_y = _next_to(land, 0, d), _next_to(land, 1, d)
        errors.append(max(np.max(np.abs(gx - fx)[coast_x]), np.max(np.abs(gy - fy)[coast_y])))
        hs.append(np.max(np.diff(x)))
    order = float(np.polyfit(np.log(hs), np.log(errors), 1)[0])
    assert abs(order - p) <= 0.5, (order, errors)


# --- xarray, laziness, dtypes -----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("p", [2, 4])
def test_xarray_and_accessor(backend, p):
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.uniform(0.3, 1.5, 14))
    values = rng.standard_normal((6, 14))
    values[rng.random(values.shape) < 0.3] = np.nan
    T = xr.DataArray(values, dims=("y", "x"), coords={"x": x}, name="T")
    T = T.chunk({"y": 2, "x": 3}) if backend == "dask" else T
    with raise_if_dask_computes():
        (dx,) = gradient(T, dim="x", accuracy=p, nan_policy="omit")
        dy, dx2 = T.grad(accuracy=p, nan_policy="omit")
        ds = gradient(T.to_dataset(), dim="x", accuracy=p, nan_policy="omit")
    assert dx.chunks == T.chunks
    with dask.config.set(scheduler="sync"):
        ref_x = reference(values, 1, p, x, omit=True)
        assert_close((dx.values, dx2.values, ds["dT_dx"].values), (ref_x,) * 3, values, [x])
        assert_close((dy.values,), (reference(values, 0, p, 1.0, omit=True),), values, [1.0])


def test_building_the_graph_computes_nothing():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((12, 11, 10))
    f[rng.random(f.shape) < 0.3] = np.nan
    x = da.from_array(np.cumsum(rng.uniform(0.2, 2.0, 11)), chunks=4)
    arr = da.from_array(f, chunks=(1, 5, 3))
    with raise_if_dask_computes():
        for p in [2, 4, 6, 8]:
            outs = gradient(
                arr, spacing=[0.5, x, 2.0], accuracy=p, periodic={1: 30.0}, nan_policy="omit"
            )
            assert all(o.chunks == arr.chunks for o in outs)


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_float32_stays_float32(kind):
    rng = np.random.default_rng(4)
    f = rng.standard_normal((10, 12))
    f[rng.random(f.shape) < 0.3] = np.nan
    f32 = f.astype(np.float32)
    inp = f32 if kind == "numpy" else da.from_array(f32, chunks=4)
    ours = gradient(inp, spacing=[0.5, 2.0], accuracy=4, nan_policy="omit")
    ours = compute(ours) if kind == "dask" else ours
    assert all(o.dtype == np.float32 for o in ours)
    wide = f32.astype(np.float64)
    ref = (reference(wide, 0, 4, 0.5, omit=True), reference(wide, 1, 4, 2.0, omit=True))
    assert_close(ours, ref, wide, [0.5, 2.0], rtol=1e-5)
