"""`daskgrad run` with the kinematic flags (--advection, --deformation, --absolute-vorticity,
--frontogenesis, --geostrophic, --ageostrophic, --potential-vorticity, --q-vector) and the
operators: each output equals the Python API's on the same data (and MetPy's where cheap),
any combination is one pass that reads each input chunk once (counted at the store and at
moto's S3 server), and a bad flag exits 2 in one line naming it."""

from __future__ import annotations

import collections
import logging
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

sys.path.insert(0, str(Path(__file__).parent))

import daskgrad  # noqa: E402
from daskgrad.cli import main  # noqa: E402

LEVELS = np.array([500.0, 700.0, 850.0])


def era5(seed=0, dtype="float32"):
    """ERA5-like pressure-level data: time × level × latitude (descending) × longitude on a
    global 3° grid to ±60°, u, v, w, t, theta and geopotential z with ERA5's units."""
    rng = np.random.default_rng(seed)
    lat, lon = np.arange(60.0, -61, -3.0), np.arange(0.0, 360, 3.0)
    shape = (2, LEVELS.size, lat.size, lon.size)
    p = LEVELS[None, :, None, None]
    phi = np.radians(lat)[None, None, :, None]
    lam = np.radians(lon)[None, None, None, :]

    def noise(scale):
        return scale * rng.standard_normal(shape)

    u = 20 * np.cos(phi) ** 2 * (1000 / p) ** 0.5 + 3 * np.sin(2 * lam) + noise(1)
    v = 5 * np.sin(3 * lam) * np.cos(phi) + noise(1)
    t = 300 - 40 * np.sin(phi) ** 2 - 0.05 * (1000 - p) + 2 * np.cos(lam) + noise(0.5)
    theta = t * (1000 / p) ** 0.2857
    z = 9.80665 * (5500 + 2 * (1000 - p) - 300 * np.sin(phi) ** 2 + 20 * np.sin(lam)) + noise(5)
    w = 0.1 * np.sin(lam) * np.cos(phi) + noise(0.02)
    dims = ("time", "level", "latitude", "longitude")

    def var(a, units, name):
        return (dims, a.astype(dtype), {"units": units, "long_name": name})

    return xr.Dataset(
        {
            "u": var(u, "m s**-1", "U component of wind"),
            "v": var(v, "m s**-1", "V component of wind"),
            "w": var(w, "Pa s**-1", "Vertical velocity"),
            "t": var(t, "K", "Temperature"),
            "theta": var(theta, "K", "Potential temperature"),
            "z": var(z, "m**2 s**-2", "Geopotential"),
        },
        coords={
            "time": np.datetime64("2024-01-01") + np.arange(2) * np.timedelta64(6, "h"),
            "level": ("level", LEVELS, {"units": "hPa", "long_name": "pressure level"}),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )


CHUNKS = {"time": 1, "level": 1, "latitude": 21, "longitude": 60}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("era5") / "in.zarr"
    era5().chunk(CHUNKS).to_zarr(path)
    return path


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    """The session's external cluster (tests/conftest.py: two worker processes of one thread
    and 1 GiB) for the module's runs."""
    return ["--scheduler-file", str(dask_cluster), "--no-progress"]


def run(capsys, *args):
    """``daskgrad run ARGS`` in this process: (exit status, stdout, stderr)."""
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


GEO = dict(geospatial=True)

# flag, its argument, --vertical, the API's outputs of the same inputs
FLAGS = {
    "advection": (
        ["--advection", "t:u,v"],
        lambda s: [daskgrad.advection(s.t, s.u, s.v, **GEO)],
    ),
    "advection_w": (
        ["--advection", "t:u,v,w", "--vertical", "level"],
        lambda s: [daskgrad.advection(s.t, s.u, s.v, s.w, vertical_dim="level", **GEO)],
    ),
    "deformation": (
        ["--deformation", "u,v"],
        lambda s: [
            daskgrad.shearing_deformation(s.u, s.v, **GEO),
            daskgrad.stretching_deformation(s.u, s.v, **GEO),
            daskgrad.total_deformation(s.u, s.v, **GEO),
        ],
    ),
    "absolute_vorticity": (
        ["--absolute-vorticity", "u,v"],
        lambda s: [daskgrad.absolute_vorticity(s.u, s.v, **GEO)],
    ),
    "frontogenesis": (
        ["--frontogenesis", "theta:u,v"],
        lambda s: [daskgrad.frontogenesis(s.theta, s.u, s.v, **GEO)],
    ),
    "geostrophic": (
        ["--geostrophic", "z"],
        lambda s: list(daskgrad.geostrophic_wind(s.z, **GEO)),
    ),
    "ageostrophic": (
        ["--ageostrophic", "z:u,v"],
        lambda s: list(daskgrad.ageostrophic_wind(s.z, s.u, s.v, **GEO)),
    ),
    "potential_vorticity": (
        ["--potential-vorticity", "theta:u,v", "--vertical", "level"],
        lambda s: [
            daskgrad.potential_vorticity_baroclinic(
                s.theta, s.level, s.u, s.v, vertical_dim="level", **GEO
            )
        ],
    ),
    "q_vector": (
        ["--q-vector", "t:u,v", "--vertical", "level"],
        lambda s: list(daskgrad.q_vector(s.u, s.v, s.t, s.level, **GEO)),
    ),
}


@pytest.mark.parametrize("which", list(FLAGS))
def test_each_flag_equals_the_api(which, store, cluster, tmp_path, capsys):
    args, api = FLAGS[which]
    out = tmp_path / "out.zarr"
    code, stdout, err = run(capsys, store, out, "--geospatial", *args, *cluster)
    assert code == 0, err
    got = xr.open_zarr(out)
    refs = api(xr.open_zarr(store))
    assert sorted(got.data_vars) == sorted(r.name for r in refs)
    for ref in refs:
        np.testing.assert_array_equal(got[ref.name].values, ref.values)
        assert got[ref.name].attrs == {k: v for k, v in ref.attrs.items()}, ref.name
        assert got[ref.name].dtype == np.float32


def test_cartesian_flags_equal_the_api_and_metpy(tmp_path, capsys, cluster):
    """On x/y in metres, --dim x --dim y: MetPy's values with dx, dy given (edge order 2)."""
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    ds = era5(3, "float64").isel(time=0, level=1).rename(latitude="y", longitude="x")
    ds = ds.assign_coords(
        x=("x", 1e5 * np.arange(ds.x.size), {"units": "m"}),
        y=("y", 1e5 * np.arange(ds.y.size), {"units": "m"}),
    )
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"y": 21, "x": 60}).to_zarr(inp)
    code, _, err = run(
        capsys, inp, out, "--dim", "x", "--dim", "y", "--edge-order", "2",
        "--deformation", "u,v", "--frontogenesis", "theta:u,v", "--advection", "t:u,v",
        *cluster,
    )  # fmt: skip
    assert code == 0, err
    got = xr.open_zarr(out)
    src = xr.open_zarr(inp)
    opts = dict(dims=["x", "y"], edge_order=2)
    ours = {
        "adv": daskgrad.advection(src.t, src.u, src.v, **opts),
        "fgen": daskgrad.frontogenesis(src.theta, src.u, src.v, **opts),
        "total": daskgrad.total_deformation(src.u, src.v, **opts),
    }
    for ref in ours.values():
        np.testing.assert_array_equal(got[ref.name].values, ref.values)
    q = {n: units.Quantity(ds[n].values, ds[n].attrs["units"]) for n in ("u", "v", "t", "theta")}
    d = dict(dx=1e5 * units.m, dy=1e5 * units.m)
    metpy = {
        "adv": mpcalc.advection(q["t"], q["u"], q["v"], **d),
        "fgen": mpcalc.frontogenesis(q["theta"], q["u"], q["v"], **d),
        "total": mpcalc.total_deformation(q["u"], q["v"], **d),
    }
    for key, ref in metpy.items():
        mine = got[ours[key].name].values
        scale = float(np.max(np.abs(ref.magnitude)))
        np.testing.assert_allclose(mine, ref.magnitude, rtol=0, atol=1e-10 * scale)


