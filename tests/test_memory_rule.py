"""The memory rule's least limit: what it counts, and a run at exactly that limit."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from tests.conftest import popen_tied

xr = pytest.importorskip("xarray")
psutil = pytest.importorskip("psutil")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

CLUSTER = ["--workers", "2", "--threads-per-worker", "1", "--no-progress"]
XY = ["--dim", "x", "--dim", "y"]


def least_limit(store, out, *args) -> int:
    """The least --memory-limit the run asks for when refusing 2 MiB (refused before anything
    starts: run in this process)."""
    from dask.utils import parse_bytes

    from .conftest import cli

    r = cli("run", store, out, *args, *CLUSTER, "--memory-limit", "2MiB")
    assert r.returncode == 2, r.stderr
    found = re.search(r"use at least ([\d.]+ \w+)", r.stderr)
    assert found, r.stderr
    return parse_bytes(found.group(1).replace(" ", ""))


@pytest.fixture(scope="module")
def uv(tmp_path_factory):
    """u, v float32 (40, 512, 512): 40 MiB each, stored in 12 MiB chunks along time."""
    rng = np.random.default_rng(3)
    shape = (40, 512, 512)
    coords = {"x": np.arange(512) * 1e3, "y": np.arange(512) * 1e3}
    ds = xr.Dataset(
        {n: (("time", "y", "x"), rng.random(shape, dtype=np.float32)) for n in "uv"},
        coords=coords,
    )
    path = tmp_path_factory.mktemp("uv") / "uv.zarr"
    ds.chunk({"time": 6}).to_zarr(path)
    return path, ds


def test_operators_count_their_inputs_and_outputs(uv, tmp_path):
    """A vorticity reads u and v in each task and computes its result besides the two
    derivatives: it asks for more than the plain gradient of one variable along the same dims
    (before: the same, k = 2 derivatives of one chunk); a Laplacian (its sum besides its two
    second derivatives, one array written) for no less."""
    path, _ = uv
    out = tmp_path / "o.zarr"
    plain = least_limit(path, out, *XY, "--var", "u")
    lap = least_limit(path, out, *XY, "--laplacian", "u")
    vort = least_limit(path, out, *XY, "--vorticity", "u,v")
    assert lap >= plain, (lap, plain)
    assert vort > plain and vort > lap, (vort, plain, lap)


def test_counts_of_a_job():
    from daskgrad.cli.derived import Request
    from daskgrad.cli.pipeline import prepare
    from daskgrad.cluster.memory import task_bytes

    f = np.zeros((4, 6, 8), "uint8")
    ds = xr.Dataset({n: (("t", "y", "x"), f) for n in "uv"}).chunk({"t": 2, "y": 3})
    job = prepare(ds, ["x", "y"], request=Request(laplacian=["u"]))
    assert (job.counts["inputs"], job.counts["outputs"]) == (1, 1)
    assert job.counts["input_ratio"] == 1 / 8  # uint8 read, float64 computed
    assert job.counts["neighbours"]  # y has 2 chunks: ghost planes from a neighbour
    job = prepare(ds, ["x", "y"], request=Request(vorticity=[("u", "v")]))
    assert (job.counts["inputs"], job.counts["outputs"]) == (2, 1)
    # 2 inputs as read, twice more held for neighbours, converted, 4 derivatives, 1 result
    # and its encoding: more than the plain gradient of one variable
    assert task_bytes(8, 2, **job.counts) > task_bytes(8, 2)
    plain = prepare(ds, ["x"])
    assert (plain.counts["inputs"], plain.counts["outputs"]) == (1, 0)
    assert not plain.counts["neighbours"]  # x is one chunk


def _sampled_run(cmd):
    """(exit status, peak RSS of each process the run started, stderr), sampled every 50 ms."""
    err = tempfile.TemporaryFile("w+")
    proc = popen_tied(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
    peaks: dict[int, int] = {}
    main = psutil.Process(proc.pid)
    try:
        while proc.poll() is None:
            try:
                children = main.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for child in children:
                try:
                    # workers only: a process just forked, before it execs, shows the run's
                    # own command line and memory (the resource tracker's start)
                    if "spawn_main" not in " ".join(child.cmdline()):
                        continue
                    peaks[child.pid] = max(peaks.get(child.pid, 0), child.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.05)
        rc = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.seek(0)
    return rc, peaks, err.read()


def test_vorticity_runs_at_the_least_limit(uv, tmp_path):
    """At exactly the limit the check asks for, no worker pauses (80 %) or restarts and the
    sampled resident memory of each stays below 0.8 of it."""
    path, ds = uv
    out = tmp_path / "o.zarr"
    args = [*XY, "--vorticity", "u,v"]
    limit = least_limit(path, out, *args)
    cmd = [sys.executable, "-m", "daskgrad", "run", str(path), str(out), *args, *CLUSTER]
    rc, peaks, err = _sampled_run([*cmd, "--memory-limit", str(limit), "--debug"])
    assert rc == 0, err[-2000:]
    assert "Pausing worker" not in err and "Restarting worker" not in err, err[-2000:]
    assert len(peaks) == 2, peaks  # two workers, none restarted
    peak = max(peaks.values()) / limit
    assert peak < 0.8, f"peak {peak:.2f} of {limit / 2**20:.0f} MiB"
    got = xr.open_zarr(out)["vort_u_v"].isel(time=[0, 39]).values
    u, v = ds.u.isel(time=[0, 39]).values, ds.v.isel(time=[0, 39]).values
    ref = np.gradient(v, 1e3, axis=2) - np.gradient(u, 1e3, axis=1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-7)
