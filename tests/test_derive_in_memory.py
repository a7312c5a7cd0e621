"""The kinematics engine (core/derivatives.derive) on dask input already in memory takes the
path of ``daskgrad.gradient`` (issue 22.5): kernels take their neighbours' whole chunks (no
tasks copying ghost planes) and, where the outputs are independent (the geostrophic and
ageostrophic wind), each output has one task per chunk, from the chunk and its neighbours
along its own dim. Chunks still to compute (a zarr store) or not in this process's memory keep
one kernel per chunk fed with ghost planes (the out-of-core memory rule). Values against numpy,
MetPy and analytic oracles on both paths; laziness, float32, nan_policy="omit".
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from dask.callbacks import Callback
from dask.highlevelgraph import HighLevelGraph

import daskgrad
from daskgrad.core.graph import WHOLE_NEIGHBOURS_BYTES

G, OMEGA = 9.80665, 7.292115e-5
SHAPE = (4, 120, 160)
CHUNKS = ((2, 2), (60, 60), (80, 80))  # 76800 bytes of float64 each: not tiny
DX, DY = 1500.0, 2500.0
LAT = np.radians(np.linspace(20, 70, SHAPE[1]))  # along y
CORIOLIS = 2 * OMEGA * np.sin(LAT)[:, None]


def persisted(f: np.ndarray, chunks=CHUNKS) -> da.Array:
    """Chunks that own their memory, held in the graph (as the benchmark's)."""
    x = da.from_array(f, chunks=chunks).map_blocks(np.ascontiguousarray)
    return x.persist(scheduler="sync")


def fields(dtype=np.float64, seed=20):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : SHAPE[1], 0 : SHAPE[2]] / 20.0
    t = np.arange(SHAPE[0])[:, None, None]
    z = 5500 + 40 * np.sin(y + t) * np.cos(0.7 * x) + rng.standard_normal(SHAPE)
    u = 10 * np.cos(0.5 * x - t) + rng.standard_normal(SHAPE)
    v = 5 * np.sin(0.3 * y) * np.cos(x) + rng.standard_normal(SHAPE)
    s = 280 + 5 * np.sin(x + y) + rng.standard_normal(SHAPE)
    return tuple(a.astype(dtype) for a in (z, u, v, s))


def graph_of(outs) -> HighLevelGraph:
    return HighLevelGraph.merge(*[o.__dask_graph__() for o in outs])


def n_tasks(outs) -> int:
    return len(dict(graph_of(outs)))


def plane_tasks(outs) -> list:
    """The keys of the tasks copying ghost planes."""
    return [k for k in dict(graph_of(outs)) if "planes" in k[0]]


def dx(f, axis, h, edge_order=1):
    return np.gradient(f.astype(np.float64), h, axis=axis, edge_order=edge_order)


def geostrophic_oracle(z, edge_order=1):
    return -G / CORIOLIS * dx(z, 1, DY, edge_order), G / CORIOLIS * dx(z, 2, DX, edge_order)


def call(kind, arrays, **options):
    """``daskgrad.<kind>`` on ``arrays`` (z, u, v, s), Cartesian spacing DX, DY, f at LAT."""
    z, u, v, s = arrays
    opts = {"spacing": [DX, DY], **options}
    f = {"latitude": LAT[:, None]}
    out = {
        "geostrophic_wind": lambda: daskgrad.geostrophic_wind(z, **f, **opts),
        "ageostrophic_wind": lambda: daskgrad.ageostrophic_wind(z, u, v, **f, **opts),
        "advection": lambda: daskgrad.advection(s, u, v, **opts),
        "shearing_deformation": lambda: daskgrad.shearing_deformation(u, v, **opts),
        "total_deformation": lambda: daskgrad.total_deformation(u, v, **opts),
        "absolute_vorticity": lambda: daskgrad.absolute_vorticity(u, v, **f, **opts),
        "frontogenesis": lambda: daskgrad.frontogenesis(s, u, v, **opts),
    }[kind]()
    return out if isinstance(out, tuple) else (out,)


