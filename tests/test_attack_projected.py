"""Issue 21 attack (projected grids): a CRS whose axes are in km, contradicting earth attributes
in a grid_mapping, latitude for f from a projected grid, a grid= of another domain. Oracles:
the same grid with a CRS in metres, MetPy with pyproj's map factors, pyproj's inverse."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import cli as run_cli  # in this process: the process is not what is tested

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LCC = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229 +units=m"
LCC_KM = LCC.replace("+units=m", "+units=km")
STEP = 30000.0


def proj_ds(crs=LCC, units="m", x0=-1.5e6, y0=-6e5, ny=28, nx=33, mapping=True):
    x = x0 + STEP * np.arange(nx)
    y = y0 + STEP * np.arange(ny)
    fac = 1000.0 if units == "km" else 1.0
    X, Y = np.meshgrid(x, y)
    a, b = (X - X.mean()) / 5e5, (Y - Y.mean()) / 5e5
    attrs = {"units": "m s-1", "grid_mapping": "crs"} if mapping else {"units": "m s-1"}
    ds = xr.Dataset(
        {
            "u": (("y", "x"), 10 + 5 * a + 3 * b * b + a * b, attrs),
            "v": (("y", "x"), -4 * a + 2 * b + a * a, attrs),
            "z": (("y", "x"), 5500 + 40 * a - 60 * b + 10 * a * b, {**attrs, "units": "m"}),
        },
        coords={
            "x": ("x", x / fac, {"standard_name": "projection_x_coordinate", "units": units}),
            "y": ("y", y / fac, {"standard_name": "projection_y_coordinate", "units": units}),
        },
    )
    if mapping:
        ds = ds.assign_coords(crs=((), 0, pyproj.CRS(crs).to_cf()))
    return ds


def metpy_vorticity(ds):
    mc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    p = pyproj.Proj(LCC)
    fac = 1000.0 if ds.x.units == "km" else 1.0
    X, Y = np.meshgrid(ds.x.values * fac, ds.y.values * fac)  # metres for the metre CRS
    f = p.get_factors(*p(X, Y, inverse=True))
    return mc.vorticity(
        ds.u.values * units("m/s"), ds.v.values * units("m/s"),
        dx=STEP * units.m, dy=STEP * units.m,
        parallel_scale=f.parallel_scale, meridional_scale=f.meridional_scale,
    ).m  # fmt: skip


INNER = (slice(2, -2), slice(2, -2))


@pytest.mark.parametrize("units", ["m", "km"])
def test_crs_in_km_gives_the_metre_grids_numbers(units):
    import daskgrad as dg

    ref = dg.vorticity(*(proj_ds()[n] for n in "uv"), geospatial=True, winds="grid")
    ds = proj_ds(crs=LCC_KM, units=units)
    got = dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid")
    scale = np.abs(ref.values).max()
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-9 * scale)
    mp = metpy_vorticity(ds)
    np.testing.assert_allclose(got.values[INNER], mp[INNER], rtol=0, atol=1e-4 * scale)
    # the gradient, lazily on dask chunks, turned eastward/northward
    gref = dg.geospatial_gradient(proj_ds().z)
    gkm = dg.geospatial_gradient(ds.z.chunk({"y": 10, "x": 12}))
    for a, b in zip(gkm, gref, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-9 * abs(b.values).max())


def test_crs_in_km_given_as_crs_argument():
    import daskgrad as dg

    ref = dg.vorticity(*(proj_ds()[n] for n in "uv"), geospatial=True, winds="grid")
    ds = proj_ds(mapping=False)
    grid = dg.Grid(ds, crs=LCC_KM)
    got = dg.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=grid)
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-9 * abs(ref.values).max())


def test_crs_in_km_from_the_command_line(tmp_path, dask_cluster):
    import daskgrad as dg

    ds = proj_ds(mapping=False)
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.to_zarr(inp)
    r = run_cli(
        "run", inp, out, "--geospatial", "--vorticity", "u,v", "--winds", "grid", "--var", "u",
        "--crs", LCC_KM, "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ref = dg.vorticity(*(proj_ds()[n] for n in "uv"), geospatial=True, winds="grid")
    got = xr.open_zarr(out)["vort_u_v"].values
    np.testing.assert_allclose(got, ref.values, rtol=0, atol=1e-9 * abs(ref.values).max())


def _cf_without_wkt(**earth):
    cf = {k: v for k, v in pyproj.CRS(LCC).to_cf().items() if k != "crs_wkt"}
    return {**cf, **earth}


@pytest.mark.parametrize(
    "earth, names",
    [
        ({"earth_radius": 6370000.0}, ("earth_radius", "semi_major_axis")),
        (
            {
                "earth_radius": 6371229.0,
                "semi_major_axis": 6378137.0,
                "inverse_flattening": 298.257,
            },
            ("earth_radius", "semi_major_axis"),
        ),
        ({"semi_minor_axis": 6356752.3, "inverse_flattening": 0.0}, ("semi_minor_axis",)),
    ],
)
def test_contradicting_earth_attributes_are_refused(earth, names):
    import daskgrad as dg

    ds = proj_ds(mapping=False).assign_coords(crs=((), 0, _cf_without_wkt(**earth)))
    for v in ("u", "v", "z"):
        ds[v].attrs["grid_mapping"] = "crs"
    with pytest.raises(ValueError) as err:
        dg.Grid(ds)
    msg = str(err.value)
    assert "\n" not in msg and "'crs'" in msg and "contradict" in msg
    assert all(n in msg for n in names), msg


def test_earth_attributes_against_crs_wkt_are_refused():
    import daskgrad as dg

    cf = {**pyproj.CRS(LCC).to_cf(), "earth_radius": 6370000.0}
    cf.pop("semi_major_axis"), cf.pop("semi_minor_axis"), cf.pop("inverse_flattening")
    ds = proj_ds(mapping=False).assign_coords(crs=((), 0, cf))
    ds["u"].attrs["grid_mapping"] = "crs"
    with pytest.raises(ValueError, match="earth_radius and crs_wkt contradict"):
        dg.Grid(ds)


def test_consistent_earth_attributes_are_used():
    """A sphere said twice (earth_radius = semi_major_axis) or WGS84's three numbers agree;
    the earth is pyproj's (the oracle)."""
    import daskgrad as dg

    ds = proj_ds(mapping=False).assign_coords(crs=((), 0, _cf_without_wkt(earth_radius=6371229.0)))
    ds["u"].attrs["grid_mapping"] = "crs"
    assert "R=6371229 m" in dg.Grid(ds).describe()
    wgs = pyproj.CRS("+proj=lcc +lat_1=38.5 +lat_0=38.5 +lon_0=262.5 +ellps=WGS84").to_cf()
    ds = ds.assign_coords(crs=((), 0, {k: v for k, v in wgs.items() if k != "crs_wkt"}))
    assert "WGS84" in dg.Grid(ds).describe() or "298.257" in dg.Grid(ds).describe()


