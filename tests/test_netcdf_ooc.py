"""A compressed netCDF input far larger than the room a worker has for data runs out of core:
its reads hold no chunk cache beside the tasks the memory rule counts (netCDF-C gives every
variable it reads a cache of up to 64 MiB of decompressed chunks, per open file, per worker
process), so no worker reaches the fraction of its limit where dask pauses it, and the run
writes numpy's gradients. Before, the worker was paused there until the run failed."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("netCDF4")
pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from .conftest import cli  # noqa: E402

MiB = 2**20
#: one worker, one thread, at about the least limit the memory rule allows for this run
LIMIT = 272 * MiB
#: (time, y, x) float32 of each variable: 64 MiB of each decompressed, what a netCDF-C chunk
#: cache fills to; 128 MiB read and 128 MiB written, together about the worker's limit, the
#: input alone 4.6x the room the memory rule gives the worker's data below the pause fraction
SHAPE = (64, 256, 1024)


def field(k: int) -> np.ndarray:
    """Smooth float32 fields in steps of 1/256 (few mantissa bits: zlib shrinks them to a few
    MiB on disk, fast to write), with a different x-derivative at every time step."""
    nt, ny, nx = SHAPE
    t = np.arange(nt, dtype="f4")[:, None, None]
    y = np.linspace(0, 3, ny, dtype="f4")[None, :, None]
    x = np.linspace(0, 6, nx, dtype="f4")[None, None, :]
    f = np.sin(x * (1 + k) + t / 9) * np.cos(y) + k
    return (np.round(f * 256) / 256).astype("f4")


@pytest.fixture(scope="module")
def big_nc(tmp_path_factory):
    """u and v, zlib-compressed in netCDF chunks of one time step (1 MiB decompressed)."""
    path = tmp_path_factory.mktemp("ncooc") / "in.nc"
    nt, ny, nx = SHAPE
    xs = np.cumsum(np.linspace(1.0, 2.0, nx))  # a non-uniform x: the oracle must honour it
    ds = xr.Dataset(
        {name: (("time", "y", "x"), field(k)) for k, name in enumerate(("u", "v"))},
        coords={"x": xs},
    )
    enc = {v: {"zlib": True, "complevel": 1, "chunksizes": (1, ny, nx)} for v in ds.data_vars}
    ds.to_netcdf(path, engine="netcdf4", encoding=enc)
    assert path.stat().st_size < 0.25 * LIMIT  # small on disk, large decompressed
    yield path, xs
    path.unlink()


class PeakRSS:
    """The peak resident memory of each process below this one that was not there when it
    started (the run's LocalCluster workers), sampled every 20 ms in a thread."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.before = {p.pid for p in self.me.children(recursive=True)}
        self.peak: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stop.is_set():
            for p in self.me.children(recursive=True):
                if p.pid in self.before:
                    continue
                try:
                    self.peak[p.pid] = max(self.peak.get(p.pid, 0), p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.02)

    def __enter__(self) -> PeakRSS:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def test_compressed_netcdf_runs_out_of_core_without_pausing_the_worker(big_nc, tmp_path):
    path, xs = big_nc
    out = tmp_path / "out.zarr"
    args = ["run", path, out, "--dim", "x", "--no-progress", "--workers", "1"]
    args += ["--threads-per-worker", "1", "--memory-limit", str(LIMIT)]
    with PeakRSS() as rss:
        r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert "0 workers lost" in r.stdout
    import dask

    from daskgrad.cluster.memory import WORKER_BASELINE

    # distributed's default: a worker is paused at 80% of its limit
    pause = dask.config.get("distributed.worker.memory.pause")
    # the input decompressed is several times what the worker may hold besides its baseline,
    # and with the output as much as its limit: the run was out of core
    room = pause * LIMIT - WORKER_BASELINE
    assert 2 * 4 * np.prod(SHAPE) > 4 * room
    assert 2 * 2 * 4 * np.prod(SHAPE) > 0.9 * LIMIT
    # the resident memory of every process the run started (the worker; its nanny holds less)
    # stayed below the pause fraction
    assert rss.peak, "no worker process was seen"
    assert max(rss.peak.values()) < pause * LIMIT, {p: v / MiB for p, v in rss.peak.items()}
    got = xr.open_zarr(out)
    for k, name in enumerate(("u", "v")):
        want = np.gradient(field(k).astype("f8"), xs, axis=2)
        np.testing.assert_allclose(got[f"d{name}_dx"].values, want, rtol=1e-5, atol=1e-6)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary left
    assert os.path.exists(path)
