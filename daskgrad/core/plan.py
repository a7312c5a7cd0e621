"""Turn numpy/torch-style arguments into one validated plan per axis; all messages live here."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import OptionError, OptionTypeError
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


def is_dask_collection(x: Any) -> bool:
    return hasattr(x, "__dask_graph__") and callable(x.__dask_graph__)


def is_masked(x: Any) -> bool:
    """Whether ``x`` is a masked array, or a dask array of masked chunks."""
    return isinstance(getattr(x, "_meta", x), np.ma.MaskedArray)


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


def normalize_dims(dim: Any, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    dims = [dim] if _is_integer(dim) or isinstance(dim, str) else dim
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
        raise ValueError(f"dim has repeated entries: {tuple(dims)!r}")
    return tuple(out)


def operator_dims(kind: str, dims: Any, ndim: int) -> Any:
    """The dims of the operator ``kind`` on arrays: every dim (None) or at least one for a
    Laplacian, else two, x then y (None: the last two, ``(-1, -2)``). Each dim itself is
    checked by :func:`normalize_dims` when the plan is made.

    Examples
    --------
    >>> operator_dims("laplacian", 1, 2), operator_dims("divergence", None, 3)
    ((1,), (-1, -2))
    >>> operator_dims("vorticity", (0,), 2)
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: vorticity needs dim=(x, y), two dims; got dim=(0,)
    """
    if kind == "laplacian":
        dims = tuple(range(ndim)) if dims is None else dims
        dims = (dims,) if np.ndim(dims) == 0 else tuple(dims)
        if not dims:
            raise OptionError("dim", f"laplacian needs at least one dim; got {{opt:dim={dims!r}}}")
        return dims
    dims = (-1, -2) if dims is None else dims
    if np.ndim(dims) != 1 or len(dims) != 2:
        raise OptionError(
            "dim", f"{kind} needs {{opt:dim=(x, y)}}, two dims; got {{opt:dim={dims!r}}}"
        )
    return dims


def normalize_edge_order(edge_order: Any, accuracy: Any = 2) -> int:
    """``edge_order`` (1 or 2), checked with ``accuracy`` (see :func:`normalize_accuracy`):
    it applies to accuracy 2 only, where the edges are numpy.gradient's."""
    ok = not isinstance(edge_order, bool) and isinstance(edge_order, numbers.Real)
    if not ok or edge_order not in EDGE_ORDERS:
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


def normalize_accuracy(accuracy: Any, edge_order: Any = None) -> int:
    """``accuracy``, one of ``ACCURACIES``; with ``edge_order`` given, the two checked
    together (:func:`normalize_edge_order`)."""
    allowed = ", ".join(map(str, ACCURACIES))
    if not _is_integer(accuracy):
        raise OptionTypeError(
            "accuracy", f"{{opt:accuracy}} must be one of the ints {allowed}; got {accuracy!r}"
        )
    if accuracy not in ACCURACIES:
        raise OptionError(
            "accuracy", f"{{opt:accuracy}} must be one of {allowed}; got {accuracy!r}"
        )
    if edge_order is not None:
        normalize_edge_order(edge_order, accuracy)
    return int(accuracy)


def normalize_nan_policy(nan_policy: Any) -> str:
    allowed = " or ".join(map(repr, NAN_POLICIES))
    message = f"{{opt:nan_policy}} must be {allowed}; got {nan_policy!r}"
    if not isinstance(nan_policy, str):
        raise OptionTypeError("nan_policy", message)
    if nan_policy not in NAN_POLICIES:
        raise OptionError("nan_policy", message)
    return nan_policy


# numpy's time units of a fixed length (not Y or M), as ``datetime_unit=`` and --datetime-unit
DATETIME_UNITS = ("W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")


