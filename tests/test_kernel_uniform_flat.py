"""The kernel's pass for gradients on uniform axes (flat shifts of the raveled block, slabs that
cut through rows): numpy.gradient bit for bit at accuracy 2, exact on polynomials above it, on
blocks too large for the padded path of tiny blocks, with ghost planes on either side."""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad.core.kernel as kernel
from daskgrad.core.kernel import gradient_block


def _pieces(f, g, axes, lo_cut, hi_cut):
    """The block f[lo_cut:hi_cut] along the first two axes (whole along the others) and its
    ``g`` ghost planes a side along every axis of ``axes`` (None at the array's edge)."""
    sl = tuple(slice(lo_cut, hi_cut) if a < 2 else slice(None) for a in range(f.ndim))
    block = np.ascontiguousarray(f[sl])
    ghosts = []
    for a in axes:
        n = f.shape[a]

        def planes(s, e, a=a):
            return np.ascontiguousarray(f[sl[:a] + (slice(s, e),) + sl[a + 1 :]])

        s, e = (lo_cut, hi_cut) if a < 2 else (0, n)
        lo = planes(s - g, s) if s > 0 else None
        hi = planes(e, e + g) if e < n else None
        ghosts.append((lo, hi))
    return block, ghosts, sl


@pytest.mark.parametrize("slab", [8 * 37, 1 << 19])  # bytes: 37 points (slabs cut rows), all
@pytest.mark.parametrize("h", [1.0, 0.5, 0.3])
@pytest.mark.parametrize("cuts", [(0, 12), (2, 9), (3, 12), (0, 10)])
def test_accuracy_2_is_numpy_bit_for_bit(monkeypatch, slab, h, cuts):
    monkeypatch.setattr(kernel, "SLAB_BYTES", slab)
    f = np.random.default_rng(3).standard_normal((12, 12, 100))
    axes = [0, 1, 2]
    block, ghosts, sl = _pieces(f, 1, axes, *cuts)
    assert block.size > kernel.PADDED_MAX
    ours = gradient_block(block, axes, ghosts, [h] * 3, 1, f.dtype)
    for a, o in zip(axes, ours, strict=True):
        ref = np.gradient(f, h, axis=a)[sl]
        # numpy divides by 2h where the kernel multiplies by 0.5 / h: equal bits for h = 1, 0.5
        if h in (1.0, 0.5):
            np.testing.assert_array_equal(o.view(np.int64), ref.view(np.int64))
        else:
            np.testing.assert_allclose(o, ref, rtol=1e-13, atol=1e-13)
    # one axis per call (the graph's task per partial on chunks in memory): the same bits
    for a, o in zip(axes, ours, strict=True):
        (one,) = gradient_block(block, [a], [ghosts[a]], [h], 1, f.dtype)
        np.testing.assert_array_equal(one.view(np.int64), o.view(np.int64))


@pytest.mark.parametrize("slab", [8 * 97, 1 << 19])
@pytest.mark.parametrize("accuracy", [4, 6, 8])
def test_higher_accuracy_exact_on_polynomials(monkeypatch, slab, accuracy):
    # a centred stencil of accuracy p differentiates polynomials of degree p exactly
    monkeypatch.setattr(kernel, "SLAB_BYTES", slab)
    h = 0.25
    z, y, x = np.meshgrid(*[np.arange(n) * h for n in (24, 24, 40)], indexing="ij")
    p = accuracy
    f = x**p + 0.5 * y ** (p - 1) * x + z**p - 2 * z * y
    exact = [p * z ** (p - 1) - 2 * y, 0.5 * (p - 1) * y ** (p - 2) * x - 2 * z, 0.5 * y ** (p - 1)]
    exact[2] = exact[2] + p * x ** (p - 1)
    g = accuracy // 2
    axes = [0, 1, 2]
    block, ghosts, sl = _pieces(f, g, axes, g + 1, 24 - g - 1)
    assert block.size > kernel.PADDED_MAX
    ours = gradient_block(block, axes, ghosts, [h] * 3, 1, f.dtype, accuracy=accuracy)
    # interior points only (the edges of the full array, one-sided, are not in the block)
    for o, e in zip(ours, exact, strict=True):
        np.testing.assert_allclose(o, e[sl], rtol=1e-9, atol=1e-9 * np.abs(f).max())
