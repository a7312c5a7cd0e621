"""The closed forms of the map factors (issue "Projected grids", performance): conformal conics
on a sphere and an ellipsoid, northern and southern, the pole inside a polar stereographic grid,
against textbook formulas (Snyder, "Map projections: a working manual", ch. 15 and 21) at
pyproj's latitudes and against pyproj's get_factors, on chunks large enough for every path."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pyproj = pytest.importorskip("pyproj")

from daskgrad.core.projection import Projection  # noqa: E402

R = 6371229.0
GRS80 = (6378137.0, 1 / 298.257222101)
WGS84 = (6378137.0, 1 / 298.257223563)

# (PROJ string, kind, parameters, earth (a, f)); kinds: "lcc" (lat_1, lat_2), "stere_b"
# (latitude of true scale, signed), "stere_a" (k0, south)
CASES = {
    "lcc-hrrr-sphere": (
        f"+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R={R}",
        "lcc", (38.5, 38.5), (R, 0.0),
    ),
    "lcc-south-sphere": (
        "+proj=lcc +lat_1=-20 +lat_2=-60 +lat_0=-40 +lon_0=10 +R=6371000",
        "lcc", (-20.0, -60.0), (6371000.0, 0.0),
    ),
    "lcc-south-grs80": (
        "+proj=lcc +lat_1=-30 +lat_2=-40 +lat_0=-35 +lon_0=140 +ellps=GRS80",
        "lcc", (-30.0, -40.0), GRS80,
    ),
    "lcc-wgs84-false-origin": (
        "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=40 +lon_0=-97 +x_0=500000 +y_0=-300000 "
        "+datum=WGS84",
        "lcc", (33.0, 45.0), WGS84,
    ),
    "stere-north-sphere": (
        f"+proj=stere +lat_0=90 +lat_ts=60 +lon_0=-105 +R={R}", "stere_b", 60.0, (R, 0.0),
    ),
    "stere-south-wgs84": ("EPSG:3031", "stere_b", -71.0, WGS84),
    "stere-north-wgs84": ("EPSG:3413", "stere_b", 70.0, WGS84),
    "stere-k0-south": (
        "+proj=stere +lat_0=-90 +k_0=0.97 +lon_0=30 +x_0=2000000 +y_0=1000000 +ellps=WGS84",
        "stere_a", (0.97, True), WGS84,
    ),
}  # fmt: skip


def _m(phi, e):
    return np.cos(phi) / np.sqrt(1 - (e * np.sin(phi)) ** 2)


def _t(phi, e):
    # tan(π/4 − φ/2) written as cos φ / (1 + sin φ): no cancellation near the pole
    es = e * np.sin(phi)
    return np.cos(phi) / (1 + np.sin(phi)) / ((1 - es) / (1 + es)) ** (e / 2)


def textbook_k(kind, par, earth, phi):
    """Snyder's scale factor at the latitudes ``phi`` (radians), from the CRS's parameters."""
    e = np.sqrt(earth[1] * (2 - earth[1]))
    if kind == "lcc":
        p1, p2 = np.radians(par)
        s = np.sign(p1)  # the southern cone: the formulas of the north on −φ
        p1, p2, phi = s * p1, s * p2, s * phi
        if p1 == p2:
            n = np.sin(p1)
        else:
            n = (np.log(_m(p1, e)) - np.log(_m(p2, e))) / (np.log(_t(p1, e)) - np.log(_t(p2, e)))
        return _m(p1, e) * (_t(phi, e) / _t(p1, e)) ** n / _m(phi, e)
    if kind == "stere_b":
        s = np.sign(par)
        pc = np.radians(abs(par))
        return _m(pc, e) * _t(s * phi, e) / (_t(pc, e) * _m(phi, e))
    k0, south = par
    s = -1.0 if south else 1.0
    c = np.sqrt((1 + e) ** (1 + e) * (1 - e) ** (1 - e))
    return 2 * k0 * _t(s * phi, e) / c / _m(phi, e)


def textbook_pole_k(kind, par, earth):
    e = np.sqrt(earth[1] * (2 - earth[1]))
    c = np.sqrt((1 + e) ** (1 + e) * (1 - e) ** (1 - e))
    if kind == "stere_b":
        pc = np.radians(abs(par))
        return _m(pc, e) * c / (2 * _t(pc, e))
    return par[0]


def big_grid(crs, kind, pole_inside=False):
    """A 300 x 301 grid (larger than any table of distances the factors might use) over the
    projection's useful area; with the pole on a grid point when ``pole_inside``."""
    p = pyproj.Proj(crs)
    if kind == "lcc":
        lat = -45.0 if "lat_1=-" in crs else 40.0
        lon0 = float(crs.split("+lon_0=")[1].split()[0])
        x0, y0 = p(lon0, lat)
        step = 15000.0
    else:
        x0, y0 = p(0.0, -90.0 if ("lat_0=-" in crs or crs == "EPSG:3031") else 90.0)
        step = 12000.0
    i, j = np.arange(301) - 150, np.arange(300) - 150
    x = x0 + step * i + (0.0 if pole_inside else 0.37 * step)
    y = y0 + step * j + (0.0 if pole_inside else 0.21 * step)
    return x, y


