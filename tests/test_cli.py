"""The command line against real clusters, files and signals: in this process (``cli``, the
console script's entry point) where a process of its own adds nothing, as a subprocess where
the process is what is tested (signals, a terminal)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli, popen_tied, start_cluster, stop_cluster  # noqa: F401 - start_cluster: others

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LEAN = ["--workers", "1", "--threads-per-worker", "2", "--no-progress"]


def daskgrad(*args):
    """``daskgrad ARGS`` in this process (tests/conftest.py ``cli``): what other test modules
    import to run the command line where a process of its own adds nothing."""
    return cli(*args)


def start_daskgrad(*args):
    return popen_tied(
        [sys.executable, "-m", "daskgrad", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def leftovers(output: Path) -> list[str]:
    """Temporary siblings of ``output`` that a run left behind."""
    return [p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}.")]


def small_dataset(shape=(4, 12, 16), seed=0):
    rng = np.random.default_rng(seed)
    nt, ny, nx = shape
    x = np.cumsum(rng.uniform(0.5, 2.0, nx))
    y = np.cumsum(rng.uniform(0.5, 2.0, ny))[::-1].copy()  # decreasing is monotonic too
    time_ = np.datetime64("2024-01-01") + np.arange(nt) * np.timedelta64(6, "h")
    return xr.Dataset(
        {
            "t": (("time", "y", "x"), rng.standard_normal(shape), {"units": "K"}),
            "q": (("time", "y", "x"), rng.standard_normal(shape).astype("float32")),
            "n": (("y", "x"), rng.integers(0, 100, (ny, nx)).astype("int32")),
            "flag": (("time",), np.arange(nt) % 2 == 0),
        },
        coords={
            "time": time_,
            "y": ("y", y, {"units": "m"}),
            "x": ("x", x, {"units": "m"}),
            # non-index coordinates: read back lazily, so written by the chunk writes too
            "lat": (("y", "x"), rng.uniform(-90, 90, (ny, nx)), {"units": "degrees_north"}),
            "valid_time": ("time", time_ + np.timedelta64(3, "h")),
        },
        attrs={"title": "cli test"},
    )


def check_against_numpy(ds, out, dims, variables, edge_order):
    for v in variables:
        for d in dims:
            if d not in ds[v].dims:
                continue
            name = f"d{v}_d{d}"
            f = ds[v].values
            axis = ds[v].dims.index(d)
            ref = np.gradient(f, ds[d].values, axis=axis, edge_order=edge_order)
            got = out[name]
            assert got.dims == ds[v].dims
            rtol = 1e-5 if f.dtype == np.float32 else 1e-10
            np.testing.assert_allclose(got.values, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
    for c in ds.coords:
        np.testing.assert_array_equal(out[c].values, ds[c].values)


@pytest.fixture
def small_zarr(tmp_path):
    ds = small_dataset()
    path = tmp_path / "in.zarr"
    ds.chunk({"time": 2, "y": 5, "x": 8}).to_zarr(path)
    return ds, path


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    """The session's external cluster (tests/conftest.py): its scheduler file."""
    return dask_cluster


