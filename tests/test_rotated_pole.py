"""Rotated-pole grids (issue 21; CF ``rotated_latitude_longitude``, COSMO/CORDEX output): the
rotation angle against pyproj, MetPy's map-factor forms on the rotated sphere, analytic fields
of true latitude/longitude, solid-body rotation about the true axis, a regular grid at
coinciding points, the earth, laziness, and the command line on a CORDEX-like store."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
mpcalc = pytest.importorskip("metpy.calc")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
from metpy.units import units as mu  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad import (  # noqa: E402
    Grid,
    divergence,
    geospatial_gradient,
    laplacian,
    rotate_winds,
    vorticity,
)

from .conftest import cli as run_cli  # noqa: E402  (in this process: the process is not what is tested)
from .conftest import raise_if_dask_computes  # noqa: E402

R = 6371229.0  # COSMO's sphere
EUR = {"grid_north_pole_latitude": 39.25, "grid_north_pole_longitude": -162.0}  # EURO-CORDEX
# a pole that puts the true north pole inside the grid, with a grid longitude for it
ARCTIC = {
    "grid_north_pole_latitude": 5.3,  # the true pole at φr = 5.3°, between grid points
    "grid_north_pole_longitude": 20.0,
    "north_pole_grid_longitude": 10.0,
}


def mapping(pole, radius=R):
    out = {"grid_mapping_name": "rotated_latitude_longitude", **pole}
    if radius is not None:
        out["earth_radius"] = radius
    return out


def true_lonlat(pole, rlon, rlat, radius=R):
    """pyproj's true longitude/latitude (degrees) of the rotated points (the oracle)."""
    crs = pyproj.CRS.from_cf(mapping(pole, radius))
    geo = pyproj.CRS.from_dict({"proj": "longlat", "R": radius or 6371008.8})
    t = pyproj.Transformer.from_crs(crs, geo, always_xy=True)
    return t.transform(rlon, rlat)


