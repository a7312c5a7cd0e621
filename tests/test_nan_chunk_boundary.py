"""A NaN point on a chunk boundary, with evenly spaced coordinate arrays: numpy's uniform formula
skips the centre point (``(f[i+1] - f[i-1]) / 2h``), so a NaN at ``i`` stays out of its own
derivative. Dask input must give numpy's values whatever the chunking (an attacker found the
first and last plane of each chunk NaN there)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import daskgrad


@pytest.mark.parametrize("chunks", [(3, 4), (1, 6), (2, 2, 3), (4, 3), (7,)])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_the_attackers_case_and_its_chunkings(chunks, edge_order):
    f = np.array([1.0, 2.0, 4.0, np.nan, 3.0, 5.0, 6.0])
    x = np.arange(7) * 30.0
    want = np.gradient(f, x, edge_order=edge_order)
    got = daskgrad.gradient(da.from_array(f, chunks=(chunks,)), spacing=[x], edge_order=edge_order)
    np.testing.assert_allclose(got[0].compute(), want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
def test_random_nans_and_chunkings_in_3d_equal_numpy(seed):
    rng = np.random.default_rng(seed)
    shape = (11, 13, 9)
    f = rng.standard_normal(shape)
    f[rng.random(shape) < 0.15] = np.nan
    coords = [
        np.arange(n) * s + o
        for n, s, o in zip(shape, (0.5, 2.0, 0.25), (3.0, -1.0, 0.0), strict=True)
    ]
    chunks = tuple(tuple(int(c) for c in rng.integers(1, 5, 8)) for _ in shape)
    chunks = tuple(_fit(c, n) for c, n in zip(chunks, shape, strict=True))
    want = np.gradient(f, *coords)
    got = daskgrad.gradient(da.from_array(f, chunks=chunks), spacing=coords)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g.compute(), w, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_periodic_even_coordinates_on_chunk_borders_equal_numpy_on_the_wrapped_array():
    rng = np.random.default_rng(7)
    f = rng.standard_normal(24)
    f[[0, 5, 6, 12, 23]] = np.nan
    x = np.arange(24) * 15.0
    wrapped = np.concatenate((f[-1:], f, f[:1]))
    want = np.gradient(wrapped, 15.0)[1:-1]
    for chunks in [(6,) * 4, (5, 7, 12), (1,) * 24]:
        got = daskgrad.gradient(
            da.from_array(f, chunks=(chunks,)), spacing=[x], periodic={0: 360.0}
        )[0].compute()
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def _fit(parts: tuple[int, ...], n: int) -> tuple[int, ...]:
    out, left = [], n
    for p in parts:
        if left <= 0:
            break
        out.append(min(p, left))
        left -= out[-1]
    if left > 0:
        out.append(left)
    return tuple(out)
