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
        """:func:`daskgrad.gradient` of this DataArray or Dataset along named dims.

        Parameters
        ----------
        dim : str or sequence of str, optional
            Dims to differentiate, all by default (the one positional argument).
        spacing : None, scalar, or mapping {dim: scalar or 1-D array}, optional
            Overrides the coordinates. A dim's default spacing is its coordinate (datetime64
            and cftime converted like ``DataArray.differentiate``), else 1. Scalars and arrays
            may be pint Quantities.
        edge_order : {1, 2}
            Order of the one-sided differences at the true edges.
        periodic : None, True, str, sequence of str, or mapping {dim: period}, optional
            Dims that wrap around. Given by name only, a dim's coordinate must be evenly
            spaced (its period is then n·step); for other coordinates give the period (in the
            coordinate's units, or a timedelta for datetime coordinates).
        datetime_unit : str, optional
            Unit of datetime coordinates and datetime-valued data ("D", "h", "s", ...); by
            default the datetime64 dtype's own unit, or "s" for cftime.
        accuracy : {2, 4, 6, 8}
            Order of accuracy, as for :func:`daskgrad.gradient`.
        nan_policy : {"propagate", "omit"}
            What NaNs do, as for :func:`daskgrad.gradient`.

        Returns
        -------
        tuple of DataArray, or Dataset
            On a DataArray, one DataArray per dim in ``dim`` order, with the input's dims,
            coords and chunks, named ``d{name}_d{dim}``, with ``units`` (data / coordinate
            units, when both are known) and ``long_name`` attrs; pint Quantity data stays
            Quantity data, in the derivative's units. On a Dataset, a Dataset holding
            ``d{var}_d{dim}`` for every numeric data variable and every requested dim it has,
            with the input's coords and attrs.

        Examples
        --------
        >>> x = xr.DataArray([0.0, 0.5, 1.0], dims="x", attrs={"units": "m"})
        >>> T = xr.DataArray([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], dims=("y", "x"),
        ...                  coords={"x": x}, name="T", attrs={"units": "K"})
        >>> (dT_dx,) = T.grad("x")
        >>> dT_dx.name, dT_dx.attrs["units"], dT_dx.values
        ('dT_dx', 'K m-1', array([[2., 3., 4.],
               [4., 6., 8.]]))
        >>> T.grad("y", spacing={"y": 2.0})[0].values
        array([[1. , 1.5, 2.5],
               [1. , 1.5, 2.5]])
        >>> list(T.to_dataset().grad().data_vars)
        ['dT_dx', 'dT_dy']
        """
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
        """:func:`daskgrad.geospatial_gradient` of this DataArray or Dataset.

        Parameters
        ----------
        **options
            The keywords of :func:`daskgrad.geospatial_gradient`: ``latitude``,
            ``longitude``, ``earth``, ``radius``, ``accuracy``, ``edge_order``,
            ``nan_policy``, ``periodic``.

        Returns
        -------
        tuple (df_dx, df_dy) of DataArrays, or Dataset
            On a DataArray, the eastward and northward derivatives per metre, named
            ``d{name}_dx`` and ``d{name}_dy`` with ``units`` (data units / m) and ``long_name``
            attrs. On a Dataset, a Dataset of ``d{var}_dx``, ``d{var}_dy`` for every numeric
            variable that has the horizontal dims.

        Examples
        --------
        >>> import numpy as np
        >>> lat = np.arange(-60.0, 61.0, 30.0)
        >>> lon = np.arange(0.0, 360.0, 90.0)
        >>> T = xr.DataArray(
        ...     np.outer(np.sin(np.radians(lat)), np.ones(lon.size)), name="T",
        ...     coords={"lat": lat, "lon": lon}, dims=("lat", "lon"), attrs={"units": "K"})
        >>> dx, dy = T.grad.geospatial(radius=1.0)
        >>> dx.name, dy.name, dy.attrs["units"]
        ('dT_dx', 'dT_dy', 'K m-1')
        >>> np.round(dy.values[2], 3)  # cos(0) on a coarse grid of the unit sphere
        array([0.955, 0.955, 0.955, 0.955])
        >>> list(T.to_dataset().grad.geospatial(earth="wgs84").data_vars)
        ['dT_dx', 'dT_dy']
        """
        return geospatial_gradient(self._obj, **options)

    def divergence(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.divergence` of the Dataset's variables ``u`` and ``v``.

        On a Dataset only: on a DataArray it is a TypeError (use
        ``daskgrad.divergence(u, v)``).

        Parameters
        ----------
        u, v : str or DataArray
            The x and y components (eastward and northward with ``geospatial=True``): names
            of data variables of this Dataset, or the Dataset's own DataArrays ``ds.u``,
            ``ds.v``. A name that is not a data variable is a ValueError, a DataArray that is
            not this Dataset's a TypeError.
        **options
            The keywords of :func:`daskgrad.divergence`: ``dim`` (alias ``dims``),
            ``geospatial``, ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``,
            ``periodic``, and with ``geospatial=True`` ``latitude``, ``longitude``, ``earth``,
            ``radius``, ``crs``, ``grid``, ``winds`` (a projected grid is built from the whole
            Dataset, its ``grid_mapping`` included).

        Returns
        -------
        DataArray
            Named ``div_{u}_{v}``, with the components' dims and coords, ``long_name``,
            ``units`` and, for winds in ``s-1``, CF's ``standard_name``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:4, 0:5].astype(float)
        >>> ds = xr.Dataset({"u": (("y", "x"), 2 * x), "v": (("y", "x"), 3 * y)})
        >>> div = ds.grad.divergence("u", "v")
        >>> div.name, div.values[0]
        ('div_u_v', array([5., 5., 5., 5., 5.]))
        >>> ds.grad.divergence(ds.u, ds.v, spacing={"x": 2.0}).values[0]
        array([4., 4., 4., 4., 4.])
        """
        return divergence(*self._pair("divergence", u, v), **self._grid(options))

    def vorticity(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.vorticity` of the Dataset's variables ``u`` and ``v``.

        On a Dataset only: on a DataArray it is a TypeError (use
        ``daskgrad.vorticity(u, v)``).

        Parameters
        ----------
        u, v : str or DataArray
            The x and y components (eastward and northward with ``geospatial=True``): names
            of data variables of this Dataset, or the Dataset's own DataArrays ``ds.u``,
            ``ds.v``.
        **options
            The keywords of :func:`daskgrad.vorticity`: ``dim`` (alias ``dims``),
            ``geospatial``, ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``,
            ``periodic``, and with ``geospatial=True`` ``latitude``, ``longitude``, ``earth``,
            ``radius``, ``crs``, ``grid``, ``winds`` (a projected grid is built from the whole
            Dataset, its ``grid_mapping`` included).

        Returns
        -------
        DataArray
            Named ``vort_{u}_{v}``, with the components' dims and coords, ``long_name``,
            ``units`` and, for winds in ``s-1``, CF's ``standard_name``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:4, 0:5].astype(float)
        >>> m = {"units": "m"}
        >>> ds = xr.Dataset(
        ...     {"u": (("y", "x"), -y, {"units": "m s-1", "standard_name": "eastward_wind"}),
        ...      "v": (("y", "x"), x, {"units": "m s-1", "standard_name": "northward_wind"})},
        ...     coords={"x": ("x", 1e3 * np.arange(5), m), "y": ("y", 1e3 * np.arange(4), m)})
        >>> vort = ds.grad.vorticity("u", "v")
        >>> vort.name, vort.attrs["units"], vort.attrs["standard_name"]
        ('vort_u_v', 's-1', 'atmosphere_relative_vorticity')
        >>> vort.values[0]
        array([0.002, 0.002, 0.002, 0.002, 0.002])
        """
        return vorticity(*self._pair("vorticity", u, v), **self._grid(options))

    def laplacian(self, var: Hashable | None = None, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.laplacian` of this DataArray, or of a Dataset's variable ``var``.

        Parameters
        ----------
        var : str or DataArray, optional
            On a Dataset (required there): the name of a data variable, or the Dataset's own
            DataArray. On a DataArray it must be left out (a TypeError otherwise).
        **options
            The keywords of :func:`daskgrad.laplacian`: ``dim`` (alias ``dims``),
            ``geospatial``, ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``,
            ``periodic``, and with ``geospatial=True`` ``latitude``, ``longitude``, ``earth``,
            ``radius``, ``crs``, ``grid``, ``winds`` (a projected grid is built from the whole
            Dataset, its ``grid_mapping`` included).

        Returns
        -------
        DataArray
            Named ``lap_{name}``, with the input's dims and coords, ``long_name`` and ``units``
            (data units / coordinate units squared, when both are known) attrs.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:4, 0:5].astype(float)
        >>> f = xr.DataArray(x**2 + y**2, dims=("y", "x"), name="f")
        >>> f.grad.laplacian(edge_order=2).values[0]
        array([4., 4., 4., 4., 4.])
        >>> lap = f.to_dataset().grad.laplacian("f", dim="x", edge_order=2)
        >>> lap.name, lap.values[0]
        ('lap_f', array([2., 2., 2., 2., 2.]))
        """
        if isinstance(self._obj, xr.Dataset):
            if var is None:
                raise TypeError("Dataset.grad.laplacian needs the name of a variable")
            return laplacian(self._variable(var, "laplacian"), **self._grid(options))
        if var is not None:
            raise TypeError(
                "DataArray.grad.laplacian takes no variable name; pass dim=... for the dims"
            )
        return laplacian(self._obj, **options)

    def _grid(self, options: dict[str, Any]) -> dict[str, Any]:
        """Geospatial options on a Dataset: its Grid, built from the whole Dataset (whose
        grid_mapping variable a DataArray taken from it would not carry)."""
        if not options.get("geospatial") or "grid" in options:
            return options
        from .xr.grid import Grid

        keys = ("latitude", "longitude", "x", "y", "crs", "earth", "radius", "periodic")
        rest = {k: v for k, v in options.items() if k not in keys}
        return {**rest, "grid": Grid(self._obj, **{k: options[k] for k in keys if k in options})}

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
