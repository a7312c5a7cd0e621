"""Small inputs in a blink (issue "Close to the limit", item 3): with no cluster option, a run
small enough that a cluster costs more than it saves computes on the process's own threads —
no dask worker process, distributed not even imported — and says so in one line; the results
are numpy's; explicit cluster options and runs whose tasks do not fit the memory rule on
threads still get a cluster; the trust rules hold on the threads too (SIGTERM: exit 143,
OUTPUT intact)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import cli, popen_tied  # in this process where the process is not what is tested
from .test_cli import leftovers, small_dataset
from .test_cli_trust import snapshot

psutil = pytest.importorskip("psutil")
xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

ON_THREADS = "computing on this process's"

# ``daskgrad run`` in a fresh interpreter that reports, after the run, whether distributed
# was ever imported (a cluster needs it; the small path must not)
PROBE = """
import sys
from daskgrad.cli import main
code = main(sys.argv[1:])
print("distributed imported:", "distributed" in sys.modules, flush=True)
sys.exit(code)
"""


class Watched:
    """A ``daskgrad`` command in a subprocess, its child processes noted every 20 ms."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = popen_tied(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ps = psutil.Process(self.proc.pid)
        self.children: dict[int, str] = {}

    def tick(self) -> None:
        try:
            for child in self.ps.children(recursive=True):
                with_cmd = self.children.setdefault(child.pid, "")
                if not with_cmd:
                    try:
                        self.children[child.pid] = " ".join(child.cmdline())
                    except psutil.Error:
                        pass
        except psutil.NoSuchProcess:
            pass

    def wait(self, timeout: float = 180) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.tick()
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=30)


def probe(*args: str) -> Watched:
    return Watched([sys.executable, "-c", PROBE, *map(str, args)])


def cli_watched(*args):
    """``cli(*args)`` in this process, and the command lines of the processes it started
    (this process's new children, noted every 20 ms by a thread while it runs)."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    seen: dict[int, str] = {}
    done = threading.Event()

    def watch() -> None:
        while True:
            for child in me.children(recursive=True):
                if child.pid not in before and not seen.get(child.pid):
                    try:
                        seen[child.pid] = " ".join(child.cmdline())
                    except psutil.Error:
                        seen.setdefault(child.pid, "")
            if done.wait(0.02):
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        r = cli(*args)
    finally:
        done.set()
        thread.join()
    return r, seen


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A store of a few KiB on an uneven grid, as ``daskgrad run`` gets it."""
    root = tmp_path_factory.mktemp("small")
    ds = small_dataset(shape=(6, 20, 30)).chunk({"time": 2})
    ds.to_zarr(root / "in.zarr")
    return root, ds


def test_a_2d_store_on_threads_never_imports_distributed(tmp_path):
    """A 2-D store of 1 MiB (the new-user trial's: 512 x 256 float64, no coordinates) on
    threads: the writer asked distributed for a default client, importing it (0.2-0.4 s) for
    nothing; a process that never imported it has no client."""
    ds = xr.Dataset({"f": (("y", "x"), np.random.default_rng(0).random((512, 256)))})
    ds.to_zarr(tmp_path / "in.zarr")
    run = probe("run", tmp_path / "in.zarr", tmp_path / "out.zarr", "--dim", "x", "--dim", "y")
    stdout, stderr = run.wait()
    assert run.proc.returncode == 0, stderr
    assert ON_THREADS in stdout and "distributed imported: False" in stdout, stdout
    got = xr.open_zarr(tmp_path / "out.zarr")
    dy, dx = np.gradient(ds.f.values)
    np.testing.assert_array_equal(got.df_dx.values, dx)
    np.testing.assert_array_equal(got.df_dy.values, dy)


def test_a_small_run_computes_on_threads_without_a_cluster(small):
    """No child process at all (no nanny, no worker, no scheduler), distributed never
    imported; one line says where it computes; the results are numpy's."""
    root, ds = small
    out = root / "threads.zarr"
    run = probe("run", root / "in.zarr", out, "--dim", "x", "--dim", "y", "--no-progress")
    stdout, stderr = run.wait()
    assert run.proc.returncode == 0, stderr
    assert run.children == {}, run.children
    assert "distributed imported: False" in stdout
    said = [ln for ln in stdout.splitlines() if ON_THREADS in ln]
    assert len(said) == 1 and "no cluster" in said[0], stdout
    assert "local cluster" not in stdout and "dashboard" not in stdout
    assert " -> " in stdout and "0 workers lost" in stdout  # the summary line
    got = xr.open_zarr(out)
    for v in ("t", "q", "n"):
        data = ds[v].values.astype("float64")
        axes = {"x": data.ndim - 1, "y": data.ndim - 2}
        for d, axis in axes.items():
            want = np.gradient(data, ds[d].values, axis=axis)
            have = got[f"d{v}_d{d}"].values
            tol = 1e-12 if have.dtype == np.float64 else 1e-6  # float32 data stay float32
            np.testing.assert_allclose(have, want, rtol=tol, atol=tol * np.abs(want).max())
    assert leftovers(out) == []


