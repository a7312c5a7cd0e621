"""One vocabulary for gradients and operators: long_name, ``dim``, the accessor's arguments, and
warnings that point at the user's line. Values against numpy.gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import daskgrad

LAT = {"units": "degrees_north"}
LON = {"units": "degrees_east"}


def field(name="t", long_name="Temperature"):
    lat, lon = np.arange(-30, 31.0, 10.0), np.arange(0, 60, 10.0)
    coords = {"lat": ("lat", lat, LAT), "lon": ("lon", lon, LON)}
    f = np.random.default_rng(0).random((lat.size, lon.size))
    attrs = {"units": "K"} | ({"long_name": long_name} if long_name else {})
    return xr.DataArray(f, coords, ("lat", "lon"), name=name, attrs=attrs)


def winds(cartesian=False):
    t = field()
    u = (t * 2).rename("u").assign_attrs(long_name="Eastward wind", units="m s-1")
    v = (t**2).rename("v").assign_attrs(long_name="Northward wind", units="m s-1")
    if cartesian:
        x = {"units": "m"}
        u, v = (
            a.assign_coords(lat=("lat", a.lat.values * 1e3, x), lon=("lon", a.lon.values * 1e3, x))
            for a in (u, v)
        )
    return u, v


# --- long_name --------------------------------------------------------------------------------


def test_operators_name_what_they_differentiate_by_long_name():
    """The gradient says "eastward derivative of Temperature"; the operators said
    "Laplacian of t". One rule: the input's long_name, else its name (the wind's components by
    name: see xr.kinematic_units.long_name)."""
    t = field()
    (grad,) = daskgrad.gradient(t, dim="lon")
    assert "Temperature" in grad.attrs["long_name"]
    for geo in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per degree
            lap = daskgrad.laplacian(t, geospatial=geo)
        assert lap.attrs["long_name"].startswith("Laplacian of Temperature"), lap.attrs
        assert lap.name == "lap_t"
    u, v = winds(cartesian=True)
    vort = daskgrad.vorticity(u, v, dim=("lon", "lat"))
    # the wind's components by name: not their long_names joined by "and" (trial, item 6)
    assert vort.attrs["long_name"] == "relative vorticity of winds u and v"
    assert vort.name == "vort_u_v"
    bare = daskgrad.divergence(u.drop_attrs(), v.drop_attrs(), dim=("lon", "lat"))
    assert bare.attrs["long_name"] == "divergence of winds u and v"


# --- dim, with dims as an alias -----------------------------------------------------------------


def test_operators_take_dim_like_gradient():
    f = np.random.default_rng(1).random((5, 6, 7))
    lap = daskgrad.laplacian(f, dim=(1, 2))
    np.testing.assert_array_equal(lap, daskgrad.laplacian(f, dims=(1, 2)))
    # inside: the 3-point second differences (numpy's diff of order 2) along both dims
    second = np.diff(f, 2, axis=1)[:, :, 1:-1] + np.diff(f, 2, axis=2)[:, 1:-1, :]
    np.testing.assert_allclose(lap[:, 1:-1, 1:-1], second, rtol=1e-12)
    u, v = f[0], f[1]
    div = daskgrad.divergence(u, v, dim=(1, 0))
    np.testing.assert_allclose(div, np.gradient(u, axis=1) + np.gradient(v, axis=0))
    vort = daskgrad.vorticity(u, v, dim=(1, 0))
    np.testing.assert_allclose(vort, np.gradient(v, axis=1) - np.gradient(u, axis=0))
    ua, va = winds(cartesian=True)
    da_vort = daskgrad.vorticity(ua, va, dim=["lon", "lat"])
    xs, ys = ua.lon.values, ua.lat.values
    ref = np.gradient(va.values, xs, axis=1) - np.gradient(ua.values, ys, axis=0)
    np.testing.assert_allclose(da_vort.values, ref, rtol=1e-12)
    assert daskgrad.laplacian(ua, dim="lon").identical(daskgrad.laplacian(ua, dims="lon"))


@pytest.mark.parametrize("op", ["divergence", "vorticity", "laplacian"])
def test_dim_and_dims_together_is_a_type_error_naming_both(op):
    args = (np.ones((4, 5)),) * (1 if op == "laplacian" else 2)
    with pytest.raises(TypeError, match=r"dim or its alias dims, not both") as info:
        getattr(daskgrad, op)(*args, dim=(1, 0), dims=(1, 0))
    assert "dim=(1, 0)" in str(info.value) and "dims=(1, 0)" in str(info.value)


def test_wrong_number_of_dims_message_uses_dim():
    u, v = winds(cartesian=True)
    with pytest.raises(ValueError, match=r"needs dim=\(x, y\)"):
        daskgrad.vorticity(u, v, dim="lon")


# --- the accessor takes the Dataset's own DataArrays --------------------------------------------


def test_accessor_operators_accept_the_datasets_own_dataarrays():
    u, v = winds(cartesian=True)
    ds = xr.Dataset({"u": u, "v": v, "t": field().assign_coords(u.coords)})
    ref = np.gradient(v.values, u.lon.values, axis=1) - np.gradient(u.values, u.lat.values, axis=0)
    for vort in (ds.grad.vorticity(ds.u, ds.v), ds.grad.vorticity(ds["u"], "v")):
        np.testing.assert_allclose(vort.values, ref, rtol=1e-12)
        assert vort.name == "vort_u_v"
    div = ds.grad.divergence(ds.u, ds.v, dim=("lon", "lat"))
    ref = np.gradient(u.values, u.lon.values, axis=1) + np.gradient(v.values, u.lat.values, axis=0)
    np.testing.assert_allclose(div.values, ref, rtol=1e-12)
    assert ds.grad.laplacian(ds.t).identical(ds.grad.laplacian("t"))
    other = ds.copy(deep=True)
    for bad in (other.u, ds.u * 2, xr.DataArray(u.values, dims=u.dims)):
        with pytest.raises(TypeError, match="pass variable names") as info:
            ds.grad.vorticity(bad, ds.v)
        assert "\n" not in str(info.value)


# --- warnings point at the caller -------------------------------------------------------------


def _warned_here(call, match):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    hits = [w for w in caught if match in str(w.message)]
    assert hits, [str(w.message) for w in caught]
    for w in hits:
        assert w.filename == __file__, (w.filename, w.lineno, str(w.message))


@pytest.mark.parametrize(
    "how",
    [
        "divergence",
        "vorticity",
        "laplacian",
        "accessor-divergence",
        "accessor-vorticity",
        "accessor-laplacian",
        "accessor-laplacian-dataarray",
    ],
)
def test_per_degree_warning_points_at_the_callers_line(how):
    u, v = winds()
    ds = xr.Dataset({"u": u, "v": v})
    calls = {
        "divergence": lambda: daskgrad.divergence(u, v, dim=["lon", "lat"]),
        "vorticity": lambda: daskgrad.vorticity(u, v, dim=["lon", "lat"]),
        "laplacian": lambda: daskgrad.laplacian(u),
        "accessor-divergence": lambda: ds.grad.divergence("u", "v", dim=["lon", "lat"]),
        "accessor-vorticity": lambda: ds.grad.vorticity("u", "v", dim=["lon", "lat"]),
        "accessor-laplacian": lambda: ds.grad.laplacian("u"),
        "accessor-laplacian-dataarray": lambda: u.grad.laplacian(),
    }
    _warned_here(calls[how], "per degree")


@pytest.mark.parametrize(
    "how", ["geospatial_gradient", "dataset", "accessor", "laplacian", "vorticity"]
)
def test_radians_like_latitude_warning_points_at_the_callers_line(how):
    """A latitude without units whose values all lie within ±π/2 is taken as degrees, with a
    warning: at the line that called daskgrad, however it was reached."""
    lat, lon = np.linspace(-1.2, 1.2, 9), np.linspace(0.0, 3.0, 8)
    data = np.random.default_rng(2).random((9, 8))
    f = xr.DataArray(data, {"lat": lat, "lon": lon}, ("lat", "lon"), name="f")
    calls = {
        "geospatial_gradient": lambda: daskgrad.geospatial_gradient(f),
        "dataset": lambda: daskgrad.geospatial_gradient(f.to_dataset()),
        "accessor": lambda: f.grad.geospatial(),
        "laplacian": lambda: daskgrad.laplacian(f, geospatial=True),
        "vorticity": lambda: f.to_dataset().assign(g=f).grad.vorticity("f", "g", geospatial=True),
    }
    _warned_here(calls[how], "taken as degrees")


def test_gradient_warns_from_nowhere_inside_daskgrad():
    """gradient itself has no warnings of its own: none from a daskgrad file on plain use."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        daskgrad.gradient(field(), dim="lon")
        daskgrad.np_gradient(np.arange(5.0))
    assert not [w for w in caught if "daskgrad" in w.filename], [str(w.message) for w in caught]
