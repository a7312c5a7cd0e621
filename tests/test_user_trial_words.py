"""A new user's trial (2026-12-08): the words daskgrad says must match what it does — the
cluster help, an option's typo, a warning's line, a result's long_name, the Laplacian's
stencil on coordinates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from .conftest import cli
from .test_cli import small_dataset

xr = pytest.importorskip("xarray")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


def flat(text: str) -> str:
    """argparse's wrapped help on one line."""
    return " ".join(text.split())


# --- 1. the cluster help says what a run does ---------------------------------------------


def test_the_cluster_help_says_what_a_run_without_options_does(tmp_path):
    """The help said "a local cluster of worker processes sized to this machine" and "--workers
    (default: one per core)"; a run without cluster options computes on this process's
    threads with no cluster, and a local cluster's default shape is default_shape's."""
    from dask.system import CPU_COUNT

    from daskgrad.cluster.memory import default_shape

    r = cli("run", "--help")
    assert r.returncode == 0, r.stderr
    help_ = flat(r.stdout)
    assert "sized to this machine" not in help_
    assert "local workers (default: one per core)" not in help_
    assert "default: run computes on this process's threads (one per core), no cluster" in help_
    workers, threads = default_shape(CPU_COUNT)
    shape = f"{workers} worker{'s' * (workers != 1)}, {threads} thread{'s' * (threads != 1)} each"
    assert (
        f"a local cluster starts: by default {shape} on this machine's {CPU_COUNT} cores" in help_
    )
    assert f"(default: {workers} here;" in help_ and f"(default: {threads} here;" in help_

    # what a run without cluster options says: this process's threads, no cluster
    inp = tmp_path / "in.zarr"
    small_dataset().chunk({"time": 2}).to_zarr(inp)
    run = cli("run", inp, tmp_path / "out.zarr", "--dim", "x", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"computing on this process's {CPU_COUNT} threads, no cluster" in run.stdout


def test_a_memory_limit_alone_starts_the_clusters_default_shape(tmp_path):
    """--memory-limit alone: the local cluster of the help's default shape."""
    from dask.system import CPU_COUNT

    from daskgrad.cluster.memory import default_shape

    workers, threads = default_shape(CPU_COUNT)
    inp = tmp_path / "in.zarr"
    small_dataset().chunk({"time": 2}).to_zarr(inp)
    r = cli("run", inp, tmp_path / "out.zarr", "--dim", "x", "--memory-limit", "1GiB",
            "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    shape = f"{workers} worker{'s' * (workers != 1)}, {threads} thread{'s' * (threads != 1)} each"
    assert shape in r.stdout, r.stdout
    assert shape in flat(cli("run", "--help").stdout)


# --- 3. a keyword's typo: the close one suggested -------------------------------------------


def winds():
    lat = np.linspace(-30.0, 30.0, 13)
    lon = np.linspace(0.0, 40.0, 17)
    coords = {"lat": ("lat", lat, {"units": "degrees_north"}),
              "lon": ("lon", lon, {"units": "degrees_east"})}  # fmt: skip
    rng = np.random.default_rng(0)
    dims = ("lat", "lon")
    make = lambda name, units: xr.DataArray(  # noqa: E731
        rng.standard_normal((13, 17)), dims=dims, coords=coords, name=name, attrs={"units": units}
    )
    return make("theta", "K"), make("u", "m s-1"), make("v", "m s-1")


def test_a_keyword_typo_is_answered_with_the_close_keyword():
    import daskgrad

    theta, u, v = winds()
    arrays = [np.ones((5, 6))] * 3
    cases = [
        (lambda: daskgrad.frontogenesis(theta, u, v, geospatiall=True), "'geospatial'"),
        (lambda: daskgrad.vorticity(u, v, geospatial=True, latitud="lat"), "'latitude'"),
        (lambda: daskgrad.divergence(*arrays[:2], acuracy=4), "'accuracy'"),
        (lambda: daskgrad.laplacian(theta, dimm="lat"), "'dim'"),
        (lambda: daskgrad.q_vector(*arrays, 50000.0, edge_ordr=2), "'edge_order'"),
    ]
    for call, word in cases:
        with pytest.raises(TypeError, match="got unexpected options") as err:
            call()
        assert f"(did you mean {word}?)" in str(err.value), err.value
    with pytest.raises(TypeError) as err:  # nothing close: no guess
        daskgrad.laplacian(theta, colour=1)
    assert "did you mean" not in str(err.value) and "allowed with geospatial=False" in str(
        err.value
    )


# --- 5. warnings at the caller's line -------------------------------------------------------


def test_warnings_point_at_the_callers_line():
    """The unitless-pressure warning of potential_vorticity_baroclinic pointed at
    daskgrad/xr/fields.py; every warning of the API points at the user's line."""
    import daskgrad

    theta, u, v = winds()
    levels = np.array([1000.0, 850.0, 700.0])
    cube = [
        xr.concat([a] * 3, dim="level").assign_coords(level=levels).transpose("level", ...)
        for a in (theta, u, v)
    ]  # level without units: read as Pa, values that look like hPa
    ds = xr.Dataset({a.name: a for a in cube})
    cases = {
        "look like hPa": lambda: daskgrad.potential_vorticity_baroclinic(
            cube[0], None, cube[1], cube[2], vertical_dim="level", geospatial=True
        ),
        "which look like hPa": lambda: ds.grad.potential_vorticity_baroclinic(
            "theta", "level", "u", "v", vertical_dim="level", geospatial=True
        ),
        "the result is per degree": lambda: daskgrad.laplacian(theta),
        "absolute_vorticity: the result has no units": lambda: daskgrad.absolute_vorticity(u, v),
    }
    for said, call in cases.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        ours = [w for w in caught if said in str(w.message)]
        assert ours, (said, [str(w.message) for w in caught])
        where = [(w.filename, w.lineno) for w in ours]
        assert {f for f, _ in where} == {__file__}, (said, where)


# --- 6. long_names in one phrase ----------------------------------------------------------


def test_long_names_of_multi_input_quantities_read_as_one_phrase():
    import daskgrad

    theta, u, v = winds()
    theta.attrs["long_name"] = "Potential temperature"
    u.attrs["long_name"], v.attrs["long_name"] = "U component of wind", "V component of wind"
    levels = xr.DataArray([1000.0, 850.0, 700.0], dims="level", attrs={"units": "hPa"})
    cube = [xr.concat([a] * 3, dim=levels).transpose("level", ...) for a in (theta, u, v)]
    pv = daskgrad.potential_vorticity_baroclinic(
        cube[0], None, cube[1], cube[2], vertical_dim="level", geospatial=True
    )
    assert pv.attrs["long_name"] == (
        "baroclinic potential vorticity of Potential temperature, with winds u and v"
    )
    fgen = daskgrad.frontogenesis(theta, u, v, geospatial=True)
    assert fgen.attrs["long_name"] == (
        "2-D kinematic frontogenesis of Potential temperature, with winds u and v"
    )
    shear = daskgrad.shearing_deformation(u, v, geospatial=True)
    assert shear.attrs["long_name"] == "shearing deformation of winds u and v"
    q1, q2 = daskgrad.q_vector(cube[1], cube[2], cube[0], None, vertical_dim="level",
                               geospatial=True)  # fmt: skip
    assert q1.attrs["long_name"] == (
        "eastward component of the Q-vector of Potential temperature, with winds u and v"
    )
    assert all(" and U component" not in a.attrs["long_name"] for a in (pv, fgen, shear, q1, q2))


# --- 7a. the README's Laplacian: 5 points on coordinates, 3 with a scalar step ------------


def test_the_laplacian_on_coordinates_is_five_points_at_accuracy_2():
    import daskgrad

    h = 0.5
    f = np.random.default_rng(1).standard_normal(40)
    da = xr.DataArray(f, dims="x", coords={"x": np.arange(40) * h})
    five = (-f[:-4] + 16 * f[1:-3] - 30 * f[2:-2] + 16 * f[3:-1] - f[4:]) / (12 * h**2)
    three = (f[:-2] - 2 * f[1:-1] + f[2:]) / h**2
    np.testing.assert_allclose(daskgrad.laplacian(da).values[2:-2], five, rtol=1e-12, atol=1e-12)
    scalar = daskgrad.laplacian(da, spacing={"x": h}).values
    np.testing.assert_allclose(scalar[1:-1], three, rtol=1e-12, atol=1e-12)
