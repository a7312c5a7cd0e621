"""pint Quantities in every public function: units in, units out, in the input's own registry;
lazy stays lazy. Oracles: numpy.gradient on the magnitudes with units worked out by pint itself,
MetPy's calc functions on the same Quantities, and analytic fields."""

from __future__ import annotations

import subprocess
import sys

import dask.array as da
import numpy as np
import pint
import pytest
import xarray as xr

import daskgrad

from .conftest import raise_if_dask_computes
from .metpy_crs import cf_with_wkt

R = 6371229.0  # MetPy's default sphere, set on both sides
LAT = {"units": "degrees_north"}
LON = {"units": "degrees_east"}


def pint_units(data_units, spacing_units, registry, order=1):
    """The derivative's units worked out by pint from a difference quotient."""
    one = registry.Quantity(1.0, data_units)
    return ((one - one) / registry.Quantity(1.0, spacing_units) ** order).units


def assert_quantity(q, magnitude, units, registry):
    assert isinstance(q, pint.Quantity), type(q)
    assert q._REGISTRY is registry
    # the units simplified (DESIGN's pint clarification: m / s / km is 1 / s): compared by
    # pint's own conversion to the difference quotient's units
    assert q.units.dimensionality == registry.Quantity(1.0, units).dimensionality, q.units
    mag = np.asarray(q.to(units).magnitude)
    np.testing.assert_allclose(mag, magnitude, rtol=1e-12, atol=1e-12)


# --- bare Quantities ----------------------------------------------------------------------------


def test_gradient_of_a_numpy_quantity_in_its_own_registry():
    ureg = pint.UnitRegistry()
    f = np.random.default_rng(0).random((6, 7)) * 30
    x = np.cumsum(np.linspace(1.0, 2.0, 7))
    q = ureg.Quantity(f, "degC")
    dy, dx = daskgrad.gradient(q, spacing=[ureg.Quantity(2.0, "km"), ureg.Quantity(x, "s")])
    ry, rx = np.gradient(f, 2.0, x)
    assert_quantity(dy, ry, pint_units("degC", "km", ureg), ureg)
    assert_quantity(dx, rx, pint_units("degC", "s", ureg), ureg)
    assert str(dx.units) == "delta_degree_Celsius / second"
    # spacing with units, data without: per spacing unit
    (g,) = daskgrad.gradient(f[0], spacing=ureg.Quantity(1000.0, "m"))
    assert_quantity(g, np.gradient(f[0], 1000.0), ureg.Unit("1 / m"), ureg)


def test_gradient_of_a_dask_quantity_stays_lazy():
    ureg = pint.UnitRegistry()
    f = np.random.default_rng(1).random((8, 9))
    q = ureg.Quantity(da.from_array(f, chunks=(3, 4)), "m / s")
    with raise_if_dask_computes():
        dy, dx = daskgrad.gradient(q, spacing=ureg.Quantity(1000.0, "m"))
    for g, ref in zip((dy, dx), np.gradient(f, 1000.0), strict=True):
        assert isinstance(g.magnitude, da.Array)
        assert g.magnitude.chunks == ((3, 3, 2), (4, 4, 1))
        assert_quantity(g.compute(), ref, ureg.Unit("1 / s"), ureg)


def test_np_gradient_with_quantities():
    ureg = pint.UnitRegistry()
    f = np.arange(8.0) ** 2
    t = np.cumsum(np.linspace(1.0, 3.0, 8))
    g = daskgrad.np_gradient(ureg.Quantity(f, "K"), ureg.Quantity(t, "hour"))
    assert_quantity(g, np.gradient(f, t), pint_units("K", "hour", ureg), ureg)
    g = daskgrad.np_gradient(ureg.Quantity(da.from_array(f, chunks=3), "K"), 2.0)
    assert_quantity(g.compute(), np.gradient(f, 2.0), ureg.kelvin, ureg)


