"""daskgrad.to_zarr and the atomic writer: what may be replaced, what never is, stale temporaries
of dead runs, failures that leave nothing behind; on threads and on a real LocalCluster."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

import daskgrad  # noqa: E402
from daskgrad.io.inspect import absent_chunks, netcdf3_expected_size, truncation  # noqa: E402
from daskgrad.io.target import Target, _exchange, remove_stale  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


def field(seed=0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 2.0, 24))
    t = rng.standard_normal((6, 24))
    return xr.Dataset({"t": (("y", "x"), t, {"units": "K"})}, coords={"x": ("x", x)}).chunk(
        {"y": 4, "x": 7}
    )


def siblings(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


def test_to_zarr_writes_the_gradient_on_threads(tmp_path):
    ds = field()
    out = daskgrad.to_zarr(ds.grad("x"), tmp_path / "g.zarr", progress=False)
    assert out == tmp_path / "g.zarr"
    back = xr.open_zarr(out)
    ref = np.gradient(ds.t.values, ds.x.values, axis=1)
    np.testing.assert_allclose(back.dt_dx.values, ref, rtol=1e-12)
    assert siblings(out) == []


def test_each_output_chunk_is_one_write_task(tmp_path):
    """dask.array.store wraps each chunk's write in identity tasks; the writer fuses them, so
    the scheduler sees one write task per output chunk besides the kernels and the reads."""
    from dask.optimization import cull
    from dask.utils import ensure_dict

    from daskgrad.io.writer import fuse_chains, write_targets

    ds = field()
    grad = ds.grad("x").drop_vars("x")
    delayed = grad.to_zarr(tmp_path / "g.zarr", mode="w", compute=False)
    graph = ensure_dict(delayed.__dask_graph__())
    writes = write_targets(graph, delayed.key)
    fused = fuse_chains(cull(graph, writes)[0], writes)
    n = ds.t.data.npartitions
    assert len(writes) == n == 8
    assert sum("store-map" in str(k[0] if isinstance(k, tuple) else k) for k in fused) == n
    assert all(w in fused for w in writes)
    # the values are those of the unfused graph
    import dask

    with dask.config.set(scheduler="sync"):
        dask.get(fused, writes)
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "g.zarr").dt_dx, grad.dt_dx)


def test_to_zarr_a_named_dataarray_and_refusals(tmp_path):
    ds = field()
    (dx,) = ds.t.grad("x")
    daskgrad.to_zarr(dx, tmp_path / "a.zarr")
    assert list(xr.open_zarr(tmp_path / "a.zarr").data_vars) == ["dt_dx"]
    with pytest.raises(ValueError, match="needs a name"):
        daskgrad.to_zarr(dx.rename(None), tmp_path / "b.zarr")
    with pytest.raises(TypeError, match="Dataset or DataArray"):
        daskgrad.to_zarr(np.zeros(3), tmp_path / "c.zarr")
    with pytest.raises(ValueError, match="storage_options are for an fsspec URL store"):
        daskgrad.to_zarr(ds, tmp_path / "d.zarr", storage_options={"anon": True})
    with pytest.raises(ValueError, match=r"pip install 'daskgrad\[gcs\]'"):
        pytest.importorskip("fsspec")
        if importlib.util.find_spec("gcsfs") is None:
            daskgrad.to_zarr(ds, "gs://bucket/x.zarr")
        else:
            raise ValueError("pip install 'daskgrad[gcs]'")  # gcsfs installed: nothing to show
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        daskgrad.to_zarr(ds, tmp_path / "a.zarr")


def test_overwrite_replaces_a_zarr_store_only(tmp_path):
    ds = field()
    store = tmp_path / "g.zarr"
    daskgrad.to_zarr(ds.grad("x"), store)
    daskgrad.to_zarr(ds.grad("y"), store, overwrite=True)
    assert list(xr.open_zarr(store).data_vars) == ["dt_dy"]
    assert siblings(store) == []

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "thesis.txt").write_text("years of work")
    with pytest.raises(ValueError, match="not a zarr store"):
        daskgrad.to_zarr(ds, plain, overwrite=True)
    assert (plain / "thesis.txt").read_text() == "years of work"

    afile = tmp_path / "notes.txt"
    afile.write_text("keep")
    with pytest.raises(ValueError, match="a file"):
        daskgrad.to_zarr(ds, afile, overwrite=True)
    assert afile.read_text() == "keep"

    link = tmp_path / "link.zarr"
    link.symlink_to(store)
    with pytest.raises(ValueError, match="symbolic link"):
        daskgrad.to_zarr(ds, link, overwrite=True)


def test_never_writes_into_over_or_around_its_input(tmp_path):
    field().to_zarr(tmp_path / "in.zarr")
    src = xr.open_zarr(tmp_path / "in.zarr")
    before = src.t.values.copy()
    for target, why in [
        (tmp_path / "in.zarr", "is the input"),
        (tmp_path / "in.zarr" / "t", "inside the input"),
        (tmp_path, "contains the input"),
    ]:
        with pytest.raises(ValueError, match=why):
            daskgrad.to_zarr(src.grad("x"), target, overwrite=True)
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "in.zarr").t.values, before)

    field().to_netcdf(tmp_path / "in.nc")
    nc = xr.open_dataset(tmp_path / "in.nc", chunks={})
    with pytest.raises(ValueError, match="is the input"):
        daskgrad.to_zarr(nc.grad("x"), tmp_path / "in.nc", overwrite=True)


def test_unwritable_place_is_refused_before_computing(tmp_path):
    with pytest.raises(ValueError, match="cannot write output"):
        daskgrad.to_zarr(field(), "/proc/daskgrad.zarr")
    with pytest.raises(ValueError, match="does not exist"):
        daskgrad.to_zarr(field(), tmp_path / "no" / "such" / "g.zarr")


def _fails(block):
    raise RuntimeError("disk on fire")


def test_a_failure_leaves_nothing_and_the_old_store_whole(tmp_path):
    ds = field()
    store = tmp_path / "g.zarr"
    daskgrad.to_zarr(ds.grad("x"), store)
    bad = ds.copy()
    bad["t"] = bad.t.copy(data=bad.t.data.map_blocks(_fails, dtype=float))
    with pytest.raises(RuntimeError, match="disk on fire"):
        daskgrad.to_zarr(bad.grad("x"), store, overwrite=True)
    assert siblings(store) == []
    ref = np.gradient(ds.t.values, ds.x.values, axis=1)
    np.testing.assert_allclose(xr.open_zarr(store).dt_dx.values, ref, rtol=1e-12)
    with pytest.raises(RuntimeError, match="disk on fire"):
        daskgrad.to_zarr(bad.grad("x"), tmp_path / "new.zarr")
    assert not (tmp_path / "new.zarr").exists() and siblings(tmp_path / "new.zarr") == []


def test_to_zarr_on_a_cluster_reports_the_failed_chunk(tmp_path, dask_cluster):
    """On worker processes (the session's cluster, tests/conftest.py)."""
    distributed = pytest.importorskip("distributed")
    from daskgrad.io.writer import ComputeFailed

    ds = field()
    with distributed.Client(scheduler_file=str(dask_cluster)) as client:
        out = daskgrad.to_zarr(ds.grad(["y", "x"]), tmp_path / "g.zarr")  # the default client
        ref = np.gradient(ds.t.values, axis=0)
        np.testing.assert_allclose(xr.open_zarr(out).dt_dy.values, ref, rtol=1e-12)
        bad = ds.copy()
        bad["t"] = bad.t.copy(data=bad.t.data.map_blocks(_fails, dtype=float))
        with pytest.raises(ComputeFailed, match=r"chunk \(\d+, \d+\): RuntimeError: disk on fire"):
            daskgrad.to_zarr(bad.grad("x"), tmp_path / "bad.zarr", client=client)
    assert not (tmp_path / "bad.zarr").exists() and siblings(tmp_path / "bad.zarr") == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    out = tmp_path / "g.zarr"
    host = socket.gethostname()
    dead, live = _dead_pid(), os.getppid()
    stale = tmp_path / f".g.zarr.daskgrad-{host}-{dead}-0123abcd.tmp"
    running = tmp_path / f".g.zarr.daskgrad-{host}-{live}-89abcdef.tmp"
    elsewhere = tmp_path / f".g.zarr.daskgrad-otherhost-{dead}-00000000.tmp"
    for p in (stale, running, elsewhere):
        (p / "t").mkdir(parents=True)
    told = []
    remove_stale(out, told.append)
    assert not stale.exists() and running.exists() and elsewhere.exists()
    assert len(told) == 1 and stale.name in told[0] and f"pid {dead}" in told[0]


def test_an_old_store_moved_aside_by_a_dead_run_is_restored(tmp_path):
    out = tmp_path / "g.zarr"
    field().to_zarr(out)
    aside = tmp_path / f".g.zarr.daskgrad-{socket.gethostname()}-{_dead_pid()}-0123abcd.old"
    os.replace(out, aside)
    told = []
    remove_stale(out, told.append)
    assert out.is_dir() and not aside.exists() and "restored" in told[0]
    np.testing.assert_array_equal(xr.open_zarr(out).t.values, field().t.values)


def test_exchange_swaps_two_directories_atomically(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "which").write_text("a")
    (b / "which").write_text("b")
    if not _exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available on this system")
    assert (a / "which").read_text() == "b" and (b / "which").read_text() == "a"


def test_target_temporary_is_named_by_host_and_pid(tmp_path):
    t = Target(tmp_path / "g.zarr")
    assert t.tmp.is_dir() and f"-{socket.gethostname()}-{os.getpid()}-" in t.tmp.name
    t.discard()
    assert not t.tmp.exists()


def test_netcdf3_truncation_is_detected(tmp_path):
    ds = xr.Dataset(
        {
            "rec": (("time", "x"), np.random.rand(5, 3).astype("f4")),
            "fix": (("x",), np.arange(3.0)),
        }
    )
    for fmt in ("NETCDF3_CLASSIC", "NETCDF3_64BIT"):
        path = tmp_path / f"{fmt}.nc"
        ds.to_netcdf(path, format=fmt, unlimited_dims=["time"])
        data = path.read_bytes()
        assert netcdf3_expected_size(data) <= len(data)
        assert truncation(path) is None
        cut = tmp_path / f"cut-{fmt}.nc"
        cut.write_bytes(data[: len(data) - 8])
        assert "truncated" in truncation(cut)
    netcdf4 = pytest.importorskip("netCDF4")
    cdf5 = tmp_path / "cdf5.nc"
    with netcdf4.Dataset(cdf5, "w", format="NETCDF3_64BIT_DATA") as nc:
        nc.createDimension("x", 40)
        nc.createVariable("v", "f8", ("x",))[:] = np.arange(40.0)
    data = cdf5.read_bytes()
    assert netcdf3_expected_size(data) == len(data)
    cdf5.write_bytes(data[:-100])
    assert "truncated" in truncation(cdf5)


def test_absent_zarr_chunks_are_counted(tmp_path):
    store = tmp_path / "in.zarr"
    field().to_zarr(store)
    assert absent_chunks(store, ["t"]) == {}
    chunk = next(p for p in (store / "t").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.unlink()
    n, total, fill = absent_chunks(store, ["t"])["t"]
    assert (n, total) == (1, 2 * 4) and np.isnan(fill)


def test_links_and_mounts_are_seen_through(tmp_path):
    """Adversarial review of issue 9: each of these replaced or emptied the input."""
    ds = field()
    inp, other = tmp_path / "in.zarr", tmp_path / "other.zarr"
    ds.to_zarr(inp)
    ds.to_zarr(other)
    src = xr.open_zarr(inp)
    # an array of the input is a symbolic link into OUTPUT
    import shutil

    shutil.rmtree(inp / "t")
    (inp / "t").symlink_to(other / "t")
    with pytest.raises(ValueError, match="holds data of the input"):
        daskgrad.to_zarr(src.grad("x"), other, overwrite=True)
    # "link/../name" names what the OS reaches, not the text before ".."
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    (tmp_path / "lnsub").symlink_to(tmp_path / "deep" / "sub")
    out = daskgrad.to_zarr(ds.grad("x"), tmp_path / "lnsub" / ".." / "g.zarr")
    assert out == tmp_path / "deep" / "g.zarr" and not (tmp_path / "g.zarr").exists()
    # the input's folder reached through a bind mount
    view = tmp_path / "view"
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(tmp_path), str(view)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"bind mounts are not allowed here: {mounted.stderr.strip()}")
    try:
        before = xr.open_zarr(other).t.values.copy()
        with pytest.raises(ValueError, match="is the input"):
            daskgrad.to_zarr(xr.open_zarr(other).grad("x"), view / "other.zarr", overwrite=True)
        np.testing.assert_array_equal(xr.open_zarr(other).t.values, before)
    finally:
        subprocess.run(["umount", str(view)], check=True)
    # a zarr store that is a mount point cannot be swapped by a rename: refused before computing
    mnt = tmp_path / "mnt.zarr"
    mnt.mkdir()
    subprocess.run(["mount", "--bind", str(other), str(mnt)], check=True)
    try:
        with pytest.raises(ValueError, match="mount point"):
            daskgrad.to_zarr(ds.grad("x"), mnt, overwrite=True)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_output_names_are_not_glob_patterns(tmp_path):
    host = socket.gethostname()
    (tmp_path / "a.zarr").mkdir()
    aside = tmp_path / f".a.zarr.daskgrad-{host}-{_dead_pid()}-0123abcd.old"
    aside.mkdir()
    stale = tmp_path / f".x[1].zarr.daskgrad-{host}-{_dead_pid()}-0123abcd.tmp"
    stale.mkdir()
    told = []
    remove_stale(tmp_path / "?.zarr", told.append)  # "?" matched "a" as a pattern
    assert aside.exists() and told == []
    remove_stale(tmp_path / "x[1].zarr", told.append)
    assert not stale.exists() and len(told) == 1
