"""The default is threads, chosen by measurement (issue "Close to the limit", item 4; README
"Clusters"): with no cluster option, a run computes on the command's own threads whenever a
task per thread fits the memory rule, whatever the size of its data, which the threads stream
through; a run whose tasks do not fit still starts a cluster. A threads run larger than the
former 256 MiB threshold gets numpy's results without a worker process, and a SIGTERM leaves
the old OUTPUT intact (exit 143, one line)."""

from __future__ import annotations

import signal
import sys
import time

import numpy as np
import pytest

from .test_cli import leftovers, small_dataset
from .test_cli_trust import snapshot
from .test_small_inputs import ON_THREADS, Watched, cli_watched

psutil = pytest.importorskip("psutil")
xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

MiB = 2**20
GiB = 2**30


def test_the_trials_run_computes_on_threads():
    """The new-user trial: u, v of 24 x 721 x 1440 float32, one chunk per time step (4 MiB),
    geospatial gradients of both (k = 2), the vorticity and the divergence: 190 MiB read,
    570 MiB written, above the former threshold, far below the machine's memory per task."""
    from daskgrad.cluster.inprocess import threads_suffice

    chunk = 721 * 1440 * 4
    vorticity = {"inputs": 2, "outputs": 1}  # what the vorticity's tasks read and write
    assert threads_suffice(chunk, 2, vorticity, memory=23 * GiB, threads=2)
    assert threads_suffice(chunk, 2, vorticity, memory=2 * GiB, threads=2)


def test_data_larger_than_memory_still_streams_on_threads():
    """The rule counts tasks, not data: a 4 MiB chunk fits 1 GiB of memory on 2 threads
    whatever the number of chunks (the run streams: README "Clusters"); the same run on 16
    threads (16 tasks of 40 MiB, 5 times, and the baseline, above 75% of 1 GiB) needs a
    cluster's limits."""
    from daskgrad.cluster.inprocess import THREADS_FACTOR, threads_suffice, threads_working_set
    from daskgrad.cluster.memory import WORKER_BASELINE

    chunk, counts = 4 * MiB, {"inputs": 2, "outputs": 1}
    # an independent count: 2 read, 2 converted, 2 x 2 derivatives, 1 result, 1 encoded
    per_task = chunk * (2 + 2 + 4 + 1 + 1)
    assert THREADS_FACTOR == 5
    assert threads_working_set(chunk, 2, counts, 2) == WORKER_BASELINE + 5 * 2 * per_task
    assert threads_suffice(chunk, 2, counts, memory=GiB, threads=2)
    assert WORKER_BASELINE + 5 * 16 * per_task > 0.75 * GiB
    assert not threads_suffice(chunk, 2, counts, memory=GiB, threads=16)


def test_a_working_set_above_the_share_starts_a_cluster():
    """At the boundary: the working set against 75% of the memory (distributed's pause
    fraction, 0.8, less the 0.05 margin), both sides."""
    from daskgrad.cluster.inprocess import threads_suffice
    from daskgrad.cluster.memory import WORKER_BASELINE

    chunk = 64 * MiB
    # 5 times 2 tasks of: read, converted, 2 derivatives, 2 encoded
    held = WORKER_BASELINE + 5 * 2 * chunk * (1 + 1 + 2 + 2)
    fits = int(held / 0.75) + 1
    assert threads_suffice(chunk, 2, memory=fits, threads=2)
    assert not threads_suffice(chunk, 2, memory=fits - 2 * MiB, threads=2)


def larger(root):
    """A smooth float32 t(z, y, x) of 66 MiB in 24 chunks along z: its 3 derivatives make
    the run read and write 264 MiB, above the former 256 MiB threshold."""
    z, y, x = np.arange(24.0), np.linspace(0, 3, 600), np.linspace(0, 4, 1200)
    t = (np.sin(z)[:, None, None] * np.cos(y)[None, :, None] * x[None, None, :]).astype("f4")
    ds = xr.Dataset({"t": (("z", "y", "x"), t)}, coords={"z": z, "y": y, "x": x})
    ds.to_zarr(root / "in.zarr", encoding={"t": {"chunks": (1, 600, 1200)}})
    return ds


@pytest.fixture(scope="module")
def larger_zarr(tmp_path_factory):
    root = tmp_path_factory.mktemp("threads-default")
    return root, larger(root)


def test_a_run_above_the_former_threshold_computes_on_threads(larger_zarr):
    """No cluster option: the 264 MiB run says it computes on threads, starts no process and
    writes numpy's gradients. In this process (``cli``): the processes it would start are
    this process's children, watched while it runs."""
    root, ds = larger_zarr
    out = root / "out.zarr"
    args = ["run", root / "in.zarr", out, "--dim", "x", "--dim", "y", "--dim", "z"]
    r, children = cli_watched(*args, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert ON_THREADS in r.stdout and "local cluster" not in r.stdout, r.stdout
    assert children == {}, children
    t = ds.t.values.astype("f8")
    got = xr.open_zarr(out)
    for axis, dim in enumerate(("z", "y", "x")):
        want = np.gradient(t, ds[dim].values, axis=axis)
        np.testing.assert_allclose(got[f"dt_d{dim}"].values, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "sig, code, word",
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["sigterm", "ctrl-c"],
)
def test_a_signal_on_threads_above_the_former_threshold_leaves_output_intact(
    larger_zarr, sig, code, word
):
    """SIGTERM or Ctrl-C while the 264 MiB run writes on its threads: exit 143 or 130, one
    line, the old OUTPUT untouched, no temporary, no process left."""
    root, _ = larger_zarr
    old = root / f"old-{word}.zarr"
    small_dataset(seed=3).to_zarr(old)
    before = snapshot(old)
    run = Watched(
        [sys.executable, "-m", "daskgrad", "run", str(root / "in.zarr"), str(old), "--dim", "x",
         "--dim", "y", "--dim", "z", "--overwrite", "--no-progress"]
    )  # fmt: skip
    sent = False
    deadline = time.monotonic() + 240
    try:
        while run.proc.poll() is None and time.monotonic() < deadline:
            run.tick()
            names = leftovers(old)
            written = 0
            if names:
                try:
                    tmp = old.parent / names[0]
                    written = sum(1 for p in tmp.rglob("*") if p.is_file() and "c" in p.parts)
                except OSError:
                    written = 0
            if not sent and written >= 2:
                run.proc.send_signal(sig)
                sent = True
            time.sleep(0.01)
        stdout, stderr = run.proc.communicate(timeout=60)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
    assert sent, f"the run ended before any chunk was seen written: {stdout}"
    assert ON_THREADS in stdout, stdout
    assert run.children == {}, run.children
    assert run.proc.returncode == code, stderr
    assert stderr.strip().splitlines() == [
        f"daskgrad: {word}; no output written: the old {old} is as it was"
    ], stderr
    time.sleep(0.5)  # a straggling write would recreate the temporary
    assert leftovers(old) == []
    assert snapshot(old) == before
