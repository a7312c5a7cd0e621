"""Dask input whose chunks are already in memory (issue 22.5): one task per output chunk, each
taking the chunk and its neighbours' whole chunks along its own axis (no tasks copying ghost
planes, no kernel computing every partial behind getitems), so that dask finishes one partial
before the next, as it does three elementwise passes. Chunks still to compute (read from a
store, made by other tasks) or held by a distributed cluster keep one kernel per chunk fed with
ghost planes: the out-of-core guarantees. Values are checked against numpy.gradient and findiff.
"""

from __future__ import annotations

import dask
import dask.array as da
import findiff
import numpy as np
import pytest
from dask.highlevelgraph import HighLevelGraph
from distributed import Client, LocalCluster

import daskgrad
from daskgrad.core.graph import WHOLE_NEIGHBOURS_BYTES

SHAPE = (40, 30, 90)
# chunks well over WHOLE_NEIGHBOURS_BYTES, ragged and odd
CHUNKS = ((13, 14, 13), (11, 19), (90,))


def persisted(f: np.ndarray, chunks=CHUNKS) -> da.Array:
    x = da.from_array(f, chunks=chunks).map_blocks(np.ascontiguousarray)
    return x.persist(scheduler="sync")


def n_tasks(arrays) -> int:
    return len(dict(HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays])))


def plane_tasks(outs) -> list:
    """The keys of the tasks copying ghost planes."""
    graph = dict(HighLevelGraph.merge(*[o.__dask_graph__() for o in outs]))
    return [k for k in graph if "planes" in k[0]]


