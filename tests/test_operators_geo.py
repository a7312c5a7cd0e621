"""divergence, vorticity and laplacian with geospatial=True (issue 12): analytic fields on the
sphere, convergence, the WGS84 metric terms, compositions of geospatial_gradient, and MetPy."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")

import dask  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad import geospatial_gradient  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402
from .metpy_crs import cf_with_wkt  # noqa: E402
from .test_geospatial import LAT_UNITS, LON_UNITS, R, field_1d, ragged, wgs84_radii  # noqa: E402
from .test_operators import second  # noqa: E402
from .test_stencil import reference  # noqa: E402

U0 = 10.0  # m s-1


def winds(lat, lon, fu, fv, lead=(), standard=True):
    """u, v (m s-1) from ``fu(φ, λ)``, ``fv(φ, λ)`` on 1-D coordinates; φ, λ in radians."""
    u, phi, lam = field_1d(lat, lon, fu, name="u", units="m s-1", lead=lead)
    v, _, _ = field_1d(lat, lon, fv, name="v", units="m s-1", lead=lead)
    if standard:
        u.attrs["standard_name"], v.attrs["standard_name"] = "eastward_wind", "northward_wind"
    return u, v, phi, lam


def geo(op, *args, **kwargs):
    return getattr(daskgrad, op)(*args, geospatial=True, **kwargs)


def measured_order(hs, errors):
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def err(ours, exact, scale=1.0):
    return float(np.nanmax(np.abs(np.asarray(ours) - exact))) / scale


# --- analytic fields on the sphere --------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 4])
def test_solid_body_rotation(p):
    lat, lon = np.arange(-80, 80.1, 1.0), np.arange(0, 360, 1.0)
    u, v, phi, _ = winds(lat, lon, lambda ph, la: U0 * np.cos(ph) + 0 * la, lambda ph, la: 0 * ph)
    div = geo("divergence", u, v, accuracy=p, edge_order=2 if p == 2 else 1)
    vort = geo("vorticity", u, v, accuracy=p, edge_order=2 if p == 2 else 1)
    # u is constant along longitude and v = 0: the divergence is exactly 0
    np.testing.assert_allclose(div, 0, atol=1e-12 * U0 / R)
    exact = 2 * U0 * np.sin(phi) / R
    h = np.radians(1.0)
    # u·tan φ/R is exact; -∂u/∂y has the error of the derivative of cos φ: h²/6 inside,
    # h²/3 at the one-sided edges (edge_order 2)
    bound = (h**2 / 3 if p == 2 else h**4) * U0 / R * 1.0001
    assert err(vort, exact) <= bound, (err(vort, exact), bound)
    assert err(vort[1:-1], exact[1:-1]) <= (h**2 / 6 if p == 2 else h**4 / 4) * U0 / R * 1.0001


def test_divergent_meridional_flow():
    # u = 0, v = V cos φ sin λ: div = (1/(R cos φ)) ∂(v cos φ)/∂φ = -2V sin φ sin λ / R and
    # vort = ∂v/∂x = V cos λ / R
    lat, lon = np.arange(-70, 70.1, 0.5), np.arange(-180, 180, 0.5)
    u, v, phi, lam = winds(
        lat, lon, lambda ph, la: 0 * ph * la, lambda ph, la: U0 * np.cos(ph) * np.sin(la)
    )
    div, vort = geo("divergence", u, v, edge_order=2), geo("vorticity", u, v, edge_order=2)
    h = np.radians(0.5)
    assert err(div, -2 * U0 * np.sin(phi) * np.sin(lam) / R) <= h**2 / 3 * U0 / R * 1.0001
    assert err(vort, U0 * np.cos(lam) / R) <= h**2 / 6 * U0 / R * 1.0001
    assert np.abs(div).max() > U0 / R  # not trivially zero


# the flow of the streamfunction ψ = U0·R sin φ cos φ sin λ (l = 2): vort = -6ψ/R², div = 0
PSI_FLOW = (
    lambda ph, la: -U0 * np.cos(2 * ph) * np.sin(la),
    lambda ph, la: U0 * np.sin(ph) * np.cos(la),
)
# the flow of the velocity potential χ = U0·R cos φ cos λ (l = 1): div = -2χ/R², vort = 0
CHI_FLOW = (
    lambda ph, la: -U0 * np.sin(la) + 0 * ph,
    lambda ph, la: -U0 * np.sin(ph) * np.cos(la),
)


STEPS = (4.0, 2.0, 1.0, 0.5)


@pytest.mark.parametrize("p", [2, 4])
def test_streamfunction_and_potential_flows_converge_at_order_p(p):
    errors = {k: [] for k in ("psi_vort", "psi_div", "chi_div", "chi_vort")}
    for step in STEPS:
        lat, lon = np.arange(-60, 60.1, step), np.arange(0, 360, step)
        opts = dict(accuracy=p, edge_order=2 if p == 2 else 1)
        u, v, phi, lam = winds(lat, lon, *PSI_FLOW)
        psi = U0 * R * np.sin(phi) * np.cos(phi) * np.sin(lam)
        errors["psi_vort"].append(err(geo("vorticity", u, v, **opts), -6 * psi / R**2, U0 / R))
        errors["psi_div"].append(err(geo("divergence", u, v, **opts), 0.0, U0 / R))
        u, v, phi, lam = winds(lat, lon, *CHI_FLOW)
        chi = U0 * R * np.cos(phi) * np.cos(lam)
        errors["chi_div"].append(err(geo("divergence", u, v, **opts), -2 * chi / R**2, U0 / R))
        errors["chi_vort"].append(err(geo("vorticity", u, v, **opts), 0.0, U0 / R))
    for key, e in errors.items():
        order = measured_order(STEPS, e)
        assert abs(order - p) <= 0.5, (key, order, e)
        assert e[1] <= (5 * np.radians(2.0) ** 2 if p == 2 else 20 * np.radians(2.0) ** 4), (key, e)


HARMONICS = {  # f(φ, λ) and its degree l: ∇²f = -l(l+1)/R² f
    "sin_lat": (lambda ph, la: np.sin(ph) + 0 * la, 1),
    "cos_lat_cos_lon": (lambda ph, la: np.cos(ph) * np.cos(la), 1),
    "sin_cos_lat_sin_lon": (lambda ph, la: np.sin(ph) * np.cos(ph) * np.sin(la), 2),
    "zonal_l2": (lambda ph, la: (3 * np.sin(ph) ** 2 - 1) / 2 + 0 * la, 2),
    "cos2_lat_cos_2lon": (lambda ph, la: np.cos(ph) ** 2 * np.cos(2 * la), 2),
}


@pytest.mark.parametrize("name", sorted(HARMONICS))
@pytest.mark.parametrize("p,edge_order", [(2, 2), (2, 1), (4, 1)])
def test_laplacian_of_spherical_harmonics_converges_at_order_p(name, p, edge_order):
    fn, deg = HARMONICS[name]
    errors = []
    for step in STEPS:
        lat, lon = np.arange(-60, 60.1, step), np.arange(-180, 180, step)
        f, phi, lam = field_1d(lat, lon, fn, name="T", units="K")
        lap = geo("laplacian", f, accuracy=p, edge_order=edge_order)
        assert lap.dims == f.dims and lap.shape == f.shape
        e = np.abs(lap.values * R**2 + deg * (deg + 1) * f.values)
        # edge_order 1: the 3-point one-sided second derivative is first order on the edge rows
        errors.append(float((e[1:-1] if edge_order == 1 and p == 2 else e).max()))
    order = measured_order(STEPS, errors)
    assert abs(order - p) <= 0.5, (order, errors)
    assert errors[1] <= (0.05 if p == 2 else 1e-3), errors  # at 2°, |∇²f|·R² is up to 6


@pytest.mark.parametrize("p", [2, 4])
def test_laplacian_wraps_a_global_longitude(p):
    lat, lon = np.arange(-60, 60.1, 2.0), np.arange(0, 360, 2.0)
    f, phi, lam = field_1d(lat, lon, HARMONICS["cos2_lat_cos_2lon"][0], name="T", units="K")
    wrapped = geo("laplacian", f, accuracy=p)
    forced = geo("laplacian", f, accuracy=p, periodic=True)
    plain = geo("laplacian", f, accuracy=p, periodic=False)
    np.testing.assert_array_equal(wrapped.values, forced.values)
    k = p // 2 + 1
    np.testing.assert_allclose(plain[:, k:-k], wrapped[:, k:-k], rtol=1e-12, atol=1e-28)
    # away from the latitude edges (their one-sided stencils dominate the error there), the
    # seam columns are as good as the rest when wrapped, much worse with one-sided stencils
    error = np.abs(wrapped.values + 6 * f.values / R**2)[k:-k]
    seam, inner = error[:, [0, -1]].max(), error[:, k:-k].max()
    assert seam <= 1.0001 * inner, (seam, inner)
    one_sided = np.abs(plain.values + 6 * f.values / R**2)[k:-k, [0, -1]].max()
    assert one_sided > 2 * inner, (one_sided, inner)
    rolled = f.roll(lon=45, roll_coords=True)
    np.testing.assert_allclose(
        geo("laplacian", rolled, accuracy=p).values, wrapped.roll(lon=45).values, atol=1e-27
    )


# --- compositions of geospatial_gradient; WGS84 ---------------------------------------------


def _partials(a, p, edge_order, omit, lon_period, phi, lam, earth, radius):
    """(∂a/∂x, ∂a/∂y) per metre by the Fornberg reference on the coordinate arrays (radians):
    the operators' stencils for 1-D latitude/longitude, evenly spaced or not."""
    col = phi[:, None]  # broadcasts along the latitude axis, the second to last
    n, m = wgs84_radii(col) if earth == "wgs84" else (radius, radius)
    opts = dict(edge_order=edge_order, omit=omit)
    x = reference(a, a.ndim - 1, p, lam, period=lon_period, **opts) / (n * np.cos(col))
    y = reference(a, a.ndim - 2, p, phi, **opts) / m
    return x, y, n


