"""The (a)geostrophic wind's factors per latitude row, −(g/f)·my and (g/f)·mx (issue 20,
performance of dask input): computed once per graph and read per chunk like the latitude, not
from the metric in every chunk's task; the values against MetPy's and an analytic balance, on
dask and NumPy input, float32 kept, and the ellipsoid's factors."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

xr = pytest.importorskip("xarray")
mc = pytest.importorskip("metpy.calc")

import daskgrad  # noqa: E402
from daskgrad.core import metric as metric_module  # noqa: E402

R = 6371008.8
G, OMEGA = 9.80665, 7.292115e-5
LAT = np.arange(20.0, 60.01, 0.25)
LON = np.arange(0.0, 20.0, 0.25)


def height(dtype=np.float64, chunks=None):
    """Geopotential of a zonal jet plus a wave, (time, lat, lon), m2 s-2."""
    phi = np.radians(LAT)[:, None]
    lam = np.radians(LON)[None, :]
    z = G * (5500 - 300 * np.sin(phi) ** 2 + 20 * np.sin(4 * lam) * np.cos(phi))
    data = np.stack([z, 1.01 * z]).astype(dtype)
    out = xr.DataArray(
        data,
        dims=("time", "lat", "lon"),
        coords={
            "lat": ("lat", LAT, {"units": "degrees_north"}),
            "lon": ("lon", LON, {"units": "degrees_east"}),
        },
        name="z",
        attrs={"units": "m2 s-2", "standard_name": "geopotential"},
    )
    return out.chunk(chunks) if chunks else out


class Counted:
    """LatLonMetric.factors, counting its calls (and where: building the graph or computing)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = metric_module.LatLonMetric.factors

        def factors(this, aux, ndim, dtype):
            self.calls += 1
            return original(this, aux, ndim, dtype)

        monkeypatch.setattr(metric_module.LatLonMetric, "factors", factors)


@pytest.mark.parametrize("kind", ["geostrophic_wind", "ageostrophic_wind"])
def test_row_factors_are_computed_once_per_graph_not_per_chunk(monkeypatch, kind):
    z = height(chunks={"time": 1, "lat": 40, "lon": 20})
    counted = Counted(monkeypatch)
    if kind == "geostrophic_wind":
        ours = daskgrad.geostrophic_wind(z, geospatial=True)
    else:
        wind = z.copy(data=da.zeros_like(z.data)).assign_attrs(units="m s-1")
        ours = daskgrad.ageostrophic_wind(z, wind.rename("u"), wind.rename("v"), geospatial=True)
    built = counted.calls
    assert built <= 1
    with dask.config.set(scheduler="sync"):
        u, v = (np.asarray(o.values) for o in ours)
    # the graph has 2 x 7 x 4 chunks; none of their tasks asks the metric for its factors
    assert counted.calls == built
    ref_u, ref_v = mc.geostrophic_wind(
        height().metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R)
    )
    sign = 1 if kind == "geostrophic_wind" else -1  # the ageostrophic wind of a calm is -ug
    inner = (slice(None), slice(2, -2), slice(2, -2))  # MetPy's one-sided edges differ
    for mine, ref in ((u, ref_u), (v, ref_v)):
        ref = np.asarray(ref.metpy.dequantify())
        scale = np.max(np.abs(ref))
        np.testing.assert_allclose(sign * mine[inner], ref[inner], rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunks", [None, {"time": 1, "lat": 33, "lon": 40}])
def test_row_factors_give_the_balance_of_a_zonal_jet(dtype, chunks):
    """Z = g H(φ): u_g = −(1/(f R)) dZ/dφ exactly up to the stencil's O(h²), v_g = 0."""
    phi = np.radians(LAT)
    z = height(dtype, chunks)
    z = (G * (5500 - 300 * np.sin(phi) ** 2)[None, :, None] + 0 * z).astype(dtype)
    ug, vg = daskgrad.geostrophic_wind(z, geospatial=True)
    assert ug.dtype == dtype and vg.dtype == dtype
    expected = G * 600 * np.sin(phi) * np.cos(phi) / (2 * OMEGA * np.sin(phi) * R)
    got = np.asarray(ug.values)[:, 1:-1, :]
    rtol = 1e-3 if dtype == np.float32 else 1e-4
    np.testing.assert_allclose(got, np.broadcast_to(expected[1:-1, None], got.shape), rtol=rtol)
    assert np.max(np.abs(np.asarray(vg.values))) <= 1e-6 * np.max(np.abs(expected))


def test_row_factors_on_the_ellipsoid_equal_the_per_chunk_metric():
    """WGS84: the factors per row are the metric's own, (g/f)/(N cos φ) and (g/f)/M."""
    from daskgrad.core.earth import make_earth

    z = height(chunks={"time": 1, "lat": 50, "lon": 40})
    ug, vg = daskgrad.geostrophic_wind(z, geospatial=True, earth="WGS84")
    dzdx, dzdy = daskgrad.geospatial_gradient(z, earth="WGS84")
    phi = np.radians(LAT)[:, None]
    f = 2 * OMEGA * np.sin(phi)
    np.testing.assert_allclose(ug.values, -(dzdy.values / f), rtol=1e-12)
    np.testing.assert_allclose(vg.values, dzdx.values / f, rtol=1e-12)
    earth = make_earth("WGS84")
    assert earth.north(phi).min() > earth.east(phi).max()  # the ellipsoid's factors differ