def test_operators_on_bare_quantities():
    ureg = pint.UnitRegistry()
    y, x = np.mgrid[0:6, 0:7].astype(float) * 1000.0
    u, v = 1e-4 * x * y / 1000.0, 2e-4 * y
    uq, vq = ureg.Quantity(u, "m/s"), ureg.Quantity(v * 3.6, "km/h")  # v converted to m/s
    dx = ureg.Quantity(1.0, "km")
    div = daskgrad.divergence(uq, vq, spacing=dx)
    vort = daskgrad.vorticity(uq, vq, spacing=[dx, ureg.Quantity(1000.0, "m")])
    div_ref = np.gradient(u, 1.0, axis=1) + np.gradient(v, 1.0, axis=0)  # per km
    vort_ref = np.gradient(v, 1.0, axis=1) - np.gradient(u, 1.0, axis=0)
    assert_quantity(div, div_ref, pint_units("m/s", "km", ureg), ureg)
    assert_quantity(vort, vort_ref, pint_units("m/s", "km", ureg), ureg)
    np.testing.assert_allclose(div.to("1/s").magnitude, div_ref / 1000.0)
    # laplacian of x² + y² K is 4 K/m² everywhere (exact with second-order edges)
    f = ureg.Quantity((x / 1000.0) ** 2 + (y / 1000.0) ** 2, "K")
    lap = daskgrad.laplacian(f, spacing=ureg.Quantity(1.0, "m"), edge_order=2)
    assert_quantity(lap, np.full(f.shape, 4.0), pint_units("K", "m", ureg, 2), ureg)
    lazy = ureg.Quantity(da.from_array(f.magnitude, chunks=3), "K")
    with raise_if_dask_computes():
        out = daskgrad.laplacian(lazy, spacing=ureg.Quantity(1.0, "m"), edge_order=2)
    assert isinstance(out.magnitude, da.Array)
    assert_quantity(out.compute(), np.full(f.shape, 4.0), ureg.Unit("K / m**2"), ureg)


def test_operator_unit_errors_name_the_culprit():
    ureg = pint.UnitRegistry()
    u = ureg.Quantity(np.ones((4, 5)), "m/s")
    with pytest.raises(ValueError, match="u is a Quantity but v has no units"):
        daskgrad.vorticity(u, np.ones((4, 5)))
    with pytest.raises(ValueError, match="v has units"):
        daskgrad.divergence(u, ureg.Quantity(np.ones((4, 5)), "K"))
    with pytest.raises(ValueError, match="spacing mixes Quantities and plain numbers"):
        daskgrad.divergence(u, u, spacing=[ureg.Quantity(1.0, "m"), 2.0])


# --- inside DataArrays ------------------------------------------------------------------------


def grid_field(lat, lon, chunks=None):
    phi, lam = np.radians(lat)[:, None], np.radians(lon)[None, :]
    t = 280 + 20 * np.cos(phi) ** 2 * np.sin(2 * lam) + 5 * np.sin(phi)
    coords = {"lat": ("lat", lat, LAT), "lon": ("lon", lon, LON)}
    out = xr.DataArray(t, coords, ("lat", "lon"), name="t", attrs={"units": "K"})
    return out.chunk(chunks) if chunks else out


@pytest.mark.parametrize("chunks", [None, {"lat": 40, "lon": 100}])
def test_geospatial_gradient_of_metpy_quantities_matches_metpy(chunks):
    """The issue's reproduction: ds.t.metpy.quantify() went in, an AttributeError came out."""
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy.units import units as metpy_units

    lat, lon = np.arange(-70, 70.1, 1.0), np.arange(0, 360, 1.0)
    t = grid_field(lat, lon, chunks).metpy.assign_crs(
        cf_with_wkt(grid_mapping_name="latitude_longitude", earth_radius=R)
    )
    tq = t.metpy.quantify()
    with raise_if_dask_computes():
        dx, dy = daskgrad.geospatial_gradient(tq, radius=R, periodic=False, edge_order=2)
    mx, my = mpcalc.geospatial_gradient(t.metpy.quantify().compute())
    for ours, ref in ((dx, mx), (dy, my)):
        assert isinstance(ours, xr.DataArray) and isinstance(ours.data, pint.Quantity)
        assert ours.data._REGISTRY is metpy_units.get()
        assert ours.data.units == metpy_units.Unit("K / m")
        assert isinstance(ours.data.magnitude, da.Array) == (chunks is not None)
        assert "units" not in ours.attrs
        ours = ours.compute()
        # mixes with MetPy's own Quantities (no "different registries")
        diff = (ours.data - ref).m_as("K / m")
        np.testing.assert_allclose(diff, 0.0, atol=1e-4 * np.abs(ref.m_as("K/m")).max())


