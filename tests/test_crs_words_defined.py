"""A crs= that contradicts the data's grid_mapping is refused naming the data's CRS by its
projection (pyproj's method name and PROJ string), never as pyproj's 'undefined'."""

import numpy as np
import pyproj
import pytest
import xarray as xr

import daskgrad

LCC = {
    "grid_mapping_name": "lambert_conformal_conic",
    "standard_parallel": [30.0, 60.0],
    "longitude_of_central_meridian": -100.0,
    "latitude_of_projection_origin": 45.0,
    "earth_radius": 6371229.0,
}


def test_contradicting_crs_names_the_data_crs():
    x = np.arange(-5e5, 5e5, 1e5)
    m = {"units": "m"}
    t = xr.DataArray(
        np.zeros((x.size, x.size)),
        dims=("y", "x"),
        coords={
            "x": ("x", x, {**m, "standard_name": "projection_x_coordinate"}),
            "y": ("y", x, {**m, "standard_name": "projection_y_coordinate"}),
            "crs": ((), 0, LCC),
        },
        attrs={"grid_mapping": "crs", "units": "K"},
    )
    data_crs = pyproj.CRS.from_cf(LCC)
    assert data_crs.name == "undefined"  # what the message must not repeat
    with pytest.raises(ValueError) as info:
        daskgrad.geospatial_gradient(t, crs="EPSG:3413")
    msg = str(info.value)
    assert "'undefined'" not in msg and "\n" not in msg
    assert data_crs.coordinate_operation.method_name in msg
    assert "+proj=lcc" in msg and "+lat_1=30" in msg
    assert pyproj.CRS.from_user_input("EPSG:3413").name in msg