def test_help_shows_examples():
    r = cli("run", "--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and "--scheduler-file" in r.stdout
    assert cli("--help").returncode == 0


def test_zarr_to_zarr_on_local_cluster(small_zarr, tmp_path):
    ds, inp = small_zarr
    out = tmp_path / "out.zarr"
    r = cli("run", inp, out, "--dim", "x", "--dim", "y", "--edge-order", "2", *LEAN)
    assert r.returncode == 0, r.stderr
    assert "local cluster of 1 worker, 2 threads each" in r.stdout and "dashboard" in r.stdout
    assert "read " in r.stdout and "wrote " in r.stdout and "0 workers lost" in r.stdout
    assert "Completed" not in r.stdout  # --no-progress
    res = xr.open_zarr(out)
    assert set(res.data_vars) == {"dt_dx", "dt_dy", "dq_dx", "dq_dy", "dn_dx", "dn_dy"}
    check_against_numpy(ds, res, ["x", "y"], ["t", "q", "n"], 2)
    assert res.dt_dx.attrs["units"] == "K m-1"
    assert res.attrs["title"] == "cli test"
    assert res.dq_dx.dtype == np.float32 and res.dn_dx.dtype == np.float64
    assert res.dt_dx.encoding["chunks"] == (2, 5, 8)  # the input's chunks
    assert leftovers(out) == []


def test_netcdf_to_zarr_on_scheduler_file(cluster, tmp_path):
    ds = small_dataset(seed=1)
    inp = tmp_path / "in.nc"
    ds.to_netcdf(inp)
    out = tmp_path / "out.zarr"
    args = ["--dim", "time", "--dim", "x", "--var", "t", "--chunks", "y=4", "--chunks", "x=6"]
    r = cli("run", inp, out, *args, "--scheduler-file", cluster, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "connected to tcp://127.0.0.1:" in r.stdout
    res = xr.open_zarr(out)
    assert set(res.data_vars) == {"dt_dtime", "dt_dx"}
    check_against_numpy(ds, res, ["x"], ["t"], 1)
    assert res.dt_dx.encoding["chunks"] == (4, 4, 6)
    seconds = (ds.time.values - ds.time.values[0]) / np.timedelta64(1, "s")
    ref = np.gradient(ds.t.values, seconds, axis=0)
    np.testing.assert_allclose(res.dt_dtime.values, ref, rtol=1e-10)  # per second by default
    assert res.dt_dtime.attrs["units"] == "K s-1"


def test_periodic_and_overwrite_on_scheduler_address(cluster, small_zarr, tmp_path):
    ds, inp = small_zarr
    address = json.loads(Path(cluster).read_text())["address"]
    out = tmp_path / "out.zarr"
    small_dataset(seed=5).to_zarr(out)  # an older zarr store: the only kind --overwrite replaces
    run = ["run", inp, out, "--dim", "x", "--var", "t", "--scheduler", address, "--no-progress"]
    r = cli(*run)
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert "t" in xr.open_zarr(out).data_vars
    period = 40.0
    r = cli(*run, "--periodic", f"x={period}", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert list(xr.open_zarr(out).data_vars) == ["dt_dx"] and leftovers(out) == []
    x = ds.x.values
    f = ds.t.values
    xp = np.concatenate([[x[-1] - period], x, [x[0] + period]])
    fp = np.concatenate([f[..., -1:], f, f[..., :1]], axis=-1)
    ref = np.gradient(fp, xp, axis=-1)[..., 1:-1]
    np.testing.assert_allclose(xr.open_zarr(out).dt_dx.values, ref, rtol=1e-10, atol=1e-12)


def test_accuracy_and_nan_policy_reach_the_gradient(cluster, tmp_path):
    """--accuracy 4 --nan-policy omit: what daskgrad.gradient gives with them on the same data,
    bit for bit, said in the summary; not what the defaults give."""
    import daskgrad as dg

    ds = small_dataset(shape=(4, 14, 18), seed=3)
    land = np.zeros(ds.t.shape, bool)
    land[:, 4:7, 5:9] = True  # an island: runs of every length around it
    land[:, 10, 2] = True
    ds["t"] = ds.t.where(~land)
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 2, "y": 5, "x": 8}).to_zarr(inp)
    args = ["--dim", "x", "--dim", "y", "--var", "t", "--scheduler-file", cluster, "--no-progress"]
    r = cli("run", inp, out, *args, "--accuracy", "4", "--nan-policy", "omit")
    assert r.returncode == 0, r.stderr
    assert "1 array" not in r.stdout and "2 arrays (accuracy 4, nan-policy omit); read" in r.stdout
    got = xr.open_zarr(out)
    src = xr.open_zarr(inp)[["t"]]
    ref = dg.gradient(src, dim=["x", "y"], accuracy=4, nan_policy="omit").compute()
    default = dg.gradient(src, dim=["x", "y"]).compute()
    for name in ("dt_dx", "dt_dy"):
        np.testing.assert_array_equal(got[name].values, ref[name].values)
        assert np.isfinite(got[name].values[~land]).all()  # omit: no NaN spreads off the island
        assert not np.isfinite(default[name].values[~land]).all()
        assert not np.allclose(got[name].values[~land], default[name].values[~land])


def test_progress_bar_on_a_terminal(cluster, small_zarr, tmp_path):
    pty = pytest.importorskip("pty")
    _, inp = small_zarr
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daskgrad", "run", inp, tmp_path / "o.zarr", "--dim", "x"]
        + ["--scheduler-file", cluster],
        stdout=secondary,
        stderr=subprocess.PIPE,
    )
    os.close(secondary)
    seen = b""
    with contextlib.suppress(OSError):  # EIO once the child closes the terminal
        while data := os.read(primary, 4096):
            seen += data
    os.close(primary)
    assert proc.wait(60) == 0, proc.stderr.read()
    assert b"100% Completed" in seen and b"lost" in seen


