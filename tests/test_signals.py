"""Every signal counts (issue 18, section 3): a Ctrl-C to the whole process group or a SIGTERM at
any moment of ``daskgrad run`` on its embedded cluster — while Python imports, before the
cluster, while it starts, while computing, at the swap — on a machine kept busy by the test:
exit 130/143, one line, no OUTPUT (an old one intact), no temporary, no process left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import popen_tied
from .test_cli import leftovers, small_dataset
from .test_cli_trust import snapshot

psutil = pytest.importorskip("psutil")
xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

INTERRUPTED = "daskgrad: interrupted; no output written"
TERMINATED = "daskgrad: terminated; no output written"
# While it writes (builds the graph, computes), the run's process makes a full garbage
# collection every 100 allocations: a signal that arrives during one is seen first in
# distributed's gc callback (GCDiagnosis._gc_callback), which discards an exception raised
# there (issue 18: "Exception ignored in: <bound method GCDiagnosis._gc_callback …>
# daskgrad.cli.Terminated", then exit 0).
LOW_GC = """
import gc, sys
import daskgrad.io.writer as writer

write = writer.write

def often(*args, **kwargs):
    gc.set_threshold(100, 1, 1)
    return write(*args, **kwargs)

writer.write = often
sys.argv[0] = "daskgrad"
from daskgrad.cli import main
sys.exit(main())
"""


@pytest.fixture(scope="module")
def busy():
    """Three busy loops on the machine's cores while the runs start and compute."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    yield
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small input (many chunks, so a run computes for a while) and an old OUTPUT."""
    root = tmp_path_factory.mktemp("signals")
    ds = small_dataset(shape=(24, 32, 48)).chunk({"time": 1, "y": 16, "x": 48})
    ds.to_zarr(root / "in.zarr")
    small_dataset(seed=7).to_zarr(root / "old.zarr")
    return root, ds


class Run:
    """``daskgrad run IN OUT --dim x --overwrite`` onto a copy of the old OUTPUT, in a session
    of its own (a terminal's process group), signalled once ``ready`` says so."""

    def __init__(
        self, root: Path, name: str, sig: int, ready, how: str = "module", group: bool = False
    ):
        import shutil

        self.group = group  # SIGTERM to the whole group too (timeout, Slurm, docker stop)

        self.out = root / f"{name}.zarr"
        shutil.copytree(root / "old.zarr", self.out)
        self.before = snapshot(self.out)
        self.sig, self.ready, self.name = sig, ready, name
        args = ["run", str(root / "in.zarr"), str(self.out), "--dim", "x", "--overwrite"]
        # --workers: on its embedded cluster (a run this small computes on threads without
        # one otherwise; tests/test_small_inputs.py signals that)
        args += ["--no-progress", "--workers", "2"]
        if how == "module":
            cmd = [sys.executable, "-m", "daskgrad", *args]
        elif how == "script":
            cmd = [str(Path(sys.executable).with_name("daskgrad")), *args]
        else:
            cmd = [sys.executable, "-c", LOW_GC, *args]
        self.start = time.monotonic()
        self.proc = popen_tied(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        self.seen: dict[int, psutil.Process] = {}
        self.sent = None

    def tick(self) -> None:
        """Note the run's processes; send the signal once it is time."""
        try:
            for child in self.ps.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
        if self.sent is None and self.proc.poll() is None and self.ready(self):
            if self.sig == signal.SIGINT or self.group:  # Ctrl-C: the whole process group
                os.killpg(self.proc.pid, self.sig)
            else:
                self.proc.send_signal(self.sig)
            self.sent = time.monotonic() - self.start

    def temporary(self) -> Path | None:
        names = leftovers(self.out)
        return self.out.parent / names[0] if names else None

    def chunks(self) -> int:
        tmp = self.temporary()
        try:
            files = [p for p in tmp.rglob("*") if p.is_file()] if tmp else []
        except OSError:  # removed meanwhile
            return 0
        return sum(1 for p in files if p.relative_to(tmp).parts[1:2] == ("c",))


def after(seconds):
    return lambda run: time.monotonic() - run.start >= seconds


def temporary_then(seconds):
    """``seconds`` after OUTPUT's temporary appeared: it is made just before the cluster starts."""

    def ready(run):
        if getattr(run, "tmp_at", None) is None:
            run.tmp_at = time.monotonic() if run.temporary() else None
            return False
        return time.monotonic() - run.tmp_at >= seconds

    return ready


def metadata_then(seconds):
    """``seconds`` after the temporary got its zarr metadata: the graph is being built."""

    def ready(run):
        if getattr(run, "meta_at", None) is None:
            tmp = run.temporary()
            run.meta_at = time.monotonic() if tmp and (tmp / "zarr.json").exists() else None
            return False
        return time.monotonic() - run.meta_at >= seconds

    return ready


def chunks_written(n):
    return lambda run: run.chunks() >= n


def run_all(runs: list[Run], ds) -> list[tuple[Run, str, str]]:
    """Signal each run when it is ready, wait for all; check what every run must leave."""
    results = []
    try:
        deadline = time.monotonic() + 240
        while any(r.proc.poll() is None for r in runs) and time.monotonic() < deadline:
            for r in runs:
                r.tick()
            time.sleep(0.02)
        for r in runs:
            stdout, stderr = r.proc.communicate(timeout=30)
            results.append((r, stdout, stderr))
        time.sleep(1)  # a straggling write would recreate the temporary
        for r, stdout, stderr in results:
            gone, alive = psutil.wait_procs(list(r.seen.values()), timeout=15)
            what = f"{r.name}: signal {r.sent and round(r.sent, 1)} s after start; {stderr}"
            assert r.sent is not None, f"{r.name}: the run ended before its moment: {stdout}"
            assert not alive, f"{what}; left alive: {[p.pid for p in alive]}"
            assert leftovers(r.out) == [], what
            code = 130 if r.sig == signal.SIGINT else 143
            assert r.proc.returncode == code, what
            lines = stderr.strip().splitlines()
            assert len(lines) == 1, what  # no traceback, no "Exception ignored", no worker's
            word = "interrupted" if r.sig == signal.SIGINT else "terminated"
            if lines[0] == f"daskgrad: {word} after {r.out} was written; it is complete":
                # a signal in the swap waits for it; the new OUTPUT is whole and right
                got = xr.open_zarr(r.out).dt_dx.values
                np.testing.assert_allclose(got, np.gradient(ds.t.values, ds.x.values, axis=2))
            else:
                said = INTERRUPTED if r.sig == signal.SIGINT else TERMINATED
                # once the old OUTPUT is known to be there, the line says it is untouched
                kept = f"{said}: the old {r.out} is as it was"
                assert lines[0] in (said, kept), what
                assert snapshot(r.out) == r.before, what
    finally:
        for r in runs:
            if r.proc.poll() is None:
                os.killpg(r.proc.pid, signal.SIGKILL)
                r.proc.wait()
            for p in r.seen.values():
                if p.is_running():
                    p.kill()
    return results


def test_signals_while_python_imports(busy, data, tmp_path):
    """Before the first line of daskgrad's own code has run, and while numpy, dask, xarray and
    distributed import (python -m daskgrad and the console script)."""
    root, ds = data
    runs = [
        Run(root, "imp-int-0", signal.SIGINT, after(0.15)),
        Run(root, "imp-int-1", signal.SIGINT, after(0.6), how="script"),
        Run(root, "imp-term-0", signal.SIGTERM, after(0.4)),
        Run(root, "imp-term-1", signal.SIGTERM, after(1.0), how="script"),
    ]
    run_all(runs, ds)


def test_signals_while_the_cluster_starts(busy, data):
    """The issue's reproduction: Ctrl-C to the process group (the worker processes that are
    starting get it too) or SIGTERM after OUTPUT's temporary appeared, while the embedded
    cluster starts its workers."""
    root, ds = data
    runs = [
        Run(root, "start-int-0", signal.SIGINT, temporary_then(0.3)),
        Run(root, "start-int-1", signal.SIGINT, temporary_then(1.2)),
        Run(root, "start-int-2", signal.SIGINT, temporary_then(2.0)),
        Run(root, "start-term-0", signal.SIGTERM, temporary_then(0.8)),
    ]
    run_all(runs, ds)


def test_signals_while_computing(busy, data):
    """While the chunks are written, with garbage collected very often in the run's process
    (the SIGTERM that distributed's gc callback swallowed), and later in the computation (a
    signal at the swap waits for it and says the new OUTPUT is complete)."""
    root, ds = data
    runs = [
        Run(root, "comp-term-gc-0", signal.SIGTERM, metadata_then(0.0), how="low-gc"),
        Run(root, "comp-term-gc-1", signal.SIGTERM, metadata_then(0.3), how="low-gc"),
        Run(root, "comp-term-gc-2", signal.SIGTERM, chunks_written(1), how="low-gc"),
        Run(root, "comp-int-0", signal.SIGINT, chunks_written(2)),
    ]
    run_all(runs, ds)


def test_sigterm_to_the_process_group(busy, data):
    """SIGTERM to the whole process group (what ``timeout``, systemd, Slurm and ``docker stop``
    send) also stops the cluster's processes, so the computation fails before the held signal is
    acted on: still exit 143 and "terminated", never "computation failed" with exit 1."""
    root, ds = data
    runs = [
        Run(root, "group-term-0", signal.SIGTERM, temporary_then(1.0), group=True),
        Run(root, "group-term-1", signal.SIGTERM, metadata_then(0.3), group=True),
        Run(root, "group-term-2", signal.SIGTERM, chunks_written(1), group=True),
    ]
    run_all(runs, ds)
