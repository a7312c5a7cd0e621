"""The command line never loses data, never hangs, never lies: the reproductions of issue 9,
each run as a user would (real files, real clusters and signals): by the console script's
entry point in this process (``cli``), as a process of its own where a signal or a killed
process is what is tested."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import cli, popen_tied
from .test_cli import (
    LEAN,
    leftovers,
    small_dataset,
    start_daskgrad,
    wait_for_chunks,
)

xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


@pytest.fixture(scope="module")
def shared(dask_cluster):
    """Options that run on the session's external cluster (tests/conftest.py), for the runs
    that are not about the cluster they run on."""
    return ["--scheduler-file", dask_cluster, "--no-progress"]


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("daskgrad: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def write_small(path: Path, seed=0) -> xr.Dataset:
    ds = small_dataset(seed=seed).chunk({"time": 2, "y": 6, "x": 8})
    ds.to_zarr(path)
    return ds


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_overwrite_never_deletes_what_is_not_a_zarr_store(tmp_path):
    """Issue 9 section 1: each of these deleted or damaged a user's files."""
    proj = tmp_path / "proj"
    proj.mkdir()
    write_small(proj / "in.zarr")
    (proj / "thesis.txt").write_text("years of work")
    home = tmp_path / "home"
    (home / "docs").mkdir(parents=True)
    (home / "docs" / "cv.txt").write_text("cv")
    in2 = tmp_path / "in2.zarr"
    write_small(in2, seed=2)
    afile = tmp_path / "notes.txt"
    afile.write_text("notes")
    before = snapshot(tmp_path)
    cases = {
        "an ancestor of the input": ([proj / "in.zarr", proj, "--overwrite"], "contains the input"),
        "a plain directory": ([in2, home, "--overwrite"], "not a zarr store"),
        "inside the input": ([in2, in2 / "t", "--overwrite"], "inside the input"),
        "inside the input, no overwrite": ([in2, in2 / "t2"], "inside the input"),
        "the input": ([in2, in2, "--overwrite"], "is the input"),
        "a file": ([in2, afile, "--overwrite"], "a file"),
        "the current directory": ([in2, ".", "--overwrite"], "not a zarr store"),
        "unwritable": ([in2, "/proc/daskgrad-out.zarr"], "cannot write output"),
    }
    for label, (args, why) in cases.items():
        r = cli("run", *args, "--dim", "x", *LEAN)
        assert r.returncode == 2, (label, r.stderr)
        assert why in one_error_line(r.stderr), label
        assert "local cluster" not in r.stdout, label  # refused before any cluster started
    assert snapshot(tmp_path) == before


def test_sigterm_cleans_up_and_exits_143(medium_zarr, tmp_path):
    out = tmp_path / "out.zarr"
    proc = start_daskgrad("run", medium_zarr, out, "--dim", "x", "--dim", "y", *LEAN)
    wait_for_chunks(out, proc, 4)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stderr.strip() == "daskgrad: terminated; no output written"
    time.sleep(1)  # a straggling write would recreate the temporary
    assert not out.exists() and leftovers(out) == []