def normalize_datetime_unit(datetime_unit: Any, xarray: bool = True) -> str | None:
    """``datetime_unit``: None or one of ``DATETIME_UNITS``; None only when the input is no
    xarray object (``xarray`` False: its arrays have no time coordinates).

    Examples
    --------
    >>> normalize_datetime_unit("h")
    'h'
    >>> normalize_datetime_unit("Y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: datetime_unit must be one of W, D, h, ..., as; got 'Y'
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
    return datetime_unit


def check_datetime_span(datetime_unit: str, span_ns: int, what: str) -> None:
    """Refuse a ``datetime_unit`` too fine for a time span of ``span_ns`` nanoseconds: NumPy
    converts datetime64/timedelta64 in 64 bits and wraps without a word (a month in as).

    >>> check_datetime_span("s", 86_400 * 10**9, "coordinate 'time'")
    >>> check_datetime_span("as", 86_400 * 10**9, "coordinate 'time'")
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: datetime_unit='as' cannot hold the span of coordinate ...
    """
    per_ns = np.timedelta64(1, "ns") / np.timedelta64(1, datetime_unit)  # type: ignore[call-overload]
    if span_ns * float(per_ns) >= 2.0**63:
        raise OptionError(
            "datetime_unit",
            f"{{opt:datetime_unit}}={datetime_unit!r} cannot hold the span of {what} "
            f"({span_ns / 8.64e13:.6g} days) in NumPy's 64-bit timedelta; use a coarser unit",
        )


def _is_integer(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_scalar(x: Any) -> bool:
    return isinstance(x, numbers.Number) or (
        hasattr(x, "ndim") and hasattr(x, "dtype") and x.ndim == 0 and not is_dask_collection(x)
    )


def _scalar_step(h: Any, where: str) -> float:
    if isinstance(h, bool | str | bytes) or np.iscomplexobj(h):
        raise TypeError(f"{where} must be a real number; got {h!r}")
    try:
        step = h if isinstance(h, EvenCoords) else float(h)  # an even coordinate's step stays one
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a real number; got {h!r}") from None
    if step == 0 or not np.isfinite(step):
        raise ValueError(f"{where} must be finite and non-zero; got {step!r}")
    return step


def _coordinate(x: Any, size: int, index: int, axis: int) -> Any:
    """A 1-D coordinate as float64; a NumPy one checked to be finite and strictly monotonic
    (increasing or decreasing, as numpy.gradient allows: a repeat or a turn gives inf or
    meaningless differences). A dask one is checked as it computes (see core.graph)."""
    where = f"spacing[{index}] (dim {axis})"
    field = f"{{spacing:{index}:{axis}}}"  # in the caller's words (see errors.Wording)
    if not is_dask_collection(x):
        x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"{where} must be a scalar or a 1-D coordinate array; got {x.ndim} dims")
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{where} must hold real numbers; got dtype {x.dtype}")
    if x.shape[0] != size:
        raise ValueError(
            f"{where} has {x.shape[0]} coordinates but the dim it spaces has {size} points"
        )
    if is_dask_collection(x):
        return x.astype(np.float64)
    x = x.astype(np.float64)
    if size > 1:
        dx = np.diff(x)
        if not np.all(np.isfinite(x)):
            raise OptionError("spacing", f"{field} holds non-finite coordinates")
        if np.any(dx == 0):
            i = int(np.flatnonzero(dx == 0)[0])
            raise OptionError(
                "spacing", f"{field} repeats the value {float(x[i])!r} at positions {i} and {i + 1}"
            )
        turns = np.flatnonzero(np.sign(dx) != np.sign(dx[0]))
        if turns.size:
            i = int(turns[0])
            way = "rises" if dx[0] > 0 else "falls"
            raise OptionError(
                "spacing",
                f"{field} is not monotonic: it {way} from position 0, then goes from "
                f"{float(x[i])!r} to {float(x[i + 1])!r} at positions {i} and {i + 1}; sort the "
                "data along it first",
            )
    return x


def normalize_spacing(spacing: Any, axes: tuple[int, ...], shape: tuple[int, ...]) -> list[Any]:
    k = len(axes)
    if spacing is None:
        return [1.0] * k
    if is_scalar(spacing):
        return [_scalar_step(spacing, "spacing")] * k
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
    out = []
    for i, (h, ax) in enumerate(zip(spacing, axes, strict=True)):
        if is_scalar(h):
            out.append(_scalar_step(h, f"spacing[{i}] (dim {ax})"))
        else:
            out.append(_coordinate(h, shape[ax], i, ax))
    return out


def normalize_periodic(periodic: Any, axes: tuple[int, ...], ndim: int) -> dict[int, Any]:
    """Return {axis: period or None}; None means "derive the period from uniform spacing"."""
    if periodic is None or periodic is False:
        return {}
    if periodic is True:
        return dict.fromkeys(axes)
    if isinstance(periodic, Mapping):
        items = list(periodic.items())
    elif _is_integer(periodic):
        items = [(periodic, None)]
    elif isinstance(periodic, Sequence) and not isinstance(periodic, str):
        items = [(p, None) for p in periodic]
    else:
        raise OptionTypeError(
            "periodic",
            "{opt:periodic} must be None, True, an int, a sequence of ints or a mapping "
            f"from dim to period; got {periodic!r}",
        )
    out: dict[int, Any] = {}
    given: dict[int, Any] = {}
    for d, period in items:
        if not _is_integer(d):
            raise OptionTypeError("periodic", f"{{opt:periodic}} dims must be ints; got {d!r}")
        if not -ndim <= d < ndim:
            raise AxisError(f"periodic dim {d} is out of range for an input with {ndim} dims")
        if d % ndim in given:
            raise OptionError(
                "periodic",
                f"{{opt:periodic}} names {{dim:{d % ndim}}} twice, as {given[d % ndim]!r} and "
                f"{d!r}; give each dim once",
            )
        given[d % ndim] = d
        d = d % ndim
        if d not in axes:
            raise OptionError(
                "periodic",
                f"{{opt:periodic}} {{dim:{d}}} is not one of the differentiated dims {axes}",
            )
        if period is not None:
            try:
                period = _scalar_step(period, "the period")
            except (TypeError, ValueError) as e:
                kind = OptionTypeError if isinstance(e, TypeError) else OptionError
                raise kind("periodic", f"{{opt:periodic}} of {{dim:{d}}}: {e}") from None
        out[d] = period
    return out


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


def _axis_plan(axis: int, size: int, step: Any, periodic: bool, period: Any) -> AxisPlan:
    h = None if isinstance(step, float) else uniform_step(step)
    if not periodic:
        return AxisPlan(axis, size, step if h is None else EvenCoords(h))
    if isinstance(step, float):
        if period is None or np.isclose(period, abs(size * step), rtol=1e-12, atol=0):
            return AxisPlan(axis, size, step, abs(size * step))
        # a period that does not match n*step makes the wrap-around step non-uniform
        step = step * np.arange(size, dtype=np.float64)
    if period is None:
        raise OptionError(
            "periodic",
            f"{{dim:{axis}}} is periodic with coordinate spacing, so its period is required: "
            f"pass periodic={{{axis}: period}}",
        )
    if not is_dask_collection(step) and size > 0:
        direction = np.sign(step[-1] - step[0]) if size > 1 else np.sign(period)
        wrap = step[0] + direction * abs(period) - step[-1]
        if wrap == 0 or (size > 1 and np.sign(wrap) != direction):
            raise OptionError(
                "periodic",
                f"{{opt:periodic}}: period {period!r} of {{dim:{axis}}} is not larger than the "
                "coordinate range "
                f"{float(step[0])!r}..{float(step[-1])!r}",
            )
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
    axes = normalize_dims(dim, ndim)
    for ax in axes:
        if np.isnan(shape[ax]):
            raise ValueError(
                f"dim {ax} has unknown chunk sizes (NaN, as after boolean indexing) and is "
                "differentiated; call .compute_chunk_sizes() on the dask array first"
            )
    order = normalize_edge_order(edge_order, accuracy)
    accuracy = normalize_accuracy(accuracy)
    nan_policy = normalize_nan_policy(nan_policy)
    if out_dtype.kind == "m" and deriv == 1 and (accuracy, nan_policy) != (2, "propagate"):
        raise OptionTypeError(
            "accuracy" if accuracy != 2 else "nan_policy",
            f"{np.dtype(dtype)} input is differentiated with numpy.gradient's own arithmetic, "
            "which has {opt:accuracy=2} and {opt:nan_policy='propagate'} only; convert it to "
            "float for higher orders or {opt:nan_policy='omit'}",
        )
    need = (order if accuracy == 2 else accuracy) + deriv
    steps = normalize_spacing(spacing, axes, shape)
    periods = normalize_periodic(periodic, axes, ndim)
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
        if ax in periods and n < 1:
            raise ValueError(f"periodic dim {ax} has no points")
        plans.append(_axis_plan(ax, n, step, ax in periods, periods.get(ax)))
    return Plan(tuple(plans), order, out_dtype, accuracy, nan_policy, deriv)
