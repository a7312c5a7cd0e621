"""Kinematics with a vertical coordinate (issue 20): baroclinic potential vorticity, Q-vectors and
advection with w, against MetPy 1.7 (its definitions), analytic fields and their convergence."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")
mpcalc = pytest.importorskip("metpy.calc")

from metpy.constants import earth_avg_radius  # noqa: E402
from metpy.units import units  # noqa: E402

from daskgrad.core.earth import make_earth  # noqa: E402
from daskgrad.core.kinematics_vertical import (  # noqa: E402
    advection_arrays,
    potential_vorticity_arrays,
    q_vector_arrays,
)
from daskgrad.core.metric import LatLonMetric  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402

R = float(earth_avg_radius.m_as("m"))
G, OMEGA = 9.80665, 7.292115e-5
LEVELS = np.array([1000.0, 925, 850, 700, 600, 500])  # hPa, uneven


def latlon_fields(p_hpa, lat, lon, seed=0):
    """θ, u, v on (level, lat, lon): smooth, with a little noise; φ, λ in radians."""
    P, PHI, LAM = np.meshgrid(p_hpa, np.radians(lat), np.radians(lon), indexing="ij")
    noise = np.random.default_rng(seed).standard_normal((3, *P.shape))
    theta = 300 - 0.05 * (P - 1000) + 5 * np.cos(PHI) ** 2 * np.sin(3 * LAM) + 0.01 * noise[0]
    u = 10 * np.cos(PHI) * (1 + P / 1000) + np.sin(2 * LAM) + 0.01 * noise[1]
    v = 5 * np.sin(2 * PHI) * np.cos(2 * LAM) * P / 1000 + 0.01 * noise[2]
    return theta, u, v


def metpy_latlon(arrays, p_hpa, lat, lon, units_):
    coords = {
        "isobaric": ("isobaric", p_hpa, {"units": "hPa"}),
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=R)
    return [
        xr.DataArray(
            a, dims=("isobaric", "lat", "lon"), coords=coords, attrs={"units": un}
        ).metpy.assign_crs(**crs)
        for a, un in zip(arrays, units_, strict=True)
    ]


def sphere(lat, lon, lat_axis=1):
    phi = np.radians(lat)
    metric = LatLonMetric(make_earth("sphere", radius=R), lat_axis, phi)
    return dict(spacing=(np.radians(lon), phi), metric=metric), phi


def close_to_scale(ours, ref, rtol):
    ref = np.asarray(getattr(ref, "magnitude", ref))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=rtol * np.abs(ref).max())


# --- MetPy on latitude/longitude -----------------------------------------------------------------

LAT = np.arange(-61.0, 61.01, 0.25)  # compared at |lat| <= 60, as on a global grid
LON = np.arange(0.0, 12.0, 0.25)
INSIDE = (slice(None), np.abs(LAT) <= 60, slice(2, -2))


def test_pv_metpy_latlon():
    theta, u, v = latlon_fields(LEVELS, LAT, LON)
    mt, mu, mv = metpy_latlon((theta, u, v), LEVELS, LAT, LON, ("K", "m/s", "m/s"))
    ref = mpcalc.potential_vorticity_baroclinic(mt, mt.isobaric, mu, mv)
    assert str(ref.metpy.units) == "kelvin * meter ** 2 / kilogram / second"
    grid, phi = sphere(LAT, LON)
    (pv,) = potential_vorticity_arrays(
        theta, LEVELS * 100, u, v, (2, 1), 0, latitude=phi[:, None], edge_order=2, **grid
    )
    close_to_scale(pv[INSIDE], ref.values[INSIDE], 1e-4)


@pytest.mark.parametrize("one_level", [True, False])
def test_q_vector_metpy_latlon(one_level):
    theta, u, v = latlon_fields(LEVELS, LAT, LON, seed=1)
    mt, mu, mv = metpy_latlon((theta, u, v), LEVELS, LAT, LON, ("K", "m/s", "m/s"))
    grid, _ = sphere(LAT, LON, lat_axis=0 if one_level else 1)
    if one_level:  # one level, pressure a number (MetPy: a 0-d Quantity)
        refs = mpcalc.q_vector(mu[2], mv[2], mt[2], 850 * units.hPa)
        ours = q_vector_arrays(u[2], v[2], theta[2], 85000.0, (1, 0), edge_order=2, **grid)
        inside = INSIDE[1:]
    else:  # pressure the 1-D vertical coordinate
        refs = mpcalc.q_vector(mu, mv, mt, mt.isobaric)
        ours = q_vector_arrays(
            u, v, theta, LEVELS * 100, (2, 1), vertical_dim=0, edge_order=2, **grid
        )
        inside = INSIDE
    for q, ref in zip(ours, refs, strict=True):
        assert str(ref.metpy.units) == "meter ** 2 / kilogram / second"
        close_to_scale(q[inside], ref.values[inside], 1e-4)


# --- MetPy on Cartesian grids ----------------------------------------------------------------


def cartesian_fields(shape=(7, 20, 24), seed=2):
    rng = np.random.default_rng(seed)
    p = np.sort(rng.uniform(200, 1000, shape[0]))[::-1] * 100  # Pa, uneven, descending
    theta, u, v, w = (rng.standard_normal(shape) for _ in range(4))
    theta += 300 - 0.0005 * p[:, None, None]
    lat = np.radians(np.linspace(20, 50, shape[1]))[:, None] + 0 * np.arange(shape[2])
    return p, theta, u * 10, v * 10, w, lat


def test_pv_metpy_cartesian():
    p, theta, u, v, _, lat = cartesian_fields()
    dx, dy = 25e3, 30e3
    ref = mpcalc.potential_vorticity_baroclinic(
        theta * units.K,
        p[:, None, None] * units.Pa,
        u * units("m/s"),
        v * units("m/s"),
        dx=dx * units.m,
        dy=dy * units.m,
        latitude=lat * units.radian,
    )
    (pv,) = potential_vorticity_arrays(
        theta, p, u, v, (2, 1), 0, latitude=lat, spacing=(dx, dy), edge_order=2
    )
    close_to_scale(pv, ref, 1e-10)


def test_q_vector_metpy_cartesian():
    p, theta, u, v, _, _ = cartesian_fields(seed=3)
    dx, dy = 25e3, 30e3
    sigma = np.random.default_rng(4).uniform(1e-6, 2e-6, theta.shape)
    refs = mpcalc.q_vector(
        u * units("m/s"),
        v * units("m/s"),
        theta * units.K,
        p[:, None, None] * units.Pa,
        dx=dx * units.m,
        dy=dy * units.m,
        static_stability=sigma * units("J / kg / Pa**2"),
    )
    ours = q_vector_arrays(
        u, v, theta, p, (2, 1), vertical_dim=0, static_stability=sigma, spacing=(dx, dy),
        edge_order=2,
    )  # fmt: skip
    for q, ref in zip(ours, refs, strict=True):
        close_to_scale(q, ref, 1e-10)


def test_advection_with_w_metpy_cartesian():
    p, s, u, v, w, _ = cartesian_fields(seed=5)
    z = np.cumsum(np.random.default_rng(6).uniform(100, 400, s.shape[0]))  # m, uneven
    dx, dy = 25e3, 30e3
    ref = mpcalc.advection(
        s * units.K,
        u * units("m/s"),
        v * units("m/s"),
        w * units("m/s"),
        dx=dx * units.m,
        dy=dy * units.m,
        dz=np.diff(z)[:, None, None] * units.m,
    )
    (adv,) = advection_arrays(s, u, v, w, (2, 1), 0, vertical=z, spacing=(dx, dy), edge_order=2)
    close_to_scale(adv, ref, 1e-10)


# --- analytic fields: a stratified rest state, convergence ------------------------------------


@pytest.mark.parametrize("accuracy", [2, 4])
@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("form", ["1-D", "column", "field"])
def test_pv_of_a_stratified_rest_state(form, order, accuracy):
    """u = v = 0: PV = −g f ∂θ/∂p. θ quadratic in p on uneven levels is differentiated exactly
    by the coordinate stencils; with pressure varying by column (the chain rule), θ linear in
    p is."""
    lat, lon = np.arange(-60.0, 60.1, 2.0), np.arange(0.0, 20.0, 2.0)
    p = np.array([1000.0, 950, 850, 700, 500, 300, 250]) * 100
    p = p if order == "descending" else p[::-1]
    phi = np.radians(lat)[:, None]
    if form == "field":  # surface pressure varies with longitude
        pressure = p[:, None, None] * (1 + 0.02 * np.sin(np.radians(lon)))
        theta = 250 + 6e-4 * pressure + 0 * phi
        exact = -G * 2 * OMEGA * np.sin(phi) * 6e-4
    else:
        pressure = p if form == "1-D" else p[:, None, None]  # the same in every column
        theta = 250 + 6e-4 * p + 1e-9 * p**2
        theta = np.broadcast_to(theta[:, None, None], (p.size, lat.size, lon.size))
        exact = -G * 2 * OMEGA * np.sin(phi) * (6e-4 + 2e-9 * p[:, None, None])
    rest = np.zeros(theta.shape)
    grid, _ = sphere(lat, lon)
    edge = dict(edge_order=2) if accuracy == 2 else dict(accuracy=4)
    (pv,) = potential_vorticity_arrays(
        theta, pressure, rest, rest, (2, 1), 0, latitude=phi, **grid, **edge
    )
    np.testing.assert_allclose(pv, np.broadcast_to(exact, pv.shape), rtol=1e-9, atol=1e-18)


def _analytic(X, Y, S):
    """(value, ∂/∂X, ∂/∂Y, ∂/∂S) of θ, u and v."""
    theta = (
        300 + 10 * np.sin(2 * X) * np.cos(Y) - 40 * S + 5 * S**2 + 3 * np.sin(X) * S**2,
        20 * np.cos(2 * X) * np.cos(Y) + 3 * np.cos(X) * S**2,
        -10 * np.sin(2 * X) * np.sin(Y),
        -40 + 10 * S + 6 * np.sin(X) * S,
    )
    u = (
        10 * np.cos(Y) * S + 5 * np.sin(X + Y),
        5 * np.cos(X + Y),
        -10 * np.sin(Y) * S + 5 * np.cos(X + Y),
        10 * np.cos(Y),
    )
    v = (8 * np.sin(X) * S**2, 8 * np.cos(X) * S**2, 0 * X, 16 * np.sin(X) * S)
    return theta, u, v


def pv_error(n, accuracy, column, dask=False):
    """Max |PV − exact| / max |exact| on an n × n × n grid with uneven levels, edges included
    (edge_order 2 at accuracy 2); ``column``: pressure varies with x (derivatives along the
    levels, chain rule in the vertical)."""
    L, P0 = 1e6, 1e5
    t = np.linspace(0, 1, n)
    levels = 1 - 0.7 * (t + 0.2 * np.sin(np.pi * t))  # S on the levels, uneven, descending
    X1, Y1 = np.linspace(0, 2, n), np.linspace(0, 2, n)
    T, Y, X = np.meshgrid(levels, Y1, X1, indexing="ij")
    tilt = 1 + 0.05 * np.sin(X) if column else 1.0
    S = T * tilt
    (th, thX, thY, thS), (u, uX, uY, uS), (v, vX, vY, vS) = _analytic(X, Y, S)
    SX = T * 0.05 * np.cos(X) if column else 0.0  # ∂S/∂X along a level
    dtdx, dtdy = (thX + thS * SX) / L, thY / L
    dudy, dvdx = uY / L, (vX + vS * SX) / L
    f = 2 * OMEGA * np.sin(0.5 + 0.2 * Y)
    exact = -G * ((f + dvdx - dudy) * thS / P0 + uS / P0 * dtdy - vS / P0 * dtdx)
    pressure = P0 * S if column else P0 * levels
    inputs = [th, u, v]
    if dask:
        inputs = [da.from_array(a, chunks=(n // 2, n // 3, n)) for a in inputs]
    (pv,) = potential_vorticity_arrays(
        inputs[0], pressure, inputs[1], inputs[2], (2, 1), 0, latitude=0.5 + 0.2 * Y,
        spacing=(X1 * L, Y1 * L), accuracy=accuracy, edge_order=2 if accuracy == 2 else 1,
    )  # fmt: skip
    return float(np.abs(np.asarray(pv) - exact).max() / np.abs(exact).max())


@pytest.mark.parametrize("column", [False, True], ids=["1-D", "by-column"])
@pytest.mark.parametrize("accuracy", [2, 4])
def test_pv_converges_at_its_order(accuracy, column):
    ns = np.array([16, 32, 64])
    errors = [pv_error(n, accuracy, column) for n in ns]
    order = -np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert order > accuracy - 0.3, (errors, order)


# --- dask, dtypes, masks, bad input --------------------------------------------------------------


def chunked(a, chunks=(3, 7, 10)):
    return da.from_array(a, chunks=chunks)


@pytest.mark.parametrize("form", ["1-D", "1-D dask", "column", "field", "field dask"])
def test_dask_is_lazy_and_equals_numpy(form):
    p, theta, u, v, w, lat = cartesian_fields()
    pressure = {
        "1-D": p,
        "1-D dask": da.from_array(p, chunks=4),
        "column": p[:, None, None],
        "field": p[:, None, None] * (1 + 0.01 * np.cos(np.arange(24) / 5)),
        "field dask": chunked(p[:, None, None] * (1 + 0.01 * np.cos(lat))),
    }[form]
    numpy_p = np.asarray(pressure)
    kw = dict(spacing=(25e3, 30e3), accuracy=4)
    with raise_if_dask_computes():
        (pv,) = potential_vorticity_arrays(
            chunked(theta), pressure, chunked(u), chunked(v), (2, 1), 0, latitude=lat, **kw
        )
        qs = q_vector_arrays(chunked(u), chunked(v), chunked(theta), pressure, (2, 1),
                             vertical_dim=0, **kw)  # fmt: skip
        (adv,) = advection_arrays(
            chunked(theta), chunked(u), None, chunked(w), (2, 1), 0, vertical=pressure, **kw
        )
    lazy = (pv, *qs, adv)
    assert all(isinstance(a, da.Array) and a.chunks == chunked(u).chunks for a in lazy)
    (pv0,) = potential_vorticity_arrays(theta, numpy_p, u, v, (2, 1), 0, latitude=lat, **kw)
    q0 = q_vector_arrays(u, v, theta, numpy_p, (2, 1), vertical_dim=0, **kw)
    (adv0,) = advection_arrays(theta, u, None, w, (2, 1), 0, vertical=numpy_p, **kw)
    for ours, ref in zip(lazy, (pv0, *q0, adv0), strict=True):
        np.testing.assert_allclose(ours.compute(scheduler="sync"), ref, rtol=1e-13, atol=0)


def test_one_task_per_chunk():
    p, theta, u, v, _, lat = cartesian_fields()
    (pv,) = potential_vorticity_arrays(
        chunked(theta), p, chunked(u), chunked(v), (2, 1), 0, latitude=lat, spacing=1e4
    )
    graph = dict(pv.__dask_graph__())
    computing = [k for k in graph if isinstance(k, tuple) and k[0] == pv.name]
    assert len(computing) == pv.npartitions  # every derivative of a chunk in one task
    # per chunk besides the inputs' own: the ghost planes of θ, u, v and latitude, the result
    ours = [k for k in graph if isinstance(k, tuple) and k[0].startswith("potential_vort")]
    assert len(ours) <= 5 * pv.npartitions, len(ours)


@pytest.mark.parametrize("dask", [False, True])
def test_float32_stays_float32(dask):
    p, theta, u, v, w, lat = cartesian_fields()
    theta, u, v, w = (a.astype(np.float32) for a in (theta, u, v, w))
    if dask:
        theta, u, v, w = (chunked(a) for a in (theta, u, v, w))
    field = p[:, None, None] * (1 + 0.01 * np.cos(lat))  # float64
    (pv,) = potential_vorticity_arrays(theta, p, u, v, (2, 1), 0, latitude=lat, spacing=1e4)
    (pv2,) = potential_vorticity_arrays(theta, field, u, v, (2, 1), 0, latitude=lat, spacing=1e4)
    qs = q_vector_arrays(u, v, theta, field, (2, 1), spacing=1e4, static_stability=lat)
    (adv,) = advection_arrays(theta, u, v, w, (2, 1), 0, vertical=p, spacing=1e4)
    for a in (pv, pv2, *qs, adv):
        assert a.dtype == np.float32
        assert np.asarray(a).dtype == np.float32
    (pv64,) = potential_vorticity_arrays(
        *(np.asarray(a, np.float64) for a in (theta, p, u, v)), (2, 1), 0, latitude=lat,
        spacing=1e4,
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(pv), pv64, rtol=0, atol=1e-4 * np.abs(pv64).max())


def test_masked_input_masks_the_stencils_it_reaches():
    p, theta, u, v, _, lat = cartesian_fields()
    mask = np.zeros(theta.shape, bool)
    mask[3, 10, 12] = True
    (pv,) = potential_vorticity_arrays(
        np.ma.masked_array(theta, mask), p, u, v, (2, 1), 0, latitude=lat, spacing=1e4
    )
    assert isinstance(pv, np.ma.MaskedArray)
    assert pv.mask[3, 10, 12] and pv.mask[2, 10, 12] and pv.mask[3, 10, 13]
    assert not pv.mask[0, 0, 0] and pv.mask.sum() == 7  # the point and its 6 neighbours


def test_bad_input_names_the_culprit():
    p, theta, u, v, _, lat = cartesian_fields()
    pv = potential_vorticity_arrays
    with pytest.raises(ValueError, match=r"vertical_dim=0 is also one of the horizontal dims"):
        pv(theta, p, u, v, (0, 2), 0, latitude=lat)
    with pytest.raises(ValueError, match=r"vertical_dim=-1 is also"):
        advection_arrays(theta, u, v, u, (2, 1), -1)
    with pytest.raises(ValueError, match="pressure is a single value"):
        pv(theta, 85000.0, u, v, (2, 1), 0, latitude=lat)
    with pytest.raises(ValueError, match="pressure has 6 values but vertical_dim 0 has 7"):
        pv(theta, p[:-1], u, v, (2, 1), 0, latitude=lat)
    with pytest.raises(ValueError, match="pressure has shape .* does not broadcast"):
        pv(theta, np.ones((7, 3, 1)), u, v, (2, 1), 0, latitude=lat)
    with pytest.raises(ValueError, match="pressure .* does not vary along vertical_dim"):
        pv(theta, np.ones((1, 20, 24)), u, v, (2, 1), 0, latitude=lat)
    with pytest.raises(ValueError, match="latitude is required"):
        pv(theta, p, u, v, (2, 1), 0, latitude=None)
    with pytest.raises(ValueError, match="periodic names the vertical dim 0"):
        pv(theta, p, u, v, (2, 1), 0, latitude=lat, periodic={0: 1.0})
    with pytest.raises(ValueError, match="pressure is 1-D .* give vertical_dim"):
        q_vector_arrays(u, v, theta, p, (2, 1))
    with pytest.raises(ValueError, match="static_stability has shape"):
        q_vector_arrays(u, v, theta, 5e4, (2, 1), static_stability=np.ones((2, 2)))


# --- the public functions: DataArrays, pint, the accessor -----------------------------------


def dataset(p_hpa=LEVELS, lat=LAT, lon=LON, seed=0):
    theta, u, v = latlon_fields(p_hpa, lat, lon, seed)
    coords = {
        "level": ("level", p_hpa, {"units": "hPa"}),
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", lon, {"units": "degrees_east"}),
    }
    dims = ("level", "lat", "lon")
    return xr.Dataset(
        {
            "theta": (dims, theta, {"units": "K"}),
            "u": (dims, u, {"units": "m s-1", "standard_name": "eastward_wind"}),
            "v": (dims, v, {"units": "m s-1", "standard_name": "northward_wind"}),
        },
        coords=coords,
    )


def metpy_of(ds):
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=R)
    return [ds[n].metpy.assign_crs(**crs) for n in ("theta", "u", "v")]


def test_public_pv_of_dataarrays_in_hpa_and_of_the_accessor():
    import daskgrad

    ds = dataset()
    mt, mu, mv = metpy_of(ds)
    ref = mpcalc.potential_vorticity_baroclinic(mt, mt.level, mu, mv)
    kw = dict(vertical_dim="level", geospatial=True, radius=R, edge_order=2)
    pv = daskgrad.potential_vorticity_baroclinic(ds.theta, None, ds.u, ds.v, **kw)
    assert pv.name == "pv_theta" and pv.dims == ds.theta.dims
    assert pv.attrs["units"] == "K m2 kg-1 s-1" and "standard_name" not in pv.attrs
    close_to_scale(pv.values[INSIDE], ref.values[INSIDE], 1e-4)
    by_name = ds.grad.potential_vorticity_baroclinic("theta", "level", "u", "v", **kw)
    xr.testing.assert_identical(by_name, pv)
    lazy = ds.chunk({"level": 2, "lat": 100})
    with raise_if_dask_computes():
        pv_lazy = daskgrad.potential_vorticity_baroclinic(
            lazy.theta, lazy.level, lazy.u, lazy.v, **kw
        )
    np.testing.assert_allclose(pv_lazy.values, pv.values, rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="vertical_dim='lat' is also one of the horizontal"):
        daskgrad.potential_vorticity_baroclinic(
            ds.theta, None, ds.u, ds.v, vertical_dim="lat", geospatial=True
        )


def test_public_q_vector_one_level_and_by_coordinate():
    import daskgrad

    ds = dataset(seed=1)
    mt, mu, mv = metpy_of(ds)
    kw = dict(geospatial=True, radius=R, edge_order=2)
    level = ds.isel(level=2)
    q1, q2 = daskgrad.q_vector(level.u, level.v, level.theta, 850 * units.hPa, **kw)
    refs = mpcalc.q_vector(mu[2], mv[2], mt[2], 850 * units.hPa)
    assert (q1.name, q2.name) == ("q1_theta", "q2_theta")
    assert q1.attrs["units"] == "m2 kg-1 s-1"
    assert q1.attrs["long_name"].startswith("eastward component of the Q-vector")
    for q, ref in zip((q1, q2), refs, strict=True):
        close_to_scale(q.values[INSIDE[1:]], ref.values[INSIDE[1:]], 1e-4)
    qs = ds.grad.q_vector("u", "v", "theta", "level", **kw)
    refs = mpcalc.q_vector(mu, mv, mt, mt.level)
    for q, ref in zip(qs, refs, strict=True):
        close_to_scale(q.values[INSIDE], ref.values[INSIDE], 1e-4)


def test_public_functions_of_quantities_in_their_registry():
    """Quantities in hPa and km: the results are MetPy's, in its units and the inputs'
    registry (a fresh one here)."""
    import pint

    import daskgrad

    ureg = pint.UnitRegistry()
    p, theta, u, v, w, lat = cartesian_fields()
    dx, dy = 25.0, 30.0  # km
    Q = ureg.Quantity
    pv = daskgrad.potential_vorticity_baroclinic(
        Q(theta, "K"), Q(p / 100, "hPa"), Q(u, "m/s"), Q(v, "m/s"), spacing=Q([dx, dy], "km"),
        latitude=Q(np.degrees(lat), "degree"), edge_order=2,
    )  # fmt: skip
    assert pv.units._REGISTRY is ureg and pv.units == ureg("K m**2 / kg / s").units
    ref = mpcalc.potential_vorticity_baroclinic(
        theta * units.K, p[:, None, None] * units.Pa, u * units("m/s"), v * units("m/s"),
        dx=dx * units.km, dy=dy * units.km, latitude=lat * units.radian,
    )  # fmt: skip
    close_to_scale(pv.magnitude, ref.m_as("K m**2 / kg / s"), 1e-10)
    q1, q2 = daskgrad.q_vector(
        Q(u, "m/s"), Q(v, "m/s"), Q(theta, "K"), Q(p / 100, "hPa"), vertical_dim=0,
        spacing=Q(dx, "km"), edge_order=2,
    )  # fmt: skip
    refs = mpcalc.q_vector(
        u * units("m/s"), v * units("m/s"), theta * units.K, p[:, None, None] * units.Pa,
        dx=dx * units.km, dy=dx * units.km,
    )  # fmt: skip
    for q, ref in zip((q1, q2), refs, strict=True):
        close_to_scale(q.to("m**2/kg/s").magnitude, ref.m_as("m**2/kg/s"), 1e-10)
    adv = daskgrad.advection(
        Q(theta, "K"), Q(u, "m/s"), Q(v, "m/s"), Q(w, "Pa/s"), vertical_dim=0,
        spacing=[Q(dx, "km"), Q(dy, "km"), Q(p / 100, "hPa")], edge_order=2,
    )  # fmt: skip
    ref = mpcalc.advection(
        theta * units.K, u * units("m/s"), v * units("m/s"), w * units("Pa/s"),
        dx=dx * units.km, dy=dy * units.km, dz=np.diff(p)[:, None, None] * units.Pa,
    )  # fmt: skip
    close_to_scale(adv.to("K/s").magnitude, ref.m_as("K/s"), 1e-10)


def test_public_advection_with_w_of_dataarrays():
    import daskgrad

    p, s, u, v, w, _ = cartesian_fields(seed=8)
    dims = ("level", "y", "x")
    coords = {
        "level": ("level", p / 100, {"units": "hPa"}),
        "y": ("y", 30e3 * np.arange(s.shape[1]), {"units": "m"}),
        "x": ("x", 25e3 * np.arange(s.shape[2]), {"units": "m"}),
    }
    arrays = {n: xr.DataArray(a, dims=dims, coords=coords, name=n) for n, a in
              (("T", s), ("u", u), ("v", v), ("w", w))}  # fmt: skip
    arrays["T"].attrs.update(units="K", standard_name="air_temperature")
    for n, un in (("u", "m s-1"), ("v", "m s-1"), ("w", "Pa s-1")):
        arrays[n].attrs["units"] = un
    adv = daskgrad.advection(*arrays.values(), vertical_dim="level", edge_order=2)
    assert adv.name == "adv_T" and adv.attrs["units"] == "K s-1"
    assert adv.attrs["standard_name"] == "tendency_of_air_temperature_due_to_advection"
    ref = mpcalc.advection(
        s * units.K, u * units("m/s"), v * units("m/s"), w * units("Pa/s"),
        dx=25e3 * units.m, dy=30e3 * units.m, dz=np.diff(p)[:, None, None] * units.Pa,
    )  # fmt: skip
    close_to_scale(adv.values, ref.m_as("K/s"), 1e-10)
