"""divergence, vorticity and laplacian (issue 12), Cartesian: independent oracles.

Divergence and vorticity are compositions of first derivatives: ``numpy.gradient`` at
accuracy 2, the pure-Python Fornberg reference of ``tests.test_stencil`` above it. The
Laplacian is a sum of SECOND derivatives taken with second-derivative stencils: findiff's
``Diff(axis, h_or_coords, acc=p) ** 2`` where findiff has the same rule, and a pure-Python
reference (Fornberg weights for the second derivative on the window the spec picks) for the
rest (edge_order=1 at accuracy 2, periodic axes by wrap padding).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import daskgrad

from .conftest import raise_if_dask_computes
from .test_properties import chunks
from .test_stencil import assert_close, compute, fornberg, reference, wrap_pad

findiff = pytest.importorskip("findiff")

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def divergence(*args, **kwargs):
    return daskgrad.divergence(*args, **kwargs)


def vorticity(*args, **kwargs):
    return daskgrad.vorticity(*args, **kwargs)


def laplacian(*args, **kwargs):
    return daskgrad.laplacian(*args, **kwargs)


# --- the second-derivative reference ----------------------------------------------------------


def fornberg2(x0, nodes):
    """Second-derivative weights at ``x0`` on ``nodes`` (Fornberg 1988, all orders up to 2)."""
    n, m = len(nodes), 2
    c = np.zeros((n, m + 1))
    c[0, 0] = 1.0
    c1, c4 = 1.0, nodes[0] - x0
    for i in range(1, n):
        c2, c5, c4 = 1.0, c4, nodes[i] - x0
        for j in range(i):
            c3 = nodes[i] - nodes[j]
            c2 *= c3
            if j == i - 1:
                for k in range(min(i, m), 0, -1):
                    c[i, k] = c1 * (k * c[i - 1, k - 1] - c5 * c[i - 1, k]) / c2
                c[i, 0] = -c1 * c5 * c[i - 1, 0] / c2
            for k in range(min(i, m), 0, -1):
                c[j, k] = (c4 * c[j, k] - k * c[j, k - 1]) / c3
            c[j, 0] = c4 * c[j, 0] / c3
        c1 = c2
    return c[:, m]


def window2(i, n, p, uniform, edge_order):
    """The nodes of point i of a non-periodic line of n points for the second derivative."""
    q = edge_order if p == 2 else p
    m = min(q + 2, n)
    if uniform:  # centred p+1 points; else q+2 points starting at the point (shifted to fit)
        d = p // 2
        if d <= i <= n - 1 - d:
            return range(i - d, i + d + 1)
        if i < d:
            start = min(i, n - m)
            return range(start, start + m)
        stop = max(i, m - 1)
        return range(stop - m + 1, stop + 1)
    d = p // 2 + 1  # findiff's coordinate rule: centred p+3 points, else q+2 nearest the edge
    if i < d:
        return range(0, m)
    if i > n - 1 - d:
        return range(n - m, n)
    return range(i - d, i + d + 1)


def second(f, axis, p, step, *, edge_order=1, period=None):
    """Pure-Python second derivative of ``f`` along ``axis`` by the spec's rules, line by line.

    ``step``: a float or a 1-D coordinate array; ``period``: None (non-periodic), True for a
    uniform periodic axis, or the coordinates' period.
    """
    f = np.asarray(f, dtype=float)
    n = f.shape[axis]
    uniform = np.ndim(step) == 0
    x = None if uniform else np.asarray(step, dtype=float)
    ahead = 1.0 if uniform else float(np.sign(x[-1] - x[0]))

    def pos(j):
        if uniform:
            return j * float(step)
        return x[j % n] + (ahead * abs(period) * (j // n) if period is not None else 0.0)

    d = p // 2 if uniform else p // 2 + 1
    stencils = []
    for i in range(n):
        nodes = (
            range(i - d, i + d + 1) if period is not None else window2(i, n, p, uniform, edge_order)
        )
        stencils.append((i, list(nodes), fornberg2(pos(i), [pos(j) for j in nodes])))
    lines = np.moveaxis(f, axis, -1)
    out = np.zeros_like(lines)
    for i, nodes, w in stencils:
        out[..., i] = sum(wk * lines[..., j % n] for wk, j in zip(w, nodes, strict=True))
    return np.moveaxis(out, -1, axis)


def first(f, axis, p, step, edge_order=1):
    """First derivative: numpy.gradient at accuracy 2, the Fornberg reference above it."""
    if p == 2:
        return np.gradient(f, step, axis=axis, edge_order=edge_order)
    return reference(f, axis, p, step)


def diff2(f, axis, step, p):
    """findiff's second derivative (positive steps only; the sign of h does not matter)."""
    h = abs(float(step)) if np.ndim(step) == 0 else np.asarray(step, dtype=float)
    return (findiff.Diff(axis, h, acc=p) ** 2)(f)


def close2(ours, ref, f, steps, rtol=1e-10):
    """rtol, and atol = rtol·max|f|/(min step)²: second derivatives scale with 1/h²."""
    fmax = float(np.nanmax(np.abs(f))) if np.size(f) else 1.0
    hmin = min(float(np.min(np.abs(np.diff(s)))) if np.ndim(s) else abs(s) for s in steps)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * fmax / hmin**2, equal_nan=True)


