"""Second attack on the vertical kinematics: a bad dask pressure (negative, zero) must fail as it
computes, a time coordinate is no pressure, and Quantities in km give simplified units (1/s) with
the numbers scaled to them (oracles: NumPy/MetPy's values, pint)."""

from __future__ import annotations

import dask.array as da
import metpy.calc as mc
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from metpy.units import units

import daskgrad
from daskgrad.cli import main

P = np.array([1000.0, 900.0, 800.0, 700.0]) * 100
SH = (4, 5, 6)


def _fields():
    rng = np.random.default_rng(3)
    theta = 300 - 0.0005 * P[:, None, None] + rng.standard_normal(SH)
    u, v = (10 * rng.standard_normal(SH) for _ in range(2))
    return theta, u, v


def _lazy(*arrays):
    return [da.from_array(a, chunks=2) for a in arrays]


@pytest.mark.parametrize(
    "pressure",
    [-P, np.array([1000.0, 0.0, 800.0, 700.0]) * 100],
    ids=["negative", "zero"],
)
@pytest.mark.parametrize("shape", ["coordinate", "field"])
def test_pv_dask_pressure_checked_as_it_computes(pressure, shape):
    theta, u, v = _fields()
    thd, ud, vd = _lazy(theta, u, v)
    if shape == "coordinate":
        p = da.from_array(pressure, chunks=2)
    else:  # varying by column: the chain rule's field
        p = da.from_array(pressure[:, None, None] * (1 + 0.01 * np.arange(6)), chunks=2)
    out = daskgrad.potential_vorticity_baroclinic(  # lazy: nothing computed at the call
        thd, p, ud, vd, spacing=[1e4, 1e4], latitude=0.7
    )
    with pytest.raises(ValueError, match=r"^potential_vorticity_baroclinic: pressure must be"):
        out.compute()


def test_pv_good_dask_pressure_equals_numpy():
    theta, u, v = _fields()
    kw = dict(spacing=[1e4, 1e4], latitude=0.7, edge_order=2)  # MetPy's edges
    ref = daskgrad.potential_vorticity_baroclinic(theta, P, u, v, **kw)
    thd, ud, vd = _lazy(theta, u, v)
    got = daskgrad.potential_vorticity_baroclinic(thd, da.from_array(P, chunks=2), ud, vd, **kw)
    np.testing.assert_allclose(got.compute(), ref, rtol=1e-12)
    metpy = mc.potential_vorticity_baroclinic(
        theta * units.K,
        P[:, None, None] * units.Pa,
        u * units("m/s"),
        v * units("m/s"),
        dx=1e4 * units.m,
        dy=1e4 * units.m,
        latitude=0.7 * units.radian,
    ).magnitude
    np.testing.assert_allclose(got.compute(), metpy, rtol=1e-9, atol=1e-18)


def _dataset(pressure_coord):
    theta, u, v = _fields()
    lat, lon = np.linspace(30, 40, 5), np.linspace(0, 10, 6)
    coords = {"level": pressure_coord, "lat": lat, "lon": lon}
    dims = ("level", "lat", "lon")
    return xr.Dataset(
        {
            "theta": xr.DataArray(theta, dims=dims, attrs={"units": "K"}),
            "u": xr.DataArray(u, dims=dims, attrs={"units": "m/s"}),
            "v": xr.DataArray(v, dims=dims, attrs={"units": "m/s"}),
        },
        coords=coords,
    ).chunk(2)


def test_pv_dataarray_dask_pressure_coordinate_checked_as_it_computes():
    bad = xr.DataArray(da.from_array(-P, chunks=2), dims="level", attrs={"units": "Pa"})
    ds = _dataset(np.arange(4.0)).assign_coords(p=bad)
    out = daskgrad.potential_vorticity_baroclinic(
        ds.theta, "p", ds.u, ds.v, vertical_dim="level", geospatial=True
    )
    with pytest.raises(ValueError, match="pressure must be positive"):
        out.compute()


TIMES = pd.date_range("2020-01-01", periods=4, freq="D")


@pytest.mark.parametrize("which", ["q_vector", "pv"])
def test_time_coordinate_is_no_pressure(which):
    ds = _dataset(TIMES)
    with pytest.raises(ValueError, match=r"pressure \(coordinate 'level'\) holds times") as e:
        if which == "q_vector":
            daskgrad.q_vector(ds.u, ds.v, ds.theta, ds.level, geospatial=True)
        else:
            daskgrad.potential_vorticity_baroclinic(ds.theta, ds.level, ds.u, ds.v, geospatial=True)
    assert "\n" not in str(e.value)


def test_time_arrays_are_no_pressure():
    theta, u, v = _fields()
    with pytest.raises(ValueError, match="^q_vector: pressure holds times"):
        daskgrad.q_vector(u, v, theta, np.asarray(TIMES), vertical_dim=0)
    with pytest.raises(ValueError, match="^potential_vorticity_baroclinic: pressure holds times"):
        daskgrad.potential_vorticity_baroclinic(
            theta, np.asarray(TIMES - TIMES[0]), u, v, latitude=0.7
        )