def _pyproj_latitude(ds):
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    return pyproj.Proj(LCC)(X, Y, inverse=True)[1]


def test_absolute_vorticity_takes_latitude_from_the_projected_grid():
    import daskgrad as dg

    mc = pytest.importorskip("metpy.calc")
    from metpy.units import units

    ds = proj_ds()
    assert not any("lat" in str(n) for n in ds.coords)
    got = dg.absolute_vorticity(ds.u, ds.v, geospatial=True, winds="grid")
    p = pyproj.Proj(LCC)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    f = p.get_factors(*p(X, Y, inverse=True))
    ref = mc.absolute_vorticity(
        ds.u.values * units("m/s"), ds.v.values * units("m/s"),
        dx=STEP * units.m, dy=STEP * units.m, latitude=_pyproj_latitude(ds) * units.degree,
        parallel_scale=f.parallel_scale, meridional_scale=f.meridional_scale,
    ).m  # fmt: skip
    scale = np.abs(ref).max()
    np.testing.assert_allclose(got.values[INNER], ref[INNER], rtol=0, atol=1e-4 * scale)


def test_geostrophic_wind_latitude_from_the_grid_lazily():
    """Without a latitude coordinate, as with the 2-D latitude pyproj gives added as one;
    dask input stays lazy (chunks of the data)."""
    import daskgrad as dg

    ds = proj_ds()
    with_lat = ds.assign_coords(lat=(("y", "x"), _pyproj_latitude(ds), {"units": "degrees_north"}))
    ref = dg.geostrophic_wind(with_lat.z, geospatial=True, winds="grid")
    lazy = ds.z.chunk({"y": 10, "x": 12})
    got = dg.geostrophic_wind(lazy, geospatial=True, winds="grid")
    for a, b in zip(got, ref, strict=True):
        assert a.chunks == lazy.chunks
        np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-10 * abs(b.values).max())
    got = dg.geostrophic_wind(ds.z, geospatial=True, winds="grid")
    np.testing.assert_allclose(got[0].values, ref[0].values, rtol=1e-10, atol=0)


def _one_line_naming_grid(err, *parts):
    msg = str(err.value)
    assert "\n" not in msg and "grid" in msg, msg
    assert all(p in msg for p in parts), msg


def test_rotate_winds_with_the_grid_of_another_domain():
    import daskgrad as dg

    ds = proj_ds()
    other = dg.Grid(proj_ds(x0=0.0, nx=10))
    with pytest.raises(ValueError) as err:
        dg.rotate_winds(ds.u, ds.v, other, to="earth")
    _one_line_naming_grid(err, "'x': 10", "'x': 33")
    # same shape, other place: the coordinates differ
    shifted = dg.Grid(proj_ds(x0=0.0))
    with pytest.raises(ValueError) as err:
        dg.rotate_winds(ds.u, ds.v, shifted, to="earth")
    _one_line_naming_grid(err, "'x'")


@pytest.mark.parametrize("op", ["vorticity", "divergence"])
def test_operator_with_a_grid_of_another_shape(op):
    import daskgrad as dg

    ds = proj_ds()
    with pytest.raises(ValueError) as err:
        getattr(dg, op)(ds.u, ds.v, geospatial=True, winds="grid", grid=dg.Grid(proj_ds(ny=10)))
    _one_line_naming_grid(err, "'y': 10", "'y': 28")
    with pytest.raises(ValueError) as err:
        dg.geospatial_gradient(ds.z, grid=dg.Grid(proj_ds(ny=10)))
    _one_line_naming_grid(err, "'y': 10", "'y': 28")
    # the grid of the data itself still works, and equals the default (numpy oracle: same call)
    grid = dg.Grid(ds)
    a = getattr(dg, op)(ds.u, ds.v, geospatial=True, winds="grid", grid=grid)
    b = getattr(dg, op)(ds.u, ds.v, geospatial=True, winds="grid")
    np.testing.assert_array_equal(a.values, b.values)
