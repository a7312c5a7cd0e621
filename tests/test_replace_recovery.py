"""An object store's ``--overwrite`` that dies after deleting the old store: the next run to
OUTPUT on this host finishes the replacement from the dead run's complete temporary (a redo), and
never deletes that temporary while it is the only complete store. Found on main (49abaac): a
rerun removed the temporary as a dead run's debris, then refused the half-copied OUTPUT, and
the old store, the new one and the rerun were all gone.

moto's S3 server on 127.0.0.1; the freezes are a TCP proxy process (tests/tcp_proxy.py) that
stops itself (SIGSTOP) when the N-th CopyObject request (the copy into OUTPUT) reaches it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
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
from replacement import dead_pid, field, one_line, output_flags  # noqa: E402

from .conftest import assert_gradients_close, cli, popen_tied  # noqa: E402

BUCKET = "daskgrad-recovery"
listing = partial(replacement.listing, bucket=BUCKET)
objects = partial(replacement.objects, bucket=BUCKET)
finished_line = partial(replacement.finished_line, bucket=BUCKET)
aftermath = partial(replacement.aftermath, bucket=BUCKET, values=np.arange(12.0).reshape(3, 4))
LEAN = ["--workers", "1", "--threads-per-worker", "1", "--no-progress", "--store-timeout", "5"]

# tests/tcp_proxy.py whose pumps stop the whole proxy at the N-th CopyObject request (argv[2])
FREEZING_PROXY = """
import sys
sys.path.insert(0, sys.argv[3])
import tcp_proxy
seen = [0]
def freeze_when(data):
    seen[0] += data.lower().count(b"x-amz-copy-source:")
    return seen[0] >= int(sys.argv[2])
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
    """start(n) -> the endpoint of a proxy to moto that freezes at its n-th CopyObject; every
    proxy started is resumed and killed after the test."""
    procs = []

    def start(n: int) -> str:
        port = s3.endpoint.rsplit(":", 1)[1]
        cmd = [sys.executable, "-c", FREEZING_PROXY, port, str(n), str(HERE)]
        proc = popen_tied(cmd, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        return f"http://127.0.0.1:{int(proc.stdout.readline())}"

    try:
        yield start
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait(10)
            proc.stdout.close()


@pytest.fixture
def pv(tmp_path) -> Path:
    """A local INPUT of 8 chunks."""
    path = tmp_path / "pv.zarr"
    field(1).to_zarr(path)
    return path


def assert_gradient_of(s3, name: str, src: Path) -> None:
    got = xr.open_zarr(f"s3://{BUCKET}/{name}", storage_options=s3.options())
    f, x = xr.open_zarr(src).t.values, xr.open_zarr(src).x.values
    assert_gradients_close([got.dt_dx.values], [np.gradient(f, x, axis=1)], f, [x])


def test_rerunning_after_a_replacement_died_mid_copy_finishes_it(s3, pv):
    """The reproducer of the report: the same command again, with --overwrite. Before the fix
    the complete temporary was removed and the run refused (exit 2): nothing left."""
    tmp, pid, _ = aftermath(s3, "sim.zarr")
    out = f"s3://{BUCKET}/sim.zarr"
    r = cli("run", pv, out, "--dim", "x", "--overwrite", *LEAN, *output_flags(s3))
    assert r.returncode == 0, r.stderr
    assert finished_line("sim.zarr", pid, tmp) in r.stdout.splitlines()
    assert_gradient_of(s3, "sim.zarr", pv)
    assert listing(s3, "sim.zarr") == []


def test_the_finished_replacement_is_the_dead_runs_store(s3, pv):
    """Without --overwrite the rerun finishes the dead run's replacement, then refuses (OUTPUT
    exists): what is in place is exactly the store the temporary held."""
    tmp, pid, new = aftermath(s3, "prev.zarr")
    out = f"s3://{BUCKET}/prev.zarr"
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2
    assert one_line(r.stderr) == (
        f"daskgrad: error: output {out} exists; pass --overwrite to replace it"
    )
    assert finished_line("prev.zarr", pid, tmp) in r.stdout.splitlines()
    got = xr.open_zarr(out, storage_options=s3.options())
    np.testing.assert_array_equal(got.dt_dx.values, new.dt_dx.values)
    assert listing(s3, "prev.zarr") == []


def test_a_freeze_while_copying_then_a_rerun_finishes_the_replacement(s3, pv, freezing_proxy):
    """A real --overwrite whose store stops answering at its first copy into OUTPUT (the old
    store already deleted): exit 1 naming the complete temporary; the rerun puts it in place."""
    out = f"s3://{BUCKET}/fz_out.zarr"
    field(9).rename(t="old").to_zarr(out, storage_options=s3.options())
    # a process of its own: its marker then names a dead run, as a killed or failed CLI's
    r = subprocess.run([sys.executable, "-m", "daskgrad", "run", pv, out, "--dim", "x",
                        "--overwrite", *LEAN, *output_flags(s3, freezing_proxy(1))],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert f"replacing {out} failed after its old store was deleted" in line, line
    tmp = line.rpartition("the new store is complete at ")[2]
    assert tmp.startswith(f"s3://{BUCKET}/.fz_out.zarr.daskgrad-") and tmp.endswith(".tmp")
    assert_gradient_of(s3, tmp.removeprefix(f"s3://{BUCKET}/"), pv)  # whole, as it says
    assert not any(p.endswith("zarr.json") for p in objects(s3, "fz_out.zarr"))
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2, r.stderr  # OUTPUT exists again: no --overwrite, no new run
    assert f"copied from {tmp}, now removed)" in r.stdout
    assert_gradient_of(s3, "fz_out.zarr", pv)
    assert "old" not in xr.open_zarr(out, storage_options=s3.options())
    assert listing(s3, "fz_out.zarr") == []


def test_a_rerun_that_fails_while_finishing_keeps_the_complete_store(s3, pv, freezing_proxy):
    """The rerun's own copy freezes after two objects (OUTPUT partly copied again): one line
    saying where the complete store is, which is kept with its marker; the next run finishes."""
    tmp, pid, new = aftermath(s3, "twice.zarr")
    kept = objects(s3, tmp)
    out = f"s3://{BUCKET}/twice.zarr"
    r = cli("run", pv, out, "--dim", "x", "--overwrite", *LEAN,
            *output_flags(s3, freezing_proxy(3)))  # fmt: skip
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert line.startswith(
        f"daskgrad: error: output {out}: finishing the replacement by a dead run (pid {pid}) "
        "failed ("
    ), line
    assert line.endswith(f"its new store is complete at s3://{BUCKET}/{tmp}: rerun to finish it")
    assert objects(s3, tmp) == kept
    assert f"{tmp.removesuffix('.tmp')}.writing" in listing(s3, "twice.zarr")
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2
    assert finished_line("twice.zarr", pid, tmp) in r.stdout.splitlines()
    got = xr.open_zarr(out, storage_options=s3.options())
    np.testing.assert_array_equal(got.dt_dx.values, new.dt_dx.values)
    assert listing(s3, "twice.zarr") == []


@pytest.mark.parametrize("whole", [False, True], ids=["computing", "before-deleting"])
def test_a_dead_replacement_that_never_deleted_the_old_store_is_removed(s3, pv, whole):
    """A dead --overwrite run whose old store is still whole (killed while computing, or after
    its temporary's metadata but before deleting): its temporary and marker are removed as
    before, the old store untouched."""
    name = f"kept-{whole}.zarr"
    out = f"s3://{BUCKET}/{name}"
    field(5).to_zarr(out, storage_options=s3.options())
    before = objects(s3, name)
    pid = dead_pid()
    stem = f".{name}.daskgrad-{socket.gethostname()}-{pid}-0123abcd"
    field(6).to_zarr(f"s3://{BUCKET}/{stem}.tmp", storage_options=s3.options())
    fs = s3.fs()
    if not whole:
        fs.rm(f"{BUCKET}/{stem}.tmp/zarr.json")
    fs.pipe(f"{BUCKET}/{stem}.writing", json.dumps({"replace": True, "pid": pid}).encode())
    r = cli("run", pv, out, "--dim", "x", *LEAN, *output_flags(s3))
    assert r.returncode == 2
    assert one_line(r.stderr) == (
        f"daskgrad: error: output {out} exists; pass --overwrite to replace it"
    )
    assert f"daskgrad: removed {stem}.tmp, left by a dead run (pid {pid})" in r.stdout.splitlines()
    assert "finished" not in r.stdout
    assert objects(s3, name) == before
    assert listing(s3, name) == []
