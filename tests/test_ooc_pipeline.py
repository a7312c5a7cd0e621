"""The out-of-core pipeline's tasks per chunk (issue "Close to the limit", item 1): each task costs
the scheduler and a worker a few milliseconds of CPU besides its work, so ``daskgrad run``
schedules one reading task, one ghost-plane task and one computing-and-writing task per chunk,
whatever the number of outputs; values against NumPy, failures still blamed on the kernel."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

import daskgrad  # noqa: E402
from daskgrad.cli.app import main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

# chunks of 8 x 48 x 64 float32 (96 KiB): above the size below which kernels take their
# neighbours' whole chunks, so each chunk has a task copying its ghost planes
SHAPE, CHUNKS = (16, 96, 128), {"t": 8, "y": 48, "x": 64}


def store(path, names=("u", "v"), seed=0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 2.0, SHAPE[2]))
    y = np.linspace(0.0, 5.0, SHAPE[1])
    data = {n: (("t", "y", "x"), rng.standard_normal(SHAPE).astype(np.float32)) for n in names}
    ds = xr.Dataset(data, coords={"x": x, "y": y}).chunk(CHUNKS)
    ds.to_zarr(path)
    return ds.load()


class Counted:
    """The tasks dask's threads run (dask's own callback API): per name, tokens aside."""

    def __init__(self):
        from dask.callbacks import Callback

        self.names: Counter = Counter()
        self.chunks: set = set()

        def pretask(key, dsk, state):
            name = str(key[0] if isinstance(key, tuple) else key)
            self.names[re.sub(r"(-[0-9a-f]{6,})+$", "", name)] += 1
            if isinstance(key, tuple):
                self.chunks.add(key[1:])

        self.callback = Callback(pretask=pretask)

    def __enter__(self):
        self.callback.__enter__()
        return self

    def __exit__(self, *exc):
        self.callback.__exit__(*exc)

    @property
    def per_chunk(self) -> float:
        """Tasks run per chunk (index) of the computation: xarray's array nodes aside."""
        chunked = {n: c for n, c in self.names.items() if not n.startswith("original-")}
        return sum(chunked.values()) / len(self.chunks)


def close(ours, ref) -> None:
    """float32 results against a float64 oracle, to float32's rounding of the field's scale."""
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def run(*argv) -> None:
    assert main(["run", *map(str, argv), "--no-progress"]) == 0


def test_two_derivatives_are_computed_and_written_in_one_task_per_chunk(tmp_path):
    """A gradient over 2 dims: read, ghost planes, then the kernel and both writes in one
    task (before: the kernel, and a write task per derivative: 5 tasks per chunk)."""
    ds = store(tmp_path / "in.zarr", names=("f",))
    with Counted() as counted:
        run(tmp_path / "in.zarr", tmp_path / "out.zarr", "--dim", "y", "--dim", "x")
    assert counted.per_chunk == 3, counted.names
    out = xr.open_zarr(tmp_path / "out.zarr")
    f = ds.f.values.astype(np.float64)
    close(out.df_dy, np.gradient(f, ds.y.values, axis=1))
    close(out.df_dx, np.gradient(f, ds.x.values, axis=2))


def test_packed_reads_of_an_operator_are_one_task_per_chunk(tmp_path):
    """``--vorticity u,v``: the command line reads u and v in one task, and the operator's
    kernel packs them again; the chain is one reading task (before: two for most chunks)."""
    ds = store(tmp_path / "in.zarr")
    with Counted() as counted:
        run(tmp_path / "in.zarr", tmp_path / "out.zarr", "--vorticity", "u,v", "--dim", "x",
            "--dim", "y")  # fmt: skip
    assert counted.per_chunk == 3, counted.names
    out = xr.open_zarr(tmp_path / "out.zarr")
    (name,) = [n for n in out.data_vars if "vort" in n]
    u, v = (ds[n].values.astype(np.float64) for n in ("u", "v"))
    ref = np.gradient(v, ds.x.values, axis=2) - np.gradient(u, ds.y.values, axis=1)
    close(out[name], ref)


def test_the_fused_graph_writes_what_the_unfused_one_does(tmp_path):
    """Through daskgrad.to_zarr on threads: every output of a 3-dim gradient, against NumPy."""
    ds = store(tmp_path / "in.zarr", names=("f",))
    src = xr.open_zarr(tmp_path / "in.zarr")
    with Counted() as counted:
        daskgrad.to_zarr(src.grad(["t", "y", "x"]), tmp_path / "g.zarr", progress=False)
    assert counted.per_chunk == 3, counted.names
    out = xr.open_zarr(tmp_path / "g.zarr")
    f = ds.f.values.astype(np.float64)
    for axis, dim in enumerate(("t", "y", "x")):
        coord = ds[dim].values if dim in ds.coords else 1.0
        close(out[f"df_d{dim}"], np.gradient(f, coord, axis=axis))


def _strings(block):
    """A block no kernel can differentiate: strings, declared float."""
    return np.full(block.shape, "x", dtype=object)


def test_a_kernel_failure_is_still_blamed_on_the_kernel(tmp_path, dask_cluster):
    """On worker processes: the kernel, fused with its writes, fails; the message names the
    computation and its chunk, not the write."""
    distributed = pytest.importorskip("distributed")
    from daskgrad.io.writer import ComputeFailed

    store(tmp_path / "in.zarr", names=("f",))
    src = xr.open_zarr(tmp_path / "in.zarr")
    bad = src.copy()
    bad["f"] = bad.f.copy(data=bad.f.data.map_blocks(_strings, dtype=np.float32))
    with distributed.Client(scheduler_file=str(dask_cluster)) as client:
        with pytest.raises(ComputeFailed, match=r"^computing the gradient, chunk \(\d+, \d+, \d+"):
            daskgrad.to_zarr(bad.grad(["y", "x"]), tmp_path / "bad.zarr", client=client)
    assert not (tmp_path / "bad.zarr").exists()
