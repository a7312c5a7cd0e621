"""Numerical gradients (numpy.gradient / torch.gradient) on NumPy, dask and xarray data."""

from __future__ import annotations

import contextlib

from ._api import gradient, np_gradient
from ._writer import to_zarr
from .operators import divergence, laplacian, vorticity

__all__ = ["divergence", "gradient", "laplacian", "np_gradient", "to_zarr", "vorticity"]
__version__ = "0.1.0"

with contextlib.suppress(ImportError):  # the .grad accessor, when xarray is installed
    from . import accessor as _accessor  # noqa: F401
    from .geospatial import geospatial_gradient  # noqa: F401  (needs xarray)

    __all__ += ["geospatial_gradient"]
