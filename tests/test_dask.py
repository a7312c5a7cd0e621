"""The dask layer: graph size, laziness, chunk repair, and results on every chunking."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from dask._task_spec import GraphNode
from dask.highlevelgraph import HighLevelGraph

from daskgrad import gradient

from .conftest import assert_gradients_close, raise_if_dask_computes


def n_tasks(arrays) -> int:
    return len(dict(HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays])))


@pytest.mark.parametrize("dims", [[0], [0, 2], [0, 1, 2]])
@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize(
    "chunks, planes",
    # chunks above 64 KiB get tasks copying their ghost planes; smaller ones are taken whole
    # by their neighbours' kernels
    [((8, 10, 20), 0), ((20, 40, 20), 1)],
)
def test_at_most_3k_plus_2_tasks_per_chunk(dims, periodic, chunks, planes):
    x = da.random.random((40, 40, 40), chunks=chunks)
    nchunks = np.prod(x.numblocks)
    assert n_tasks([x]) == nchunks
    with raise_if_dask_computes():
        outs = gradient(x, dim=dims, periodic=periodic)
    k = len(dims)
    assert n_tasks(outs) <= (3 * k + 2) * nchunks  # the README's bound
    if planes:  # input, planes for the neighbours, kernel, one getitem per output (none for
        # k = 1: the kernel's task is the output)
        assert n_tasks(outs) == (k + 2 + planes if k > 1 else 2 + planes) * nchunks
    else:  # small chunks: the input and one task per output, as the minimal graph
        assert n_tasks(outs) == (k + 1) * nchunks
    # the peer for comparison: dask.array.gradient needs more per chunk
    peer = da.gradient(x, axis=dims)
    peer = peer if isinstance(peer, list) else [peer]
    assert n_tasks(outs) < n_tasks(peer)


@pytest.mark.parametrize("dims", [[0], [0, 1, 2]])
@pytest.mark.parametrize("periodic", [False, True])
def test_graph_holds_task_objects_not_legacy_tuples(dims, periodic):
    """Every task of our layers is one of dask's task objects: legacy tuples would be converted
    one by one at compute time (a sixth of dask.compute's time at 10^4 chunks, issue 9)."""
    x = da.random.random((30, 20, 6), chunks=((1, 9, 10, 9, 1), (1, 19), 6))
    cx = da.from_array(np.cumsum(np.arange(1, 31.0)), chunks=7)
    spacing = [cx, 0.5, 2.0][: len(dims)]
    outs = gradient(
        x, dim=dims, spacing=spacing, edge_order=2, periodic={0: 500.0} if periodic else None
    )
    graph = HighLevelGraph.merge(*[o.__dask_graph__() for o in outs])
    ours = {n: layer for n, layer in graph.layers.items() if n.startswith("gradient")}
    # the kernel's layer (with the planes and coordinate tasks), and one getitem layer per dim
    # when there are several
    assert len(ours) == (1 + len(dims) if len(dims) > 1 else 1)
    for layer in ours.values():
        legacy = {k: v for k, v in layer.items() if not isinstance(v, GraphNode)}
        assert not legacy, list(legacy.items())[:3]


def test_building_computes_nothing_with_dask_coords_and_repair():
    x = da.random.random((30, 20), chunks=((1, 9, 10, 9, 1), (1, 19)))
    cx = da.from_array(np.cumsum(np.arange(1, 31.0)), chunks=7)
    with raise_if_dask_computes():
        outs = gradient(x, spacing=[cx, 0.5], edge_order=2, periodic=None)
    assert all(o.chunks == x.chunks for o in outs)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize(
    "chunks",
    [
        ((1,) * 12, (1,) * 5),
        ((1, 11), (4, 1)),
        ((11, 1), (1, 4)),
        ((3, 0, 4, 5), (2, 0, 3)),
        ((12,), (5,)),
    ],
    ids=["all-ones", "one-at-start", "one-at-end", "empty-chunks", "single"],
)
def test_any_chunking_matches_numpy(edge_order, chunks):
    rng = np.random.default_rng(7)
    f = rng.standard_normal((12, 5))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for n in f.shape]
    x = da.from_array(f, chunks=chunks)
    for spacing in (None, xs, [da.from_array(c, chunks=2) for c in xs]):
        outs = gradient(x, spacing=spacing, edge_order=edge_order)
        assert all(o.chunks == x.chunks for o in outs)
        res = dask.compute(*outs, scheduler="sync")
        ref = np.gradient(f, *(xs if spacing is not None else []), edge_order=edge_order)
        assert_gradients_close(res, ref, f, xs if spacing is not None else [1.0])


def test_periodic_single_chunk_and_size_one_chunks():
    f = np.sin(np.linspace(0, 2 * np.pi, 10, endpoint=False))
    ref = np.gradient(np.pad(f, 1, mode="wrap"), 0.1)[1:-1]
    for chunks in [10, 1, 3]:
        (res,) = gradient(da.from_array(f, chunks=chunks), spacing=0.1, periodic=True)
        np.testing.assert_allclose(res.compute(scheduler="sync"), ref, rtol=1e-12)


def test_threaded_scheduler_and_float32():
    f = np.random.default_rng(0).standard_normal((64, 32, 16)).astype(np.float32)
    outs = gradient(da.from_array(f, chunks=(16, 8, 16)))
    res = dask.compute(*outs, scheduler="threads")
    assert all(r.dtype == np.float32 for r in res)
    for o, r in zip(res, np.gradient(f), strict=True):
        np.testing.assert_allclose(o, r, rtol=1e-6, atol=1e-6 * np.abs(f).max())


def test_same_input_same_graph_names():
    x = da.ones((10, 10), chunks=5)
    assert gradient(x)[0].name == gradient(x)[0].name
    assert gradient(x)[0].name != gradient(x, edge_order=2)[0].name


@pytest.mark.slow
def test_distributed_worker_processes(dask_cluster):
    """On the worker processes of a real cluster (the session's, tests/conftest.py)."""
    distributed = pytest.importorskip("distributed")
    f = np.random.default_rng(1).standard_normal((40, 30, 20))
    xs = [np.cumsum(np.random.default_rng(2).uniform(0.5, 1.5, n)) for n in f.shape]
    with distributed.Client(scheduler_file=str(dask_cluster)) as client:
        outs = gradient(
            da.from_array(f, chunks=(7, 11, 20)),
            spacing=[da.from_array(xs[0], chunks=9), xs[1], 2.0],
            edge_order=2,
            periodic={2: 40.0},
        )
        res = client.compute(list(outs), sync=True)
    padded = np.pad(f, [(0, 0), (0, 0), (1, 1)], mode="wrap")
    ref = np.gradient(padded, xs[0], xs[1], 2.0, edge_order=2)
    ref = tuple(r[..., 1:-1] for r in ref)
    assert_gradients_close(res, ref, f, xs)
