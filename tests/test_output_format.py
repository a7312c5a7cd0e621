"""OUTPUT keeps INPUT's zarr format unless told otherwise; a netCDF input gives every worker
thread work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from .conftest import cli  # noqa: E402


@pytest.fixture(scope="module")
def shared(dask_cluster):
    """Runs on the session's external cluster (tests/conftest.py): the format written is the
    point here, not the cluster."""
    return ["--scheduler-file", dask_cluster, "--no-progress"]


def fmt(path: Path) -> int:
    """The zarr format of the store at ``path``, as zarr reads it, checked against its files."""
    found = zarr.open_group(str(path), mode="r").metadata.zarr_format
    assert (path / "zarr.json").exists() == (found == 3)
    assert (path / ".zgroup").exists() == (found == 2)
    return found


@pytest.fixture(scope="module")
def field():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((6, 20, 30))
    return xr.Dataset({"t": (("z", "y", "x"), f)}, coords={"x": np.arange(30) * 2.0})


@pytest.fixture(scope="module", params=[2, 3])
def store(request, tmp_path_factory, field):
    path = tmp_path_factory.mktemp(f"v{request.param}") / "in.zarr"
    field.chunk({"z": 3}).to_zarr(path, zarr_format=request.param)
    assert fmt(path) == request.param
    return path, request.param


def test_run_keeps_the_input_zarr_format(store, tmp_path, field, shared):
    path, version = store
    out = tmp_path / "out.zarr"
    r = cli("run", path, out, "--dim", "x", *shared)
    assert r.returncode == 0, r.stderr
    assert fmt(out) == version
    got = xr.open_zarr(out).dt_dx.values
    np.testing.assert_allclose(got, np.gradient(field.t.values, 2.0, axis=2), rtol=1e-12)


def test_zarr_format_flag_chooses_the_output_format(store, tmp_path, shared):
    path, version = store
    other = 5 - version
    out = tmp_path / "out.zarr"
    r = cli("run", path, out, "--dim", "x", "--zarr-format", other, *shared)
    assert r.returncode == 0, r.stderr
    assert fmt(out) == other
    bad = cli("run", path, tmp_path / "bad.zarr", "--dim", "x", "--zarr-format", "4")
    assert bad.returncode == 2 and "--zarr-format" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert not (tmp_path / "bad.zarr").exists()


def test_to_zarr_keeps_the_source_format(store, tmp_path, field):
    import daskgrad

    path, version = store
    with xr.open_zarr(path) as ds:
        grad = ds.grad("x")
        assert fmt(Path(daskgrad.to_zarr(grad, tmp_path / "a.zarr"))) == version
        other = 5 - version
        assert fmt(Path(daskgrad.to_zarr(grad, tmp_path / "b.zarr", zarr_format=other))) == other
        with pytest.raises(ValueError, match="zarr_format"):
            daskgrad.to_zarr(grad, tmp_path / "c.zarr", zarr_format=4)
        assert not (tmp_path / "c.zarr").exists()
    got = xr.open_zarr(tmp_path / "a.zarr").dt_dx.values
    np.testing.assert_allclose(got, np.gradient(field.t.values, 2.0, axis=2), rtol=1e-12)


def test_to_zarr_of_an_in_memory_object_uses_zarr_default(tmp_path, field):
    import daskgrad

    out = Path(daskgrad.to_zarr(field.chunk({"z": 3}).grad("x"), tmp_path / "a.zarr"))
    assert fmt(out) == zarr.config.get("default_zarr_format")


def test_contiguous_netcdf_gives_every_thread_work(tmp_path):
    """A ~40 MB contiguous variable is not one chunk: at least 2 tasks per worker thread."""
    pytest.importorskip("netCDF4")
    from daskgrad.cli.pipeline import open_input, prepare

    rng = np.random.default_rng(2)
    f = rng.standard_normal((24, 181, 1152)).astype("float32")  # 19 MiB, 38 MiB as float64
    lat = np.linspace(-90, 90, 181)
    ds = xr.Dataset({"t": (("time", "lat", "lon"), f)}, coords={"lat": lat})
    path = tmp_path / "in.nc"
    ds.to_netcdf(path, engine="netcdf4", encoding={"t": {"contiguous": True}})
    # the pipeline's own opening, for 2 workers x 2 threads
    opened = open_input(path, threads=4)
    job = prepare(opened, ["lat"])
    assert job.source.t.data.npartitions >= 2 * 4
    assert job.result.dt_dlat.data.npartitions >= 2 * 4
    # and the command line's run: its output is written in the chunks it computed, one task
    # each; the values are numpy's
    out = tmp_path / "out.zarr"
    # an embedded cluster of that shape: the threads are what the chunks are counted against
    r = cli("run", path, out, "--dim", "lat", "--workers", "2", "--threads-per-worker", "2")
    assert r.returncode == 0, r.stderr
    assert zarr.open_array(str(out / "dt_dlat"), mode="r").nchunks >= 2 * 4
    got = xr.open_zarr(out).dt_dlat.values
    np.testing.assert_allclose(got, np.gradient(f.astype("f8"), lat, axis=1), rtol=1e-6)
