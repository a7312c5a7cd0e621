"""Findings of the adversarial trial of 2026-12-07 (evening), each with a test that failed
before its fix: options named by what the user passed (``radius``, ``crs``, ``pressure``), the
run summary naming only flags that exist, ``..`` after a directory that does not exist, and a
SIGTERM to a cluster run's process group saying one line."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import daskgrad
from daskgrad.cli import main
from daskgrad.errors import OptionError
from tests.conftest import popen_tied


def _latlon(n_lat=6, n_lon=7):
    lat = np.linspace(30.0, 40.0, n_lat)
    lon = np.linspace(-100.0, -90.0, n_lon)
    t = np.add.outer(np.sin(np.radians(lat)), np.cos(np.radians(lon)))
    return xr.DataArray(
        t,
        dims=("lat", "lon"),
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        name="t",
    )


# ------------------------------------------------------------------ 2. radius=, crs=, --earth


@pytest.mark.parametrize("radius", [-1, 0.0, float("nan"), float("inf")])
def test_a_bad_radius_is_an_option_error_naming_radius(radius):
    """README: a bad option is an OptionError whose .option names the keyword."""
    t = _latlon()
    with pytest.raises(OptionError) as caught:
        daskgrad.geospatial_gradient(t, radius=radius)
    assert caught.value.option == "radius"
    assert str(caught.value).startswith("radius must be a positive number of metres")
    with pytest.raises(OptionError) as caught:
        daskgrad.vorticity(t, t, geospatial=True, radius=radius)
    assert caught.value.option == "radius"


def test_a_radius_that_is_not_a_number_names_radius():
    with pytest.raises(OptionError) as caught:
        daskgrad.geospatial_gradient(_latlon(), radius="6371 km")
    assert caught.value.option == "radius" and isinstance(caught.value, TypeError)


def test_a_projected_crs_given_for_latlon_data_names_crs():
    """crs= a Lambert conformal CRS for data on latitude/longitude: the option at fault is
    the crs= the user gave, not x= (which they never passed)."""
    with pytest.raises(OptionError) as caught:
        daskgrad.geospatial_gradient(_latlon(), crs="+proj=lcc +lat_1=33 +lat_2=45 +lon_0=-97")
    assert caught.value.option == "crs"
    assert "no projection x/y coordinates" in str(caught.value)


def test_the_run_summary_names_only_flags_that_exist(tmp_path, capsys):
    """The earth's source in the summary: '(--earth)', never a --radius the CLI lacks; the
    API names what it was given (earth=, radius=)."""
    ds = _latlon().to_dataset()
    ds.to_zarr(tmp_path / "ll.zarr")
    code = main(
        ["run", str(tmp_path / "ll.zarr"), str(tmp_path / "o.zarr"), "--geospatial",
         "--earth", "wgs84", "--no-progress"]
    )  # fmt: skip
    said = capsys.readouterr()
    assert code == 0, said.err
    summary = [ln for ln in said.out.splitlines() if "WGS84 ellipsoid" in ln]
    assert summary and summary[-1].endswith("(--earth)"), said.out
    assert "--radius" not in said.out + said.err
    assert daskgrad.Grid(ds, earth="wgs84").describe().endswith("(earth)")
    assert daskgrad.Grid(ds, radius=6.0e6).describe().endswith("(radius)")
    assert daskgrad.Grid(ds, earth="sphere", radius=6.0e6).describe().endswith("(earth/radius)")


# ------------------------------------------------------------------------- 3. PV's pressure


def _pv_inputs():
    rng = np.random.default_rng(3)
    shape = (5, 4, 6)
    theta = 300.0 + rng.random(shape)
    return theta, rng.random(shape), rng.random(shape)


@pytest.mark.parametrize(
    ("pressure", "fault"),
    [
        ([100000.0, 85000, np.nan, 50000, 30000], "holds non-finite coordinates"),
        ([100000.0, 85000, 85000, 50000, 30000], "repeats the value 85000.0"),
        ([100000.0, 85000, 90000, 50000, 30000], "is not monotonic"),
    ],
)
def test_a_bad_pressure_of_pv_names_pressure(pressure, fault):
    """The 1-D pressure is the argument ``pressure``, not the plan's third spacing."""
    theta, u, v = _pv_inputs()
    with pytest.raises(OptionError) as caught:
        daskgrad.potential_vorticity_baroclinic(
            theta, np.array(pressure), u, v, vertical_dim=0, spacing=[1e5, 1e5], latitude=0.7
        )
    assert caught.value.option == "pressure"
    assert str(caught.value).startswith(f"pressure {fault}"), str(caught.value)


def test_vertical_coordinates_keep_the_names_the_user_gave():
    """Advection's vertical spacing of arrays is spacing[2] (what the user passed); on
    DataArrays the vertical coordinate is named, for PV and advection alike."""
    theta, u, v = _pv_inputs()
    p = np.array([1000.0, 850, np.nan, 500, 300])
    with pytest.raises(OptionError) as caught:
        daskgrad.advection(theta, u, v, u, spacing=[1e5, 1e5, p])
    assert str(caught.value).startswith("spacing[2] (dim 0) holds non-finite")

    def da(a, name):
        coords = {"level": ("level", p, {"units": "hPa"}), "y": np.arange(4) * 1e5}
        coords["x"] = np.arange(6) * 1e5
        return xr.DataArray(a, dims=("level", "y", "x"), coords=coords, name=name)

    lat = xr.DataArray(np.full((4, 6), 40.0), dims=("y", "x"), attrs={"units": "degrees_north"})
    with pytest.raises(OptionError) as caught:
        daskgrad.potential_vorticity_baroclinic(
            da(theta, "th"), "level", da(u, "u"), da(v, "v"), vertical_dim="level", latitude=lat
        )
    assert str(caught.value).startswith("coordinate 'level' holds non-finite")
    with pytest.raises(OptionError) as caught:
        daskgrad.advection(
            da(theta, "th"), da(u, "u"), da(v, "v"), da(u, "w"), vertical_dim="level"
        )
    assert str(caught.value).startswith("coordinate 'level' holds non-finite")


