"""A projected or rotated-pole grid's own latitude/longitude coordinates against its grid
mapping (issue 21): coordinates of another grid (another pole, shifted by degrees) are refused
naming both; coordinates of the same points (float32, another earth model as WRF writes them)
are taken silently, and f then comes from the coordinate, as MetPy's ``coriolis_parameter``
gives it at pyproj's latitudes."""

from __future__ import annotations

import warnings

import metpy.calc as mpcalc
import numpy as np
import pyproj
import pytest
import xarray as xr
from metpy.units import units as mu

import daskgrad
from daskgrad import Grid
from daskgrad.cli.parser import Flags
from daskgrad.errors import OptionError
from tests.conftest import raise_if_dask_computes

R = 6371229.0
POLE = {
    "grid_mapping_name": "rotated_latitude_longitude",
    "grid_north_pole_latitude": 39.25,
    "grid_north_pole_longitude": -162.0,
    "earth_radius": R,
}
HRRR = {
    "grid_mapping_name": "lambert_conformal_conic",
    "standard_parallel": 38.5,
    "longitude_of_central_meridian": 262.5,
    "latitude_of_projection_origin": 38.5,
}


def true_latlon(pole: dict, rlon: np.ndarray, rlat: np.ndarray) -> tuple[np.ndarray, ...]:
    """pyproj's true latitude/longitude (degrees) of a rotated pole's grid points."""
    crs = pyproj.CRS.from_cf(pole)
    true = pyproj.CRS.from_dict({"proj": "longlat", "R": R})
    lo, la = np.meshgrid(rlon, rlat)
    lon, lat = pyproj.Transformer.from_crs(crs, true, always_xy=True).transform(lo, la)
    return np.asarray(lat), np.asarray(lon)


def rotated(lat: np.ndarray, lon: np.ndarray, rlon, rlat) -> xr.Dataset:
    shape = (rlat.size, rlon.size)
    wind = {"grid_mapping": "rotated_pole", "units": "m s-1"}
    return xr.Dataset(
        {
            "u": (("rlat", "rlon"), np.zeros(shape), wind),
            "v": (("rlat", "rlon"), np.zeros(shape), wind),
        },
        coords={  # the grid mapping among the coords, as decode_coords="all" puts it
            "rotated_pole": ((), 0, POLE),
            "rlon": ("rlon", rlon, {"standard_name": "grid_longitude", "units": "degrees"}),
            "rlat": ("rlat", rlat, {"standard_name": "grid_latitude", "units": "degrees"}),
            "lat": (("rlat", "rlon"), lat, {"units": "degrees_north"}),
            "lon": (("rlat", "rlon"), lon, {"units": "degrees_east"}),
        },
    )


RLON, RLAT = np.arange(-28.0, 18.0, 0.44), np.arange(-23.0, 21.0, 0.44)


def lcc(mapping: dict, proj: str, shift: float = 0.0, dtype=np.float64) -> xr.Dataset:
    """An HRRR-like 3-km grid (x/y in metres) whose lat/lon come from pyproj's ``proj``."""
    x = np.arange(-40, 41) * 3000.0
    y = np.arange(-30, 31) * 3000.0
    gx, gy = np.meshgrid(x, y)
    lon, lat = pyproj.Proj(proj)(gx, gy, inverse=True)
    wind = {"grid_mapping": "crs", "units": "m s-1"}
    return xr.Dataset(
        {
            "u": (("y", "x"), np.zeros(gx.shape), wind),
            "v": (("y", "x"), np.zeros(gx.shape), wind),
        },
        coords={
            "crs": ((), 0, mapping),
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "lat": (("y", "x"), (lat + shift).astype(dtype), {"units": "degrees_north"}),
            "lon": (("y", "x"), lon.astype(dtype), {"units": "degrees_east"}),
        },
    )


def coriolis(ds: xr.Dataset) -> np.ndarray:
    """f as daskgrad gives it: the absolute vorticity of a wind at rest."""
    av = daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, winds="grid")
    return np.asarray(av.values)


def metpy_f(lat: np.ndarray) -> np.ndarray:
    return np.asarray(mpcalc.coriolis_parameter(np.asarray(lat) * mu.degree).m)


