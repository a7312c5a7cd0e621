"""Many small stored chunks on a distributed cluster: `daskgrad run` reads several stored chunks
per task along a dim it does not differentiate (``daskgrad.cli.batching``), so the scheduler
holds far fewer tasks than the store has chunks (benchmarks/bench_stored_chunks.py measures
its memory at 10^4 and 10^5 stored chunks). Pinned at a small scale on a real cluster (the
session's scheduler and 2 workers): the most tasks the scheduler holds at once, polled during
the run, and the result against numpy.gradient."""

from __future__ import annotations

import threading

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from .conftest import cli  # noqa: E402

STORED = (1, 8, 8)
SHAPE = (40, 32, 32)  # 40 x 4 x 4 = 640 stored chunks


def store(path):
    rng = np.random.default_rng(5)
    t = rng.standard_normal(SHAPE).astype("f4")
    x = np.cumsum(rng.uniform(0.5, 1.5, SHAPE[2]))
    ds = xr.Dataset({"t": (("time", "y", "x"), t)}, coords={"x": x})
    ds.chunk(dict(zip(("time", "y", "x"), STORED, strict=True))).to_zarr(path)
    return t, x


class MostTasks:
    """The most tasks the scheduler holds, polled every few ms from a client of its own."""

    def __init__(self, scheduler_file) -> None:
        from distributed import Client

        self.most = 0
        self._client = Client(scheduler_file=str(scheduler_file), timeout="30s")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        def held(dask_scheduler):
            return len(dask_scheduler.tasks)

        while not self._stop.is_set():
            self.most = max(self.most, self._client.run_on_scheduler(held))
            self._stop.wait(0.005)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._client.close()


def test_the_scheduler_holds_a_few_tasks_per_batch_not_per_stored_chunk(tmp_path, dask_cluster):
    """640 stored chunks of 1 x 8 x 8 differentiated along y and x: each task reads the 40
    stored chunks along time, so the scheduler never holds more than a quarter as many tasks
    as there are stored chunks (without batching it holds several per stored chunk); the
    derivatives equal numpy.gradient's."""
    t, x = store(tmp_path / "in.zarr")
    stored = np.prod([s // c for s, c in zip(SHAPE, STORED, strict=True)])
    with MostTasks(dask_cluster) as held:
        r = cli(
            "run", tmp_path / "in.zarr", tmp_path / "out.zarr", "--dim", "y", "--dim", "x",
            "--scheduler-file", dask_cluster, "--no-progress",
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert 0 < held.most <= stored // 4, (held.most, stored)
    assert "each task reads 40 stored chunks along 'time'" in r.stdout
    out = xr.open_zarr(tmp_path / "out.zarr")
    assert out.dt_dx.encoding["chunks"] == STORED  # the output keeps the stored chunks
    np.testing.assert_allclose(out.dt_dy.values, np.gradient(t, axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.dt_dx.values, np.gradient(t, x, axis=2), rtol=1e-5, atol=1e-5)


def test_with_every_dim_differentiated_the_graph_goes_in_pieces(
    tmp_path, dask_cluster, monkeypatch
):
    """Every dim differentiated (nothing to batch along: 4 tasks per stored chunk, 2560 for
    640): with a bound of 400 tasks the writes are submitted in pieces, at most two at once,
    and the scheduler never holds twice the bound (the whole graph at once: 2560); the
    derivatives equal numpy.gradient's."""
    from daskgrad.cli import batching

    monkeypatch.setattr(batching, "PIECE_TASKS", 400)
    t, x = store(tmp_path / "in.zarr")
    with MostTasks(dask_cluster) as held:
        r = cli(
            "run", tmp_path / "in.zarr", tmp_path / "out.zarr",
            "--dim", "time", "--dim", "y", "--dim", "x",
            "--scheduler-file", dask_cluster, "--no-progress",
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert 0 < held.most <= 2 * 400, held.most
    out = xr.open_zarr(tmp_path / "out.zarr")
    np.testing.assert_allclose(out.dt_dtime.values, np.gradient(t, axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.dt_dy.values, np.gradient(t, axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.dt_dx.values, np.gradient(t, x, axis=2), rtol=1e-5, atol=1e-5)
