"""The attacker's finding: ``dims`` is an alias of ``dim`` wherever a function differentiates
several dims (DESIGN.md, Public API), gradient included; numpy.gradient is the oracle."""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad
from daskgrad.errors import OptionError

xr = pytest.importorskip("xarray")

RNG = np.random.default_rng(7)
F = RNG.standard_normal((6, 7))


def test_dims_alias_on_arrays_matches_numpy():
    got = daskgrad.gradient(F, dims=[1, 0], spacing=[0.5, 2.0])
    want = np.gradient(F, 0.5, 2.0, axis=(1, 0))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-14)


def test_dims_alias_one_name_on_a_dataarray_matches_numpy():
    lat = np.array([0.0, 1.0, 3.0, 4.0, 7.0, 8.0])
    da = xr.DataArray(F, dims=("lat", "lon"), coords={"lat": lat})
    (got,) = daskgrad.gradient(da, dims="lat")
    np.testing.assert_allclose(got.values, np.gradient(F, lat, axis=0), rtol=1e-14)
    assert got.name is None or got.name.endswith("_dlat")


def test_dim_and_dims_together_are_refused_naming_both():
    with pytest.raises(OptionError, match=r"dim.*dims"):
        daskgrad.gradient(F, dim=0, dims=0)