def test_vorticity_divergence_laplacian_of_quantities_match_metpy():
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy.units import units as metpy_units

    lat, lon = np.arange(-60, 60.1, 0.5), np.arange(0, 360, 0.5)
    phi, lam = np.radians(lat)[:, None], np.radians(lon)[None, :]
    coords = {"lat": ("lat", lat, LAT), "lon": ("lon", lon, LON)}
    crs = cf_with_wkt(grid_mapping_name="latitude_longitude", earth_radius=R)
    u = xr.DataArray(10 * np.cos(phi) * np.sin(3 * lam), coords, ("lat", "lon"), name="u")
    v = xr.DataArray(5 * np.sin(2 * phi) * np.cos(2 * lam), coords, ("lat", "lon"), name="v")
    u, v = (
        a.assign_attrs(standard_name=f"{w}_wind") for a, w in ((u, "eastward"), (v, "northward"))
    )
    uq, vq = (a.assign_attrs(units="m/s").metpy.assign_crs(**crs).metpy.quantify() for a in (u, v))
    cols = slice(2, -2)
    for op in ("vorticity", "divergence"):
        ours = getattr(daskgrad, op)(uq, vq, geospatial=True, radius=R)
        ref = getattr(mpcalc, op)(uq, vq)
        assert isinstance(ours.data, pint.Quantity)
        assert ours.data._REGISTRY is metpy_units.get()
        assert ours.data.units == metpy_units.Unit("1 / s")
        assert ours.attrs["standard_name"] in (
            "atmosphere_relative_vorticity",
            "divergence_of_wind",
        )
        a = (ours.data - ref.data).m_as("1/s")[1:-1, cols]  # edge rows: MetPy is 2nd order
        scale = np.abs(ref.data.m_as("1/s")).max()
        np.testing.assert_allclose(a, 0.0, atol=1e-4 * scale)
    # Laplacian: units K/m² (MetPy's is a gradient of the gradient; no value parity, see
    # DESIGN.md): the value of the same field without units
    tq = grid_field(lat, lon).metpy.quantify()
    lap = daskgrad.laplacian(tq, geospatial=True, radius=R)
    assert lap.data.units == metpy_units.Unit("K / m**2")
    plain = daskgrad.laplacian(tq.metpy.dequantify(), geospatial=True, radius=R)
    np.testing.assert_allclose(lap.data.magnitude, plain.values, rtol=1e-14)


def test_dataarray_wrapping_dask_quantity_of_a_fresh_registry():
    """pint-xarray's layout: a DataArray whose data is a Quantity wrapping a dask array, in a
    registry of its own; coordinate units stay in attrs."""
    ureg = pint.UnitRegistry()
    f = np.random.default_rng(2).random((6, 10))
    x = np.cumsum(np.linspace(10.0, 20.0, 10))
    q = ureg.Quantity(da.from_array(f, chunks=(3, 4)), "m / s")
    arr = xr.DataArray(q, {"x": ("x", x, {"units": "km"})}, ("y", "x"), name="w")
    with raise_if_dask_computes():
        dy, dx = daskgrad.gradient(arr)
        (lap,) = (daskgrad.laplacian(arr, dim="x"),)
        (acc,) = arr.grad("x")
    for g in (dy, dx, lap, acc):
        assert isinstance(g.data, pint.Quantity) and isinstance(g.data.magnitude, da.Array)
        assert g.data._REGISTRY is ureg
    assert dx.data.units == ureg.Unit("1/s")  # m / s / km, simplified
    assert dy.data.units == pint_units("m/s", "dimensionless", ureg)
    assert lap.data.units == ureg.Unit("1/m/s")  # m / s / km², simplified
    ry, rx = np.gradient(f, 1.0, x)
    assert_quantity(dx.data.compute(), rx, pint_units("m/s", "km", ureg), ureg)
    assert_quantity(acc.data.compute(), rx, pint_units("m/s", "km", ureg), ureg)
    assert_quantity(dy.data.compute(), ry, dy.data.units, ureg)
    assert dx.name == "dw_dx" and dx.chunks == arr.chunks


