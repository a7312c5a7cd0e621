"""The memory rule's least limit for the kinematics: `daskgrad run --geospatial
--potential-vorticity THETA:U,V --vertical level` on a store split along level, lat and lon
(three inputs, three derivatives each, ghost planes from neighbours along every axis), run at
exactly the limit the check asks for."""

from __future__ import annotations

import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("psutil")
pytest.importorskip("distributed")
mpcalc = pytest.importorskip("metpy.calc")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from .test_memory_rule import CLUSTER, _sampled_run, least_limit  # noqa: E402

LEVELS = np.linspace(1000.0, 250.0, 16)  # hPa
LAT = np.linspace(-60.0, 60.0, 512)
LON = np.arange(1024) * 360 / 1024
ARGS = ["--geospatial", "--potential-vorticity", "theta:u,v", "--vertical", "level"]


def fields(nt: int) -> dict[str, np.ndarray]:
    """theta, u, v on (time, level, lat, lon), float32: smooth, a little noise."""
    p = LEVELS[None, :, None, None]
    phi = np.radians(LAT)[None, None, :, None]
    lam = np.radians(LON)[None, None, None, :]
    t = np.arange(nt)[:, None, None, None]
    rng = np.random.default_rng(5)
    shape = (nt, LEVELS.size, LAT.size, LON.size)
    theta = 300 - 0.05 * (p - 1000) + 5 * np.cos(phi) ** 2 * np.sin(3 * lam + t)
    u = 10 * np.cos(phi) * (1 + p / 1000) + np.sin(2 * lam - t)
    v = 5 * np.sin(2 * phi) * np.cos(2 * lam) * p / 1000 + 0 * t
    return {
        n: (np.broadcast_to(f, shape) + 0.01 * rng.standard_normal(shape)).astype(np.float32)
        for n, f in (("theta", theta), ("u", u), ("v", v))
    }


@pytest.fixture(scope="module")
def pv_store(tmp_path_factory):
    """theta, u, v float32 (1, 16, 512, 1024): 32 MiB each, stored in 4 MiB chunks of
    (1, 8, 256, 512), split along every axis PV differentiates."""
    units = {"theta": "K", "u": "m/s", "v": "m/s"}
    coords = {
        "level": ("level", LEVELS, {"units": "hPa"}),
        "lat": ("lat", LAT, {"units": "degrees_north"}),
        "lon": ("lon", LON, {"units": "degrees_east"}),
    }
    dims = ("time", "level", "lat", "lon")
    data = fields(1)
    ds = xr.Dataset({n: (dims, a, {"units": units[n]}) for n, a in data.items()}, coords=coords)
    path = tmp_path_factory.mktemp("pv") / "pv.zarr"
    ds.chunk({"time": 1, "level": 8, "lat": 256, "lon": 512}).to_zarr(path)
    return path, ds


def test_potential_vorticity_runs_at_the_least_limit(pv_store, tmp_path):
    """At exactly the limit the check asks for, no worker pauses (80 %) or restarts and the
    sampled resident memory of each stays below 0.8 of it; the result is MetPy's."""
    path, ds = pv_store
    out = tmp_path / "o.zarr"
    limit = least_limit(path, out, *ARGS)
    cmd = [sys.executable, "-m", "daskgrad", "run", str(path), str(out), *ARGS, *CLUSTER]
    rc, peaks, err = _sampled_run([*cmd, "--memory-limit", str(limit), "--debug"])
    assert rc == 0, err[-2000:]
    assert "Pausing worker" not in err and "Restarting worker" not in err, err[-2000:]
    assert len(peaks) == 2, peaks  # two workers, none restarted
    peak = max(peaks.values()) / limit
    assert peak < 0.8, f"peak {peak:.2f} of {limit / 2**20:.0f} MiB"

    # MetPy on a box across chunks of every axis, compared inside it (its edges one-sided)
    got = xr.open_zarr(out)["pv_theta"]
    earth = got.attrs.get("earth", "")
    radius = float(earth.split("R=")[1].split()[0]) if "R=" in earth else 6371229.0
    box = dict(time=0, lat=slice(236, 276), lon=slice(492, 532))  # across chunks
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=radius)
    sub = ds.isel(box).rename(level="isobaric")
    theta, u, v = (sub[n].astype("float64").metpy.assign_crs(**crs) for n in ("theta", "u", "v"))
    ref = mpcalc.potential_vorticity_baroclinic(theta, theta.isobaric, u, v)
    ref = ref.metpy.convert_units("K m**2 / (kg s)").data.magnitude[1:-1, 1:-1, 1:-1]
    ours = got.isel(box).values[1:-1, 1:-1, 1:-1]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-4 * np.abs(ref).max())