def test_pv_with_a_good_pressure_still_equals_metpy():
    """The new check passes a good 1-D pressure through: MetPy's PV (Cartesian, edge_order=2)."""
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    theta, u, v = _pv_inputs()
    p = np.array([100000.0, 85000, 70000, 50000, 30000])
    got = daskgrad.potential_vorticity_baroclinic(
        theta, p, u, v, vertical_dim=0, spacing=[1e5, 1e5], latitude=0.7, edge_order=2
    )
    want = mpcalc.potential_vorticity_baroclinic(
        theta * units.K,
        p[:, None, None] * units.Pa,
        u * units("m/s"),
        v * units("m/s"),
        dx=1e5 * units.m,
        dy=1e5 * units.m,
        latitude=np.full((4, 6), 0.7) * units.radian,
    )
    np.testing.assert_allclose(np.asarray(got), want.m_as("K m^2 / (kg s)"), rtol=1e-10)


# ------------------------------------------------- 4. '..' after a directory that is not there


@pytest.mark.parametrize("role", ["input", "output"])
def test_dotdot_after_a_missing_directory_is_a_usage_error(tmp_path, monkeypatch, capsys, role):
    """'nodir/../x.zarr' where nodir does not exist: the OS refuses it ("No such file or
    directory"), so daskgrad must too (exit 2, one line naming the path) rather than read or
    write ./x.zarr as if the '..' cancelled nodir."""
    monkeypatch.chdir(tmp_path)
    _latlon().to_dataset().to_zarr("x.zarr")
    (tmp_path / "afile").write_text("")
    for bad in ("nodir/../x.zarr", "afile/../x.zarr", "file://nodir/../x.zarr"):
        args = [bad, "out.zarr"] if role == "input" else ["x.zarr", bad, "--overwrite"]
        code = main(["run", *args, "--dim", "lat", "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, err
        assert len(err) == 1 and err[0].startswith(f"daskgrad: error: {role} {bad}: "), err
        assert "so the '..' after it leads nowhere" in err[0]
        with pytest.raises(OSError):  # the OS's own verdict on that path
            open(bad.removeprefix("file://") + "/zarr.json")
    assert not (tmp_path / "out.zarr").exists()
    # the store is as it was (an --overwrite OUTPUT of ./x.zarr was never touched)
    xr.testing.assert_identical(xr.open_zarr("x.zarr").load().t, _latlon())
    (tmp_path / "d").mkdir()
    assert main(["run", "d/../x.zarr", "d/../out.zarr", "--dim", "lat", "--no-progress"]) == 0
    assert (tmp_path / "out.zarr").is_dir()


# ---------------------------------------------- 5. SIGTERM to a cluster run's process group


def test_sigterm_to_the_process_group_says_one_line(tmp_path):
    """``kill -TERM -- -PGID`` while the embedded cluster writes zarr-2 chunks (Blosc): the
    workers die of the signal holding numcodecs' Blosc lock, a named semaphore that
    multiprocessing's resource tracker then removes, saying "There appear to be 1 leaked
    semaphore objects" on the run's standard error. The run says one line: exit 143,
    "terminated", the old OUTPUT as it was, no process left."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    from .test_cli import leftovers
    from .test_cli_trust import snapshot

    rng = np.random.default_rng(0)
    src = xr.Dataset(
        {"t": (("time", "y", "x"), rng.standard_normal((192, 64, 64)))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, 64))},
    ).chunk({"time": 1})
    src.to_zarr(tmp_path / "in.zarr", zarr_format=2)
    out = tmp_path / "out.zarr"
    src.isel(time=slice(0, 2)).to_zarr(out, zarr_format=2)
    before = snapshot(out)
    proc = popen_tied(
        [sys.executable, "-m", "daskgrad", "run", str(tmp_path / "in.zarr"), str(out),
         "--dim", "x", "--overwrite", "--no-progress", "--workers", "2",
         "--threads-per-worker", "1", "--chunks", "time=1", "--zarr-format", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    seen: dict[int, object] = {}
    try:
        deadline = time.monotonic() + 180
        while True:  # until the workers have written chunks (with Blosc) into the temporary
            for child in psutil.Process(proc.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
            tmp = [out.parent / n for n in leftovers(out)]
            chunks = sum(1 for t in tmp for p in t.rglob("dt_dx/*") if p.name[0].isdigit())
            if chunks >= 2:
                break
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never wrote its chunks"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    _, alive = psutil.wait_procs(list(seen.values()), timeout=15)
    for p in alive:
        p.kill()
    assert not alive, [p.pid for p in alive]
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == [
        f"daskgrad: terminated; no output written: the old {out} is as it was"
    ], err
    assert snapshot(out) == before
    assert leftovers(out) == []