def test_spacing_quantities_on_dataarrays_and_datasets():
    ureg = pint.UnitRegistry()
    f = np.random.default_rng(3).random((5, 6))
    arr = xr.DataArray(ureg.Quantity(f, "Pa"), dims=("y", "x"), name="p")
    (dx,) = daskgrad.gradient(arr, dim="x", spacing={"x": ureg.Quantity(250.0, "m")})
    assert_quantity(dx.data, np.gradient(f, 250.0, axis=1), ureg.Unit("Pa / m"), ureg)
    ds = xr.Dataset({"p": arr, "q": arr * 2}, coords={"x": ("x", np.arange(6.0), {"units": "m"})})
    out = daskgrad.gradient(ds, dim="x")
    assert out["dq_dx"].data.units == ureg.Unit("Pa / m")
    np.testing.assert_allclose(out["dq_dx"].data.magnitude, np.gradient(2 * f, axis=1))
    # the operators convert a second dim's km to the first's m before adding
    u = xr.DataArray(
        ureg.Quantity(f, "m/s"),
        {
            "x": ("x", np.arange(6.0) * 1000, {"units": "m"}),
            "y": ("y", np.arange(5.0), {"units": "km"}),
        },
        ("y", "x"),
        name="u",
    )
    div = daskgrad.divergence(u, u)
    ref = np.gradient(f, 1000.0, axis=1) + np.gradient(f, 1000.0, axis=0)
    assert_quantity(div.data, ref, ureg.Unit("1 / s"), ureg)


def test_importing_daskgrad_keeps_metpy_working():
    """A fresh interpreter: daskgrad imported between MetPy's import and its calculations
    (and before it) leaves the application registry alone and MetPy mixes with our output."""
    code = """
import numpy as np, pint
import daskgrad
from metpy.units import units
import metpy.calc as mpcalc
assert pint.get_application_registry().get() is units.get()
x = units.Quantity(np.arange(10.0) ** 2, "K")
(g,) = daskgrad.gradient(x, spacing=units.Quantity(1.0, "km"), edge_order=2)
ref = mpcalc.first_derivative(x, delta=units.Quantity(1.0, "km"))
assert np.allclose((g - ref).m_as("K/m"), 0.0, atol=1e-12)  # no "different registries"
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_periods_as_quantities():
    """A period in another unit of the spacing's dimension (km for a m coordinate); oracle:
    numpy.gradient on the array wrapped by one point at each end."""
    ureg = pint.UnitRegistry()
    x = np.cumsum(np.linspace(1.0, 2.0, 9))
    period = x[-1] - x[0] + 1.5
    f = np.random.default_rng(4).random(9)
    ref = np.gradient(
        np.concatenate([f[-1:], f, f[:1]]), np.concatenate([[x[-1] - period], x, [x[0] + period]])
    )[1:-1]
    p_km = ureg.Quantity(period / 1000.0, "km")
    (g,) = daskgrad.gradient(
        ureg.Quantity(f, "K"), spacing=[ureg.Quantity(x, "m")], periodic={0: p_km}
    )
    assert_quantity(g, ref, ureg.Unit("K / m"), ureg)
    arr = xr.DataArray(ureg.Quantity(f, "K"), {"x": ("x", x, {"units": "m"})}, "x")
    (g,) = daskgrad.gradient(arr, periodic={"x": p_km})
    assert_quantity(g.data, ref, ureg.Unit("K / m"), ureg)
    with pytest.raises(ValueError, match="period of dim 'x'"):
        daskgrad.gradient(arr, periodic={"x": ureg.Quantity(3.0, "s")})
