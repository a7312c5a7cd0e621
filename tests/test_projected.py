"""Projected grids (issue 21): MetPy's map-factor forms given pyproj's scales, analytic fields
sampled on the projected grid, solid-body rotation through the pole, laziness and dtypes."""

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

from .conftest import raise_if_dask_computes  # noqa: E402

R = 6371229.0
LCC = f"+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R={R} +units=m"
STERE = f"+proj=stere +lat_0=90 +lat_ts=60 +lon_0=-105 +R={R} +units=m"
MERC = f"+proj=merc +lat_ts=20 +lon_0=0 +R={R} +units=m"
CASES = {
    # HRRR's projection at 3 km (a corner of its domain, where the convergence is large), and
    # coarser grids over a wide area, where the scales vary
    "lcc-3km": (LCC, -2.3e6, 1.0e6, 3000.0),
    "lcc-30km": (LCC, -1.5e6, -6e5, 30000.0),
    "stere-60N": (STERE, -8e5, -2.5e6, 25000.0),
    "merc": (MERC, 1e6, 2e6, 30000.0),
    # not conformal: distinct parallel and meridional scales, MetPy's general forms
    "laea": (f"+proj=laea +lat_0=52 +lon_0=10 +R={R} +units=m", 1.2e6, 8e5, 30000.0),
}


def grid_ds(crs, x0, y0, step, ny=28, nx=33):
    x = x0 + step * np.arange(nx)
    y = y0 + step * np.arange(ny)
    ds = xr.Dataset(
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        }
    )
    return ds.assign_coords(crs=((), 0, pyproj.CRS(crs).to_cf()))


def scales(crs, ds):
    """pyproj's parallel and meridional scales and convergence (radians) at the grid points."""
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    lon, lat = p(X, Y, inverse=True)
    f = p.get_factors(lon, lat)
    return f.parallel_scale, f.meridional_scale, np.radians(f.meridian_convergence), lon, lat


def with_mapping(ds, data, name):
    da_ = xr.DataArray(data, coords=ds.coords, dims=("y", "x"), name=name)
    da_.attrs["grid_mapping"] = "crs"
    return da_


def cubic(ds, seed):
    """A cubic polynomial in x, y over the grid (smooth at the grid scale)."""
    rng = np.random.default_rng(seed)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    a, b = (X - X.mean()) / 5e5, (Y - Y.mean()) / 5e5
    c = rng.normal(size=10)
    terms = [np.ones_like(a), a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3]
    return 10 * sum(ci * t for ci, t in zip(c, terms, strict=True))


def inner(a):
    return np.asarray(a)[2:-2, 2:-2]


def assert_close_scale(ours, ref, rtol=1e-4):
    ref = inner(getattr(ref, "magnitude", ref))
    np.testing.assert_allclose(inner(ours), ref, rtol=0, atol=rtol * np.max(np.abs(ref)))


@pytest.mark.parametrize("case", list(CASES))
def test_vorticity_and_divergence_match_metpy_with_pyproj_scales(case):
    crs, x0, y0, step = CASES[case]
    ds = grid_ds(crs, x0, y0, step)
    k, h, *_ = scales(crs, ds)
    u, v = cubic(ds, 1), cubic(ds, 2)
    uu, vv = with_mapping(ds, u, "u"), with_mapping(ds, v, "v")
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    mv = mpcalc.vorticity(u * mu("m/s"), v * mu("m/s"), **kw)
    md = mpcalc.divergence(u * mu("m/s"), v * mu("m/s"), **kw)
    ours_v = vorticity(uu, vv, geospatial=True, winds="grid")
    ours_d = divergence(uu, vv, geospatial=True, winds="grid")
    assert_close_scale(ours_v.values, mv)
    assert_close_scale(ours_d.values, md)
    assert ours_v.attrs["earth"] == f"sphere R={R:.10g} m"


