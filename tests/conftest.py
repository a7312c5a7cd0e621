"""Shared test helpers: oracles' tolerance and a scheduler that fails if anything computes."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest


@contextlib.contextmanager
def raise_if_dask_computes():
    """Fail the test if dask computes anything inside the block (flox's helper)."""
    import dask

    def scheduler(dsk, keys, **kwargs):
        raise AssertionError("dask computed while it should only build a graph")

    with dask.config.set(scheduler=scheduler):
        yield


def assert_gradients_close(ours, ref, f, spacings=(1.0,)):
    """The accuracy rule: rtol 1e-10 relative to max|f|, scaled by the smallest step."""
    ref = ref if isinstance(ref, tuple | list) else (ref,)
    assert len(ours) == len(ref)
    fmax = float(np.max(np.abs(f))) if np.size(f) else 0.0
    steps = []
    for s in spacings:
        s = np.asarray(s, dtype=float)
        steps.append(np.min(np.abs(np.diff(s))) if s.ndim and s.size > 1 else abs(float(s)))
    hmin = min(steps) if steps else 1.0
    for o, r in zip(ours, ref, strict=True):
        assert o.shape == r.shape
        np.testing.assert_allclose(np.asarray(o), r, rtol=1e-10, atol=1e-10 * fmax / hmin)


@pytest.fixture(scope="session")
def medium_zarr(tmp_path_factory):
    """~96 MiB float64 in 1.5 MiB chunks: a run that lasts long enough to interrupt."""
    import dask.array as da
    import xarray as xr

    path = tmp_path_factory.mktemp("medium") / "in.zarr"
    shape, chunks = (48, 512, 512), (6, 128, 256)
    f = da.random.default_rng(0).standard_normal(shape, chunks=chunks)
    x = np.cumsum(np.linspace(1.0, 3.0, shape[2]))
    ds = xr.Dataset({"f": (("z", "y", "x"), f)}, coords={"x": x})
    ds.to_zarr(path)
    return path