def test_reference_weights_are_findiffs():
    for p in [2, 4, 6, 8]:
        for scheme in findiff.coefficients(2, p).values():
            nodes = [float(k) for k in scheme["offsets"]]
            np.testing.assert_allclose(fornberg2(0.0, nodes), scheme["coefficients"], atol=1e-9)
    nodes = list(np.cumsum(np.random.default_rng(0).uniform(0.2, 2.0, 6)))
    for x0 in (nodes[0], nodes[3]):  # the first-derivative column agrees with test_stencil's
        c = np.array(fornberg(x0, nodes))
        assert abs(c.sum()) < 1e-12 and abs(np.dot(c, np.subtract(nodes, x0)) - 1) < 1e-12
    rng = np.random.default_rng(1)
    for p in [2, 4, 6]:
        f = rng.standard_normal((3 * p // 2 + 3, 2))
        x = np.cumsum(rng.uniform(0.5, 1.5, f.shape[0]))
        for step in (0.7, -0.7, x, x[::-1]):
            ref = diff2(f, 0, step, p)
            close2(second(f, 0, p, step, edge_order=2), ref, f, [step], rtol=1e-8)
    # edge_order=1 at accuracy 2: the 3-point [1, -2, 1] starting at the edge point
    f = rng.standard_normal(7)
    ours = second(f, 0, 2, 0.5)
    np.testing.assert_allclose(ours[[0, -1]], ours[[1, -2]], rtol=1e-14)
    np.testing.assert_allclose(ours[3], (f[2] - 2 * f[3] + f[4]) / 0.25, rtol=1e-14)


# --- problems ---------------------------------------------------------------------------------


@st.composite
def laplacian_problems(draw, orders=(2, 4, 6), periodic=False):
    p = draw(st.sampled_from(orders))
    edge_order = draw(st.sampled_from([1, 2])) if p == 2 else 1
    ndim = draw(st.integers(1, 3))
    axes = draw(st.permutations(range(ndim)).map(list))
    axes = sorted(axes[: draw(st.integers(1, ndim))])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = {ax: draw(st.sampled_from(["scalar", "numpy", "dask"])) for ax in axes}
    extra = 6 if ndim == 1 else 2
    shape = tuple(
        draw(st.integers(3 * p // 2 + 1, 3 * p // 2 + 1 + extra)) if ax in axes else 2
        for ax in range(ndim)
    )
    f = rng.standard_normal(shape)
    spacing, steps, periods = [], [], {}
    for ax in axes:
        if kinds[ax] == "scalar":
            h = draw(st.sampled_from([1.0, 0.25, -2.0]))
            spacing.append(h)
            steps.append(h)
            if periodic and draw(st.booleans()):
                periods[ax] = abs(h) * shape[ax]
            continue
        x = (np.cumsum(rng.uniform(0.5, 1.5, shape[ax])) - 3.0) * draw(st.sampled_from([1, -1]))
        steps.append(x)
        spacing.append(
            x if kinds[ax] == "numpy" else da.from_array(x, chunks=draw(chunks(x.shape)))
        )
        if periodic and draw(st.booleans()):
            periods[ax] = float(abs(x[-1] - x[0]) + rng.uniform(0.5, 1.5))
    return p, edge_order, f, axes, spacing, steps, periods


@SETTINGS
@given(problem=laplacian_problems(), data=st.data())
def test_laplacian_matches_findiff_and_the_reference(problem, data):
    p, edge_order, f, axes, spacing, steps, _ = problem
    ref = sum(second(f, ax, p, s, edge_order=edge_order) for ax, s in zip(axes, steps, strict=True))
    if edge_order == 2 or p > 2:  # findiff's rules are the spec's there
        fd = sum(diff2(f, ax, s, p) for ax, s in zip(axes, steps, strict=True))
        close2(ref, fd, f, steps, rtol=1e-8)
    opts = dict(dims=axes, accuracy=p, edge_order=edge_order)
    ours = laplacian(f, spacing=[np.asarray(s) if np.ndim(s) else s for s in spacing], **opts)
    assert type(ours) is np.ndarray and ours.shape == f.shape and ours.dtype == np.float64
    close2(ours, ref, f, steps)
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    with raise_if_dask_computes():
        lazy = laplacian(x, spacing=spacing, **opts)
    assert isinstance(lazy, da.Array) and lazy.chunks == x.chunks
    close2(compute((lazy,))[0], ref, f, steps)


@SETTINGS
@given(problem=laplacian_problems(periodic=True), data=st.data())
def test_laplacian_periodic_matches_wrap_padded_findiff(problem, data):
    p, edge_order, f, axes, spacing, steps, periods = problem
    ref = sum(
        second(
            f,
            ax,
            p,
            s,
            edge_order=edge_order,
            period=((periods[ax] if np.ndim(s) else True) if ax in periods else None),
        )
        for ax, s in zip(axes, steps, strict=True)
    )
    if edge_order == 2 or p > 2:
        padded, ext, inner = wrap_pad(f, steps, axes, periods, p // 2 + 1)
        fd = sum(diff2(padded, ax, s, p)[inner] for ax, s in zip(axes, ext, strict=True))
        close2(ref, fd, f, steps, rtol=1e-8)
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    opts = dict(dims=axes, accuracy=p, edge_order=edge_order, periodic=periods)
    with raise_if_dask_computes():
        lazy = laplacian(x, spacing=spacing, **opts)
    assert lazy.chunks == x.chunks
    close2(compute((lazy,))[0], ref, f, steps)
    eager = laplacian(f, spacing=[np.asarray(s) if np.ndim(s) else s for s in spacing], **opts)
    close2(eager, ref, f, steps)


def jittered(n, rng, uniform):
    x = np.linspace(-1.0, 1.0, n)
    return x if uniform else x + rng.uniform(-0.3, 0.3, n) * (x[1] - x[0])


@pytest.mark.parametrize("p", [2, 4, 6, 8])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_laplacian_exact_on_polynomials_of_degree_p_plus_1(p, uniform, kind):
    """Every window (centred, one-sided, nearest the edge) is exact for degree <= p+1."""
    P = np.polynomial.polynomial
    rng = np.random.default_rng(p)
    x, y = jittered(3 * p // 2 + 2, rng, uniform), jittered(3 * p // 2 + 4, rng, uniform)
    ca, cb = rng.standard_normal(p + 2), rng.standard_normal(p + 2)
    fx, fy = P.polyval(x, ca), P.polyval(y, cb)
    f = fx[:, None] * fy[None, :]
    exact = (
        P.polyval(x, P.polyder(ca, 2))[:, None] * fy[None, :]
        + fx[:, None] * P.polyval(y, P.polyder(cb, 2))[None, :]
    )
    spacing = [x[1] - x[0], y[1] - y[0]] if uniform else [x, y]
    inp = f if kind == "numpy" else da.from_array(f, chunks=(2, 3))
    ours = laplacian(inp, spacing=spacing, accuracy=p, edge_order=2 if p == 2 else 1)
    ours = compute((ours,))[0] if kind == "dask" else ours
    h = min(np.min(np.diff(x)), np.min(np.diff(y)))
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-8 * np.max(np.abs(f)) / h**2)


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_laplacian_accuracy_2_by_hand(kind):
    """Uniform steps: [1, -2, 1]/h² inside; at the edges the same stencil starting at the edge
    point (edge_order=1) or findiff's 4-point [2, -5, 4, -1]/h² (edge_order=2)."""
    f = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0])
    h = -0.5
    inside = (f[:-2] - 2 * f[1:-1] + f[2:]) / h**2
    inp = f if kind == "numpy" else da.from_array(f, chunks=1)
    one = laplacian(inp, spacing=h)
    two = laplacian(inp, spacing=[h], edge_order=2)
    one, two = compute((one, two)) if kind == "dask" else (one, two)
    np.testing.assert_allclose(one, [inside[0], *inside, inside[-1]], rtol=1e-14)
    lo = (2 * f[0] - 5 * f[1] + 4 * f[2] - f[3]) / h**2
    hi = (2 * f[-1] - 5 * f[-2] + 4 * f[-3] - f[-4]) / h**2
    np.testing.assert_allclose(two, [lo, *inside, hi], rtol=1e-14)
    # 2-D, all dims by default: the sum of the two second derivatives, spacing in axis order
    g = np.add.outer(np.arange(5.0) ** 2, 3 * np.arange(6.0) ** 2)  # x0² + 3 x1²
    np.testing.assert_allclose(laplacian(g, spacing=[1.0, 1.0]), np.full(g.shape, 8.0))
    np.testing.assert_allclose(laplacian(g, spacing=[0.5, 2.0]), np.full(g.shape, 8 + 6 / 4))
    np.testing.assert_allclose(laplacian(g, dims=[1]), np.full(g.shape, 6.0))
    np.testing.assert_allclose(laplacian(g, dims=-2, spacing=0.5), np.full(g.shape, 8.0))


def test_laplacian_is_not_the_gradient_of_the_gradient():
    f = np.zeros(9)
    f[4] = 1.0
    ours = laplacian(f)
    np.testing.assert_array_equal(ours[3:6], [1.0, -2.0, 1.0])  # [1, -4, ...]/4 would be wrong
    assert np.all(ours[[0, 1, 2, 6, 7, 8]] == 0)


@pytest.mark.parametrize("p", [2, 4])
def test_laplacian_evenly_spaced_coordinates_use_the_coordinate_rule(p):
    """A coordinate array takes findiff's rule for coordinates even when evenly spaced."""
    x = 0.5 * np.arange(3 * p // 2 + 4)
    f = np.sin(3.0 * x)[:, None] + np.arange(8.0)[None, :] ** 3
    ref = diff2(f, 0, x, p) + diff2(f, 1, 1.0, p)
    ours = laplacian(f, spacing=[x, 1.0], accuracy=p, edge_order=2 if p == 2 else 1)
    close2(ours, ref, f, [x, 1.0], rtol=1e-8)
    close2(
        ours,
        second(f, 0, p, x, edge_order=2) + second(f, 1, p, 1.0, edge_order=2),
        f,
        [x, 1.0],
    )


# --- divergence and vorticity -----------------------------------------------------------------


@st.composite
def vector_problems(draw, orders=(2, 4, 6)):
    p = draw(st.sampled_from(orders))
    edge_order = draw(st.sampled_from([1, 2])) if p == 2 else 1
    ndim = draw(st.integers(2, 3))
    axes = draw(st.permutations(range(ndim)).map(list))[:2]  # (x axis, y axis)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(
        draw(st.integers(p + 2, p + 6)) if ax in axes else draw(st.integers(1, 3))
        for ax in range(ndim)
    )
    u, v = rng.standard_normal(shape), rng.standard_normal(shape)
    spacing, steps = [], []
    for ax in axes:
        kind = draw(st.sampled_from(["scalar", "numpy", "dask"]))
        if kind == "scalar":
            h = draw(st.sampled_from([1.0, 0.25, -2.0]))
            spacing.append(h)
            steps.append(h)
            continue
        x = np.cumsum(rng.uniform(0.3, 2.0, shape[ax])) * draw(st.sampled_from([1, -1]))
        steps.append(x)
        spacing.append(x if kind == "numpy" else da.from_array(x, chunks=draw(chunks(x.shape))))
    return p, edge_order, u, v, axes, spacing, steps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=vector_problems(), data=st.data())
def test_divergence_and_vorticity_match_first_derivative_compositions(problem, data):
    p, edge_order, u, v, (ax, ay), spacing, steps = problem
    (hx, hy) = steps
    ux, uy = first(u, ax, p, hx, edge_order), first(u, ay, p, hy, edge_order)
    vx, vy = first(v, ax, p, hx, edge_order), first(v, ay, p, hy, edge_order)
    opts = dict(dims=(ax, ay), accuracy=p, edge_order=edge_order)
    plain = [np.asarray(s) if np.ndim(s) else s for s in spacing]
    both = np.stack([u, v])
    div, vort = divergence(u, v, spacing=plain, **opts), vorticity(u, v, spacing=plain, **opts)
    assert type(div) is np.ndarray and type(vort) is np.ndarray
    assert_close((div, vort), (ux + vy, vx - uy), both, steps, rtol=1e-10)
    cu, cv = data.draw(chunks(u.shape)), data.draw(chunks(u.shape))
    lu, lv = da.from_array(u, chunks=cu), da.from_array(v, chunks=cv)
    with raise_if_dask_computes():
        ldiv = divergence(lu, lv, spacing=spacing, **opts)
        lvort = vorticity(lu, lv, spacing=spacing, **opts)
    assert ldiv.chunks == lu.chunks and lvort.chunks == lu.chunks  # u's chunks when they differ
    assert_close(compute((ldiv, lvort)), (ux + vy, vx - uy), both, steps, rtol=1e-10)


def test_default_dims_are_x_last_and_y_second_to_last():
    rng = np.random.default_rng(2)
    u, v = rng.standard_normal((3, 6, 7)), rng.standard_normal((3, 6, 7))
    x = np.cumsum(rng.uniform(0.3, 2.0, 7))
    div = divergence(u, v, spacing=[x, 0.5])  # spacing in dims order: [x, y]
    vort = vorticity(u, v, spacing=[x, 0.5])
    np.testing.assert_allclose(div, np.gradient(u, x, axis=-1) + np.gradient(v, 0.5, axis=-2))
    np.testing.assert_allclose(vort, np.gradient(v, x, axis=-1) - np.gradient(u, 0.5, axis=-2))
    np.testing.assert_allclose(divergence(u, v), divergence(u, v, dims=(2, 1)), rtol=1e-15)
    np.testing.assert_allclose(
        divergence(u, v, dims=(-1, -2), spacing=2.0),
        np.gradient(u, 2.0, axis=2) + np.gradient(v, 2.0, axis=1),
    )
    # the swapped dims: x is axis 1, y axis 2
    np.testing.assert_allclose(
        vorticity(u, v, dims=(1, 2)), np.gradient(v, axis=1) - np.gradient(u, axis=2)
    )
    # solid rotation u = -y, v = x: divergence 0, vorticity 2
    Y, X = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
    np.testing.assert_allclose(divergence(-Y, X), 0, atol=1e-14)
    np.testing.assert_allclose(vorticity(-Y, X), 2, atol=1e-14)


@pytest.mark.parametrize("p", [2, 4])
def test_divergence_vorticity_options_are_gradients(p):
    """periodic and nan_policy pass through: each ∂ is daskgrad.gradient's with those options."""
    rng = np.random.default_rng(p)
    u, v = rng.standard_normal((2, 9, 10)), rng.standard_normal((2, 9, 10))
    u[rng.random(u.shape) < 0.15] = np.nan
    v[rng.random(v.shape) < 0.15] = np.nan
    y = np.cumsum(rng.uniform(0.3, 2.0, 9))
    lu, lv = da.from_array(u, chunks=(1, 4, 3)), da.from_array(v, chunks=(2, 2, 5))
    for opts in (
        dict(nan_policy="omit"),
        dict(periodic=[2]),
        dict(periodic={2: 5.0, 1: float(y[-1] - y[0] + 1.0)}, nan_policy="omit"),
    ):
        ux, uy = daskgrad.gradient(u, dim=[2, 1], spacing=[0.5, y], accuracy=p, **opts)
        vx, vy = daskgrad.gradient(v, dim=[2, 1], spacing=[0.5, y], accuracy=p, **opts)
        for inp in ((u, v), (lu, lv)):
            div = divergence(*inp, spacing=[0.5, y], accuracy=p, **opts)
            vort = vorticity(*inp, spacing=[0.5, y], accuracy=p, **opts)
            div, vort = compute((div, vort)) if isinstance(div, da.Array) else (div, vort)
            assert_close((div, vort), (ux + vy, vx - uy), np.stack([u, v]), [0.5, y], rtol=1e-12)
    # the omit reference on its own: holes end runs
    ref = reference(u, 2, p, 0.5, omit=True) + reference(v, 1, p, y, omit=True)
    div = divergence(u, v, spacing=[0.5, y], accuracy=p, nan_policy="omit")
    assert_close((div,), (ref,), np.stack([u, v]), [0.5, y], rtol=1e-10)


# --- nan_policy="omit" for the Laplacian -------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_laplacian_omit_by_hand(kind, edge_order):
    # x² at x = 0..12, holes at 4, 8, 10: runs of 4, 3, 1 and 2 points; every window of 3 or
    # more points is exact for x², so 2 in the runs of 3+ points and NaN in shorter runs
    f = np.arange(13.0) ** 2
    f[[4, 8, 10]] = np.nan
    expected = np.full(13, np.nan)
    expected[[0, 1, 2, 3, 5, 6, 7]] = 2.0
    inp = f if kind == "numpy" else da.from_array(f, chunks=2)
    ours = laplacian(inp, nan_policy="omit", edge_order=edge_order)
    ours = compute((ours,))[0] if kind == "dask" else ours
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12, equal_nan=True)
    for p in (4, 6):
        g = np.arange(20.0) ** 2 / 4
        g[[9, 11, 15]] = np.nan  # runs of 9, 1, 3, 4 points
        ours = laplacian(g, accuracy=p, nan_policy="omit")
        want = np.where(np.isnan(g), np.nan, 0.5)
        want[[10]] = np.nan
        np.testing.assert_allclose(ours, want, rtol=1e-10, atol=1e-10, equal_nan=True)


def _run_lengths(valid, axis):
    """The length of the run of valid points through every point along ``axis``."""
    v = np.moveaxis(valid, axis, -1)
    out = np.zeros(v.shape, int)
    for idx in np.ndindex(v.shape[:-1]):
        line, j = v[idx], 0
        while j < line.size:
            k = j
            while k < line.size and line[k]:
                k += 1
            out[idx][j:k] = k - j
            j = k + 1 if k == j else k
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("p", [2, 4])
def test_laplacian_omit_nan_pattern_and_no_nans(p):
    rng = np.random.default_rng(p)
    f = rng.standard_normal((11, 12))
    x = np.cumsum(rng.uniform(0.3, 2.0, 12))
    opts = dict(spacing=[0.5, x], accuracy=p)
    propagate = laplacian(f, **opts)
    omit = laplacian(da.from_array(f, chunks=(3, 5)), nan_policy="omit", **opts)
    close2(compute((omit,))[0], propagate, f, [0.5, x], rtol=1e-13)
    f[rng.random(f.shape) < 0.2] = np.nan
    ours = laplacian(f, nan_policy="omit", **opts)
    valid = ~np.isnan(f)
    long_runs = (_run_lengths(valid, 0) >= 3) & (_run_lengths(valid, 1) >= 3)
    assert np.isnan(ours[~valid]).all()
    np.testing.assert_array_equal(np.isfinite(ours), valid & long_runs)
    lazy = laplacian(da.from_array(f, chunks=(2, 5)), nan_policy="omit", **opts)
    close2(compute((lazy,))[0], ours, f, [0.5, x], rtol=1e-12)


# --- xarray: dims by name, coordinates, names, units, standard names ---------------------------


def _winds(backend, standard_names=("eastward_wind", "northward_wind")):
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.uniform(0.5, 1.5, 12)) * 1000.0
    y = np.arange(9) * 1500.0
    coords = {"x": ("x", x, {"units": "m"}), "y": ("y", y, {"units": "m"}), "t": [0, 1]}
    dims = ("t", "y", "x")
    out = []
    for name, sn in zip("uv", standard_names, strict=True):
        attrs = {"units": "m s-1", **({"standard_name": sn} if sn else {})}
        arr = xr.DataArray(rng.standard_normal((2, 9, 12)), coords, dims, name=name, attrs=attrs)
        out.append(arr.chunk({"t": 1, "y": 4, "x": 5}) if backend == "dask" else arr)
    return (*out, x, y)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_xarray_divergence_vorticity(backend):
    u, v, x, y = _winds(backend)
    v = v.chunk({"t": 2, "y": 3, "x": 7}) if backend == "dask" else v  # chunks may differ
    with raise_if_dask_computes():
        div, vort = divergence(u, v), vorticity(u, v)
    uu, vv = u.values, v.values
    ref_div = np.gradient(uu, x, axis=2) + np.gradient(vv, y, axis=1)
    ref_vort = np.gradient(vv, x, axis=2) - np.gradient(uu, y, axis=1)
    for out, ref, name in ((div, ref_div, "div_u_v"), (vort, ref_vort, "vort_u_v")):
        assert out.name == name and out.dims == u.dims and out.chunks == u.chunks
        assert out.attrs["units"] == "s-1"
        assert isinstance(out.data, da.Array) == (backend == "dask")
        for c in u.coords:
            np.testing.assert_array_equal(out[c].values, u[c].values)
        with dask.config.set(scheduler="sync"):
            assert_close((out.values,), (ref,), np.stack([uu, vv]), [x, y], rtol=1e-10)
    assert div.attrs["standard_name"] == "divergence_of_wind"
    assert vort.attrs["standard_name"] == "atmosphere_relative_vorticity"
    # dims by name, in another layout: the same numbers
    ut, vt = u.transpose("x", "t", "y"), v.transpose("x", "t", "y")
    with raise_if_dask_computes():
        named = divergence(ut, vt, dims=("x", "y"), accuracy=4)
        vnamed = vorticity(ut, vt, dims=["x", "y"], accuracy=4)
    assert named.dims == ut.dims
    with dask.config.set(scheduler="sync"):
        np.testing.assert_allclose(
            named.transpose(*u.dims).values,
            divergence(u, v, accuracy=4).values,
            rtol=1e-12,
            atol=1e-15,
        )
        ref = reference(vv, 2, 4, x) - reference(uu, 1, 4, y)
        assert_close((vnamed.transpose(*u.dims).values,), (ref,), uu, [x, y], rtol=1e-10)