@pytest.mark.parametrize("case", list(CASES))
def test_geospatial_gradient_and_laplacian_match_metpy(case):
    crs, x0, y0, step = CASES[case]
    ds = grid_ds(crs, x0, y0, step)
    k, h, gamma, *_ = scales(crs, ds)
    f = cubic(ds, 3)
    ff = with_mapping(ds, f, "f")
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    mx, my = mpcalc.geospatial_gradient(f * mu.K, **kw)
    gx, gy = geospatial_gradient(ff, frame="grid")
    assert_close_scale(gx.values, mx)
    assert_close_scale(gy.values, my)
    # eastward/northward: MetPy's grid components turned by pyproj's convergence; true north
    # is (-sin γ, cos γ) in grid x/y
    ex, ny_ = geospatial_gradient(ff)
    mx, my = mx.magnitude, my.magnitude
    assert_close_scale(ex.values, np.cos(gamma) * mx + np.sin(gamma) * my)
    assert_close_scale(ny_.values, -np.sin(gamma) * mx + np.cos(gamma) * my)
    ml = mpcalc.geospatial_laplacian(f * mu.K, **kw)
    assert_close_scale(laplacian(ff, geospatial=True).values, ml)


def test_winds_is_required_on_a_projected_grid():
    crs, x0, y0, step = CASES["lcc-30km"]
    ds = grid_ds(crs, x0, y0, step)
    u = with_mapping(ds, cubic(ds, 1), "u")
    for fn in (vorticity, divergence):
        with pytest.raises(ValueError, match="needs winds: 'grid'") as err:
            fn(u, u, geospatial=True)
        assert err.value.option == "winds"
    with pytest.raises(ValueError, match="winds must be 'grid' or 'earth'"):
        vorticity(u, u, geospatial=True, winds="north")
    laplacian(u, geospatial=True)  # a scalar: no winds


def test_earth_relative_winds_are_turned_to_the_grid():
    crs, x0, y0, step = CASES["lcc-30km"]
    ds = grid_ds(crs, x0, y0, step)
    *_, gamma, _, _ = scales(crs, ds)
    gu, gv = cubic(ds, 4), cubic(ds, 5)
    # grid components -> eastward/northward by pyproj's convergence (the oracle's rotation)
    east = np.cos(gamma) * gu + np.sin(gamma) * gv
    north = -np.sin(gamma) * gu + np.cos(gamma) * gv
    a = vorticity(
        with_mapping(ds, gu, "u"), with_mapping(ds, gv, "v"), geospatial=True, winds="grid"
    )
    b = vorticity(
        with_mapping(ds, east, "u"), with_mapping(ds, north, "v"), geospatial=True, winds="earth"
    )
    np.testing.assert_allclose(b.values, a.values, rtol=0, atol=1e-9 * np.abs(a.values).max())
    e2, n2 = rotate_winds(with_mapping(ds, gu, "u"), with_mapping(ds, gv, "v"), ds, to="earth")
    np.testing.assert_allclose(e2.values, east, atol=1e-9 * np.abs(east).max())
    np.testing.assert_allclose(n2.values, north, atol=1e-9 * np.abs(east).max())
    back = rotate_winds(e2, n2, Grid(ds), to="grid")
    np.testing.assert_allclose(back[0].values, gu, atol=1e-9 * np.abs(gu).max())


def analytic(lon, lat):
    """f(λ, φ) and its eastward and northward derivatives on the sphere of radius R."""
    lam, phi = np.radians(lon), np.radians(lat)
    f = np.sin(60 * phi) * np.cos(45 * lam)
    fe = -45 * np.sin(60 * phi) * np.sin(45 * lam) / (R * np.cos(phi))
    fn = 60 * np.cos(60 * phi) * np.cos(45 * lam) / R
    return f, fe, fn


@pytest.mark.parametrize("accuracy", [2, 4])
def test_analytic_field_converges_at_the_order(accuracy):
    errors = []
    for n in (21, 41, 81):
        step = 6e5 / (n - 1)
        ds = grid_ds(LCC, -3e5, 2e5, step, ny=n, nx=n)
        *_, lon, lat = scales(LCC, ds)
        f, fe, fn = analytic(lon, lat)
        edges = {"edge_order": 2} if accuracy == 2 else {}
        ex, ny_ = geospatial_gradient(with_mapping(ds, f, "f"), accuracy=accuracy, **edges)
        errors.append(max(np.abs(ex.values - fe).max(), np.abs(ny_.values - fn).max()))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > accuracy - 0.3), (errors, orders)