def oracle(kind, arrays, edge_order=1):
    """numpy.gradient and MetPy's definitions (Cartesian: no metric term)."""
    z, u, v, s = (a.astype(np.float64) for a in arrays)

    def d(f, a):
        return dx(f, 2 - a, (DX, DY)[a], edge_order)  # a = 0: x, 1: y

    if kind == "geostrophic_wind":
        return geostrophic_oracle(z, edge_order)
    if kind == "ageostrophic_wind":
        ug, vg = geostrophic_oracle(z, edge_order)
        return u - ug, v - vg
    if kind == "advection":
        return (-(u * d(s, 0) + v * d(s, 1)),)
    if kind == "shearing_deformation":
        return (d(v, 0) + d(u, 1),)
    if kind == "total_deformation":
        return (np.hypot(d(v, 0) + d(u, 1), d(u, 0) - d(v, 1)),)
    if kind == "absolute_vorticity":
        return (d(v, 0) - d(u, 1) + CORIOLIS,)
    if kind == "frontogenesis":  # MetPy's Petterssen form, with its angles
        sx, sy = d(s, 0), d(s, 1)
        shear, stretch = d(v, 0) + d(u, 1), d(u, 0) - d(v, 1)
        tdef = np.hypot(shear, stretch)
        psi = 0.5 * np.arctan2(shear, stretch)
        beta = np.arcsin((-sx * np.cos(psi) - sy * np.sin(psi)) / np.hypot(sx, sy))
        return (0.5 * np.hypot(sx, sy) * (tdef * np.cos(2 * beta) - (d(u, 0) + d(v, 1))),)
    raise ValueError(kind)


def assert_close(got, want, dtype=np.float64):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for g, w in zip(got, want, strict=True):
        assert g.dtype == dtype
        scale = np.nanmax(np.abs(w))
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, equal_nan=True)


WINDS = ("geostrophic_wind", "ageostrophic_wind")
ONE_KERNEL = (
    "advection",
    "shearing_deformation",
    "total_deformation",
    "absolute_vorticity",
    "frontogenesis",
)
INPUTS = {
    "geostrophic_wind": (0,),
    "ageostrophic_wind": (0, 1, 2),
    "advection": (3, 1, 2),
    "shearing_deformation": (1, 2),
    "total_deformation": (1, 2),
    "absolute_vorticity": (1, 2),
    "frontogenesis": (3, 1, 2),
}


@pytest.mark.parametrize("kind", WINDS)
def test_geostrophic_in_memory_one_task_per_output_chunk(kind):
    """As gradient's in-memory path: the inputs, and one task per output chunk (no planes,
    no kernel behind getitems), each output's tasks reading the inputs alone."""
    arrays = fields()
    assert 2 * 60 * 80 * 8 > WHOLE_NEIGHBOURS_BYTES  # the chunks are not tiny
    xs = [persisted(a) for a in arrays]
    nchunks = xs[0].npartitions
    outs = call(kind, xs)
    n_in = len(INPUTS[kind])
    assert n_tasks(outs) == (n_in + len(outs)) * nchunks
    graph = graph_of(outs)
    assert not plane_tasks(outs)
    assert not [n for n in graph.layers if "-out" in n]
    names = {xs[j].name for j in INPUTS[kind]}
    for o in outs:
        assert graph.dependencies[o.name] <= names
    assert_close(dask.compute(*outs), oracle(kind, arrays))


@pytest.mark.parametrize("kind", ONE_KERNEL)
def test_in_memory_kernels_take_whole_neighbours(kind):
    """One output: one kernel task per chunk, taking its neighbours' whole chunks (no task
    copying planes)."""
    arrays = fields()
    xs = [persisted(a) for a in arrays]
    outs = call(kind, xs)
    n_in = len(INPUTS[kind])
    assert not plane_tasks(outs)
    assert n_tasks(outs) == (n_in + 1) * xs[0].npartitions
    assert_close(dask.compute(*outs), oracle(kind, arrays))


