"""`daskgrad run` reads several small stored chunks per task: when, along which dim, and that
the output is the same, bit for bit, in the same stored chunks."""

from __future__ import annotations

import numpy as np
import pytest

from daskgrad.cli.pipeline import BATCH_BYTES, batch_chunks, open_input, prepare
from daskgrad.cluster.memory import task_bytes

from .conftest import cli
from .test_cli_ops import cluster, winds  # noqa: F401 - the session's real cluster

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


def stored(tmp_path, chunks, shape=(40, 16, 32), names=("u", "v")):
    tmp_path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ds = xr.Dataset({n: (("time", "y", "x"), rng.standard_normal(shape)) for n in names})
    ds.chunk(chunks).to_zarr(tmp_path / "in.zarr")
    return open_input(tmp_path / "in.zarr")


def test_small_chunks_are_read_several_to_a_task_along_a_dim_not_differentiated(tmp_path):
    ds = stored(tmp_path, {"time": 2, "y": 8, "x": 16})  # 2 KiB chunks
    job = prepare(ds, ["x", "y"])
    # as many as the data has, short of BATCH_BYTES: all 40 time steps
    assert batch_chunks(job, None) == {"time": 40}
    # no dim to batch when every chunked dim is differentiated
    assert batch_chunks(prepare(ds, ["time", "x", "y"]), None) == {}


def test_batches_stay_within_half_the_room_of_a_task_and_bytes(tmp_path):
    ds = stored(tmp_path, {"time": 1, "y": 16, "x": 32}, shape=(64, 16, 32))  # 4 KiB
    job = prepare(ds, ["x"])
    chunk = 16 * 32 * 8
    assert job.k == 1
    room = 2 * task_bytes(5 * chunk, 1) + 1  # five chunks fit twice over, six do not
    assert batch_chunks(job, room) == {"time": 5}
    assert batch_chunks(job, 2 * task_bytes(chunk, 1)) == {}  # one is already half the room
    # the first dim not differentiated with more than one chunk: y when x and time are
    ds = stored(tmp_path / "b", {"time": 64, "y": 1, "x": 32}, shape=(64, 16, 32))
    assert batch_chunks(prepare(ds, ["x", "time"]), None) == {"y": 16}


def test_no_batch_for_large_chunks_or_differently_chunked_inputs(tmp_path):
    n = BATCH_BYTES // 2 // 8 // 64 + 1  # rows of a chunk over half BATCH_BYTES: not worth it
    ds = stored(tmp_path, {"time": 1, "y": n, "x": 64}, shape=(3, n, 64), names=("u",))
    assert batch_chunks(prepare(ds, ["x"]), None) == {}
    ds = stored(tmp_path / "b", {"time": 2})
    ds["v"] = ds.v.chunk({"time": 4})
    assert batch_chunks(prepare(ds, ["x"]), None) == {}


def test_batched_run_writes_the_apis_values_in_the_stored_chunks(cluster, tmp_path):  # noqa: F811
    import daskgrad as dg

    inp = tmp_path / "in.zarr"
    winds().chunk({"time": 1, "lat": 19, "lon": 40}).to_zarr(inp)
    src = xr.open_zarr(inp)
    time3 = "3 along 'time' (3 of its 3 points)"
    for name, extra, batch in [
        ("a", ["--vorticity", "u,v", "--dim", "lon", "--dim", "lat"], time3),
        ("b", ["--var", "T", "--dim", "lon", "--dim", "lat", "--accuracy", "4"], time3),
        ("c", ["--var", "T", "--dim", "lon", "--chunks", "time=1"], None),  # the user's chunks
        ("d", ["--var", "T", "--dim", "time"], "3 along 'lat' (55 of its 55 points)"),  # not time
    ]:  # fmt: skip
        out = tmp_path / f"{name}.zarr"
        args = ["run", inp, out, *extra, "--scheduler-file", cluster, "--no-progress"]
        r = cli(*args)
        assert r.returncode == 0, r.stderr
        said = [ln for ln in r.stdout.splitlines() if "each task reads" in ln]
        line = f"daskgrad: each task reads {str(batch).replace(' along', ' stored chunks along')}"
        line += ": fewer, larger tasks; the output keeps the stored chunks"
        assert said == ([line] if batch else []), r.stdout
        got = xr.open_zarr(out)
        for var in got.data_vars.values():
            assert var.encoding["chunks"] == tuple(c[0] for c in src.T.chunks), var.name
        if name == "a":
            ref = dg.vorticity(src.u, src.v, dims=["lon", "lat"])
            np.testing.assert_array_equal(got.vort_u_v.values, ref.values)
        if name == "b":
            ref = dg.gradient(src.T, dim=["lon", "lat"], accuracy=4)
            np.testing.assert_array_equal(got.dT_dlon.values, ref[0].values)
            np.testing.assert_array_equal(got.dT_dlat.values, ref[1].values)