def test_lcc_agrees_with_a_latlon_grid_at_coinciding_points():
    """The same field on a lat/lon grid and on an LCC grid: at points where both grids have
    a point (the LCC grid's centre row on the central meridian), the results agree to O(h²)."""
    ds = grid_ds(LCC, -15000.0 * 10, -15000.0 * 10, 15000.0, ny=21, nx=21)
    *_, lon, lat = scales(LCC, ds)
    f, fe, fn = analytic(lon, lat)
    ex, ny_ = geospatial_gradient(with_mapping(ds, f, "f"))
    j = 10  # x = 0: the central meridian, lon 262.5
    lats = lat[:, j]
    lons = 262.5 + np.arange(-5, 6) * 0.1
    ll = xr.DataArray(
        analytic(*np.meshgrid(lons, lats))[0],
        coords={"lat": lats, "lon": lons},
        dims=("lat", "lon"),
    )
    gx, gy = geospatial_gradient(ll, radius=R)
    scale = np.abs(fe).max()
    for ours, theirs in (
        (ex.values[2:-2, j], gx.values[2:-2, 5]),
        (ny_.values[2:-2, j], gy.values[2:-2, 5]),
    ):
        assert np.abs(ours - theirs).max() < 5e-3 * scale  # both O(h²) from the exact values


def solid_body(n):
    """Grid-relative solid-body rotation u_east = U cos φ on polar stereographic grids
    centred on the pole (the pole between the four central points)."""
    step = 2e6 / n
    x = (np.arange(n) - (n - 1) / 2) * step
    ds = grid_ds(STERE, x[0], x[0], step, ny=n, nx=n)
    p = pyproj.Proj(STERE)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    _, lat = p(X, Y, inverse=True)
    U = 20.0
    rho = np.hypot(X, Y)
    speed = U * np.cos(np.radians(lat))
    u, v = -speed * Y / rho, speed * X / rho  # counterclockwise around the north pole
    exact = 2 * U * np.sin(np.radians(lat)) / R
    vort = vorticity(
        with_mapping(ds, u, "u"),
        with_mapping(ds, v, "v"),
        geospatial=True,
        winds="grid",
        edge_order=2,
    )
    return vort.values, exact


def test_solid_body_rotation_through_the_pole_converges_at_order_2():
    errs, centre = [], []
    for n in (20, 40, 80):
        vort, exact = solid_body(n)
        errs.append(np.abs(vort - exact).max())
        c = n // 2
        centre.append(
            np.abs(vort[c - 1 : c + 1, c - 1 : c + 1] - exact[c - 1 : c + 1, c - 1 : c + 1]).max()
        )
    for e in (errs, centre):
        orders = np.log2(np.array(e[:-1]) / np.array(e[1:]))
        assert np.all(orders > 1.7), (e, orders)
    assert errs[-1] < 1e-3 * 2 * 20 / R


