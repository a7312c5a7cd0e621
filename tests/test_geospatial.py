"""geospatial_gradient against analytic fields on the sphere and the ellipsoid, and MetPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")

import dask  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.core import curvilinear as _metrics  # noqa: E402
from daskgrad.xr.geospatial import geospatial_dataset, geospatial_gradient  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402

R = 6371008.8  # the IUGG mean radius, written out here as the oracle's own constant
LAT_UNITS = {"units": "degrees_north"}
LON_UNITS = {"units": "degrees_east"}


def field_1d(lat, lon, fn, name="f", units="K", lead=()):
    """``fn(φ, λ)`` (radians) on 1-D coordinates; ``lead`` adds leading dims of those sizes."""
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    values = np.broadcast_to(fn(phi, lam), (*lead, lat.size, lon.size)).copy()
    dims = (*(f"t{i}" for i in range(len(lead))), "lat", "lon")
    coords = {"lat": ("lat", lat, LAT_UNITS), "lon": ("lon", lon, LON_UNITS)}
    return xr.DataArray(values, coords, dims, name=name, attrs={"units": units}), phi, lam


def rotated_pole(pole_lat, pole_lon, rlat, rlon):
    """Geographic (lat, lon) in degrees, lon in [-180, 180), of a rotated-pole grid."""
    rp, rl = np.meshgrid(np.radians(rlat), np.radians(rlon), indexing="ij")
    v = np.stack([np.cos(rp) * np.cos(rl), np.cos(rp) * np.sin(rl), np.sin(rp)])
    t, p = np.radians(90 - pole_lat), np.radians(pole_lon)
    ry = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    rz = np.array([[np.cos(p), -np.sin(p), 0], [np.sin(p), np.cos(p), 0], [0, 0, 1]])
    x, y, z = np.einsum("ij,jk,k...->i...", rz, ry, v)
    return np.degrees(np.arcsin(np.clip(z, -1, 1))), np.degrees(np.arctan2(y, x))


def field_2d(lat, lon, fn, name="f", lead=()):
    phi, lam = np.radians(lat), np.radians(lon)
    values = np.broadcast_to(fn(phi, lam), (*lead, *lat.shape)).copy()
    dims = (*(f"t{i}" for i in range(len(lead))), "y", "x")
    coords = {"lat": (("y", "x"), lat, LAT_UNITS), "lon": (("y", "x"), lon, LON_UNITS)}
    return xr.DataArray(values, coords, dims, name=name, attrs={"units": "K"}), phi, lam


# f = sin φ, f = cos φ sin λ and f = sin φ cos φ sin λ: their exact eastward and northward
# derivatives (× R), and bounds of |∂²f/∂φ²| and |∂³f/∂φ³|. Along longitude, ∂²f/∂λ² and
# ∂³f/∂λ³ divided by cos φ are at most 1 for all three.
FIELDS = {
    "sin_lat": (lambda p, lam: np.sin(p), lambda p, lam: 0 * p, lambda p, lam: np.cos(p), 1, 1),
    "cos_lat_sin_lon": (
        lambda p, lam: np.cos(p) * np.sin(lam),
        lambda p, lam: np.cos(lam) + 0 * p,
        lambda p, lam: -np.sin(p) * np.sin(lam),
        1,
        1,
    ),
    "sin_2lat_sin_lon": (  # not linear in the Cartesian position, unlike the other two
        lambda p, lam: np.sin(p) * np.cos(p) * np.sin(lam),
        lambda p, lam: np.sin(p) * np.cos(lam),
        lambda p, lam: np.cos(2 * p) * np.sin(lam),
        2,
        4,
    ),
}


def max_error(ours, exact):
    """max |ours - exact| · R over the points where ours is defined."""
    err = np.abs(np.asarray(ours) * R - exact)
    return float(np.nanmax(err))


# --- 1-D grids: analytic fields, discretization bounds, convergence ---------------------------


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("step", [0.25, 1.0, 5.0])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("convention", ["0-360", "-180-180"])
def test_sphere_global_1d_within_the_bound(field, step, descending, convention):
    lat = np.arange(-90, 90 + step / 2, step)
    lat = lat[::-1] if descending else lat
    lon = np.arange(0, 360, step) - (180 if convention == "-180-180" else 0)
    fn, fx, fy, _, k3 = FIELDS[field]
    f, phi, lam = field_1d(lat, lon, fn)
    dx, dy = geospatial_gradient(f, edge_order=2)
    h = np.radians(step)
    # central differences: h²/6 max|f'''|; edge_order 2 at the poles: h²/3 max|f'''|
    inner, pole = np.abs(lat) < 90, np.abs(lat) == 90
    bound = h**2 / 6 * 1.0001 + 1e-12
    assert max_error(dx[inner], fx(phi, lam)[inner]) <= bound
    assert max_error(dy[inner], fy(phi, lam)[inner]) <= k3 * bound
    assert max_error(dy[pole], fy(phi, lam)[pole]) <= 2 * k3 * bound
    assert np.isnan(dx[pole]).all() and not np.isnan(dx[inner]).any()  # undefined at the poles
    assert not np.isnan(dy).any()


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("edge_order", [1, 2])
def test_sphere_regional_1d_edges_and_interior(field, edge_order):
    step = 0.5
    lat, lon = np.arange(-30, 60.1, step), np.arange(-20, 40.1, step)
    fn, fx, fy, k2, k3 = FIELDS[field]
    f, phi, lam = field_1d(lat, lon, fn)
    dx, dy = geospatial_gradient(f, edge_order=edge_order)  # not global: no wrap
    h = np.radians(step) * 1.0001
    interior = (slice(1, -1), slice(1, -1))
    # one-sided differences at the edges: h/2 max|f''| (edge_order 1), h²/3 max|f'''| (2)
    for ours, exact, c2, c3 in ((dx, fx, 1, 1), (dy, fy, k2, k3)):
        err = np.abs(ours.values * R - exact(phi, lam))
        assert err[interior].max() <= c3 * h**2 / 6 + 1e-12
        assert err.max() <= (c2 * h / 2 if edge_order == 1 else c3 * h**2 / 3) + 1e-12


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_sphere_converges_at_order_2(field):
    errors = []
    for step in (2.0, 1.0, 0.5):
        lat, lon = np.arange(-80, 80.1, step), np.arange(0, 360, step)
        f, phi, lam = field_1d(lat, lon, FIELDS[field][0])
        dx, dy = geospatial_gradient(f, edge_order=2)
        errors.append(
            max(
                max_error(dx, FIELDS[field][1](phi, lam)), max_error(dy, FIELDS[field][2](phi, lam))
            )
        )
    for coarse, fine in zip(errors, errors[1:], strict=False):
        assert 3.6 < coarse / fine < 4.4, errors


def test_sphere_converges_at_order_4():
    errors = []
    for step in (4.0, 2.0, 1.0):
        lat, lon = np.arange(-80, 80.1, step), np.arange(-180, 180, step)
        f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
        dx, dy = geospatial_gradient(f, accuracy=4)
        errors.append(max(max_error(dx, np.cos(lam)), max_error(dy, -np.sin(phi) * np.sin(lam))))
    ratios = [c / f for c, f in zip(errors, errors[1:], strict=False)]
    assert all(14 < r < 18 for r in ratios), (errors, ratios)
    # and better than order 2 on the same grid by orders of magnitude
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    assert errors[-1] < max_error(geospatial_gradient(f)[0], np.cos(lam)) / 100


def test_gaussian_latitudes():
    # a Gaussian grid: latitudes at the roots of a Legendre polynomial, non-uniform
    n = 96
    lat = np.degrees(np.arcsin(np.polynomial.legendre.leggauss(n)[0]))[::-1]
    lon = np.arange(0, 360, 360 / (2 * n))
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    dx, dy = geospatial_gradient(f, edge_order=2)
    h_lon, h_lat = np.radians(360 / (2 * n)), np.radians(np.max(np.abs(np.diff(lat))))
    assert max_error(dx, np.cos(lam)) <= h_lon**2 / 6 * 1.0001  # exact in latitude: a factor
    assert max_error(dy, -np.sin(phi) * np.sin(lam)) <= h_lat**2 / 2
    # sin φ is constant along longitude: exactly zero eastward, wrap included
    f, phi, lam = field_1d(lat, lon, FIELDS["sin_lat"][0])
    dx, dy = geospatial_gradient(f)
    assert np.all(dx.values == 0)


def test_global_longitude_wraps_automatically():
    lat, lon = np.arange(-60, 60.1, 2.0), (np.arange(0, 360, 2.0) + 90) % 360  # 90..358, 0..88
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    wrapped, _ = geospatial_gradient(f)
    forced, _ = geospatial_gradient(f, periodic=True)
    plain, _ = geospatial_gradient(f, periodic=False)
    xr.testing.assert_identical(wrapped, forced)
    h = np.radians(2.0)
    assert max_error(wrapped, np.cos(lam)) <= h**2 / 6 * 1.0001  # the seam columns too
    seam = max_error(plain[:, [0, -1]], np.cos(lam[:, [0, -1]]))  # one-sided there
    assert seam > h / 2 * 0.99  # one-sided: h/2 |f''| where |f''| = cos φ
    np.testing.assert_array_equal(plain[:, 1:-1], wrapped[:, 1:-1])
    # rolled the other way, or sorted: the same globe
    rolled = f.roll(lon=45, roll_coords=True)
    np.testing.assert_allclose(geospatial_gradient(rolled)[0], wrapped.roll(lon=45), atol=1e-20)


def test_periodic_true_needs_the_globe():
    f, _, _ = field_1d(np.arange(-10, 10.1), np.arange(0, 350, 1.0), FIELDS["sin_lat"][0])
    with pytest.raises(ValueError, match="periodic=True but longitude 'lon' does not cover"):
        geospatial_gradient(f, periodic=True)
    f, _, _ = field_1d(np.arange(-10, 10.1), np.arange(0, 360.1, 1.0), FIELDS["sin_lat"][0])
    (dx, _) = geospatial_gradient(f)  # 0..360 inclusive: the seam point repeats; no wrap
    assert dx.shape == f.shape
    with pytest.raises(ValueError, match="repeats the first; drop it"):
        geospatial_gradient(f, periodic=True)
    with pytest.raises(TypeError, match="periodic must be None, True or False"):
        geospatial_gradient(f, periodic="lon")


def test_regional_grid_across_the_dateline_1d():
    lat, lon = np.arange(-40, 40.1, 0.5), np.arange(150, 220.1, 0.5)
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    east = f.assign_coords(lon=("lon", (lon + 180) % 360 - 180, LON_UNITS))  # 150..180, -179.5..
    assert np.any(np.diff(east.lon) < 0)
    a, b = geospatial_gradient(f), geospatial_gradient(east)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.values, y.values, rtol=1e-12, atol=0)
    h = np.radians(0.5)
    assert max_error(b[0][:, 1:-1], np.cos(lam)[:, 1:-1]) <= h**2 / 6 * 1.0001


def test_radius_and_radians():
    lat, lon = np.arange(-80, 80.1, 4.0), np.arange(0, 360, 4.0)
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    dx, dy = geospatial_gradient(f)
    dx1, dy1 = geospatial_gradient(f, radius=1.0)
    np.testing.assert_allclose(dx1.values, dx.values * R, rtol=1e-13)
    np.testing.assert_allclose(dy1.values, dy.values * R, rtol=1e-13)
    rad = f.assign_coords(
        lat=("lat", np.radians(lat), {"units": "radians"}), lon=("lon", np.radians(lon), {})
    )
    rad.lon.attrs["units"] = "rad"
    for ours, ref in zip(geospatial_gradient(rad), (dx, dy), strict=True):
        np.testing.assert_allclose(ours.values, ref.values, rtol=1e-12)


# --- 2-D (curvilinear) grids ------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_rotated_pole_grid(field):
    # pole at 40°N, 170°W: the grid's centre is at 50°S, 170°W and it crosses the dateline
    errors = []
    for step in (1.0, 0.5):
        lat, lon = rotated_pole(40, -170, np.arange(-20, 20.1, step), np.arange(-25, 25.1, step))
        assert lon.max() > 150 and lon.min() < -150
        fn, fx, fy, _, k3 = FIELDS[field]
        f, phi, lam = field_2d(lat, lon, fn)
        dx, dy = geospatial_gradient(f, edge_order=2)
        errors.append(max(max_error(dx, fx(phi, lam)), max_error(dy, fy(phi, lam))))
        # one-sided edges h²/3 max|f'''| along each index dim, from f and from the position
        assert errors[-1] <= 2 * k3 * np.radians(step) ** 2 / 3
    if field == "sin_2lat_sin_lon":  # the others are linear in the position: exact to O(h²)
        assert 3.6 < errors[0] / errors[1] < 4.4, errors


def test_regular_grid_as_2d_coordinates_equals_1d():
    lat, lon = np.arange(-70, 70.1, 1.0), np.arange(100, 260, 1.0)
    f, _, _ = field_1d(lat, lon, FIELDS["sin_2lat_sin_lon"][0], lead=(2,))
    lon2 = (np.broadcast_to(lon, (lat.size, lon.size)) + 180) % 360 - 180  # dateline inside
    lat2 = np.broadcast_to(lat[:, None], lon2.shape)
    g = f.rename(lat="y", lon="x").drop_vars(["y", "x"])
    g = g.assign_coords(lat=(("y", "x"), lat2, LAT_UNITS), lon=(("y", "x"), lon2, LON_UNITS))
    for edge_order in (1, 2):
        ours = geospatial_gradient(g, edge_order=edge_order)
        ref = geospatial_gradient(f, edge_order=edge_order, periodic=False)
        # both are within h²/6 (interior) of the exact derivative: the 1-D path differentiates
        # longitude exactly, the 2-D one the position's chord
        for a, b in zip(ours, ref, strict=True):
            h = np.radians(1.0)
            bound = (4 * h**2 / 3 if edge_order == 2 else 2 * h / 2) / R  # k3 h²/3, k2 h/2
            np.testing.assert_allclose(a.values, b.values, rtol=0, atol=bound)
            assert a.dims == g.dims
    # the index dims in the other order (lat(x, y)) and the data transposed give the same
    t = g.transpose("t0", "x", "y")
    t = t.assign_coords(lat=t.lat.transpose("x", "y"))
    for a, b in zip(geospatial_gradient(t), geospatial_gradient(g), strict=True):
        np.testing.assert_allclose(a.transpose(*b.dims).values, b.values, rtol=1e-12)


def test_2d_grid_over_the_pole():
    # a polar cap in rotated coordinates: the geographic north pole inside, not on a point
    fn, fx, fy, _, k3 = FIELDS["sin_2lat_sin_lon"]
    errors = []
    for step in (0.5, 0.25):
        rlat, rlon = np.arange(-10 + step / 2, 10, step), np.arange(170 + step / 2, 190, step)
        lat, lon = rotated_pole(0.0, 0.0, rlat, rlon)
        assert lat.max() > 90 - step
        f, phi, lam = field_2d(lat, lon, fn)
        dx, dy = geospatial_gradient(f, edge_order=2)
        errors.append(max(max_error(dx, fx(phi, lam)), max_error(dy, fy(phi, lam))))
        # the Jacobian comes from the Cartesian position, smooth through the pole, where
        # longitude is not: differencing longitude there would lose all accuracy
        assert errors[-1] <= 2 * k3 * np.radians(step) ** 2 / 3
    assert 3.6 < errors[0] / errors[1] < 4.4


# --- WGS84 ------------------------------------------------------------------------------------


def wgs84_radii(phi):
    a, f = 6378137.0, 1 / 298.257223563
    e2 = 2 * f - f * f
    w = np.sqrt(1 - e2 * np.sin(phi) ** 2)
    return a / w, a * (1 - e2) / w**3  # prime vertical N, meridional M


def test_wgs84_1d_exact_for_lat_and_lon():
    lat, lon = np.arange(-89.5, 89.6, 0.5), np.arange(-60, 60.1, 0.5)
    f_lat, phi, lam = field_1d(lat, lon, lambda p, lam: p + 0 * lam)
    f_lon, _, _ = field_1d(lat, lon, lambda p, lam: lam + 0 * p)
    n, m = wgs84_radii(phi)
    dx, dy = geospatial_gradient(f_lat, earth="wgs84")
    np.testing.assert_allclose(dx, 0, atol=1e-22)
    np.testing.assert_allclose(dy, 1 / m, rtol=1e-10)
    dx, dy = geospatial_gradient(f_lon, earth="WGS84")
    np.testing.assert_allclose(dx, 1 / (n * np.cos(phi)), rtol=1e-10)
    np.testing.assert_allclose(dy, 0, atol=1e-22)
    # the ellipsoid is not the sphere: equator eastward 1/a, pole-ward M differs by ~1%
    sphere = geospatial_gradient(f_lat)[1]
    assert not np.allclose(sphere, dy, rtol=1e-3)


def test_wgs84_rotated_grid_for_lat_and_lon():
    # on a 2-D grid the Jacobian comes from differences of the position on the ellipsoid, so
    # f = φ and f = λ are no longer exact: second order, with a constant near 1/3
    errors = []
    for step in (1.0, 0.5):
        rlat = rlon = np.arange(-15, 15.1, step)
        lat, lon = rotated_pole(50, 20, rlat, rlon)
        assert lon.min() > -170 and lon.max() < 170  # f = λ must not jump
        n, m = wgs84_radii(np.radians(lat))
        f, phi, lam = field_2d(lat, lon, lambda p, lam: p)
        dx, dy = geospatial_gradient(f, earth="wgs84", edge_order=2)
        err = [np.abs(dx.values * m).max(), np.abs(dy.values * m - 1).max()]
        f, phi, lam = field_2d(lat, lon, lambda p, lam: lam)
        dx, dy = geospatial_gradient(f, earth="wgs84", edge_order=2)
        scale = n * np.cos(phi)
        err += [np.abs(dx.values * scale - 1).max(), np.abs(dy.values * scale).max()]
        assert max(err) <= 2 * np.radians(step) ** 2, err
        errors.append(max(err))
    assert 3.6 < errors[0] / errors[1] < 4.4


# --- MetPy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("periodic", [False, None])
def test_metpy_parity_regular_grid(periodic):
    mpcalc = pytest.importorskip("metpy.calc")
    lat, lon = np.arange(88, -88.1, -1.0), np.arange(-180, 180, 1.0)
    f, phi, lam = field_1d(
        lat, lon, lambda p, lam: np.cos(p) ** 2 * np.sin(3 * lam) + np.sin(2 * p), lead=(2,)
    )
    fm = f.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R)
    mx, my = (q.m_as("K/m") for q in mpcalc.geospatial_gradient(fm))
    # MetPy's edges are second-order one-sided and it does not wrap longitude
    dx, dy = geospatial_gradient(f, edge_order=2, periodic=periodic)
    cols = slice(None) if periodic is False else slice(1, -1)
    for ours, ref in ((dx, mx), (dy, my)):
        scale = np.abs(ref).max()
        np.testing.assert_allclose(ours.values[..., cols], ref[..., cols], atol=1e-4 * scale)


# --- dask: laziness, chunking, one pass -------------------------------------------------------


def ragged(n, rng):
    """A chunking of n with size-1 chunks."""
    sizes, left = [], n
    while left:
        sizes.append(min(left, int(rng.choice([1, 1, 2, 5, 17]))))
        left -= sizes[-1]
    return tuple(sizes)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("grid", ["1d-global", "1d-regional", "2d-rotated"])
def test_dask_lazy_and_equal_to_numpy(grid, edge_order):
    rng = np.random.default_rng(3)
    if grid == "2d-rotated":
        lat, lon = rotated_pole(40, -170, np.arange(-10, 10.1, 1.0), np.arange(-15, 15.1, 1.0))
        f, _, _ = field_2d(lat, lon, FIELDS["cos_lat_sin_lon"][0], lead=(3,))
        h = ("y", "x")
    else:
        lat = np.arange(-90, 90.1, 3.0) if grid == "1d-global" else np.arange(-30, 31.0, 2.0)
        f, _, _ = field_1d(lat, np.arange(0, 360, 4.0), FIELDS["cos_lat_sin_lon"][0], lead=(3,))
        f = f.isel(lon=slice(None, 40)) if grid == "1d-regional" else f
        h = ("lat", "lon")
    f = f + rng.standard_normal(f.shape) * 0.01
    chunks = {"t0": 2, h[0]: ragged(f.sizes[h[0]], rng), h[1]: ragged(f.sizes[h[1]], rng)}
    lazy = f.chunk(chunks)
    if grid == "2d-rotated":  # dask coordinates, chunked otherwise than the data
        lazy = lazy.assign_coords(lat=lazy.lat.chunk(7), lon=lazy.lon.chunk(5))
    with raise_if_dask_computes():
        dx, dy = geospatial_gradient(lazy, edge_order=edge_order)
    ref = geospatial_gradient(f, edge_order=edge_order)
    for ours, want in zip((dx, dy), ref, strict=True):
        assert ours.chunks == lazy.chunks and isinstance(ours.data, da.Array)
        np.testing.assert_allclose(ours.values, want.values, rtol=1e-11, atol=1e-20)


def test_dask_1d_non_index_coordinates_stay_lazy():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos, lead=(2,))
    g = f.rename(lat="y", lon="x").drop_vars(["y", "x"]).chunk({"y": 5, "x": 7})
    g = g.assign_coords(
        lat=("y", da.from_array(f.lat.values, 4), LAT_UNITS),
        lon=("x", da.from_array(f.lon.values, 9), LON_UNITS),
    )
    with raise_if_dask_computes():
        dx, dy = geospatial_gradient(g)  # no automatic wrap: that needs the longitudes' values
        dxp, _ = geospatial_gradient(g, periodic=True)
    ref = geospatial_gradient(f, periodic=False)
    np.testing.assert_allclose(dx.values, ref[0].values, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(dy.values, ref[1].values, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(dxp.values, geospatial_gradient(f)[0].values, atol=1e-20)


def test_numpy_data_with_dask_coordinates_gives_numpy():
    lat, lon = rotated_pole(40, -170, np.arange(-10, 10.1, 1.0), np.arange(-15, 15.1, 1.0))
    f, _, _ = field_2d(lat, lon, FIELDS["sin_2lat_sin_lon"][0], lead=(2,))
    mixed = f.assign_coords(lat=f.lat.chunk(7), lon=f.lon.chunk(5))
    assert isinstance(mixed.lat.data, da.Array) and isinstance(mixed.data, np.ndarray)
    for ours, ref in zip(geospatial_gradient(mixed), geospatial_gradient(f), strict=True):
        assert isinstance(ours.data, np.ndarray)
        np.testing.assert_allclose(ours.values, ref.values, rtol=1e-12)


def test_2d_metrics_computed_once_per_horizontal_chunk(monkeypatch):
    calls = []
    original = _metrics.jacobian_coefficients

    def counted(*args):
        calls.append(args[0].shape)
        return original(*args)

    monkeypatch.setattr(_metrics, "jacobian_coefficients", counted)
    lat, lon = rotated_pole(40, -170, np.arange(-10, 10.1, 1.0), np.arange(-15, 15.1, 1.0))
    f, _, _ = field_2d(lat, lon, FIELDS["sin_lat"][0], lead=(12,))
    lazy = f.chunk({"t0": 1, "y": 7, "x": 8})
    dx, dy = geospatial_gradient(lazy)
    dask.compute(dx, dy, scheduler="sync")
    n_horizontal = len(lazy.chunks[1]) * len(lazy.chunks[2])
    assert len([s for s in calls if 0 not in s]) == n_horizontal  # not 12 times as many


def readers(arrays, name):
    """How many tasks of the graph of ``arrays`` take each chunk of the array ``name``."""
    graph = dict(dask.base.collections_to_expr(arrays).__dask_graph__())
    count = {}
    for task in graph.values():
        for dep in task.dependencies:
            if isinstance(dep, tuple) and dep[0] == name:
                count[dep] = count.get(dep, 0) + 1
    return count, len(graph)


@pytest.mark.parametrize("grid", ["1d", "2d"])
@pytest.mark.parametrize("earth", ["sphere", "wgs84"])
def test_dask_one_pass_economy(grid, earth):
    # the data's chunks are read by gradient()'s own tasks only; each chunk adds at most 3
    # tasks to gradient()'s graph, and the metrics cost tasks per horizontal chunk only
    if grid == "1d":
        f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos, lead=(8,))
    else:
        lat, lon = rotated_pole(40, -170, np.arange(-10, 10.1, 1.0), np.arange(-15, 15.1, 1.0))
        f, _, _ = field_2d(lat, lon, np.cos, lead=(8,))
    lazy = f.chunk({"t0": 1, f.dims[1]: 7, f.dims[2]: 9})
    dx, dy = geospatial_gradient(lazy, earth=earth)
    ours, n_ours = readers([dx.data, dy.data], lazy.data.name)
    # the global 1-D grid wraps around in longitude, as the plain gradient does when told: small
    # chunks are read by their neighbours' kernels, across the wrap too
    periodic = [2] if grid == "1d" else None
    plain, n_plain = readers(
        list(daskgrad.gradient(lazy.data, dim=[1, 2], periodic=periodic)), lazy.data.name
    )
    assert ours.keys() == plain.keys() and all(ours[k] <= plain[k] for k in ours)
    horizontal = lazy.data.npartitions // 8
    assert n_ours - n_plain <= 3 * lazy.data.npartitions + 40 * horizontal


def test_dask_latitude_out_of_range_fails_at_compute():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    g = f.rename(lat="y").drop_vars("y").chunk({"y": 5})
    g = g.assign_coords(lat=("y", da.from_array(f.lat.values * 2, 4), LAT_UNITS))
    with raise_if_dask_computes():
        dx, dy = geospatial_gradient(g)
    with pytest.raises(ValueError, match="latitude coordinate 'lat' has values outside ±90"):
        dx.compute()


# --- accuracy, nan_policy ---------------------------------------------------------------------


def test_land_mask_with_nan_policy_omit():
    lat, lon = np.arange(-40, 40.1, 0.5), np.arange(0, 360, 0.5)
    f, phi, lam = field_1d(lat, lon, FIELDS["cos_lat_sin_lon"][0])
    land = (np.abs(phi) < np.radians(10)) & (np.abs(lam - np.pi) < np.radians(20))
    masked = f.where(~land)
    prop = geospatial_gradient(masked)
    omit = geospatial_gradient(masked, nan_policy="omit")
    for ours, exact in ((omit[0], np.cos(lam)), (omit[1], -np.sin(phi) * np.sin(lam))):
        assert np.array_equal(np.isnan(ours.values), land)  # only the land itself is NaN
        # next to the coast one-sided differences: first order in h
        assert max_error(ours, exact) <= np.radians(0.5)
    assert np.isnan(prop[0].values).sum() > land.sum()  # propagate spreads the holes
    lazy = geospatial_gradient(masked.chunk({"lat": 30, "lon": 100}), nan_policy="omit")
    np.testing.assert_allclose(lazy[0].values, omit[0].values, rtol=1e-12, atol=1e-20)


# --- names, units, Datasets -------------------------------------------------------------------


def test_names_units_and_dtypes():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos, name="T")
    f.attrs["long_name"] = "air temperature"
    dx, dy = geospatial_gradient(f)
    assert (dx.name, dy.name) == ("dT_dx", "dT_dy")
    assert dx.attrs == {
        "long_name": "eastward derivative of air temperature",
        "units": "K m-1",
        "earth": "sphere R=6371008.8 m",  # issue 21: the earth used is said
    }
    assert dy.attrs["long_name"] == "northward derivative of air temperature"
    xr.testing.assert_identical(dx.coords.to_dataset(), f.coords.to_dataset())
    f32 = f.astype(np.float32)
    assert geospatial_gradient(f32)[0].dtype == np.float32
    ints = (f * 100).astype(int)
    assert geospatial_gradient(ints)[1].dtype == np.float64
    anon = xr.DataArray(f.values, f.coords, f.dims)
    dx, _ = geospatial_gradient(anon)
    assert dx.name is None and dx.attrs == {
        "long_name": "eastward derivative of data",
        "earth": "sphere R=6371008.8 m",
    }


def test_dataset():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos, lead=(2,))
    ds = xr.Dataset(
        {
            "T": f.rename("T"),
            "u": (f * 2).rename("u").assign_attrs(units="m s-1"),
            "zonal_mean": f.mean("lon"),
            "mask": f > 0,
            "label": ("t0", np.array(["a", "b"])),
        },
        attrs={"title": "test"},
    ).chunk({"lat": 10})
    with raise_if_dask_computes():
        out = geospatial_gradient(ds)
    assert list(out.data_vars) == ["dT_dx", "dT_dy", "du_dx", "du_dy"]
    assert out.attrs == {"title": "test"} and out.du_dy.attrs["units"] == "s-1"
    np.testing.assert_allclose(out.dT_dy, geospatial_gradient(f)[1], rtol=1e-12)
    only = geospatial_dataset(ds, ["u"], earth="wgs84", edge_order=2)
    assert list(only.data_vars) == ["du_dx", "du_dy"]
    with pytest.raises(ValueError, match="variable 'zonal_mean' has dims"):
        geospatial_dataset(ds, ["zonal_mean"])
    with pytest.raises(ValueError, match="variable 'v' is not in the dataset"):
        geospatial_dataset(ds, ["v"])
    # 2-D coordinates stored as data variables are found and not differentiated themselves
    g = xr.Dataset({"h": (("y", "x"), np.ones((4, 5)))})
    g["nav_lat"] = (("y", "x"), np.repeat(np.arange(4.0)[:, None], 5, 1), LAT_UNITS)
    g["nav_lon"] = (("y", "x"), np.repeat(np.arange(5.0)[None, :], 4, 0), LON_UNITS)
    assert list(geospatial_gradient(g).data_vars) == ["dh_dx", "dh_dy"]


def test_daskgrad_exports_it():
    assert daskgrad.geospatial_gradient is geospatial_gradient


# --- finding the coordinates, and bad input ---------------------------------------------------


def test_cf_discovery_and_names():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    ref = geospatial_gradient(f)
    cf = f.rename(lat="Y", lon="X")
    cf["Y"].attrs = {"standard_name": "latitude"}  # no units: degrees, found by standard_name
    cf["X"].attrs = {"units": "degree_E"}  # found by units
    for ours, want in zip(geospatial_gradient(cf), ref, strict=True):
        np.testing.assert_array_equal(ours.values, want.values)
    named = f.rename(lat="latitude", lon="longitude")
    for a in named.coords.values():
        a.attrs = {}
    np.testing.assert_array_equal(geospatial_gradient(named)[0].values, ref[0].values)
    # grid_latitude (rotated poles' 1-D coordinates) is not latitude
    rot = f.rename(lat="rlat", lon="rlon")
    rot["rlat"].attrs, rot["rlon"].attrs = {"standard_name": "grid_latitude"}, {}
    with pytest.raises(ValueError, match=r"no latitude coordinate found.*\['rlat', 'rlon'\]"):
        geospatial_gradient(rot)
    np.testing.assert_array_equal(
        geospatial_gradient(rot, latitude="rlat", longitude="rlon")[0].values, ref[0].values
    )


def test_ambiguous_and_missing_coordinates():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    two = f.assign_coords(lat2=("lat", f.lat.values, {"standard_name": "latitude"}))
    with pytest.raises(ValueError, match=r"several latitude coordinates: \['lat', 'lat2'\]"):
        geospatial_gradient(two)
    assert geospatial_gradient(two, latitude="lat2")[0].shape == f.shape
    with pytest.raises(ValueError, match="latitude='phi' is not a coordinate"):
        geospatial_gradient(f, latitude="phi")
    with pytest.raises(ValueError, match="no longitude coordinate found"):
        geospatial_gradient(f.drop_vars("lon"))


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda f: f.assign_coords(lat=f.lat * 2), ValueError, r"outside ±90 degrees \(largest"),
        (
            lambda f: f.assign_coords(lat=("lat", f.lat.values, {"units": "m"})),
            ValueError,
            "latitude coordinate 'lat' has units 'm', which is not an angle",
        ),
        (
            lambda f: f.isel(lat=[0, 2, 1, 3]),
            ValueError,
            "latitude coordinate 'lat' is not strictly monotonic",
        ),
        (
            lambda f: f.isel(lon=[0, 2, 1, 3]),
            ValueError,
            "longitude coordinate 'lon' is not strictly monotonic",
        ),
        (
            lambda f: (
                f.stack(cell=("lat", "lon"))
                .drop_vars(["cell", "lat", "lon"])
                .assign_coords(
                    lat=("cell", np.zeros(f.size)), lon=("cell", np.arange(f.size, dtype=float))
                )
            ),
            ValueError,
            "share the dim 'cell'",
        ),
        (lambda f: f.isel(lat=slice(0, 1)), ValueError, "dim 'lat' has 1 points"),
        (lambda f: f > 0, TypeError, "bool"),
    ],
)
def test_bad_input(change, error, match):
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    with pytest.raises(error, match=match):
        geospatial_gradient(change(f))


def test_bad_arguments_and_2d_mismatch():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    with pytest.raises(ValueError, match="earth must be 'sphere' or 'wgs84'; got 'mars'"):
        geospatial_gradient(f, earth="mars")
    with pytest.raises(ValueError, match="radius=6000000.0 applies to earth='sphere' only"):
        geospatial_gradient(f, earth="wgs84", radius=6e6)
    with pytest.raises(ValueError, match="radius must be a positive number"):
        geospatial_gradient(f, radius=-1)
    with pytest.raises(ValueError, match="edge_order"):
        geospatial_gradient(f, edge_order=3)
    with pytest.raises(TypeError, match="takes an xarray DataArray or Dataset; got ndarray"):
        geospatial_gradient(f.values)
    lat, lon = rotated_pole(40, -170, np.arange(-5, 5.1), np.arange(-5, 5.1))
    g, _, _ = field_2d(lat, lon, np.cos, lead=(3,))
    bad = g.assign_coords(lon=(("t0", "x"), np.zeros((3, lon.shape[1]))))
    with pytest.raises(ValueError, match="2-D coordinates must share the same two dims"):
        geospatial_gradient(bad)
    with pytest.raises(ValueError, match="periodic=True needs a 1-D longitude"):
        geospatial_gradient(g, periodic=True)


def test_unitless_radians_warn():
    f, _, _ = field_1d(np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0), np.cos)
    rad = f.assign_coords(
        lat=("lat", np.radians(f.lat.values)), lon=("lon", np.radians(f.lon.values))
    )
    with pytest.warns(UserWarning, match="latitude 'lat' has no units and all its values lie"):
        geospatial_gradient(rad)
    plain = f.copy()
    for c in plain.coords.values():
        c.attrs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        geospatial_gradient(plain)  # degrees by their values: no warning
