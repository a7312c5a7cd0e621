"""Right about damaged input (issue 18, section 4; DESIGN.md "Absent zarr chunks"): chunks a
valid store never wrote are not called damage, an unreadable chunk is named by its variable
and stored chunk whatever the graph, and a netCDF file's groups are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from .conftest import cli
from .test_cli import LEAN, leftovers
from .test_cli_trust import one_error_line

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings(
    "ignore:Consolidated metadata:UserWarning", "ignore:Failed to open Zarr store"
)


@pytest.fixture(scope="module")
def shared(dask_cluster):
    """Runs on the session's external cluster (tests/conftest.py): what is read and how it is
    named is the point here, not the cluster."""
    return ["--scheduler-file", dask_cluster, "--no-progress"]


def chunk_files(store: Path, var: str) -> set[str]:
    """The chunk objects of ``var`` in a local zarr store, as the file system holds them."""
    meta = {".zarray", ".zattrs", "zarr.json"}
    return {
        str(p.relative_to(store / var))
        for p in (store / var).rglob("*")
        if p.is_file() and p.name not in meta
    }


def land_sea(fmt: int, path: Path) -> xr.Dataset:
    """An SST field on 2 x 2 stored chunks whose first (a land tile) is all NaN, written by
    xarray in zarr format ``fmt``."""
    y = np.linspace(-40.0, 40.0, 16)
    x = np.linspace(0.0, 90.0, 20)
    t = np.arange(3.0)
    sst = (
        20
        + np.cos(np.deg2rad(y))[None, :, None] * np.sin(np.deg2rad(x))[None, None, :]
        + t[:, None, None]
    )
    sst[:, :8, :10] = np.nan
    ds = xr.Dataset({"sst": (("time", "y", "x"), sst)}, coords={"time": t, "y": y, "x": x})
    ds.chunk({"time": 3, "y": 8, "x": 10}).to_zarr(path, zarr_format=fmt, consolidated=False)
    return ds


@pytest.mark.parametrize("fmt", [2, 3])
def test_all_nan_land_tiles_are_not_damage_and_pass_strict(tmp_path, fmt, shared):
    inp = tmp_path / "in.zarr"
    ds = land_sea(fmt, inp)
    # the store is valid and complete, yet xarray/zarr did not write the land tile
    names = chunk_files(inp, "sst")
    assert len(names) == 3, names
    out = tmp_path / "grad.zarr"
    r = cli("run", inp, out, "--dim", "x", "--strict", *shared)
    assert r.returncode == 0, r.stderr
    line = (
        "daskgrad: input variable 'sst': 1 of 4 chunks absent, read as the fill value NaN, "
        "a missing value"
    )
    assert line in r.stdout.splitlines(), r.stdout
    assert "warning" not in r.stdout + r.stderr and "damaged" not in r.stdout + r.stderr
    ref = np.gradient(ds.sst.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dsst_dx.values, ref, rtol=1e-12)

    # daskgrad's own complete output has an absent (all-NaN) chunk too, and passes --strict
    assert len(chunk_files(out, "dsst_dx")) < 4
    again = tmp_path / "again.zarr"
    r = cli("run", out, again, "--dim", "y", "--strict", *shared)
    assert r.returncode == 0, r.stderr
    assert "input variable 'dsst_dx': 1 of 4 chunks absent" in r.stdout
    ref2 = np.gradient(ref, ds.y.values, axis=1)
    scale = np.nanmax(np.abs(ref2))
    np.testing.assert_allclose(xr.open_zarr(again).ddsst_dx_dy.values, ref2, atol=1e-10 * scale)


def zero_filled(fmt: int, path: Path) -> np.ndarray:
    """A float zarr store (written with zarr itself) whose array ``v`` has fill value 0 and
    lost its chunk (1, 1); returns the data written."""
    group = zarr.open_group(path, mode="w", zarr_format=fmt)
    data = np.arange(1.0, 65.0).reshape(8, 8) ** 1.5
    names = {"dimension_names": ["y", "x"]} if fmt == 3 else {}
    v = group.create_array("v", shape=(8, 8), chunks=(4, 4), dtype="f8", fill_value=0.0, **names)
    v[:] = data
    for dim in ("y", "x"):
        names = {"dimension_names": [dim]} if fmt == 3 else {}
        c = group.create_array(dim, shape=(8,), chunks=(8,), dtype="f8", **names)
        c[:] = np.arange(1.0, 9.0) ** 1.2
        if fmt == 2:
            c.attrs["_ARRAY_DIMENSIONS"] = [dim]
    if fmt == 2:
        v.attrs["_ARRAY_DIMENSIONS"] = ["y", "x"]
    (path / "v" / ("1.1" if fmt == 2 else "c/1/1")).unlink()
    return data


@pytest.mark.parametrize("fmt", [2, 3])
def test_absent_chunks_that_read_as_numbers_are_warned_and_refused_by_strict(tmp_path, fmt, shared):
    """The fill value 0 of a float array: zarr 3 (no _FillValue) reads the lost chunk as
    zeros, numbers; xarray masks a zarr 2 array's fill value, so there it reads as NaN."""
    inp = tmp_path / "in.zarr"
    zero_filled(fmt, inp)
    assert len(chunk_files(inp, "v")) == 3
    lost = xr.open_zarr(inp, consolidated=False).v.values[4:, 4:]
    as_numbers = not np.isnan(lost).all()  # the oracle: what xarray reads there
    assert as_numbers == (fmt == 3)
    out = tmp_path / "out.zarr"
    r = cli("run", inp, out, "--dim", "x", "--strict", *shared)
    if as_numbers:
        assert r.returncode == 2, r.stderr
        line = one_error_line(r.stderr)
        assert "input variable 'v': 1 of 4 chunks absent, read as the fill value 0.0" in line
        assert "not a missing value" in line and "--strict" in line, line
        assert not out.exists() and leftovers(out) == []
        r = cli("run", inp, out, "--dim", "x", *shared)
        assert r.returncode == 0, r.stderr
        warning = [s for s in r.stdout.splitlines() if s.startswith("daskgrad: warning: ")]
        assert len(warning) == 1 and "1 of 4 chunks absent" in warning[0], r.stdout
        assert "not a missing value" in warning[0] and "--strict" in warning[0]
    else:
        assert r.returncode == 0, r.stderr
        assert "1 of 4 chunks absent, read as the fill value 0.0, a missing value" in r.stdout
    src = xr.open_zarr(inp, consolidated=False)
    ref = np.gradient(src.v.values, src.x.values, axis=1)
    np.testing.assert_allclose(xr.open_zarr(out).dv_dx.values, ref, rtol=1e-12)


