"""accuracy=4, 6, 8 against findiff, a Fornberg reference, exact polynomials and convergence."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daskgrad import gradient

from .conftest import assert_gradients_close, raise_if_dask_computes
from .test_properties import chunks, problems

findiff = pytest.importorskip("findiff")

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORDERS = [4, 6, 8]


# --- the reference: Fornberg weights on the window the spec picks ---------------------------


def fornberg(x0, nodes):
    """First-derivative weights at ``x0`` on ``nodes`` (Fornberg 1988, Math. Comp. 51, 699)."""
    n = len(nodes)
    c = [[0.0, 0.0] for _ in range(n)]  # c[j][k]: weight of node j for the k-th derivative
    c[0][0] = 1.0
    c1, c4 = 1.0, nodes[0] - x0
    for i in range(1, n):
        c2, c5, c4 = 1.0, c4, nodes[i] - x0
        for j in range(i):
            c3 = nodes[i] - nodes[j]
            c2 *= c3
            if j == i - 1:
                c[i][1] = c1 * (c[i - 1][0] - c5 * c[i - 1][1]) / c2
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2
            c[j][1] = (c4 * c[j][1] - c[j][0]) / c3
            c[j][0] = c4 * c[j][0] / c3
        c1 = c2
    return [row[1] for row in c]


def window(i, a, b, p, uniform, edge_order=1, true_lo=True, true_hi=True):
    """The nodes of point i in its run [a, b] (None: no derivative), as the spec chooses them."""
    size = b - a + 1
    if size == 1:
        return None
    if p == 2:
        if a < i < b:
            return range(i - 1, i + 2)
        true_edge = true_lo if i == a else true_hi
        m = min(edge_order + 1 if true_edge else 3, size)
        return range(a, a + m) if i == a else range(b - m + 1, b + 1)
    d = p // 2
    if i - a >= d and b - i >= d:
        return range(i - d, i + d + 1)
    m = min(p + 1, size)
    if i - a < d:
        start = min(i, b - m + 1) if uniform else a
    else:
        start = max(i - m + 1, a) if uniform else b - m + 1
    return range(start, start + m)


def _runs(valid, periodic):
    """Runs of valid points as (a, b, true_lo, true_hi) in unwrapped indices."""
    n = valid.size
    if periodic:
        if valid.all():
            return "wrap"
        s = int(np.flatnonzero(~valid)[0])
        order = range(s + 1, s + n + 1)
    else:
        order = range(n)
    runs, start = [], None
    for j in [*order, None]:
        if j is not None and valid[j % n]:
            start = j if start is None else start
        elif start is not None:
            last = j - 1 if j is not None else order[-1]
            runs.append((start, last, not periodic and start == 0, not periodic and last == n - 1))
            start = None
    return runs


def reference(f, axis, p, step, *, edge_order=1, period=None, omit=False):
    """Pure-Python derivative of ``f`` along ``axis`` by the spec's rules, line by line.

    ``step``: a float (uniform) or a 1-D coordinate array; ``period``: None for a non-periodic
    axis, else True (uniform) or the coordinates' period.
    """
    f = np.asarray(f)
    n = f.shape[axis]
    uniform = np.ndim(step) == 0
    x = None if uniform else np.asarray(step, dtype=float)

    # the coordinates wrap in their own direction: decreasing ones continue below x[-1]
    ahead = 1.0 if uniform or n < 2 else float(np.sign(x[-1] - x[0]))

    def pos(j):
        if uniform:
            return j * float(step)
        return x[j % n] + (ahead * abs(period) * (j // n) if period is not None else 0.0)

    lines = np.moveaxis(f, axis, -1).reshape(-1, n)
    out = np.full(lines.shape, np.nan, dtype=np.result_type(f.dtype, np.float64))
    cache = {}
    d = p // 2
    for line, res in zip(lines, out, strict=True):
        valid = ~np.isnan(line) if omit else np.ones(n, bool)
        runs = _runs(valid, period is not None)
        if runs == "wrap":
            stencils = [(i, range(i - d, i + d + 1)) for i in range(n)]
        else:
            stencils = [
                (i, window(i, a, b, p, uniform, edge_order, lo, hi))
                for a, b, lo, hi in runs
                for i in range(a, b + 1)
            ]
        for i, nodes in stencils:
            if nodes is None:
                continue
            key = (i, tuple(nodes))
            if key not in cache:
                cache[key] = fornberg(pos(i), [pos(j) for j in nodes])
            res[i % n] = sum(w * line[j % n] for w, j in zip(cache[key], nodes, strict=True))
    return np.moveaxis(out.reshape(np.moveaxis(f, axis, -1).shape), -1, axis)


def diff(f, axis, step, p):
    """findiff's derivative; it takes positive steps only (a negative one flips the sign)."""
    if np.ndim(step) == 0 and step < 0:
        return -findiff.Diff(axis, -float(step), acc=p)(f)
    return findiff.Diff(axis, step, acc=p)(f)