@pytest.mark.parametrize("case", list(CASES))
def test_scale_is_exact_to_rounding(case):
    """k = h on a conformal conic equals Snyder's formula at pyproj's latitudes to ~1e-13 (a
    latitude table interpolated at 1e-9 of k fails this) and pyproj's numerical get_factors
    to its own accuracy."""
    crs, kind, par, earth = CASES[case]
    x, y = big_grid(crs, kind)
    projection = Projection(pyproj.CRS(crs))
    assert projection.closed is not None
    ours = projection.factors(x, y)
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)
    lon, lat = p(X, Y, inverse=True)
    ref = textbook_k(kind, par, earth, np.radians(lat))
    np.testing.assert_allclose(ours["k"], ref, rtol=2e-13)
    np.testing.assert_allclose(ours["h"], ref, rtol=2e-13)
    f = p.get_factors(lon, lat)
    np.testing.assert_allclose(ours["k"], f.parallel_scale, rtol=1e-8)
    np.testing.assert_allclose(ours["h"], f.meridional_scale, rtol=1e-8)


@pytest.mark.parametrize("case", list(CASES))
def test_scale_derivatives_and_convergence(case):
    """dk/dy and dk/dx against 4th-order central differences of Snyder's k at pyproj's
    latitudes (100 m apart); the rotation against pyproj's meridian convergence."""
    crs, kind, par, earth = CASES[case]
    x, y = big_grid(crs, kind)
    x, y = x[::7], y[::7]  # the differences call pyproj at 8 points per point
    ours = Projection(pyproj.CRS(crs)).factors(x, y)
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)

    def k(X, Y):
        return textbook_k(kind, par, earth, np.radians(p(X, Y, inverse=True)[1]))

    d = 100.0

    def diff(dx, dy):
        return (
            8 * (k(X + dx, Y + dy) - k(X - dx, Y - dy))
            - (k(X + 2 * dx, Y + 2 * dy) - k(X - 2 * dx, Y - 2 * dy))
        ) / (12 * d)

    dk_dy, dk_dx = diff(0.0, d), diff(d, 0.0)
    scale = np.abs(dk_dy).max() + np.abs(dk_dx).max()
    np.testing.assert_allclose(ours["dk_dy"], dk_dy, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(ours["dh_dx"], dk_dx, rtol=0, atol=1e-8 * scale)
    gamma = np.radians(p.get_factors(*p(X, Y, inverse=True)).meridian_convergence)
    np.testing.assert_allclose(ours["cos"], np.cos(gamma), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["sin"], -np.sin(gamma), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "case", ["stere-north-sphere", "stere-south-wgs84", "stere-north-wgs84", "stere-k0-south"]
)
def test_pole_on_a_grid_point_of_a_large_chunk(case):
    """The pole on a grid point: k its limit (Snyder's k at the pole), no slope of k there,
    no direction to rotate by (NaN); its neighbours as everywhere."""
    crs, kind, par, earth = CASES[case]
    x, y = big_grid(crs, kind, pole_inside=True)
    ours = Projection(pyproj.CRS(crs)).factors(x, y)
    p = pyproj.Proj(crs)
    X, Y = np.meshgrid(x, y)
    lat = p(X, Y, inverse=True)[1]
    pole = np.abs(lat) == 90
    assert pole.sum() == 1
    np.testing.assert_allclose(ours["k"][pole], textbook_pole_k(kind, par, earth), rtol=1e-14)
    assert ours["dk_dy"][pole] == 0 and ours["dh_dx"][pole] == 0
    assert np.isnan(ours["cos"][pole]) and np.isnan(ours["sin"][pole])
    ref = textbook_k(kind, par, earth, np.radians(lat))
    np.testing.assert_allclose(ours["k"][~pole], ref[~pole], rtol=2e-13)
    assert np.all(np.isfinite(ours["cos"][~pole]))


def test_only_the_factors_asked_for_are_computed():
    """The operators ask for k and its slopes only: no rotation computed; asking for it later
    adds it to the same chunk's factors, equal to what a full computation gives."""
    crs = CASES["lcc-hrrr-sphere"][0]
    x, y = big_grid(crs, "lcc")
    projection = Projection(pyproj.CRS(crs))
    some = projection.factors(x, y, ("k", "dk_dy", "dh_dx"))
    assert "cos" not in some and "sin" not in some
    full = Projection(pyproj.CRS(crs)).factors(x, y)
    both = projection.factors(x, y, ("k", "cos", "sin"))
    assert projection.evaluations == 1  # one chunk
    for name in ("k", "dk_dy", "dh_dx", "cos", "sin"):
        np.testing.assert_array_equal(both[name], full[name])


def test_a_chunk_asked_for_by_several_threads_at_once_is_computed_once():
    crs = CASES["lcc-south-grs80"][0]
    x, y = big_grid(crs, "lcc")
    projection = Projection(pyproj.CRS(crs))
    calls = []
    compute = projection._compute_closed

    def counted(*args):
        calls.append(1)
        return compute(*args)

    projection._compute_closed = counted  # type: ignore[method-assign]
    start = threading.Barrier(4)
    got = []

    def ask():
        start.wait()
        got.append(projection.factors(x, y))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and projection.evaluations == 1
    assert all(g is got[0] for g in got)
