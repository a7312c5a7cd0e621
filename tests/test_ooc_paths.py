"""The out-of-core paths (issue "Close to the limit", item 1), by figures the machine's load does
not change: the tasks a run gives the workers per stored chunk, the bytes they fetch from each
other, the stored chunks read. Real LocalClusters (threads in this process, for speed), real
zarr stores; the benchmark's ``measure`` is what reports these figures."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("psutil")
distributed = pytest.importorskip("distributed")

from daskgrad.cli.app import main  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_out_of_core import measure  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

R = 6371008.8  # daskgrad's and MetPy's sphere


@pytest.fixture
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        )
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_measure_counts_the_tasks_run_and_the_bytes_fetched_between_workers(client):
    """A task restricted to the other worker than its 2 MiB argument's fetches it: 2 tasks,
    at least 2 MiB fetched; then a task beside its data fetches nothing."""
    a, b = sorted(client.scheduler_info()["workers"])

    def across():
        x = client.submit(np.ones, 2**18, workers=[a], pure=False)  # 2 MiB of float64
        assert client.submit(np.sum, x, workers=[b]).result() == 2**18

    moved = measure(client, across)
    assert moved["tasks"] == 2
    assert moved["fetched"] >= 2**21
    stay = measure(client, lambda: client.submit(np.sum, np.ones(8), workers=[a]).result())
    assert stay["tasks"] == 1
    assert stay["fetched"] == 0


def winds_store(path: Path) -> xr.Dataset:
    """u and v (4, 181, 360) on a global 1 deg grid in chunks (2, 91, 180) of 128 KiB (above
    the size whose kernels take their neighbours' whole chunks): 8 per input."""
    nt, ny, nx = 4, 181, 360
    lat = np.linspace(90.0, -90.0, ny)
    lon = np.arange(nx) * (360.0 / nx)
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    scale = (1 + 0.1 * np.arange(nt))[:, None, None]
    u = (10 * (np.cos(phi) ** 2 * np.sin(3 * lam) + np.cos(phi)) * scale).astype(np.float32)
    v = (10 * np.sin(2 * phi) * np.cos(2 * lam) * scale).astype(np.float32)
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }
    dims = ("time", "lat", "lon")
    ds = xr.Dataset(
        {
            "u": (dims, u, {"units": "m/s", "standard_name": "eastward_wind"}),
            "v": (dims, v, {"units": "m/s", "standard_name": "northward_wind"}),
        },
        coords=coords,
    )
    ds.chunk({"time": 2, "lat": 91, "lon": 180}).to_zarr(path)
    return ds


def test_geospatial_vorticity_run_gives_at_most_3_tasks_per_stored_chunk(tmp_path, client):
    """``daskgrad run --vorticity u,v --geospatial`` on a cluster: one task reads chunk i of u
    and v, one copies its ghost planes, one computes and writes (the floor, u + v through
    daskgrad.to_zarr, is 1 per chunk); only ghost planes cross between workers (never a whole
    chunk); the vorticity is the sphere's ∂v/∂x − ∂u/∂y + u tan φ / R by NumPy's differences,
    away from the poles (np.gradient's own edges are 1st order there)."""
    ds = winds_store(tmp_path / "in.zarr")
    stored = 2 * 2 * 2  # per input
    address = client.scheduler.address
    out = tmp_path / "out.zarr"
    argv = ["run", str(tmp_path / "in.zarr"), str(out), "--vorticity", "u,v", "--geospatial"]
    m = measure(client, lambda: main([*argv, "--no-progress", "--scheduler", address]))
    assert m["tasks"] <= 3 * stored, m
    chunk = 2 * 91 * 180 * 4  # bytes of one stored chunk of u
    assert m["fetched"] < chunk, m  # ghost planes only
    result = xr.open_zarr(out)
    (name,) = [n for n in result.data_vars if "vort" in n]
    phi = np.radians(ds.lat.values)[None, :, None]
    lam = np.radians(ds.lon.values)
    u, v = ds.u.values.astype(np.float64), ds.v.values.astype(np.float64)
    # periodic longitude: the differences across the seam by padding one column each side
    vp = np.concatenate([v[..., -1:], v, v[..., :1]], axis=-1)
    lam_p = np.concatenate([[lam[-1] - 2 * np.pi], lam, [lam[0] + 2 * np.pi]])
    dv_dlam = np.gradient(vp, lam_p, axis=-1)[..., 1:-1]
    du_dphi = np.gradient(u, np.radians(ds.lat.values), axis=1)
    expected = dv_dlam / (R * np.cos(phi)) - du_dphi / R + u * np.tan(phi) / R
    inner = slice(2, -2)
    np.testing.assert_allclose(
        result[name].values[:, inner], expected[:, inner], rtol=1e-4, atol=1e-4 * 1e-5
    )


def test_embedded_cluster_keeps_its_bandwidth_estimate_after_a_chunk_crosses(tmp_path):
    """The embedded cluster (``connect``, as ``daskgrad run`` starts it) estimates 1 MB/s
    between workers so that a chunk's kernel runs where the chunk was read; a worker moves its
    estimate towards the speed of each transfer over 1 MB (8 MiB fetched across: ~50 MB/s), and
    the scheduler's follows. After 8 MiB crossed, both are still 1 MB/s (before: the worker's
    rose at once, the scheduler's within a heartbeat)."""
    import time

    from dask.utils import parse_bytes

    from daskgrad.cluster.connect import CLUSTER_CONFIG, connect

    held = parse_bytes(str(CLUSTER_CONFIG["distributed.scheduler.bandwidth"]))
    with connect(
        workers=2, threads_per_worker=1, memory_limit=512 * 2**20, say=lambda _: None
    ) as c:
        a, b = sorted(c.scheduler_info()["workers"])
        for _ in range(3):
            x = c.submit(np.ones, 2**20, workers=[a], pure=False)  # 8 MiB
            assert c.submit(np.sum, x, workers=[b]).result() == 2**20
        fetched = c.run(lambda dask_worker: len(dask_worker.transfer_incoming_log))
        assert fetched[b] >= 3
        time.sleep(2.5)  # heartbeats carry the workers' estimates to the scheduler
        assert c.run(lambda dask_worker: dask_worker.bandwidth) == {a: held, b: held}
        assert c.run_on_scheduler(lambda dask_scheduler: dask_scheduler.bandwidth) == held