def test_dask_is_lazy_chunked_and_factors_computed_once_per_horizontal_chunk():
    crs, x0, y0, step = CASES["lcc-30km"]
    ds = grid_ds(crs, x0, y0, step)
    u, v = cubic(ds, 1), cubic(ds, 2)
    stack = np.stack([u, 2 * u, 3 * u]).astype(np.float32)
    vstack = np.stack([v, v, v]).astype(np.float32)
    coords = {**ds.coords, "t": [0, 1, 2]}
    uu = xr.DataArray(stack, coords, ("t", "y", "x"), name="u")
    vv = xr.DataArray(vstack, coords, ("t", "y", "x"), name="v")
    chunks = {"t": 1, "y": 14, "x": (11, 22)}
    grid = Grid(ds)
    with raise_if_dask_computes():
        lazy = vorticity(
            uu.chunk(chunks), vv.chunk(chunks), geospatial=True, winds="grid", grid=grid
        )
        dx, dy = geospatial_gradient(uu.chunk(chunks), grid=grid)
        east, _ = rotate_winds(uu.chunk(chunks), vv.chunk(chunks), grid)
    assert isinstance(lazy.data, da.Array) and lazy.dtype == np.float32
    assert lazy.chunks == uu.chunk(chunks).chunks and dx.dtype == np.float32
    with dask.config.set(scheduler="sync"):
        got = lazy.values
        dxv = dx.values
    # 2 × 2 horizontal chunks (× 3 time chunks, × 2 quantities): each computed once, shared
    assert grid.projection.evaluations == 4
    eager = vorticity(uu, vv, geospatial=True, winds="grid", grid=grid)
    assert eager.dtype == np.float32
    np.testing.assert_allclose(got, eager.values, rtol=1e-6, atol=1e-6 * abs(eager.values).max())
    np.testing.assert_allclose(dxv, geospatial_gradient(uu, grid=grid)[0].values, rtol=1e-6)
    assert isinstance(east.data, da.Array) and east.chunks == lazy.chunks
    np.testing.assert_allclose(east.values, rotate_winds(uu, vv, grid)[0].values, rtol=1e-6)