@pytest.mark.parametrize(
    "names", [(None, None), ("eastward_sea_water_velocity", "northward_sea_water_velocity")]
)
def test_xarray_no_wind_standard_name_without_wind(names):
    u, v, _, _ = _winds("numpy", names)
    div, vort = divergence(u, v), vorticity(u, v)
    if names[0] is None:
        assert "standard_name" not in div.attrs and "standard_name" not in vort.attrs
    assert div.attrs.get("standard_name") != "divergence_of_wind"
    assert vort.attrs.get("standard_name") != "atmosphere_relative_vorticity"
    # only u and v together: a northward_wind v with a sea-water u is not wind
    u2, v2, _, _ = _winds("numpy", ("eastward_wind", "northward_sea_water_velocity"))
    assert divergence(u2, v2).attrs.get("standard_name") != "divergence_of_wind"


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("p", [2, 4])
def test_xarray_laplacian(backend, p):
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(p)
    x = np.cumsum(rng.uniform(0.5, 1.5, 13))
    values = rng.standard_normal((10, 13))
    T = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"x": ("x", x, {"units": "m"}), "y": ("y", np.arange(10.0) * 2, {"units": "m"})},
        name="T",
        attrs={"units": "K", "standard_name": "air_temperature"},
    )
    T = T.chunk({"y": 3, "x": 4}) if backend == "dask" else T
    y = np.arange(10.0) * 2
    opts = dict(accuracy=p, edge_order=2 if p == 2 else 1)
    with raise_if_dask_computes():
        lap = laplacian(T, **opts)
        lap_x = laplacian(T, dims="x", **opts)
        lap_3d = laplacian(T.expand_dims(t=2), dims=("y", "x"), **opts)
    assert lap.name == "lap_T" and lap.dims == T.dims and lap.chunks == T.chunks
    assert lap.attrs["units"] == "K m-2"
    assert lap.attrs.get("standard_name") != "air_temperature"
    # coordinates are arrays, evenly spaced or not: findiff's coordinate rule
    ref_x = diff2(values, 1, x, p)
    ref = ref_x + diff2(values, 0, y, p)
    with dask.config.set(scheduler="sync"):
        close2(lap.values, ref, values, [x, y], rtol=1e-8)
        close2(lap_x.values, ref_x, values, [x], rtol=1e-8)
        close2(lap_3d.values[1], ref, values, [x, y], rtol=1e-8)
        close2(
            lap.values,
            second(values, 1, p, x, edge_order=2) + second(values, 0, p, y, edge_order=2),
            values,
            [x, y],
        )


