"""Blocks and chunks in any memory layout (F-ordered, transposed, sliced, reversed) against
numpy.gradient."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

import daskgrad
from daskgrad.core.kernel import coord_ext, gradient_block

from .conftest import assert_gradients_close

SHAPE = (12, 18, 22)


def _field(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _layouts(f):
    """``f``'s values in other memory layouts, none of them C-contiguous."""
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((f.shape[0], 2 * f.shape[1] + 3, f.shape[2]))
    wide[:, 3::2] = f
    return {
        "F-ordered": np.asfortranarray(f),
        "transposed": f.transpose(2, 0, 1).copy().transpose(1, 2, 0),
        "sliced": wide[:, 3::2],
        "reversed": f[::-1, :, ::-1].copy()[::-1, :, ::-1],
    }


LAYOUTS = ["F-ordered", "transposed", "sliced", "reversed"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_block_uniform_matches_numpy(layout, edge_order):
    f = _field()
    block = _layouts(f)[layout]
    assert not block.flags.c_contiguous and np.array_equal(block, f)
    ours = gradient_block(block, [0, 1, 2], [(None, None)] * 3, [0.5, 2.0, 1.0], edge_order, float)
    ref = np.gradient(f, 0.5, 2.0, 1.0, edge_order=edge_order)
    if edge_order == 1:  # numpy's operations exactly
        for o, r in zip(ours, ref, strict=True):
            assert np.array_equal(o, r)
    else:
        assert_gradients_close(ours, ref, f, [0.5, 2.0, 1.0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("accuracy", [2, 4])
def test_block_with_ghosts_and_coordinates_matches_numpy(layout, accuracy):
    """A block cut out of a larger field, ghost planes from it on every side that has them
    (laid out as the block), coordinates on one axis: numpy.gradient of the larger field."""
    big = _field((16, 22, 26), seed=2)
    xs = np.cumsum(np.random.default_rng(3).uniform(0.5, 1.5, big.shape[1]))
    g = accuracy // 2
    f = big[g : 12 + g, :, 2 : 22 + 2]  # whole along axis 1, inner along 0 and 2
    block = _layouts(np.ascontiguousarray(f))[layout]

    def planes(axis, s, e):
        p = {0: big[s:e, :, 2:24], 2: big[g : 12 + g, :, s:e]}[axis]
        return np.asfortranarray(p) if layout == "F-ordered" else p

    ghosts = [
        (planes(0, 0, g), planes(0, 12 + g, 12 + 2 * g)),
        (None, None),
        (planes(2, 2 - g, 2), planes(2, 24, 24 + g)),
    ]
    steps = [1.0, coord_ext(None, xs, None, depth=g), 0.5]
    ours = gradient_block(block, [0, 1, 2], ghosts, steps, 1, float, accuracy=accuracy)
    if accuracy == 2:
        ref = np.gradient(big, 1.0, xs, 0.5)
        ref = [r[g : 12 + g, :, 2:24] for r in ref]
        assert_gradients_close(ours, ref, f, [1.0, xs, 0.5])
    # the layout changes no bit: the same block C-ordered
    same = gradient_block(
        np.ascontiguousarray(f), [0, 1, 2], ghosts, steps, 1, float, accuracy=accuracy
    )
    for o, s in zip(ours, same, strict=True):
        assert np.array_equal(o, s)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_block_outputs_are_c_ordered(layout):
    """Outputs are C-ordered whatever the block's layout: dask assembles its result, and zarr
    encodes chunks, in C order, and a transposing copy of each of k outputs there cost more
    than one of the input (measured: F-ordered outputs of transposed chunks took the dask
    computation from 1.4x to 0.6-0.7x the speed of three elementwise passes)."""
    f = _field((40, 50, 60))
    block = _layouts(f)[layout]
    ours = gradient_block(block, [0, 1, 2], [(None, None)] * 3, [1.0] * 3, 1, float)
    for o, r in zip(ours, np.gradient(f), strict=True):
        assert o.flags.c_contiguous
        assert np.array_equal(o, r)


@pytest.mark.parametrize("layout", ["F-ordered", "transposed", "views", "reversed"])
def test_dask_chunks_in_any_layout_match_numpy(layout):
    f = _field((20, 24, 30), seed=4)
    xs = np.cumsum(np.random.default_rng(5).uniform(0.5, 1.5, f.shape[2]))
    if layout == "views":  # from_array alone: chunks are non-contiguous views into ``f``
        x = da.from_array(f, chunks=(7, 10, 12))
    elif layout == "reversed":
        x = da.from_array(f[::-1, ::-1, ::-1].copy(), chunks=(7, 10, 12))[::-1, ::-1, ::-1]
    else:
        x = da.from_array(f, chunks=(7, 10, 12)).map_blocks(
            np.asfortranarray if layout == "F-ordered" else _transposed_copy, dtype=f.dtype
        )
    with dask.config.set(scheduler="sync"):
        ours = dask.compute(*daskgrad.gradient(x))
        ours_xs = dask.compute(*daskgrad.gradient(x, spacing=[1.0, 2.0, xs]))
    for o, r in zip(ours, np.gradient(f), strict=True):
        assert np.array_equal(o, r)
    assert_gradients_close(ours_xs, np.gradient(f, 1.0, 2.0, xs), f, [1.0, 2.0, xs])


def _transposed_copy(b):
    return b.transpose(1, 2, 0).copy().transpose(2, 0, 1)


def test_eager_numpy_input_in_any_layout_matches_numpy():
    f = _field((30, 20, 25), seed=6)
    for name, g in _layouts(f).items():
        for o, r in zip(daskgrad.gradient(g), np.gradient(f), strict=True):
            assert np.array_equal(o, r), name
