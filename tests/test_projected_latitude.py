"""The latitude of a projected grid's points (issue 21, performance): in closed form for the
projections whose map factors are closed forms (Lambert conformal conic, polar stereographic,
Mercator; sphere and ellipsoid), kept with the chunk's factors, against pyproj's inverse
transformation; f from it against MetPy's ``coriolis_parameter`` of pyproj's latitudes; and
counts of the points handed to pyproj's inverse (none per chunk for the closed forms)."""

from __future__ import annotations

import metpy.calc as mpcalc
import numpy as np
import pyproj
import pytest
import xarray as xr
from metpy.units import units as mu

import daskgrad
from daskgrad import Grid
from daskgrad.core.projection import ProjectedMetric, Projection

R = 6371229.0
CLOSED = {
    "lcc_sphere_hrrr": "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229",
    "lcc_ellipsoid_2sp": "+proj=lcc +lat_0=38.5 +lat_1=33 +lat_2=45 +lon_0=262.5 +ellps=WGS84 "
    "+x_0=1000 +y_0=-5000",
    "lcc_south_grs80": "+proj=lcc +lat_0=-38.5 +lat_1=-30 +lat_2=-45 +lon_0=140 +ellps=GRS80",
    "stere_north_sphere": "+proj=stere +lat_0=90 +lat_ts=60 +lon_0=-105 +R=6371229",
    "stere_south_wgs84": "+proj=stere +lat_0=-90 +lat_ts=-71 +lon_0=0 +ellps=WGS84",
    "merc_sphere": "+proj=merc +lat_ts=20 +R=6371229 +y_0=3000",
    "merc_wgs84": "+proj=merc +lat_ts=20 +ellps=WGS84 +y_0=-3000",
}


def pyproj_latitude(proj4: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    gx, gy = np.meshgrid(x, y)
    return np.asarray(pyproj.Proj(proj4)(gx, gy, inverse=True)[1])


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_closed_form_latitude_matches_pyproj(name: str) -> None:
    proj4 = CLOSED[name]
    p = Projection(pyproj.CRS(proj4))
    assert p.closed is not None
    # the polar stereographics' grids hold their pole (x = y = 0 a grid point)
    x = np.linspace(-2.5e6, 2.5e6, 101)
    y = np.linspace(-2e6, 2.4e6, 111) if "stere" not in name else np.linspace(-2e6, 2e6, 101)
    before = p.inverse_points
    lat = np.degrees(p.factors(x, y, ("lat",))["lat"])
    assert p.inverse_points == before  # no pyproj inverse for the closed form
    ref = pyproj_latitude(proj4, x, y)
    assert lat.shape == ref.shape
    # PROJ's own inverse of the polar stereographic is good to ~2e-12 degrees near the pole
    tol = 5e-12 if "stere" in name else 1e-12
    np.testing.assert_allclose(lat, ref, rtol=0, atol=tol)
    # and the latitude comes with the factors of the same chunk when asked with them
    q = Projection(pyproj.CRS(proj4))
    both = q.factors(x, y, ("k", "dk_dy", "dh_dx", "lat"))
    np.testing.assert_allclose(np.degrees(both["lat"]), ref, rtol=0, atol=tol)
    assert q.evaluations == 1


def test_polar_stereographic_latitude_exact_on_the_sphere() -> None:
    """Against the sphere's formula φ = 90° − 2 atan(ρ / (2 R k0)), k0 = (1 + sin 60°) / 2,
    at the pole itself and beside it."""
    p = Projection(pyproj.CRS(CLOSED["stere_north_sphere"]))
    x = np.linspace(-1e6, 1e6, 201)
    gx, gy = np.meshgrid(x, x)
    k0 = (1 + np.sin(np.radians(60.0))) / 2
    exact = 90 - np.degrees(2 * np.arctan(np.hypot(gx, gy) / (2 * R * k0)))
    lat = np.degrees(p.factors(x, x, ("lat",))["lat"])
    np.testing.assert_allclose(lat, exact, rtol=0, atol=1e-12)
    assert lat[100, 100] == 90.0


def lcc_dataset(ny: int = 40, nx: int = 50, chunks: dict | None = None) -> xr.Dataset:
    proj4 = CLOSED["lcc_sphere_hrrr"]
    x = (np.arange(nx) - nx / 2) * 3e4
    y = (np.arange(ny) - ny / 2) * 3e4
    X, Y = np.meshgrid(x, y)
    u = 10 * np.sin(X / 4e5) * np.cos(Y / 3e5)
    v = 8 * np.cos(X / 5e5) * np.sin(Y / 2e5)
    attrs = {"units": "m s-1", "grid_mapping": "crs"}
    ds = xr.Dataset(
        {"u": (("y", "x"), u, attrs), "v": (("y", "x"), v, attrs)},
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "crs": ((), 0, pyproj.CRS(proj4).to_cf()),
        },
    )
    return ds.chunk(chunks) if chunks else ds


