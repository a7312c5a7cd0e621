"""Kinematics with a vertical coordinate: baroclinic potential vorticity, Q-vectors, 3-D advection.

Each quantity is one call of :func:`daskgrad.core.derivatives.derive` (one task per chunk):
horizontal derivatives along ``dims = (x, y)`` and vertical ones along ``vertical_dim``, spaced
by its coordinate. The horizontal velocity-gradient components come from
:func:`daskgrad.core.metric.tensor_component` with the chunk's factors, so that the Q-vector's
tensor is that of the deformations; PV's ζ has the same terms (mx ∂v/∂X + cx u − my ∂u/∂Y −
cy v), regrouped with −g folded into the per-row factors and computed slab by slab in cache
(:func:`pv_row_factors`).

The vertical coordinate (pressure, height) is either one 1-D array along ``vertical_dim`` (the
derivative then uses its coordinates, any spacing, ascending or descending, as ``gradient``
does) or a field broadcastable to the data that varies by column; then the derivative along
the coordinate takes, at every point, the same stencil with the weights of that column's own
coordinates (:class:`daskgrad.core.field_stencil.AlongField`; MetPy's
``first_derivative`` with ``x=`` a field at accuracy 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from ..errors import OptionError
from .arrays import is_dask_collection, is_masked, is_scalar
from .derivatives import Derivatives, Formula, Request, derive
from .field_stencil import AlongField
from .latitude import GRAVITY as G
from .latitude import (
    OMEGA,
    broadcast_latitude,
    checked_latitude,
    checked_positive,
    compact,
    latitude_line,
)
from .masked import masked_run
from .metric import Factors, MetricModel, scaled, tensor_component
from .plan import coordinate_fault, normalize_dims, normalize_periodic, normalize_spacing

# J kg-1 K-1, MetPy's gas constant of dry air exactly (287.047 to its 3 decimals): R / Md, the
# molar gas constant over the molar mass of dry air; 287.047 itself is 1.7e-6 off MetPy's Q
RD = 8.314462618 / 28.96546e-3

_X, _Y, _Z = 0, 1, 2  # positions of x, y and the vertical in the dims given to derive

# per quantity: where the wind's (u, v) are among its inputs and whether its result is a vector
# (Q1, Q2): what the frame of the components changes on a projected grid
VECTORS: dict[str, tuple[tuple[int, int], bool]] = {
    "potential_vorticity_baroclinic": ((1, 2), False),
    "q_vector": ((0, 1), True),
    "advection": ((1, 2), False),  # with w: (scalar, u, v, w)
}


@dataclass(frozen=True)
class Vertical:
    """How the vertical derivative is taken: ``spacing`` for :func:`derive` (a 1-D coordinate
    or a float), and ``field`` the coordinate as a full-shape input when it varies by column
    (per-point stencils, :class:`AlongField`), else None; ``name`` the option it came from."""

    spacing: Any
    field: Any = None
    name: str = "vertical"

    def engine(
        self,
        horizontal: Mapping[tuple[int, int], Any] | None,
        index: int,
        kind: str,
        check: Callable[[np.ndarray], Any] | None = None,
    ) -> Callable[..., tuple[Any, ...]]:
        """:func:`given_horizontal`, along the field (input ``index``, each chunk passed to
        ``check`` first) when there is one."""
        along = None if self.field is None else AlongField(index, _Z, self.name, kind, check)
        return given_horizontal(horizontal, along)


def potential_vorticity_arrays(
    theta: Any,
    pressure: Any,
    u: Any,
    v: Any,
    dims: Sequence[int],
    vertical_dim: int,
    *,
    latitude: Any,
    spacing: Any = None,
    g: float = G,
    omega: float = OMEGA,
    accuracy: Any = 2,
    edge_order: Any = 1,
    nan_policy: Any = "propagate",
    periodic: Any = None,
    metric: MetricModel | None = None,
    horizontal_derivatives: Mapping[tuple[int, int], Any] | None = None,
    pressure_is_coordinate: bool = False,
) -> tuple[Any]:
    """MetPy's baroclinic potential vorticity −g[(f + ζ) ∂θ/∂p + ∂u/∂p ∂θ/∂y − ∂v/∂p ∂θ/∂x].

    Parameters
    ----------
    theta, u, v : NumPy or dask arrays of one shape: potential temperature, the wind.
    pressure : a 1-D array along ``vertical_dim``, or an array broadcastable to the data
        (pressure varying by column).
    dims : the axes (x, y).
    vertical_dim : the vertical axis; not one of ``dims``.
    latitude : radians, broadcastable to the data (the Coriolis parameter 2Ω sin φ).
    spacing : the two horizontal spacings, as for ``gradient`` (per coordinate unit with
        ``metric``).
    g, omega : gravity and the Earth's angular velocity.
    accuracy, edge_order, nan_policy, periodic, metric : as for :func:`derive`; ``periodic``
        names horizontal dims only (True: both).
    horizontal_derivatives : the derivatives along x and y given, keyed ``(input, 0 for x
        or 1 for y)``: per metre in the eastward/northward frame, a wind's with their metric
        terms (a grid :func:`derive` has no metric for: 2-D latitude/longitude); then only
        the vertical ones are taken here (:func:`given_horizontal`).
    pressure_is_coordinate : True when ``pressure`` is the data's coordinate along
        ``vertical_dim`` (xarray's): a fault of it is named as the other coordinates are (by
        the plan, in the caller's words); else a 1-D ``pressure`` that is not finite or not
        monotonic is an OptionError naming ``pressure``.

    Returns
    -------
    tuple of one array, the potential vorticity (in the units of θ, p, u and the spacings: K
    m2 kg-1 s-1 for SI input).

    Examples
    --------
    >>> p = np.array([1000.0, 900.0, 800.0])[:, None, None] * 100
    >>> theta = np.broadcast_to(300 - 0.0001 * p, (3, 4, 5))
    >>> wind = np.zeros((3, 4, 5))
    >>> (pv,) = potential_vorticity_arrays(
    ...     theta, p[:, 0, 0], wind, wind, (2, 1), 0, latitude=np.pi / 2, spacing=1e5
    ... )
    >>> float(np.round(pv[1, 2, 2] / (9.80665 * 2 * 7.292115e-5 * 1e-4), 12))
    1.0
    """
    data = _arrays([theta, u, v])
    axes = _axes("potential_vorticity_baroclinic", data[0].ndim, dims, vertical_dim)
    vert = vertical_coordinate(
        pressure,
        data[0],
        axes[_Z],
        "pressure",
        step=False,
        own=not pressure_is_coordinate,
        kind="potential_vorticity_baroclinic",
    )
    # the latitude, read last: a line along the axis it varies on, else a field
    lines, statics = _statics([("latitude", latitude, None)], data[0])
    # a dask pressure is checked positive as it computes, in the engine's task: the field
    # (per-point stencils) as the input it is, before its monotonic check; a 1-D coordinate
    # read as a line too, after the latitude, by the formula
    lazy = is_dask_collection(pressure)
    if lazy and vert.field is None:
        lines = [*lines, (axes[_Z], vert.spacing)]
    check = _positive_pv_pressure if lazy and vert.field is not None else None

    def run(arrays: list[Any]) -> tuple[Any, ...]:
        inputs = [*arrays] if vert.field is None else [*arrays, vert.field]
        requests: list[Request] = [(0, _X, 1), (0, _Y, 1), (0, _Z, 1)]
        requests += [(1, _Y, 1), (1, _Z, 1), (2, _X, 1), (2, _Z, 1)]
        line_p = lazy and vert.field is None
        formula = partial(_pv, g=g, two_omega=2 * omega, check_p=line_p)
        return vert.engine(horizontal_derivatives, 3, "potential_vorticity_baroclinic", check)(
            "potential_vorticity",
            [*inputs, *statics],
            requests,
            formula,
            1,
            axes,
            spacing=[*_horizontal_spacing(spacing, axes, data[0].shape), vert.spacing],
            accuracy=accuracy,
            edge_order=edge_order,
            nan_policy=nan_policy,
            periodic=_periodic(periodic, axes, data[0].ndim),
            metric=metric,
            lines=lines,
        )

    return _masked_or(run, data, nan_policy)


def q_vector_arrays(
    u: Any,
    v: Any,
    temperature: Any,
    pressure: Any,
    dims: Sequence[int],
    *,
    vertical_dim: int | None = None,
    static_stability: Any = 1,
    spacing: Any = None,
    rd: float = RD,
    accuracy: Any = 2,
    edge_order: Any = 1,
    nan_policy: Any = "propagate",
    periodic: Any = None,
    metric: MetricModel | None = None,
    horizontal_derivatives: Mapping[tuple[int, int], Any] | None = None,
) -> tuple[Any, Any]:
    """MetPy's Q-vector: Q1 = −Rd/(p σ) (∂u/∂x ∂T/∂x + ∂v/∂x ∂T/∂y),
    Q2 = −Rd/(p σ) (∂u/∂y ∂T/∂x + ∂v/∂y ∂T/∂y).

    Parameters
    ----------
    u, v, temperature : NumPy or dask arrays of one shape.
    pressure : a number (one level), a 1-D array along ``vertical_dim``, or an array
        broadcastable to the data.
    dims : the axes (x, y).
    vertical_dim : the axis a 1-D ``pressure`` runs along.
    static_stability : σ, a number or an array broadcastable to the data (1: GEMPAK's QVEC).
    spacing : the two horizontal spacings.
    rd : the gas constant of dry air.
    accuracy, edge_order, nan_policy, periodic, metric : as for :func:`derive`.
    horizontal_derivatives : see :func:`potential_vorticity_arrays`.

    Returns
    -------
    (Q1, Q2)

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> q1, q2 = q_vector_arrays(y, x, x, 500.0, (1, 0))
    >>> round(float(q1[1, 1]), 6), round(float(q2[1, 1]), 6)
    (-0.0, -0.574095)
    """
    data = _arrays([u, v, temperature])
    ndim = data[0].ndim
    axes = _axes("q_vector", ndim, dims, vertical_dim)
    p = _level_value(pressure, data[0], vertical_dim, "pressure")
    # a number or a 1-D pressure must be finite (a field's NaN gives NaN where it is): the
    # number here, the 1-D one (a line) as its chunks are read
    if p is None:
        checked_finite(pressure, "q_vector")
    line_p = p is not None and np.ndim(pressure) == 1
    sigma = _level_value(static_stability, data[0], vertical_dim, "static_stability")
    horizontal = axes[:2]
    # p and σ, read after the inputs (in that order): a line each where it varies along one
    # axis, else a field; numbers stay numbers
    given = [(n, a, vertical_dim) for n, a in (("pressure", p), ("sigma", sigma)) if a is not None]
    lines, statics = _statics(given, data[0])

    def run(arrays: list[Any]) -> tuple[Any, ...]:
        requests: list[Request] = [(j, a, 1) for j in range(3) for a in (_X, _Y)]
        formula = partial(
            _q_vector,
            rd=rd,
            p=pressure if p is None else None,
            sigma=static_stability if sigma is None else None,
            finite_p=line_p,
        )
        return given_horizontal(horizontal_derivatives)(
            "q_vector",
            [*arrays, *statics],
            requests,
            formula,
            2,
            horizontal,
            spacing=_horizontal_spacing(spacing, axes, data[0].shape),
            accuracy=accuracy,
            edge_order=edge_order,
            nan_policy=nan_policy,
            periodic=_periodic(periodic, horizontal, ndim),
            metric=metric,
            lines=lines,
        )

    return _masked_or(run, data, nan_policy)


def advection_arrays(
    scalar: Any,
    u: Any,
    v: Any,
    w: Any,
    dims: Sequence[int],
    vertical_dim: int,
    *,
    vertical: Any = None,
    spacing: Any = None,
    accuracy: Any = 2,
    edge_order: Any = 1,
    nan_policy: Any = "propagate",
    periodic: Any = None,
    metric: MetricModel | None = None,
    horizontal_derivatives: Mapping[tuple[int, int], Any] | None = None,
) -> tuple[Any]:
    """MetPy's advection with a vertical wind: −(u ∂s/∂x + v ∂s/∂y + w ∂s/∂z).

    Parameters
    ----------
    scalar, w : NumPy or dask arrays of one shape.
    u, v : arrays of that shape, or None (no term).
    dims : the axes (x, y).
    vertical_dim : the axis of z.
    vertical : z's spacing: None (1), a number, a 1-D coordinate along ``vertical_dim`` or an
        array broadcastable to the data (varying by column).
    spacing : the two horizontal spacings.
    accuracy, edge_order, nan_policy, periodic, metric : as for :func:`derive`.
    horizontal_derivatives : see :func:`potential_vorticity_arrays`.

    Returns
    -------
    tuple of one array.

    Examples
    --------
    >>> z = np.array([0.0, 100.0, 300.0, 600.0])
    >>> s = np.broadcast_to(2 * z[:, None, None], (4, 3, 3))
    >>> (adv,) = advection_arrays(s, None, None, np.ones((4, 3, 3)), (2, 1), 0, vertical=z)
    >>> adv[:, 1, 1].tolist()
    [-2.0, -2.0, -2.0, -2.0]
    """
    given = [a for a in (u, v) if a is not None]
    data = _arrays([scalar, w, *given])
    axes = _axes("advection", data[0].ndim, dims, vertical_dim)
    if vertical is None or is_scalar(vertical):
        vert = Vertical(1.0 if vertical is None else vertical)
    else:
        vert = vertical_coordinate(vertical, data[0], axes[_Z], "vertical", step=True)
    which = tuple(pos for pos, a in ((_X, u), (_Y, v)) if a is not None)

    def run(arrays: list[Any]) -> tuple[Any, ...]:
        inputs = [*arrays] if vert.field is None else [*arrays, vert.field]
        requests: list[Request] = [(0, pos, 1) for pos in (*which, _Z)]
        formula = partial(_advection, which=which)
        return vert.engine(horizontal_derivatives, len(arrays), "advection")(
            "advection",
            inputs,
            requests,
            formula,
            1,
            axes,
            spacing=[*_horizontal_spacing(spacing, axes, data[0].shape), vert.spacing],
            accuracy=accuracy,
            edge_order=edge_order,
            nan_policy=nan_policy,
            periodic=_periodic(periodic, axes, data[0].ndim),
            metric=metric,
        )

    return _masked_or(run, data, nan_policy)


def given_horizontal(
    horizontal: Mapping[tuple[int, int], Any] | None, along: AlongField | None = None
) -> Callable[..., tuple[Any, ...]]:
    """:func:`derive`, or with ``horizontal`` (the derivatives along x and y already taken,
    keyed ``(input, 0 or 1)``) a call of the same signature that takes only the vertical
    derivatives (one task per chunk along the vertical dim alone; none at all for a
    Q-vector, whose formula then runs pointwise) and hands the formula those with the given
    ones, without factors: what a grid of 2-D latitude/longitude gets, whose chain rule
    :func:`derive` has no metric for. ``along``: the vertical derivatives per unit of a
    coordinate field among the inputs (:class:`AlongField`, for dims position 2).

    Examples
    --------
    >>> z = np.array([0.0, 1.0, 3.0])
    >>> s = np.broadcast_to(z[:, None, None] ** 2 + z[:, None, None], (3, 2, 2))
    >>> flat = {(0, 0): np.zeros((3, 2, 2)), (0, 1): np.zeros((3, 2, 2))}
    >>> w = np.ones((3, 2, 2))
    >>> (adv,) = advection_arrays(
    ...     s, w, w, w, (2, 1), 0, vertical=z, edge_order=2, horizontal_derivatives=flat
    ... )
    >>> np.round(adv[:, 0, 0], 12).tolist()  # −∂(z² + z)/∂z: exact on a quadratic
    [-1.0, -3.0, -7.0]
    """
    if horizontal is None:
        return derive if along is None else partial(derive, along=along)
    return partial(_derive_given, dict(horizontal), along)


def _derive_given(
    horizontal: dict[tuple[int, int], Any],
    along: AlongField | None,
    name: str,
    inputs: Sequence[Any],
    requests: Sequence[Request],
    formula: Formula,
    nout: int,
    dims: Sequence[int],
    *,
    spacing: Sequence[Any],
    lines: Sequence[tuple[int, Any]] = (),
    metric: Any = None,
    periodic: Any = None,
    **stencil: Any,
) -> tuple[Any, ...]:
    missing = sorted({(j, a) for j, a, _ in requests if a != _Z} - set(horizontal))
    if missing:
        raise ValueError(f"{name}: the horizontal derivatives {missing} are not given")
    keys = list(horizontal)
    dtype = np.result_type(*[a.dtype for a in inputs], np.float16)
    # in the data's dtype (float32 kept), each behind an alias layer: with every input a task
    # object the engine inlines the inputs' reading tasks into its own and drops their
    # layers, which the horizontal derivatives' tasks still need (a missing dependency, or a
    # second read of each chunk); through the aliases it reads them by reference, once
    given = [_own_layer(_as_dtype(horizontal[k], dtype)) for k in keys]
    n = len(inputs)
    vertical = [(j, 0, k) for j, a, k in requests if a == _Z]

    def with_given(d: Derivatives, blocks: Sequence[Any], _: Any) -> Any:
        full: Derivatives = {(j, _Z, k): d[(j, 0, k)] for j, _, k in vertical}
        for (j, a), b in zip(keys, blocks[n : n + len(keys)], strict=True):
            full[(j, a, 1)] = np.array(b, dtype=dtype)  # the formula's own: it writes into them
        return formula(full, [*blocks[:n], *blocks[n + len(keys) :]], None)

    if vertical:
        return derive(
            name, [*inputs, *given], vertical, with_given, nout, (dims[_Z],),
            spacing=[spacing[_Z]], lines=lines,
            along=None if along is None else replace(along, position=0), **stencil,
        )  # fmt: skip
    return _pointwise(with_given, [*inputs, *given], lines, nout, dtype)


def _as_dtype(a: Any, dtype: np.dtype) -> Any:
    return a.astype(dtype, copy=False) if a.dtype != dtype else a


def _own_layer(a: Any) -> Any:
    if not is_dask_collection(a):
        return np.asarray(a)
    from .curvilinear import barrier

    return barrier(a)


def _pointwise(
    formula: Callable[..., Any],
    inputs: Sequence[Any],
    lines: Sequence[tuple[int, Any]],
    nout: int,
    dtype: np.dtype,
) -> tuple[Any, ...]:
    """``formula({}, blocks, None)`` chunk by chunk on ``inputs`` of one shape and the 1-D
    ``lines`` (along their axes, shaped to broadcast)."""
    like = inputs[0]
    ndim = like.ndim
    shaped = [
        (axis % ndim, v.reshape([-1 if k == axis % ndim else 1 for k in range(ndim)]))
        for axis, v in lines
    ]

    def block(*blocks: np.ndarray) -> tuple[np.ndarray, ...]:
        outs = formula({}, list(blocks), None)
        return tuple(np.array(np.broadcast_to(o, blocks[0].shape), dtype=dtype) for o in outs)

    if not any(is_dask_collection(a) for a in [*inputs, *(v for _, v in lines)]):
        return block(*inputs, *(np.asarray(v) for _, v in shaped))
    import dask.array as da

    chunks = next(a.chunks for a in inputs if is_dask_collection(a))
    arrays = [
        a.rechunk(chunks) if is_dask_collection(a) else da.from_array(a, chunks=chunks)
        for a in inputs
    ]
    for axis, v in shaped:
        c = tuple(chunks[k] if k == axis else (1,) for k in range(ndim))
        arrays.append(v.rechunk(c) if is_dask_collection(v) else da.from_array(v, chunks=c))
    stacked = da.map_blocks(
        _stack, block, *arrays, new_axis=0, chunks=((nout,), *chunks), dtype=dtype,
        meta=np.empty((0,) * (ndim + 1), dtype),
    )  # fmt: skip
    return tuple(stacked[k] for k in range(nout))


def _stack(block: Callable[..., tuple[np.ndarray, ...]], *arrays: np.ndarray) -> np.ndarray:
    return np.stack(block(*arrays))


# -- the formulas, on one chunk --------------------------------------------------------------


def _per_coordinate(d: Derivatives, j: int) -> np.ndarray:
    """∂input_j/∂z per unit of the vertical coordinate (a field's: :class:`AlongField`)."""
    return d[(j, _Z, 1)]


def _scalar_gradient(d: Derivatives, j: int, pos: int, f: Factors | None) -> np.ndarray:
    """∂s/∂x or ∂s/∂y per metre: no metric term beyond the spacing's scale."""
    raw = d[(j, pos, 1)]
    return raw if f is None else scaled(raw, f.mx if pos == _X else f.my)


#: Bytes of one operand per slab of :func:`_pv`: its nine operands (seven derivatives, u, v)
#: stay in a core's L2 cache (1 MiB here), where a pass over whole 8 MiB arrays per operation
#: costs a trip to memory each.
PV_SLAB_BYTES = 1 << 16


def pv_row_factors(
    f: Factors | None, sin_phi: Any, g: float, two_omega: float, dtype: np.dtype
) -> tuple[Any, Any, Any, Any, Any]:
    """PV's per-row factors with −g folded in, in the chunk's ``dtype``: ``(−g mx, −g my, −g
    cx or None, −g cy or None, −g 2Ω sin φ)``, each a number or an array shaped to broadcast
    to the chunk (a line along latitude on a latitude/longitude grid). None for a correction
    that vanishes (the formula skips it); Cartesian (``f`` None): −g, −g, None, None.

    Examples
    --------
    >>> pole = np.array([np.pi / 2])
    >>> gmx, gmy, gcx, gcy, gf = pv_row_factors(None, pole, 2.0, 0.5, np.dtype("f4"))
    >>> float(gmx), float(gmy), gcx, gcy, gf.tolist()
    (-2.0, -2.0, None, None, [-1.0])
    """
    neg = -g

    def fold(a: Any) -> Any:
        if np.ndim(a) == 0:
            return dtype.type(neg * float(a))
        return np.asarray(np.multiply(a, neg, dtype=np.float64), dtype=dtype)

    def correction(c: Any) -> Any:
        return fold(c) if np.size(c) > 1 or np.any(c != 0) else None

    gf = np.asarray(neg * two_omega * np.sin(np.asarray(sin_phi, dtype=np.float64)), dtype)
    if f is None:
        return fold(1.0), fold(1.0), None, None, gf
    return fold(f.mx), fold(f.my), correction(f.cx), correction(f.cy), gf


def _slabs(shape: tuple[int, ...], itemsize: int, target: int) -> list[tuple[Any, ...]]:
    """Index tuples of slabs of about ``target`` bytes (whole trailing rows) that tile an
    array of ``shape``, in memory order."""
    if not shape:
        return [()]
    j = len(shape) - 1
    step = 1
    for k in range(len(shape)):
        row = math.prod(shape[k + 1 :]) * itemsize
        if row <= target:
            j, step = k, max(1, target // max(row, 1))
            break
    return [
        (*lead, slice(s, s + step))
        for lead in np.ndindex(*shape[:j])
        for s in range(0, shape[j], step)
    ]


def _pv(
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    f: Factors | None,
    *,
    g: float,
    two_omega: float,
    check_p: bool = False,
    slab_bytes: int = PV_SLAB_BYTES,
) -> tuple[np.ndarray]:
    """−g[(f + ζ) ∂θ/∂p + ∂u/∂p ∂θ/∂y − ∂v/∂p ∂θ/∂x] with ζ = mx ∂v/∂X + cx u − my ∂u/∂Y −
    cy v, as

        (−g mx)(Vx Tp − Vp Tx) + (−g my)(Up Ty − Uy Tp) + Tp (−g f + (−g cx) u − (−g cy) v)

    with −g folded into the row factors (:func:`pv_row_factors`), slab by slab of
    ``slab_bytes`` per operand: every operation reads its operands from the cache, and the
    result is written into ∂v/∂X's buffer (the formula owns the derivatives): no array of
    the chunk's size is allocated."""
    u, v, lat = blocks[1], blocks[2], blocks[-1]
    if check_p:  # a dask 1-D pressure, read last as a line: positive and finite
        kind = "potential_vorticity_baroclinic"
        checked_finite(checked_positive(compact(blocks[-1]), kind), kind)
        lat = blocks[-2]
    phi = checked_latitude(compact(lat), "potential_vorticity_baroclinic")
    vx, uy = d[(2, _X, 1)], d[(1, _Y, 1)]
    tx, ty = d[(0, _X, 1)], d[(0, _Y, 1)]
    tz, uz, vz = d[(0, _Z, 1)], d[(1, _Z, 1)], d[(2, _Z, 1)]
    dtype = vx.dtype
    shape = vx.shape
    gmx, gmy, gcx, gcy, gf = pv_row_factors(f, phi, g, two_omega, dtype)
    # each a view of the chunk's shape (a number or a line broadcast), sliced like the data
    gmx, gmy, gf, u, v = (np.broadcast_to(a, shape) for a in (gmx, gmy, gf, u, v))
    gcx, gcy = (None if a is None else np.broadcast_to(a, shape) for a in (gcx, gcy))
    mul, sub, add = np.multiply, np.subtract, np.add
    for at in _slabs(shape, dtype.itemsize, slab_bytes):
        vx_, uy_, tx_, ty_ = vx[at], uy[at], tx[at], ty[at]
        tp, up, vp = tz[at], uz[at], vz[at]
        mul(vx_, tp, out=vx_)  # (−g mx)(Vx Tp − Vp Tx)
        mul(tx_, vp, out=tx_)
        sub(vx_, tx_, out=vx_)
        mul(vx_, gmx[at], out=vx_, casting="unsafe")
        mul(ty_, up, out=ty_)  # (−g my)(Up Ty − Uy Tp)
        mul(uy_, tp, out=uy_)
        sub(ty_, uy_, out=ty_)
        mul(ty_, gmy[at], out=ty_, casting="unsafe")
        add(vx_, ty_, out=vx_)
        if gcx is None and gcy is None:  # Tp (−g f [+ (−g cx) u] [− (−g cy) v])
            mul(tp, gf[at], out=tx_, casting="unsafe")
        else:
            if gcx is None:
                tx_[...] = gf[at]
            else:
                mul(u[at], gcx[at], out=tx_, casting="unsafe")
                add(tx_, gf[at], out=tx_, casting="unsafe")
            if gcy is not None:
                mul(v[at], gcy[at], out=uy_, casting="unsafe")
                sub(tx_, uy_, out=tx_)
            mul(tx_, tp, out=tx_)
        add(vx_, tx_, out=vx_)
    return (vx,)


def _positive_pv_pressure(block: np.ndarray) -> Any:
    """A chunk of a dask pressure field, checked positive (before its monotonic check)."""
    return checked_positive(compact(block), "potential_vorticity_baroclinic")


def _q_vector(
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    f: Factors | None,
    *,
    rd: float,
    p: Any,
    sigma: Any,
    finite_p: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    u, v = blocks[0], blocks[1]
    dudx = tensor_component("du/dx", d[(0, _X, 1)], u, v, f)
    dudy = tensor_component("du/dy", d[(0, _Y, 1)], u, v, f)
    dvdx = tensor_component("dv/dx", d[(1, _X, 1)], u, v, f)
    dvdy = tensor_component("dv/dy", d[(1, _Y, 1)], u, v, f)
    dtdx, dtdy = _scalar_gradient(d, 2, _X, f), _scalar_gradient(d, 2, _Y, f)
    extra = iter(blocks[3:])
    p_block = p if p is not None else checked_positive(compact(next(extra)), "q_vector")
    if finite_p:
        checked_finite(p_block, "q_vector")
    sigma_block = sigma if sigma is not None else compact(next(extra))
    factor = np.asarray(-rd / (p_block * sigma_block), dtype=dudx.dtype)
    q1 = np.multiply(dudx, dtdx, out=dudx)
    q1 += np.multiply(dvdx, dtdy, out=dvdx)
    q2 = np.multiply(dudy, dtdx, out=dudy)
    q2 += np.multiply(dvdy, dtdy, out=dvdy)
    q1 *= factor
    q2 *= factor
    return q1, q2


def _advection(
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    f: Factors | None,
    *,
    which: tuple[int, ...],
) -> tuple[np.ndarray]:
    w = blocks[1]
    out = _per_coordinate(d, 0)
    np.multiply(out, w, out=out)
    for k, pos in enumerate(which):
        grad = _scalar_gradient(d, 0, pos, f)
        out += np.multiply(grad, blocks[2 + k], out=grad)
    return (np.negative(out, out=out),)


# -- arguments -------------------------------------------------------------------------------


def checked_finite(values: Any, kind: str, name: str = "pressure") -> Any:
    """``values`` (a number, or a chunk of a 1-D pressure), refused with a one-line
    ValueError naming ``name`` when any is NaN or infinite.

    Examples
    --------
    >>> checked_finite(np.nan, "q_vector")
    Traceback (most recent call last):
    ...
    ValueError: q_vector: pressure must be finite; it holds nan
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(f"{kind}: {name} must be finite; it holds {bad}")
    return values


def _arrays(arrays: Sequence[Any]) -> list[Any]:
    return [a if is_dask_collection(a) else np.asanyarray(a) for a in arrays]


def _axes(
    kind: str, ndim: int, dims: Sequence[int], vertical_dim: int | None = None
) -> tuple[int, ...]:
    """(x, y[, vertical]) as non-negative axes (x, y checked by the one check of ``dim``,
    core.plan's); the vertical one must not be horizontal."""
    out = list(normalize_dims(dims, ndim, kind=kind))
    if vertical_dim is not None:
        z = _axis(vertical_dim, ndim, "vertical_dim")
        if z in out:
            raise ValueError(
                f"vertical_dim={vertical_dim!r} is also one of the horizontal dims {tuple(dims)}; "
                "the vertical dim cannot be differentiated horizontally"
            )
        out.append(z)
    return tuple(out)


def _axis(a: Any, ndim: int, name: str) -> int:
    if isinstance(a, bool) or not isinstance(a, int | np.integer) or not -ndim <= a < ndim:
        raise ValueError(f"{name}: {a!r} is not an axis of the {ndim}-dimensional input")
    return int(a) % ndim


def _horizontal_spacing(spacing: Any, axes: Sequence[int], shape: tuple[int, ...]) -> list[Any]:
    """The spacings of the horizontal dims (x, y): one check of ``spacing``, core.plan's."""
    return list(normalize_spacing(spacing, tuple(axes[:2]), tuple(shape)))


def _periodic(periodic: Any, axes: tuple[int, ...], ndim: int) -> Any:
    """``periodic`` for the horizontal dims only: True means both; the vertical never is
    (refused by the one check of ``periodic``, core.plan)."""
    vertical = axes[_Z] if len(axes) > 2 else None
    return normalize_periodic(periodic, axes[:2], (0,) * ndim, vertical=vertical) or None


def vertical_coordinate(
    coord: Any, like: Any, axis: int, name: str, *, step: bool, own: bool = False, kind: str = ""
) -> Vertical:
    """``coord`` as the vertical spacing of ``like`` along ``axis``: a 1-D array along it as
    it is; an array broadcastable to ``like`` that varies along the axis only as its 1-D
    coordinate (NumPy); any other as a field (per-point stencils), in ``like``'s float dtype.
    ``own``: ``coord`` is an argument of its own, option ``name`` (PV's ``pressure``), whose
    1-D coordinate is checked here and named so; else it is one of the spacings (advection's
    ``spacing[2]``, a DataArray's coordinate), checked by the plan in those words; ``kind``
    (the quantity) a dask one's is checked positive first, as NumPy's is before the call."""
    if is_scalar(coord):
        if step:
            return Vertical(coord)
        raise ValueError(
            f"{name} is a single value; a vertical derivative needs one {name} per level "
            f"along vertical_dim {axis}"
        )
    if not is_dask_collection(coord):
        coord = np.asarray(coord)
    if coord.ndim == 1:
        if coord.shape[0] != like.shape[axis]:
            raise ValueError(
                f"{name} has {coord.shape[0]} values but vertical_dim {axis} has "
                f"{like.shape[axis]} levels"
            )
        return Vertical(_named_coordinate(coord, name, kind) if own else coord)
    shape = _broadcast_shape(coord, like, name)
    if shape[axis] != like.shape[axis]:
        raise ValueError(
            f"{name} has shape {tuple(coord.shape)}: it does not vary along vertical_dim {axis}"
        )
    if all(n == 1 for k, n in enumerate(shape) if k != axis):
        # the same in every column: the coordinate
        column = coord.reshape(-1)
        return Vertical(_named_coordinate(column, name, kind) if own else column)
    column = _same_in_every_column(coord, shape, axis)
    if column is not None:
        return Vertical(_named_coordinate(column, name, kind) if own else column)
    return Vertical(1.0, _field(coord, like, None, name), name)


def _named_coordinate(coord: Any, name: str, kind: str = "") -> Any:
    """``coord``, a 1-D vertical coordinate, checked as a spacing coordinate is (``core.plan``'s
    ``coordinate_fault``) but named as the caller's option ``name`` (``pressure``): it reaches
    the plan as one spacing among the horizontal ones, which would be named by its position
    there (``spacing[2]``). A dask coordinate is not computed to be checked: it is checked as
    it computes, whole (one task: a column of levels), before the plan's check of its chunks
    could name it by its position; with ``kind`` (the quantity) checked positive first, as
    the callers check a NumPy pressure before this."""
    if coord.dtype.kind not in "iuf":
        return coord  # the plan's check words a wrong dtype
    if is_dask_collection(coord):
        meta = np.empty((0,), dtype=coord.dtype)
        whole = coord.rechunk(-1)
        return whole.map_blocks(_checked_column, name, kind, dtype=coord.dtype, meta=meta)
    return _checked_column(coord, name)


def _checked_column(coord: np.ndarray, name: str, kind: str = "") -> np.ndarray:
    """``coord``, a whole 1-D vertical coordinate, or an OptionError naming ``name`` with
    the one check of a coordinate (``core.plan.coordinate_fault``); with ``kind``, a
    ValueError first unless positive (``checked_positive``)."""
    if kind:
        checked_positive(compact(coord), kind, name)
    if fault := coordinate_fault(np.asarray(coord).astype(np.float64)):
        raise OptionError(name, f"{{opt:{name}}} {fault}")
    return coord


def _same_in_every_column(coord: Any, shape: tuple[int, ...], axis: int) -> Any:
    """The 1-D column of a NumPy ``coord`` (broadcastable, of ``shape``) when every column
    along ``axis`` is that one exactly (a field like ``p[:, None, None] * ones``), else None:
    then the coordinate-spaced derivative applies, as with the 1-D coordinate. Dask fields are
    not inspected (that would compute them): they take the per-point stencils."""
    if is_dask_collection(coord):
        return None
    field = np.asarray(coord).reshape(shape)
    column = field[tuple(slice(None) if k == axis else 0 for k in range(field.ndim))]
    here = [1] * field.ndim
    here[axis] = -1
    if np.array_equal(field, np.broadcast_to(column.reshape(here), field.shape)):
        return column
    return None


def _broadcast_shape(a: Any, like: Any, name: str) -> tuple[int, ...]:
    """The shape of ``a`` with leading 1s to ``like``'s dims, checked broadcastable."""
    if a.ndim > like.ndim:
        raise ValueError(f"{name} has {a.ndim} dims but the data has {like.ndim}")
    shape: tuple[int, ...] = (1,) * (like.ndim - a.ndim) + tuple(a.shape)
    for n, m in zip(shape, like.shape, strict=True):
        if n not in (1, m):
            raise ValueError(
                f"{name} has shape {tuple(a.shape)}, which does not broadcast to the data's "
                f"{tuple(like.shape)}"
            )
    return shape


def _level_value(value: Any, like: Any, vertical_dim: int | None, name: str) -> Any:
    """None for a number (the formula takes it as it is); else ``value`` shaped to broadcast
    to ``like`` (a 1-D array runs along ``vertical_dim``), checked."""
    if is_scalar(value):
        return None
    value = value if is_dask_collection(value) else np.asarray(value)
    if value.ndim == 1 and like.ndim > 1:
        if vertical_dim is None:
            raise ValueError(
                f"{name} is 1-D ({value.shape[0]} values): give vertical_dim, the axis it runs "
                "along, or an array broadcastable to the data"
            )
        if value.shape[0] != like.shape[vertical_dim]:
            raise ValueError(
                f"{name} has {value.shape[0]} values but dim {vertical_dim} has "
                f"{like.shape[vertical_dim]}"
            )
        return value.reshape([-1 if k == vertical_dim else 1 for k in range(like.ndim)])
    _broadcast_shape(value, like, name)
    return value


def _statics(
    given: Sequence[tuple[str, Any, Any]], like: Any
) -> tuple[list[tuple[int, Any]], list[Any]]:
    """The values ``(name, value, _)`` a formula reads but does not differentiate, in order
    after its inputs: as lines of :func:`derive` (no task or ghost planes per chunk) when each
    varies along one axis at most, else all as fields broadcast to ``like``. Returns
    ``(lines, fields)``, one of them empty."""
    dtype = like.dtype if like.dtype.kind == "f" else np.dtype(np.float64)
    for name, value, _ in given:
        if value is None:
            raise ValueError(f"{name} is required")
    lines = [latitude_line(value, like, dtype, name) for name, value, _ in given]
    if all(line is not None for line in lines):
        return [line for line in lines if line is not None], []
    return [], [_field(value, like, None, name) for name, value, _ in given]


def _field(value: Any, like: Any, axis: int | None, name: str) -> Any:
    """``value`` broadcast to ``like``'s shape (a 1-D one along ``axis``), lazily and chunked
    like ``like`` when it is dask, in ``like``'s float dtype (float32 data stays float32)."""
    if value is None:
        raise ValueError(f"{name} is required")
    dtype = like.dtype if like.dtype.kind == "f" else np.dtype(np.float64)
    if is_scalar(value):
        value = np.asarray(value)
    if axis is not None:
        if value.shape[0] != like.shape[axis]:
            raise ValueError(
                f"{name} has {value.shape[0]} values but dim {axis} has {like.shape[axis]}"
            )
        value = value.reshape([-1 if k == axis else 1 for k in range(like.ndim)])
    shape = _broadcast_shape(value, like, name)
    value = value.reshape(shape).astype(dtype)
    if is_dask_collection(like) or is_dask_collection(value):
        import dask.array as da

        small = value if is_dask_collection(value) else da.from_array(value, chunks=-1)
        if not is_dask_collection(like):
            return da.broadcast_to(small, like.shape)
        # along the dims it has, chunked as the data, size-1 dims broadcast; a task object per
        # chunk, so that the engine reads it in the same task as the data's (a 2-D latitude)
        return broadcast_latitude(small, like, dtype)
    return np.broadcast_to(value, like.shape)


def _masked_or(
    run: Callable[[list[Any]], tuple[Any, ...]], data: list[Any], nan_policy: Any
) -> tuple[Any, ...]:
    if any(is_masked(a) for a in data):
        result: tuple[Any, ...] = masked_run(run, data, nan_policy)
        return result
    return run(data)