def corrupt_store(fmt: int, path: Path, shape=(8, 16, 20), chunks=(2, 8, 20)) -> Path:
    """u, v on a lat/lon grid in zarr format ``fmt``; v's stored chunk (2, 0, 0) corrupted.
    Returns the corrupted chunk object."""
    rng = np.random.default_rng(0)
    nt, ny, nx = shape
    ds = xr.Dataset(
        {n: (("time", "lat", "lon"), rng.standard_normal(shape)) for n in ("u", "v")},
        coords={
            "time": np.arange(float(nt)),
            "lat": np.linspace(-30, 30, ny),
            "lon": np.linspace(0, 60, nx),
        },
    )
    ds.chunk(dict(zip(("time", "lat", "lon"), chunks, strict=True))).to_zarr(
        path, zarr_format=fmt, consolidated=False
    )
    obj = path / "v" / ("2.0.0" if fmt == 2 else "c/2/0/0")
    assert obj.is_file()
    obj.write_bytes(b"not a compressed chunk")
    return obj


CORRUPT_RUNS = {
    "default (batched)": ["--dim", "lon"],
    "--chunks time=4": ["--dim", "lon", "--chunks", "time=4"],
    "--vorticity (batched)": ["--vorticity", "u,v", "--dim", "lon", "--dim", "lat"],
    "--vorticity --chunks": [
        "--vorticity",
        "u,v",
        "--dim",
        "lon",
        "--dim",
        "lat",
        "--chunks",
        "time=4",
    ],  # fmt: skip
    "--geospatial": ["--geospatial"],
}


