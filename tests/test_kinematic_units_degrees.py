"""Kinematics and operators on latitude/longitude dims without geospatial=True (issue 20,
new-user trial): the result is per degree, and its ``units`` say so, as pint derives them
from the inputs' and coordinates' units; where pint cannot derive them (a per-degree term
added to f or to a vertical term), the warning says so. pint is the oracle."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pint
import pytest
import xarray as xr

import daskgrad
from daskgrad.cli import main

UREG = pint.UnitRegistry()
DIMS = ("level", "latitude", "longitude")
HORIZONTAL = ["latitude", "longitude"]
_FACTOR = re.compile(r"^([A-Za-z_]+)(-?\d+)?$")


def pint_units(text):
    """CF/UDUNITS attrs ("m s-1 degree-1") read by pint, factor by factor (the CF names of
    degrees are degrees to pint)."""
    unit = UREG.dimensionless
    for factor in text.split():
        name, power = _FACTOR.fullmatch(factor).groups()
        name = "degree" if name.startswith("degree") else name
        unit = unit * UREG.Unit(name) ** int(power or 1)
    return unit


def same_units(text, want):
    got = pint_units(text)
    assert got == want or UREG.Quantity(1.0, got).to(want).magnitude == pytest.approx(1.0), (
        text,
        want,
    )


def dataset():
    rng = np.random.default_rng(2)
    lat = np.arange(60.0, 29.0, -5.0)
    lon = np.arange(0.0, 40.0, 5.0)
    shape = (3, lat.size, lon.size)

    def field(units):
        return (DIMS, rng.normal(size=shape), {"units": units})

    return xr.Dataset(
        {
            "t": field("K"),
            "u": field("m s-1"),
            "v": field("m s-1"),
            "z": field("m2 s-2"),
            "gh": field("m"),
        },
        coords={
            "level": ("level", [850.0, 700.0, 500.0], {"units": "hPa"}),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )


DEG = UREG.degree
WIND = UREG.Unit("m/s")
EXPECTED = {  # what pint derives: the inputs' units over the coordinates' (degree)
    "vorticity": WIND / DEG,
    "divergence": WIND / DEG,
    "shearing_deformation": WIND / DEG,
    "stretching_deformation": WIND / DEG,
    "total_deformation": WIND / DEG,
    "advection": UREG.kelvin * WIND / DEG,
    "frontogenesis": UREG.kelvin / DEG * WIND / DEG,
    "geostrophic_wind": UREG.Unit("m**2/s**2") / DEG / UREG.Unit("1/s"),
    "laplacian": UREG.kelvin / DEG**2,
}


def _call(ds, kind):
    h = {"dim": HORIZONTAL}
    if kind in ("vorticity", "divergence"):
        return getattr(daskgrad, kind)(ds.u, ds.v, **h)
    if kind.endswith("deformation"):
        return getattr(daskgrad, kind)(ds.u, ds.v, **h)
    if kind == "advection":
        return daskgrad.advection(ds.t, ds.u, ds.v, **h)
    if kind == "frontogenesis":
        return daskgrad.frontogenesis(ds.t, ds.u, ds.v, **h)
    if kind == "geostrophic_wind":
        return daskgrad.geostrophic_wind(ds.z, **h)
    return daskgrad.laplacian(ds.t, **h)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_per_degree_units_from_pint(kind):
    ds = dataset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _call(ds, kind)
    assert any("per degree" in str(w.message) for w in caught)
    for one in out if isinstance(out, tuple) else (out,):
        assert "units" in one.attrs, (kind, one.attrs)
        same_units(one.attrs["units"], EXPECTED[kind])


def test_geostrophic_wind_of_a_height_per_degree():
    """g Z / f / degree: m2 s-1 degree-1 from a geopotential height in m too."""
    ds = dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ug, vg = daskgrad.geostrophic_wind(ds.gh, dim=HORIZONTAL)
    want = UREG.Unit("m/s**2") * UREG.metre / DEG / UREG.Unit("1/s")
    same_units(ug.attrs["units"], want)
    same_units(vg.attrs["units"], want)


def test_spelled_as_the_gradient_spells_degrees():
    """The per-degree factor last, as ``d{var}_d{dim}`` writes ``m s-1 degrees_north-1``."""
    ds = dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (du,) = ds.u.grad("latitude")
        vort = daskgrad.vorticity(ds.u, ds.v, dim=HORIZONTAL)
    assert du.attrs["units"].startswith("m s-1 ")
    assert vort.attrs["units"].startswith("m s-1 ")
    assert vort.attrs["units"].split()[-1].endswith("-1")
    assert "standard_name" not in vort.attrs  # CF's is in s-1


@pytest.mark.parametrize(
    "kind", ["absolute_vorticity", "ageostrophic_wind", "potential_vorticity", "advection_w"]
)
def test_underivable_units_are_named_in_a_warning(kind):
    ds = dataset()
    h = {"dim": HORIZONTAL}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "absolute_vorticity":
            out = daskgrad.absolute_vorticity(ds.u, ds.v, **h)
        elif kind == "ageostrophic_wind":
            out = daskgrad.ageostrophic_wind(ds.z, ds.u, ds.v, **h)
        elif kind == "potential_vorticity":
            out = daskgrad.potential_vorticity_baroclinic(
                ds.t, "level", ds.u, ds.v, vertical_dim="level", **h
            )
        else:
            out = daskgrad.advection(ds.t, ds.u, ds.v, ds.u, vertical_dim="level", **h)
    for one in out if isinstance(out, tuple) else (out,):
        assert "units" not in one.attrs
    name = "potential_vorticity_baroclinic" if kind == "potential_vorticity" else kind
    name = "advection" if kind == "advection_w" else name
    said = [str(w.message) for w in caught if "no units" in str(w.message)]
    assert said and all("\n" not in s for s in said)
    assert any(s.startswith(f"{name}:") for s in said), said


def test_cli_run_on_degree_dims_writes_units(tmp_path, capsys):
    """The trial's run: --dim latitude --dim longitude --vorticity u,v --geostrophic z."""
    src, dst = tmp_path / "era5.zarr", tmp_path / "o.zarr"
    dataset().chunk({"level": 1}).to_zarr(src)
    code = main(
        [
            "run", str(src), str(dst), "--dim", "latitude", "--dim", "longitude",
            "--vorticity", "u,v", "--geostrophic", "z", "--no-progress",
        ]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0
    out = xr.open_zarr(dst)
    same_units(out["vort_u_v"].attrs["units"], EXPECTED["vorticity"])
    same_units(out["ug_z"].attrs["units"], EXPECTED["geostrophic_wind"])
    same_units(out["vg_z"].attrs["units"], EXPECTED["geostrophic_wind"])
