"""Unusual inputs (issue 18, section 6): masked arrays in operators, dask arrays of unknown
chunk sizes, dask coordinates that repeat a value, a periodic dim named twice, coordinates
holding NaN. Oracles: numpy.gradient, explicit stencils and mask dilations written here."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import daskgrad

from .conftest import raise_if_dask_computes

findiff = pytest.importorskip("findiff")

# --- unknown chunk sizes ------------------------------------------------------------------


def _unknown_rows(x: np.ndarray, chunks) -> da.Array:
    """``x`` as a dask array whose chunk sizes along dim 0 are unknown (boolean indexing)."""
    d = da.from_array(x, chunks=chunks)
    out = d[d[:, 0] > -np.inf]
    assert np.isnan(out.shape[0])
    return out


@pytest.mark.parametrize(
    "call",
    [
        lambda a: daskgrad.gradient(a),
        lambda a: daskgrad.gradient(a, dim=0),
        lambda a: daskgrad.laplacian(a),
        lambda a: daskgrad.divergence(a, a),
        lambda a: daskgrad.vorticity(a, a, dims=(0, 1)),
    ],
)
def test_unknown_chunk_sizes_along_a_differentiated_dim_are_refused(call):
    a = _unknown_rows(np.arange(40.0).reshape(10, 4), (5, 2))
    with pytest.raises(ValueError, match=r"dim 0 has unknown chunk sizes") as err:
        call(a)
    assert "compute_chunk_sizes()" in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_chunk_sizes_along_another_dim_work():
    x = np.random.default_rng(0).normal(size=(10, 7))
    a = _unknown_rows(x, (4, 3))
    coords = np.array([0.0, 1, 3, 4, 6, 9, 10])
    (g,) = daskgrad.gradient(a, dim=1)
    np.testing.assert_allclose(g.compute(), np.gradient(x, axis=1), rtol=1e-13)
    (g,) = daskgrad.gradient(a, dim=1, spacing=[coords], edge_order=2)
    np.testing.assert_allclose(
        g.compute(), np.gradient(x, coords, axis=1, edge_order=2), rtol=1e-12, atol=1e-12
    )
    lap = daskgrad.laplacian(a, dims=1).compute()
    want = np.full_like(x, np.nan)
    want[:, 1:-1] = x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]
    np.testing.assert_allclose(lap[:, 1:-1], want[:, 1:-1], rtol=1e-12, atol=1e-12)
    # a masked array with unknown row chunks differentiated along its columns
    mx = np.ma.array(x, mask=x > 1.2)
    am = da.from_array(mx, chunks=(4, 3))
    am = am[da.ones(10, dtype=bool, chunks=4)]
    assert np.isnan(am.shape[0])
    (gm,) = daskgrad.gradient(am, dim=1)
    gm = gm.compute()
    want = np.gradient(mx, axis=1)
    np.testing.assert_array_equal(np.ma.getmaskarray(gm), np.ma.getmaskarray(want))
    np.testing.assert_allclose(gm.compressed(), want.compressed(), rtol=1e-13)


# --- dask coordinates that repeat a value ---------------------------------------------------


@pytest.mark.parametrize("chunks", [3, 2, 1])
@pytest.mark.parametrize(
    "call",
    [
        lambda f, c: daskgrad.gradient(f, spacing=[c])[0],
        lambda f, c: daskgrad.gradient(f, spacing=[c], accuracy=4)[0],
        lambda f, c: daskgrad.laplacian(f, spacing=[c]),
    ],
)
def test_a_repeated_dask_coordinate_is_named_at_compute_time(chunks, call):
    c = da.from_array(np.array([0.0, 1, 2, 2, 4, 5]), chunks=chunks)
    f = da.from_array(np.arange(6.0) ** 2, chunks=chunks)
    out = call(f, c)  # lazy: nothing is known yet
    with pytest.raises(ValueError) as err:
        out.compute(scheduler="sync")
    msg = str(err.value)
    assert msg == "spacing[0] (dim 0) repeats the coordinate 2.0 at positions 2 and 3"


def test_a_repeated_dask_coordinate_of_masked_data_is_named():
    c = da.from_array(np.array([0.0, 1, 2, 3, 3, 5]), chunks=2)
    f = da.from_array(np.ma.array(np.arange(6.0), mask=[0, 1, 0, 0, 0, 0]), chunks=2)
    (out,) = daskgrad.gradient(f, spacing=[c])
    with pytest.raises(ValueError, match=r"^spacing\[0\] \(dim 0\) repeats the coordinate 3.0"):
        out.compute(scheduler="sync")


def test_a_dask_coordinate_with_nan_is_named_and_a_good_one_still_works():
    c = np.array([0.0, 1, 2, 4, 7, 8])
    f = np.sin(c)
    with pytest.raises(ValueError, match=r"spacing\[0\] \(dim 0\) holds non-finite"):
        bad = c.copy()
        bad[4] = np.nan
        daskgrad.gradient(da.from_array(f, chunks=2), spacing=[da.from_array(bad, chunks=2)])[
            0
        ].compute(scheduler="sync")
    (g,) = daskgrad.gradient(da.from_array(f, chunks=2), spacing=[da.from_array(c, chunks=2)])
    np.testing.assert_allclose(g.compute(), np.gradient(f, c), rtol=1e-13)


# --- a periodic dim named twice -------------------------------------------------------------


@pytest.mark.parametrize(
    "periodic, names",
    [({1: 6.0, -1: 7.0}, "as 1 and -1"), ([1, -1], "as 1 and -1"), ({-2: 5.0, 0: 5.0}, "-2 and 0")],
)
def test_a_periodic_dim_given_twice_is_refused(periodic, names):
    f = np.ones((5, 6))
    for call in (
        lambda: daskgrad.gradient(f, periodic=periodic),
        lambda: daskgrad.laplacian(da.from_array(f), periodic=periodic),
        lambda: daskgrad.divergence(f, f, dims=(1, 0), periodic=periodic),
    ):
        with pytest.raises(ValueError, match="twice") as err:
            call()
        assert names in str(err.value)


def test_a_periodic_dim_name_given_twice_is_refused():
    a = xr.DataArray(np.ones((5, 6)), dims=("y", "x"))
    for call in (
        lambda: daskgrad.gradient(a, periodic=["x", "x"]),
        lambda: daskgrad.laplacian(a, periodic=["x", "y", "x"]),
    ):
        with pytest.raises(ValueError, match=r"periodic has repeated entries: \['x', .*'x'\]"):
            call()


# --- latitude and longitude holding NaN -----------------------------------------------------


def _grid(lat, lon):
    return xr.DataArray(
        np.ones((len(lat), len(lon))),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        name="t",
    )


@pytest.mark.parametrize("what", ["latitude", "longitude"])
def test_a_1d_coordinate_with_nan_is_said_to_hold_nan(what):
    lat, lon = np.array([10.0, 11, 12, 13]), np.array([0.0, 1, 2, 3, 4])
    if what == "latitude":
        lat[2] = np.nan
    else:
        lon[1] = np.nan
    a = _grid(lat, lon)
    for call in (
        lambda: daskgrad.geospatial_gradient(a),
        lambda: daskgrad.vorticity(a, a, geospatial=True),
        lambda: daskgrad.laplacian(a, geospatial=True),
    ):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert f"{what} coordinate" in msg and "contains NaN" in msg, msg
        assert f"position {2 if what == 'latitude' else 1}" in msg
        assert "monotonic" not in msg


def test_unsorted_latitude_is_still_said_to_be_unsorted():
    with pytest.raises(ValueError, match="not strictly monotonic"):
        daskgrad.geospatial_gradient(_grid(np.array([10.0, 12, 11]), np.arange(4.0)))


# --- masked arrays in operators -------------------------------------------------------------

GARBAGE = (1e300, np.nan)


def _masked(shape, seed, garbage, frac=0.15):
    """A smooth field with a random mask and ``garbage`` under it; also the clean field."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 2, n) for n in shape], indexing="ij")
    clean = sum(np.sin((k + 1.3) * g) for k, g in enumerate(grids)) + 0.1 * grids[0] ** 2
    mask = rng.random(shape) < frac
    data = clean.copy()
    data[mask] = garbage
    return np.ma.array(data, mask=mask), clean


