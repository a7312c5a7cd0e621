"""Numerical gradients (numpy.gradient / torch.gradient) on NumPy, dask and xarray data."""

from __future__ import annotations

import contextlib

from .signals import install_if_program as _install_if_program

# before the heavy imports below: a Ctrl-C while they run is held for the command line
_install_if_program()

from .api import gradient, np_gradient  # noqa: E402
from .io.writer import to_zarr  # noqa: E402
from .kinematics import (  # noqa: E402
    absolute_vorticity,
    advection,
    ageostrophic_wind,
    coriolis_parameter,
    frontogenesis,
    geostrophic_wind,
    shearing_deformation,
    stretching_deformation,
    total_deformation,
)
from .kinematics_vertical import potential_vorticity_baroclinic, q_vector  # noqa: E402
from .operators import divergence, laplacian, vorticity  # noqa: E402
from .version import __version__ as __version__  # noqa: E402

__all__ = [
    "absolute_vorticity",
    "advection",
    "ageostrophic_wind",
    "coriolis_parameter",
    "divergence",
    "frontogenesis",
    "geostrophic_wind",
    "gradient",
    "laplacian",
    "np_gradient",
    "potential_vorticity_baroclinic",
    "q_vector",
    "shearing_deformation",
    "stretching_deformation",
    "to_zarr",
    "total_deformation",
    "vorticity",
]

with contextlib.suppress(ImportError):  # the .grad accessor, when xarray is installed
    from . import accessor as _accessor  # noqa: F401
    from .xr.geospatial import geospatial_gradient  # noqa: F401  (needs xarray)
    from .xr.grid import Grid, rotate_winds  # noqa: F401  (needs xarray)

    __all__ += ["Grid", "geospatial_gradient", "rotate_winds"]