def test_operators_through_the_table_equal_the_api(store, cluster, tmp_path, capsys):
    out = tmp_path / "out.zarr"
    code, stdout, err = run(
        capsys, store, out, "--geospatial", "--var", "t", "--vorticity", "u,v",
        "--divergence", "v,u", "--laplacian", "u", "--accuracy", "4", *cluster,
    )  # fmt: skip
    assert code == 0, err
    assert "5 arrays (accuracy 4" in stdout
    got, src = xr.open_zarr(out), xr.open_zarr(store)
    opts = dict(geospatial=True, accuracy=4)
    refs = [
        daskgrad.vorticity(src.u, src.v, **opts),
        daskgrad.divergence(src.v, src.u, **opts),
        daskgrad.laplacian(src.u, **opts),
        *daskgrad.geospatial_gradient(src.t, accuracy=4),
    ]
    assert sorted(got.data_vars) == sorted(r.name for r in refs)
    for ref in refs:
        np.testing.assert_array_equal(got[ref.name].values, ref.values)


def _chunk_reads(gets):
    """{key: reads} of the data chunks (zarr 3: VAR/c/i/j/…), not metadata or coordinates."""
    data = ("u/", "v/", "w/", "t/", "theta/", "z/")
    return {k: n for k, n in gets.items() if k.startswith(data) and "/c/" in k}


