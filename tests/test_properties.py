"""Hypothesis: random shapes, ragged chunkings (size-1 chunks included), spacing forms, dims."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daskgrad import gradient

from .conftest import assert_gradients_close

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def chunks(draw, shape):
    """Ragged chunks along every axis, size-1 chunks included (flox's strategy)."""
    out = []
    for n in shape:
        sizes, left = [], n
        while left:
            size = draw(st.integers(1, left))
            sizes.append(size)
            left -= size
        out.append(tuple(sizes))
    return tuple(out)


@st.composite
def problems(draw):
    edge_order = draw(st.sampled_from([1, 2]))
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(edge_order + 1, 7)) for _ in range(ndim))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(shape)
    axes = draw(st.permutations(range(ndim)).map(lambda p: list(p)))
    axes = axes[: draw(st.integers(1, ndim))]
    spacing, steps = [], []
    for ax in axes:
        kind = draw(st.sampled_from(["scalar", "numpy", "dask"]))
        if kind == "scalar":
            h = draw(st.sampled_from([1.0, 0.25, -2.0, 3.5]))
            spacing.append(h)
            steps.append(h)
        else:
            # strictly increasing coordinates with steps of widely varying size
            x = np.cumsum(rng.uniform(0.1, 3.0, shape[ax])) - 4.0
            steps.append(x)
            spacing.append(
                x if kind == "numpy" else da.from_array(x, chunks=draw(chunks((x.size,))))
            )
    return f, axes, spacing, steps, edge_order


@SETTINGS
@given(problem=problems(), data=st.data())
def test_dask_matches_numpy_gradient(problem, data):
    f, axes, spacing, steps, edge_order = problem
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    outs = gradient(x, spacing=spacing, dim=axes, edge_order=edge_order)
    assert all(o.chunks == x.chunks for o in outs)
    res = dask.compute(*outs, scheduler="sync")
    ref = np.gradient(f, *steps, axis=tuple(axes), edge_order=edge_order)
    assert_gradients_close(res, ref if isinstance(ref, tuple) else (ref,), f, steps)


@SETTINGS
@given(problem=problems())
def test_numpy_matches_numpy_gradient(problem):
    f, axes, spacing, steps, edge_order = problem
    spacing = [np.asarray(s) if isinstance(s, da.Array) else s for s in spacing]
    res = gradient(f, spacing=spacing, dim=axes, edge_order=edge_order)
    ref = np.gradient(f, *steps, axis=tuple(axes), edge_order=edge_order)
    assert_gradients_close(res, ref if isinstance(ref, tuple) else (ref,), f, steps)


@SETTINGS
@given(problem=problems(), data=st.data())
def test_periodic_matches_wrap_padded_numpy(problem, data):
    f, axes, _, _, edge_order = problem
    periodic = data.draw(st.lists(st.sampled_from(axes), unique=True, min_size=1))
    h = [data.draw(st.sampled_from([1.0, 0.5, -2.0])) for _ in axes]
    x = da.from_array(f, chunks=data.draw(chunks(f.shape)))
    res = dask.compute(
        *gradient(x, spacing=h, dim=axes, periodic=periodic, edge_order=edge_order),
        scheduler="sync",
    )
    pad = [(1, 1) if ax in periodic else (0, 0) for ax in range(f.ndim)]
    ref = np.gradient(np.pad(f, pad, mode="wrap"), *h, axis=tuple(axes), edge_order=edge_order)
    ref = ref if isinstance(ref, tuple) else (ref,)
    inner = tuple(slice(1, -1) if ax in periodic else slice(None) for ax in range(f.ndim))
    assert_gradients_close(res, tuple(r[inner] for r in ref), f, h)