@pytest.mark.parametrize("earth,radius", [("sphere", None), ("sphere", 1000.0), ("wgs84", None)])
@pytest.mark.parametrize(
    "opts",
    [
        dict(accuracy=2, edge_order=1),
        dict(accuracy=2, edge_order=2, periodic=False),
        dict(accuracy=4, nan_policy="omit"),
        dict(accuracy=6),
    ],
)
def test_divergence_vorticity_compositions(earth, radius, opts):
    """div = ∂u/∂x + ∂v/∂y - v tan φ / N, vort = ∂v/∂x - ∂u/∂y + u tan φ / N (N = R on the
    sphere, ∂/∂y with M on WGS84), each ∂ by the coordinate rule on the 1-D coordinates, which
    is also geospatial_gradient's."""
    rng = np.random.default_rng(1)
    lat, lon = np.arange(-75, 75.1, 3.0), np.arange(0, 360, 4.0)
    u, v, phi, lam = winds(
        lat,
        lon,
        lambda ph, la: U0 * np.cos(ph) ** 2 * np.sin(3 * la) + 3.0,
        lambda ph, la: U0 * np.sin(2 * ph) * np.cos(la),
        lead=(2,),
    )
    u = u + rng.standard_normal(u.shape)
    v = v + rng.standard_normal(v.shape)
    omit = opts.get("nan_policy") == "omit"
    if omit:
        u, v = u.where(rng.random(u.shape) > 0.1), v.where(rng.random(v.shape) > 0.1)
    kw = dict(earth=earth, **({"radius": radius} if radius else {}), **opts)
    args = (
        opts["accuracy"],
        opts.get("edge_order", 1),
        omit,
        None if opts.get("periodic") is False else 2 * np.pi,
        np.radians(lat),
        np.radians(lon),
        earth,
        radius or R,
    )
    ux, uy, n = _partials(u.values, *args)
    vx, vy, _ = _partials(v.values, *args)
    tan = np.tan(phi) / n
    ref_div = ux + vy - v.values * tan
    ref_vort = vx - uy + u.values * tan
    scale = float(np.nanmax(np.abs(ref_vort)))
    close = dict(rtol=1e-10, atol=1e-11 * scale, equal_nan=True)
    for op, ref in (("divergence", ref_div), ("vorticity", ref_vort)):
        np.testing.assert_allclose(geo(op, u, v, **kw).values, ref, **close)
    # and each ∂ is geospatial_gradient's with the same options (the same coordinate rule)
    (gux, guy), (gvx, gvy) = (geospatial_gradient(a, **kw) for a in (u, v))
    np.testing.assert_allclose(gux + gvy - v * tan, ref_div, **close)
    np.testing.assert_allclose(gvx - guy + u * tan, ref_vort, **close)
    lazy = (u.chunk({"lat": ragged(lat.size, rng), "lon": 17}), v.chunk({"lat": 9}))
    with raise_if_dask_computes():
        ldiv = geo("divergence", *lazy, **kw)
    assert ldiv.chunks == lazy[0].chunks
    with dask.config.set(scheduler="sync"):
        np.testing.assert_allclose(ldiv.values, ref_div, **close)


