"""Per-chunk overhead of gradient()'s dask graph on tiny chunks (issue 22, items 2 and 5): a tiny
block with ghost planes on both sides of every axis is differentiated without preparing the
kernel's per-axis data, with the same numbers as one chunk and as numpy.gradient; and
benchmarks/bench_graph.py reports CPU time and the graph's growth (no timing asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest

import daskgrad
from daskgrad.core import kernel

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_block_with_neighbours_everywhere_prepares_no_axis(monkeypatch):
    """The middle chunk of 3^3 chunks of 4^3: every axis padded, nothing prepared per axis."""
    f = np.random.default_rng(0).standard_normal((12, 12, 12))
    x = da.from_array(f, chunks=4)
    outs = daskgrad.gradient(x)

    def refuse(*args, **kwargs):
        raise AssertionError("a per-axis preparation for a padded axis")

    monkeypatch.setattr(kernel, "_Axis", refuse)
    for axis, out in enumerate(outs):  # tiny chunks: a task per partial
        graph = dict(out.__dask_graph__())
        task = graph[(out.name, 1, 1, 1)]
        values = {k: f[tuple(slice(4 * i, 4 * i + 4) for i in k[1:])] for k in task.dependencies}
        got = task(values)
        np.testing.assert_array_equal(got, np.gradient(f, axis=axis)[4:8, 4:8, 4:8])


@pytest.mark.parametrize(
    "dtype, spacing, accuracy",
    [
        ("f8", None, 2),
        ("f4", None, 2),
        ("f4", np.float64(0.3), 2),  # a NumPy scalar step, strongly typed against float32
        ("f8", [0.5, 2.0, 3.0], 4),
        ("f8", 0.7, 6),
    ],
)
@pytest.mark.parametrize("periodic", [False, True])
def test_tiny_chunks_give_the_numbers_of_one_chunk_and_of_numpy(dtype, spacing, accuracy, periodic):
    rng = np.random.default_rng(1)
    f = rng.standard_normal((12, 16, 20)).astype(dtype)
    kw = dict(spacing=spacing, accuracy=accuracy, periodic=periodic)
    with dask.config.set(scheduler="sync"):
        tiny = dask.compute(*daskgrad.gradient(da.from_array(f, chunks=6), **kw))
        one = dask.compute(*daskgrad.gradient(da.from_array(f, chunks=f.shape), **kw))
    for t, o in zip(tiny, one, strict=True):
        assert t.dtype == f.dtype
        np.testing.assert_array_equal(t, o)  # the same arithmetic whatever the chunking
    if accuracy != 2:
        return
    h = 1.0 if spacing is None else float(spacing)
    f64 = f.astype(np.float64)
    tol = 1e-5 if dtype == "f4" else 1e-12
    for axis, t in enumerate(tiny):
        if periodic:  # centred differences on the array rolled around
            want = (np.roll(f64, -1, axis) - np.roll(f64, 1, axis)) / (2 * h)
        else:
            want = np.gradient(f64, h, axis=axis)
        np.testing.assert_allclose(t, want, rtol=tol, atol=tol * np.abs(want).max())


def test_bench_graph_reports_cpu_time_and_growth(capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_graph
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    computed = bench_graph.measure([2], repeat=1)
    built = bench_graph.measure([3], repeat=1, compute=False)
    for row in computed + built:
        assert row["cpu_us"] > 0 and row["build_us"] >= 0 and row["held"] > 0, row
    assert {r["computed"] for r in computed} == {True}
    assert {r["computed"] for r in built} == {False}
    assert {r["contender"] for r in computed} == {"daskgrad.gradient", bench_graph.MINIMAL}
    bench_graph.main(["--sides", "2", "--repeat", "1"])
    table = capsys.readouterr().out
    assert "| CPU µs | / minimal |" in table
    assert sum(line.startswith("| 8 |") for line in table.splitlines()) == 2, table