@pytest.mark.parametrize("kind", ["geostrophic_wind", "ageostrophic_wind", "advection"])
def test_stored_zarr_input_keeps_ghost_plane_tasks(kind, tmp_path):
    """Chunks read from a store: one kernel per chunk, fed with planes copied by tasks (one
    per chunk: several inputs are read together), each chunk read once."""
    arrays = fields()
    xs = []
    for j, a in enumerate(arrays):
        da.from_array(a, chunks=CHUNKS).to_zarr(str(tmp_path / f"{j}.zarr"))
        xs.append(da.from_zarr(str(tmp_path / f"{j}.zarr")))
    outs = call(kind, xs)
    nchunks = xs[0].npartitions
    assert len(plane_tasks(outs)) == nchunks
    keys = [k[0] for k in dict(graph_of(outs)) if k[0].startswith(kind)]
    kernels = {n for n in keys if "-out" not in n and "planes" not in n}
    assert len(kernels) == 1
    assert keys.count(kernels.pop()) == nchunks
    assert_close(dask.compute(*outs), oracle(kind, arrays))


def test_in_memory_chunks_on_the_processes_scheduler_keep_plane_tasks():
    """Each task would be sent its chunk and its neighbours' whole: planes are copied once."""
    arrays = fields()
    xs = [persisted(a) for a in arrays]
    with dask.config.set(scheduler="processes"):
        outs = call("geostrophic_wind", xs)
    assert len(plane_tasks(outs)) == xs[0].npartitions
    with dask.config.set(scheduler="sync"):
        assert_close(dask.compute(*outs), oracle("geostrophic_wind", arrays))


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", [*WINDS, "advection"])
def test_in_memory_values_and_dtype(kind, dtype, edge_order):
    """float32 stays float32 (its chunks are in memory in the plan's dtype: the same path)."""
    arrays = fields(dtype)
    chunks = ((2, 2), (60, 60), (160,))  # float32 chunks above WHOLE_NEIGHBOURS_BYTES too
    xs = [persisted(a, chunks) for a in arrays]
    outs = call(kind, xs, edge_order=edge_order)
    assert not plane_tasks(outs)
    assert_close(dask.compute(*outs), oracle(kind, arrays, edge_order), dtype)


@pytest.mark.parametrize("kind", WINDS)
def test_in_memory_geostrophic_matches_metpy(kind):
    """MetPy's geostrophic and ageostrophic wind on a Cartesian grid (dx, dy given, its
    second-order one-sided edges): rtol 1e-10."""
    mc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    z, u, v, s = fields()
    xs = [persisted(a) for a in (z, u, v, s)]
    got = dask.compute(*call(kind, xs, edge_order=2))
    la = np.broadcast_to(LAT[:, None], SHAPE[1:]) * units.radian
    dxq, dyq = DX * units.m, DY * units.m
    if kind == "geostrophic_wind":
        ref = mc.geostrophic_wind(z * units.m, dx=dxq, dy=dyq, latitude=la)
    else:
        ms = units("m/s")
        ref = mc.ageostrophic_wind(z * units.m, u * ms, v * ms, dx=dxq, dy=dyq, latitude=la)
    for g, r in zip(got, ref, strict=True):
        r = r.to("m/s").magnitude
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10 * np.abs(r).max())


class _RaiseOnCompute(Callback):
    def _start(self, dsk):
        raise AssertionError("computed while building the graph")


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("the scheduler ran while building the graph")


@pytest.mark.parametrize("kind", [*WINDS, "advection", "frontogenesis"])
def test_in_memory_construction_is_lazy(kind):
    """Deciding the path computes nothing: no compute on the threaded scheduler (the
    in-memory path) nor with a scheduler that raises (the path with planes)."""
    arrays = fields()
    xs = [persisted(a) for a in arrays]
    with dask.config.set(scheduler="threads"), _RaiseOnCompute():
        outs = call(kind, xs)
    assert not plane_tasks(outs)
    with dask.config.set(scheduler=_raising_scheduler):
        planned = call(kind, xs)
    assert plane_tasks(planned)
    for got in (dask.compute(*outs), dask.compute(*planned, scheduler="sync")):
        assert_close(got, oracle(kind, arrays))