def _second_line(f, m, h, edge_order, periodic):
    """Explicit 3-point second derivative of the 1-D ``f`` and its mask: the interior
    (f[i-1] - 2f[i] + f[i+1])/h²; at a true edge (f0 - 2f1 + f2)/h² (edge_order 1) or
    (2f0 - 5f1 + 4f2 - f3)/h² (edge_order 2); a point is masked when one of its stencil's
    points is."""
    n = f.size
    out, touched = np.empty(n), np.zeros(n, bool)
    for i in range(n):
        if periodic or 0 < i < n - 1:
            idx, w = [(i - 1) % n, i, (i + 1) % n], [1.0, -2.0, 1.0]
        else:
            w = [1.0, -2.0, 1.0] if edge_order == 1 else [2.0, -5.0, 4.0, -1.0]
            idx = list(range(len(w))) if i == 0 else [n - 1 - k for k in range(len(w))]
        out[i] = sum(wk * f[j] for wk, j in zip(w, idx, strict=True)) / h**2
        touched[i] = m[idx].any()
    return out, touched


def _laplacian_oracle(clean, mask, steps, edge_order=1, periodic=()):
    total, touched = np.zeros(clean.shape), np.zeros(clean.shape, bool)
    for axis, h in enumerate(steps):
        f, m = np.moveaxis(clean, axis, -1), np.moveaxis(mask, axis, -1)
        v, t = np.empty(f.shape), np.empty(f.shape, bool)
        for idx in np.ndindex(f.shape[:-1]):
            v[idx], t[idx] = _second_line(f[idx], m[idx], h, edge_order, axis in periodic)
        total += np.moveaxis(v, -1, axis)
        touched |= np.moveaxis(t, -1, axis)
    return total, touched


