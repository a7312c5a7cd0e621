"""The ``.grad`` accessor of DataArrays and Datasets: gradients, geospatial gradients, the
vector-calculus operators and the kinematics as methods."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import xarray as xr

from . import kinematics, kinematics_vertical
from .operators import divergence, laplacian, vorticity
from .xr.geospatial import geospatial_gradient
from .xr.gradient import gradient_xarray


class GradAccessor:
    """``obj.grad(dim, ...)``: :func:`daskgrad.gradient` as a DataArray/Dataset method, with
    ``.geospatial(...)``, ``.divergence(u, v, ...)``, ``.vorticity(u, v, ...)``,
    ``.laplacian(...)`` and the kinematics (``.advection("T", "u", "v")``,
    ``.frontogenesis("theta", "u", "v")``, ...) by variable names.

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
        return divergence(
            *self._pair("divergence", u, v), **self._grid(self._keywords("divergence", options))
        )

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
        return vorticity(
            *self._pair("vorticity", u, v), **self._grid(self._keywords("vorticity", options))
        )

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
        return laplacian(
            self._one(var, "laplacian"), **self._grid(self._keywords("laplacian", options))
        )

    def _grid(self, options: dict[str, Any]) -> dict[str, Any]:
        """Geospatial options on a Dataset: its Grid, built from the whole Dataset (whose
        grid_mapping variable a DataArray taken from it would not carry)."""
        if not isinstance(self._obj, xr.Dataset):
            return options
        if not options.get("geospatial") or "grid" in options:
            return options
        from .xr.grid import Grid

        keys = ("latitude", "longitude", "x", "y", "crs", "earth", "radius", "periodic")
        rest = {k: v for k, v in options.items() if k not in keys}
        named = [options.get(k) for k in ("latitude", "longitude", "x", "y")]
        data = [n for n in named if isinstance(n, str) and n in self._obj.data_vars]
        obj = self._obj.set_coords(data) if data else self._obj  # a grid coordinate by name
        return {**rest, "grid": Grid(obj, **{k: options[k] for k in keys if k in options})}

    def _keywords(self, method: str, options: dict[str, Any], grid: bool = True) -> dict[str, Any]:
        """``options`` with the variable-like keywords a user may give by name resolved on a
        Dataset: ``w`` and ``static_stability`` (data) as the variable or coordinate they
        name; ``latitude``/``longitude`` a data variable's name as that DataArray (a
        coordinate's name stays a name, as the API takes it; with ``geospatial=True`` and
        ``grid``, names go to the Grid, which takes data variables as coordinates). A name
        that is neither a data variable nor a coordinate is a one-line ValueError naming the
        keyword."""
        if not isinstance(self._obj, xr.Dataset):
            return options
        out = dict(options)
        for key in ("w", "static_stability", "latitude", "longitude"):
            value = out.get(key)
            if not isinstance(value, str):
                continue
            if value not in self._obj.variables:
                raise ValueError(
                    f"ds.grad.{method}: {key}={value!r} is neither a data variable nor a "
                    f"coordinate of this Dataset; data variables: {list(self._obj.data_vars)}, "
                    f"coordinates: {list(self._obj.coords)}"
                )
            coordinate = key in ("latitude", "longitude")
            if coordinate and (value in self._obj.coords or (grid and out.get("geospatial"))):
                continue
            out[key] = self._obj[value]
        return out

    # --- kinematics (daskgrad.kinematics), by the Dataset's variable names ---------------------

    def shearing_deformation(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.shearing_deformation` of the Dataset's variables ``u`` and ``v``.

        Parameters
        ----------
        u, v : str or DataArray
            The wind's components: names of data variables of this Dataset (or its own
            DataArrays), as for :meth:`divergence`.
        **options
            The keywords of :func:`daskgrad.shearing_deformation`.

        Returns
        -------
        DataArray
            Named ``shear_def_{u}_{v}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"u": (("y", "x"), y), "v": (("y", "x"), x)})
        >>> ds.grad.shearing_deformation("u", "v").values[0]
        array([2., 2., 2., 2.])
        """
        return kinematics.shearing_deformation(
            *self._named("shearing_deformation", u, v, args=("u", "v")),
            **self._keywords("shearing_deformation", options, grid=False),
        )

    def stretching_deformation(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.stretching_deformation` of the Dataset's variables ``u`` and ``v``.

        Parameters
        ----------
        u, v : str or DataArray
            The wind's components, names of data variables of this Dataset.
        **options
            The keywords of :func:`daskgrad.stretching_deformation`.

        Returns
        -------
        DataArray
            Named ``stretch_def_{u}_{v}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"u": (("y", "x"), x), "v": (("y", "x"), -y)})
        >>> ds.grad.stretching_deformation("u", "v").values[0]
        array([2., 2., 2., 2.])
        """
        return kinematics.stretching_deformation(
            *self._named("stretching_deformation", u, v, args=("u", "v")),
            **self._keywords("stretching_deformation", options, grid=False),
        )

    def total_deformation(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.total_deformation` of the Dataset's variables ``u`` and ``v``.

        Parameters
        ----------
        u, v : str or DataArray
            The wind's components, names of data variables of this Dataset.
        **options
            The keywords of :func:`daskgrad.total_deformation`.

        Returns
        -------
        DataArray
            Named ``total_def_{u}_{v}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"u": (("y", "x"), 3 * x), "v": (("y", "x"), 4 * x)})
        >>> ds.grad.total_deformation("u", "v").values[0]
        array([5., 5., 5., 5.])
        """
        return kinematics.total_deformation(
            *self._named("total_deformation", u, v, args=("u", "v")),
            **self._keywords("total_deformation", options, grid=False),
        )

    def absolute_vorticity(self, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.absolute_vorticity` of the Dataset's variables ``u`` and ``v``.

        Parameters
        ----------
        u, v : str or DataArray
            The wind's components, names of data variables of this Dataset.
        **options
            The keywords of :func:`daskgrad.absolute_vorticity` (``latitude``, ``omega``,
            ``geospatial``, ...).

        Returns
        -------
        DataArray
            Named ``abs_vort_{u}_{v}``.

        Examples
        --------
        >>> import numpy as np
        >>> zero = (("y", "x"), np.zeros((3, 2)))
        >>> ds = xr.Dataset({"u": zero, "v": zero}, coords={"lat": ("y", [0.0, 30.0, 90.0])})
        >>> ds.grad.absolute_vorticity("u", "v", omega=0.5).values[:, 0]
        array([0. , 0.5, 1. ])
        """
        return kinematics.absolute_vorticity(
            *self._named("absolute_vorticity", u, v, args=("u", "v")),
            **self._keywords("absolute_vorticity", options, grid=False),
        )

    def advection(self, scalar: Hashable, u: Hashable, v: Hashable, **options: Any) -> xr.DataArray:
        """:func:`daskgrad.advection` of the Dataset's variable ``scalar`` by ``u`` and ``v``.

        Parameters
        ----------
        scalar, u, v : str or DataArray
            Names of data variables of this Dataset: the advected field and the wind.
        **options
            The keywords of :func:`daskgrad.advection`.

        Returns
        -------
        DataArray
            Named ``adv_{scalar}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"T": (("y", "x"), 2 * x), "u": (("y", "x"), np.ones((3, 4))),
        ...                  "v": (("y", "x"), np.zeros((3, 4)))})
        >>> adv = ds.grad.advection("T", "u", "v")
        >>> adv.name, adv.values[0]
        ('adv_T', array([-2., -2., -2., -2.]))
        """
        return kinematics.advection(
            *self._named("advection", scalar, u, v, args=("scalar", "u", "v")),
            **self._grid(self._keywords("advection", options)),
        )

    def frontogenesis(
        self, theta: Hashable, u: Hashable, v: Hashable, **options: Any
    ) -> xr.DataArray:
        """:func:`daskgrad.frontogenesis` of the Dataset's variables ``theta``, ``u``, ``v``.

        Parameters
        ----------
        theta, u, v : str or DataArray
            Names of data variables of this Dataset: potential temperature and the wind.
        **options
            The keywords of :func:`daskgrad.frontogenesis`.

        Returns
        -------
        DataArray
            Named ``fgen_{theta}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"theta": (("y", "x"), x), "u": (("y", "x"), -x),
        ...                  "v": (("y", "x"), y)})
        >>> ds.grad.frontogenesis("theta", "u", "v").values[0]
        array([1., 1., 1., 1.])
        """
        return kinematics.frontogenesis(
            *self._named("frontogenesis", theta, u, v, args=("theta", "u", "v")),
            **self._keywords("frontogenesis", options, grid=False),
        )

    def potential_vorticity_baroclinic(
        self,
        theta: Hashable,
        pressure: Hashable | None,
        u: Hashable,
        v: Hashable,
        **options: Any,
    ) -> xr.DataArray:
        """:func:`daskgrad.potential_vorticity_baroclinic` of the Dataset's variables.

        Parameters
        ----------
        theta, u, v : str or DataArray
            Names of data variables of this Dataset: potential temperature and the wind.
        pressure : str or None
            A coordinate's or data variable's name, or None for ``vertical_dim``'s coordinate.
        **options
            The keywords of :func:`daskgrad.potential_vorticity_baroclinic`
            (``vertical_dim``, ``geospatial``, ...).

        Returns
        -------
        DataArray
            Named ``pv_{theta}``.

        Examples
        --------
        >>> import numpy as np
        >>> p = ("p", [1000.0, 900.0, 800.0], {"units": "hPa"})
        >>> dims = ("p", "y", "x")
        >>> theta = 300 - 0.01 * np.array(p[1])[:, None, None] + np.zeros((3, 2, 4))
        >>> ds = xr.Dataset({"theta": (dims, theta, {"units": "K"}),
        ...                  "u": (dims, np.zeros((3, 2, 4)), {"units": "m s-1"}),
        ...                  "v": (dims, np.zeros((3, 2, 4)), {"units": "m s-1"})},
        ...                 coords={"p": p, "lat": ("y", [30.0, 90.0]),
        ...                         "y": ("y", [0.0, 1e3], {"units": "m"}),
        ...                         "x": ("x", [0.0, 1e3, 2e3, 3e3], {"units": "m"})})
        >>> pv = ds.grad.potential_vorticity_baroclinic("theta", None, "u", "v", vertical_dim="p")
        >>> pv.name, pv.attrs["units"], round(float(pv[1, 1, 0]) / 1e-6, 4)
        ('pv_theta', 'K m2 kg-1 s-1', 0.143)
        """
        what = "potential_vorticity_baroclinic"
        theta_, u_, v_ = self._named(what, theta, u, v, args=("theta", "u", "v"))
        p = self._pressure(pressure, what)
        options = self._keywords(what, options, grid=False)
        latitude = {k: options.pop(k) for k in ("latitude",) if k in options}  # f's, not the grid's
        return kinematics_vertical.potential_vorticity_baroclinic(
            theta_, p, u_, v_, **self._grid(options), **latitude
        )

    def q_vector(
        self,
        u: Hashable,
        v: Hashable,
        temperature: Hashable,
        pressure: Any = None,
        **options: Any,
    ) -> tuple[xr.DataArray, xr.DataArray]:
        """:func:`daskgrad.q_vector` of the Dataset's variables.

        Parameters
        ----------
        u, v, temperature : str or DataArray
            Names of data variables of this Dataset.
        pressure : str, number, Quantity or None
            A coordinate's or data variable's name, one level's pressure, or None for
            ``vertical_dim``'s coordinate.
        **options
            The keywords of :func:`daskgrad.q_vector` (``static_stability``, ...).

        Returns
        -------
        tuple of DataArray
            Named ``q1_{temperature}`` and ``q2_{temperature}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:4, 0:5].astype(float)
        >>> ds = xr.Dataset({"u": (("y", "x"), y), "v": (("y", "x"), x), "T": (("y", "x"), x)})
        >>> q1, q2 = ds.grad.q_vector("u", "v", "T", 50000.0, rd=287.0)
        >>> q2.name, float(q2[1, 1])
        ('q2_T', -0.00574)
        """
        u_, v_, t_ = self._named("q_vector", u, v, temperature, args=("u", "v", "temperature"))
        return kinematics_vertical.q_vector(
            u_,
            v_,
            t_,
            self._pressure(pressure, "q_vector"),
            **self._grid(self._keywords("q_vector", options)),
        )

    def geostrophic_wind(
        self, height: Hashable | None = None, **options: Any
    ) -> tuple[xr.DataArray, xr.DataArray]:
        """:func:`daskgrad.geostrophic_wind` of this DataArray or of a Dataset's ``height``.

        Parameters
        ----------
        height : str or DataArray, optional
            On a Dataset (required there): the name of the geopotential (height) variable.
            On a DataArray it must be left out.
        **options
            The keywords of :func:`daskgrad.geostrophic_wind`.

        Returns
        -------
        tuple (u_g, v_g) of DataArrays
            Named ``ug_{height}`` and ``vg_{height}``.

        Examples
        --------
        >>> import numpy as np
        >>> z = xr.DataArray(np.outer([0.0, 10.0, 20.0], np.ones(4)), dims=("y", "x"),
        ...                  coords={"lat": ("y", [90.0] * 3)}, name="z")
        >>> ug, vg = z.grad.geostrophic_wind(omega=0.5, g=1.0)
        >>> ug.name, ug.values[0]
        ('ug_z', array([-10., -10., -10., -10.]))
        """
        return kinematics.geostrophic_wind(
            self._one(height, "geostrophic_wind"),
            **self._keywords("geostrophic_wind", options, grid=False),
        )

    def ageostrophic_wind(
        self, height: Hashable, u: Hashable, v: Hashable, **options: Any
    ) -> tuple[xr.DataArray, xr.DataArray]:
        """:func:`daskgrad.ageostrophic_wind` of the Dataset's ``height``, ``u`` and ``v``.

        Parameters
        ----------
        height, u, v : str or DataArray
            Names of data variables of this Dataset: the geopotential (height) and the wind.
        **options
            The keywords of :func:`daskgrad.ageostrophic_wind`.

        Returns
        -------
        tuple (u_a, v_a) of DataArrays
            Named ``ageo_{u}_{height}`` and ``ageo_{v}_{height}``.

        Examples
        --------
        >>> import numpy as np
        >>> y, x = np.mgrid[0:3, 0:4].astype(float)
        >>> ds = xr.Dataset({"z": (("y", "x"), 10 * y), "u": (("y", "x"), -10 + 0 * x),
        ...                  "v": (("y", "x"), 0 * x)}, coords={"lat": ("y", [90.0] * 3)})
        >>> ua, va = ds.grad.ageostrophic_wind("z", "u", "v", omega=0.5, g=1.0)
        >>> ua.name, ua.values[0]
        ('ageo_u_z', array([0., 0., 0., 0.]))
        """
        return kinematics.ageostrophic_wind(
            *self._named("ageostrophic_wind", height, u, v, args=("height", "u", "v")),
            **self._keywords("ageostrophic_wind", options, grid=False),
        )

    def _one(self, var: Hashable | None, what: str) -> xr.DataArray:
        """The field of a one-field method: this DataArray, or the Dataset's ``var``."""
        if isinstance(self._obj, xr.Dataset):
            if var is None:
                raise TypeError(f"Dataset.grad.{what} needs the name of a variable")
            return self._variable(var, what, "height" if what == "geostrophic_wind" else "var")
        if var is not None:
            raise TypeError(
                f"DataArray.grad.{what} takes no variable name; pass dim=... for the dims"
            )
        return self._obj

    def _named(
        self, what: str, *names: Hashable, needs: str = "", args: Sequence[str] = ()
    ) -> list[xr.DataArray]:
        """The Dataset's variables ``names`` (or its own DataArrays), for method ``what``;
        ``args`` are the arguments' names (for the errors); ``needs`` words a TypeError on a
        DataArray (default: "takes several variables")."""
        if not isinstance(self._obj, xr.Dataset):
            method, function = ("('u', 'v')", "(u, v)") if needs else ("(...)", "(...)")
            raise TypeError(
                f"{what} {needs or 'takes several variables'}: call it on a Dataset with their "
                f"names (ds.grad.{what}{method}) or use daskgrad.{what}{function}"
            )
        args = list(args) or [f"argument {i + 1}" for i in range(len(names))]
        return [self._variable(n, what, a) for n, a in zip(names, args, strict=True)]

    def _pair(self, what: str, u: Hashable, v: Hashable) -> list[xr.DataArray]:
        return self._named(what, u, v, needs="needs two components", args=("u", "v"))

    def _pressure(self, pressure: Any, method: str) -> Any:
        """A data variable's name as the variable; anything else (a coordinate's name, a
        level's pressure, None) as given; a name that is neither is a ValueError."""
        if isinstance(pressure, str) and pressure in self._obj.data_vars:
            return self._obj[pressure]
        if isinstance(pressure, str) and pressure not in self._obj.coords:
            raise ValueError(
                f"ds.grad.{method}: pressure={pressure!r} is neither a data variable nor a "
                f"coordinate of this Dataset; data variables: {list(self._obj.data_vars)}, "
                f"coordinates: {list(self._obj.coords)}"
            )
        return pressure

    def _variable(self, name: Hashable | xr.DataArray, method: str, arg: str) -> xr.DataArray:
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
            raise ValueError(
                f"ds.grad.{method}: {arg}={name!r} is not a data variable of this Dataset; "
                f"its data variables are {list(self._obj.data_vars)}"
            )
        return self._obj[name]


xr.register_dataarray_accessor("grad")(GradAccessor)
xr.register_dataset_accessor("grad")(GradAccessor)