def test_batches_are_sized_by_the_larger_of_input_and_output_chunks(tmp_path):
    """uint8 data have float64 derivatives, 8 times larger: batching by the input's bytes
    restarted workers in a loop (adversarial trial)."""
    rng = np.random.default_rng(1)
    ds = xr.Dataset({"q": (("time", "y", "x"), rng.integers(0, 255, (8, 512, 256), np.uint8))})
    ds.chunk({"time": 1}).to_zarr(tmp_path / "q.zarr")  # 128 KiB in, 1 MiB out per chunk
    job = prepare(open_input(tmp_path / "q.zarr"), ["x", "y"])
    assert job.chunk_bytes == 8 * 512 * 256 and batch_chunks(job, None) == {"time": 8}
    room = 2 * task_bytes(2 * job.chunk_bytes, job.k) + 1  # two output chunks, not sixteen
    assert batch_chunks(job, room) == {"time": 2}


def test_geospatial_runs_batch_along_a_dim_off_the_grid_only(cluster, tmp_path):  # noqa: F811
    import daskgrad as dg

    ds = winds().assign_coords(step=("time", [0.0, 6.0, 12.0]))  # a chunked coordinate
    inp, flat = tmp_path / "in.zarr", tmp_path / "flat.zarr"
    ds.chunk({"time": 1, "lat": 19, "lon": 40}).to_zarr(inp)
    ds.isel(time=0).chunk({"lat": 19, "lon": 40}).to_zarr(flat)
    src = xr.open_zarr(inp)
    for store, said in [(inp, "3 stored chunks along 'time'"), (flat, None)]:
        out = tmp_path / f"out-{store.name}"
        r = cli(
            "run", store, out, "--geospatial", "--var", "T", "--vorticity", "u,v",
            "--scheduler-file", cluster, "--no-progress",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        lines = [ln for ln in r.stdout.splitlines() if "each task reads" in ln]
        assert [said in ln for ln in lines] == ([True] if said else []), r.stdout
    got = xr.open_zarr(tmp_path / "out-in.zarr")
    assert got.step.encoding["chunks"] == (1,)  # the stored chunks of a batched coordinate
    ref = dg.vorticity(src.u, src.v, geospatial=True)
    np.testing.assert_array_equal(got.vort_u_v.values, ref.values)
    for name, ref in zip(["dT_dx", "dT_dy"], dg.geospatial_gradient(src.T), strict=True):
        np.testing.assert_array_equal(got[name].values, ref.values)


def test_a_failure_in_a_batched_run_says_how_to_find_the_stored_chunk(cluster, tmp_path):  # noqa: F811
    inp = tmp_path / "in.zarr"
    winds().chunk({"time": 1, "lat": 19, "lon": 40}).to_zarr(inp)
    (inp / "T" / "c" / "2" / "1" / "1").write_bytes(b"not zstd")
    out = tmp_path / "out.zarr"
    r = cli(
        "run", inp, out, "--var", "T", "--dim", "lon", "--scheduler-file", cluster, "--no-progress"
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    # the stored chunk itself (T/c/2/1/1), not the index of the task that read it
    assert "reading input variable 'T', chunk (2, 1, 1)" in line, line
    assert "tasks of" not in line, line
    assert not out.exists()