def _check_masked(ours, want, want_mask, rtol=1e-9):
    assert isinstance(ours, np.ma.MaskedArray), type(ours)
    got_mask = np.ma.getmaskarray(ours)
    np.testing.assert_array_equal(got_mask, want_mask)
    assert not got_mask.all()
    scale = float(np.max(np.abs(want[~want_mask])))
    np.testing.assert_allclose(
        np.ma.getdata(ours)[~want_mask], want[~want_mask], rtol=rtol, atol=rtol * scale
    )


def _lazy(masked, chunks):
    d = da.from_array(masked, chunks=chunks)
    assert isinstance(d._meta, np.ma.MaskedArray)
    return d


@pytest.mark.parametrize("garbage", GARBAGE)
def test_issue_example_laplacian_of_a_masked_array_is_masked(garbage):
    f = np.ma.array(np.arange(7.0) ** 2, mask=[0, 0, 0, 1, 0, 0, 0])
    f.data[3] = garbage
    clean = np.arange(7.0) ** 2
    want, want_mask = _laplacian_oracle(clean, np.ma.getmaskarray(f), [1.0])
    _check_masked(daskgrad.laplacian(f), want, want_mask)
    _check_masked(daskgrad.laplacian(_lazy(f, 3)).compute(), want, want_mask)


@pytest.mark.parametrize("garbage", GARBAGE)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("periodic", [(), (1,)])
@pytest.mark.parametrize("chunks", [None, (5, 4), (3, 7)])
def test_masked_laplacian_equals_the_explicit_stencil(garbage, edge_order, periodic, chunks):
    f, clean = _masked((13, 11), 1, garbage)
    steps = [0.5, 0.25]
    want, want_mask = _laplacian_oracle(clean, f.mask, steps, edge_order, periodic)
    opts = dict(spacing=steps, edge_order=edge_order, periodic=list(periodic) or None)
    if chunks is None:
        ours = daskgrad.laplacian(f, **opts)
    else:
        with raise_if_dask_computes():
            lazy = daskgrad.laplacian(_lazy(f, chunks), **opts)
        assert isinstance(lazy._meta, np.ma.MaskedArray)
        ours = lazy.compute()
    with np.errstate(invalid="ignore", over="ignore"):
        _check_masked(ours, want, want_mask, rtol=1e-10)


def _gradient_masked(f, steps, axis, edge_order):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.gradient(f, steps[axis], axis=axis, edge_order=edge_order)


@pytest.mark.parametrize("garbage", GARBAGE)
@pytest.mark.parametrize("kind", ["divergence", "vorticity"])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("coords", [False, True])
@pytest.mark.parametrize("chunks", [None, (4, 5)])
def test_masked_divergence_and_vorticity_follow_numpys_mask(
    garbage, kind, edge_order, coords, chunks
):
    u, _ = _masked((12, 14), 2, garbage)
    v, _ = _masked((12, 14), 3, garbage)
    if coords:
        steps = [np.cumsum(np.linspace(1, 2, 12)), np.cumsum(np.linspace(1, 3, 14))]
    else:
        steps = [0.5, 0.3]
    # oracle: numpy.gradient of the masked arrays and numpy's masked arithmetic; x is dim 1
    if kind == "divergence":
        want = _gradient_masked(u, steps, 1, edge_order) + _gradient_masked(v, steps, 0, edge_order)
    else:
        want = _gradient_masked(v, steps, 1, edge_order) - _gradient_masked(u, steps, 0, edge_order)
    want_mask = np.ma.getmaskarray(want)
    # the clean values, from the unmasked data only: numpy's masked arithmetic never mixes
    # masked data into an unmasked result
    clean = np.ma.getdata(want)
    op = getattr(daskgrad, kind)
    opts = dict(dims=(1, 0), spacing=[steps[1], steps[0]], edge_order=edge_order)
    if chunks is None:
        ours = op(u, v, **opts)
    else:
        with raise_if_dask_computes():
            lazy = op(_lazy(u, chunks), _lazy(v, chunks), **opts)
        ours = lazy.compute()
    _check_masked(ours, clean, want_mask, rtol=1e-10)


