"""Dask latitudes and pressures are range-checked as NumPy ones are (issue 20): lazily, in the
task that reads them for the formula (building the graph computes nothing and adds no task),
with a one-line error naming the argument when the chunk is computed."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
mc = pytest.importorskip("metpy.calc")

from metpy.units import units as mpu  # noqa: E402

import daskgrad  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402

SHAPE = (12, 16)
CHUNKS = (6, 8)


def fields(seed=0):
    rng = np.random.default_rng(seed)
    return [10 * rng.standard_normal(SHAPE) for _ in range(3)]


def tasks(*arrays):
    return len(dict(dask.base.collections_to_expr(arrays).__dask_graph__()))


def one_line(err):
    message = str(err.value)
    assert "\n" not in message
    return message


def bad_latitude():
    """Radians of a column of latitudes, one row (in the second chunk of rows) beyond 90°."""
    phi = np.radians(np.linspace(10.0, 60.0, SHAPE[0]))
    phi[9] = np.radians(100.0)
    return phi[:, None]


def test_dask_latitude_beyond_90_degrees_fails_when_its_chunk_computes():
    u, v, z = (da.from_array(a, chunks=CHUNKS) for a in fields())
    good = np.radians(np.linspace(10.0, 60.0, SHAPE[0]))[:, None]
    for lazy_lat in (
        da.from_array(bad_latitude(), chunks=(6, 1)),  # a line: read per chunk, no task
        da.from_array(bad_latitude() + 0 * u.compute(), chunks=CHUNKS),  # a field
    ):
        with raise_if_dask_computes():
            absv = daskgrad.absolute_vorticity(u, v, spacing=1e4, latitude=lazy_lat)
            ug, vg = daskgrad.geostrophic_wind(z, spacing=1e4, latitude=lazy_lat)
            ua, _ = daskgrad.ageostrophic_wind(z, u, v, spacing=1e4, latitude=lazy_lat)
        good_lat = da.from_array(good + 0 * np.asarray(lazy_lat), chunks=lazy_lat.chunks)
        ok = daskgrad.absolute_vorticity(u, v, spacing=1e4, latitude=good_lat)
        assert tasks(absv) == tasks(ok)  # the check is in the formula's task: no task of its own
        for out, kind in ((absv, "absolute_vorticity"), (ug, "geostrophic_wind")):
            with pytest.raises(ValueError, match=f"{kind}: latitude reaches 100 degrees") as e:
                out.compute()
            assert "beyond ±90" in one_line(e)
        with pytest.raises(ValueError, match="ageostrophic_wind: latitude reaches 100"):
            ua.compute()
        # the chunks of rows below the bad one compute
        assert np.isfinite(absv[:6].compute()).all()


def test_valid_dask_latitudes_still_agree_with_metpy():
    u, v, z = fields(1)
    lat = np.radians(np.linspace(10.0, 60.0, SHAPE[0]))[:, None] + 0 * u
    lazy = [da.from_array(a, chunks=CHUNKS) for a in (u, v, z, lat)]
    ours = daskgrad.absolute_vorticity(*lazy[:2], spacing=1e4, latitude=lazy[3]).compute()
    ref = mc.absolute_vorticity(
        u * mpu("m/s"), v * mpu("m/s"), dx=1e4 * mpu.m, dy=1e4 * mpu.m, latitude=lat * mpu.rad
    )
    np.testing.assert_allclose(ours[1:-1, 1:-1], ref.m[1:-1, 1:-1], rtol=1e-12, atol=1e-18)
    pole = np.full(SHAPE, np.pi / 2, dtype=np.float32)  # float32's π/2 is just above float64's
    out = daskgrad.absolute_vorticity(
        *(a.astype(np.float32) for a in lazy[:2]), latitude=da.from_array(pole, chunks=CHUNKS)
    )
    assert np.isfinite(out.compute()).all()


def test_dataarray_with_a_dask_latitude_coordinate():
    u, v, z = fields(2)
    lat = np.linspace(10.0, 60.0, SHAPE[0])
    lat[3] = 95.0
    coords = {"lat": ("y", da.from_array(lat, chunks=6), {"units": "degrees_north"})}
    u, v, z = (xr.DataArray(a, dims=("y", "x"), coords=coords).chunk(dict(y=6)) for a in (u, v, z))
    z.attrs["units"] = "m"
    with raise_if_dask_computes():
        absv = daskgrad.absolute_vorticity(u, v, dim=("x", "y"))
        ug, _ = daskgrad.geostrophic_wind(z, dim=("x", "y"))
    with pytest.raises(ValueError, match="absolute_vorticity: latitude reaches 95 degrees"):
        absv.compute()
    with pytest.raises(ValueError, match="geostrophic_wind: latitude reaches 95 degrees"):
        ug.compute()


def test_dask_coriolis_parameter():
    lat = da.from_array(np.radians([0.0, 30.0, 120.0, 45.0]), chunks=2)
    with raise_if_dask_computes():
        f = daskgrad.coriolis_parameter(lat)
    np.testing.assert_allclose(
        f[:2].compute(), mc.coriolis_parameter(np.radians([0.0, 30.0]) * mpu.rad).m, rtol=1e-15
    )
    with pytest.raises(ValueError, match="coriolis_parameter: latitude reaches 120 degrees") as e:
        f.compute()
    one_line(e)


def test_dask_pressure_of_a_q_vector_must_be_positive():
    rng = np.random.default_rng(3)
    u, v, t = (rng.standard_normal((2, *SHAPE)) for _ in range(3))
    t += 280
    p = np.array([85000.0, -1.0]).reshape(2, 1, 1)
    lazy = [da.from_array(a, chunks=(1, *CHUNKS)) for a in (u, v, t)]
    with raise_if_dask_computes():
        q1, _ = daskgrad.q_vector(*lazy, da.from_array(p, chunks=1), spacing=1e4)
    assert np.isfinite(q1[0].compute()).all()  # the good level computes
    with pytest.raises(ValueError, match="q_vector: pressure must be positive") as e:
        q1.compute()
    assert "-1" in one_line(e)
