"""The public Grid (issue 21 / 19): built from CF metadata, the earth the data says it is on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")

import daskgrad  # noqa: E402
from daskgrad import Grid, geospatial_gradient, laplacian  # noqa: E402

R_DEFAULT = 6371008.8


def latlon(mapping=None, name="T"):
    lat = np.arange(-60.0, 61.0, 5.0)
    lon = np.arange(0.0, 360.0, 10.0)
    f = np.cos(np.radians(lat))[:, None] ** 2 * np.sin(np.radians(lon))
    attrs = {"units": "K"}
    ds = xr.Dataset(coords={"lat": lat, "lon": lon})
    if mapping is not None:
        attrs["grid_mapping"] = "crs"
        ds["crs"] = ((), 0, mapping)
    ds[name] = (("lat", "lon"), f, attrs)
    return ds


SPHERE_637 = {"grid_mapping_name": "latitude_longitude", "earth_radius": 6370000.0}


def test_sphere_of_the_grid_mapping_scales_first_derivatives():
    plain = geospatial_gradient(latlon())
    on_data = geospatial_gradient(latlon(SPHERE_637))
    ratio = R_DEFAULT / 6370000.0
    for v in ("dT_dx", "dT_dy"):
        ok = np.isfinite(plain[v].values)
        np.testing.assert_allclose(on_data[v].values[ok], plain[v].values[ok] * ratio, rtol=1e-12)
    assert on_data["dT_dx"].attrs["earth"] == "sphere R=6370000 m"
    assert plain["dT_dx"].attrs["earth"] == "sphere R=6371008.8 m"


def test_sphere_of_the_grid_mapping_scales_the_laplacian_by_its_square():
    ds, plain = latlon(SPHERE_637), latlon()
    a = laplacian(ds["T"].assign_coords(crs=ds["crs"]), geospatial=True)
    b = laplacian(plain["T"], geospatial=True)
    np.testing.assert_allclose(a.values, b.values * (R_DEFAULT / 6370000.0) ** 2, rtol=1e-12)


def test_decoded_grid_mapping_in_a_dataarrays_coords_is_used():
    ds = latlon(SPHERE_637).set_coords("crs")
    da = ds["T"]
    da.encoding["grid_mapping"] = da.attrs.pop("grid_mapping")  # as decode_coords="all" leaves it
    dx, _ = geospatial_gradient(da)
    assert dx.attrs["earth"] == "sphere R=6370000 m"


def test_ellipsoid_of_the_grid_mapping_is_wgs84_when_it_is():
    mapping = {
        "grid_mapping_name": "latitude_longitude",
        "semi_major_axis": 6378137.0,
        "inverse_flattening": 298.257223563,
    }
    a = geospatial_gradient(latlon(mapping))
    b = geospatial_gradient(latlon(), earth="wgs84")
    np.testing.assert_array_equal(a["dT_dy"].values, b["dT_dy"].values)
    assert a["dT_dy"].attrs["earth"] == "WGS84 ellipsoid a=6378137 m 1/f=298.257223563"
    geospatial_gradient(latlon(mapping), earth="wgs84")  # agrees: fine


def test_other_ellipsoid_from_the_data():
    mapping = {
        "grid_mapping_name": "latitude_longitude",
        "semi_major_axis": 6377397.155,
        "inverse_flattening": 299.1528128,
    }  # Bessel 1841
    out = geospatial_gradient(latlon(mapping))
    a, f = 6377397.155, 1 / 299.1528128
    e2 = f * (2 - f)
    phi = np.radians(out.lat.values)
    m_radius = a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5
    sphere = geospatial_gradient(latlon(), radius=1.0)  # derivatives per radian of latitude
    np.testing.assert_allclose(
        out["dT_dy"].values, sphere["dT_dy"].values / m_radius[:, None], rtol=1e-12
    )
    assert out["dT_dy"].attrs["earth"].startswith("ellipsoid a=6377397.155 m 1/f=299.15")


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"earth": "wgs84"}, ["earth='wgs84'", "grid_mapping 'crs'", "sphere R=6370000 m"]),
        ({"radius": 6371008.8}, ["radius=6371008.8", "grid_mapping 'crs'"]),
    ],
)
def test_an_earth_contradicting_the_grid_mapping_is_refused(kw, words):
    with pytest.raises(ValueError) as err:
        geospatial_gradient(latlon(SPHERE_637), **kw)
    for w in words:
        assert w in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_an_earth_agreeing_with_the_grid_mapping_is_fine():
    a = geospatial_gradient(latlon(SPHERE_637), earth="sphere", radius=6370000.0)
    b = geospatial_gradient(latlon(SPHERE_637))
    xr.testing.assert_identical(a, b)


def test_explicit_geographic_crs_gives_the_earth():
    a = geospatial_gradient(latlon(), crs="+proj=longlat +R=6370000")
    b = geospatial_gradient(latlon(SPHERE_637))
    np.testing.assert_array_equal(a["dT_dx"].values, b["dT_dx"].values)
    with pytest.raises(ValueError, match=r"crs.*contradicts grid_mapping 'crs'"):
        geospatial_gradient(latlon(SPHERE_637), crs=4326)


def test_grid_mapping_lost_from_a_dataarray_is_said():
    da = latlon(SPHERE_637)["T"]  # the crs variable is not carried by ds["T"]
    with pytest.warns(UserWarning, match="grid_mapping 'crs'"):
        dx, _ = geospatial_gradient(da)
    assert dx.attrs["earth"] == "sphere R=6371008.8 m"


def projected(units="m", mapping=True):
    step = 3.0 if units == "km" else 3000.0
    x = np.arange(-5, 6) * step
    y = np.arange(-4, 5) * step
    ds = xr.Dataset(
        {"T": (("y", "x"), np.zeros((y.size, x.size)), {"grid_mapping": "lcc"} if mapping else {})},
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": units}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": units}),
        },
    )
    if mapping:
        ds["lcc"] = ((), 0, HRRR_CF)
    return ds


HRRR_CF = {
    "grid_mapping_name": "lambert_conformal_conic",
    "standard_parallel": 38.5,
    "longitude_of_central_meridian": 262.5,
    "latitude_of_projection_origin": 38.5,
    "earth_radius": 6371229.0,
}


def test_projected_grid_from_cf_metadata_in_km_and_m():
    g_m, g_km = Grid(projected("m")), Grid(projected("km"))
    assert g_m.projected and g_km.projected and g_m.dims == ("y", "x")
    np.testing.assert_allclose(g_km.x, g_m.x)
    assert g_m.earth.describe() == "sphere R=6371229 m"
    assert "projected grid 'x'/'y'" in g_m.describe()


@pytest.mark.parametrize(
    "crs",
    [
        "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229",
        HRRR_CF,
        pyproj.CRS.from_cf(HRRR_CF),
    ],
)
def test_projected_grid_from_an_explicit_crs(crs):
    grid = Grid(projected(mapping=False), crs=crs)
    assert grid.projected and grid.crs.is_projected
    assert grid.earth.describe() == "sphere R=6371229 m"


def test_epsg_code():
    grid = Grid(projected(mapping=False), crs=32633)  # UTM 33N on WGS84
    assert grid.projected and grid.earth.kind == "wgs84"


def test_projected_coordinates_without_crs_is_refused_naming_crs():
    with pytest.raises(ValueError, match=r"need a projected CRS.*pass crs") as err:
        Grid(projected(mapping=False))
    assert err.value.option == "crs"


def test_projected_crs_without_xy_is_refused():
    with pytest.raises(ValueError, match=r"crs=.*no projection x/y coordinates"):
        Grid(latlon(), crs=HRRR_CF)


def test_bad_crs_names_it():
    with pytest.raises(ValueError, match=r"crs is not a CRS pyproj knows"):
        Grid(projected(mapping=False), crs="+proj=nonsense")


def test_a_grid_is_passed_and_reused():
    ds = latlon(SPHERE_637)
    grid = Grid(ds)
    out = geospatial_gradient(ds, grid=grid)
    xr.testing.assert_identical(out, geospatial_gradient(ds))
    with pytest.raises(TypeError, match=r"grid= is given: \['earth'\]"):
        geospatial_gradient(ds, grid=grid, earth="wgs84")


def test_grid_is_public_and_lat_lon_unchanged():
    assert "Grid" in daskgrad.__all__ and "rotate_winds" in daskgrad.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid = Grid(latlon())
    assert not grid.projected and grid.periodic and grid.dims == ("lat", "lon")