def findiff_rtol(steps):
    """findiff's own rounding: exact rational weights for a step, a linear solve for coordinates."""
    return 1e-8 if any(np.ndim(s) for s in steps) else 1e-10


def compute(res):
    return tuple(np.asarray(r) for r in dask.compute(*res, scheduler="sync"))


def assert_close(ours, ref, f, steps, rtol=1e-9):
    """rtol, and atol = rtol·max|f|/min step; NaNs must sit at the same places."""
    fmax = float(np.nanmax(np.abs(f))) if np.size(f) and not np.isnan(f).all() else 1.0
    hs = [np.abs(np.diff(s)) if np.ndim(s) else [abs(float(s))] for s in steps]
    hmin = min((float(np.min(h)) for h in hs if len(h)), default=1.0)
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref, strict=True):
        assert o.shape == r.shape
        np.testing.assert_allclose(o, r, rtol=rtol, atol=rtol * fmax / hmin, equal_nan=True)


def test_reference_weights_are_findiffs_and_numpys():
    for p in [2, *ORDERS]:
        for scheme in findiff.coefficients(1, p).values():
            ours = fornberg(0.0, [float(k) for k in scheme["offsets"]])
            np.testing.assert_allclose(ours, scheme["coefficients"], atol=1e-12)
    x = np.cumsum(np.random.default_rng(1).uniform(0.2, 2.0, 9))
    f = np.sin(x)
    for edge_order in (1, 2):
        ref = np.gradient(f, x, edge_order=edge_order)
        np.testing.assert_allclose(reference(f, 0, 2, x, edge_order=edge_order), ref, rtol=1e-12)
    for p in ORDERS:  # with n >= 3p/2 findiff's rules are the reference's
        n = 3 * p // 2 + 1
        f = np.sin(x[0] + np.arange(n))
        for step in (0.7, np.cumsum(np.random.default_rng(p).uniform(0.2, 2.0, n))):
            ref = findiff.Diff(0, step, acc=p)(f)
            np.testing.assert_allclose(reference(f, 0, p, step), ref, rtol=1e-9, atol=1e-9)


# --- findiff on NumPy and dask input, every chunking ------------------------------------------