def test_xarray_spacing_defaults_to_one_without_a_coordinate():
    xr = pytest.importorskip("xarray")
    f = np.random.default_rng(0).standard_normal((7, 8))
    arr = xr.DataArray(f, dims=("y", "x"), name="f")
    np.testing.assert_allclose(laplacian(arr).values, laplacian(f), rtol=1e-15)
    np.testing.assert_allclose(divergence(arr, arr * 2).values, divergence(f, f * 2), rtol=1e-15)


@pytest.mark.parametrize("p", [2, 4, 6])
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_float32_laplacian_keeps_float32_precision(p, kind):
    """A smooth 280 K field on a 0.25° grid: the second differences of float32 values against
    those of the same values in float64. Summing f[i+1] + f[i-1] - 2 f[i] rounds the sum
    (1e-1 of the result's largest value here); differences of neighbours are exact."""
    x = np.radians(np.arange(0, 360, 0.25))
    y = np.radians(np.arange(-80, 80.1, 0.25))
    f = 280 + 20 * np.cos(y)[:, None] * np.sin(x)[None, :] + 5 * np.sin(3 * y)[:, None]
    f32 = f.astype(np.float32)
    arr = f32 if kind == "numpy" else da.from_array(f32, chunks=(100, 300))
    h = np.radians(0.25)
    got = np.asarray(laplacian(arr, spacing=h, accuracy=p))
    ref = laplacian(f32.astype(np.float64), spacing=h, accuracy=p)
    assert got.dtype == np.float32
    err = np.abs(got - ref) / np.abs(ref).max()
    assert err.max() < 2e-6, (err.max(), np.unravel_index(err.argmax(), err.shape))


