"""The pure-NumPy kernel against numpy.gradient, block by block with ghost planes."""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad.core.kernel as kernel
from daskgrad.core.kernel import coord_ext, gradient_block

from .conftest import assert_gradients_close


def _split_blocks(f, axis, cuts, xs=None):
    """Run the kernel on pieces of ``f`` along ``axis`` with ghost planes from the neighbours."""
    n = f.shape[axis]
    bounds = [0, *cuts, n]
    outs = []
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        sl = [slice(None)] * f.ndim
        sl[axis] = slice(s, e)
        block = f[tuple(sl)]
        lo = np.take(f, [s - 1], axis=axis) if s > 0 else None
        hi = np.take(f, [e], axis=axis) if e < n else None
        step = (
            1.0
            if xs is None
            else coord_ext(xs[:s] if s else None, xs[s:e], xs[e:] if e < n else None)
        )
        outs.append(gradient_block(block, [axis], [(lo, hi)], [step], 2, f.dtype)[0])
    return np.concatenate(outs, axis=axis)


@pytest.mark.parametrize("slab", [64, 4096, 1 << 19])
@pytest.mark.parametrize("shape", [(9,), (5, 7), (4, 6, 5), (3, 4, 3, 5)])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_whole_block_matches_numpy(monkeypatch, slab, shape, edge_order):
    monkeypatch.setattr(kernel, "SLAB_BYTES", slab)
    rng = np.random.default_rng(0)
    f = rng.standard_normal(shape)
    xs = [np.cumsum(rng.uniform(0.2, 2.0, n)) for n in shape]
    axes = list(range(len(shape)))
    none = [(None, None)] * len(shape)
    ours = gradient_block(f, axes, none, [1.0] * len(shape), edge_order, f.dtype)
    assert_gradients_close(ours, np.gradient(f, edge_order=edge_order), f)
    steps = [coord_ext(None, x, None) for x in xs]
    ours = gradient_block(f, axes, none, steps, edge_order, f.dtype)
    assert_gradients_close(ours, np.gradient(f, *xs, edge_order=edge_order), f, xs)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("cuts", [[1], [2, 3], [1, 2, 3, 4, 5], [4]])
def test_blocks_with_ghosts_match_numpy(axis, cuts):
    rng = np.random.default_rng(axis)
    f = rng.standard_normal((7, 7, 7))
    xs = np.cumsum(rng.uniform(0.2, 2.0, 7))
    # with edge_order 2 an edge block needs 2 points: cuts never leave a 1-point edge block
    cuts = [c for c in cuts if 2 <= c <= 5] or [3]
    assert_gradients_close(
        (_split_blocks(f, axis, cuts),), np.gradient(f, axis=axis, edge_order=2), f
    )
    ref = np.gradient(f, xs, axis=axis, edge_order=2)
    assert_gradients_close((_split_blocks(f, axis, cuts, xs),), ref, f, [xs])


def test_one_point_blocks_with_both_ghosts():
    f = np.array([1.0, 3.0, 7.0, 8.0, 20.0])
    outs = [
        gradient_block(f[i : i + 1], [0], [(f[i - 1 : i], f[i + 1 : i + 2])], [1.0], 1, f.dtype)[0]
        for i in range(1, 4)
    ]
    np.testing.assert_array_equal(np.concatenate(outs), np.gradient(f)[1:4])


def test_outputs_written_in_place_and_int_input_promoted():
    f = np.arange(24, dtype=np.int16).reshape(4, 6) ** 2
    out = [np.empty((4, 6)), np.empty((4, 6))]
    res = gradient_block(f, [0, 1], [(None, None)] * 2, [1.0, 1.0], 1, np.float64, out=out)
    assert res[0] is out[0] and res[1] is out[1]
    ref = np.gradient(f.astype(float))
    np.testing.assert_array_equal(out[0], ref[0])
    np.testing.assert_array_equal(out[1], ref[1])


def test_non_contiguous_output_is_filled():
    f = np.random.default_rng(3).standard_normal((5, 6))
    big = np.zeros((5, 12))
    out = big[:, ::2]
    gradient_block(f, [1], [(None, None)], [1.0], 1, f.dtype, out=[out])
    np.testing.assert_allclose(out, np.gradient(f, axis=1))


def test_coord_ext_wraps_in_the_direction_of_the_coordinates():
    x = np.array([350.0, 340.0, 330.0])  # decreasing, period 360
    ext = coord_ext(x, x, x, 360.0, True, True)
    np.testing.assert_array_equal(ext, [330.0 + 360.0, 350.0, 340.0, 330.0, 350.0 - 360.0])
