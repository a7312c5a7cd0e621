"""Turn numpy/torch-style arguments into one validated plan per axis; all messages live here."""

from __future__ import annotations

import datetime
import math
import numbers
import operator
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import OptionError, OptionTypeError, unexpected_options
from .arrays import is_dask_collection, is_scalar
from .stencil import ACCURACIES, EDGE_ORDERS, NAN_POLICIES, EvenCoords, depth

# numpy's own error for a bad axis: an IndexError and a ValueError (numpy.exceptions from 1.25)
AxisError = getattr(np, "exceptions", np).AxisError


@dataclass(frozen=True)
class AxisPlan:
    """How to differentiate along one axis.

    ``step`` is a float for uniform spacing, or a 1-D float64 coordinate array (NumPy or dask)
    of the axis' length. ``period`` is None for a non-periodic axis, else the (positive) period;
    for uniform spacing it is ``n * |step|``. Its sign follows the coordinates' direction.
    """

    axis: int
    size: int
    step: Any
    period: float | None = None

    @property
    def uniform(self) -> bool:
        return isinstance(self.step, float)

    @property
    def periodic(self) -> bool:
        return self.period is not None


@dataclass(frozen=True)
class Plan:
    axes: tuple[AxisPlan, ...]
    edge_order: int
    dtype: np.dtype  # dtype of every output
    accuracy: int = 2
    nan_policy: str = "propagate"
    deriv: int = 1  # 2: the second derivatives of a Laplacian

    @property
    def depth(self) -> int:
        """Ghost points per side that every block needs along a differentiated axis."""
        return depth(self.accuracy, self.nan_policy, self.deriv)

    @property
    def edge_reach(self) -> int:
        """How far from a true edge a one-sided stencil of a point next to it reaches."""
        q = self.edge_order if self.accuracy == 2 else self.accuracy
        return q + self.deriv - 1 + self.accuracy // 2 - 1


