"""Issue 20's attack on the kinematics API: wrong numbers and unclear errors (oracles: MetPy)."""

from __future__ import annotations

import warnings

import metpy.calc as mc
import numpy as np
import pytest
import xarray as xr
from metpy.units import units

import daskgrad

DX, DY = 1500.0, 2500.0


def _column_case():
    rng = np.random.default_rng(5)
    sh = (6, 17, 23)
    p = np.sort(rng.uniform(200, 1000, sh[0]))[::-1] * 100
    th, uu, vv = (rng.standard_normal(sh) for _ in range(3))
    th = th + 300 - 0.0005 * p[:, None, None]
    lat = np.radians(np.linspace(20, 50, sh[1]))[:, None] * np.ones(sh[2])
    return sh, p, th, 10 * uu, 10 * vv, lat


def test_pv_pressure_same_in_every_column_is_the_coordinate():
    sh, p, th, uu, vv, lat = _column_case()
    ref = mc.potential_vorticity_baroclinic(
        th * units.K,
        p[:, None, None] * units.Pa,
        uu * units("m/s"),
        vv * units("m/s"),
        dx=DX * units.m,
        dy=DY * units.m,
        latitude=lat * units.radian,
    ).magnitude
    field = p[:, None, None] * np.ones(sh)
    got = daskgrad.potential_vorticity_baroclinic(
        th, field, uu, vv, vertical_dim=0, latitude=lat, spacing=[DX, DY], edge_order=2
    )
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def _level_dataset(levels, level_attrs):
    rng = np.random.default_rng(3)
    lat, lon = np.arange(30.0, 40.01, 0.5), np.arange(100.0, 106.01, 0.5)
    sh = (levels.size, lat.size, lon.size)
    dims = ("level", "lat", "lon")
    return xr.Dataset(
        {
            "theta": (dims, 300 + rng.standard_normal(sh) + (1000 - levels)[:, None, None] * 0.04),
            "u": (dims, 10 * rng.standard_normal(sh), {"units": "m/s"}),
            "v": (dims, 10 * rng.standard_normal(sh), {"units": "m/s"}),
        },
        coords={
            "level": ("level", levels, level_attrs),
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )


def test_pv_pressure_without_units_in_hpa_warns_naming_the_coordinate():
    ds = _level_dataset(np.array([1000.0, 850.0, 700.0, 500.0]), {})
    with pytest.warns(UserWarning, match="'level'") as record:
        daskgrad.potential_vorticity_baroclinic(
            ds.theta, ds.level, ds.u, ds.v, vertical_dim="level", geospatial=True
        )
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1
    assert "hPa" in str(record[0].message)
    pa = _level_dataset(np.array([1000.0, 850.0, 700.0, 500.0]) * 100, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        daskgrad.potential_vorticity_baroclinic(
            pa.theta, pa.level, pa.u, pa.v, vertical_dim="level", geospatial=True
        )


def test_latitude_beyond_90_degrees_is_refused():
    with pytest.raises(ValueError, match="latitude"):
        daskgrad.coriolis_parameter(100 * units.degree)
    lat = np.arange(20.0, 40.01, 0.5)
    lon = np.arange(100.0, 110.01, 0.5)
    rng = np.random.default_rng(0)
    da = {
        n: xr.DataArray(
            rng.standard_normal((lat.size, lon.size)),
            dims=("lat", "lon"),
            coords={"lat": ("lat", lat, {"units": "degrees_north"}), "lon": lon},
            attrs={"units": "m/s"},
        )
        for n in "uv"
    }
    with pytest.raises(ValueError, match="latitude"):
        daskgrad.absolute_vorticity(da["u"], da["v"], dim=["lon", "lat"], latitude=da["u"].lat + 80)
    with pytest.raises(ValueError, match="latitude"):
        daskgrad.absolute_vorticity(
            da["u"].values * units("m/s"),
            da["v"].values * units("m/s"),
            spacing=[DX * units.m, DY * units.m],
            latitude=np.full(lat.size, 100.0)[:, None] * units.degree,
        )


def test_pressure_must_be_a_positive_pressure():
    sh, p, th, uu, vv, lat = _column_case()
    with pytest.raises(ValueError, match="pressure"):
        daskgrad.potential_vorticity_baroclinic(
            th * units.K,
            p * units.m,
            uu * units("m/s"),
            vv * units("m/s"),
            vertical_dim=0,
            latitude=lat * units.radian,
            spacing=[DX * units.m, DY * units.m],
        )
    for bad in (-85000.0, 0.0):
        with pytest.raises(ValueError, match="pressure") as err:
            daskgrad.q_vector(uu[0], vv[0], th[0], bad, spacing=[DX, DY])
        assert "\n" not in str(err.value)


def test_absolute_vorticity_geospatial_with_latitude_dataarray():
    lat = np.arange(20.0, 40.01, 0.25)
    lon = np.arange(100.0, 110.01, 0.25)
    rng = np.random.default_rng(1)
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    ds = xr.Dataset(
        {
            n: (("lat", "lon"), 10 * rng.standard_normal((lat.size, lon.size)), {"units": "m/s"})
            for n in "uv"
        },
        coords=coords,
    )
    ref = daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True)
    got = daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, latitude=ds.lat)
    xr.testing.assert_identical(got, ref)
    # an oracle: MetPy on the sphere of daskgrad's default radius, inside the edges
    dsm = ds.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=6371008.8)
    mp = mc.absolute_vorticity(dsm.u, dsm.v).metpy.dequantify().values
    inner = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(
        got.values[inner], mp[inner], rtol=0, atol=1e-4 * np.abs(mp[inner]).max()
    )
    with pytest.raises(ValueError, match="latitude"):
        daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, latitude=ds.lat + 50)


def test_error_messages_name_the_argument():
    rng = np.random.default_rng(2)
    u, v, t = (rng.standard_normal((17, 23)) for _ in range(3))
    with pytest.raises(ValueError, match="temperature"):
        daskgrad.q_vector(u, v, t[:-1], 85000.0, spacing=[DX, DY])
    sh, p, th, uu, vv, lat = _column_case()
    with pytest.raises(ValueError, match=r"\bw\b"):
        daskgrad.advection(th, uu, vv, uu[:-1], vertical_dim=0, spacing=[DX, DY, p])
    with pytest.raises(TypeError, match="theta.*complex|complex.*theta"):
        daskgrad.frontogenesis(t + 1j, u, v, spacing=[DX, DY])