def cordex(pole=EUR, step=0.44, nx=31, ny=27, x0=-6.6, y0=-5.72, radius=R, latlon=True):
    """A CORDEX-like grid: rlon/rlat in degrees, a rotated_pole variable, 2-D lat/lon."""
    rlon = x0 + step * np.arange(nx)
    rlat = y0 + step * np.arange(ny)
    ds = xr.Dataset(
        {"rotated_pole": ((), 0, mapping(pole, radius))},
        coords={
            "rlon": ("rlon", rlon, {"standard_name": "grid_longitude", "units": "degrees"}),
            "rlat": ("rlat", rlat, {"standard_name": "grid_latitude", "units": "degrees"}),
        },
    )
    ds = ds.set_coords("rotated_pole")  # as decode_coords="all" leaves it
    if latlon:
        lon, lat = true_lonlat(pole, *np.meshgrid(rlon, rlat), radius=radius)
        ds = ds.assign_coords(
            lat=(("rlat", "rlon"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
            lon=(("rlat", "rlon"), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        )
    return ds


def on(ds, data, name, units="m s-1"):
    out = xr.DataArray(data, coords=ds.coords, dims=("rlat", "rlon"), name=name)
    return out.assign_attrs(grid_mapping="rotated_pole", units=units)


def metpy_inputs(ds, radius=R):
    """MetPy's inputs on the rotated sphere: dx, dy in metres along rotated longitude and
    latitude, and pyproj's scale factors of the plate carrée at the rotated coordinates
    (grid x along the rotated parallels: parallel scale 1/cos φr, meridional scale 1)."""
    step_x = np.radians(np.diff(ds.rlon.values).mean()) * radius
    step_y = np.radians(np.diff(ds.rlat.values).mean()) * radius
    lr, pr = np.meshgrid(ds.rlon.values, ds.rlat.values)
    f = pyproj.Proj(f"+proj=eqc +R={radius}").get_factors(lr, pr)
    return {
        "dx": step_x * mu.m,
        "dy": step_y * mu.m,
        "parallel_scale": np.asarray(f.parallel_scale),
        "meridional_scale": np.asarray(f.meridional_scale),
    }


def smooth(ds, seed):
    """A smooth field over the grid (a cubic in rlon, rlat)."""
    rng = np.random.default_rng(seed)
    a, b = np.meshgrid(ds.rlon.values / 10, ds.rlat.values / 10)
    c = rng.normal(size=10)
    terms = [np.ones_like(a), a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3]
    return 10 * sum(ci * t for ci, t in zip(c, terms, strict=True))


def inner(a):
    return np.asarray(getattr(a, "magnitude", a))[2:-2, 2:-2]


def assert_close_scale(ours, ref, rtol=1e-4):
    ref = inner(ref)
    np.testing.assert_allclose(inner(ours), ref, rtol=0, atol=rtol * np.max(np.abs(ref)))


def pyproj_rotation(pole, ds):
    """(cos α, sin α), α the angle from true east to the grid's x axis on the sphere, from
    pyproj's meridian convergence γ of the ob_tran CRS (the angle in the plane of the rotated
    plate carrée, where x is stretched by 1/cos φr: tan γ = −tan α / cos φr)."""
    lr, pr = np.meshgrid(ds.rlon.values, ds.rlat.values)
    lon, lat = true_lonlat(pole, lr, pr)
    crs = pyproj.CRS.from_cf(mapping(pole))
    gamma = np.radians(pyproj.Proj(crs).get_factors(lon, lat).meridian_convergence)
    c, s = np.cos(gamma), -np.sin(gamma) * np.cos(np.radians(pr))
    norm = np.hypot(c, s)
    return c / norm, s / norm


# --- the grid and its rotation ------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:You will likely lose:UserWarning")
def test_grid_from_cf_metadata_and_from_crs():
    ds = cordex()
    grid = Grid(ds)
    assert grid.projected and grid.dims == ("rlat", "rlon")
    assert grid.describe() == (
        "rotated-pole grid 'rlon'/'rlat' (rotated pole at 39.25°N -162°E) on a sphere "
        "R=6371229 m (from grid_mapping 'rotated_pole')"
    )
    bare = ds.drop_vars("rotated_pole")
    crs = pyproj.CRS.from_cf(mapping(EUR))
    for given in (crs, mapping(EUR), crs.to_proj4()):
        g = Grid(bare, crs=given)
        assert g.describe().startswith("rotated-pole grid 'rlon'/'rlat'")
        assert g.earth.a == R


@pytest.mark.parametrize("pole", [EUR, ARCTIC], ids=["euro-cordex", "pole-inside"])
def test_rotation_matches_pyproj_convergence_and_the_transformation(pole):
    """rotate_winds of a unit grid-x vector gives (cos α, sin α), α the angle from true east
    to the grid's x axis on the sphere. pyproj's meridian convergence γ of the ob_tran CRS is
    that angle seen in the plate carrée plane of the rotated grid (x stretched by 1/cos φr):
    tan γ = −tan α / cos φr. Also against central differences of pyproj's transformation."""
    ds = cordex(pole, step=3.0, nx=21, ny=15, x0=-30.0, y0=-20.0)
    grid = Grid(ds)
    one = xr.DataArray(np.ones((ds.rlat.size, ds.rlon.size)), dims=("rlat", "rlon"))
    east, north = rotate_winds(one, 0 * one, grid)
    lr, pr = np.meshgrid(ds.rlon.values, ds.rlat.values)
    lon, lat = true_lonlat(pole, lr, pr)
    c, s = pyproj_rotation(pole, ds)
    np.testing.assert_allclose(east.values, c, atol=1e-6)
    np.testing.assert_allclose(north.values, s, atol=1e-6)
    # the direction of increasing rotated longitude, from pyproj's transformation
    d = 1e-5
    lo1, la1 = true_lonlat(pole, lr - d, pr)
    lo2, la2 = true_lonlat(pole, lr + d, pr)
    dx = ((lo2 - lo1 + 180) % 360 - 180) * np.cos(np.radians(lat))
    dy = la2 - la1
    n = np.hypot(dx, dy)
    np.testing.assert_allclose(east.values, dx / n, atol=1e-7)
    np.testing.assert_allclose(north.values, dy / n, atol=1e-7)
    # and back
    gx, gy = rotate_winds(east, north, grid, to="grid")
    np.testing.assert_allclose(gx.values, 1.0, atol=1e-12)
    np.testing.assert_allclose(gy.values, 0.0, atol=1e-12)


# --- MetPy on the rotated sphere ----------------------------------------------------------------


@pytest.mark.parametrize("pole", [EUR, ARCTIC], ids=["euro-cordex", "pole-inside"])
def test_operators_match_metpy_with_the_rotated_plate_carree_scales(pole):
    ds = cordex(pole)
    kw = metpy_inputs(ds)
    u, v, t = smooth(ds, 1), smooth(ds, 2), 280 + smooth(ds, 3)
    uu, vv, tt = on(ds, u, "u"), on(ds, v, "v"), on(ds, t, "T", "K")
    um, vm = u * mu("m/s"), v * mu("m/s")
    ops = {"geospatial": True, "winds": "grid"}
    assert_close_scale(vorticity(uu, vv, **ops).values, mpcalc.vorticity(um, vm, **kw))
    assert_close_scale(divergence(uu, vv, **ops).values, mpcalc.divergence(um, vm, **kw))
    assert_close_scale(
        daskgrad.total_deformation(uu, vv, **ops).values, mpcalc.total_deformation(um, vm, **kw)
    )
    assert_close_scale(
        daskgrad.advection(tt, uu, vv, **ops).values, mpcalc.advection(t * mu.K, um, vm, **kw)
    )
    assert_close_scale(
        daskgrad.frontogenesis(tt, uu, vv, **ops).values,
        mpcalc.frontogenesis(t * mu.K, um, vm, **kw),
    )
    gx, gy = geospatial_gradient(tt, frame="grid")
    mx, my = mpcalc.geospatial_gradient(t * mu.K, **kw)
    assert_close_scale(gx.values, mx)
    assert_close_scale(gy.values, my)
    assert gx.name == "dT_dx" and gx.attrs["earth"] == "sphere R=6371229 m"


def test_coriolis_uses_the_true_latitude():
    """Absolute vorticity and the geostrophic wind against MetPy given the TRUE latitude of
    each point (from pyproj's transformation), with and without the 2-D lat coordinate."""
    ds = cordex()
    kw = metpy_inputs(ds)
    lat = true_lonlat(EUR, *np.meshgrid(ds.rlon.values, ds.rlat.values))[1] * mu.degree
    u, v = smooth(ds, 1), smooth(ds, 2)
    z = 5500 + smooth(ds, 4)
    ref = mpcalc.absolute_vorticity(u * mu("m/s"), v * mu("m/s"), latitude=lat, **kw)
    mug, mvg = mpcalc.geostrophic_wind(z * mu.m, latitude=lat, **kw)
    for d in (ds, ds.drop_vars(["lat", "lon"])):
        uu, vv, zz = on(d, u, "u"), on(d, v, "v"), on(d, z, "z", "m")
        grid = Grid(d)
        av = daskgrad.absolute_vorticity(uu, vv, geospatial=True, winds="grid", grid=grid)
        assert_close_scale(av.values, ref)
        ug, vg = daskgrad.geostrophic_wind(zz, geospatial=True, winds="grid", grid=grid)
        assert_close_scale(ug.values, mug)
        assert_close_scale(vg.values, mvg)
        # eastward/northward: MetPy's grid-relative wind turned by pyproj's angle
        ue, ve = daskgrad.geostrophic_wind(zz, geospatial=True, winds="earth", grid=grid)
        c, s = pyproj_rotation(EUR, ds)
        mu_, mv_ = mug.magnitude, mvg.magnitude
        assert_close_scale(ue.values, c * mu_ - s * mv_)
        assert_close_scale(ve.values, s * mu_ + c * mv_)


# --- analytic fields of true latitude/longitude ---------------------------------------------------


def analytic(lon, lat):
    """f, ∂f/∂x (eastward, per metre), ∂f/∂y (northward) of a field of true lon/lat."""
    lam, phi = np.radians(lon), np.radians(lat)
    f = np.sin(2 * lam) * np.cos(phi) ** 2 + np.sin(3 * phi)
    fx = 2 * np.cos(2 * lam) * np.cos(phi) / R
    fy = (-2 * np.sin(2 * lam) * np.cos(phi) * np.sin(phi) + 3 * np.cos(3 * phi)) / R
    return f, fx, fy


@pytest.mark.parametrize("accuracy", [2, 4])
def test_analytic_field_converges_at_the_order(accuracy):
    errors = []
    for step in (1.0, 0.5, 0.25):
        n = round(16 / step) + 1
        # without 2-D lat/lon (which would be differentiated as a curvilinear grid)
        ds = cordex(step=step, nx=n, ny=n, x0=-8.0, y0=-8.0, latlon=False)
        lon, lat = true_lonlat(EUR, *np.meshgrid(ds.rlon.values, ds.rlat.values))
        f, fx, fy = analytic(lon, lat)
        dx, dy = geospatial_gradient(on(ds, f, "f", "1"), accuracy=accuracy)
        assert dx.attrs["long_name"].startswith("eastward derivative")
        # the points of the coarsest grid from 4° inside its edges
        k = round(1 / step)
        sel = (slice(4 * k, -4 * k, k),) * 2
        err = max(np.max(np.abs(dx.values - fx)[sel]), np.max(np.abs(dy.values - fy)[sel]))
        errors.append(err)
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > accuracy - 0.3), (errors, rates)


def test_laplacian_of_a_spherical_harmonic():
    """Y = sin φ cos φ cos λ (degree 2) in true coordinates: ∇²Y = −6 Y / R², at O(h²)."""
    errors = []
    for step in (0.5, 0.25):
        n = round(12 / step) + 1
        ds = cordex(step=step, nx=n, ny=n, x0=-6.0, y0=-6.0)
        lon, lat = (np.radians(a) for a in true_lonlat(EUR, *np.meshgrid(ds.rlon, ds.rlat)))
        y = np.sin(lat) * np.cos(lat) * np.cos(lon)
        lap = laplacian(on(ds, y, "Y", "1"), geospatial=True)
        k = round(1 / step)
        sel = (slice(2 * k, -2 * k, k),) * 2
        errors.append(np.max(np.abs(lap.values + 6 * y / R**2)[sel]))
    assert errors[1] < errors[0] / 3.5 and errors[1] < 1e-4 * 6 / R**2 * 10


def solid_body(step, pole=ARCTIC, u0=30.0):
    """Earth-relative winds of solid-body rotation about the TRUE axis (u = U cos φ, v = 0)
    on a rotated grid, and its vorticity 2 U sin φ / R."""
    n = round(24 / step) + 1
    ds = cordex(pole, step=step, nx=n, ny=n, x0=-12.0, y0=-12.0)
    lat = np.radians(true_lonlat(pole, *np.meshgrid(ds.rlon.values, ds.rlat.values))[1])
    ue = on(ds, u0 * np.cos(lat), "ua").assign_attrs(standard_name="eastward_wind")
    ve = on(ds, 0 * lat, "va").assign_attrs(standard_name="northward_wind")
    return ds, ue, ve, 2 * u0 * np.sin(lat) / R


def test_solid_body_rotation_about_the_true_axis():
    """The pole-inside grid: the winds turned to the grid with rotate_winds, then vorticity
    with winds="grid"; and winds="earth" directly: 2 U sin φ / R to O(h²)."""
    errors = []
    for step in (1.0, 0.5):
        ds, ue, ve, ref = solid_body(step)
        grid = Grid(ds)
        ug, vg = rotate_winds(ue, ve, grid, to="grid")
        assert ug.attrs["standard_name"] == "x_wind"
        vort = vorticity(ug, vg, geospatial=True, winds="grid", grid=grid)
        direct = vorticity(ue, ve, geospatial=True, winds="earth", grid=grid)
        np.testing.assert_allclose(direct.values, vort.values, rtol=1e-12, atol=1e-20)
        div = divergence(ue, ve, geospatial=True, winds="earth", grid=grid)
        k = round(1 / step)
        sel = (slice(2 * k, -2 * k, k),) * 2
        errors.append(np.max(np.abs(vort.values - ref)[sel]))
        assert np.max(np.abs(div.values[sel])) < 1e-4 * np.max(np.abs(ref))
    assert errors[1] < errors[0] / 3.5
    assert errors[1] < 1e-4 * np.max(np.abs(ref)), errors


def test_a_pole_on_the_equator_agrees_with_a_regular_grid_at_coinciding_points():
    """A rotation about the earth's axis only (the grid's pole at the true pole, its
    longitudes shifted by 30°): the rotated grid's points are a regular grid's; the results
    agree to rounding, winds in either frame."""
    pole = {"grid_north_pole_latitude": 90.0, "grid_north_pole_longitude": -150.0}
    ds = cordex(pole, step=0.5, nx=41, ny=33, x0=-10.0, y0=30.0, latlon=False)
    lon = ds.rlon.values + 30.0
    reg = xr.Dataset(coords={"lat": ds.rlat.values, "lon": lon})
    u, v = smooth(ds, 1), smooth(ds, 2)
    rot = vorticity(on(ds, u, "u"), on(ds, v, "v"), geospatial=True, winds="grid")
    ref = vorticity(
        xr.DataArray(u, reg.coords, ("lat", "lon")),
        xr.DataArray(v, reg.coords, ("lat", "lon")),
        geospatial=True,
        radius=R,
    )
    np.testing.assert_allclose(rot.values, ref.values, rtol=1e-9, atol=1e-9 * abs(ref).max())
    dx, dy = geospatial_gradient(on(ds, u, "u"))
    rx, ry = geospatial_gradient(xr.DataArray(u, reg.coords, ("lat", "lon")), radius=R)
    np.testing.assert_allclose(dx.values, rx.values, rtol=1e-9, atol=1e-9 * abs(rx).max())
    np.testing.assert_allclose(dy.values, ry.values, rtol=1e-9, atol=1e-9 * abs(ry).max())


# --- the earth, errors, laziness ------------------------------------------------------------------


def test_the_earth_of_a_rotated_pole():
    u, v = smooth(cordex(), 1), smooth(cordex(), 2)
    ds = cordex()
    a = vorticity(on(ds, u, "u"), on(ds, v, "v"), geospatial=True, winds="grid")
    ds2 = cordex(radius=6370000.0)
    b = vorticity(on(ds2, u, "u"), on(ds2, v, "v"), geospatial=True, winds="grid")
    np.testing.assert_allclose(b.values, a.values * R / 6370000.0, rtol=1e-9)
    # CF's rotated pole without earth attributes: pyproj's WGS84 is no sphere; the default
    bare = cordex(radius=None, latlon=False)
    grid = Grid(bare)
    assert grid.earth.a == 6371008.8 and "default" in grid.describe()
    assert Grid(bare, radius=R).earth.a == R
    with pytest.raises(ValueError, match="earth='wgs84'.*rotated-pole"):
        Grid(bare, earth="wgs84")
    with pytest.raises(ValueError, match="radius=6370000.*contradicts"):
        Grid(ds, radius=6370000.0)


def test_missing_rotated_coordinates_and_grid_latlon_on_request():
    ds = cordex().rename(rlon="i", rlat="j")
    ds["i"].attrs.pop("standard_name")
    ds["j"].attrs.pop("standard_name")
    with pytest.raises(
        ValueError, match=r"no rotated longitude/latitude.*\['rotated_pole', 'i', 'j'"
    ):
        Grid(ds)
    assert Grid(ds, x="i", y="j").dims == ("j", "i")
    # latitude=/longitude= ask for the 2-D true coordinates, on the rotated pole's sphere
    g = Grid(ds, latitude="lat", longitude="lon")
    assert g.curvilinear and g.earth.a == R


def test_dask_is_lazy_and_factors_are_computed_once_per_horizontal_chunk():
    ds = cordex(latlon=False)
    u, v = smooth(ds, 1), smooth(ds, 2)
    coords = {**ds.coords, "t": [0, 1, 2]}
    uu = xr.DataArray(np.stack([u, 2 * u, 3 * u]).astype(np.float32), coords, ("t", "rlat", "rlon"))
    vv = xr.DataArray(np.stack([v, v, v]).astype(np.float32), coords, ("t", "rlat", "rlon"))
    uu, vv = uu.rename("u"), vv.rename("v")
    chunks = {"t": 1, "rlat": 14, "rlon": (11, 20)}
    grid = Grid(ds)
    with raise_if_dask_computes():
        lazy = vorticity(
            uu.chunk(chunks), vv.chunk(chunks), geospatial=True, winds="earth", grid=grid
        )
        dx, _ = geospatial_gradient(uu.chunk(chunks), grid=grid)
    assert isinstance(lazy.data, da.Array) and lazy.dtype == np.float32
    assert lazy.chunks == uu.chunk(chunks).chunks and dx.dtype == np.float32
    with dask.config.set(scheduler="sync"):
        got = lazy.values
        dxv = dx.values
    assert grid.rotated.evaluations == 4  # 2 × 2 horizontal chunks, shared by every output
    eager = vorticity(uu, vv, geospatial=True, winds="earth", grid=grid)
    np.testing.assert_allclose(got, eager.values, rtol=1e-5, atol=1e-5 * abs(eager.values).max())
    np.testing.assert_allclose(dxv, geospatial_gradient(uu, grid=grid)[0].values, rtol=1e-5)


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.filterwarnings("ignore:You will likely lose:UserWarning")
def test_vorticity_on_a_cordex_like_store_from_the_command_line(tmp_path, dask_cluster):
    ds = cordex().reset_coords("rotated_pole")  # a data variable, as in CORDEX's files
    rng = np.random.default_rng(0)
    shape = (2, ds.rlat.size, ds.rlon.size)
    attrs = {"units": "m s-1", "grid_mapping": "rotated_pole"}
    ds["u"] = (("time", "rlat", "rlon"), smooth(ds, 1) + rng.normal(0, 0.1, shape), attrs)
    ds["v"] = (("time", "rlat", "rlon"), smooth(ds, 2) + rng.normal(0, 0.1, shape), attrs)
    inp, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    ds.chunk({"time": 1, "rlat": 14, "rlon": 16}).to_zarr(inp)
    r = run_cli(
        "run", inp, out, "--geospatial", "--vorticity", "u,v", "--winds", "grid", "--var", "u",
        "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "rotated-pole grid 'rlon'/'rlat' (rotated pole at 39.25°N -162°E)" in r.stdout
    assert "sphere R=6371229 m (from grid_mapping 'rotated_pole')" in r.stdout
    got = xr.open_zarr(out)
    kw = metpy_inputs(ds)
    for i in range(2):
        ref = mpcalc.vorticity(ds.u.values[i] * mu("m/s"), ds.v.values[i] * mu("m/s"), **kw)
        assert_close_scale(got["vort_u_v"].values[i], ref)
    dx, _ = geospatial_gradient(ds.u, grid=Grid(ds))  # eastward, as the API gives it
    np.testing.assert_allclose(got["du_dx"].values, dx.values, rtol=1e-12, atol=1e-18)
    acc = ds.grad.vorticity("u", "v", geospatial=True, winds="grid")  # the accessor's grid
    np.testing.assert_allclose(got["vort_u_v"].values, acc.values, rtol=1e-12, atol=1e-18)
    # the file without its rotated_pole, the CRS on the command line
    bare = ds.drop_vars("rotated_pole")
    for n in ("u", "v"):
        bare[n].attrs.pop("grid_mapping")
    inp2, out2 = tmp_path / "in2.zarr", tmp_path / "out2.zarr"
    bare.to_zarr(inp2)
    proj = pyproj.CRS.from_cf(mapping(EUR)).to_proj4()
    r = run_cli(
        "run", inp2, out2, "--geospatial", "--vorticity", "u,v", "--winds", "grid",
        "--var", "u", "--crs", proj, "--scheduler-file", dask_cluster,
        "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(
        xr.open_zarr(out2)["vort_u_v"].values, got["vort_u_v"].values, rtol=1e-12
    )