@pytest.mark.parametrize("earth", ["sphere", "wgs84"])
@pytest.mark.parametrize("p,edge_order", [(2, 1), (2, 2), (4, 1)])
@pytest.mark.parametrize("periodic", [None, False])
def test_laplacian_is_the_coordinate_rule_composition(earth, p, edge_order, periodic):
    """∇²f = f_λλ/(N cos φ)² + f_φφ/M² - (tan φ/N)·∂f/∂y, the second derivatives by findiff's
    coordinate rule on the 1-D coordinates in radians (evenly spaced ones too: centred p+3
    points, wrapping the global longitude), ∂f/∂y by the first-derivative coordinate rule."""
    rng = np.random.default_rng(p + edge_order)
    lat, lon = np.arange(-70, 70.1, 2.5), np.arange(0, 360, 3.0)
    f, phi, lam = field_1d(lat, lon, lambda ph, la: np.cos(ph) ** 2 * np.sin(3 * la) + ph)
    f = f + 0.01 * rng.standard_normal(f.shape)
    n, m = wgs84_radii(phi) if earth == "wgs84" else (R, R)
    values, lat_r, lon_r = f.values, np.radians(lat), np.radians(lon)
    period = 2 * np.pi if periodic is None else None
    ref = (
        second(values, 1, p, lon_r, edge_order=edge_order, period=period) / (n * np.cos(phi)) ** 2
        + second(values, 0, p, lat_r, edge_order=edge_order) / m**2
        - np.tan(phi) / (n * m) * reference(values, 0, p, lat_r, edge_order=edge_order)
    )
    ours = geo("laplacian", f, earth=earth, accuracy=p, edge_order=edge_order, periodic=periodic)
    np.testing.assert_allclose(ours.values, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("earth", ["sphere", "wgs84"])
def test_laplacian_metric_terms_on_linear_and_quadratic_fields(earth):
    """f = φ: f_λλ = f_φφ = 0, so ∇²f = -(tan φ/N)·∂f/∂y = -tan φ/(N·M) (R² on the sphere).
    f = φ²: + 2/M² (the spec's ∂²f/∂y² = f_φφ/M²). f = λ (regional): 0. Every stencil is
    exact for these, accuracy 2 with edge_order 2 included."""
    lat, lon = np.arange(-70, 70.1, 2.0), np.arange(10, 100.1, 2.0)
    f, phi, lam = field_1d(lat, lon, lambda ph, la: ph + 0 * la)
    n, m = wgs84_radii(phi) if earth == "wgs84" else (R, R)
    atol = 1e-9 / R**2
    for p in (2, 4):
        opts = dict(earth=earth, accuracy=p, edge_order=2 if p == 2 else 1)
        lap = geo("laplacian", f, **opts)
        np.testing.assert_allclose(lap.values, -np.tan(phi) / (n * m), rtol=1e-9, atol=atol)
        g, _, _ = field_1d(lat, lon, lambda ph, la: ph**2 + 0 * la)
        lap = geo("laplacian", g, **opts)
        exact = 2 / m**2 - np.tan(phi) / n * 2 * phi / m
        np.testing.assert_allclose(lap.values, exact, rtol=1e-9, atol=atol)
        g, _, _ = field_1d(lat, lon, lambda ph, la: la + 0 * ph)
        np.testing.assert_allclose(geo("laplacian", g, **opts).values, 0, atol=atol)


def test_radius_scales_the_operators():
    lat, lon = np.arange(-60, 60.1, 3.0), np.arange(0, 360, 3.0)
    u, v, phi, lam = winds(
        lat, lon, lambda ph, la: np.cos(ph) * np.sin(2 * la), lambda ph, la: np.sin(ph) * np.cos(la)
    )
    for op, power in (("divergence", 1), ("vorticity", 1), ("laplacian", 2)):
        args = (u,) if op == "laplacian" else (u, v)
        default, unit = geo(op, *args), geo(op, *args, radius=1.0)
        np.testing.assert_allclose(unit.values, default.values * R**power, rtol=1e-11, atol=1e-13)


# --- dask, names, units, errors ---------------------------------------------------------------


@pytest.mark.parametrize("op", ["divergence", "vorticity", "laplacian"])
def test_dask_lazy_and_equal_to_numpy(op):
    rng = np.random.default_rng(7)
    lat, lon = np.arange(-80, 80.1, 4.0), np.arange(0, 360, 5.0)
    u, v, _, _ = winds(
        lat,
        lon,
        lambda ph, la: np.cos(ph) * np.sin(la),
        lambda ph, la: np.sin(ph) + 0 * la,
        lead=(3,),
    )
    u, v = u + 0.1 * rng.standard_normal(u.shape), v + 0.1 * rng.standard_normal(v.shape)
    args = (u,) if op == "laplacian" else (u, v)
    chunked = [
        a.chunk({"t0": 2, "lat": ragged(lat.size, rng), "lon": ragged(lon.size, rng)}) for a in args
    ]
    for kw in (dict(), dict(accuracy=4, earth="wgs84"), dict(edge_order=2, periodic=False)):
        with raise_if_dask_computes():
            lazy = geo(op, *chunked, **kw)
        assert isinstance(lazy.data, da.Array) and lazy.chunks == chunked[0].chunks
        with dask.config.set(scheduler="sync"):
            np.testing.assert_allclose(
                lazy.values, geo(op, *args, **kw).values, rtol=1e-11, atol=1e-20
            )
    # 1-D coordinates on non-index dims held as dask arrays stay lazy too
    g = [a.rename(lat="y", lon="x").drop_vars(["y", "x"]) for a in args]
    g = [
        a.chunk({"y": 7, "x": 11}).assign_coords(
            lat=("y", da.from_array(lat, 5), LAT_UNITS), lon=("x", da.from_array(lon, 9), LON_UNITS)
        )
        for a in g
    ]
    with raise_if_dask_computes():
        lazy = geo(op, *g, periodic=False)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_allclose(
            lazy.values, geo(op, *args, periodic=False).values, rtol=1e-11, atol=1e-20
        )


def test_names_units_and_standard_names():
    lat, lon = np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0)
    u, v, _, _ = winds(lat, lon, lambda ph, la: np.cos(ph) + 0 * la, lambda ph, la: 0 * ph * la)
    div, vort = geo("divergence", u, v), geo("vorticity", u, v)
    assert (div.name, vort.name) == ("div_u_v", "vort_u_v")
    assert div.attrs["units"] == "s-1" and vort.attrs["units"] == "s-1"
    assert div.attrs["standard_name"] == "divergence_of_wind"
    assert vort.attrs["standard_name"] == "atmosphere_relative_vorticity"
    xr.testing.assert_identical(div.coords.to_dataset(), u.coords.to_dataset())
    T, _, _ = field_1d(lat, lon, lambda ph, la: np.sin(ph) + 0 * la, name="T", units="K")
    lap = geo("laplacian", T)
    assert lap.name == "lap_T" and lap.attrs["units"] == "K m-2" and lap.dims == T.dims
    plain_u, plain_v, _, _ = winds(lat, lon, np.cos, np.cos, standard=False)
    assert "standard_name" not in geo("divergence", plain_u, plain_v).attrs


