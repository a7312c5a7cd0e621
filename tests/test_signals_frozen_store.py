"""Findings of the attacker trial of 2026-12-08 on signals: a Ctrl-C while an S3 store had
stopped answering (default --store-timeout, 300 s) was acted on only once the store answered
again, both while computing on this process's threads and while a dead run's leftovers were
cleaned up before computing. Now: exit 130 with one line at once, the old OUTPUT as it was, and
what could not be removed left to the next run, which removes it and says so. The wait for the
run is a hang guard, far below the store timeout: no speed is measured."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from .replacement import dead_pid  # noqa: E402
from .test_store_timeout import (  # noqa: E402
    BUCKET,
    dataset,
    flags,
    objects,
    one_line,
    s3,  # noqa: F401 (a fixture)
    written,
)
from .test_trial_fixes3_s3 import proxy  # noqa: E402, F401 (a fixture)

GUARD = 60  # seconds: a run that waits for the store (300 s) fails the test


def start(s3, src: str, out: str, endpoint: str):  # noqa: F811
    """``daskgrad run SRC OUT --overwrite`` (default --store-timeout), OUTPUT through the
    proxy at ``endpoint``, INPUT straight from moto."""
    return subprocess.Popen(
        [sys.executable, "-m", "daskgrad", "run", src, out, "--dim", "x", "--overwrite",
         "--no-progress", *flags(s3, "input", s3.endpoint), *flags(s3, "output", endpoint)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def rerun(s3, src: str, out: str):  # noqa: F811
    return subprocess.run(
        [sys.executable, "-m", "daskgrad", "run", src, out, "--dim", "x", "--overwrite",
         "--no-progress", *flags(s3, "input", s3.endpoint), *flags(s3, "output", s3.endpoint)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def stop(proc, sig=signal.SIGINT) -> tuple[str, str]:
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_ctrl_c_while_computing_on_threads_and_the_output_store_is_frozen(s3, proxy):  # noqa: F811
    """Frozen while the chunks are written on this process's threads, then Ctrl-C: exit 130,
    one line saying the temporary could not be removed and the old OUTPUT is as it was; the
    next run removes the temporary and says so."""
    src, name = f"s3://{BUCKET}/sig-in.zarr", "sig-out.zarr"
    out = f"s3://{BUCKET}/{name}"
    dataset(shape=(48, 64, 64), chunks=(1, 16, 16), seed=11).to_zarr(
        src, storage_options=s3.options(), mode="w"
    )
    dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=5).to_zarr(out, storage_options=s3.options())
    before = objects(s3, name)
    endpoint, frozen = proxy
    proc = start(s3, src, out, endpoint)
    try:
        deadline = time.monotonic() + 180
        while written(s3, [name])[name] < 3:  # computing: its first chunks are written
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.05)
        os.kill(frozen.pid, signal.SIGSTOP)
        time.sleep(2)  # the tasks wait for the store
        stdout, err = stop(proc)
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    assert "computing on this process's" in stdout
    assert proc.returncode == 130, err
    line = one_line(err)
    assert line.startswith(
        f"daskgrad: interrupted; no output written: {out} is as it was, but its temporary "
        f"s3://{BUCKET}/.{name}.daskgrad-"
    ), line
    assert "could not be removed (the object store does not answer)" in line
    tmp = line.split("its temporary ", 1)[1].split(" ", 1)[0]
    assert objects(s3, name) == before
    r = rerun(s3, src, out)
    assert r.returncode == 0, r.stderr
    assert f"removed {tmp.rpartition('/')[2]}, left by a dead run (pid {proc.pid})" in r.stdout
    assert written(s3, [name])[name] == 0  # no temporary left


def test_ctrl_c_while_cleaning_up_after_a_dead_run_on_a_frozen_store(s3, proxy):  # noqa: F811
    """A dead run's temporary beside OUTPUT, the store frozen before the run: its clean-up
    waits for the store, and a Ctrl-C then gives exit 130 and one line; the old OUTPUT as it
    was, and the next run removes the dead run's temporary."""
    src, name = f"s3://{BUCKET}/sig-in2.zarr", "sig-out2.zarr"
    out = f"s3://{BUCKET}/{name}"
    dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=1).to_zarr(src, storage_options=s3.options())
    dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=5).to_zarr(out, storage_options=s3.options())
    pid = dead_pid()
    stem = f".{name}.daskgrad-{socket.gethostname()}-{pid}-abcdef12"
    dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=2).to_zarr(
        f"s3://{BUCKET}/{stem}.tmp", storage_options=s3.options()
    )
    before = objects(s3, name)
    endpoint, frozen = proxy
    os.kill(frozen.pid, signal.SIGSTOP)
    proc = start(s3, src, out, endpoint)
    try:
        first = proc.stdout.readline()  # INPUT opened: OUTPUT's checks come next
        assert first.startswith(f"daskgrad: {src}: "), first
        time.sleep(3)
        _, err = stop(proc)
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    assert proc.returncode == 130, err
    assert one_line(err) == "daskgrad: interrupted; no output written"
    assert objects(s3, name) == before
    r = rerun(s3, src, out)
    assert r.returncode == 0, r.stderr
    assert f"removed {stem}.tmp, left by a dead run (pid {pid})" in r.stdout
