"""The dask graph's paths (issue 22, items 2 and 5; issue 19's longest function): on tiny chunks
one task per output chunk, each taking only the chunk and its two neighbours along its own axis;
the same numbers as numpy.gradient and as one chunk on every path; graph.py's functions short."""

from __future__ import annotations

import ast
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest

import daskgrad
from daskgrad.core import graph

from .conftest import raise_if_dask_computes

ROOT = Path(__file__).resolve().parent.parent


def _chunk_of(key, name):
    assert key[0] == name, key
    return key[1:]


@pytest.mark.parametrize("periodic", [False, True])
def test_tiny_chunks_one_task_per_partial_from_its_own_axis_neighbours(periodic):
    x = da.random.random((12, 15, 8), chunks=(3, 5, 4))
    with raise_if_dask_computes():
        outs = daskgrad.gradient(x, periodic=periodic)
    nb = x.numblocks
    for axis, out in enumerate(outs):
        layer = out.__dask_graph__().layers[out.name]
        assert len(layer) == np.prod(nb)  # one task per output chunk, no getitem behind it
        for key, task in dict(layer).items():
            i = key[1:]
            want = {i}
            for step in (-1, 1):
                j = list(i)
                j[axis] += step
                if periodic:
                    j[axis] %= nb[axis]
                if 0 <= j[axis] < nb[axis]:
                    want.add(tuple(j))
            got = {_chunk_of(k, x.name) for k in task.dependencies}
            assert got == want, (axis, key)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"periodic": True},
        {"spacing": [0.5, 2.0, 3.0], "edge_order": 2},
        {"accuracy": 4},
        {"accuracy": 6, "periodic": [0, 2]},
        {"nan_policy": "omit"},
        {"dim": [0, 2]},
    ],
)
def test_tiny_chunks_agree_with_one_chunk(kw):
    rng = np.random.default_rng(3)
    f = rng.standard_normal((18, 12, 14))
    if kw.get("nan_policy") == "omit":
        f[rng.random(f.shape) < 0.05] = np.nan
    with dask.config.set(scheduler="sync"):
        tiny = dask.compute(*daskgrad.gradient(da.from_array(f, chunks=(6, 4, 7)), **kw))
        one = dask.compute(*daskgrad.gradient(da.from_array(f, chunks=f.shape), **kw))
    assert len(tiny) == len(one) == len(kw.get("dim", [0, 1, 2]))
    for t, o in zip(tiny, one, strict=True):
        np.testing.assert_array_equal(t, o)


@pytest.mark.parametrize("periodic", [False, True])
def test_tiny_chunks_on_coordinates_match_numpy(periodic):
    rng = np.random.default_rng(4)
    f = rng.standard_normal((16, 10, 12))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for n in f.shape]
    x = da.from_array(f, chunks=4)
    spacing = [da.from_array(xs[0], chunks=5), xs[1], xs[2]]
    with dask.config.set(scheduler="sync"):
        got = dask.compute(*daskgrad.gradient(x, spacing=spacing))
    for axis, g in enumerate(got):
        np.testing.assert_allclose(g, np.gradient(f, xs[axis], axis=axis), rtol=1e-12, atol=1e-12)
    if periodic:  # and a periodic uniform axis beside them, against numpy on the rolled array
        with dask.config.set(scheduler="sync"):
            (g0,) = dask.compute(daskgrad.gradient(x, dim=[0], periodic=True)[0])
        want = (np.roll(f, -1, 0) - np.roll(f, 1, 0)) / 2.0
        np.testing.assert_allclose(g0, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["i4", "f4"])
def test_tiny_chunks_of_integers_and_float32_match_numpy(dtype):
    f = np.random.default_rng(5).integers(-50, 50, (8, 12, 10)).astype(dtype)
    with dask.config.set(scheduler="sync"):
        got = dask.compute(*daskgrad.gradient(da.from_array(f, chunks=(4, 3, 5))))
    want = np.gradient(f.astype(np.float64))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == (np.float32 if dtype == "f4" else np.float64)
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_chunks_needing_repair_and_large_chunks_keep_one_kernel_per_chunk():
    """Chunks the kernel cannot take as they are, or too large to hand whole to neighbours:
    one kernel per chunk computing every partial (and a getitem per output), as before."""
    f = np.random.default_rng(6).standard_normal((30, 20, 6))
    ragged = da.from_array(f, chunks=((1, 9, 10, 9, 1), (1, 19), 6))
    big = da.from_array(np.random.default_rng(7).standard_normal((64, 64, 16)), chunks=32)
    for x in (ragged, big):
        outs = daskgrad.gradient(x, edge_order=2)  # one-sided stencils of 3 at the edges
        kernels = {
            n
            for o in outs
            for n in o.__dask_graph__().layers
            if n.startswith("gradient-") and "-out" not in n
        }
        assert len(kernels) == 1  # one kernel layer behind the three outputs
        with dask.config.set(scheduler="sync"):
            got = dask.compute(*outs)
        for axis, g in enumerate(got):
            want = np.gradient(x.compute(), axis=axis, edge_order=2)
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)


def test_graph_functions_are_at_most_60_lines():
    """Issue 19's longest function was graph.py's _ghosted_dask (169 lines)."""
    tree = ast.parse(Path(graph.__file__).read_text())
    lengths = {
        n.name: n.end_lineno - n.lineno + 1
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert max(lengths.values()) <= 60, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