OPERATORS = ["--vorticity", "u,v", "--divergence", "v,u", "--laplacian", "u"]
HORIZONTAL = [
    "--advection", "t:u,v", "--deformation", "u,v", "--absolute-vorticity", "u,v",
    "--frontogenesis", "theta:u,v", "--geostrophic", "z", "--ageostrophic", "z:u,v",
]  # fmt: skip
KINEMATICS = [
    *HORIZONTAL, "--advection", "theta:u,v,w", "--potential-vorticity", "theta:u,v",
    "--q-vector", "t:u,v", "--vertical", "level",
]  # fmt: skip


def _request(argv):
    from daskgrad.cli.app import _request
    from daskgrad.cli.parser import build_parser

    args = build_parser().parse_args(["run", "in.zarr", "out.zarr", *argv])
    return args, _request(args)


@pytest.mark.parametrize(
    "argv",
    [
        ["--dim", "longitude", "--dim", "latitude", "--var", "u", *OPERATORS],
        ["--geospatial", "--var", "u", "--var", "t", *OPERATORS],
        ["--geospatial", "--var", "u", *OPERATORS, *HORIZONTAL],
        ["--geospatial", "--var", "t", *OPERATORS, *KINEMATICS],
    ],
    ids=["cartesian-operators", "geospatial-operators", "horizontal", "everything"],
)
def test_one_pass_reads_each_input_chunk_once(store, argv):
    """The job a run computes, on a store that counts its reads: every stored chunk of every
    input read exactly once, however many outputs use it."""
    import dask

    from daskgrad.cli.pipeline import prepare

    from .counting_store import counting_store

    args, request = _request(argv)
    counting = counting_store(store)
    ds = xr.open_zarr(counting)
    counting.gets.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = prepare(ds, args.dim, args.var, request=request)
    with dask.config.set(scheduler="sync"):
        job.result.compute()
    reads = _chunk_reads(counting.gets)
    used = job.source.data_vars
    chunks = sum(int(np.prod(ds[n].data.numblocks)) for n in used)
    assert len(reads) == chunks, (len(reads), chunks)
    assert set(reads.values()) == {1}, collections.Counter(reads.values())


