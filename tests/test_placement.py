"""Where the scheduler runs a chunk's kernel (issue "Close to the limit", item 1): on the worker
that read the chunk. The kernel's big dependency is its own chunk's read (all inputs' chunk,
packed); a kernel placed on the other worker fetches it across: 35-40 % of them were on the
out-of-core benchmark, seconds of transfer and spilling. Real embedded LocalCluster (the one
``daskgrad run`` starts), values against NumPy, worker memory under its limit."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
psutil = pytest.importorskip("psutil")
distributed = pytest.importorskip("distributed")

import daskgrad.io.writer as writer_module  # noqa: E402
from daskgrad.cli.app import main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

SHAPE, CHUNKS = (16, 384, 512), {"t": 8, "y": 96, "x": 128}  # 32 chunks of 384 KiB per input
LIMIT = 384 * 2**20


READS = ("read-", "open_dataset-")  # a packed read of several inputs, or one input's


def _name(key) -> str:
    return str(key[0] if isinstance(key, tuple) else key)


class Observed:
    """What ``daskgrad.io.writer`` computes on a cluster: its graphs, the worker that ran each
    task (the scheduler's task stream), the peak RSS of each worker process."""

    def __init__(self, monkeypatch):
        self.runs: list[tuple[dict, list]] = []
        self.where: dict[str, str] = {}
        self.peak = 0
        original = writer_module.compute_distributed

        def spy(graph, writes, client, *args, **kwargs):
            self.runs.append((graph, list(writes)))
            pids = client.run(os.getpid)
            procs = [psutil.Process(p) for p in pids.values()]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    for proc in procs:
                        try:
                            self.peak = max(self.peak, proc.memory_info().rss)
                        except psutil.NoSuchProcess:
                            pass
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            try:
                with distributed.get_task_stream(client=client) as ts:
                    original(graph, writes, client, *args, **kwargs)
            finally:
                stop.set()
                sampler.join()
            self.where.update({str(t["key"]): t["worker"] for t in ts.data})

        monkeypatch.setattr(writer_module, "compute_distributed", spy)

    def placements(self) -> list[tuple[str, str]]:
        """(worker of each kernel, worker of its chunk's read), for every computed kernel."""
        from dask.core import get_dependencies

        pairs = []
        for graph, writes in self.runs:
            for w in writes:
                reads = [d for d in get_dependencies(graph, w) if _name(d).startswith(READS)]
                assert len(reads) == 1, (w, get_dependencies(graph, w))
                pairs.append((self.where[str(w)], self.where[str(reads[0])]))
        return pairs


def store(path):
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.uniform(0.5, 2.0, SHAPE[2]))
    y = np.linspace(0.0, 5.0, SHAPE[1])
    data = {n: (("t", "y", "x"), rng.standard_normal(SHAPE).astype(np.float32)) for n in "uv"}
    ds = xr.Dataset(data, coords={"x": x, "y": y}).chunk(CHUNKS)
    ds.to_zarr(path)
    return ds.load()


def test_each_chunks_kernel_runs_on_the_worker_that_read_the_chunk(tmp_path, monkeypatch):
    """``daskgrad run --dim y --dim x`` of u and v on the embedded cluster (2 workers x 1
    thread): every kernel ran where its chunk's read ran (before: about a third elsewhere),
    no worker over its limit, and the derivatives are NumPy's."""
    ds = store(tmp_path / "in.zarr")
    seen = Observed(monkeypatch)
    argv = ["run", tmp_path / "in.zarr", tmp_path / "out.zarr", "--dim", "y", "--dim", "x"]
    argv += ["--workers", "2", "--threads-per-worker", "1", "--memory-limit", str(LIMIT)]
    assert main([*map(str, argv), "--no-progress"]) == 0
    pairs = seen.placements()
    assert len(pairs) >= 2 * 4 * 4  # per input, a kernel per read (which may take all of t)
    elsewhere = [p for p in pairs if p[0] != p[1]]
    assert not elsewhere, f"{len(elsewhere)} of {len(pairs)} kernels ran off their read's worker"
    assert len({r for _, r in pairs}) == 2  # both workers read
    assert 0 < seen.peak < LIMIT
    out = xr.open_zarr(tmp_path / "out.zarr")
    for n in "uv":
        f = ds[n].values.astype(np.float64)
        dy, dx = np.gradient(f, ds.y.values, ds.x.values, axis=(1, 2))
        for ours, ref in ((out[f"d{n}_dy"], dy), (out[f"d{n}_dx"], dx)):
            np.testing.assert_allclose(ours.values, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