@pytest.mark.parametrize("chunks", [None, {"y": 17, "x": 23}])
def test_coriolis_from_closed_latitude_matches_metpy(chunks) -> None:
    """f of absolute vorticity (its difference from the vorticity) against MetPy's
    coriolis_parameter of pyproj's latitudes, the data without 2-D latitude; pyproj's inverse
    is given no point after the grid is built (none per chunk)."""
    ds = lcc_dataset(chunks=chunks)
    grid = Grid(ds)
    before = grid.projection.inverse_points
    ops = dict(geospatial=True, winds="grid", grid=grid)
    av = daskgrad.absolute_vorticity(ds.u, ds.v, **ops)
    vort = daskgrad.vorticity(ds.u, ds.v, **ops)
    f = (av - vort).values
    lat = pyproj_latitude(CLOSED["lcc_sphere_hrrr"], ds.x.values, ds.y.values)
    ref = mpcalc.coriolis_parameter(lat * mu.degree).m_as("1/s")
    np.testing.assert_allclose(f, ref, rtol=1e-10, atol=1e-16)
    assert grid.projection.inverse_points == before


def test_pyproj_latitude_computed_once_per_chunk_and_kept() -> None:
    """A projection without closed forms (transverse Mercator) takes the latitude from
    pyproj's inverse: each chunk's points once, kept for the next call."""
    proj4 = "+proj=tmerc +lat_0=0 +lon_0=9 +k=0.9996 +x_0=500000 +ellps=WGS84"
    p = Projection(pyproj.CRS(proj4))
    assert p.closed is None
    x = np.linspace(3e5, 7e5, 30)
    y = np.linspace(4.5e6, 5.5e6, 20)
    m = ProjectedMetric(p, -1, -2, x, y)
    like = np.zeros((2, 20, 30))
    before = p.inverse_points
    first = m.latitude(like)
    assert p.inverse_points - before == 20 * 30
    second = m.latitude(like)
    assert p.inverse_points - before == 20 * 30
    ref = pyproj_latitude(proj4, x, y)
    np.testing.assert_allclose(np.degrees(first[0]), ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError):  # shared: kept read-only
        first[0, 0, 0] = 0.0


# --- the grid built again (each function's own Grid): what is not redone ---------------------


def test_a_grid_built_again_reuses_the_crs_and_the_checked_constants() -> None:
    """The CRS parsed from the grid mapping and the closed form's constants (checked against
    pyproj once) are the same objects for the next Grid of the same data; the factors are not
    (they stay with each Grid); the values agree with pyproj's inverse either way."""
    ds = lcc_dataset()
    first, second = Grid(ds), Grid(ds)
    assert first.crs is second.crs
    assert first.projection is not second.projection
    assert first.projection.closed is second.projection.closed
    x, y = ds.x.values, ds.y.values
    lat = [np.degrees(g.projection.factors(x, y, ("lat",))["lat"]) for g in (first, second)]
    ref = pyproj_latitude(CLOSED["lcc_sphere_hrrr"], x, y)
    for got in lat:
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert first.projection.evaluations == second.projection.evaluations == 1


def test_a_rotated_pole_grid_built_again_reuses_its_crs() -> None:
    pole = {
        "grid_mapping_name": "rotated_latitude_longitude",
        "earth_radius": R,
        "grid_north_pole_latitude": 39.25,
        "grid_north_pole_longitude": -162.0,
    }
    r = np.arange(-2.0, 2.1, 0.5)
    ds = xr.Dataset({"rotated_pole": ((), 0, pole)}, coords={"rlat": r, "rlon": r})
    first, second = Grid(ds), Grid(ds)
    assert first.crs is second.crs
    lon, lat = (np.radians(a) for a in np.meshgrid(r, r))
    true = pyproj.Transformer.from_crs(
        first.crs, pyproj.CRS.from_dict({"proj": "longlat", "R": R}), always_xy=True
    ).transform(np.degrees(lon), np.degrees(lat))[1]
    got = np.degrees(second.projection.factors(r * np.pi / 180 * R, r * np.pi / 180 * R,
                                               ("lat",))["lat"])  # fmt: skip
    np.testing.assert_allclose(got, true, rtol=0, atol=1e-9)
