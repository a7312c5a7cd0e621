"""The shape of the kinematics' dask graphs (issue 20, performance): tasks per chunk against
the operators' and the gradient's graphs of the same inputs, no ghost-plane (or any per-chunk)
task for an input that is not differentiated (the latitude of f), the three deformations of
one wind in one task per chunk (the API's and ``daskgrad run --deformation``'s), with values
checked against numpy.gradient and the NumPy path. No timing here: benchmarks/ measure."""

from __future__ import annotations

import re
import warnings

import dask
import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

import daskgrad  # noqa: E402

LAT = np.arange(-60.0, 60.01, 3.0)
LON = np.arange(0.0, 360.0, 4.0)
CHUNKS = {"time": 1, "lat": 14, "lon": 30}


def dataset(levels=None, dtype=np.float64):
    """Smooth u, v, theta, z on a 3°x4° grid, (time, [level,] lat, lon), SI units."""
    rng = np.random.default_rng(0)
    phi = np.radians(LAT)[:, None]
    lam = np.radians(LON)[None, :]
    base = {
        "u": (10 * np.cos(phi) ** 2 + 3 * np.sin(2 * lam), "m s-1"),
        "v": (5 * np.sin(3 * lam) * np.cos(phi), "m s-1"),
        "theta": (300 - 40 * np.sin(phi) ** 2 + 2 * np.cos(lam), "K"),
        "z": (9.80665 * (5500 - 300 * np.sin(phi) ** 2 + 20 * np.sin(lam)), "m2 s-2"),
    }
    dims: tuple[str, ...] = ("time", "lat", "lon")
    shape: tuple[int, ...] = (2, LAT.size, LON.size)
    coords = {
        "lat": ("lat", LAT, {"units": "degrees_north"}),
        "lon": ("lon", LON, {"units": "degrees_east"}),
    }
    scale = np.ones((1, 1))
    if levels is not None:
        dims = ("time", "level", "lat", "lon")
        shape = (2, levels.size, LAT.size, LON.size)
        coords["level"] = ("level", levels, {"units": "hPa"})
        scale = (1000 / levels[:, None, None]) ** 0.3
    data = {
        k: (dims, (v * scale + 0.01 * rng.standard_normal(shape)).astype(dtype), {"units": u})
        for k, (v, u) in base.items()
    }
    return xr.Dataset(data, coords=coords)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The dataset in zarr, opened lazily: reads are task objects, as in a run."""
    path = tmp_path_factory.mktemp("kinperf") / "in.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset().chunk(CHUNKS).to_zarr(path)
        return xr.open_zarr(path)


def tasks(*outs):
    """The tasks of the graph of ``outs`` (DataArrays or dask arrays), merged."""
    graph = {}
    for o in outs:
        data = getattr(o, "data", o)
        graph.update(dict(data.__dask_graph__()))
    return graph


def kernels(graph, name):
    pattern = re.compile(rf"^{name}-[0-9a-f]+$")
    return [k for k in graph if isinstance(k, tuple) and pattern.match(str(k[0]))]


def kernel_layers(graph):
    """The names of the deformation kernels' layers in ``graph`` (not their getitems')."""
    pattern = re.compile(r"^(\w*deformation)-[0-9a-f]+$")
    return {m[1] for k in graph if isinstance(k, tuple) and (m := pattern.match(str(k[0])))}


def each(out):
    return out if isinstance(out, tuple) else (out,)


# --- the latitude of f: no task of its own, no ghost planes ----------------------------------


def test_coriolis_latitude_adds_no_task_to_the_operators_graph(stored):
    """f needs the latitude but no derivative of it: absolute vorticity has exactly the tasks
    of vorticity of the same wind; the geostrophic wind those of the gradient of the height
    along the same two dims (on chunks this small, as gradient, a task per output and chunk:
    core/graph.py's parts); the ageostrophic wind those of advection of the height by the
    wind plus one task per chunk (two outputs, where advection's one is the kernel's)."""
    ds, n = stored, stored.u.data.npartitions
    pairs = [
        (
            daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True),
            daskgrad.vorticity(ds.u, ds.v, geospatial=True),
            0,
        ),
        (  # one field read once, a task per output and chunk
            daskgrad.geostrophic_wind(ds.z, geospatial=True),
            daskgrad.gradient(ds.z, dim=["lon", "lat"]),
            0,
        ),
        (
            daskgrad.ageostrophic_wind(ds.z, ds.u, ds.v, geospatial=True),
            daskgrad.advection(ds.z, ds.u, ds.v, geospatial=True),
            n,  # two outputs, a task each, where advection's one output is the kernel's task
        ),
    ]
    for ours, peer, extra in pairs:
        assert len(tasks(*each(ours))) == len(tasks(*each(peer))) + extra, (
            each(ours)[0].name,
            len(tasks(*each(ours))) / n,
            len(tasks(*each(peer))) / n,
        )


def test_latitude_as_an_array_adds_no_task():
    """Arrays with ``latitude=`` (a column of radians): absolute vorticity has the tasks of
    its wind's vorticity; values against numpy.gradient."""
    ds = dataset().chunk(CHUNKS)
    u, v = ds.u.data, ds.v.data
    lat = np.radians(LAT)[:, None]
    ours = daskgrad.absolute_vorticity(u, v, latitude=lat, spacing=[1e5, 1e5])
    peer = daskgrad.vorticity(u, v, spacing=[1e5, 1e5])
    assert len(tasks(ours)) == len(tasks(peer))
    f = 2 * 7.292115e-5 * np.sin(lat)
    ref = (np.gradient(v.compute(), 1e5, axis=-1) - np.gradient(u.compute(), 1e5, axis=-2)) + f
    np.testing.assert_allclose(ours.compute()[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=1e-12)


def test_potential_vorticity_latitude_adds_no_task(tmp_path):
    """PV of (theta, u, v) on levels: the tasks of the gradient of the three over the same
    three dims read together, less the getitems of that gradient's outputs."""
    levels = np.array([1000.0, 850.0, 700.0, 500.0])
    path = tmp_path / "pv.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset(levels).chunk({**CHUNKS, "level": 2}).to_zarr(path)
        ds = xr.open_zarr(path)
    n = ds.u.data.npartitions
    pv = daskgrad.potential_vorticity_baroclinic(
        ds.theta, ds.level, ds.u, ds.v, vertical_dim="level", geospatial=True
    )
    graph = tasks(pv)
    assert len(kernels(graph, "potential_vorticity")) == n
    # per chunk: the read of theta, u and v together, the copy of their ghost planes, the kernel
    assert len(graph) <= 3 * n + 3, len(graph) / n  # + the three stores


# --- the three deformations: one task per chunk -----------------------------------------------


def oracle_deformations(u, v, dx, dy):
    dudx, dudy = np.gradient(u, dx, axis=-1), np.gradient(u, dy, axis=-2)
    dvdx, dvdy = np.gradient(v, dx, axis=-1), np.gradient(v, dy, axis=-2)
    shear, stretch = dvdx + dudy, dudx - dvdy
    return shear, stretch, np.hypot(shear, stretch)


def test_three_deformations_of_one_wind_share_one_task_per_chunk():
    """Within deformations_shared() (what --deformation uses) the public functions take their
    outputs from one kernel; outside it each has its own, computing only itself."""
    from daskgrad.core.kinematics import deformations_shared

    ds = dataset().chunk(CHUNKS)
    u, v = ds.u.data, ds.v.data
    n = u.npartitions
    names = ("shearing_deformation", "stretching_deformation", "total_deformation")
    alone = [getattr(daskgrad, k)(u, v, spacing=[4e5, 3e5]) for k in names]
    assert len(kernel_layers(tasks(*alone))) == 3
    with deformations_shared():
        outs = [getattr(daskgrad, k)(u, v, spacing=[4e5, 3e5]) for k in names]
    graph = tasks(*outs)
    assert len(kernel_layers(graph)) == 1, sorted(kernel_layers(graph))
    assert len(kernels(graph, kernel_layers(graph).pop())) == n
    computed = dask.compute(*outs)
    ref = oracle_deformations(ds.u.values, ds.v.values, 4e5, 3e5)
    inner = (..., slice(1, -1), slice(1, -1))
    for got, lone, want in zip(computed, dask.compute(*alone), ref, strict=True):
        np.testing.assert_array_equal(got, lone)
        np.testing.assert_allclose(got[inner], want[inner], rtol=1e-12, atol=1e-18)


def test_deformation_flag_computes_its_three_outputs_in_one_task_per_chunk(stored):
    """``daskgrad run --deformation u,v``'s job: one kernel task per chunk writes the three."""
    from daskgrad.cli.app import _request
    from daskgrad.cli.parser import build_parser
    from daskgrad.cli.pipeline import prepare

    args = build_parser().parse_args(
        ["run", "in.zarr", "out.zarr", "--geospatial", "--deformation", "u,v"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = prepare(stored, args.dim, args.var, request=_request(args))
    n = stored.u.data.npartitions
    outs = [job.result[k].data for k in ("shear_def_u_v", "stretch_def_u_v", "total_def_u_v")]
    graph = tasks(*outs)
    assert len(kernel_layers(graph)) == 1, sorted(kernel_layers(graph))
    assert len(kernels(graph, kernel_layers(graph).pop())) == n
    ref = [
        f(stored.u.compute(), stored.v.compute(), geospatial=True).values
        for f in (
            daskgrad.shearing_deformation,
            daskgrad.stretching_deformation,
            daskgrad.total_deformation,
        )
    ]
    for got, want in zip(dask.compute(*outs), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


# --- tasks per chunk of every function ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "advection",
        "shearing_deformation",
        "stretching_deformation",
        "total_deformation",
        "absolute_vorticity",
        "frontogenesis",
        "geostrophic_wind",
        "ageostrophic_wind",
    ],
)
def test_tasks_per_chunk(stored, name):
    """Per chunk: one read of every input, one copy of their ghost planes, one kernel, and a
    getitem per output where there are several (the geostrophic wind of one input: no read
    task, the store's own read is the planes' input)."""
    ds, n = stored, stored.u.data.npartitions
    args = {
        "advection": (ds.theta, ds.u, ds.v),
        "frontogenesis": (ds.theta, ds.u, ds.v),
        "geostrophic_wind": (ds.z,),
        "ageostrophic_wind": (ds.z, ds.u, ds.v),
    }.get(name, (ds.u, ds.v))
    outs = each(getattr(daskgrad, name)(*args, geospatial=True))
    graph = tasks(*outs)
    per_chunk = 3 + (len(outs) if len(outs) > 1 else 0)
    assert len(graph) <= per_chunk * n + 4, (name, len(graph) / n, per_chunk)