def output_dtype(dtype: np.dtype) -> np.dtype:
    """numpy.gradient's rule: integers give float64, inexact types are kept, datetime64 gives
    the timedelta64 of the same unit, timedelta64 is kept; bool is refused."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        raise TypeError(
            "input has dtype bool; gradients of booleans are undefined "
            "(convert with .astype(float) if you meant 0/1)"
        )
    if dtype.kind in "iu":
        return np.dtype(np.float64)
    if dtype.kind in "fcm":
        return dtype
    if dtype.kind == "M":
        timedelta: np.dtype = np.dtype(dtype.name.replace("datetime", "timedelta"))
        return timedelta
    raise TypeError(
        f"input has dtype {dtype}; only integer, float, complex, datetime64 and timedelta64 "
        "arrays are allowed"
    )


def normalize_dims(
    dim: Any,
    ndim: int,
    *,
    kind: str | None = None,
    names: Sequence[Hashable] | None = None,
    horizontal: tuple[tuple[Hashable, ...], str] | None = None,
    shape: tuple[Any, ...] | None = None,
    count: int = 2,
) -> tuple[int, ...]:
    """The axes ``dim`` names: the one check of ``dim``, for arrays and for xarray objects.

    ``dim`` is None (every dim), an int or a sequence of ints (negatives count from the end);
    with ``names`` (the dims of the caller's input, e.g. an xarray object's) it names them
    instead. ``kind``: an operator's name; its dims are then two, x then y (None: the last
    two), or for ``"laplacian"`` at least one (None: all); ``count``: how many an operator's
    are (3 for advection with a vertical wind: x, y, z). ``horizontal``: a geospatial
    grid's dims and its coordinates' names, which ``dim``, if given, must be. ``shape``: the
    input's, whose differentiated dims must have known sizes (dask's NaN after boolean
    indexing).

    Examples
    --------
    >>> normalize_dims(-1, 3), normalize_dims(None, 2, kind="divergence")
    ((2,), (1, 0))
    >>> normalize_dims("x", 2, names=("y", "x"))
    (1,)
    >>> normalize_dims(["x", "z"], 2, names=("y", "x"))
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: dim 'z' is not a dim of the input; its dims are ('y', 'x')
    >>> normalize_dims((0,), 2, kind="vorticity")
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: vorticity needs dim=(x, y), two dims; got dim=(0,)
    """
    if horizontal is not None:
        grid_dims, coords = horizontal
        if dim is not None and set(np.atleast_1d(dim).tolist()) != set(grid_dims):
            raise OptionError(
                "dim",
                f"{kind} with {{opt:geospatial=True}} works on the horizontal dims {grid_dims} "
                f"of {coords}; got {{opt:dim={dim!r}}}",
            )
        dim = list(grid_dims)
    given = dim
    if kind == "laplacian":
        if dim is None:
            dim = list(range(ndim) if names is None else names)
            given = tuple(dim)
        dim = [dim] if np.ndim(dim) == 0 else list(dim)
        if not dim:
            raise OptionError("dim", f"laplacian needs at least one dim; got {{opt:dim={given!r}}}")
    elif kind is not None:
        if dim is None:
            dim = (-1, -2) if names is None else [names[-1], names[-2]]
        if np.ndim(dim) != 1 or len(dim) != count:
            pair, number = ("(x, y)", "two") if count == 2 else ("(x, y, z)", "three")
            what = f"{number} dim names" if names is not None else f"{number} dims"
            raise OptionError(
                "dim", f"{kind} needs {{opt:dim={pair}}}, {what}; got {{opt:dim={given!r}}}"
            )
    if dim is None and names is not None:
        return tuple(range(ndim))
    if names is not None:
        if isinstance(dim, str) or not isinstance(dim, Sequence) or np.ndim(dim) == 0:
            dim = [dim]
        for d in dim:
            if d not in names:
                raise OptionError(
                    "dim",
                    f"{{opt:dim}} {d!r} is not a dim of the input; its dims are {tuple(names)}",
                )
        if len(set(dim)) != len(dim):
            raise OptionError("dim", f"{{opt:dim}} has repeated entries: {list(dim)!r}")
        return tuple(list(names).index(d) for d in dim)
    dims = (
        range(ndim) if dim is None else [dim] if _is_integer(dim) or isinstance(dim, str) else dim
    )
    if not isinstance(dims, Sequence | np.ndarray) or isinstance(dims, str):
        raise TypeError(f"dim must be None, an int or a sequence of ints; got {dim!r}")
    out = []
    for d in dims:
        if not _is_integer(d):
            raise TypeError(f"dim must be None, an int or a sequence of ints; got {d!r} in dim")
        d = operator.index(d)
        if not -ndim <= d < ndim:
            raise AxisError(f"dim {d} is out of range for an input with {ndim} dims")
        out.append(d % ndim)
    if len(set(out)) != len(out):
        raise OptionError("dim", f"{{opt:dim}} has repeated entries: {tuple(dims)!r}")
    for ax in out:
        if shape is not None and np.isnan(shape[ax]):
            raise ValueError(
                f"dim {ax} has unknown chunk sizes (NaN, as after boolean indexing) and is "
                "differentiated; call .compute_chunk_sizes() on the dask array first"
            )
    return tuple(out)


def check_same_shape(
    kind: str, inputs: Sequence[Any], names: Sequence[Hashable] = ("u", "v")
) -> None:
    """The two components ``inputs`` (called ``names``) are on the same points: a ValueError
    naming both shapes if not.

    Examples
    --------
    >>> check_same_shape("vorticity", (np.zeros((2, 3)), np.zeros((3, 2))))
    Traceback (most recent call last):
    ...
    ValueError: vorticity: u has shape (2, 3) but v has shape (3, 2); the components must be ...
    """
    if len(inputs) == 2 and tuple(inputs[0].shape) != tuple(inputs[1].shape):
        raise ValueError(
            f"{kind}: {names[0]} has shape {tuple(inputs[0].shape)} but {names[1]} has shape "
            f"{tuple(inputs[1].shape)}; the components must be on the same points"
        )


def operator_dims(kind: str, dims: Any, ndim: int) -> tuple[int, ...]:
    """The axes of the operator ``kind`` on arrays, checked by :func:`normalize_dims`.

    Examples
    --------
    >>> operator_dims("laplacian", 1, 2), operator_dims("divergence", None, 3)
    ((1,), (2, 1))
    """
    return normalize_dims(dims, ndim, kind=kind)


def normalize_edge_order(edge_order: Any, accuracy: Any = 2) -> int:
    """``edge_order`` (1 or 2), checked with ``accuracy`` (see :func:`normalize_accuracy`):
    it applies to accuracy 2 only, where the edges are numpy.gradient's."""
    if whole_number(edge_order) not in EDGE_ORDERS:
        allowed = " or ".join(map(str, EDGE_ORDERS))
        raise OptionError("edge_order", f"{{opt:edge_order}} must be {allowed}; got {edge_order!r}")
    accuracy = normalize_accuracy(accuracy)
    if accuracy > 2 and edge_order != 1:
        raise OptionError(
            "edge_order",
            f"{{opt:edge_order={edge_order}}} applies to {{opt:accuracy=2}} only: with "
            f"{{opt:accuracy={accuracy}}} the edges use one-sided stencils of the same order; "
            "leave {opt:edge_order} at its default",
        )
    return int(edge_order)


