"""The (a)geostrophic wind's rows path at accuracy 2 on evenly spaced x and y: the kernel gets a
spacing of 1/2 per grid step (no weighting pass) and 1/(2h) rides in the per-row factors, so it
costs one multiplication per output as the plain gradient does. Results stay MetPy's (within
rounding of the per-row path) and the other paths keep their spacing."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import daskgrad
import daskgrad.core.kinematics as ck


def _height(lat, lon):
    la, lo = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    z = 5500 + 120 * np.cos(2 * la) * np.sin(3 * lo) + 40 * np.sin(la)
    return xr.DataArray(
        z[None].astype(np.float64),
        dims=("time", "lat", "lon"),
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        attrs={"units": "m"},
        name="z",
    )


def _spy(monkeypatch):
    seen = []
    real = ck.derive

    def derive(*args, **kwargs):
        seen.append((kwargs.get("spacing"), kwargs.get("accuracy", 2)))
        return real(*args, **kwargs)

    monkeypatch.setattr(ck, "derive", derive)
    return seen


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("kind", ["geostrophic_wind", "ageostrophic_wind"])
def test_even_lat_lon_give_the_kernel_half_steps(monkeypatch, chunked, kind):
    z = _height(np.arange(-60, 60.1, 0.5), np.arange(0, 360, 0.5))
    if chunked:
        z = z.chunk({"lat": 61, "lon": 240})
    seen = _spy(monkeypatch)
    if kind == "geostrophic_wind":
        out = daskgrad.geostrophic_wind(z, geospatial=True)
    else:
        wind = z * 0 + 1.0
        out = daskgrad.ageostrophic_wind(z, wind.assign_attrs(units="m/s"), wind, geospatial=True)
    ((spacing, _),) = seen
    assert [float(s) for s in spacing] == [0.5, 0.5]
    off_equator = np.abs(np.asarray(z.lat)) > 0.1  # f = 0 there: infinite, as MetPy's
    assert np.isfinite(np.asarray(out[0])[:, off_equator]).all()


def test_half_steps_equal_the_per_metre_path_and_metpy():
    metpy = pytest.importorskip("metpy.calc")
    z = _height(np.arange(-60, 60.1, 0.25), np.arange(0, 360, 0.25))
    ug, vg = daskgrad.geostrophic_wind(z, geospatial=True, edge_order=2, periodic=False)
    zq = z.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=6371008.8)
    mug, mvg = metpy.geostrophic_wind(zq.isel(time=0))
    inner = (slice(2, -2), slice(2, -2))
    for mine, ref in ((ug, mug), (vg, mvg)):
        ref = np.asarray(ref.metpy.dequantify())[inner]
        got = np.asarray(mine.isel(time=0))[inner]
        far = np.abs(np.asarray(z.lat))[2:-2] > 5  # f -> 0 at the equator
        scale = np.abs(ref[far]).max()
        np.testing.assert_allclose(got[far], ref[far], rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("options", [{"accuracy": 4}, {"periodic": {-1: 360.0}}])
def test_other_paths_keep_their_spacing(monkeypatch, options):
    z = _height(np.arange(-60, 60.1, 0.5), np.arange(0, 360, 0.5))
    seen = _spy(monkeypatch)
    if "periodic" in options:  # Cartesian numbers with a period given as a number
        daskgrad.geostrophic_wind(
            np.asarray(z)[0],
            dims=(1, 0),
            spacing=(1000.0, 1000.0),
            latitude=np.radians(np.asarray(z.lat))[:, None],
            periodic={1: 720 * 1000.0},
        )
    else:
        daskgrad.geostrophic_wind(z, geospatial=True, **options)
    ((spacing, _),) = seen
    assert all(float(s) != 0.5 for s in spacing)