def _bad_inputs(tmp: Path):
    ds = small_dataset()
    good = tmp / "good.zarr"
    ds.to_zarr(good)
    garbage = tmp / "garbage.nc"
    garbage.write_bytes(b"this is not netCDF" * 10)
    shuffled = tmp / "shuffled.zarr"
    ds.isel(x=[0, 2, 1, *range(3, ds.sizes["x"])]).to_zarr(shuffled)
    repeated = tmp / "repeated.zarr"
    ds.assign_coords(x=np.r_[0.0, 1.0, 1.0, np.arange(3.0, ds.sizes["x"])]).to_zarr(repeated)
    short = tmp / "short.zarr"
    ds.isel(time=slice(2)).to_zarr(short)
    existing = tmp / "existing.zarr"
    existing.mkdir()
    return {
        "missing": (["run", tmp / "nope.zarr", "OUT", "--dim", "x"], "nope.zarr"),
        "unreadable": (["run", garbage, "OUT", "--dim", "x"], "garbage.nc"),
        "unknown var": (["run", good, "OUT", "--dim", "x", "--var", "salt"], "'salt'"),
        "unknown dim": (["run", good, "OUT", "--dim", "lat"], "'lat'"),
        "bad edge order": (["run", good, "OUT", "--dim", "x", "--edge-order", "3"], "--edge-order"),
        "too short": (["run", short, "OUT", "--dim", "time", "--edge-order", "2"], "'time'"),
        "non-monotonic": (["run", shuffled, "OUT", "--dim", "x"], "'x' is not monotonic"),
        "repeated": (["run", repeated, "OUT", "--dim", "x"], "'x' repeats the value 1.0"),
        "exists": (["run", good, existing, "--dim", "x"], "existing.zarr exists"),
        # an existing OUTPUT does not hide a mistake in the request or the input
        "exists, unknown dim": (["run", good, existing, "--dim", "lat"], "unknown dim 'lat'"),
        "bad chunks": (["run", good, "OUT", "--dim", "x", "--chunks", "x"], "--chunks"),
        "bad size": (["run", good, "OUT", "--dim", "x", "--memory-limit", "lots"], "lots"),
        "bad accuracy": (["run", good, "OUT", "--dim", "x", "--accuracy", "3"], "--accuracy"),
        "too short for accuracy": (
            ["run", good, "OUT", "--dim", "time", "--accuracy", "8"],
            "dim 'time' has 4 points; --accuracy 8 needs at least 9",
        ),
        "bad nan policy": (["run", good, "OUT", "--dim", "x", "--nan-policy", "drop"], "'drop'"),
    }


