"""The accessor takes every variable-like keyword by name (issue 20, new-user trial): ``w``,
``static_stability``, ``pressure``, ``latitude``/``longitude``, the positional fields. The
oracle is the public API called with the Dataset's DataArrays."""

import numpy as np
import pytest
import xarray as xr

import daskgrad

LEVELS = np.array([850.0, 700.0, 500.0])
LAT = np.arange(60.0, 29.0, -5.0)
LON = np.arange(0.0, 40.0, 5.0)
DIMS = ("level", "latitude", "longitude")
HORIZONTAL = ["latitude", "longitude"]


@pytest.fixture(scope="module")
def ds():
    """An ERA5-like Dataset: pressure levels, descending latitude, a broadcast pressure
    field, a static stability field and a 2-D latitude as data variables."""
    rng = np.random.default_rng(20)
    shape = (LEVELS.size, LAT.size, LON.size)

    def field(units):
        return (DIMS, rng.normal(size=shape), {"units": units})

    out = xr.Dataset(
        {
            "t": field("K"),
            "u": field("m s-1"),
            "v": field("m s-1"),
            "w": field("Pa s-1"),
            "z": field("m2 s-2"),
            "sigma": field("J kg-1 Pa-2"),
        },
        coords={
            "level": ("level", LEVELS, {"units": "hPa"}),
            "latitude": ("latitude", LAT, {"units": "degrees_north"}),
            "longitude": ("longitude", LON, {"units": "degrees_east"}),
        },
    )
    out["p3"] = xr.DataArray(LEVELS, dims="level", attrs={"units": "hPa"}).broadcast_like(out.t)
    lat2 = np.broadcast_to(LAT[:, None], (LAT.size, LON.size)) + 0.0
    out["lat2"] = (("latitude", "longitude"), lat2, {"units": "degrees_north"})
    return out


def _same(got, want):
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
        return
    assert got.name == want.name
    assert got.attrs == want.attrs
    np.testing.assert_array_equal(got.values, want.values)


@pytest.mark.parametrize("geospatial", [True, False])
def test_advection_w_by_name(ds, geospatial):
    """The trial's call: w by name, as the other three."""
    horizontal = {} if geospatial else {"dim": HORIZONTAL}
    got = ds.grad.advection(
        "t", "u", "v", w="w", vertical_dim="level", geospatial=geospatial, **horizontal
    )
    want = daskgrad.advection(
        ds.t, ds.u, ds.v, w=ds.w, vertical_dim="level", geospatial=geospatial, **horizontal
    )
    _same(got, want)


def test_q_vector_static_stability_and_pressure_by_name(ds):
    got = ds.grad.q_vector(
        "u", "v", "t", "p3", static_stability="sigma", vertical_dim="level", geospatial=True
    )
    want = daskgrad.q_vector(
        ds.u, ds.v, ds.t, ds.p3, static_stability=ds.sigma, vertical_dim="level", geospatial=True
    )
    _same(got, want)


def test_potential_vorticity_pressure_variable_and_coordinate(ds):
    by_var = ds.grad.potential_vorticity_baroclinic(
        "t", "p3", "u", "v", vertical_dim="level", geospatial=True
    )
    _same(
        by_var,
        daskgrad.potential_vorticity_baroclinic(
            ds.t, ds.p3, ds.u, ds.v, vertical_dim="level", geospatial=True
        ),
    )
    by_coord = ds.grad.potential_vorticity_baroclinic(
        "t", "level", "u", "v", vertical_dim="level", geospatial=True
    )
    _same(
        by_coord,
        daskgrad.potential_vorticity_baroclinic(
            ds.t, ds.level, ds.u, ds.v, vertical_dim="level", geospatial=True
        ),
    )


@pytest.mark.parametrize(
    "method",
    ["absolute_vorticity", "geostrophic_wind", "ageostrophic_wind", "potential_vorticity"],
)
def test_latitude_data_variable_by_name(ds, method):
    """latitude= naming a data variable (not a coordinate) is that variable, for f."""
    kw = {"latitude": "lat2", "dim": HORIZONTAL}
    want_kw = {"latitude": ds.lat2, "dim": HORIZONTAL}
    if method == "absolute_vorticity":
        got = ds.grad.absolute_vorticity("u", "v", **kw)
        want = daskgrad.absolute_vorticity(ds.u, ds.v, **want_kw)
    elif method == "geostrophic_wind":
        got = ds.grad.geostrophic_wind("z", **kw)
        want = daskgrad.geostrophic_wind(ds.z, **want_kw)
    elif method == "ageostrophic_wind":
        got = ds.grad.ageostrophic_wind("z", "u", "v", **kw)
        want = daskgrad.ageostrophic_wind(ds.z, ds.u, ds.v, **want_kw)
    else:
        got = ds.grad.potential_vorticity_baroclinic(
            "t", "level", "u", "v", vertical_dim="level", **kw
        )
        want = daskgrad.potential_vorticity_baroclinic(
            ds.t, "level", ds.u, ds.v, vertical_dim="level", **want_kw
        )
    _same(got, want)


def test_latitude_coordinate_name_unchanged(ds):
    got = ds.grad.absolute_vorticity("u", "v", latitude="latitude", geospatial=True)
    want = daskgrad.absolute_vorticity(ds.u, ds.v, latitude="latitude", geospatial=True)
    _same(got, want)


def test_grid_latitude_data_variable_by_name(ds):
    """geospatial=True: latitude/longitude naming data variables build the Grid from them."""
    flat = ds.isel(level=0).drop_vars("level")
    flat = flat.assign(lat1=("latitude", LAT, {"units": "degrees_north"}))
    flat = flat.assign(lon1=("longitude", LON, {"units": "degrees_east"}))
    got = flat.grad.vorticity("u", "v", latitude="lat1", longitude="lon1", geospatial=True)
    with_coords = flat.set_coords(["lat1", "lon1"])
    want = daskgrad.vorticity(
        with_coords.u, with_coords.v, latitude="lat1", longitude="lon1", geospatial=True
    )
    _same(got, want)


@pytest.mark.parametrize(
    ("call", "keyword"),
    [
        (lambda d: d.grad.advection("t", "u", "v", w="omega", vertical_dim="level"), "w="),
        (
            lambda d: d.grad.q_vector(
                "u", "v", "t", "level", static_stability="s", vertical_dim="level"
            ),
            "static_stability=",
        ),
        (
            lambda d: d.grad.q_vector("u", "v", "t", "pres", vertical_dim="level"),
            "pressure=",
        ),
        (
            lambda d: d.grad.potential_vorticity_baroclinic(
                "t", "pres", "u", "v", vertical_dim="level"
            ),
            "pressure=",
        ),
        (lambda d: d.grad.absolute_vorticity("u", "v", latitude="lat9"), "latitude="),
        (lambda d: d.grad.vorticity("u", "v", geospatial=True, longitude="lon9"), "longitude="),
        (lambda d: d.grad.advection("T", "u", "v"), "scalar="),
        (lambda d: d.grad.q_vector("u", "v", "T", "level"), "temperature="),
        (lambda d: d.grad.geostrophic_wind("Z"), "height="),
    ],
)
def test_unknown_name_is_one_line_naming_the_keyword(ds, call, keyword):
    with pytest.raises(ValueError) as err:
        call(ds)
    message = str(err.value)
    assert "\n" not in message
    assert keyword in message
    assert "not a data variable" in message or "neither a data variable" in message