@st.composite
def stencil_problems(draw, orders=(4, 6), periodic=False):
    p = draw(st.sampled_from(orders))
    ndim = draw(st.integers(1, 3))
    axes = draw(st.permutations(range(ndim)).map(list))
    axes = axes[: draw(st.integers(1, ndim))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = {ax: draw(st.sampled_from(["scalar", "numpy", "dask"])) for ax in axes}
    extra = 6 if ndim == 1 else 2
    shape = tuple(
        draw(st.integers(3 * p // 2 if kinds[ax] == "scalar" else p + 1, 3 * p // 2 + extra))
        if ax in axes
        else draw(st.integers(1, 3))
        for ax in range(ndim)
    )
    f = rng.standard_normal(shape)
    spacing, steps, periods = [], [], {}
    for ax in axes:
        if kinds[ax] == "scalar":
            h = draw(st.sampled_from([1.0, 0.25, -2.0, 3.5]))
            spacing.append(h)
            steps.append(h)
            if periodic and draw(st.booleans()):
                periods[ax] = None
            continue
        # findiff solves a Vandermonde system per point: on steps varying 10x its own weights
        # are only good to ~1e-8 at p = 6, so these grids vary 3x (the reference takes the rest)
        x = (np.cumsum(rng.uniform(0.5, 1.5, shape[ax])) - 3.0) * draw(st.sampled_from([1, -1]))
        steps.append(x)
        spacing.append(
            x if kinds[ax] == "numpy" else da.from_array(x, chunks=draw(chunks(x.shape)))
        )
        if periodic and draw(st.booleans()):
            periods[ax] = float(abs(x[-1] - x[0]) + rng.uniform(0.2, 2.0))
    return p, f, axes, spacing, steps, periods


@SETTINGS
@given(problem=stencil_problems(), data=st.data())
def test_matches_findiff(problem, data):
    p, f, axes, spacing, steps, _ = problem
    ref = tuple(diff(f, ax, s, p) for ax, s in zip(axes, steps, strict=True))
    ours = gradient(f, spacing=[np.asarray(s) for s in spacing], dim=axes, accuracy=p)
    assert all(type(o) is np.ndarray and o.dtype == np.float64 for o in ours)
    assert_close(ours, ref, f, steps, rtol=findiff_rtol(steps))
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    outs = gradient(x, spacing=spacing, dim=axes, accuracy=p)
    assert all(o.chunks == x.chunks for o in outs)
    lazy = compute(outs)
    assert_close(lazy, ref, f, steps, rtol=findiff_rtol(steps))
    exact = tuple(reference(f, ax, p, s) for ax, s in zip(axes, steps, strict=True))
    assert_close(lazy, exact, f, steps, rtol=1e-10)


@pytest.mark.parametrize("p", ORDERS)
@pytest.mark.parametrize("kind", ["numpy", "dask", "xarray"])
def test_evenly_spaced_coordinates_still_use_the_coordinate_rule(p, kind):
    """A coordinate array takes findiff's rule for coordinates (the p+1 points nearest the edge)
    even when its steps happen to be equal; only a scalar step starts the window at the point."""
    n = 3 * p // 2 + 2
    x = 0.5 * np.arange(n)  # exactly equal steps
    f = np.sin(3.0 * x)[:, None] + x[:, None] ** 5 / 10 + np.arange(3.0)[None, :]
    ref = (findiff.Diff(0, x, acc=p)(f),)
    if kind == "xarray":
        xr = pytest.importorskip("xarray")
        ours = (
            gradient(xr.DataArray(f, dims=("x", "y"), coords={"x": x}), dim="x", accuracy=p)[
                0
            ].values,
        )
    else:
        inp = f if kind == "numpy" else da.from_array(f, chunks=(2, 3))
        ours = gradient(inp, spacing=[x], dim=0, accuracy=p)
        ours = compute(ours) if kind == "dask" else ours
    assert_close(ours, ref, f, [x], rtol=findiff_rtol([x]))
    assert_close(ours, (reference(f, 0, p, x),), f, [x], rtol=1e-10)


def wrap_pad(f, steps, axes, periods, d):
    """Pad every periodic axis with d wrapped planes per side; coordinates shift by the period."""
    pad = [(d, d) if ax in periods else (0, 0) for ax in range(f.ndim)]
    ext = []
    for ax, s in zip(axes, steps, strict=True):
        if ax in periods and np.ndim(s):
            shift = np.sign(s[-1] - s[0]) * periods[ax]  # decreasing coordinates wrap downwards
            s = np.concatenate([s[-d:] - shift, s, s[:d] + shift])
        ext.append(s)
    inner = tuple(slice(d, -d) if ax in periods else slice(None) for ax in range(f.ndim))
    return np.pad(f, pad, mode="wrap"), ext, inner


@SETTINGS
@given(problem=stencil_problems(periodic=True), data=st.data())
def test_periodic_matches_wrap_padded_findiff(problem, data):
    p, f, axes, spacing, steps, periods = problem
    padded, ext, inner = wrap_pad(f, steps, axes, periods, p // 2)
    ref = tuple(diff(padded, ax, s, p)[inner] for ax, s in zip(axes, ext, strict=True))
    periodic = {
        ax: (periods[ax] if np.ndim(s) else abs(s) * f.shape[ax])
        for ax, s in zip(axes, steps, strict=True)
        if ax in periods
    }
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    outs = gradient(x, spacing=spacing, dim=axes, accuracy=p, periodic=periodic)
    assert all(o.chunks == x.chunks for o in outs)
    assert_close(compute(outs), ref, f, steps, rtol=findiff_rtol(steps))
    listed = gradient(
        f,
        spacing=[np.asarray(s) for s in spacing],
        dim=axes,
        accuracy=p,
        periodic=periodic if any(np.ndim(s) for s in steps) else list(periods),
    )
    assert_close(listed, ref, f, steps, rtol=findiff_rtol(steps))
    exact = tuple(
        reference(
            f, ax, p, s, period=(periodic[ax] if np.ndim(s) else True) if ax in periods else None
        )
        for ax, s in zip(axes, steps, strict=True)
    )
    assert_close(listed, exact, f, steps, rtol=1e-10)


@pytest.mark.parametrize("p,n", [(p, n) for p in ORDERS for n in sorted({1, 2, p // 2 + 1, p})])
def test_short_periodic_dims_wrap_around(p, n):
    """A periodic dim needs no minimum length: the stencil wraps around, repeatedly if need be."""
    rng = np.random.default_rng(n)
    f = rng.standard_normal((n, 3))
    x = np.cumsum(rng.uniform(0.2, 2.0, n))
    period = float(x[-1] - x[0] + 0.9)
    (ours,) = gradient(f, spacing=0.5, dim=0, periodic=True, accuracy=p)
    assert_close((ours,), (reference(f, 0, p, 0.5, period=True),), f, [0.5])
    (ours,) = gradient(
        da.from_array(f, chunks=1), spacing=[x], dim=0, periodic={0: period}, accuracy=p
    )
    assert_close(compute((ours,)), (reference(f, 0, p, x, period=period),), f, [x])


# --- exactness, the edge windows findiff cannot do, accuracy=2 --------------------------------


def jittered(n, rng, uniform):
    """n points on [-1, 1]: uniform, or each moved by up to 30 % of the step."""
    x = np.linspace(-1.0, 1.0, n)
    return x if uniform else x + rng.uniform(-0.3, 0.3, n) * (x[1] - x[0])


@pytest.mark.parametrize("p", ORDERS)
@pytest.mark.parametrize("extra", [0, 1, 3, 8])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_exact_on_polynomials_of_degree_p(p, extra, uniform, kind):
    """Every point, edges and dims of only p+1 points included, is exact for degree <= p."""
    P = np.polynomial.polynomial
    rng = np.random.default_rng(p * 100 + extra)
    x, y = jittered(p + 1 + extra, rng, uniform), jittered(p + 1 + extra % 2, rng, uniform)
    ca, cb = rng.standard_normal(p + 1), rng.standard_normal(p + 1)
    f = P.polyval(x, ca)[:, None] * P.polyval(y, cb)[None, :]
    exact = (
        P.polyval(x, P.polyder(ca))[:, None] * P.polyval(y, cb)[None, :],
        P.polyval(x, ca)[:, None] * P.polyval(y, P.polyder(cb))[None, :],
    )
    spacing = [x[1] - x[0], y[1] - y[0]] if uniform else [x, y]
    inp = f if kind == "numpy" else da.from_array(f, chunks=(1 + extra % 3, 2))
    ours = gradient(inp, spacing=spacing, accuracy=p)
    ours = compute(ours) if kind == "dask" else ours
    atol = 1e-10 * np.max(np.abs(f)) / min(np.min(np.diff(x)), np.min(np.diff(y)))
    for o, e in zip(ours, exact, strict=True):
        np.testing.assert_allclose(o, e, rtol=0, atol=atol)
    # the reference is exact too: it is a fair oracle for the windows findiff cannot do
    np.testing.assert_allclose(reference(f, 0, p, spacing[0]), exact[0], rtol=0, atol=atol)


@pytest.mark.parametrize("p", ORDERS)
@pytest.mark.parametrize("spacing", ["uniform", "coordinates"])
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_edge_windows_of_short_dims_match_fornberg(p, spacing, kind):
    """p+1 <= n < 3p/2: findiff raises for uniform steps; the shifted one-sided windows."""
    for n in range(p + 1, 3 * p // 2 + 2):
        rng = np.random.default_rng(n)
        f = rng.standard_normal((n, 2))
        step = -0.75 if spacing == "uniform" else np.cumsum(rng.uniform(0.2, 2.0, n))
        inp = f if kind == "numpy" else da.from_array(f, chunks=(1, 1))
        ours = gradient(inp, spacing=[step], dim=0, accuracy=p)
        ours = compute(ours) if kind == "dask" else ours
        assert_close(ours, (reference(f, 0, p, step),), f, [step])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), data=st.data())
def test_accuracy_2_is_numpy_gradient(problem, data):
    f, axes, spacing, steps, edge_order = problem
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    ref = np.gradient(f, *steps, axis=tuple(axes), edge_order=edge_order)
    ref = ref if isinstance(ref, tuple) else (ref,)
    outs = gradient(
        x, spacing=spacing, dim=axes, edge_order=edge_order, accuracy=2, nan_policy="propagate"
    )
    assert_close(compute(outs), ref, f, steps, rtol=1e-12)
    plain = [np.asarray(s) if isinstance(s, da.Array) else s for s in spacing]
    ours = gradient(f, spacing=plain, dim=axes, edge_order=edge_order, accuracy=2)
    assert_close(ours, ref, f, steps, rtol=1e-12)


# --- convergence on smooth fields -------------------------------------------------------------


def measured_order(hs, errors):
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def stretched(n, stretch):
    s = np.linspace(0.0, 1.0, n)
    return s + stretch * np.sin(2 * np.pi * s) / (2 * np.pi)


CONVERGENCE_SIZES = {4: [16, 32, 64, 128], 6: [20, 40, 80, 160]}


@pytest.mark.parametrize("p", [4, 6])
@pytest.mark.parametrize("grid", ["uniform", "stretched"])
def test_converges_at_order_p_edges_included(p, grid):
    errors, hs = [], []
    for n in CONVERGENCE_SIZES[p]:
        x = stretched(n, 0.3 if grid == "stretched" else 0.0) * 1.5
        y = stretched(n + 3, -0.25 if grid == "stretched" else 0.0) * 1.2 - 0.4
        X, Y = np.meshgrid(x, y, indexing="ij")
        f = np.sin(2.0 * X + 0.3) * np.exp(0.8 * Y) + np.cos(1.7 * Y) * np.exp(-0.5 * X)
        fx = 2.0 * np.cos(2.0 * X + 0.3) * np.exp(0.8 * Y) - 0.5 * np.cos(1.7 * Y) * np.exp(
            -0.5 * X
        )
        fy = 0.8 * np.sin(2.0 * X + 0.3) * np.exp(0.8 * Y) - 1.7 * np.sin(1.7 * Y) * np.exp(
            -0.5 * X
        )
        spacing = [x, y] if grid == "stretched" else [x[1] - x[0], y[1] - y[0]]
        gx, gy = gradient(f, spacing=spacing, accuracy=p)
        errors.append(max(np.max(np.abs(gx - fx)), np.max(np.abs(gy - fy))))
        hs.append(max(np.max(np.diff(x)), np.max(np.diff(y))))
    order = measured_order(hs, errors)
    assert abs(order - p) <= 0.3, (order, errors)


# --- xarray, laziness, dtypes -----------------------------------------------------------------


def _sample_dataarray(backend):
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.uniform(0.3, 1.5, 13))
    values = np.sin(x)[None, :] * np.arange(1.0, 11.0)[:, None] + rng.standard_normal((10, 13))
    arr = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"x": ("x", x, {"units": "m"})},
        name="T",
        attrs={"units": "K", "long_name": "temperature"},
    )
    return (arr.chunk({"y": 3, "x": 4}) if backend == "dask" else arr), values, x


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("p", [4, 6])
def test_xarray_nonuniform_coordinate_matches_findiff(backend, p):
    T, values, x = _sample_dataarray(backend)
    with raise_if_dask_computes():
        dx, dy = gradient(T, dim=["x", "y"], accuracy=p)
        (acc,) = T.grad("x", accuracy=p)
        ds = gradient(T.to_dataset(), dim="x", accuracy=p)
    assert dx.chunks == T.chunks and dx.dims == T.dims and dx.name == "dT_dx"
    with dask.config.set(scheduler="sync"):
        ref = (findiff.Diff(1, x, acc=p)(values),)
        assert_close((dx.values,), ref, values, [x], rtol=findiff_rtol([x]))
        assert_close((dx.values,), (reference(values, 1, p, x),), values, [x], rtol=1e-10)
        assert_gradients_close((dy.values,), (findiff.Diff(0, 1.0, acc=p)(values),), values)
        np.testing.assert_array_equal(acc.values, dx.values)
        np.testing.assert_array_equal(ds["dT_dx"].values, dx.values)
    for g in (dx, dy, acc, ds["dT_dx"]):
        assert str(p) in g.attrs["long_name"], g.attrs
        assert "temperature" in g.attrs["long_name"]
    assert dx.attrs["units"] == "K m-1"


def test_building_the_graph_computes_nothing():
    rng = np.random.default_rng(3)
    f = da.from_array(rng.standard_normal((12, 11, 10)), chunks=(1, 5, 3))
    x = da.from_array(np.cumsum(rng.uniform(0.2, 2.0, 11)), chunks=4)
    with raise_if_dask_computes():
        for p in ORDERS:
            outs = gradient(f, spacing=[0.5, x, 2.0], accuracy=p, periodic={2: 20.0})
            assert all(o.chunks == f.chunks for o in outs)
            gradient(f, spacing=[x], dim=1, accuracy=p, nan_policy="omit")


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize(
    "dtype,expected",
    [
        (np.float32, np.float32),
        (np.int16, np.float64),
        (np.int64, np.float64),
        (np.complex128, np.complex128),
        (np.complex64, np.complex64),
    ],
)
def test_dtypes(kind, dtype, expected):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((9, 10)) * 50
    x = np.cumsum(rng.uniform(0.2, 2.0, 10))
    f = (base + 1j * base[::-1] if np.dtype(dtype).kind == "c" else base).astype(dtype)
    wide = f.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    refs = (findiff.Diff(0, 0.5, acc=4)(wide), findiff.Diff(1, x, acc=4)(wide))
    inp = f if kind == "numpy" else da.from_array(f, chunks=(4, 3))
    ours = gradient(inp, spacing=[0.5, x], accuracy=4)
    ours = compute(ours) if kind == "dask" else ours
    rtol = 1e-5 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-10
    for o, r in zip(ours, refs, strict=True):
        assert o.dtype == expected
        np.testing.assert_allclose(o, r, rtol=rtol, atol=rtol * np.max(np.abs(wide)) / 0.2)


# --- bad arguments ----------------------------------------------------------------------------


def _inputs(kind):
    f = np.random.default_rng(0).standard_normal((9, 10))
    if kind == "numpy":
        return f
    if kind == "dask":
        return da.from_array(f, chunks=3)
    xr = pytest.importorskip("xarray")
    return xr.DataArray(da.from_array(f, chunks=3), dims=("y", "x"))


KINDS = ["numpy", "dask", "xarray", "accessor"]


def _call(kind, **kwargs):
    inp = _inputs("xarray" if kind == "accessor" else kind)
    return inp.grad(**kwargs) if kind == "accessor" else gradient(inp, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("accuracy", [3, 0, 1, 10, -2, "4", True, 4.5, None])
def test_bad_accuracy_names_argument_and_allowed_values(kind, accuracy):
    with raise_if_dask_computes(), pytest.raises((ValueError, TypeError)) as info:
        _call(kind, accuracy=accuracy)
    msg = str(info.value)
    assert "accuracy" in msg and all(v in msg for v in "2468"), msg


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("nan_policy", ["skip", None, "raise", 1, "Omit "])
def test_bad_nan_policy_names_argument_and_allowed_values(kind, nan_policy):
    with raise_if_dask_computes(), pytest.raises((ValueError, TypeError)) as info:
        _call(kind, nan_policy=nan_policy)
    msg = str(info.value)
    assert "nan_policy" in msg and "propagate" in msg and "omit" in msg, msg


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", ORDERS)
def test_edge_order_2_with_high_accuracy_names_both(kind, p):
    with raise_if_dask_computes(), pytest.raises(ValueError) as info:
        _call(kind, accuracy=p, edge_order=2)
    msg = str(info.value)
    assert "edge_order" in msg and "accuracy" in msg, msg
    _call(kind, accuracy=2, edge_order=2)


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("p", ORDERS)
def test_dims_shorter_than_the_stencil_name_the_dim(kind, p):
    f = np.ones((p, 3, p + 1))
    inp = f if kind == "numpy" else da.from_array(f, chunks=2)
    for policy in ("propagate", "omit"):
        with raise_if_dask_computes(), pytest.raises(ValueError, match=r"dim 0\b") as info:
            gradient(inp, accuracy=p, dim=[2, 0], nan_policy=policy)
        assert str(p) in str(info.value)
    gradient(inp, accuracy=p, dim=[2])  # long enough
    gradient(inp, accuracy=p, dim=[1], periodic=True)  # periodic dims are unconstrained
    gradient(inp, accuracy=p, dim=[0], periodic=[0])


def test_xarray_dims_shorter_than_the_stencil_name_the_dim():
    xr = pytest.importorskip("xarray")
    arr = xr.DataArray(np.ones((5, 9)), dims=("lat", "lon"))
    with pytest.raises(ValueError, match="lat"):
        arr.grad(accuracy=6)
    assert len(arr.grad("lon", accuracy=8)) == 1
