"""The ``.grad`` accessor of DataArrays and Datasets: gradients, geospatial gradients and the
vector-calculus operators as methods."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import xarray as xr

from .operators import divergence, laplacian, vorticity
from .xr.geospatial import geospatial_gradient
from .xr.gradient import gradient_xarray


class GradAccessor:
    """``obj.grad(dim, ...)``: :func:`daskgrad.gradient` as a DataArray/Dataset method, with
    ``.geospatial(...)``, ``.divergence(u, v, ...)``, ``.vorticity(u, v, ...)`` and
    ``.laplacian(...)``.

    Examples
    --------
    >>> import daskgrad  # registers the accessor
    >>> T = xr.DataArray([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], dims=("y", "x"), name="T")
    >>> [g.name for g in T.grad()]
    ['dT_dy', 'dT_dx']
    >>> T.grad("x")[0].values
    array([[1. , 1.5, 2. ],
           [2. , 3. , 4. ]])
    """

    def __init__(self, obj: xr.DataArray | xr.Dataset) -> None:
        self._obj = obj

    def __call__(
        self,
        dim: Hashable | Sequence[Hashable] | None = None,
        *,
        spacing: Any = None,
        edge_order: int = 1,
        periodic: Any = None,
        datetime_unit: str | None = None,
        accuracy: int = 2,
        nan_policy: str = "propagate",
    ) -> tuple[xr.DataArray, ...] | xr.Dataset:
        return gradient_xarray(
            self._obj,
            spacing=spacing,
            dim=dim,
            edge_order=edge_order,
            periodic=periodic,
            datetime_unit=datetime_unit,
            accuracy=accuracy,
            nan_policy=nan_policy,
        )

    def geospatial(self, **options: Any) -> tuple[xr.DataArray, xr.DataArray] | xr.Dataset:
        """:func:`daskgrad.geospatial_gradient` of this object."""
        return geospatial_gradient(self._obj, **options)

    def divergence(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.divergence` of the Dataset's variables ``u`` and ``v`` (names, or
        the Dataset's own DataArrays ``ds.u``, ``ds.v``)."""
        return divergence(*self._pair("divergence", u, v), **options)

    def vorticity(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.vorticity` of the Dataset's variables ``u`` and ``v`` (names, or
        the Dataset's own DataArrays)."""
        return vorticity(*self._pair("vorticity", u, v), **options)

    def laplacian(self, var: Hashable | None = None, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.laplacian` of this DataArray, or of a Dataset's variable ``var``."""
        if isinstance(self._obj, xr.Dataset):
            if var is None:
                raise TypeError("Dataset.grad.laplacian needs the name of a variable")
            return laplacian(self._variable(var, "laplacian"), **options)
        if var is not None:
            raise TypeError(
                "DataArray.grad.laplacian takes no variable name; pass dim=... for the dims"
            )
        return laplacian(self._obj, **options)

    def _pair(self, what: str, u: Hashable, v: Hashable):
        if not isinstance(self._obj, xr.Dataset):
            raise TypeError(
                f"{what} needs two components: call it on a Dataset with their names "
                f"(ds.grad.{what}('u', 'v')) or use daskgrad.{what}(u, v)"
            )
        return self._variable(u, what), self._variable(v, what)

    def _variable(self, name: Hashable | xr.DataArray, method: str) -> xr.DataArray:
        if isinstance(name, xr.DataArray):  # ds.grad.vorticity(ds.u, ds.v): this Dataset's own
            own = self._obj.variables.get(name.name) if name.name is not None else None
            if own is None or name.variable is not own:
                what = "an unnamed DataArray" if name.name is None else f"DataArray {name.name!r}"
                raise TypeError(
                    f"ds.grad.{method}: {what} is not a variable of this Dataset; pass "
                    f"variable names, or call daskgrad.{method}(...) with the DataArrays"
                )
            return self._obj[name.name]
        if name not in self._obj.data_vars:
            raise ValueError(f"{name!r} is not a data variable: {list(self._obj.data_vars)}")
        return self._obj[name]


xr.register_dataarray_accessor("grad")(GradAccessor)
xr.register_dataset_accessor("grad")(GradAccessor)