def test_mismatched_inputs_name_the_difference():
    lat, lon = np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0)
    u, v, _, _ = winds(lat, lon, np.cos, np.cos)
    for op in ("divergence", "vorticity"):
        with pytest.raises(ValueError, match="lat"):
            geo(op, u, v.assign_coords(lat=("lat", lat + 1.0, LAT_UNITS)))
        with pytest.raises(ValueError, match=r"lon|\(25, 36\)"):
            geo(op, u, v.isel(lon=slice(1, None)))
    with pytest.raises(ValueError, match="no longitude coordinate found"):
        geo("laplacian", u.drop_vars("lon"))
    with pytest.raises(ValueError, match="earth must be 'sphere' or 'wgs84'"):
        geo("vorticity", u, v, earth="mars")


# --- MetPy ------------------------------------------------------------------------------------


def test_metpy_parity_vorticity_divergence():
    """MetPy 1.7 on a global 0.25° grid with the same sphere; it differentiates its map factors
    numerically (O(h²) off the exact tan φ form) and does not wrap: compare at |lat| <= 60,
    away from the seam columns, rtol 1e-4 of the field's scale."""
    mpcalc = pytest.importorskip("metpy.calc")
    lat, lon = np.arange(-90, 90.1, 0.25), np.arange(-180, 180, 0.25)
    u, v, phi, lam = winds(
        lat,
        lon,
        lambda ph, la: U0 * (np.cos(ph) ** 2 * np.sin(3 * la) + np.cos(ph)),
        lambda ph, la: U0 * np.sin(2 * ph) * np.cos(2 * la),
    )
    crs = cf_with_wkt(grid_mapping_name="latitude_longitude", earth_radius=R)
    um, vm = (a.assign_attrs(units="m/s").metpy.assign_crs(**crs) for a in (u, v))
    mvort = mpcalc.vorticity(um, vm).metpy.dequantify()
    mdiv = mpcalc.divergence(um, vm).metpy.dequantify()
    assert mvort.attrs["units"] in ("1 / second", "1/s", "s-1"), mvort.attrs
    rows, cols = np.abs(lat) <= 60, slice(2, -2)
    for ours, ref in ((geo("vorticity", u, v), mvort), (geo("divergence", u, v), mdiv)):
        a, b = ours.values[rows][:, cols], np.asarray(ref.values)[rows][:, cols]
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())