@pytest.mark.parametrize(
    "flag", [["--workers", "1"], ["--threads-per-worker", "1"], ["--memory-limit", "1GiB"]]
)
def test_an_explicit_cluster_option_still_starts_a_cluster(small, flag):
    """--workers, --threads-per-worker and --memory-limit keep their meaning on a small input:
    a local cluster of worker processes computes it (as README's "Clusters" says)."""
    root, ds = small
    out = root / f"flag{flag[0]}.zarr"
    # in this process (the console script's entry point): its worker processes are watched
    r, children = cli_watched("run", root / "in.zarr", out, "--dim", "x", "--no-progress", *flag)
    assert r.returncode == 0, r.stderr
    assert "local cluster of " in r.stdout and ON_THREADS not in r.stdout, r.stdout
    assert any("multiprocessing.spawn" in cmd for cmd in children.values()), children
    want = np.gradient(ds.t.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dt_dx.values, want, rtol=1e-12, atol=1e-12)


def test_an_explicit_scheduler_is_used_not_threads(small):
    """--scheduler on a small input still means that scheduler: one that is not there is an
    error, not a quiet run on this process's threads."""
    root, _ = small
    out = root / "sched.zarr"
    r = cli("run", root / "in.zarr", out, "--dim", "x", "--scheduler", "tcp://127.0.0.1:1")
    assert r.returncode == 2, r.stderr
    assert "no dask scheduler at tcp://127.0.0.1:1" in r.stderr
    assert ON_THREADS not in r.stdout and not out.exists()


def test_a_larger_run_starts_a_cluster(small, monkeypatch):
    """A run whose tasks do not fit the memory rule on threads gets the local cluster (the
    memory the rule sees lowered below the baseline, as larger chunks would need). In this
    process (``cli``): the cluster's worker processes are watched as its children."""
    import daskgrad.cluster.inprocess as inprocess

    root, ds = small
    out = root / "larger.zarr"
    monkeypatch.setattr(inprocess, "machine_memory", lambda: 100 * 2**20)
    r, children = cli_watched("run", root / "in.zarr", out, "--dim", "x", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "local cluster of " in r.stdout and ON_THREADS not in r.stdout, r.stdout
    assert any("multiprocessing" in cmd for cmd in children.values()), children
    want = np.gradient(ds.t.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dt_dx.values, want, rtol=1e-12, atol=1e-12)


def test_the_memory_rule_bounds_the_threads():
    """One process never computes more than the memory rule allows: a run whose task on one
    thread does not fit the memory (less the baseline, below the pause share) needs a
    cluster; the rule's fractions are distributed's own defaults."""
    import dask
    import distributed  # noqa: F401 - adds its defaults to dask's config

    from daskgrad.cluster.inprocess import threads_suffice
    from daskgrad.cluster.memory import MEMORY_FRACTIONS, machine_memory

    for name, value in MEMORY_FRACTIONS.items():
        assert dask.config.get(f"distributed.worker.memory.{name}") == value
    from distributed.system import MEMORY_LIMIT

    assert machine_memory() == MEMORY_LIMIT
    mib = 2**20
    assert threads_suffice(8 * mib, 2, memory=8 * 2**30, threads=1)
    # an 8 MiB chunk: read, converted, 2 derivatives, 2 encoded = 48 MiB, 5 times (what runs
    # on threads were measured to hold), + 190 MiB baseline = 430 MiB, 75% of 573.3 MiB
    assert not threads_suffice(8 * mib, 2, memory=560 * mib, threads=1)
    assert threads_suffice(8 * mib, 2, memory=576 * mib, threads=1)


def test_sigterm_while_computing_on_threads_leaves_output_intact(medium_zarr, tmp_path):
    """SIGTERM while a small run computes on its threads (chunks being written into the
    temporary): exit 143, one line, the old OUTPUT untouched, no temporary, no process."""
    old = tmp_path / "out.zarr"
    small_dataset(seed=7).to_zarr(old)
    before = snapshot(old)
    run = Watched(
        [sys.executable, "-m", "daskgrad", "run", str(medium_zarr), str(old), "--dim", "x",
         "--overwrite", "--no-progress"]
    )  # fmt: skip
    sent = False
    deadline = time.monotonic() + 180
    try:
        while run.proc.poll() is None and time.monotonic() < deadline:
            run.tick()
            names = leftovers(old)
            tmp = old.parent / names[0] if names else None
            written = 0
            if tmp is not None:
                try:
                    written = sum(1 for p in tmp.rglob("*") if p.is_file() and "c" in p.parts)
                except OSError:
                    written = 0
            if not sent and written >= 2:
                run.proc.send_signal(signal.SIGTERM)
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
    assert run.proc.returncode == 143, stderr
    assert stderr.strip().splitlines() == [
        f"daskgrad: terminated; no output written: the old {old} is as it was"
    ], stderr
    time.sleep(0.5)  # a straggling write would recreate the temporary
    assert leftovers(old) == []
    assert snapshot(old) == before


def test_first_line_comes_before_the_work(small, tmp_path):
    """The first line names the input and its size before anything is built, checked or
    started: it is printed even when the run is then refused."""
    root, _ = small
    out = tmp_path / "o.zarr"
    shutil.copytree(root / "in.zarr", out)  # exists: refused without --overwrite
    r = cli("run", root / "in.zarr", out, "--dim", "x")
    assert r.returncode == 2, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"daskgrad: {Path(root / 'in.zarr')}: 4 variables, ") and (
        "chunks" in first
    ), r.stdout