def test_every_flag_in_one_run_reads_each_object_once(capsys, hermetic_aws, cluster):
    """All the flags and gradients in one run on a cluster, INPUT on moto's S3 server: the
    server answers one GET per stored chunk of each input."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    import s3_server

    server = s3_server.start()
    try:
        server.make_bucket("kin")
        ds = era5().isel(time=slice(0, 1))
        ds.chunk(CHUNKS).to_zarr("s3://kin/in.zarr", storage_options=server.options())
        lines: list[str] = []

        class Log(logging.Handler):
            def emit(self, record):
                lines.append(record.getMessage())

        log = logging.getLogger("werkzeug")
        handler, level = Log(), log.level
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            code, out, err = run(
                capsys, "s3://kin/in.zarr", "s3://kin/out.zarr", "--geospatial", "--var", "u",
                *OPERATORS, *KINEMATICS, *server.cli_options(), *cluster,
            )  # fmt: skip
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
        assert code == 0, err
        get = re.compile(r'"GET /kin/in\.zarr/(\S+) HTTP')
        gets = collections.Counter(m[1] for line in lines if (m := get.search(line)))
        reads = _chunk_reads(gets)
        n_chunks = 3 * 2 * 2  # level, latitude (41 in 21s), longitude (120 in 60s)
        assert len(reads) == 6 * n_chunks, sorted(reads)
        assert set(reads.values()) == {1}, collections.Counter(reads.values())
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--advection", "t"], "argument --advection: expected S:U,V[,W]; got 't'"),
        (["--advection", "t:u"], "argument --advection: expected S:U,V[,W]; got 't:u'"),
        (["--deformation", "u"], "argument --deformation: expected two variable names U,V"),
        (["--frontogenesis", "u,v"], "argument --frontogenesis: expected THETA:U,V; got 'u,v'"),
        (["--geostrophic", "z,u"], "argument --geostrophic: expected one variable name Z"),
        (["--q-vector", "t:u,u"], "argument --q-vector: a variable named twice in 't:u,u'"),
        (["--frontogenesis", "th:u,v"], "argument --frontogenesis: unknown variable 'th'"),
        (
            ["--potential-vorticity", "theta:u,v"],
            "argument --potential-vorticity: theta:u,v needs --vertical DIM",
        ),
        (["--advection", "t:u,v,w"], "argument --advection: t:u,v,w needs --vertical DIM"),
        (["--deformation", "u,v", "--vertical", "level"], "argument --vertical: goes with"),
        (["--advection", "t:u,v,w", "--vertical", "height"], "unknown dim 'height'"),
        (["--ageostrophic", "zs:u,v"], "argument --ageostrophic: variables 'zs'"),
    ],
)
def test_bad_flags_exit_2_in_one_line(args, message, store, tmp_path, capsys):
    inp = store
    if any("zs" in a for a in args):  # a surface field beside pressure-level winds
        inp = tmp_path / "in.zarr"
        ds = era5()
        ds["zs"] = ds.z.isel(level=0, drop=True)
        ds.to_zarr(inp)
    out = tmp_path / "out.zarr"
    code, stdout, err = run(capsys, inp, out, "--geospatial", *args, "--workers", "1")
    assert code == 2, (stdout, err)
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and "cluster" not in stdout


def test_cartesian_flags_need_two_dims_and_the_vertical_is_not_one(store, tmp_path, capsys):
    out = tmp_path / "out.zarr"
    for args, message in [
        (["--dim", "longitude", "--frontogenesis", "theta:u,v"],
         "argument --frontogenesis theta:u,v: frontogenesis needs --dim (x, y), two dim names; "
         "got --dim ['longitude']"),
        (["--dim", "longitude", "--dim", "level", "--advection", "t:u,v,w", "--vertical",
          "level"], "argument --vertical: 'level' is a --dim too"),
    ]:  # fmt: skip
        code, stdout, err = run(capsys, store, out, *args, "--workers", "1")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_q_vector_finds_a_single_level_pressure(tmp_path, capsys, cluster):
    """On one pressure level (a 0-d level coordinate) --q-vector needs no --vertical."""
    ds = era5().isel(level=1)
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 1}).to_zarr(inp)
    code, _, err = run(capsys, inp, out, "--geospatial", "--q-vector", "t:u,v", *cluster)
    assert code == 0, err
    src = xr.open_zarr(inp)
    for ref in daskgrad.q_vector(src.u, src.v, src.t, src.level, geospatial=True):
        np.testing.assert_array_equal(xr.open_zarr(out)[ref.name].values, ref.values)
    bare = tmp_path / "bare.zarr"
    ds.drop_vars("level").to_zarr(bare)
    code, _, err = run(capsys, bare, tmp_path / "o3.zarr", "--geospatial", "--q-vector",
                       "t:u,v", "--workers", "1")  # fmt: skip
    assert code == 2 and "argument --q-vector: variable 't' has no pressure coordinate" in err


def test_memory_counts_of_a_kinematic_job(store):
    """A task reads every input of the run's quantities together and holds the largest
    quantity's outputs and temporaries: the memory rule counts them all."""
    from daskgrad.cli.pipeline import prepare
    from daskgrad.cluster.memory import task_bytes

    ds = xr.open_zarr(store)
    args, request = _request(["--geospatial", "--frontogenesis", "theta:u,v"])
    fgen = prepare(ds, [], None, request=request)
    assert (fgen.counts["inputs"], fgen.counts["outputs"]) == (3, 5)
    args, request = _request(["--geospatial", *KINEMATICS])
    every = prepare(ds, [], None, request=request)
    assert every.counts["inputs"] == 6  # u, v, w, t, theta, z
    assert every.k == 3 and "level" in every.dims  # the vertical derivatives too
    assert task_bytes(8, every.k, **every.counts) > task_bytes(8, fgen.k, **fgen.counts)