def test_bad_inputs_exit_2_with_one_line_and_no_output(tmp_path):
    cases = _bad_inputs(tmp_path)
    for label, (args, culprit) in cases.items():
        out = tmp_path / f"out-{label.replace(' ', '-')}.zarr"
        r = cli(*[out if a == "OUT" else a for a in args], *LEAN)
        stderr = r.stderr
        assert r.returncode == 2, (label, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("daskgrad: error: "), (label, stderr)
        assert culprit in lines[0], (label, lines[0])
        assert "Traceback" not in stderr
        assert not out.exists() and leftovers(out) == [], label
    assert (tmp_path / "existing.zarr").is_dir()


def test_debug_shows_traceback(tmp_path):
    r = cli("run", tmp_path / "nope.zarr", tmp_path / "o.zarr", "--dim", "x", "--debug")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_compute_failure_exits_1_and_leaves_nothing(cluster, small_zarr, tmp_path):
    _, inp = small_zarr
    chunk = next(p for p in (inp / "t").rglob("*") if p.is_file() and "zarr.json" not in p.name)
    chunk.write_bytes(b"corrupted chunk")
    out = tmp_path / "out.zarr"
    r = cli("run", inp, out, "--dim", "x", "--scheduler-file", cluster, "--no-progress")
    assert r.returncode == 1, r.stderr
    assert (
        r.stderr.startswith("daskgrad: error: computation failed") and "Traceback" not in r.stderr
    )
    assert not out.exists() and leftovers(out) == []


def wait_for_chunks(out: Path, proc, n: int, timeout=120) -> None:
    """Wait until the run's temporary store holds ``n`` written chunks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tmps = [out.parent / name for name in leftovers(out)]
        if tmps and sum(1 for p in tmps[0].rglob("c/*/*/*") if p.is_file()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the run never got going")


def check_medium(inp: Path, out: Path) -> None:
    src, res = xr.open_zarr(inp), xr.open_zarr(out)
    for z in (0, 23, 47):
        f = src.f[z].values
        np.testing.assert_allclose(res.df_dx[z].values, np.gradient(f, src.x.values, axis=1))
        np.testing.assert_allclose(res.df_dy[z].values, np.gradient(f, axis=0))


@pytest.mark.slow
def test_sigint_mid_run_leaves_old_output_and_no_temporary(medium_zarr, tmp_path):
    out = tmp_path / "out.zarr"
    old = small_dataset()
    old.to_zarr(out)
    args = ["run", medium_zarr, out, "--dim", "x", "--dim", "y", "--overwrite", *LEAN]
    proc = start_daskgrad(*args)
    wait_for_chunks(out, proc, 4)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    xr.testing.assert_identical(xr.open_zarr(out).load(), old)
    time.sleep(1)  # a straggling write would recreate the temporary
    assert leftovers(out) == []


@pytest.mark.slow
def test_worker_killed_mid_run_still_correct(medium_zarr, tmp_path):
    sf, procs, log = start_cluster(tmp_path, 2)
    try:
        out = tmp_path / "out.zarr"
        args = ["run", medium_zarr, out, "--dim", "x", "--dim", "y"]
        proc = start_daskgrad(*args, "--scheduler-file", sf, "--no-progress")
        wait_for_chunks(out, proc, 4)
        procs[1].kill()
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr
        assert "1 worker lost" in stdout
        check_medium(medium_zarr, out)
        assert leftovers(out) == []
    finally:
        stop_cluster(procs, log)


@pytest.mark.slow
def test_input_twice_the_cluster_memory(tmp_path):
    """512 MiB in, 1 worker of 288 MiB (the least the memory rule allows for 2 MiB chunks,
    tests/test_cluster.py): streams through without the worker being restarted. In this
    process (``cli``): the cluster's worker is a process of its own all the same."""
    import dask.array as da

    inp = tmp_path / "big.zarr"
    shape, chunks = (128, 1024, 1024), (1, 512, 1024)  # float32, 2 MiB chunks
    f = da.random.default_rng(1).random(shape, chunks=chunks, dtype=np.float32)
    xr.Dataset({"f": (("z", "y", "x"), f)}).to_zarr(inp)
    out = tmp_path / "out.zarr"
    mem = ["--workers", "1", "--threads-per-worker", "1", "--memory-limit", "288MiB"]
    r = cli("run", inp, out, "--dim", "x", "--dim", "y", *mem, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "512.00 MiB" in r.stdout and "0 workers lost" in r.stdout, r.stdout
    src, res = xr.open_zarr(inp), xr.open_zarr(out)
    for z in (0, 127):
        g = np.gradient(src.f[z].values)
        np.testing.assert_allclose(res.df_dy[z].values, g[0], rtol=1e-6)
        np.testing.assert_allclose(res.df_dx[z].values, g[1], rtol=1e-6)


def _peak_held(graph: dict, is_input) -> int:
    """Most input chunks held at once when ``graph`` runs one task at a time in dask.order."""
    from dask.core import get_dependencies, reverse_dict
    from dask.order import order

    priority = order(graph)
    deps = {k: get_dependencies(graph, k) for k in graph}
    waiting = {k: len(v) for k, v in reverse_dict(deps).items()}
    held: set = set()
    peak = 0
    for key in sorted(graph, key=priority.__getitem__):
        if is_input(key):
            held.add(key)
        for d in deps[key]:
            waiting[d] -= 1
            if not waiting[d]:
                held.discard(d)
        peak = max(peak, len(held))
    return peak


def test_submitted_writes_stream_the_input(tmp_path):
    """The chunk writes the CLI submits read each input chunk shortly before its neighbours'
    kernels need it: at most one layer of 4 x 4 chunks is held (a count from dask.order, not
    a timing). Behind xarray's closing task dask.order holds ~150 (README, limitations)."""
    import dask.array as da
    from dask.optimization import cull
    from dask.utils import ensure_dict

    from daskgrad.cli.pipeline import open_input, prepare
    from daskgrad.io.writer import write_targets

    inp = tmp_path / "in.zarr"
    f = da.zeros((16, 64, 64), chunks=(1, 16, 16), dtype=np.float32)  # 16 layers of 4 x 4
    xr.Dataset({"f": (("z", "y", "x"), f)}).to_zarr(inp)
    src = open_input(inp)
    job = prepare(src, ["y", "x"])
    delayed = job.result.to_zarr(tmp_path / "out.zarr", compute=False)
    graph = ensure_dict(delayed.__dask_graph__())
    graph, _ = cull(graph, write_targets(graph, delayed.key))
    name = src.f.data.name

    def is_input(k):
        return isinstance(k, tuple) and k[0] == name

    assert sum(map(is_input, graph)) == 16 * 4 * 4
    assert _peak_held(graph, is_input) <= 4 * 4


def test_write_targets_cover_every_variable(tmp_path):
    """Computing only the write targets stores every dask variable: one of many chunks, and
    one of a single chunk, whose write dask fuses with its closing gather."""
    import dask
    import dask.array as da
    from dask.utils import ensure_dict

    from daskgrad.io.writer import write_targets

    ds = xr.Dataset(
        {
            "many": (("y", "x"), da.arange(48.0, chunks=8).reshape(6, 8)),
            "one": (("x",), da.arange(8.0, chunks=8) + 100),
        },
        coords={"t": ("y", da.arange(6, chunks=6).astype("datetime64[h]"))},
    )
    delayed = ds.to_zarr(tmp_path / "out.zarr", compute=False)
    graph = ensure_dict(delayed.__dask_graph__())
    targets = write_targets(graph, delayed.key)
    assert delayed.key not in targets
    dask.get(graph, targets)
    back = xr.open_zarr(tmp_path / "out.zarr").load()
    xr.testing.assert_identical(back, ds.compute())