@pytest.mark.parametrize(
    "crs, x0, y0",
    [
        (LCC, -9e5, -7e5),
        (STERE, -3e6, -3e6),
        ("EPSG:3031", -2e6, -2e6),  # south polar stereographic, WGS84
        ("+proj=lcc +lat_1=-30 +lat_2=-40 +lat_0=-35 +lon_0=140 +ellps=GRS80", -5e5, -5e5),
        ("+proj=merc +ellps=WGS84 +lat_ts=33", -1e6, 1e6),
    ],
)
def test_map_factors_equal_pyproj_on_large_chunks(crs, x0, y0):
    """The closed forms (and their latitude table on large chunks) against pyproj's
    get_factors: scales to 1e-8, convergence to 1e-9 rad, derivatives of the scales against
    central differences of pyproj's scales."""
    from daskgrad.core.projection import Projection

    step = 20000.0
    x, y = x0 + step * np.arange(301), y0 + step * np.arange(300)
    projection = Projection(pyproj.CRS(crs))
    assert projection.closed is not None  # the closed forms, not pyproj at 5 points per point
    ours = projection.factors(x, y)
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)

    def k_gamma(X, Y):
        f = p.get_factors(*p(X, Y, inverse=True))
        return np.asarray(f.parallel_scale), np.radians(f.meridian_convergence)

    k, gamma = k_gamma(X, Y)
    ok = np.isfinite(k)
    np.testing.assert_allclose(ours["k"][ok], k[ok], rtol=1e-8)
    np.testing.assert_allclose(ours["h"][ok], k[ok], rtol=1e-8)
    pole = ~np.isfinite(ours["cos"])  # the pole on a grid point: no direction there
    assert pole.sum() <= 1 and np.all(np.abs(p(X[pole], Y[pole], inverse=True)[1]) == 90)
    ok &= ~pole
    np.testing.assert_allclose(ours["cos"][ok], np.cos(gamma)[ok], atol=1e-9)
    np.testing.assert_allclose(ours["sin"][ok], -np.sin(gamma)[ok], atol=1e-9)
    d = 2000.0
    dk_dy = (k_gamma(X, Y + d)[0] - k_gamma(X, Y - d)[0]) / (2 * d)
    dk_dx = (k_gamma(X + d, Y)[0] - k_gamma(X - d, Y)[0]) / (2 * d)
    scale = np.nanmax(np.abs(dk_dy)) + np.nanmax(np.abs(dk_dx))
    np.testing.assert_allclose(ours["dk_dy"][ok], dk_dy[ok], rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(ours["dh_dx"][ok], dk_dx[ok], rtol=0, atol=1e-5 * scale)


def test_pole_on_a_grid_point():
    n = 21
    step = 1e5
    x = (np.arange(n) - n // 2) * step
    ds = grid_ds(STERE, x[0], x[0], step, ny=n, nx=n)
    p = pyproj.Proj(STERE)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    _, lat = p(X, Y, inverse=True)
    exact = 2 * 20.0 * np.sin(np.radians(lat)) / R
    u, v = -20.0 * Y * np.cos(np.radians(lat)), 20.0 * X * np.cos(np.radians(lat))
    rho = np.hypot(X, Y)
    with np.errstate(invalid="ignore"):
        u, v = np.where(rho > 0, u / rho, 0.0), np.where(rho > 0, v / rho, 0.0)
    vort = vorticity(
        with_mapping(ds, u, "u"), with_mapping(ds, v, "v"), geospatial=True, winds="grid"
    ).values
    c = n // 2
    assert np.isfinite(vort[c, c])
    assert abs(vort[c, c] - exact[c, c]) < 1e-3 * exact[c, c]


def test_dataset_accessor_builds_the_grid_from_the_whole_dataset():
    crs, x0, y0, step = CASES["lcc-30km"]
    ds = grid_ds(crs, x0, y0, step).reset_coords("crs")
    ds["u"] = with_mapping(ds, cubic(ds, 1), "u")
    ds["v"] = with_mapping(ds, cubic(ds, 2), "v")
    got = ds.grad.vorticity("u", "v", geospatial=True, winds="grid")
    ref = vorticity(ds.u, ds.v, geospatial=True, winds="grid", crs=crs)
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-12)
    lap = ds.grad.laplacian("u", geospatial=True)
    assert lap.attrs["earth"] == f"sphere R={R:.10g} m"


@pytest.mark.parametrize("case", ["lcc-30km", "laea"])
def test_kinematics_on_projected_grids_match_metpy(case):
    crs, x0, y0, step = CASES[case]
    ds = grid_ds(crs, x0, y0, step)
    k, h, *_ = scales(crs, ds)
    u, v, t = cubic(ds, 1), cubic(ds, 2), 280 + cubic(ds, 3)
    uu, vv, tt = (with_mapping(ds, a, n) for a, n in ((u, "u"), (v, "v"), (t, "T")))
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    um, vm = u * mu("m/s"), v * mu("m/s")
    ops = {"geospatial": True, "winds": "grid"}
    assert_close_scale(
        daskgrad.total_deformation(uu, vv, **ops).values, mpcalc.total_deformation(um, vm, **kw)
    )
    assert_close_scale(
        daskgrad.shearing_deformation(uu, vv, **ops).values,
        mpcalc.shearing_deformation(um, vm, **kw),
    )
    assert_close_scale(
        daskgrad.advection(tt, uu, vv, **ops).values,
        mpcalc.advection(t * mu.K, um, vm, **kw),
    )
    with pytest.raises(ValueError, match="needs winds"):
        daskgrad.total_deformation(uu, vv, geospatial=True)


def test_geostrophic_wind_on_a_projected_grid_in_either_frame():
    crs, x0, y0, step = CASES["lcc-30km"]
    ds = grid_ds(crs, x0, y0, step)
    k, h, gamma, lon, lat = scales(crs, ds)
    z = 5500 + cubic(ds, 4)
    zz = with_mapping(ds, z, "z").assign_attrs(units="m")
    zz = zz.assign_coords(lat=(("y", "x"), lat, {"units": "degrees_north"}))
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}
    mu_, mv_ = mpcalc.geostrophic_wind(z * mu.m, latitude=lat * mu.degree, **kw)
    ug, vg = daskgrad.geostrophic_wind(zz, geospatial=True, winds="grid")
    assert_close_scale(ug.values, mu_)
    assert_close_scale(vg.values, mv_)
    ue, ve = daskgrad.geostrophic_wind(zz, geospatial=True, winds="earth")
    mu_, mv_ = mu_.magnitude, mv_.magnitude
    assert_close_scale(ue.values, np.cos(gamma) * mu_ + np.sin(gamma) * mv_)
    assert_close_scale(ve.values, -np.sin(gamma) * mu_ + np.cos(gamma) * mv_)
