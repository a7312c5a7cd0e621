"""PV of DataArrays with the pressure given as MetPy users give it: a 1-D pint Quantity along
the vertical dim (``ds.level.values * units.hPa``). MetPy takes it; daskgrad refused it
("pressure must be a DataArray, a coordinate's name or a number")."""

from __future__ import annotations

import metpy.calc as mpcalc
import numpy as np
import pytest
from metpy.units import units

import daskgrad
from tests.test_kinematics_vertical import INSIDE, R, close_to_scale, dataset, metpy_of

KW = dict(vertical_dim="level", geospatial=True, radius=R, edge_order=2)


@pytest.mark.parametrize("unit", ["hPa", "Pa"])
def test_pv_takes_a_1d_pressure_quantity_as_metpy_does(unit):
    ds = dataset()
    mt, mu, mv = metpy_of(ds)
    p = (ds.level.values * units.hPa).to(unit)
    ref = mpcalc.potential_vorticity_baroclinic(mt, p, mu, mv)
    pv = daskgrad.potential_vorticity_baroclinic(ds.theta, p, ds.u, ds.v, **KW)
    assert pv.attrs["units"] == "K m2 kg-1 s-1"
    close_to_scale(pv.values[INSIDE], ref.values[INSIDE], 1e-4)


def test_a_1d_pressure_of_the_wrong_length_names_the_dim():
    ds = dataset()
    with pytest.raises(TypeError, match=r"pressure must be .* 1-D array of 6 values along 'level'"):
        daskgrad.potential_vorticity_baroclinic(
            ds.theta, np.array([1000.0, 500.0]) * units.hPa, ds.u, ds.v, **KW
        )
