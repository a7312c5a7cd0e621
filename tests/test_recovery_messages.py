"""What the errors and lines about an interrupted replacement say must be true and safe to
follow (found by an attacker's trial):

1. a marker whose pid is alive (pid reuse) beside an OUTPUT without metadata and a complete
   temporary: the error named neither the temporary nor its being the only complete store,
   and advised deleting OUTPUT's objects and the marker;
2. an object store that stops answering at the first listing of a commit (the old store
   untouched): the error said the old store had been deleted;
3. two runs cleaning up after the same dead run on local disk: the loser crashed with a
   FileNotFoundError traceback or said it removed what the other had removed.

moto's S3 server on 127.0.0.1; the freeze is a TCP proxy process (tests/tcp_proxy.py) that
stops itself (SIGSTOP) at the first request after the temporary's root metadata."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import s3_server  # noqa: E402
from replacement import field, one_line, output_flags  # noqa: E402

from .conftest import cli, popen_tied  # noqa: E402

BUCKET = "daskgrad-recovery-messages"
LEAN = ["--workers", "1", "--threads-per-worker", "1", "--no-progress", "--store-timeout", "5"]

# tests/tcp_proxy.py whose pumps stop the whole proxy at the first request after the one that
# writes a temporary's root zarr.json (its answer has come back: the client asks again)
FREEZING_PROXY = """
import sys
sys.path.insert(0, sys.argv[2])
import tcp_proxy
seen = [False]
METHODS = (b"GET ", b"HEAD", b"PUT ", b"POST", b"DELE")
def freeze_when(data):
    if seen[0] and data[:4] in METHODS:
        return True
    if data[:4] == b"PUT " and b".tmp/zarr.json HTTP" in data.split(b"\\r\\n", 1)[0]:
        seen[0] = True
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
def freezing_proxy(s3):
    """The endpoint of a proxy to moto that freezes after a temporary's root metadata; it is
    resumed and killed after the test."""
    port = s3.endpoint.rsplit(":", 1)[1]
    cmd = [sys.executable, "-c", FREEZING_PROXY, port, str(HERE)]
    proc = popen_tied(cmd, stdout=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


@pytest.fixture
def pv(tmp_path) -> Path:
    path = tmp_path / "pv.zarr"
    field(1).to_zarr(path)
    return path


def test_a_live_pids_complete_temporary_is_named_and_kept(s3, pv):
    """The state a replacement leaves once it has deleted OUTPUT's root metadata, but under a
    pid that is alive (here this test's own): the error names the complete temporary, says it
    is the only complete copy, and advises deleting nothing; every object stays."""
    fs = s3.fs()
    name = "reused.zarr"
    stem = f".{name}.daskgrad-{socket.gethostname()}-{os.getpid()}-0badcafe"
    new = field(2)
    new.to_zarr(f"s3://{BUCKET}/{stem}.tmp", storage_options=s3.options())
    field(3).to_zarr(f"s3://{BUCKET}/{name}", storage_options=s3.options())
    fs.rm(f"{BUCKET}/{name}/zarr.json")  # the commit's first deletion: the old store is gone
    fs.pipe(f"{BUCKET}/{stem}.writing", json.dumps({"replace": True}).encode())
    fs.invalidate_cache()
    before = {p: fs.cat(p) for p in fs.find(BUCKET) if name in p}
    out, tmp = f"s3://{BUCKET}/{name}", f"s3://{BUCKET}/{stem}.tmp"
    r = cli("run", pv, out, "--dim", "x", "--overwrite", *LEAN, *output_flags(s3))
    assert r.returncode == 2, r.stderr
    line = one_line(r.stderr)
    assert tmp in line, line
    assert f"complete at {tmp}" in line, line
    assert "only complete copy" in line, line
    assert "delete" not in line.partition(" is dead")[2], line  # the advice deletes nothing
    fs.invalidate_cache()
    assert {p: fs.cat(p) for p in fs.find(BUCKET) if name in p} == before
    got = xr.open_zarr(tmp, storage_options=s3.options())  # whole, as it says
    np.testing.assert_array_equal(got.t.values, new.t.values)


def test_a_freeze_before_the_old_store_is_touched_says_it_is_intact(s3, pv, freezing_proxy):
    """A real --overwrite whose store stops answering at the first request after its
    temporary's root metadata (the listing of OUTPUT): exit 1, one line that does not say the
    old store was deleted; the old store opens with its old values."""
    out = f"s3://{BUCKET}/frozen.zarr"
    old = field(9).rename(t="old")
    old.to_zarr(out, storage_options=s3.options())
    r = subprocess.run([sys.executable, "-m", "daskgrad", "run", pv, out, "--dim", "x",
                        "--overwrite", *LEAN, *output_flags(s3, freezing_proxy)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert f"replacing {out} failed" in line, line
    assert "deleted" not in line, line
    assert "the old store is as it was" in line, line
    got = xr.open_zarr(out, storage_options=s3.options())
    np.testing.assert_array_equal(got.old.values, old.old.values)
    tmp = line.partition("the new store is complete at ")[2].partition(" ")[0]
    assert tmp.startswith(f"s3://{BUCKET}/.frozen.zarr.daskgrad-") and tmp.endswith(".tmp")
    f, x = xr.open_zarr(pv).t.values, xr.open_zarr(pv).x.values
    new = xr.open_zarr(tmp, storage_options=s3.options())  # complete, as it says
    np.testing.assert_allclose(new.dt_dx.values, np.gradient(f, x, axis=1))
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))  # "the next run removes it"
    assert r.returncode == 2, r.stderr  # OUTPUT exists: no --overwrite, no new run
    assert f"removed {tmp.rpartition('/')[2]}, left by a dead run" in r.stdout, r.stdout
    fs = s3.fs()
    fs.invalidate_cache()
    assert not fs.exists(tmp.removeprefix("s3://"))
    got = xr.open_zarr(out, storage_options=s3.options())
    np.testing.assert_array_equal(got.old.values, old.old.values)


def clean(start, remove_stale, out, said, errors) -> None:
    """One run's cleanup, started with another's: what it says and raises, recorded."""
    start.wait()
    try:
        remove_stale(out, said.append)
    except BaseException as e:  # recorded, asserted by the test
        errors.append(e)


def test_two_local_cleanups_of_one_dead_run_are_quiet_and_true(tmp_path):
    """Two threads clean up after the same dead runs (an .old to restore, a .tmp to remove),
    many times over: neither raises, each thing is said once, by the one that did it."""
    from daskgrad.io.target import remove_stale

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid, host = int(proc.stdout), socket.gethostname()
    for round in range(30):
        out = tmp_path / f"s{round}.zarr"
        old = out.with_name(f".{out.name}.daskgrad-{host}-{pid}-0000beef.old")
        tmp = out.with_name(f".{out.name}.daskgrad-{host}-{pid}-0000cafe.tmp")
        field(4).isel(y=slice(0, 4)).to_zarr(old)
        (tmp / "t").mkdir(parents=True)
        (tmp / "t" / "0.0").write_bytes(b"debris")
        said: list[str] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)
        args = (start, remove_stale, out, said, errors)
        threads = [threading.Thread(target=clean, args=args) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(said) == sorted(
            [
                f"restored {out} from {old.name}, left by a dead run (pid {pid})",
                f"removed {tmp.name}, left by a dead run (pid {pid})",
            ]
        ), said
        assert not old.exists() and not tmp.exists()
        got = xr.open_zarr(out)
        np.testing.assert_array_equal(got.t.values, field(4).t.values[:4])