def test_an_unreadable_chunk_is_named_by_variable_and_stored_chunk(tmp_path, shared):
    """Whatever the graph: several stored chunks per task, rechunked, operators (their reads
    packed into one task), geospatial; zarr 2 and 3."""
    runs = {(2, label): args for label, args in CORRUPT_RUNS.items()}
    runs |= {(3, label): CORRUPT_RUNS[label] for label in ("default (batched)", "--chunks time=4")}
    for fmt in (2, 3):
        corrupt_store(fmt, tmp_path / f"in{fmt}.zarr")
    want = "daskgrad: error: computation failed: reading input variable 'v', chunk (2, 0, 0): "
    for n, ((fmt, label), args) in enumerate(runs.items()):
        out = tmp_path / f"out{n}.zarr"
        r = cli("run", tmp_path / f"in{fmt}.zarr", out, *args, *shared)
        assert r.returncode == 1, (fmt, label, r.stderr)
        line = one_error_line(r.stderr)
        assert line.startswith(want), (fmt, label, line)
        assert "task" not in line and "writing" not in line, line
        assert not out.exists() and leftovers(out) == []


def test_an_unreadable_chunk_of_a_one_chunk_store_is_named(tmp_path, shared):
    """A graph of one chunk is fused by dask into one task: its read is still named."""
    inp = tmp_path / "in.zarr"
    xr.Dataset({"v": (("y", "x"), np.random.default_rng(1).random((6, 7)))}).chunk(-1).to_zarr(
        inp, zarr_format=2, consolidated=False
    )
    (inp / "v" / "0.0").write_bytes(b"garbage")
    out = tmp_path / "out.zarr"
    r = cli("run", inp, out, "--dim", "x", *shared)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert line.startswith(
        "daskgrad: error: computation failed: reading input variable 'v', chunk (0, 0): "
    ), line
    assert not out.exists() and leftovers(out) == []


def test_to_zarr_names_an_unreadable_chunk(tmp_path, dask_cluster):
    """From Python, on dask's threads and on a real cluster (the session's worker processes),
    whatever opened the store."""
    import dask.array as da
    from distributed import Client

    import daskgrad

    inp = tmp_path / "in.zarr"
    corrupt_store(3, inp)
    ds = xr.open_zarr(inp, consolidated=False)
    arr = da.from_zarr(str(inp), component="v")
    cases = {
        "xarray": ds.grad("lon"),
        "xarray, rechunked": ds.chunk({"time": 8}).grad("lon"),
        "dask.array.from_zarr": xr.Dataset(
            {"v": (("time", "lat", "lon"), arr)}, coords={"lon": ds.lon.values}
        ).grad("lon"),
    }
    want = "reading input variable 'v', chunk (2, 0, 0): "
    for label, obj in cases.items():
        with pytest.raises(RuntimeError) as info:
            daskgrad.to_zarr(obj, tmp_path / "out.zarr")
        assert str(info.value).startswith(want), (label, str(info.value))
        assert not (tmp_path / "out.zarr").exists() and leftovers(tmp_path / "out.zarr") == []
    with Client(scheduler_file=str(dask_cluster)) as client:
        with pytest.raises(RuntimeError) as info:
            daskgrad.to_zarr(cases["xarray"], tmp_path / "out.zarr", client=client)
        assert str(info.value).startswith(want), str(info.value)
    assert not (tmp_path / "out.zarr").exists()


def test_a_corrupt_chunk_inside_a_batched_read_is_found_alone(tmp_path):
    """Unit level: a read spanning several stored chunks names the one that fails."""
    from daskgrad.io.inspect import NamedReads, ReadFailed, name_reads

    inp = tmp_path / "in.zarr"
    corrupt_store(2, inp)
    ds = xr.open_zarr(inp, consolidated=False, chunks={"time": 8})
    graph = name_reads(dict(ds.v.data.__dask_graph__()))
    wrapped = [v for k, v in graph.items() if isinstance(k, str)]
    (node,) = wrapped
    arr = node.value if hasattr(node, "value") else node
    assert isinstance(arr, NamedReads) and arr.name == "v"
    with pytest.raises(ReadFailed, match=r"^reading input variable 'v', chunk \(2, 0, 0\): "):
        arr[slice(0, 8), slice(0, 8), slice(0, 20)]
    np.testing.assert_array_equal(
        arr[slice(0, 4), slice(0, 16), slice(0, 20)], zarr.open_array(inp / "v")[:4]
    )


