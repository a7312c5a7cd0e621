"""Small chunks: taken whole by their neighbours' kernels, differentiated in padded passes.

The results on 10^2-element chunks must be those of one large block (the slab and edge-plane
passes), bit for bit, and agree with numpy.gradient and findiff.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

from daskgrad import divergence, gradient, vorticity


def field(n=20, dtype=np.float64):
    rng = np.random.default_rng(11)
    return rng.standard_normal((n, n + 1, n + 2)).astype(dtype)


@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiny_chunks_equal_one_block_bit_for_bit(accuracy, periodic, dtype):
    f = field(dtype=dtype)  # 9240 elements: one block takes the slab passes
    opts = dict(spacing=[0.5, 2.0, 0.25], accuracy=accuracy, periodic=periodic)
    whole = gradient(f, **opts)
    tiny = dask.compute(*gradient(da.from_array(f, chunks=5), **opts), scheduler="sync")
    for a, b in zip(whole, tiny, strict=True):
        np.testing.assert_array_equal(a, b)


def test_tiny_chunks_match_numpy_gradient():
    f = field()
    ours = dask.compute(*gradient(da.from_array(f, chunks=4), spacing=[0.5, 2.0, 0.25]))
    ref = np.gradient(f, 0.5, 2.0, 0.25)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_tiny_chunks_match_findiff_at_accuracy_4():
    findiff = pytest.importorskip("findiff")
    f = field()
    ours = dask.compute(*gradient(da.from_array(f, chunks=4), accuracy=4))
    for axis, a in enumerate(ours):
        ref = findiff.Diff(axis, 1.0, acc=4)(f)
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("periodic", [False, True])
def test_tiny_chunks_of_two_inputs(periodic):
    rng = np.random.default_rng(5)
    u, v = rng.standard_normal((2, 12, 13))
    ud, vd = da.from_array(u, chunks=3), da.from_array(v, chunks=(4, 3))
    opts = dict(spacing=[2.0, 0.5], periodic=periodic)
    vort, div = dask.compute(vorticity(ud, vd, **opts), divergence(ud, vd, **opts))

    def d(f, axis, h):
        if not periodic:
            return np.gradient(f, h, axis=axis)
        return (np.roll(f, -1, axis) - np.roll(f, 1, axis)) / (2 * h)

    # x is the last dim, y the one before; the spacings are (x, y)
    np.testing.assert_allclose(vort, d(v, 1, 2.0) - d(u, 0, 0.5), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(div, d(u, 1, 2.0) + d(v, 0, 0.5), rtol=1e-13, atol=1e-13)