def field(dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(22).standard_normal(SHAPE).astype(dtype)


def test_chunks_in_memory_get_one_task_per_output_chunk():
    f = field()
    x = persisted(f)
    nchunks = x.npartitions
    assert 14 * 19 * 90 * f.itemsize > WHOLE_NEIGHBOURS_BYTES  # the largest chunk: not tiny
    outs = daskgrad.gradient(x)
    # the input, and one task per output chunk: no planes, no getitem
    assert n_tasks(outs) == (len(outs) + 1) * nchunks
    graph = HighLevelGraph.merge(*[o.__dask_graph__() for o in outs])
    assert not plane_tasks(outs)
    assert not [n for n in graph.layers if "-out" in n]
    # each output's tasks depend on the input alone
    for o in outs:
        assert graph.dependencies[o.name] == {x.name}


def test_chunks_still_to_compute_keep_one_kernel_per_chunk():
    """The out-of-core shape: chunks made by tasks (a read, a transpose, a view needing a copy)
    get a task copying their ghost planes and one kernel computing every partial."""
    f = field()
    for x in (
        da.from_array(f, chunks=CHUNKS).map_blocks(np.ascontiguousarray),  # not persisted
        da.from_array(f, chunks=CHUNKS),  # views that are not C-contiguous
        persisted(f.transpose(2, 1, 0).copy(), CHUNKS[::-1]).transpose(2, 1, 0),
        persisted(f.astype(np.int32)),  # computed in float64: each task would convert
    ):
        outs = daskgrad.gradient(x)
        assert len(plane_tasks(outs)) == x.npartitions, x
        graph = HighLevelGraph.merge(*[o.__dask_graph__() for o in outs])
        kernels = {n for n in graph.layers if n.startswith("gradient-") and "-out" not in n}
        assert len(kernels) == 1


def test_in_memory_chunks_on_the_processes_scheduler_keep_one_kernel_per_chunk():
    """Each task would be sent its chunk and two neighbours' whole: planes are copied once."""
    f = field()
    x = persisted(f)
    with dask.config.set(scheduler="processes"):
        outs = daskgrad.gradient(x)
    assert len(plane_tasks(outs)) == x.npartitions
    with dask.config.set(scheduler="sync"):
        got = dask.compute(*outs)
    for g, w in zip(got, np.gradient(f), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_persisted_on_a_distributed_cluster_keeps_ghost_plane_tasks():
    """Chunks held by workers (futures in the graph) are not in this process's memory: whole
    chunks would cross between workers, so their planes are copied by tasks."""
    f = field()
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        x = client.persist(da.from_array(f, chunks=CHUNKS).map_blocks(np.ascontiguousarray))
        outs = daskgrad.gradient(x)
        assert len(plane_tasks(outs)) == x.npartitions
        got = client.compute(list(outs), sync=True)
    for g, w in zip(got, np.gradient(f), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_in_memory_matches_numpy(edge_order, dtype, scheduler):
    f = field(dtype)
    assert 14 * 19 * 90 * f.itemsize > WHOLE_NEIGHBOURS_BYTES  # the largest chunk: not tiny
    xs = [np.cumsum(np.random.default_rng(a).uniform(0.5, 1.5, n)) for a, n in enumerate(SHAPE)]
    x = persisted(f)
    with dask.config.set(scheduler=scheduler):
        uniform = dask.compute(
            *daskgrad.gradient(x, spacing=[0.3, 2.0, 1.0], edge_order=edge_order)
        )
        coords = dask.compute(*daskgrad.gradient(x, spacing=xs, edge_order=edge_order))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    f64 = f.astype(np.float64)
    for g, w in zip(uniform, np.gradient(f64, 0.3, 2.0, 1.0, edge_order=edge_order), strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **tol)
    for g, w in zip(coords, np.gradient(f64, *xs, edge_order=edge_order), strict=True):
        np.testing.assert_allclose(g, w, **tol)


def test_in_memory_dask_coordinates_and_subset_of_dims():
    f = field()
    x = persisted(f)
    cx = np.cumsum(np.random.default_rng(3).uniform(0.5, 1.5, SHAPE[2]))
    dz, dx = daskgrad.gradient(x, dim=[0, 2], spacing=[1.5, da.from_array(cx, chunks=17)])
    np.testing.assert_allclose(dz.compute(), np.gradient(f, 1.5, axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx.compute(), np.gradient(f, cx, axis=2), rtol=1e-12, atol=1e-12)


def test_in_memory_periodic_accuracy_4_matches_findiff():
    """Order 4 on a periodic axis and the others, against findiff on the field padded with
    its wrap-around planes."""
    f = field()
    h = (0.5, 1.0, 0.25)
    x = persisted(f)
    got = dask.compute(*daskgrad.gradient(x, spacing=list(h), accuracy=4, periodic={1: 30.0}))
    padded = np.concatenate([f[:, -2:], f, f[:, :2]], axis=1)
    want1 = findiff.Diff(1, h[1], acc=4)(padded)[:, 2:-2]
    np.testing.assert_allclose(got[1], want1, rtol=1e-10, atol=1e-10)
    for axis in (0, 2):
        want = findiff.Diff(axis, h[axis], acc=4)(f)
        np.testing.assert_allclose(got[axis], want, rtol=1e-10, atol=1e-10)


def test_in_memory_nan_omit_matches_chunked_oracle():
    """nan_policy='omit' on in-memory chunks equals the same call on the whole field as one
    chunk (the NumPy path), where no chunk boundary exists; away from the holes, numpy."""
    f = field()
    f[5:7, 10, 20:23] = np.nan
    f[26, 18:21, 40] = np.nan  # across chunk boundaries along axes 0 and 1
    x = persisted(f)
    got = dask.compute(*daskgrad.gradient(x, accuracy=4, nan_policy="omit"))
    want = daskgrad.gradient(f, accuracy=4, nan_policy="omit")
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, equal_nan=True)
    far = np.ones(SHAPE, bool)
    far[:12, 6:15, 16:27] = far[22:31, 14:25, 36:45] = False
    for g, w in zip(
        got, [findiff.Diff(a, 1.0, acc=4)(np.nan_to_num(f)) for a in range(3)], strict=True
    ):
        np.testing.assert_allclose(g[far], w[far], rtol=1e-10, atol=1e-10)