def test_sigkill_debris_is_removed_by_the_next_run(medium_zarr, tmp_path, shared):
    out = tmp_path / "out.zarr"
    proc = start_daskgrad("run", medium_zarr, out, "--dim", "x", *LEAN)
    wait_for_chunks(out, proc, 4)
    import psutil

    workers = []  # the cluster's processes, not multiprocessing's resource tracker
    for child in psutil.Process(proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
    proc.kill()
    proc.communicate(timeout=60)
    # its worker processes notice their parent is gone and end: none writes any more
    _, alive = psutil.wait_procs(workers, timeout=60)
    assert not alive, alive
    debris = leftovers(out)
    assert len(debris) == 1 and f"-{proc.pid}-" in debris[0]
    # the next run to the same OUTPUT: a small input will do (the debris is OUTPUT's sibling)
    write_small(tmp_path / "small.zarr")
    r = cli("run", tmp_path / "small.zarr", out, "--dim", "x", *shared)
    assert r.returncode == 0, r.stderr
    assert f"removed {debris[0]}, left by a dead run (pid {proc.pid})" in r.stdout
    assert leftovers(out) == []


def test_ctrl_c_in_a_terminal_is_one_line_and_prompt(medium_zarr, tmp_path):
    """A terminal's Ctrl-C signals the whole process group, the workers included."""
    out = tmp_path / "out.zarr"
    proc = popen_tied(
        [sys.executable, "-m", "daskgrad", "run", medium_zarr, out, "--dim", "x", *LEAN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for_chunks(out, proc, 4)
    os.killpg(proc.pid, signal.SIGINT)
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - start < 15
    assert proc.returncode == 130
    assert stderr.strip() == "daskgrad: interrupted; no output written", stderr
    time.sleep(1)
    assert not out.exists() and leftovers(out) == []


INTERRUPT_AFTER_SWAP = """
import os, signal, sys
import daskgrad.io.target as w

swap = w.Target.commit

def commit(self, on_commit=None):  # Ctrl-C arrives the moment the output is in place
    def then():
        on_commit()
        os.kill(os.getpid(), signal.SIGINT)
    swap(self, then)

w.Target.commit = commit
from daskgrad.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_interrupt_after_the_swap_says_the_output_is_complete(tmp_path, shared):
    """SIGINT to the run's own process (on the session's cluster: the cluster gets no signal;
    tests/test_signals.py signals an embedded cluster at the swap)."""
    ds = write_small(tmp_path / "in.zarr")
    out = tmp_path / "out.zarr"
    args = [tmp_path / "in.zarr", out, "--dim", "x", *shared]
    r = subprocess.run(
        [sys.executable, "-c", INTERRUPT_AFTER_SWAP, "run", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 130
    assert r.stderr.strip() == f"daskgrad: interrupted after {out} was written; it is complete"
    ref = np.gradient(ds.t.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dt_dx.values, ref, rtol=1e-10)
    assert leftovers(out) == []


def test_absent_chunks_are_reported_as_read_as_the_fill_value(tmp_path, shared):
    """zarr records nowhere whether an absent chunk was lost or never written (all fill
    value): absent chunks whose fill value is NaN are reported, not called damage, and pass
    --strict (DESIGN.md, "Absent zarr chunks"; tests/test_damage.py has the rest)."""
    inp = tmp_path / "in.zarr"
    write_small(inp)
    chunk = next(p for p in (inp / "t").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.unlink()
    r = cli("run", inp, tmp_path / "a.zarr", "--dim", "x", "--var", "t", *shared)
    assert r.returncode == 0, r.stderr
    line = (
        "daskgrad: input variable 't': 1 of 8 chunks absent, read as the fill value NaN, "
        "a missing value"
    )
    assert line in r.stdout and "1 input chunk absent" in r.stdout, r.stdout
    assert "warning" not in r.stdout and "damaged" not in r.stdout + r.stderr
    r = cli("run", inp, tmp_path / "b.zarr", "--dim", "x", "--strict", *shared)
    assert r.returncode == 0, r.stderr
    assert xr.open_zarr(tmp_path / "b.zarr").dt_dx.isnull().any()


def test_truncated_netcdf3_is_refused(tmp_path):
    nc = tmp_path / "in.nc"
    small_dataset().drop_vars("flag").to_netcdf(nc, format="NETCDF3_64BIT")
    data = nc.read_bytes()
    nc.write_bytes(data[: len(data) // 2])
    r = cli("run", nc, tmp_path / "o.zarr", "--dim", "x", *LEAN)
    assert r.returncode == 2 and "truncated" in one_error_line(r.stderr)


def test_a_corrupt_chunk_is_one_line_naming_variable_and_chunk(tmp_path, shared):
    inp = tmp_path / "in.zarr"
    write_small(inp)
    chunk = inp / "t" / "c" / "1" / "0" / "1"
    chunk.write_bytes(b"corrupted chunk")
    r = cli("run", inp, tmp_path / "o.zarr", "--dim", "x", *shared)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert "reading input variable 't', chunk (1, 0, 1)" in line, line
    r = cli("run", inp, tmp_path / "o.zarr", "--dim", "x", "--debug", *shared)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_bad_options_exit_2(tmp_path):
    inp = tmp_path / "in.zarr"
    write_small(inp)
    cases = {
        "--chunks x=0": (["--chunks", "x=0"], "--chunks"),
        "--periodic twice": (["--periodic", "x=40", "--periodic", "x=50"], "given twice"),
        "--chunks twice": (["--chunks", "x=4", "--chunks", "x=8"], "given twice"),
        "--chunks unknown dim": (["--chunks", "lat=4"], "unknown dim 'lat'"),
        "--memory-limit 1B": (["--memory-limit", "1B"], "--memory-limit"),
        "--memory-limit 10MiB": (["--memory-limit", "10MiB"], "memory"),
        "--datetime-unit": (["--datetime-unit", "fortnight"], "--datetime-unit"),
        "--connect-timeout": (["--connect-timeout", "0"], "--connect-timeout"),
    }
    lean = [a for a in LEAN if a != "--no-progress"]
    for n, (label, (extra, why)) in enumerate(cases.items()):
        # the lean cluster options are given first, so a case's own --memory-limit wins
        args = ["run", inp, tmp_path / f"{n}.zarr", "--dim", "x", *lean, *extra]
        r = cli(*args, "--no-progress")
        assert r.returncode == 2, (label, r.stderr)
        assert why in one_error_line(r.stderr), label
        assert "local cluster" not in r.stdout, label


def test_non_data_input_is_one_short_line(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not data\n" * 10)
    r = cli("run", text, tmp_path / "o.zarr", "--dim", "x", *LEAN)
    line = one_error_line(r.stderr)
    assert r.returncode == 2 and line.endswith("not a zarr store or a netCDF file"), line
    assert len(line) < 160


def test_chunk_warnings_are_one_daskgrad_line_and_auto_chunks_work(tmp_path, shared):
    inp = tmp_path / "in.zarr"
    ds = write_small(inp)
    r = cli("run", inp, tmp_path / "a.zarr", "--dim", "x", "--chunks", "x=5", *shared)
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stdout.splitlines() if "warning:" in ln.lower()]
    assert len(warnings) == 1 and warnings[0].startswith("daskgrad: warning: "), r.stdout
    assert "separate the stored chunks" in warnings[0]
    assert "UserWarning" not in r.stdout + r.stderr
    r = cli("run", inp, tmp_path / "b.zarr", "--dim", "x", "--chunks", "x=auto", *shared)
    assert r.returncode == 0, r.stderr
    ref = np.gradient(ds.t.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(tmp_path / "b.zarr").dt_dx.values, ref, rtol=1e-10)


def test_datetime_and_cftime_derivatives_default_to_seconds(tmp_path, shared):
    cftime = pytest.importorskip("cftime")
    ds = small_dataset().drop_vars("flag")
    inp = tmp_path / "dt.zarr"
    ds.to_zarr(inp)
    times = [cftime.DatetimeNoLeap(2024, 1, 1, 6 * i) for i in range(ds.sizes["time"])]
    cf = tmp_path / "cf.zarr"
    ds.assign_coords(time=times).to_zarr(cf)
    seconds = (ds.time.values - ds.time.values[0]) / np.timedelta64(1, "s")
    ref = np.gradient(ds.t.values, seconds, axis=0)
    for store in (inp, cf):
        out = tmp_path / f"d-{store.name}"
        r = cli("run", store, out, "--dim", "time", "--var", "t", *shared)
        assert r.returncode == 0, r.stderr
        res = xr.open_zarr(out)
        assert res.dt_dtime.attrs["units"] == "K s-1"
        np.testing.assert_allclose(res.dt_dtime.values, ref, rtol=1e-10)
    out = tmp_path / "hours.zarr"
    r = cli("run", inp, out, "--dim", "time", "--var", "t", "--datetime-unit", "h", *shared)
    assert r.returncode == 0, r.stderr
    res = xr.open_zarr(out)
    assert res.dt_dtime.attrs["units"] == "K h-1"
    np.testing.assert_allclose(res.dt_dtime.values, ref * 3600, rtol=1e-10)


def test_help_says_defaults_and_version():
    r = cli("run", "--help")
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    assert "(repeatable)" in text and "default 1" in text  # --dim, --edge-order
    assert "default: the machine's memory split among the workers" in text
    assert "--connect-timeout" in text and "--datetime-unit" in text and "--strict" in text
    r = cli("demo", "--help")
    assert "default: a new one in the temp folder" in " ".join(r.stdout.split())
    import daskgrad as pkg

    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"daskgrad {pkg.__version__}"


def test_scheduler_that_is_not_there_or_not_dask_exits_2_promptly(tmp_path):
    r = cli(
        "run", "in.zarr", tmp_path / "o.zarr", "--dim", "x", "--scheduler-file", "/nonexistent.json"
    )
    assert r.returncode == 2 and "/nonexistent.json" in one_error_line(r.stderr)
    inp = tmp_path / "in.zarr"
    write_small(inp)
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        r = cli(
            "run", inp, tmp_path / "o.zarr", "--dim", "x", "--scheduler", address,
            "--connect-timeout", "3", "--no-progress",
        )  # fmt: skip
        assert time.monotonic() - start < 20
    assert r.returncode == 2 and address.split("//")[1] in one_error_line(r.stderr)
    assert not (tmp_path / "o.zarr").exists() and leftovers(tmp_path / "o.zarr") == []


def test_demo_gives_a_verdict_in_a_fresh_temp_directory(tmp_path, shared, monkeypatch):
    r = cli("demo", "--size", "4MiB", *shared)
    assert r.returncode == 0, r.stderr
    assert "| dtemperature_dx |" in r.stdout and "PASS" in r.stdout and "FAIL" not in r.stdout
    last = r.stdout.strip().splitlines()[-1]
    where = last.split("files removed from ", 1)[1].split(" (--out DIR keeps them)")[0]
    assert Path(where).parent == Path(tempfile.gettempdir()) and Path(where).name.startswith(
        "daskgrad-demo-"
    )
    assert not Path(where).exists()  # a demo without --out leaves nothing behind
    import daskgrad.cli.demo as demo

    # nothing this small is reachable: the verdict must fail
    monkeypatch.setattr(demo, "error_bound", lambda ds: 1e-30)
    r = cli("demo", "--size", "4MiB", "--out", tmp_path, *shared)
    assert r.returncode == 1, r.stderr
    assert "FAIL" in r.stdout and "demo: FAIL" in r.stdout


def test_demo_does_not_replace_a_users_store(tmp_path):
    write_small(tmp_path / "gradient.zarr")
    before = snapshot(tmp_path)
    r = cli("demo", "--size", "4MiB", "--out", tmp_path, *LEAN)
    assert r.returncode == 2 and "not a daskgrad demo store" in one_error_line(r.stderr)
    assert snapshot(tmp_path) == before


def test_a_scheduler_lost_mid_run_is_one_line_and_leaves_nothing(medium_zarr, tmp_path):
    from .test_cli import start_cluster, stop_cluster

    sf, procs, log = start_cluster(tmp_path, 1)
    try:
        out = tmp_path / "out.zarr"
        args = ["run", medium_zarr, out, "--dim", "x", "--scheduler-file", sf, "--no-progress"]
        proc = start_daskgrad(*args, "--connect-timeout", "5")  # also its wait to reconnect
        wait_for_chunks(out, proc, 4)
        procs[0].kill()  # the scheduler
        _, stderr = proc.communicate(timeout=90)
        assert proc.returncode == 1
        assert "lost the dask scheduler" in one_error_line(stderr)
        assert not out.exists() and leftovers(out) == []
    finally:
        stop_cluster(procs, log)


def test_demo_refuses_a_meaningless_size_and_a_store_as_its_folder(tmp_path):
    write_small(tmp_path / "s.zarr")
    before = snapshot(tmp_path)
    r = cli("demo", "--size", "1KiB", "--out", tmp_path / "d", *LEAN)
    assert r.returncode == 2 and "--size" in one_error_line(r.stderr)
    r = cli("demo", "--out", tmp_path / "s.zarr", *LEAN)
    assert r.returncode == 2 and "is a zarr store" in one_error_line(r.stderr)
    assert snapshot(tmp_path) == before
