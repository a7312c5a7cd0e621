"""The memory rule's count for potential vorticity's task, against what the task holds.

PV's kernel computes its formula slab by slab into one of its derivatives' buffers: besides
its inputs and the seven derivatives of MetPy's ``potential_vorticity_baroclinic`` (dθ/dp,
dθ/dx, dθ/dy, du/dp, dv/dp, dv/dx, du/dy) it allocates only slabs. The rule counted three
chunks more (``held=3``, the whole-chunk temporaries of the formula before it ran in slabs),
each of them twice (as computed and as encoded). Found in the closing note of 2026-12-07."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LEVELS = np.linspace(1000.0, 250.0, 16)  # hPa
PV_DERIVATIVES = 7  # the partial derivatives in MetPy's baroclinic PV formula


def traced_task(path, dtype):
    """(job, tracemalloc peak of one kernel task, its dependencies' bytes, its results)."""
    import tracemalloc

    import dask
    from dask.core import get_dependencies
    from dask.utils import ensure_dict

    from daskgrad.cli.derived import Request
    from daskgrad.cli.pipeline import prepare

    request = Request(
        geospatial=True, quantities=[("potential_vorticity", ("theta", "u", "v"))], vertical="level"
    )
    job = prepare(xr.open_zarr(path), [], request=request)
    results = list(job.result.data_vars.values())
    dsk: dict = {}
    for r in results:
        dsk.update(ensure_dict(r.data.__dask_graph__()))
    kernel = (results[0].data.name, 0, 1, 1, 1)  # ghost planes along level, lat and lon
    while len(deps := get_dependencies(dsk, kernel)) == 1:
        kernel = next(iter(deps))
    deps = list(get_dependencies(dsk, kernel))
    values = dict(zip(deps, dask.get(dsk, deps), strict=True))
    held = sum(
        a.nbytes
        for v in values.values()
        for a in (v if isinstance(v, list | tuple) else [v])
        if isinstance(a, np.ndarray)
    )
    dsk[kernel](values)  # a first call's imports and caches are no task's
    tracemalloc.start()
    try:
        dsk[kernel](values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return job, peak, held, results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_rule_counts_pv_task_within_one_chunk(dtype, tmp_path):
    """The rule's count for a PV task, part by part: the chunks it reads (3), the neighbours'
    chunks a worker holds for their ghost planes (2 per input), each input converted with its
    ghost planes (3) and the derivatives (3 per input) as the rule counts them for every
    quantity; what PV's task holds besides its inputs and derivatives, and what it writes
    encoded, as measured: within one chunk of the rule's total, on either side."""
    from daskgrad.cluster.memory import task_bytes

    rng = np.random.default_rng(2)
    shape = (1, 16, 128, 256)
    units = {"theta": "K", "u": "m/s", "v": "m/s"}
    coords = {
        "level": ("level", LEVELS, {"units": "hPa"}),
        "lat": ("lat", np.linspace(-60, 60, 128), {"units": "degrees_north"}),
        "lon": ("lon", np.arange(256) * 360 / 256, {"units": "degrees_east"}),
    }
    dims = ("time", "level", "lat", "lon")
    ds = xr.Dataset(
        {
            n: (dims, (10 + rng.standard_normal(shape)).astype(dtype), {"units": units[n]})
            for n in units
        },
        coords=coords,
    )
    path = tmp_path / "in.zarr"
    ds.chunk({"time": 1, "level": 8, "lat": 64, "lon": 128}).to_zarr(path)
    job, peak, held, results = traced_task(path, dtype)
    chunk = job.chunk_bytes
    assert job.k == 3 and job.counts["inputs"] == 3 and job.counts["neighbours"]
    read = held / chunk  # the three input chunks, as read
    assert read == pytest.approx(3, abs=0.25)
    besides = peak / chunk - PV_DERIVATIVES  # temporaries and results beyond the derivatives
    assert -0.5 < besides < 1, besides
    measured = 3 + 2 * 3 + 3 + 3 * 3 + besides + len(results)
    counted = task_bytes(chunk, job.k, **job.counts) / chunk
    assert abs(counted - measured) <= 1, (counted, measured)
