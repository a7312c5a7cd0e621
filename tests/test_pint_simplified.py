"""Quantities out in simplified units (DESIGN's pint clarification: ``1 / s``, ``K / m``), in
the input's own registry, the magnitudes as pint itself converts them."""

import dask.array as da
import numpy as np
import pint
import xarray as xr

import daskgrad


def _fields():
    rng = np.random.default_rng(3)
    return rng.random((6, 7)), rng.random((6, 7))


def test_vorticity_with_km_spacing_is_per_second():
    ureg = pint.UnitRegistry()
    u, v = _fields()
    step = ureg.Quantity(10, "km")
    out = daskgrad.vorticity(ureg.Quantity(u, "m/s"), ureg.Quantity(v, "m/s"), spacing=[step] * 2)
    assert out._REGISTRY is ureg
    assert out.units == ureg.Unit("1/s")
    # oracle: numpy in per km, converted by pint to 1/s
    ref = np.gradient(v, 10.0, axis=1) - np.gradient(u, 10.0, axis=0)
    expected = ureg.Quantity(ref, "m/s/km").to("1/s").magnitude
    np.testing.assert_allclose(out.magnitude, expected, rtol=1e-12)


def test_gradient_km_per_metre_and_kelvin_per_km():
    ureg = pint.UnitRegistry()
    f, _ = _fields()
    (g,) = daskgrad.gradient(ureg.Quantity(f, "km"), spacing=[ureg.Quantity(2.0, "m")], dim=1)
    assert g.units == ureg.Unit("dimensionless")
    expected = ureg.Quantity(np.gradient(f, 2.0, axis=1), "km/m").to("").magnitude
    np.testing.assert_allclose(g.magnitude, expected, rtol=1e-12)
    (t,) = daskgrad.gradient(ureg.Quantity(f, "K"), spacing=[ureg.Quantity(2.0, "km")], dim=1)
    assert t.units == ureg.Unit("K/km")  # nothing to simplify: left as given
    np.testing.assert_allclose(t.magnitude, np.gradient(f, 2.0, axis=1), rtol=1e-12)


def test_dask_quantity_in_dataarray_stays_lazy_and_simplified():
    ureg = pint.UnitRegistry()
    f, _ = _fields()
    x = np.arange(7) * 3.0
    q = ureg.Quantity(da.from_array(f, chunks=(3, 4)), "m/s")
    arr = xr.DataArray(q, {"x": ("x", x, {"units": "km"})}, ("y", "x"), name="w")
    (dx,) = daskgrad.gradient(arr, dim="x")
    assert isinstance(dx.data.magnitude, da.Array)
    assert dx.data.units == ureg.Unit("1/s") and dx.data._REGISTRY is ureg
    expected = ureg.Quantity(np.gradient(f, x, axis=1), "m/s/km").to("1/s").magnitude
    np.testing.assert_allclose(dx.data.magnitude.compute(), expected, rtol=1e-12)