def omit_gradient(f: np.ndarray, h: float, axis: int) -> np.ndarray:
    """numpy.gradient on every run of finite values along ``axis``, NaN in a hole and on a
    run of one point: what nan_policy="omit" is at accuracy 2 with ``edge_order=1``, the
    array's own edges first-order one-sided, a hole's edges second-order (the highest order
    the run allows, DESIGN.md)."""
    f = np.moveaxis(f.astype(np.float64), axis, -1)
    out = np.full_like(f, np.nan)
    for idx in np.ndindex(f.shape[:-1]):
        line, ok = f[idx], np.isfinite(f[idx])
        i, n = 0, line.size
        while i < n:
            if not ok[i]:
                i += 1
                continue
            j = i
            while j < n and ok[j]:
                j += 1
            if j - i >= 2:
                run = np.gradient(line[i:j], h)
                if j - i >= 3:
                    second = np.gradient(line[i:j], h, edge_order=2)
                    run[0] = run[0] if i == 0 else second[0]
                    run[-1] = run[-1] if j == n else second[-1]
                out[idx][i:j] = run
            i = j
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("kind", WINDS)
def test_in_memory_nan_omit(kind):
    """NaN holes, across chunk boundaries, with nan_policy="omit": one-sided stencils at the
    holes' edges as numpy.gradient on each run of finite values."""
    z, u, v, s = fields()
    z[0, 58:62, 10] = np.nan  # across the y boundary
    z[1, 30, 79:82] = np.nan  # across the x boundary
    z[3, 100, 120] = np.nan
    z[2, 59, 40:43] = np.nan
    z[2, 61, 41] = np.nan  # a run of one point along y at (2, 60, 41)
    xs = [persisted(a) for a in (z, u, v, s)]
    outs = call(kind, xs, nan_policy="omit")
    assert not plane_tasks(outs)
    ug = -G / CORIOLIS * omit_gradient(z, DY, 1)
    vg = G / CORIOLIS * omit_gradient(z, DX, 2)
    want = (ug, vg) if kind == "geostrophic_wind" else (u - ug, v - vg)
    assert_close(dask.compute(*outs), want)
    assert np.isnan(want[0][2, 60, 41]) and np.isnan(dask.compute(outs[0])[0][2, 60, 41])


def test_in_memory_potential_vorticity_along_a_pressure_field():
    """PV of a rest state, θ quadratic in a pressure that varies by column (derivatives along
    the field, per point): −g f ∂θ/∂p, exact for the second-order stencils, on chunks in
    memory without plane tasks, as on chunks still to compute with them."""
    nz, ny, nx = 8, 60, 160
    chunks = ((4, 4), (30, 30), (80, 80))  # 76800 bytes: not tiny
    levels = np.linspace(100000.0, 30000.0, nz)[:, None, None]
    yy, xx = np.mgrid[0:ny, 0:nx] / 10.0
    p = levels * (1 + 0.02 * np.sin(xx) * np.cos(yy))
    theta = 300 - 4e-4 * p + 2e-9 * p**2
    zero = np.zeros_like(p)
    lat = np.radians(np.linspace(30, 60, ny))[:, None]
    want = -G * 2 * OMEGA * np.sin(lat) * (-4e-4 + 4e-9 * p)

    def pv(arrays):
        t, pr, u, v = arrays
        return daskgrad.potential_vorticity_baroclinic(
            t, pr, u, v, vertical_dim=0, latitude=lat, spacing=[DX, DY], edge_order=2
        )

    mem = pv([persisted(a, chunks) for a in (theta, p, zero, zero)])
    assert not plane_tasks([mem])
    lazy = pv([da.from_array(a, chunks=chunks).map_blocks(np.ascontiguousarray)
               for a in (theta, p, zero, zero)])  # fmt: skip
    assert plane_tasks([lazy])
    for got in dask.compute(mem, lazy):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
