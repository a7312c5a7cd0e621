"""The first call in a fresh interpreter (issue 20, new-user trial: the first projected
vorticity took 1.63 s, later ones 0.10 s). Its avoidable part was building a pint registry
(~1 s) to write ``units`` such as ``s-1``; the map factors were already once per CRS and
chunk. Counted here, not timed: no pint registry and no PROJ handle are built for a call on
data whose units are plain SI symbols; the units written are pint's."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap

import pint
import pytest

from daskgrad.xr.coords import divide_units

UREG = pint.UnitRegistry()
_FACTOR = re.compile(r"^([A-Za-z]+)(-?\d+)?$")


def pint_units(text):
    unit = UREG.dimensionless
    for factor in text.split():
        if factor == "1":
            continue
        name, power = _FACTOR.fullmatch(factor).groups()
        unit = unit * UREG.Unit(name) ** int(power or 1)
    return unit


NUMERATORS = ["1", "K", "m s-1", "m2 s-2", "kg m-3", "Pa s-1", "K m-1", "J kg-1", "s-1", "km",
              "hPa", "W m-2", "g kg-1", "cm s-1", "m-1 s"]  # fmt: skip
DENOMINATORS = ["m", "km", "s", "hPa", "Pa", "K", "m2", "1", "cm", "kg", "g", "kPa", "m-1"]


@pytest.mark.parametrize(("num", "den"), list(itertools.product(NUMERATORS, DENOMINATORS)))
def test_divided_units_are_pints(num, den):
    got = divide_units(num, den)
    assert pint_units(got) == pint_units(num) / pint_units(den)
    # identical factors combined, none left with exponent 0
    names = [_FACTOR.fullmatch(f).group(1) for f in got.split() if f != "1"]
    assert len(names) == len(set(names))


SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np, xarray as xr, dask.array as da
    import pint, pyproj
    counts = {"registries": 0, "proj": 0}
    class CountingRegistry(pint.UnitRegistry):
        def __init__(self, *a, **k):
            counts["registries"] += 1
            super().__init__(*a, **k)
    class CountingProj(pyproj.Proj):
        def __init__(self, *a, **k):
            counts["proj"] += 1
            super().__init__(*a, **k)
    pint.UnitRegistry = CountingRegistry
    pyproj.Proj = CountingProj
    import daskgrad
    ny, nx = 60, 80
    x = np.arange(nx) * 3000.0 - 120e3
    y = np.arange(ny) * 3000.0 - 90e3
    gm = dict(grid_mapping_name="lambert_conformal_conic", latitude_of_projection_origin=38.5,
              standard_parallel=38.5, longitude_of_central_meridian=262.5,
              earth_radius=6371229.0)
    rng = np.random.default_rng(0)
    def f():
        data = da.from_array(rng.normal(size=(2, ny, nx)), chunks=(1, 20, 16))
        return (("time", "y", "x"), data, {"units": "m s-1", "grid_mapping": "crs"})
    ds = xr.Dataset(
        {"u": f(), "v": f(), "crs": ((), 0, gm)},
        coords={"x": ("x", x, {"units": "m", "standard_name": "projection_x_coordinate"}),
                "y": ("y", y, {"units": "m", "standard_name": "projection_y_coordinate"})})
    units = []
    for _ in range(2):  # a Grid per call, as each function builds its own
        grid = daskgrad.Grid(ds)
        vort = daskgrad.vorticity(ds.u, ds.v, geospatial=True, winds="grid", grid=grid)
        units.append(vort.compute().attrs["units"])
    (du,) = ds.u.grad("x")
    units.append(du.attrs["units"])
    print(json.dumps({**counts, "units": units}))
    """
)


def test_cold_projected_vorticity_builds_no_registry():
    """A fresh interpreter: two Grids and calls on one LCC CRS, and a gradient: no pint
    registry built to spell ``s-1`` and ``s-1`` (before: one, ~1 s of the first call), at
    most one PROJ handle per CRS (the LCC's closed forms need none)."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=True
    )
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["units"] == ["s-1", "s-1", "s-1"]
    assert counts["registries"] == 0
    assert counts["proj"] <= 1