def test_undecoded_time_units_are_no_pressure():
    level = xr.DataArray(
        np.arange(1.0, 5.0), dims="level", attrs={"units": "days since 2000-01-01"}
    )
    ds = _dataset(level)
    with pytest.raises(ValueError, match="has units 'days since 2000-01-01', not a pressure"):
        daskgrad.q_vector(ds.u, ds.v, ds.theta, "level", geospatial=True)


def test_cli_vertical_time_refused(tmp_path, capsys):
    src = tmp_path / "ocean.zarr"
    _dataset(TIMES).rename(level="time").to_zarr(src, consolidated=False)
    code = main(
        [
            "run",
            str(src),
            str(tmp_path / "o.zarr"),
            "--geospatial",
            "--q-vector",
            "theta:u,v",
            "--vertical",
            "time",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "coordinate 'time'" in err and "holds times" in err
    assert not (tmp_path / "o.zarr").exists()


def _winds_km():
    rng = np.random.default_rng(11)
    u, v, t = (rng.standard_normal((7, 8)) for _ in range(3))
    lat = np.radians(np.linspace(30, 40, 7))[:, None] * np.ones(8)
    return 10 * u * units("m/s"), 10 * v * units("m/s"), (280 + t) * units.K, lat * units.radian


KM = [10 * units.km, 10 * units.km]


@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
def test_absolute_vorticity_km_spacing_in_per_second(lazy):
    u, v, _, lat = _winds_km()
    ref = mc.absolute_vorticity(u, v, dx=KM[0], dy=KM[1], latitude=lat).to("1/s")
    if lazy:
        u, v = (units.Quantity(da.from_array(a.magnitude, chunks=4), a.units) for a in (u, v))
    got = daskgrad.absolute_vorticity(u, v, spacing=KM, latitude=lat, edge_order=2)
    assert got.units == units("1/s").units and got.units._REGISTRY is units("1/s")._REGISTRY
    np.testing.assert_allclose(np.asarray(got.magnitude), ref.magnitude, rtol=1e-12)


@pytest.mark.parametrize(
    "name, want",
    [
        ("shearing_deformation", "1/s"),
        ("stretching_deformation", "1/s"),
        ("total_deformation", "1/s"),
        ("advection", "K/s"),
        ("frontogenesis", "K/m/s"),
    ],
)
def test_kinematics_km_spacing_simplified(name, want):
    u, v, t, _ = _winds_km()
    metpy = getattr(mc, name)
    ours = getattr(daskgrad, name)
    if name == "advection":
        ref = metpy(t, u=u, v=v, dx=KM[0], dy=KM[1])
        got = ours(t, u, v, spacing=KM, edge_order=2)
    elif name == "frontogenesis":
        ref = metpy(t, u, v, dx=KM[0], dy=KM[1])
        got = ours(t, u, v, spacing=KM, edge_order=2)
    else:
        ref = metpy(u, v, dx=KM[0], dy=KM[1])
        got = ours(u, v, spacing=KM, edge_order=2)
    assert got.units.dimensionality == units(want).dimensionality
    assert len(got.units._units) == len(units(want).units._units)  # one length unit at most
    np.testing.assert_allclose(got.magnitude, ref.to(want).magnitude, rtol=1e-10, atol=1e-20)


def test_dataarray_of_quantities_km_spacing_in_per_second():
    u, v, _, lat = _winds_km()
    coords = {
        "y": ("y", np.arange(7) * 10.0, {"units": "km"}),
        "x": ("x", np.arange(8) * 10.0, {"units": "km"}),
    }
    ua = xr.DataArray(u, dims=("y", "x"), coords=coords)
    va = xr.DataArray(v, dims=("y", "x"), coords=coords)
    got = daskgrad.absolute_vorticity(
        ua,
        va,
        latitude=xr.DataArray(
            lat.to("degree").magnitude, dims=("y", "x"), attrs={"units": "degrees_north"}
        ),
        edge_order=2,
    )
    ref = mc.absolute_vorticity(u, v, dx=KM[0], dy=KM[1], latitude=lat).to("1/s")
    assert got.data.units == units("1/s").units
    np.testing.assert_allclose(got.data.magnitude, ref.magnitude, rtol=1e-12)


def test_advection_with_w_km_spacing_simplified():
    rng = np.random.default_rng(2)
    sh = (4, 6, 7)
    z = np.array([0.0, 500.0, 1200.0, 2000.0])
    s, u, v, w = (rng.standard_normal(sh) for _ in range(4))
    Q = units.Quantity
    got = daskgrad.advection(
        Q(s, "K"),
        Q(u, "m/s"),
        Q(v, "m/s"),
        w=Q(w, "m/s"),
        vertical_dim=0,
        spacing=[Q(1.0, "km"), Q(2.0, "km"), Q(z, "m")],
        edge_order=2,
    )
    ref = mc.advection(
        Q(s, "K"),
        u=Q(u, "m/s"),
        v=Q(v, "m/s"),
        w=Q(w, "m/s"),
        dx=Q(1.0, "km"),
        dy=Q(2.0, "km"),
        dz=Q(np.diff(z)[:, None, None], "m"),
    )
    assert got.units == units("K/s").units
    np.testing.assert_allclose(got.magnitude, ref.to("K/s").magnitude, rtol=1e-10, atol=1e-18)
