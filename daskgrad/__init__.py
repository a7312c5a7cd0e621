"""Numerical gradients (numpy.gradient / torch.gradient) on NumPy, dask and xarray data."""

from __future__ import annotations

import contextlib

from .signals import install_if_program as _install_if_program

# before the heavy imports below: a Ctrl-C while they run is held for the command line
_install_if_program()

from .api import gradient, np_gradient  # noqa: E402
from .io.writer import to_zarr  # noqa: E402
from .operators import divergence, laplacian, vorticity  # noqa: E402

__all__ = ["divergence", "gradient", "laplacian", "np_gradient", "to_zarr", "vorticity"]
__version__ = "0.1.0"

with contextlib.suppress(ImportError):  # the .grad accessor, when xarray is installed
    from . import accessor as _accessor  # noqa: F401
    from .xr.geospatial import geospatial_gradient  # noqa: F401  (needs xarray)
    from .xr.grid import Grid  # noqa: F401  (needs xarray)
    from .xr.winds import rotate_winds  # noqa: F401  (needs xarray)

    __all__ += ["Grid", "geospatial_gradient", "rotate_winds"]
