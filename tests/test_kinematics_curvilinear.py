"""Kinematics on grids of 2-D latitude/longitude without a CRS (issue 20, as divergence and
vorticity there): MetPy's functions given the 2-D latitude for f and the sphere's map factors,
analytic fields on a rotated-pole grid, dask, and winds="grid" refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")
mc = pytest.importorskip("metpy.calc")

from metpy.units import units as mpu  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.errors import OptionError  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402

R = 6371008.8  # MetPy's earth radius, daskgrad's default sphere
OMEGA = 7.292115e-5
G = 9.80665
STEP = 0.25
WINDS = ("shearing_deformation", "stretching_deformation", "total_deformation")


def curvilinear(lat2d, lon2d, **fields):
    """A Dataset of ``{name: (values, units)}`` on dims (y, x) with 2-D lat/lon and no CRS."""
    coords = {
        "lat": (("y", "x"), lat2d, {"units": "degrees_north"}),
        "lon": (("y", "x"), lon2d, {"units": "degrees_east"}),
    }
    return xr.Dataset(
        {k: (("y", "x"), v, {"units": u}) for k, (v, u) in fields.items()}, coords=coords
    )


def close_to_scale(ours, ref, rtol):
    ours = np.asarray(getattr(ours, "values", ours))
    ref = np.asarray(getattr(ref, "magnitude", ref))
    scale = np.nanmax(np.abs(ref))
    assert scale > 0
    err = np.nanmax(np.abs(ours - ref))
    assert err <= rtol * scale, (err / scale, rtol)


def metpy(name, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(mc, name)(*args, **kwargs)


# --- MetPy given the 2-D latitude, on a regular 0.25° grid stored as 2-D coordinates ---------


LON = np.arange(100.0, 115.01, STEP)


def regular_2d(lat, lon=LON):
    lon2d, lat2d = np.meshgrid(lon, lat)
    phi, lam = np.radians(lat2d), np.radians(lon2d)
    ds = curvilinear(
        lat2d,
        lon2d,
        u=(20 * np.cos(phi) ** 2 + 5 * np.sin(3 * lam) * np.cos(phi), "m/s"),
        v=(8 * np.sin(2 * phi) * np.cos(2 * lam), "m/s"),
        theta=(300 - 30 * np.sin(phi) ** 2 + 2 * np.cos(4 * lam), "K"),
        z=(5500 + 300 * np.cos(phi) ** 3 + 20 * np.sin(2 * lam), "m"),
    )
    # MetPy's inputs on the sphere: nominal spacings, the map factors, the 2-D latitude for f
    grid = dict(
        dx=R * np.radians(STEP) * mpu.m,
        dy=R * np.radians(STEP) * mpu.m,
        parallel_scale=1 / np.cos(phi),
        meridional_scale=np.ones_like(phi),
    )
    return ds, grid, lat2d * mpu.degree


def q(a):
    return a.values * mpu(a.attrs["units"])


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_metpy_with_2d_latitude(chunked):
    ds, grid, lat = regular_2d(np.arange(-60.0, 60.01, STEP))
    if chunked:
        ds = ds.chunk({"y": 97, "x": 31})
    geo = dict(geospatial=True, edge_order=2)
    ref = ds.compute()
    with raise_if_dask_computes():
        absv = daskgrad.absolute_vorticity(ds.u, ds.v, **geo)
        fgen = daskgrad.frontogenesis(ds.theta, ds.u, ds.v, **geo)
        adv = daskgrad.advection(ds.theta, ds.u, ds.v, **geo)
        defs = [getattr(daskgrad, n)(ds.u, ds.v, **geo) for n in WINDS]
    assert absv.chunks == ds.u.chunks
    close_to_scale(
        absv, metpy("absolute_vorticity", q(ref.u), q(ref.v), latitude=lat, **grid), 1e-4
    )
    close_to_scale(fgen, metpy("frontogenesis", q(ref.theta), q(ref.u), q(ref.v), **grid), 1e-4)
    close_to_scale(adv, metpy("advection", q(ref.theta), q(ref.u), q(ref.v), **grid), 1e-4)
    for name, ours in zip(WINDS, defs, strict=True):
        close_to_scale(ours, metpy(name, q(ref.u), q(ref.v), **grid), 1e-4)
    assert absv.attrs["units"] == "s-1" and absv.name == "abs_vort_u_v"


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_metpy_geostrophic_wind_with_2d_latitude(chunked):
    ds, grid, lat = regular_2d(np.arange(10.0, 60.01, STEP))
    if chunked:
        ds = ds.chunk({"y": 61, "x": 29})
    ref = ds.compute()
    geo = dict(geospatial=True, edge_order=2)
    with raise_if_dask_computes():
        ug, vg = daskgrad.geostrophic_wind(ds.z, **geo)
        ua, va = daskgrad.ageostrophic_wind(ds.z, ds.u, ds.v, **geo)
    ref_g = metpy("geostrophic_wind", q(ref.z), latitude=lat, **grid)
    ref_a = metpy("ageostrophic_wind", q(ref.z), q(ref.u), q(ref.v), latitude=lat, **grid)
    for ours, theirs in zip((ug, vg, ua, va), (*ref_g, *ref_a), strict=True):
        close_to_scale(ours, theirs, 1e-4)
    assert (ug.name, ug.attrs["units"]) == ("ug_z", "m s-1")


def test_the_same_as_on_1d_coordinates():
    """The regular grid given by 1-D or 2-D coordinates: the same numbers to O(h²)."""
    lat, lon = np.arange(20.0, 50.01, STEP), np.arange(0.0, 20.01, STEP)
    ds2, _, _ = regular_2d(lat, lon)
    ds1 = ds2.drop_vars(["lat", "lon"]).rename({"y": "lat", "x": "lon"})
    ds1 = ds1.assign_coords(
        lat=("lat", lat, {"units": "degrees_north"}), lon=("lon", lon, {"units": "degrees_east"})
    )
    for name, args in (
        ("absolute_vorticity", ("u", "v")),
        ("frontogenesis", ("theta", "u", "v")),
        ("geostrophic_wind", ("z",)),
    ):
        one = getattr(daskgrad, name)(*(ds1[a] for a in args), geospatial=True, edge_order=2)
        two = getattr(daskgrad, name)(*(ds2[a] for a in args), geospatial=True, edge_order=2)
        pairs = zip(*(r if isinstance(r, tuple) else (r,) for r in (one, two)), strict=True)
        for a, b in pairs:
            close_to_scale(b.values, a.values, 1e-4)


# --- analytic fields on a rotated-pole grid -------------------------------------------------


def rotated_grid(tilt=40.0, turn=30.0, half=8.0, step=STEP):
    """Geographic latitude/longitude of a regular rotated grid (the sphere turned by ``turn``
    degrees about the x axis, then by ``tilt`` about the y axis): truly curvilinear, its x/y
    not eastward/northward."""
    r = np.radians(np.arange(-half, half + step / 2, step))
    rlam, rphi = np.meshgrid(r, r)
    x, y, z = np.cos(rphi) * np.cos(rlam), np.cos(rphi) * np.sin(rlam), np.sin(rphi)
    a = np.radians(turn)
    y, z = np.cos(a) * y - np.sin(a) * z, np.sin(a) * y + np.cos(a) * z
    t = np.radians(tilt)
    x, z = np.cos(t) * x - np.sin(t) * z, np.sin(t) * x + np.cos(t) * z
    return np.degrees(np.arcsin(z)), np.degrees(np.arctan2(y, x))


def test_analytic_fields_on_a_rotated_grid():
    lat2d, lon2d = rotated_grid()
    phi = np.radians(lat2d)
    assert np.ptp(lat2d[0, :]) > 5 and np.ptp(lat2d[:, 0]) > 5  # rows cross the parallels
    U, V, A = 20.0, 10.0, 300.0
    ds = curvilinear(
        lat2d,
        lon2d,
        u=(U * np.cos(phi), "m/s"),  # solid-body rotation
        v=(0 * phi, "m/s"),
        vn=(V * np.cos(phi), "m/s"),  # a meridional flow, convergent poleward
        un=(0 * phi, "m/s"),
        theta=(300 + 20 * np.sin(phi), "K"),
        z=(5500 + A * np.sin(phi) ** 2, "m"),
    )
    geo = dict(geospatial=True, edge_order=2)
    absv = daskgrad.absolute_vorticity(ds.u, ds.v, **geo)
    close_to_scale(absv, 2 * (OMEGA + U / R) * np.sin(phi), 1e-4)
    assert float(np.abs(daskgrad.total_deformation(ds.u, ds.v, **geo)).max()) < 1e-4 * U / R
    ug, vg = daskgrad.geostrophic_wind(ds.z, **geo)
    exact_ug = -G * A * np.cos(phi) / (OMEGA * R)  # −(g/f) ∂Z/∂y of Z = A sin²φ
    close_to_scale(ug, exact_ug, 1e-4)
    assert float(np.abs(vg).max()) < 1e-4 * np.abs(exact_ug).max()
    # θ northward only, ∂v/∂y = −V sin φ / R: F = −|∂θ/∂y| ∂v/∂y
    fgen = daskgrad.frontogenesis(ds.theta, ds.un, ds.vn, **geo)
    close_to_scale(fgen, 20 * V * np.sin(phi) * np.cos(phi) / R**2, 1e-4)


def test_winds_grid_is_refused_by_name():
    lat2d, lon2d = rotated_grid(half=2.0)
    ds = curvilinear(lat2d, lon2d, u=(np.ones_like(lat2d), "m/s"), v=(0 * lat2d, "m/s"))
    ds["z"] = ds.u.assign_attrs(units="m")
    calls = (
        lambda: daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, winds="grid"),
        lambda: daskgrad.frontogenesis(ds.z, ds.u, ds.v, geospatial=True, winds="grid"),
        lambda: daskgrad.geostrophic_wind(ds.z, geospatial=True, winds="grid"),
    )
    for call in calls:
        with pytest.raises(OptionError, match="winds='grid'") as err:
            call()
        assert "\n" not in str(err.value)
    # earth-relative winds are what the 2-D grid has: accepted, as divergence takes them
    daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, winds="earth")
