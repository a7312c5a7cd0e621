"""Every geospatial result says which earth it was computed on (README: "every result says
which"), the kinematics' as the operators' do; a Cartesian result has no such attribute."""

import numpy as np
import pytest
import xarray as xr

import daskgrad

LAT = np.linspace(-60, 60, 25)
LON = np.linspace(0, 357.5, 48)


def _field(name, units, seed, level=False):
    rng = np.random.default_rng(seed)
    shape = (3, LAT.size, LON.size) if level else (LAT.size, LON.size)
    coords = {
        "lat": ("lat", LAT, {"units": "degrees_north"}),
        "lon": ("lon", LON, {"units": "degrees_east"}),
    }
    dims = ("lat", "lon")
    if level:
        coords["level"] = ("level", [850.0, 700.0, 500.0], {"units": "hPa"})
        dims = ("level", *dims)
    return xr.DataArray(
        rng.normal(size=shape), dims=dims, coords=coords, name=name, attrs={"units": units}
    )


def _calls(radius):
    u, v = _field("u", "m s-1", 1), _field("v", "m s-1", 2)
    t, z = _field("T", "K", 3), _field("z", "m", 4)
    u3, v3, th = (
        _field(n, un, s, level=True)
        for n, un, s in (("u", "m s-1", 5), ("v", "m s-1", 6), ("theta", "K", 7))
    )
    geo = {"geospatial": True, "radius": radius}
    return {
        "advection": lambda: daskgrad.advection(t, u, v, **geo),
        "shearing_deformation": lambda: daskgrad.shearing_deformation(u, v, **geo),
        "stretching_deformation": lambda: daskgrad.stretching_deformation(u, v, **geo),
        "total_deformation": lambda: daskgrad.total_deformation(u, v, **geo),
        "absolute_vorticity": lambda: daskgrad.absolute_vorticity(u, v, **geo),
        "frontogenesis": lambda: daskgrad.frontogenesis(t, u, v, **geo),
        "geostrophic_wind": lambda: daskgrad.geostrophic_wind(z, **geo),
        "ageostrophic_wind": lambda: daskgrad.ageostrophic_wind(z, u, v, **geo),
        "potential_vorticity_baroclinic": lambda: daskgrad.potential_vorticity_baroclinic(
            th, th.level, u3, v3, vertical_dim="level", **geo
        ),
        "q_vector": lambda: daskgrad.q_vector(u3, v3, th, th.level, **geo),
    }


@pytest.mark.parametrize("kind", sorted(_calls(None)))
def test_geospatial_kinematics_say_their_earth_as_vorticity_does(kind):
    radius = 6.37e6
    expected = daskgrad.vorticity(
        _field("u", "m s-1", 1), _field("v", "m s-1", 2), geospatial=True, radius=radius
    ).attrs["earth"]
    assert "R=6370000 m" in expected
    out = _calls(radius)[kind]()
    for one in out if isinstance(out, tuple) else (out,):
        assert one.attrs.get("earth") == expected, (kind, one.attrs)


def test_a_cartesian_result_has_no_earth():
    u, v = _field("u", "m s-1", 1), _field("v", "m s-1", 2)
    assert "earth" not in daskgrad.total_deformation(u, v).attrs