# datetime64/timedelta64 data take numpy.gradient's own arithmetic (see core.eager)
_NUMPY_ONLY = (
    "{dtype} input is differentiated with numpy.gradient's own arithmetic, which has "
    "{{opt:accuracy=2}} and {{opt:nan_policy='propagate'}} only; convert it to float for "
    "higher orders or {{opt:nan_policy='omit'}}"
)


def normalize_accuracy(accuracy: Any, edge_order: Any = None, numpy_only: Any = False) -> int:
    """``accuracy``, one of ``ACCURACIES``; with ``edge_order`` given, the two checked
    together (:func:`normalize_edge_order`). ``numpy_only``: the dtype of input that only
    numpy.gradient's arithmetic differentiates (accuracy 2), else False."""
    allowed = ", ".join(map(str, ACCURACIES))
    if whole_number(accuracy) is None:
        raise OptionTypeError(
            "accuracy", f"{{opt:accuracy}} must be one of the ints {allowed}; got {accuracy!r}"
        )
    if whole_number(accuracy) not in ACCURACIES:
        raise OptionError(
            "accuracy", f"{{opt:accuracy}} must be one of {allowed}; got {accuracy!r}"
        )
    if edge_order is not None:
        normalize_edge_order(edge_order, accuracy)
    if numpy_only and accuracy != 2:
        raise OptionTypeError("accuracy", _NUMPY_ONLY.format(dtype=numpy_only))
    return int(accuracy)


def normalize_nan_policy(nan_policy: Any, numpy_only: Any = False) -> str:
    """``nan_policy``, one of ``NAN_POLICIES``; ``numpy_only`` as for
    :func:`normalize_accuracy` (nan_policy 'propagate')."""
    allowed = " or ".join(map(repr, NAN_POLICIES))
    message = f"{{opt:nan_policy}} must be {allowed}; got {nan_policy!r}"
    if not isinstance(nan_policy, str):
        raise OptionTypeError("nan_policy", message)
    if nan_policy not in NAN_POLICIES:
        raise OptionError("nan_policy", message)
    if numpy_only and nan_policy != "propagate":
        raise OptionTypeError("nan_policy", _NUMPY_ONLY.format(dtype=numpy_only))
    return nan_policy


# numpy's time units of a fixed length (not Y or M), as ``datetime_unit=`` and --datetime-unit
DATETIME_UNITS = ("W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")


def normalize_datetime_unit(
    datetime_unit: Any, xarray: bool = True, span: tuple[int, str] | None = None
) -> str | None:
    """``datetime_unit``: None or one of ``DATETIME_UNITS``; None only when the input is no
    xarray object (``xarray`` False: its arrays have no time coordinates). ``span``: a time
    coordinate's span in nanoseconds and what it is, which the unit must hold: NumPy converts
    datetime64/timedelta64 in 64 bits and wraps without a word (a month in as).

    Examples
    --------
    >>> normalize_datetime_unit("h")
    'h'
    >>> normalize_datetime_unit("Y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: datetime_unit must be one of W, D, h, ..., as; got 'Y'
    >>> normalize_datetime_unit("s", span=(86_400 * 10**9, "coordinate 'time'"))
    's'
    >>> normalize_datetime_unit("as", span=(86_400 * 10**9, "coordinate 'time'"))
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: datetime_unit='as' cannot hold the span of coordinate ...
    """
    if datetime_unit is None:
        return None
    if not xarray:
        raise OptionTypeError("datetime_unit", "{opt:datetime_unit} applies to xarray input only")
    if not isinstance(datetime_unit, str) or datetime_unit not in DATETIME_UNITS:
        cls = OptionError if isinstance(datetime_unit, str) else OptionTypeError
        raise cls(
            "datetime_unit",
            f"{{opt:datetime_unit}} must be one of {', '.join(DATETIME_UNITS)}; "
            f"got {datetime_unit!r}",
        )
    if span is not None:
        span_ns, what = span
        per_ns = np.timedelta64(1, "ns") / np.timedelta64(1, datetime_unit)  # type: ignore[call-overload]
        if span_ns * float(per_ns) >= 2.0**63:
            raise OptionError(
                "datetime_unit",
                f"{{opt:datetime_unit}}={datetime_unit!r} cannot hold the span of {what} "
                f"({span_ns / 8.64e13:.6g} days) in NumPy's 64-bit timedelta; use a coarser unit",
            )
    return datetime_unit