@pytest.mark.parametrize(
    "units, geo, per_degree",
    [("degC", "degC m-2", "degC degrees_north-2"), ("psu", "psu m-2", "psu degrees_north-2"),
     ("m s-1", "m-1 s-1", "m s-1 degrees_north-2")],
)  # fmt: skip
def test_laplacian_units_are_one_division_by_a_square(units, geo, per_degree):
    """Not pint's offset-unit spelling "Δ°C m-2", nor "psu m-1 m-1"."""
    import xarray as xr

    lat, lon = np.arange(-60.0, 61, 2.0), np.arange(0.0, 360, 2.0)
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    f = xr.DataArray(
        np.ones((lat.size, lon.size)), dims=("lat", "lon"), coords=coords, attrs={"units": units}
    )
    assert laplacian(f, geospatial=True).attrs["units"] == geo
    assert laplacian(f, dims=["lat"]).attrs["units"] == per_degree


# --- laziness and graph size ------------------------------------------------------------------


def _ntasks(arr):
    return len(dict(arr.__dask_graph__()))


@pytest.mark.parametrize("spacing", ["scalar", "coordinates"])
def test_graph_size(spacing):
    rng = np.random.default_rng(0)
    shape, chunking = (8, 9, 10), (2, 3, 4)
    u = da.from_array(rng.standard_normal(shape), chunks=chunking)
    v = da.from_array(rng.standard_normal(shape), chunks=chunking)
    n = u.npartitions
    assert n == 36 and _ntasks(u) == n
    if spacing == "scalar":
        s2, s3 = [0.5, 2.0], [1.0, 0.5, 2.0]
    else:
        s2 = [np.cumsum(rng.uniform(0.5, 1.5, 10)), np.cumsum(rng.uniform(0.5, 1.5, 9))]
        s3 = [np.arange(8.0), s2[1], s2[0]]
    with raise_if_dask_computes():
        vort, div = vorticity(u, v, spacing=s2), divergence(u, v, spacing=s2)
        lap = laplacian(u, spacing=s3)
        lap2 = laplacian(u, dims=(2, 1), spacing=s2)
    assert _ntasks(vort) <= 5 * n, _ntasks(vort)
    assert _ntasks(div) <= 5 * n, _ntasks(div)
    assert _ntasks(lap) <= 4 * n, _ntasks(lap)
    assert _ntasks(lap2) <= 4 * n, _ntasks(lap2)