def test_masked_and_plain_components_mix():
    u, _ = _masked((9, 10), 4, 1e300)
    v = np.cos(np.arange(90.0).reshape(9, 10) / 7)
    want = np.gradient(u, axis=1) + np.gradient(v, axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        ours = daskgrad.divergence(u, v)
        lazy = daskgrad.divergence(_lazy(u, 4), v).compute()
    for got in (ours, lazy):
        _check_masked(got, np.ma.getdata(want), np.ma.getmaskarray(want))


def _dilate(mask, supports):
    """Per point of a 1-D line: masked when a point of its support is."""
    return np.array([mask[list(s)].any() for s in supports])


@pytest.mark.parametrize("garbage", GARBAGE)
@pytest.mark.parametrize("accuracy", [4, 6])
@pytest.mark.parametrize("chunks", [None, 7])
def test_masked_laplacian_at_higher_accuracy(garbage, accuracy, chunks):
    """findiff's second derivative of the clean field where no stencil (the spec's window,
    written out in tests.test_operators.window2) reaches a masked point; masked elsewhere."""
    from .test_operators import window2

    n = 40
    f, clean = _masked((n,), 5, garbage, frac=0.08)
    h = 0.1
    want = (findiff.Diff(0, h, acc=accuracy) ** 2)(clean)
    supports = [window2(i, n, accuracy, True, 1) for i in range(n)]
    want_mask = _dilate(f.mask, supports)
    ours = daskgrad.laplacian(
        f if chunks is None else _lazy(f, chunks), spacing=h, accuracy=accuracy
    )
    ours = ours if chunks is None else ours.compute()
    _check_masked(ours, want, want_mask, rtol=1e-8)


@pytest.mark.parametrize("garbage", GARBAGE)
@pytest.mark.parametrize("chunks", [None, 6])
def test_masked_gradient_at_accuracy_4_and_with_omit(garbage, chunks):
    """Masked gradients beyond numpy.gradient's accuracy 2 (refused before): the Fornberg
    reference of tests.test_stencil on the clean field where the stencil avoids the mask."""
    from .test_stencil import reference

    n = 30
    f, clean = _masked((n,), 6, garbage, frac=0.1)
    x = f if chunks is None else _lazy(f, chunks)
    (g,) = daskgrad.gradient(x, spacing=0.2, accuracy=4)
    g = g if chunks is None else g.compute()
    want = reference(clean, 0, 4, 0.2)
    # the centred 5-point stencil skips its own point (weight 0); one-sided ones of 5 points
    supports = []
    for i in range(n):
        if 2 <= i <= n - 3:
            supports.append([i - 2, i - 1, i + 1, i + 2])
        else:
            start = 0 if i < 2 else n - 5
            supports.append(range(start, start + 5))
    _check_masked(g, want, _dilate(f.mask, supports), rtol=1e-9)
    # nan_policy="omit": the masked points are holes the stencils go around, as NaN would be
    holes = np.where(f.mask, np.nan, clean)
    (g,) = daskgrad.gradient(x, spacing=0.2, accuracy=4, nan_policy="omit")
    g = g if chunks is None else g.compute()
    want = reference(holes, 0, 4, 0.2, omit=True)
    _check_masked(g, want, f.mask | np.isnan(want), rtol=1e-9)


def test_masked_dask_gradient_with_unknown_row_chunks_keeps_numpys_mask():
    f, _ = _masked((10, 8), 7, 1e300)
    a = _lazy(f, (4, 3))[da.ones(10, dtype=bool, chunks=4)]
    assert np.isnan(a.shape[0])
    (g,) = daskgrad.gradient(a, dim=1, spacing=0.5)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.gradient(f, 0.5, axis=1)
    _check_masked(g.compute(), np.ma.getdata(want), np.ma.getmaskarray(want))


@pytest.mark.parametrize("bad", [[0, 1, 2, 2, 3, 4, 5, 6.0], [0, 1, 2, np.nan, 4, 5, 6, 7.0]])
def test_numpy_data_with_a_bad_dask_coordinate_is_refused(bad):
    """NumPy data with a dask coordinate that repeats a value or holds NaN (adversarial trial:
    [1, 1, inf, nan, 1, ...] without a word) is refused as the same coordinate in NumPy is."""
    f = np.arange(8.0)
    with pytest.raises(ValueError, match="spacing") as lazy:
        daskgrad.gradient(f, spacing=[da.from_array(np.array(bad), chunks=3)])
    with pytest.raises(ValueError) as eager:
        daskgrad.gradient(f, spacing=[np.array(bad)])
    assert str(lazy.value) == str(eager.value)
