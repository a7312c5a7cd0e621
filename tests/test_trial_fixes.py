"""What a new user found trying the kinematics and projected grids (issues 20/21): grid-relative
winds on a grid whose x/y directions are unknown, the grid_mapping on the command line's
outputs, messages in the caller's words."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from .conftest import cli as daskgrad  # in this process: the process is not what is tested

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
pytest.importorskip("metpy.xarray")  # the .metpy accessor places the outputs
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LCC = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229 +units=m"


def hrrr_like(mapping: bool = True, xy: bool = True, names=("latitude", "longitude")):
    """An LCC grid (HRRR's projection, 30 km) with 2-D latitude/longitude from pyproj, and
    grid-relative winds; ``mapping``: a CF grid_mapping variable named by the winds; ``xy``:
    projection x/y coordinates (cfgrib writes neither)."""
    crs = pyproj.CRS(LCC)
    x = -1.5e6 + 30000.0 * np.arange(24)
    y = -6e5 + 30000.0 * np.arange(20)
    X, Y = np.meshgrid(x, y)
    lon, lat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(X, Y)
    rng = np.random.default_rng(0)
    attrs = {"units": "m s-1", **({"grid_mapping": "lcc"} if mapping else {})}
    ds = xr.Dataset(
        {
            "u": (("y", "x"), 10 + rng.standard_normal(X.shape), attrs),
            "v": (("y", "x"), 1e-5 * X + rng.standard_normal(X.shape), attrs),
        },
        coords={
            names[0]: (("y", "x"), lat, {"units": "degrees_north"}),
            names[1]: (("y", "x"), lon, {"units": "degrees_east"}),
        },
    )
    if xy:
        ds = ds.assign_coords(
            x=("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            y=("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        )
    if mapping:
        ds["lcc"] = ((), 0, crs.to_cf())
    return ds


# --- 1. winds="grid" where the grid's x/y directions are unknown ------------------------------


def _refused(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, not warned about and computed
        with pytest.raises(ValueError) as e:
            fn(*args, **kw)
    msg = str(e.value)
    assert "winds" in msg and "crs" in msg and "rotate_winds" in msg, msg
    assert "Grid(" in msg, msg
    assert len(msg.splitlines()) == 1
    return msg


def test_winds_grid_refused_on_a_dataarray_whose_grid_mapping_is_not_attached():
    import daskgrad as dg

    ds = hrrr_like()  # ds.u names grid_mapping "lcc" but does not carry it: 2-D lat/lon found
    for fn in (dg.vorticity, dg.divergence, dg.shearing_deformation):
        _refused(fn, ds.u, ds.v, geospatial=True, winds="grid")
    # the Dataset's grid (its grid_mapping) makes it work, and differs from the lat/lon answer
    vort = dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=dg.Grid(ds))
    assert np.isfinite(vort.values).all()


def test_winds_grid_refused_without_grid_mapping_cfgrib_and_wrf_style():
    import daskgrad as dg

    ds = hrrr_like(mapping=False, xy=False)  # as cfgrib writes HRRR
    _refused(dg.vorticity, ds.u, ds.v, geospatial=True, winds="grid")
    _refused(dg.frontogenesis, ds.u, ds.u, ds.v, geospatial=True, winds="grid")
    wrf = hrrr_like(mapping=False, xy=False, names=("XLAT", "XLONG"))
    _refused(
        dg.divergence, wrf.u, wrf.v, geospatial=True, winds="grid", latitude="XLAT",
        longitude="XLONG",
    )  # fmt: skip
    # earth-relative winds on the same 2-D grid are fine
    kw = {"geospatial": True, "latitude": "XLAT", "longitude": "XLONG"}
    a = dg.divergence(wrf.u, wrf.v, winds="earth", **kw)
    np.testing.assert_array_equal(a.values, dg.divergence(wrf.u, wrf.v, **kw).values)


def latlon_1d(mapping_attr: bool):
    lat, lon = np.arange(20.0, 50.1, 1.0), np.arange(250.0, 290.1, 1.0)
    rng = np.random.default_rng(1)
    attrs = {"units": "m s-1", **({"grid_mapping": "crs"} if mapping_attr else {})}
    shape = (lat.size, lon.size)
    return xr.Dataset(
        {"u": (("lat", "lon"), rng.standard_normal(shape), attrs),
         "v": (("lat", "lon"), rng.standard_normal(shape), attrs)},
        coords={"lat": lat, "lon": lon},
    )  # fmt: skip


def test_winds_grid_on_1d_latlon_is_the_eastward_northward_answer():
    import daskgrad as dg

    ds = latlon_1d(False)
    a = dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid")
    b = dg.vorticity(ds.u, ds.v, geospatial=True, winds="earth")
    np.testing.assert_array_equal(a.values, b.values)


def test_winds_grid_refused_on_1d_latlon_naming_an_absent_grid_mapping():
    import daskgrad as dg

    ds = latlon_1d(True)  # "crs" named, not there: a rotated pole, perhaps
    msg = _refused(dg.vorticity, ds.u, ds.v, geospatial=True, winds="grid")
    assert "'crs'" in msg
    with pytest.warns(UserWarning, match="not among its coords"):
        dg.vorticity(ds.u, ds.v, geospatial=True, winds="earth")


def test_cli_winds_grid_refused_on_2d_latlon_without_a_crs(tmp_path):
    inp = tmp_path / "in.nc"
    hrrr_like(mapping=False, xy=False).to_netcdf(inp)
    r = daskgrad(
        "run", inp, tmp_path / "o.zarr", "--geospatial", "--vorticity", "u,v", "--winds", "grid"
    )
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "--winds" in err and "--crs" in err, err
    assert "winds=" not in err and "grid=" not in err, err


# --- 2. the grid_mapping on the outputs ---------------------------------------------------------


def _placed(var, crs):
    """MetPy finds the CRS of ``var`` (its grid_mapping) and it is ``crs``."""
    found = var.metpy.pyproj_crs
    assert found.equals(crs, ignore_axis_order=True), found


@pytest.mark.parametrize("how", ["geospatial", "plain"])
def test_cli_output_keeps_the_grid_mapping(tmp_path, how, dask_cluster):
    ds = hrrr_like()
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"y": 10, "x": 12}).to_zarr(inp)
    args = (
        ["--geospatial", "--vorticity", "u,v", "--winds", "grid", "--var", "u"]
        if how == "geospatial"
        else ["--dim", "x", "--dim", "y", "--var", "u"]
    )
    r = daskgrad("run", inp, out, *args, "--scheduler-file", dask_cluster, "--no-progress")
    assert r.returncode == 0, r.stderr
    got = xr.open_zarr(out)
    assert "lcc" in got.variables and got["lcc"].dims == ()
    assert pyproj.CRS.from_cf(got["lcc"].attrs).equals(pyproj.CRS(LCC))
    outputs = ["vort_u_v", "du_dx", "du_dy"] if how == "geospatial" else ["du_dx", "du_dy"]
    for name in outputs:
        assert got[name].attrs.get("grid_mapping") == "lcc", (name, got[name].attrs)
        _placed(got.metpy.parse_cf(name), pyproj.CRS(LCC))


def test_api_results_keep_the_grid_mapping_attr():
    import daskgrad as dg

    ds = hrrr_like()
    grid = dg.Grid(ds)
    outs = [
        dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=grid),
        dg.shearing_deformation(ds.u, ds.v, geospatial=True, winds="grid", grid=grid),
        *dg.geospatial_gradient(ds.u, grid=grid),
        *dg.geostrophic_wind(
            ds.u.assign_attrs(units="m"), geospatial=True, winds="grid", grid=grid
        ),
    ]
    for o in outs:
        assert o.attrs.get("grid_mapping") == "lcc", (o.name, o.attrs)
    # in a Dataset with the grid-mapping variable, MetPy places them
    placed = xr.Dataset({"vort": outs[0], "lcc": ds["lcc"]}).metpy.parse_cf("vort")
    _placed(placed, pyproj.CRS(LCC))
    # without a grid_mapping in: none out
    plain = latlon_1d(False)
    assert "grid_mapping" not in dg.vorticity(plain.u, plain.v, geospatial=True).attrs


# --- 3. messages in the caller's words, saying what is wrong ----------------------------------


def test_crs_without_projection_coordinates_worded_for_each_caller(tmp_path):
    import daskgrad as dg

    ds = hrrr_like(mapping=False, xy=False)
    with pytest.raises(ValueError) as e:
        dg.Grid(ds, crs=LCC)
    msg = str(e.value)
    assert "x=" in msg and "y=" in msg and "projection_x_coordinate" in msg, msg
    inp = tmp_path / "in.nc"
    ds.to_netcdf(inp)
    r = daskgrad("run", inp, tmp_path / "o.zarr", "--geospatial", "--var", "u", "--crs", LCC)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert "--x" not in err and "--y" not in err and "x=" not in err, err
    for words in ("--crs", "projection_x_coordinate", "projection_y_coordinate", "m or km"):
        assert words in err, err


def test_q_vector_on_a_projected_grid_on_one_pressure_level():
    # once refused ("not on a projected grid"); issue 21 asks every kinematic function to take
    # winds= there. A uniform temperature has no gradient: Q = 0 exactly (analytic).
    import daskgrad as dg

    ds = hrrr_like()
    t = (ds.u * 0 + 280.0).assign_attrs(units="K")
    q1, q2 = dg.q_vector(ds.u, ds.v, t, 85000.0, geospatial=True, winds="grid", grid=dg.Grid(ds))
    assert q1.shape == ds.u.shape and q2.shape == ds.u.shape
    assert np.all(np.asarray(q1) == 0) and np.all(np.asarray(q2) == 0)


def test_wrf_latitude_with_time_suggests_selecting_one():
    import daskgrad as dg

    wrf = hrrr_like(mapping=False, xy=False, names=("XLAT", "XLONG"))
    wrf = wrf.rename(y="south_north", x="west_east")
    xlat = wrf.XLAT.expand_dims(Time=2)  # as wrfout stores it
    xlong = wrf.XLONG.expand_dims(Time=2)
    u = wrf.u.expand_dims(Time=2).assign_coords(XLAT=xlat, XLONG=xlong)
    with pytest.raises(ValueError) as e:
        dg.geospatial_gradient(u, latitude="XLAT", longitude="XLONG")
    assert "XLAT.isel(Time=0)" in str(e.value), str(e.value)