@pytest.mark.parametrize("periodic", [None, ["x"]])
@pytest.mark.parametrize("planes", [True, False])
def test_zarr_inputs_read_in_one_task_per_chunk(tmp_path, periodic, planes, monkeypatch):
    """u and v read from zarr: one task reads chunk i of both, one copies both's ghost planes
    (unless chunks are small enough to be taken whole by their neighbours), one computes the
    chunk: 3 tasks per output chunk (2), and the values are numpy's."""
    import xarray as xr
    from dask.optimization import cull

    from daskgrad.core import graph as core_graph

    # these chunks are tiny: taken whole unless the threshold says otherwise
    monkeypatch.setattr(core_graph, "WHOLE_NEIGHBOURS_BYTES", 0 if planes else 1 << 16)

    rng = np.random.default_rng(7)
    u, v = rng.standard_normal((2, 6, 9, 10))
    ds = xr.Dataset({"u": (("t", "y", "x"), u), "v": (("t", "y", "x"), v)})
    ds.chunk({"t": 2, "y": 4, "x": 3}).to_zarr(tmp_path / "in.zarr")
    src = xr.open_zarr(tmp_path / "in.zarr")
    opts = dict(dims=("x", "y"), periodic=periodic)
    with raise_if_dask_computes():
        vort, div = vorticity(src.u, src.v, **opts), divergence(src.u, src.v, **opts)
    n = src.u.data.npartitions
    for out in (vort, div):
        arr = out.data
        graph = cull(dict(arr.__dask_graph__()), list(dask.core.flatten(arr.__dask_keys__())))[0]
        per_chunk = [k for k in graph if isinstance(k, tuple)]
        assert len(per_chunk) == (3 if planes else 2) * n, len(per_chunk)
    # in one graph, the two operators share the reading and ghost-plane tasks: u and v are
    # read once (they were read once per operator)
    both = xr.Dataset({"vort": vort, "div": div})
    keys = list(dask.core.flatten(both.__dask_keys__()))
    graph = cull(dict(both.__dask_graph__()), keys)[0]
    per_chunk = [k for k in graph if isinstance(k, tuple)]
    assert len(per_chunk) == (4 if planes else 3) * n, len(per_chunk)
    assert sum(str(k[0]).startswith("read-u+v-") for k in per_chunk) == n
    # the same with the pair in the other order, and the same input twice
    swapped = vorticity(src.v, src.u, **opts)
    both = xr.Dataset({"div": div, "swapped": swapped, "twice": divergence(src.u, src.u, **opts)})
    keys = list(dask.core.flatten(both.__dask_keys__()))
    per_chunk = [k for k in cull(dict(both.__dask_graph__()), keys)[0] if isinstance(k, tuple)]
    assert sum(str(k[0]).startswith("read-u+v-") for k in per_chunk) == n, len(per_chunk)
    assert sum(str(k[0]).startswith("read-") for k in per_chunk) == 2 * n  # u, v and u alone
    if periodic:
        gx = [
            np.gradient(np.concatenate([f[..., -1:], f, f[..., :1]], axis=-1), axis=-1)[..., 1:-1]
            for f in (u, v)
        ]
    else:
        gx = [np.gradient(f, axis=-1) for f in (u, v)]
    gy = [np.gradient(f, axis=-2) for f in (u, v)]
    np.testing.assert_allclose(vort.values, gx[1] - gy[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(div.values, gx[0] + gy[1], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(swapped.values, gx[0] - gy[1], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(both.twice.values, gx[0] + gy[0], rtol=1e-13, atol=1e-13)


def test_building_the_graphs_computes_nothing():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((12, 11, 10))
    f[rng.random(f.shape) < 0.2] = np.nan
    u = da.from_array(f, chunks=(1, 5, 3))
    v = da.from_array(f[::-1].copy(), chunks=(4, 2, 10))
    x = da.from_array(np.cumsum(rng.uniform(0.2, 2.0, 11)), chunks=4)
    with raise_if_dask_computes():
        for p in [2, 4, 6]:
            for policy in ("propagate", "omit"):
                opts = dict(accuracy=p, nan_policy=policy)
                out = laplacian(u, spacing=[0.5, x, 2.0], periodic={1: 30.0}, **opts)
                assert out.chunks == u.chunks
                for op in (divergence, vorticity):
                    out = op(u, v, dims=(2, 1), spacing=[2.0, x], periodic=[2], **opts)
                    assert out.chunks == u.chunks


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_mismatched_shapes_name_both(kind):
    a, b = np.ones((4, 5)), np.ones((4, 6))
    if kind == "dask":
        a, b = da.from_array(a, chunks=2), da.from_array(b, chunks=2)
    for op in (divergence, vorticity):
        with raise_if_dask_computes(), pytest.raises(ValueError) as info:
            op(a, b)
        msg = str(info.value)
        assert "(4, 5)" in msg and "(4, 6)" in msg, msg


def test_mismatched_dataarrays_name_the_difference():
    xr = pytest.importorskip("xarray")
    f = np.ones((5, 6))
    u = xr.DataArray(f, dims=("north", "east"), coords={"east": np.arange(6.0)}, name="u")
    cases = [
        (xr.DataArray(f, dims=("north", "elsewhere"), name="v"), ("elsewhere", "east")),
        (u.assign_coords(east=np.arange(6.0) * 2).rename("v"), ("east",)),
        (xr.DataArray(np.ones((5, 7)), dims=("north", "east"), name="v"), ("east", "6", "7")),
    ]
    for v, words in cases:
        for op in (divergence, vorticity):
            with pytest.raises(ValueError) as info:
                op(u, v)
            msg = str(info.value)
            assert any(w in msg for w in words), (words, msg)
    with pytest.raises(ValueError, match="nowhere"):
        laplacian(u, dims=("nowhere",))


@pytest.mark.parametrize("kind", ["numpy", "dask", "xarray"])
def test_dims_must_be_two_for_vector_operators(kind):
    f = np.ones((4, 5, 6))
    if kind == "dask":
        f = da.from_array(f, chunks=2)
    dims = [(0,), (0, 1, 2)]
    if kind == "xarray":
        xr = pytest.importorskip("xarray")
        f = xr.DataArray(f, dims=("a", "b", "c"))
        dims = [("a",), ("a", "b", "c")]
    for op in (divergence, vorticity):
        for d in dims:
            with raise_if_dask_computes(), pytest.raises(ValueError, match=r"dim=\(x, y\)"):
                op(f, f, dims=d)
        assert op(f, f, dims=dims[1][:2]).shape == (4, 5, 6)


OPS = {
    "divergence": lambda f, **kw: divergence(f, f, **kw),
    "vorticity": lambda f, **kw: vorticity(f, f, **kw),
    "laplacian": lambda f, **kw: laplacian(f, **kw),
}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_bad_options_name_the_argument(op, kind):
    f = np.random.default_rng(0).standard_normal((9, 10))
    f = da.from_array(f, chunks=3) if kind == "dask" else f
    call = OPS[op]
    for accuracy in (3, 0, 10, "4", None):
        with raise_if_dask_computes(), pytest.raises((ValueError, TypeError)) as info:
            call(f, accuracy=accuracy)
        msg = str(info.value)
        assert "accuracy" in msg and all(c in msg for c in "2468"), msg
    for nan_policy in ("skip", None):
        with raise_if_dask_computes(), pytest.raises((ValueError, TypeError)) as info:
            call(f, nan_policy=nan_policy)
        msg = str(info.value)
        assert "nan_policy" in msg and "propagate" in msg and "omit" in msg, msg
    for edge_order in (0, 3, 1.5):
        with raise_if_dask_computes(), pytest.raises(ValueError, match="edge_order"):
            call(f, edge_order=edge_order)
    with raise_if_dask_computes(), pytest.raises(ValueError, match="edge_order"):
        call(f, accuracy=4, edge_order=2)
    with raise_if_dask_computes(), pytest.raises(ValueError) as info:
        call(f, spacing=[1.0, 2.0, 3.0])  # three spacings for two dims: both lengths named
    msg = str(info.value)
    assert "spacing" in msg and "3" in msg and "2" in msg, msg


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_laplacian_over_no_dims_is_zero_or_an_error(kind):
    """An empty sum: zeros of the input's shape (or a ValueError), never uninitialised memory."""
    f = np.full((4, 5), 7.0)
    cases = [(f, ()), (f, []), (np.float64(3.0), None)]  # a 0-d input has no dims at all
    for values, dims in cases:
        inp = da.from_array(values, chunks=2) if kind == "dask" else values
        try:
            out = laplacian(inp, dims=dims)
        except ValueError as err:
            assert "dims" in str(err) or "dim" in str(err), err
            continue
        out = compute((out,))[0] if kind == "dask" else out
        assert out.shape == np.shape(values), (dims, out.shape)
        np.testing.assert_array_equal(out, np.zeros(np.shape(values)))


def test_accessor():
    xr = pytest.importorskip("xarray")
    u, v, _, _ = _winds("dask")
    ds = xr.Dataset({"u": u, "v": v})
    with raise_if_dask_computes():
        div = ds.grad.divergence("u", "v", accuracy=4)
        vort = ds.grad.vorticity("u", "v")
        lap = u.grad.laplacian(dims=("y", "x"))
    with dask.config.set(scheduler="sync"):
        xr.testing.assert_identical(div, divergence(u, v, accuracy=4))
        xr.testing.assert_identical(vort, vorticity(u, v))
        xr.testing.assert_identical(lap, laplacian(u, dims=("y", "x")))


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("p", [4, 6])
def test_laplacian_omit_runs_exact_for_the_degree_they_allow(kind, uniform, p):
    """Windows of min(p+2, L) points: a run of L >= 3 points is exact for degree
    min(p+1, L-1); runs of 1 or 2 points give NaN."""
    P = np.polynomial.polynomial
    runs, at = [], 0
    for length in [p + 3, 1, 2, 3, p, p + 1, p + 2, 4]:
        runs.append(slice(at, at + length))
        at += length + 1  # one hole after every run
    n = at - 1
    valid = np.zeros(n, bool)
    for run in runs:
        valid[run] = True
    rng = np.random.default_rng(p)
    xs = np.arange(n) * 0.1 if uniform else np.cumsum(rng.uniform(0.5, 1.5, n)) / 10
    for q in range(2, p + 2):
        c = rng.standard_normal(q + 1)
        f = np.where(valid, P.polyval(xs, c), np.nan)
        inp = f if kind == "numpy" else da.from_array(f, chunks=4)
        ours = laplacian(inp, spacing=0.1 if uniform else [xs], accuracy=p, nan_policy="omit")
        ours = compute((ours,))[0] if kind == "dask" else ours
        assert np.isnan(ours[~valid]).all()
        exact = P.polyval(xs, P.polyder(c, 2))
        atol = 1e-8 * np.nanmax(np.abs(f)) / np.min(np.diff(xs)) ** 2
        for run in runs:
            length = run.stop - run.start
            if length < 3:
                assert np.isnan(ours[run]).all(), (run, ours[run])
            elif min(p + 1, length - 1) >= q:
                np.testing.assert_allclose(
                    ours[run], exact[run], rtol=0, atol=atol, err_msg=f"run {run}, degree {q}"
                )