def test_rotated_pole_right_coordinates_silent_and_f_is_metpys() -> None:
    lat, lon = true_latlon(POLE, RLON, RLAT)
    ds = rotated(lat.astype(np.float32), lon.astype(np.float32), RLON, RLAT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Grid(ds)
        f = coriolis(ds)
    np.testing.assert_allclose(f, metpy_f(lat), rtol=1e-5)
    # the domain's centre: the user's case gave -2.5e-6 from a wrong coordinate
    assert 1.0e-4 < f[RLAT.size // 2, RLON.size // 2] < 1.2e-4


@pytest.mark.parametrize("wrong", ["swapped_pole", "shifted_5deg", "latitude_only"])
def test_rotated_pole_wrong_coordinates_refused(wrong: str) -> None:
    if wrong == "swapped_pole":  # the pole given as grid_north_pole_latitude -39.25
        lat, lon = true_latlon({**POLE, "grid_north_pole_latitude": -39.25}, RLON, RLAT)
    else:
        lat, lon = true_latlon(POLE, RLON, RLAT)
        lat = lat + 5.0
    ds = rotated(lat, lon, RLON, RLAT)
    if wrong == "latitude_only":
        ds = ds.drop_vars("lon")
    with pytest.raises(ValueError, match="grid_mapping 'rotated_pole' disagree by up to") as e:
        Grid(ds)
    msg = str(e.value)
    assert "'lat'" in msg and "\n" not in msg
    assert ("'lon'" in msg) == (wrong != "latitude_only")
    with pytest.raises(ValueError, match="'rotated_pole'"):  # the operators build one too
        coriolis(ds)


def test_lcc_right_coordinates_silent_wrong_refused() -> None:
    proj = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229"
    mapping = {**HRRR, "earth_radius": R}
    good = lcc(mapping, proj, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Grid(good)
        f = coriolis(good)
    np.testing.assert_allclose(f, metpy_f(good.lat.values.astype(np.float64)), rtol=1e-6)
    bad = lcc(mapping, proj, shift=5.0)
    with pytest.raises(ValueError, match=r"latitude 'lat'/longitude 'lon' .*'crs' .* by up to 5°"):
        Grid(bad)
    # dask coordinates are not computed to check them: nothing computes building a graph
    with raise_if_dask_computes():
        Grid(bad.chunk({"y": 20, "x": 20}))


def test_coordinates_of_a_file_opened_lazily_are_checked(tmp_path) -> None:
    """A file opened without chunks: its 2-D lat/lon are read at five points when the grid
    is built."""
    proj = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229"
    path = tmp_path / "bad.nc"
    lcc({**HRRR, "earth_radius": R}, proj, shift=5.0).to_netcdf(path)
    with xr.open_dataset(path, decode_coords="all") as ds:
        with pytest.raises(ValueError, match="latitude 'lat'.*grid_mapping 'crs'"):
            daskgrad.vorticity(ds.u, ds.v, geospatial=True, winds="grid")


def test_lcc_explicit_crs_contradicted_names_the_option() -> None:
    proj = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229"
    ds = lcc({**HRRR, "earth_radius": R}, proj, shift=-5.0).drop_vars("crs")
    for v in ("u", "v"):
        del ds[v].attrs["grid_mapping"]
    with pytest.raises(OptionError) as e:
        Grid(ds, crs=proj)
    assert "the CRS of crs disagree" in str(e.value)
    assert "the CRS of --crs disagree" in e.value.worded(Flags)
    assert "'lat'" in str(e.value)


def test_wrf_sphere_with_wgs84_coordinates_accepted_f_from_coordinate() -> None:
    """WRF: the grid on a sphere of 6370 km, XLAT/XLONG written from WGS84 (up to ~0.2° from
    the sphere's points): taken silently, f from the coordinate (MetPy's f of it)."""
    params = "+proj=lcc +lat_0=38.5 +lat_1=30 +lat_2=60 +lon_0=-97.5"
    mapping = {
        "grid_mapping_name": "lambert_conformal_conic",
        "standard_parallel": [30.0, 60.0],
        "longitude_of_central_meridian": -97.5,
        "latitude_of_projection_origin": 38.5,
        "earth_radius": 6370000.0,
    }
    ds = lcc(mapping, params + " +ellps=WGS84", dtype=np.float32)
    # a continental domain, where the two earths' points differ most
    ds = ds.assign_coords(x=ds.x * 60, y=ds.y * 50)
    gx, gy = np.meshgrid(ds.x.values, ds.y.values)
    wlon, wlat = pyproj.Proj(params + " +ellps=WGS84")(gx, gy, inverse=True)
    slon, slat = pyproj.Proj(params + " +R=6370000")(gx, gy, inverse=True)
    ds["lat"], ds["lon"] = (("y", "x"), wlat.astype(np.float32)), (("y", "x"), wlon)
    assert np.abs(wlat - slat).max() > 0.02  # the two earths do differ
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Grid(ds)
        f = coriolis(ds)
    np.testing.assert_allclose(f, metpy_f(wlat.astype(np.float32)), rtol=1e-6)


def test_off_by_half_a_degree_warns_which_latitude_feeds_f() -> None:
    proj = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229"
    ds = lcc({**HRRR, "earth_radius": R}, proj, shift=0.5)
    with pytest.warns(UserWarning, match=r"f \(Coriolis\) uses 'lat'"):
        f = coriolis(ds)
    np.testing.assert_allclose(f, metpy_f(ds.lat.values), rtol=1e-6)