def _is_integer(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def whole_number(x: Any) -> int | None:
    """``x`` as an int when it is a whole number (an int, or a real float such as 2.0, as
    numpy.gradient takes ``edge_order=2.0``; never a bool or a string), else None: the one
    rule of ``accuracy`` and ``edge_order``, in the Python API and on the command line.

    Examples
    --------
    >>> whole_number(2.0), whole_number(4), whole_number(1.5), whole_number(True)
    (2, 4, None, None)
    """
    if _is_integer(x):
        return int(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        f = float(x)
        return int(f) if f.is_integer() else None
    return None


def _real(h: Any) -> tuple[float | None, type[Exception] | None, str]:
    """``h`` as a step (an even coordinate's step stays one), else None, the class of the
    error and what is wrong (for the check that calls it to raise)."""
    if isinstance(h, bool | str | bytes) or np.iscomplexobj(h):
        return None, TypeError, f"must be a real number; got {h!r}"
    try:
        step = h if isinstance(h, EvenCoords) else float(h)
    except (TypeError, ValueError):
        return None, TypeError, f"must be a real number; got {h!r}"
    if step == 0 or not np.isfinite(step):
        return None, ValueError, f"must be finite and non-zero; got {step!r}"
    return step, None, ""


def coordinate_fault(x: np.ndarray) -> str:
    """What makes the float64 NumPy coordinate ``x`` unfit to space a dim ('' when nothing):
    it must be finite and strictly monotonic, increasing or decreasing, as numpy.gradient
    allows (a repeat or a turn gives inf or meaningless differences). The one check of a
    coordinate, for ``spacing`` here and for the callers that name their own (a vertical
    coordinate: ``pressure``).

    Examples
    --------
    >>> coordinate_fault(np.array([1000.0, 850.0, np.nan]))
    'holds non-finite coordinates'
    >>> coordinate_fault(np.array([1.0, 2.0, 4.0]))
    ''
    """
    if x.size < 2:
        return ""
    dx = np.diff(x)
    if not np.all(np.isfinite(x)):
        return "holds non-finite coordinates"
    if np.any(dx == 0):
        i = int(np.flatnonzero(dx == 0)[0])
        return f"repeats the value {float(x[i])!r} at positions {i} and {i + 1}"
    turns = np.flatnonzero(np.sign(dx) != np.sign(dx[0]))
    if turns.size:
        i = int(turns[0])
        way = "rises" if dx[0] > 0 else "falls"
        return (
            f"is not monotonic: it {way} from position 0, then goes from {float(x[i])!r} to "
            f"{float(x[i + 1])!r} at positions {i} and {i + 1}; sort the data along it first"
        )
    return ""


def normalize_spacing(
    spacing: Any,
    axes: tuple[int, ...],
    shape: tuple[int, ...],
    *,
    names: Sequence[Hashable] | None = None,
) -> Any:
    """One step per axis of ``axes``: a float, or a 1-D float64 coordinate array (NumPy, checked
    finite and strictly monotonic; dask, checked as it computes, see core.graph). The one
    check of ``spacing``.

    ``spacing``: None (1), a scalar, or one scalar or 1-D coordinate array per axis. With
    ``names`` (the dims of an xarray object) it is None, a scalar or a mapping {dim name:
    scalar or 1-D array} whose names must be differentiated dims, and the result is that
    mapping by axis, {axis: value}, checked for shape only (the values are checked when the
    plan is made).

    Examples
    --------
    >>> normalize_spacing([2, [0, 1, 3]], (0, 1), (4, 3))
    [2.0, array([0., 1., 3.])]
    >>> normalize_spacing({"x": 2.0}, (1,), (4, 3), names=("y", "x"))
    {1: 2.0}
    """
    k = len(axes)
    if names is not None:
        if spacing is None:
            return {}
        if not isinstance(spacing, Mapping):
            if np.ndim(spacing) != 0:
                raise OptionTypeError(
                    "spacing",
                    "{opt:spacing} must be None, a scalar or a mapping from dim names to scalars "
                    f"or 1-D arrays for xarray input; got {type(spacing).__name__}",
                )
            spacing = {names[a]: spacing for a in axes}
        differentiated = [names[a] for a in axes]
        for d in spacing:
            if d not in names:
                raise OptionError(
                    "spacing",
                    f"{{opt:spacing}} given for dim {d!r} is not a dim of the input; its dims "
                    f"are {tuple(names)}",
                )
            if list(names).index(d) not in axes:
                raise OptionError(
                    "spacing",
                    f"{{opt:spacing}} given for dim {d!r}, which is not differentiated "
                    f"({differentiated})",
                )
        out_named = {}
        for d, h in spacing.items():
            ax = list(names).index(d)
            if np.shape(h) not in ((), (shape[ax],)):
                raise OptionError(
                    "spacing",
                    f"{{opt:spacing}} for dim {d!r} must be a scalar or a 1-D array of its "
                    f"{shape[ax]} points; got shape {np.shape(h)}",
                )
            out_named[ax] = h
        return out_named
    if spacing is None:
        return [1.0] * k
    if is_scalar(spacing):
        step, cls, fault = _real(spacing)
        if cls is not None:
            raise cls(f"spacing {fault}")
        return [step] * k
    if isinstance(spacing, Mapping | str) or not isinstance(spacing, Sequence | np.ndarray):
        raise TypeError(
            "spacing must be None, a scalar, or a sequence with one scalar or 1-D coordinate "
            f"array per differentiated dim; got {type(spacing).__name__}"
        )
    if len(spacing) != k:
        raise ValueError(
            f"spacing has {len(spacing)} entries but {k} dims are differentiated "
            f"(dims {axes}); give one scalar or 1-D coordinate array per dim, "
            "e.g. spacing=[x] for a single dim"
        )
    out: list[Any] = []
    for i, (x, ax) in enumerate(zip(spacing, axes, strict=True)):
        where = f"spacing[{i}] (dim {ax})"
        if is_scalar(x):
            step, cls, fault = _real(x)
            if cls is not None:
                raise cls(f"{where} {fault}")
            out.append(step)
            continue
        x = x if is_dask_collection(x) else np.asarray(x)
        if x.ndim != 1:
            raise ValueError(
                f"{where} must be a scalar or a 1-D coordinate array; got {x.ndim} dims"
            )
        if x.dtype.kind not in "iuf":
            raise TypeError(f"{where} must hold real numbers; got dtype {x.dtype}")
        if x.shape[0] != shape[ax]:
            raise ValueError(
                f"{where} has {x.shape[0]} coordinates but the dim it spaces has {shape[ax]} points"
            )
        x = x.astype(np.float64)
        fault = "" if is_dask_collection(x) else coordinate_fault(x)
        if fault:  # {spacing:…}: in the caller's words (see errors.Wording)
            raise OptionError("spacing", f"{{spacing:{i}:{ax}}} {fault}")
        out.append(x)
    return out


Fault = tuple[type, str]  # the class of a check's error and its template: what is wrong


@dataclass(frozen=True)
class Longitude:
    """What a geospatial grid knows of its longitude, for :func:`normalize_periodic`:
    ``no_wrap`` says why the grid never wraps (projected, rotated, 2-D coordinates), else
    None; ``lazy``: a dask longitude (not inspected); ``covers``: evenly spaced over 360°;
    ``covers_asked``: covers the globe when a wrap is asked for (uneven, its gap no larger
    than its steps); ``points`` and ``span`` (degrees) for the message."""

    name: Hashable
    no_wrap: str | None = None
    lazy: bool = False
    covers: bool = False
    covers_asked: bool = False
    points: int = 0
    span: float = 0.0


def normalize_periodic(
    periodic: Any,
    axes: tuple[int, ...],
    shape: tuple[int, ...],
    steps: Sequence[Any] | None = None,
    *,
    names: Sequence[Hashable] | None = None,
    vertical: int | None = None,
    time_units: Mapping[int, str | None] | None = None,
    longitude: Longitude | None = None,
) -> dict[int, Any]:
    """{axis: period} of the periodic axes among ``axes``: the one check of ``periodic``.

    ``periodic`` is None/False, True (every axis of ``axes``), an axis or a sequence of axes,
    or a mapping {axis: period} (period None: from the spacing). With ``names`` (the dims of
    an xarray object) it names dims; a name given alone takes the period n·step of its evenly
    spaced coordinate. ``steps``: the spacing of each axis of ``axes`` (a float or a 1-D
    coordinate array); with them a period is resolved (n·|step| for a scalar spacing) and
    checked against the coordinates. ``vertical``: an axis that never wraps (a vertical
    derivative's). ``time_units``: {axis: the numpy time unit its coordinate is in, or None},
    which a timedelta period is converted to. ``longitude``: a geospatial grid's, whose
    ``periodic`` is None (wrap a longitude covering the globe), True or False; the result is
    then {0: None} when it wraps, else {}.

    Examples
    --------
    >>> normalize_periodic(True, (0, 1), (4, 5), [2.0, 1.0])
    {0: 8.0, 1: 5.0}
    >>> normalize_periodic({"x": 360.0}, (1,), (3, 4), names=("y", "x"))
    {1: 360.0}
    >>> normalize_periodic([2], (0,), (3, 4, 5))
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: periodic dim 2 is not one of the differentiated dims (0,)
    """
    fault: Fault | None
    if longitude is not None:
        out, fault = _longitude_wrap(periodic, longitude)
    else:
        out, fault = _periodic_items(periodic, axes, len(shape), names, vertical, time_units)
    step_of = dict(zip(axes, steps or (), strict=False))
    for ax, period in out.items() if steps is not None and fault is None else ():
        out[ax], fault = _period_of(period, step_of[ax], shape[ax], ax, names is not None)
        if fault is not None:
            break
    if fault is not None:
        cls, template = fault
        if cls is AxisError:
            raise AxisError(template)
        raise cls("periodic", template, names)
    return out


def _longitude_wrap(periodic: Any, lon: Longitude) -> tuple[dict[int, Any], Fault | None]:
    """For :func:`normalize_periodic`: {0: None} if a geospatial grid's longitude wraps, else
    {}; or what is wrong with ``periodic``."""
    if periodic not in (None, True, False):
        return {}, (
            OptionTypeError,
            f"{{opt:periodic}} must be None, True or False; got {periodic!r}",
        )
    if lon.no_wrap is not None and periodic:
        return {}, (OptionError, f"{{opt:periodic=True}} {lon.no_wrap}")
    if lon.no_wrap is not None or periodic is False or (periodic is None and lon.lazy):
        return {}, None
    if periodic and not (lon.lazy or lon.covers or lon.covers_asked):
        repeats = " (its last point repeats the first; drop it)" * math.isclose(lon.span, 360)
        return {}, (
            OptionError,
            f"{{opt:periodic=True}} but longitude {lon.name!r} does not cover the globe: "
            f"{lon.points} points spanning {lon.span:.6g} degrees{repeats}",
        )
    return ({0: None} if periodic or lon.covers else {}), None


def _periodic_items(
    periodic: Any,
    axes: tuple[int, ...],
    ndim: int,
    names: Sequence[Hashable] | None,
    vertical: int | None,
    time_units: Mapping[int, str | None] | None,
) -> tuple[dict[int, Any], Fault | None]:
    """For :func:`normalize_periodic`: {axis: period as given, a number or None}, or what is
    wrong with ``periodic``."""
    if periodic is None or periodic is False:
        return {}, None
    by_name = names is not None and periodic is not True
    if periodic is True:
        items: list[tuple[Any, Any]] = [(a, None) for a in axes]
    elif isinstance(periodic, Mapping):
        items = list(periodic.items())
    elif _is_integer(periodic) or (
        by_name and (isinstance(periodic, str) or not isinstance(periodic, Sequence))
    ):
        items = [(periodic, None)]
    elif isinstance(periodic, Sequence) and not isinstance(periodic, str):
        items = [(p, None) for p in periodic]
        if by_name and len(set(periodic)) < len(periodic):
            return {}, (OptionError, f"{{opt:periodic}} has repeated entries: {list(periodic)!r}")
    else:
        return {}, (
            OptionTypeError,
            "{opt:periodic} must be None, True, an int, a sequence of ints or a mapping "
            f"from dim to period; got {periodic!r}",
        )
    out: dict[int, Any] = {}
    given: dict[int, Any] = {}
    for d, period in items:
        if by_name:
            assert names is not None
            if d not in names or list(names).index(d) not in axes:
                differentiated = [names[a] for a in axes]
                return {}, (
                    OptionError,
                    f"{{opt:periodic}} dim {d!r} is not one of the differentiated dims "
                    f"{differentiated}",
                )
            ax = list(names).index(d)
        elif not _is_integer(d):
            return {}, (OptionTypeError, f"{{opt:periodic}} dims must be ints; got {d!r}")
        elif not -ndim <= d < ndim:
            return {}, (
                AxisError,
                f"periodic dim {d} is out of range for an input with {ndim} dims",
            )
        else:
            ax = d % ndim
            if ax in given:
                return {}, (
                    OptionError,
                    f"{{opt:periodic}} names {{dim:{ax}}} twice, as {given[ax]!r} and {d!r}; "
                    "give each dim once",
                )
            given[ax] = d
        if ax == vertical:
            return {}, (
                OptionError,
                f"{{opt:periodic}} names the vertical dim {ax}; only horizontal dims are periodic",
            )
        if ax not in axes:
            return {}, (
                OptionError,
                f"{{opt:periodic}} {{dim:{ax}}} is not one of the differentiated dims {axes}",
            )
        if isinstance(period, np.timedelta64 | datetime.timedelta):
            unit = (time_units or {}).get(ax)
            if unit is None:
                return {}, (
                    OptionTypeError,
                    f"{{opt:periodic}}: the period of {{dim:{ax}}} is a timedelta but its "
                    "coordinate is not",
                )
            period = np.timedelta64(period) / np.timedelta64(1, unit)  # type: ignore[call-overload]
        if period is not None:
            period, cls, fault = _real(period)
            if cls is not None:
                kind = OptionTypeError if cls is TypeError else OptionError
                return {}, (kind, f"{{opt:periodic}} of {{dim:{ax}}}: the period {fault}")
        out[ax] = period
    return out, None


def _period_of(period: Any, step: Any, n: int, ax: int, xarray: bool) -> tuple[Any, Fault | None]:
    """For :func:`normalize_periodic`: the period of axis ``ax`` (``n`` points spaced by
    ``step``), or what is wrong. None given: n·|step| for a scalar step (left None for the
    xarray layer, ``xarray``, whose plan resolves it); for coordinates, the xarray layer's
    evenly spaced one gives n·step, else the period is required."""
    if n < 1:
        return period, (OptionError, f"{{opt:periodic}} {{dim:{ax}}} has no points")
    scalar = np.ndim(step) == 0 and not is_dask_collection(step)
    if period is None and not scalar and xarray:
        period, why = _even_period(step)
        if period is None:
            lazy = " to keep it lazy" * is_dask_collection(step)
            return period, (
                OptionError,
                f"{{opt:periodic}} {{dim:{ax}}} has {why}; give its period in "
                f"{{opt:periodic}}{lazy}",
            )
    elif period is None and not scalar:
        return period, (
            OptionError,
            f"{{dim:{ax}}} is periodic with coordinate spacing, so its period is required: "
            f"pass periodic={{{ax}: period}}",
        )
    elif period is None:
        period = None if xarray else abs(n * float(step))
    if period is not None and not xarray and not is_dask_collection(step):
        first, last = (0.0, (n - 1) * float(step)) if scalar else (step[0], step[-1])
        direction = np.sign(last - first) if n > 1 else np.sign(period)
        wrap = first + direction * abs(period) - last
        if wrap == 0 or (n > 1 and np.sign(wrap) != direction):
            return period, (
                OptionError,
                f"{{opt:periodic}}: period {period!r} of {{dim:{ax}}} is not larger than the "
                f"coordinate range {float(first)!r}..{float(last)!r}",
            )
    return period, None


def _even_period(x: Any) -> tuple[float | None, str]:
    """The period n·step of an evenly spaced coordinate, else None and why there is none."""
    if is_dask_collection(x):
        return None, "a dask coordinate"
    x = np.asarray(x)
    if x.size < 2:
        return None, f"{x.size} point(s), so no step"
    step = uniform_step(x)
    if step is None:
        return None, "a non-uniform coordinate, so its period is unknown"
    return abs(x.size * step), ""


def uniform_step(x: Any, dtype: Any = None) -> float | None:
    """The step of an evenly spaced NumPy coordinate, else None (also for dask, or fewer than
    two points): its steps equal up to the rounding of the coordinates in ``dtype``, the dtype
    they were stored in (default ``x``'s; at least float32's rounding). The one "evenly spaced"
    rule of the package: ``np.radians(np.arange(0, 360, 0.25))`` is evenly spaced, and so are
    float32 degrees made float64 radians when ``dtype`` is float32.

    Examples
    --------
    >>> step = uniform_step(np.radians(np.arange(0, 360, 0.25)))
    >>> bool(abs(step - np.radians(0.25)) < 1e-15)
    True
    >>> uniform_step(np.array([0.0, 1.0, 3.0])) is None
    True
    """
    if is_dask_collection(x) or np.shape(x)[0] < 2:
        return None
    dtype = np.asarray(x).dtype if dtype is None else dtype
    x = np.asarray(x, dtype=np.float64)
    dx = np.diff(x)
    if np.all(dx == dx[0]):
        return float(dx[0])
    h = (x[-1] - x[0]) / (x.shape[0] - 1)
    rounding = 8 * np.finfo(np.result_type(dtype, np.float32)).eps * np.max(np.abs(x))
    return float(h) if np.max(np.abs(dx - h)) <= rounding else None


def _axis_plan(axis: int, size: int, step: Any, period: Any) -> AxisPlan:
    """The plan of one axis whose ``period`` :func:`normalize_periodic` checked (None: not
    periodic)."""
    h = None if isinstance(step, float) else uniform_step(step)
    if period is None:
        return AxisPlan(axis, size, step if h is None else EvenCoords(h))
    if isinstance(step, float):
        if np.isclose(period, abs(size * step), rtol=1e-12, atol=0):
            return AxisPlan(axis, size, step, abs(size * step))
        # a period that does not match n*step makes the wrap-around step non-uniform
        step = step * np.arange(size, dtype=np.float64)
    if h is not None and np.isclose(abs(period), size * abs(h), rtol=1e-12, atol=0):
        return AxisPlan(axis, size, EvenCoords(h), abs(period))
    return AxisPlan(axis, size, step, abs(period))


def make_plan(
    shape: tuple[int, ...],
    dtype: Any,
    spacing: Any = None,
    dim: Any = None,
    edge_order: Any = 1,
    periodic: Any = None,
    accuracy: Any = 2,
    nan_policy: Any = "propagate",
    deriv: int = 1,
) -> Plan:
    """Validate every argument against ``shape`` and ``dtype``; return the per-axis plan.

    Examples
    --------
    >>> plan = make_plan((4, 5), "int32", spacing=[2.0, [0.0, 1, 3, 4, 7]], dim=[0, -1])
    >>> [(p.axis, p.uniform) for p in plan.axes], plan.dtype
    ([(0, True), (1, False)], dtype('float64'))
    """
    out_dtype = output_dtype(dtype)
    ndim = len(shape)
    axes = normalize_dims(dim, ndim, shape=shape)
    order = normalize_edge_order(edge_order, accuracy)
    numpy_only = out_dtype.kind == "m" and deriv == 1  # numpy.gradient's own time arithmetic
    accuracy = normalize_accuracy(accuracy, numpy_only=numpy_only and np.dtype(dtype))
    nan_policy = normalize_nan_policy(nan_policy, numpy_only=numpy_only and np.dtype(dtype))
    need = (order if accuracy == 2 else accuracy) + deriv
    steps = normalize_spacing(spacing, axes, shape)
    periods = normalize_periodic(periodic, axes, shape, steps)
    plans = []
    for ax, step in zip(axes, steps, strict=True):
        n = shape[ax]
        if ax not in periods and n < need:
            what = ("edge_order", order) if accuracy == 2 else ("accuracy", accuracy)
            raise OptionError(
                what[0],
                f"{{dim:{ax}}} has {n} points; {{opt:{what[0]}={what[1]}}} needs at least {need} "
                "along every differentiated dim",
            )
        plans.append(_axis_plan(ax, n, step, periods.get(ax)))
    return Plan(tuple(plans), order, out_dtype, accuracy, nan_policy, deriv)


def dim_alias(dim: Any, dims: Any) -> Any:
    """``dims`` is an alias of ``dim``, the word :func:`daskgrad.gradient` uses."""
    if dim is not None and dims is not None:
        raise OptionTypeError(
            "dims",
            f"give {{opt:dim}} or its alias {{opt:dims}}, not both "
            f"({{opt:dim={dim!r}}}, {{opt:dims={dims!r}}})",
        )
    return dims if dim is None else dim


def check_array_options(kind: str, geospatial: Any, options: dict[str, Any]) -> None:
    """Arrays (not DataArrays) take no ``geospatial=True`` and only the gradient's options."""
    if geospatial:
        raise TypeError(
            "geospatial=True needs xarray DataArrays whose latitude/longitude coordinates "
            "give the metric; got arrays"
        )
    allowed = {"spacing", "accuracy", "edge_order", "nan_policy", "periodic"}
    unknown = set(options) - allowed
    if unknown:
        raise unexpected_options(kind, unknown, allowed)


def check_flag(geospatial: Any) -> None:
    """``geospatial`` is a bool (a string or None would pass for True or False)."""
    if not isinstance(geospatial, bool | np.bool_):
        raise TypeError(f"geospatial must be True or False; got {geospatial!r}")


ARRAY_OPTIONS = {"spacing", "accuracy", "edge_order", "nan_policy", "periodic"}


def array_options(kind: str, geospatial: bool, options: dict[str, Any]) -> dict[str, Any]:
    if geospatial:
        raise TypeError(
            "geospatial=True needs xarray DataArrays whose latitude/longitude coordinates "
            "give the metric; got arrays"
        )
    unknown = set(options) - ARRAY_OPTIONS
    if unknown:
        raise unexpected_options(kind, unknown, ARRAY_OPTIONS)
    return dict(options)