def netcdf_with_groups(path: Path) -> np.ndarray:
    netcdf4 = pytest.importorskip("netCDF4")
    x = np.linspace(0.0, 3.0, 8) ** 1.3
    t = np.outer(np.arange(1.0, 6.0), np.sin(x))
    with netcdf4.Dataset(path, "w") as nc:
        nc.createDimension("z", 3)
        nc.createVariable("depth", "f8", ("z",))[:] = np.arange(3.0)
        ocean = nc.createGroup("ocean")
        ocean.createDimension("y", 5)
        ocean.createDimension("x", 8)
        ocean.createVariable("x", "f8", ("x",))[:] = x
        ocean.createVariable("t", "f8", ("y", "x"))[:] = t
        ocean.createGroup("deep").createDimension("w", 2)
    return np.gradient(t, x, axis=1)


def test_netcdf_groups_are_named_and_read_with_group(tmp_path, shared):
    nc = tmp_path / "in.nc"
    ref = netcdf_with_groups(nc)
    out = tmp_path / "out.zarr"
    hint = "it has groups ['ocean', 'ocean/deep'] (--group NAME reads one)"
    for args in (["--dim", "x"], ["--dim", "z", "--var", "t"], ["--dim", "x", "--chunks", "x=4"]):
        r = cli("run", nc, out, *args, *LEAN)
        assert r.returncode == 2, (args, r.stderr)
        assert hint in one_error_line(r.stderr), args
    r = cli("run", nc, out, "--dim", "x", "--group", "atmos", *LEAN)
    assert r.returncode == 2
    line = one_error_line(r.stderr)
    assert "--group" in line and "'atmos'" in line and "['ocean', 'ocean/deep']" in line, line
    assert not out.exists()
    r = cli("run", nc, out, "--dim", "x", "--group", "ocean", *shared)
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(xr.open_zarr(out).dt_dx.values, ref, rtol=1e-12)


def test_geospatial_on_a_root_without_coordinates_is_a_usage_error_in_flags(tmp_path):
    """New-user trial: ``--geospatial`` on a file whose variables are all in groups exited 1
    with "computation failed: ... pass latitude=NAME" (the API's words)."""
    nc = tmp_path / "in.nc"
    lat, lon = np.linspace(-60, 60, 7), np.arange(0, 360, 40.0)
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    u = xr.DataArray(np.ones((7, 9)), dims=("lat", "lon"), coords=coords)
    xr.Dataset().to_netcdf(nc, mode="w")
    xr.Dataset({"u": u, "v": u}).to_netcdf(nc, mode="a", group="atm")
    r = cli("run", nc, tmp_path / "out.zarr", "--geospatial", *LEAN)
    line = one_error_line(r.stderr)
    assert r.returncode == 2, r.stderr
    assert "--latitude NAME" in line and "latitude=" not in line, line


def test_zarr_groups_are_read_with_group(tmp_path, shared):
    inp = tmp_path / "in.zarr"
    ds = land_sea(3, tmp_path / "flat.zarr")
    xr.Dataset({"a": ("n", np.arange(3.0))}).to_zarr(inp, consolidated=False)
    shutil.copytree(tmp_path / "flat.zarr", inp / "sea")  # the group 'sea'
    out = tmp_path / "out.zarr"
    r = cli("run", inp, out, "--dim", "x", "--strict", *LEAN)
    assert r.returncode == 2 and "it has groups ['sea']" in one_error_line(r.stderr)
    r = cli("run", inp, out, "--dim", "x", "--group", "sea", "--strict", *shared)
    assert r.returncode == 0, r.stderr
    assert "input variable 'sst': 1 of 4 chunks absent" in r.stdout
    ref = np.gradient(ds.sst.values, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dsst_dx.values, ref, rtol=1e-12)
