"""Two runs that start together after an object store's ``--overwrite`` died mid-copy (the old
store deleted, the new one complete in the dead run's temporary): both see the dead run's state,
and finishing it is destructive (OUTPUT's objects deleted, the temporary copied in, then
deleted). Found on smallfix (f14f973): the second run deleted, from its listing taken before
the first had finished, a chunk the first had just copied into OUTPUT, which then opened with
that chunk absent (read as the fill value). Finishing is now exclusive: a claim object beside
OUTPUT, created only if absent (S3's If-None-Match), taken over from a dead claimant only if it
is still the dead one's (If-Match); the second run waits for the first, then sees OUTPUT whole.

moto's S3 server on 127.0.0.1; the window is held open by a TCP proxy process
(tests/tcp_proxy.py) that stops itself (SIGSTOP) when a DeleteObjects request reaches it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import replacement  # noqa: E402
import s3_server  # noqa: E402
from replacement import dead_pid, output_flags  # noqa: E402

from .conftest import cli, popen_tied  # noqa: E402

BUCKET = "daskgrad-race"
listing = partial(replacement.listing, bucket=BUCKET)
objects = partial(replacement.objects, bucket=BUCKET)
finished_line = partial(replacement.finished_line, bucket=BUCKET)
aftermath = partial(replacement.aftermath, bucket=BUCKET, values=np.arange(12.0).reshape(3, 4) ** 2)
LEAN = ["--workers", "1", "--threads-per-worker", "1", "--no-progress", "--store-timeout", "120"]

# tests/tcp_proxy.py whose pumps stop the whole proxy at the first DeleteObjects request (once)
FREEZING_PROXY = """
import sys
sys.path.insert(0, sys.argv[2])
import tcp_proxy
frozen = []
def freeze_when(data):
    if b"?delete" in data and not frozen:
        frozen.append(1)
        return True
    return False
tcp_proxy.main(int(sys.argv[1]), freeze_when)
"""


@pytest.fixture(scope="module", autouse=True)
def _no_machine_aws_configuration(hermetic_aws):
    return hermetic_aws


@pytest.fixture(scope="module")
def s3():
    server = s3_server.start()
    server.make_bucket(BUCKET)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def procs():
    """Processes a test starts: resumed and killed after it."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture
def pv(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "pv.zarr"
    xr.Dataset(
        {"t": (("y", "x"), rng.standard_normal((16, 24)))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, 24))},
    ).chunk({"y": 4, "x": 12}).to_zarr(path)
    return path


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0] == "T"


def run(pv: Path, out: str, flags: list[str]) -> list:
    return [sys.executable, "-m", "daskgrad", "run", pv, out, "--dim", "x", *LEAN, *flags]


def test_two_runs_finishing_one_dead_replacement_leave_it_whole(s3, pv, procs):
    """Run B lists OUTPUT (the dead run's one copied chunk) and is held just before deleting
    it; run A then starts. Before the fix A finished the replacement, and B, resumed, deleted
    the chunk A had copied: OUTPUT opened with a chunk absent. Now B holds the claim, A waits
    for it (one line), and the store in place is exactly the dead run's new store."""
    name = "race.zarr"
    tmp, pid, new = aftermath(s3, name)
    kept = objects(s3, tmp)
    out = f"s3://{BUCKET}/{name}"
    port = s3.endpoint.rsplit(":", 1)[1]
    proxy = popen_tied([sys.executable, "-c", FREEZING_PROXY, port, str(HERE)],
                       stdout=subprocess.PIPE, text=True)  # fmt: skip
    procs.append(proxy)
    endpoint = f"http://127.0.0.1:{int(proxy.stdout.readline())}"
    b = popen_tied(run(pv, out, output_flags(s3, endpoint)),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    procs.append(b)
    while not stopped(proxy.pid):  # B is about to delete what it listed under OUTPUT
        assert b.poll() is None, b.communicate()
        time.sleep(0.05)
    a = popen_tied(run(pv, out, output_flags(s3)),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    procs.append(a)
    a_out = []
    while line := a.stdout.readline():  # A ends (before the fix), or says it waits
        a_out.append(line)
        if "waiting" in line:
            break
    os.kill(proxy.pid, signal.SIGCONT)
    b_out, b_err = b.communicate(timeout=300)
    rest, a_err = a.communicate(timeout=300)
    a_out.append(rest)
    said = "".join(a_out).splitlines() + b_out.splitlines()
    # what is in place is the dead run's new store, every object of it
    assert objects(s3, name) == kept, (said, a_err, b_err)
    got = xr.open_zarr(out, storage_options=s3.options())
    np.testing.assert_array_equal(got.dt_dx.values, new.dt_dx.values)
    assert said.count(finished_line(name, pid, tmp)) == 1, (said, a_err, b_err)
    waiting = [s for s in said if "waiting" in s]
    assert waiting == [
        f"daskgrad: waiting for the run on this host (pid {b.pid}) that is finishing what a "
        f"dead run left at {out}"
    ], said
    exists = f"daskgrad: error: output {out} exists; pass --overwrite to replace it"
    assert (a.returncode, a_err.strip()) == (2, exists)
    assert (b.returncode, b_err.strip()) == (2, exists)
    assert listing(s3, name) == []


def test_a_claim_left_by_a_dead_finisher_is_taken_over(s3, pv):
    """A run killed while finishing leaves its claim: the next run on this host takes it over
    (the claimant is dead), finishes the replacement and removes the claim."""
    name = "taken.zarr"
    tmp, pid, new = aftermath(s3, name)
    kept = objects(s3, tmp)
    claimant = dead_pid()
    fs = s3.fs()
    claim = f"{BUCKET}/.{name}.daskgrad-finishing"
    fs.pipe(claim, json.dumps({"host": socket.gethostname(), "pid": claimant}).encode())
    out = f"s3://{BUCKET}/{name}"
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2, r.stderr
    assert finished_line(name, pid, tmp) in r.stdout.splitlines()
    assert objects(s3, name) == kept
    assert listing(s3, name) == []


def test_a_claim_held_on_another_host_is_refused_in_one_line(s3, pv):
    """A claim by a run on another host (whose liveness cannot be told from here): one line
    naming it and its claim object; nothing of the dead run's is touched."""
    name = "elsewhere.zarr"
    tmp, pid, new = aftermath(s3, name)
    before = {p: objects(s3, p) for p in (name, tmp)}
    fs = s3.fs()
    claim = f"{BUCKET}/.{name}.daskgrad-finishing"
    fs.pipe(claim, json.dumps({"host": "other-host", "pid": 4242}).encode())
    out = f"s3://{BUCKET}/{name}"
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"daskgrad: error: output {out}: a run on other-host (pid 4242) is finishing what a "
        f"dead run left there; if that run is dead, delete its claim s3://{claim}"
    )
    assert {p: objects(s3, p) for p in (name, tmp)} == before