def test_per_degree_operators_warn_and_carry_no_cf_name():
    """Operators over lat/lon dims without geospatial=True are per degree: a warning says so,
    and CF's standard names (units s-1) are not given to them."""
    lat, lon = np.arange(-60, 61.0, 5.0), np.arange(0, 360, 10.0)
    u, v, _, _ = winds(lat, lon, lambda ph, la: np.cos(ph) + 0 * la, lambda ph, la: 0 * ph * la)
    with pytest.warns(UserWarning, match="per degree"):
        vort = daskgrad.vorticity(u, v, dims=["lon", "lat"])
    assert "standard_name" not in vort.attrs
    assert geo("vorticity", u, v).attrs["standard_name"] == "atmosphere_relative_vorticity"


@pytest.mark.parametrize("accuracy", [2, 4])
def test_curvilinear_grid_around_a_pole(accuracy):
    """A 2-D grid with the south pole inside it (no point on it): u, v jump around the pole,
    the wind does not. Rotation about a tilted axis: vorticity 2 A·r, divergence 0; before,
    errors were 32 times the answer next to the pole."""
    errors = []
    for h in (0.5, 0.25):
        s = np.arange(-10 + h / 3, 10, h)  # degrees of arc from the pole
        x, y = np.meshgrid(s, s, indexing="ij")
        lat, lon = -90 + np.hypot(x, y), np.degrees(np.arctan2(y, x))
        phi, lam = np.radians(lat), np.radians(lon)
        r = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
        east = np.stack([-np.sin(lam), np.cos(lam), 0 * lam])
        north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
        axis = np.array([0.3, -0.5, 0.8])[:, None, None] * 1e-4
        wind = np.cross(axis * np.ones_like(r), r * R, axis=0)
        coords = {
            "lat": (("y", "x"), lat, LAT_UNITS),
            "lon": (("y", "x"), lon, LON_UNITS),
        }
        u = xr.DataArray((wind * east).sum(0), coords, ("y", "x"), name="u")
        v = xr.DataArray((wind * north).sum(0), coords, ("y", "x"), name="v")
        exact = 2 * (axis * r).sum(0)
        vort = geo("vorticity", u, v, accuracy=accuracy).values
        div = geo("divergence", u, v, accuracy=accuracy).values
        scale = np.abs(exact).max()
        errors.append(max(err(vort, exact, scale), err(div, 0.0, scale)))
    if accuracy == 4:  # the Cartesian wind is linear in position: exact to rounding
        assert errors[-1] < 1e-9, errors
    else:  # first order from the grid's one-sided edges, nowhere worse near the pole
        assert errors[0] < 5e-3 and errors[1] < 0.6 * errors[0], errors