KINEMATICS = {
    "potential_vorticity": (("theta", "u", "v"), "level"),
    "q_vector": (("theta", "u", "v"), "level"),
    "frontogenesis": (("theta", "u", "v"), None),
    "advection": (("theta", "u", "v", "w"), "level"),
    "deformation": (("u", "v"), None),
}


@pytest.mark.parametrize("key", list(KINEMATICS))
def test_a_task_holds_less_than_the_rule_counts(key, tmp_path):
    """One output chunk's kernel task, run on the values of its dependencies (its inputs'
    chunks and the neighbours' ghost planes), traced by tracemalloc: its inputs plus the
    most its kernel allocates (padded inputs, derivatives, temporaries, results), plus each
    result once more as encoded, stay below what ``task_bytes`` counts for the run."""
    import tracemalloc

    import dask
    from dask.core import get_dependencies
    from dask.utils import ensure_dict

    from daskgrad.cli.derived import Request
    from daskgrad.cli.pipeline import prepare
    from daskgrad.cluster.memory import task_bytes

    names, vertical = KINEMATICS[key]
    shape = (1, 16, 128, 256)
    rng = np.random.default_rng(1)
    units = {"theta": "K", "u": "m/s", "v": "m/s", "w": "Pa/s"}
    coords = {
        "level": ("level", LEVELS, {"units": "hPa"}),
        "lat": ("lat", np.linspace(-60, 60, 128), {"units": "degrees_north"}),
        "lon": ("lon", np.arange(256) * 360 / 256, {"units": "degrees_east"}),
    }
    dims = ("time", "level", "lat", "lon")
    ds = xr.Dataset(
        {
            n: (dims, 10 + rng.standard_normal(shape, np.float32), {"units": units[n]})
            for n in units
        },
        coords=coords,
    )
    path = tmp_path / "in.zarr"
    ds.chunk({"time": 1, "level": 8, "lat": 64, "lon": 128}).to_zarr(path)
    request = Request(geospatial=True, quantities=[(key, names)], vertical=vertical)
    job = prepare(xr.open_zarr(path), [], request=request)
    results = list(job.result.data_vars.values())
    dsk: dict = {}
    for r in results:
        dsk.update(ensure_dict(r.data.__dask_graph__()))
    # chunk (0, 1, 1, 1): ghost planes from a neighbour along every differentiated axis
    kernel = (results[0].data.name, 0, 1, 1, 1)
    while len(deps := get_dependencies(dsk, kernel)) == 1:  # views of a kernel's results
        kernel = next(iter(deps))
    deps = list(get_dependencies(dsk, kernel))
    values = dict(zip(deps, dask.get(dsk, deps), strict=True))
    held = sum(
        a.nbytes
        for v in values.values()
        for a in (v if isinstance(v, list | tuple) else [v])
        if isinstance(a, np.ndarray)
    )
    dsk[kernel](values)  # once before: the imports and caches of a first call are no task's
    tracemalloc.start()
    try:
        dsk[kernel](values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    chunk = job.chunk_bytes
    measured = held + peak + len(results) * chunk  # each result encoded once more
    counted = task_bytes(chunk, job.k, **job.counts)
    assert measured < counted, (key, measured / chunk, counted / chunk)
