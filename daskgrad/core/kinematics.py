"""Kinematics on arrays: deformations, absolute vorticity, advection, frontogenesis and the
geostrophic wind as formulas on the engine :func:`daskgrad.core.derivatives.derive`.

Every quantity of a wind is a combination of the one velocity-gradient tensor
(:func:`daskgrad.core.metric.tensor_component`), so all of them agree with divergence and
vorticity by construction; a scalar's gradient has no metric term beyond per-metre spacing.
The Coriolis parameter needs the latitude of each point: it comes as one more input array
(radians, broadcast lazily to the data and chunked like it), of which no derivative is taken.
Constants are MetPy's; callers express them in the units of their data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .arrays import is_dask_collection, is_masked
from .derivatives import Derivatives, Formula, Request, derive, joined
from .latitude import GRAVITY, OMEGA, broadcast_latitude, checked_latitude, compact, latitude_line
from .masked import join_masked, split_masked
from .metric import Factors, LatLonMetric, scaled, tensor_component
from .plan import normalize_dims, normalize_nan_policy, output_dtype
from .stencil import EvenCoords

__all__ = [
    "DEFORMATIONS",
    "Call",
    "KINDS",
    "coriolis_array",
    "deformations_shared",
    "formula_arrays",
    "kinematic_arrays",
    "scalar_component",
]


def scalar_component(which: str, raw: np.ndarray, f: Factors | None) -> np.ndarray:
    """∂s/∂x ("x") or ∂s/∂y ("y") per metre from the raw derivative per coordinate unit,
    which it overwrites (a scalar has no metric term beyond the scale).

    Examples
    --------
    >>> f = Factors(mx=2.0, my=3.0, cx=0.5, cy=0.0, lx=0.0, ly=0.0)
    >>> float(scalar_component("y", np.array(1.0), f))
    3.0
    """
    if f is None:
        return raw
    return scaled(raw, f.mx if which == "x" else f.my)


def _tensor(
    d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None, u: int, v: int
) -> tuple[Any, ...]:
    """The four components of the velocity-gradient tensor of inputs ``u`` and ``v``."""
    return tuple(
        tensor_component(which, d[key], blocks[u], blocks[v], f)
        for which, key in (
            ("du/dx", (u, 0, 1)),
            ("du/dy", (u, 1, 1)),
            ("dv/dx", (v, 0, 1)),
            ("dv/dy", (v, 1, 1)),
        )
    )


def _shearing(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    c = tensor_component("dv/dx", d[(1, 0, 1)], blocks[0], blocks[1], f)
    return (np.add(c, tensor_component("du/dy", d[(0, 1, 1)], blocks[0], blocks[1], f), out=c),)


def _stretching(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    a = tensor_component("du/dx", d[(0, 0, 1)], blocks[0], blocks[1], f)
    return (
        np.subtract(a, tensor_component("dv/dy", d[(1, 1, 1)], blocks[0], blocks[1], f), out=a),
    )


def _total(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    a, b, c, e = _tensor(d, blocks, f, 0, 1)
    shear, stretch = np.add(c, b, out=c), np.subtract(a, e, out=a)
    np.multiply(shear, shear, out=shear)
    np.add(shear, np.multiply(stretch, stretch, out=stretch), out=shear)
    return (np.sqrt(shear, out=shear),)


def _deformations(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    """Shearing, stretching and total deformation of one tensor (a task for the three)."""
    a, b, c, e = _tensor(d, blocks, f, 0, 1)
    shear, stretch = np.add(c, b, out=c), np.subtract(a, e, out=a)
    total = np.multiply(shear, shear, out=b)
    np.add(total, np.multiply(stretch, stretch, out=e), out=total)
    return shear, stretch, np.sqrt(total, out=total)


def _absolute_vorticity(
    d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None, omega: float, kind: str
) -> Any:
    c = tensor_component("dv/dx", d[(1, 0, 1)], blocks[0], blocks[1], f)
    np.subtract(c, tensor_component("du/dy", d[(0, 1, 1)], blocks[0], blocks[1], f), out=c)
    coriolis = np.sin(checked_latitude(compact(blocks[2]), kind))
    coriolis *= 2 * omega
    return (np.add(c, coriolis, out=c),)


def _advection(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    """−Σ wind_a ∂s/∂x_a: the first two along the horizontal (per metre), any further one
    (``w`` along a vertical dim) per unit of its coordinate."""
    out: np.ndarray | None = None
    for a in range(len(blocks) - 1):
        g = d[(0, a, 1)]
        if a < 2:
            g = scalar_component("xy"[a], g, f)
        np.multiply(g, blocks[a + 1], out=g)
        out = g if out is None else np.add(out, g, out=out)
    assert out is not None
    return (np.negative(out, out=out),)


def _frontogenesis(d: Derivatives, blocks: Sequence[np.ndarray], f: Factors | None) -> Any:
    """MetPy's Petterssen form ½|∇θ|(D cos 2β − δ), which is algebraically
    −(θx² ∂u/∂x + θx θy (∂v/∂x + ∂u/∂y) + θy² ∂v/∂y) / |∇θ| (0 where ∇θ = 0): no angles.
    |∇θ| is MetPy's √(θx² + θy²)."""
    tx = scalar_component("x", d[(0, 0, 1)], f)
    ty = scalar_component("y", d[(0, 1, 1)], f)
    a, b, c, e = _tensor(d, blocks, f, 1, 2)
    np.add(c, b, out=c)
    np.multiply(c, tx, out=c)
    np.multiply(c, ty, out=c)
    for g, t in ((a, tx), (e, ty)):
        np.multiply(g, t, out=g)
        np.multiply(g, t, out=g)
    np.add(a, e, out=a)
    np.add(a, c, out=a)
    mag = np.multiply(tx, tx, out=tx)
    np.add(mag, np.multiply(ty, ty, out=ty), out=mag)
    np.sqrt(mag, out=mag)
    np.divide(a, mag, out=a, where=mag != 0)
    return (np.negative(a, out=a),)


def _geostrophic(
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    f: Factors | None,
    omega: float,
    gravity: float,
    kind: str = "geostrophic_wind",
    wind: int | None = None,
) -> Any:
    """(−(g/f) ∂Z/∂y, (g/f) ∂Z/∂x); minus it from the wind (inputs ``wind``, ``wind + 1``)
    for the ageostrophic wind. Infinite or NaN where f = 0, as MetPy's. The factors g/f and
    the metric's scale, which vary by latitude only, are one factor per row: a pass each."""
    gx, gy = d[(0, 0, 1)], d[(0, 1, 1)]
    sin = np.sin(checked_latitude(compact(blocks[-1]), kind))
    real = gx.dtype.type
    with np.errstate(divide="ignore", invalid="ignore"):
        across = np.divide(real(-gravity / (2 * omega)), sin, dtype=gx.dtype)
        along = np.divide(real(gravity / (2 * omega)), sin, dtype=gx.dtype)
        if f is not None:
            across = np.multiply(across, f.my, dtype=gx.dtype)
            along = np.multiply(along, f.mx, dtype=gx.dtype)
        np.multiply(gy, across, out=gy)
        np.multiply(gx, along, out=gx)
    if wind is None:
        return gy, gx
    ua = np.subtract(blocks[wind], gy, out=gy)
    return ua, np.subtract(blocks[wind + 1], gx, out=gx)


def _geostrophic_row(
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    f: Factors | None,
    which: int,
    wind: int | None = None,
) -> Any:
    """One output of :func:`_geostrophic` with its factors per row given (lines from
    :func:`_row_factors`): ``which`` 0, ∂Z/∂Y times ``blocks[-2]`` (−(g/f)·my), or 1, ∂Z/∂X
    times ``blocks[-1]`` ((g/f)·mx); minus it from the wind's component (input
    ``wind + which``) for the ageostrophic wind. One multiplication per output, as the plain
    gradient's scaling by a spacing; no factor of the metric or sine computed per chunk."""
    g = d[(0, 1 - which, 1)]
    with np.errstate(invalid="ignore"):  # ∞ · 0 where f = 0 and Z is flat: NaN, as MetPy's
        np.multiply(g, blocks[which - 2], out=g)
    if wind is None:
        return (g,)
    return (np.subtract(blocks[wind + which], g, out=g),)


def _geostrophic_parts(wind: int | None) -> list[tuple[tuple[Request], Formula]]:
    """The (a)geostrophic wind's two outputs apart, each with the one derivative it reads:
    :func:`derive`'s ``parts`` (each output its own task on chunks in memory)."""
    return [
        (((0, 1 - which, 1),), partial(_geostrophic_row, which=which, wind=wind))
        for which in (0, 1)
    ]


def _row_factors(
    kind: str,
    line: tuple[int, Any],
    metric: Any,
    inputs: Sequence[Any],
    omega: float,
    gravity: float,
) -> list[tuple[int, np.ndarray]] | None:
    """The (a)geostrophic wind's factors of ∂Z/∂Y and ∂Z/∂X, −(g/f)·my and (g/f)·mx, as two
    lines along the latitude's axis: computed once for the whole array, read per chunk like
    the latitude (the same values, in the same operations, as :func:`_geostrophic` computes
    per chunk). None where they do not vary along one axis: a lazy latitude (checked as its
    chunks compute) or a metric other than a latitude/longitude grid's along that axis."""
    axis, phi = line
    ndim = inputs[0].ndim
    axis %= ndim
    if is_dask_collection(phi):
        return None
    if metric is not None and (
        not isinstance(metric, LatLonMetric)
        or metric.lat_axis % ndim != axis
        or is_dask_collection(metric.phi)
    ):
        return None
    dtype = output_dtype(np.result_type(*[a.dtype for a in inputs]))
    sin = np.sin(checked_latitude(np.asarray(phi), kind))
    real = dtype.type
    with np.errstate(divide="ignore", invalid="ignore"):
        across = np.divide(real(-gravity / (2 * omega)), sin, dtype=dtype)
        along = np.divide(real(gravity / (2 * omega)), sin, dtype=dtype)
        if metric is not None:
            f = metric.factors(metric.aux_values, ndim, dtype)
            across = np.multiply(across, np.ravel(f.my), dtype=dtype)
            along = np.multiply(along, np.ravel(f.mx), dtype=dtype)
    n = inputs[0].shape[axis]
    return [(axis, np.broadcast_to(r, (n,)).copy()) for r in (across, along)]


def _half_spacing_rows(
    rows: list[tuple[int, np.ndarray]], engine: dict[str, Any]
) -> tuple[list[tuple[int, np.ndarray]], dict[str, Any]]:
    """The geostrophic rows and the engine's options with, at accuracy 2 on evenly spaced x
    and y (no period given as a number), a spacing of 1/2 per grid step h and 1/(2h) folded
    into the rows: the kernel's centred differences then need no weighting pass, leaving one
    multiplication per output, as the plain gradient has. Else both as given."""
    spacing, periodic = engine.get("spacing"), engine.get("periodic")
    if engine.get("accuracy", 2) != 2 or not isinstance(spacing, (list, tuple)):
        return rows, engine
    if len(spacing) != 2 or len(rows) != 2:
        return rows, engine
    if isinstance(periodic, dict) and any(p is not None for p in periodic.values()):
        return rows, engine
    if periodic is not None and not isinstance(periodic, dict):
        return rows, engine
    steps = []
    for s in spacing:
        if not isinstance(s, float) or s == 0 or not np.isfinite(s):
            return rows, engine  # coordinates (not evenly spaced), or a step that is refused
        steps.append(s)
    half = [type(s)(0.5) if isinstance(s, EvenCoords) else 0.5 for s in spacing]
    (ay, across), (ax, along) = rows  # ∂Z/∂Y's factors, then ∂Z/∂X's (x is dims[0])
    dtype = across.dtype
    across = np.multiply(across, dtype.type(1 / (2 * steps[1])), dtype=dtype)
    along = np.multiply(along, dtype.type(1 / (2 * steps[0])), dtype=dtype)
    return [(ay, across), (ax, along)], {**engine, "spacing": half}


@dataclass(frozen=True)
class Kind:
    """A quantity: its inputs' names (for errors), the derivatives its formula reads (with
    ``n`` winds for advection), its formula, its outputs' names and its constants."""

    inputs: tuple[str, ...]
    requests: tuple[Request, ...]
    formula: Any
    outputs: tuple[str, ...] = ("",)
    constants: tuple[str, ...] = ()

    @property
    def needs_latitude(self) -> bool:
        return self.inputs[-1] == "latitude"

    @property
    def data_names(self) -> list[str]:
        """The names of the inputs given as data (the latitude of f comes apart)."""
        return [n for n in self.inputs if n != "latitude"]


@dataclass(frozen=True)
class Call:
    """One call of a public kinematic function as it is handed down: the quantity (a key of
    :data:`KINDS`), its data inputs, ``dims``, ``geospatial``, the engine's options, the
    latitude of f as given and the constants Ω and g in SI units."""

    kind: str
    inputs: tuple[Any, ...]
    dims: Any
    geospatial: bool
    options: dict[str, Any]
    latitude: Any = None
    omega: float = OMEGA
    gravity: float = GRAVITY


_TENSOR = ((0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1))
DEFORMATIONS = ("shearing_deformation", "stretching_deformation", "total_deformation")
KINDS: dict[str, Kind] = {
    "shearing_deformation": Kind(("u", "v"), ((1, 0, 1), (0, 1, 1)), _shearing),
    "stretching_deformation": Kind(("u", "v"), ((0, 0, 1), (1, 1, 1)), _stretching),
    "total_deformation": Kind(("u", "v"), _TENSOR, _total),
    "deformation": Kind(("u", "v"), _TENSOR, _deformations, ("shear", "stretch", "total")),
    "absolute_vorticity": Kind(
        ("u", "v", "latitude"),
        ((1, 0, 1), (0, 1, 1)),
        _absolute_vorticity,
        ("",),
        ("omega", "kind"),
    ),
    "advection": Kind(("scalar", "u", "v"), ((0, 0, 1), (0, 1, 1)), _advection),
    "frontogenesis": Kind(
        ("theta", "u", "v"),
        ((0, 0, 1), (0, 1, 1), *((j + 1, a, k) for j, a, k in _TENSOR)),
        _frontogenesis,
    ),
    "geostrophic_wind": Kind(
        ("height", "latitude"),
        ((0, 0, 1), (0, 1, 1)),
        _geostrophic,
        ("u", "v"),
        ("omega", "gravity", "kind"),
    ),
    "ageostrophic_wind": Kind(
        ("height", "u", "v", "latitude"),
        ((0, 0, 1), (0, 1, 1)),
        partial(_geostrophic, wind=1),
        ("u", "v"),
        ("omega", "gravity", "kind"),
    ),
}


_SHARED: ContextVar[bool] = ContextVar("deformations_shared", default=False)


@contextmanager
def deformations_shared() -> Iterator[None]:
    """Within it, each deformation of dask input is taken from one kernel that computes the
    three (:data:`DEFORMATIONS`), the same task for each: a graph of two or three of one
    wind computes them in one task per chunk (``daskgrad run --deformation``). Outside it,
    a deformation's kernel computes only its own (half the derivatives for the shearing and
    the stretching one, and no getitem task).

    Examples
    --------
    >>> import dask.array as da
    >>> u = da.ones((4, 6), chunks=2)
    >>> with deformations_shared():
    ...     a, = kinematic_arrays("shearing_deformation", [u, u])
    ...     b, = kinematic_arrays("total_deformation", [u, u])
    >>> a.name.split("-")[0], b.name.split("-")[0], a.name.split("-")[-1] == b.name.split("-")[-1]
    ('deformation', 'deformation', True)
    """
    token = _SHARED.set(True)
    try:
        yield
    finally:
        _SHARED.reset(token)


def coriolis_array(phi: Any, omega: float = OMEGA) -> Any:
    """2Ω sin φ of latitudes ``phi`` in radians (NumPy or lazy dask, float32 kept).

    Examples
    --------
    >>> coriolis_array(np.radians([0.0, 30.0]), omega=1.0)
    array([0., 1.])
    """
    phi = phi if is_dask_collection(phi) else np.asanyarray(phi)
    if phi.dtype.kind not in "fc":
        phi = phi.astype(np.float64)
    if is_dask_collection(phi):  # checked as each chunk computes, in the task of its sine
        return phi.map_blocks(_coriolis_block, omega, dtype=phi.dtype)
    return np.sin(phi) * phi.dtype.type(2 * omega)


def _coriolis_block(phi: np.ndarray, omega: float) -> np.ndarray:
    out: np.ndarray = np.sin(checked_latitude(phi, "coriolis_parameter"))
    out *= phi.dtype.type(2 * omega)
    return out


def kinematic_arrays(
    kind: str,
    inputs: Sequence[Any],
    dims: Any = None,
    *,
    omega: float = OMEGA,
    gravity: float = GRAVITY,
    **engine: Any,
) -> tuple[Any, ...]:
    """The outputs of the quantity ``kind`` (a key of :data:`KINDS`) of NumPy or dask arrays.

    Parameters
    ----------
    kind : str
        ``"shearing_deformation"``, ``"stretching_deformation"``, ``"total_deformation"``,
        ``"absolute_vorticity"``, ``"advection"``, ``"frontogenesis"``,
        ``"geostrophic_wind"`` or ``"ageostrophic_wind"``.
    inputs : sequence of arrays
        In the order of ``KINDS[kind].inputs``, of one shape; a ``latitude`` (radians) may be
        anything that broadcasts to it. Advection takes one wind per dim: ``(s, u, v, w)``
        with ``dims=(x, y, z)`` adds ``w ∂s/∂z`` per unit of z's coordinate.
    dims : pair (x, y) of axes, optional
        Default ``(-1, -2)``.
    omega, gravity : float
        Ω and g in the units of the data (g = 1 for geopotential).
    **engine
        ``spacing``, ``accuracy``, ``edge_order``, ``nan_policy``, ``periodic`` and
        ``metric`` (the grid's: spacings then per coordinate unit; Cartesian without it), as
        for :func:`daskgrad.core.derivatives.derive`, one spacing per dim.

    Returns
    -------
    tuple of arrays
        NumPy, or lazy dask with the first input's chunks (one task per chunk for all of
        them); masked where a stencil touches a masked value.

    Examples
    --------
    >>> y, x = np.mgrid[0:3, 0:4].astype(float)
    >>> kinematic_arrays("shearing_deformation", [y, x])[0][0]
    array([2., 2., 2., 2.])
    >>> kinematic_arrays("advection", [x, 2 + 0 * x, 0 * x])[0][0]
    array([-2., -2., -2., -2.])
    """
    spec = KINDS[kind]
    inputs = [a if is_dask_collection(a) else np.asanyarray(a) for a in inputs]
    winds = len(inputs) - 1 if kind == "advection" else 2
    if len(inputs) != len(spec.inputs) and kind != "advection":
        raise TypeError(f"{kind} takes the inputs {spec.inputs}; got {len(inputs)}")
    names = list(spec.inputs) + ["w"] * (len(inputs) - len(spec.inputs))
    dims = normalize_dims(dims, inputs[0].ndim, kind=kind, count=winds)
    data = [a for a, n in zip(inputs, names, strict=True) if n != "latitude"]
    for a, n in zip(data[1:], names[1:], strict=False):
        if tuple(a.shape) != tuple(data[0].shape):
            raise ValueError(
                f"{kind}: {n} has shape {tuple(a.shape)} but {names[0]} has shape "
                f"{tuple(data[0].shape)}; the inputs must be on the same points"
            )
    lines: list[tuple[int, Any]] = []
    if spec.needs_latitude:
        dtype = np.result_type(*[a.dtype for a in data], np.float16)
        line = latitude_line(inputs[-1], data[0], dtype)
        if line is None:  # a latitude varying on several axes: an input, never differentiated
            inputs[-1] = broadcast_latitude(inputs[-1], data[0], dtype)
        else:  # a 1-D line read per chunk, no task or ghost planes of its own
            inputs.pop()
            lines = [line]
    run = partial(_run, kind, dims, winds, {"omega": omega, "gravity": gravity}, engine)
    lat = [inputs.pop()] if spec.needs_latitude and not lines else []
    if not any(is_masked(a) for a in inputs):
        return run([*inputs, *lat], lines)
    # masked_run's two passes, the indicators' with a latitude where f is finite (a pole), so
    # that only the data's masks mark the result
    omit = normalize_nan_policy(engine.get("nan_policy", "propagate")) == "omit"
    parts, flags = zip(*(split_masked(a, omit) for a in inputs), strict=True)
    pole = [np.full_like(lat[0], np.pi / 2)] if lat else []
    pole_lines = [(axis, np.full_like(v, np.pi / 2)) for axis, v in lines]
    values, touched = run([*parts, *lat], lines), run([*flags, *pole], pole_lines)
    return tuple(join_masked(v, t) for v, t in zip(values, touched, strict=True))


def formula_arrays(
    kind: str,
    derivatives: dict[Request, Any],
    blocks: Sequence[Any],
    *,
    omega: float = OMEGA,
    gravity: float = GRAVITY,
) -> tuple[Any, ...]:
    """The outputs of ``kind`` from its derivatives already per metre in the local
    eastward/northward frame (a wind's with their metric terms: the velocity-gradient tensor),
    keyed as ``KINDS[kind].requests``, and its inputs ``blocks`` (NumPy or dask arrays of one
    shape; a latitude in radians last for f, broadcastable to them): how a grid that
    :func:`derive` has no metric for (2-D latitude/longitude) gets the same formulas.

    Examples
    --------
    >>> one = np.ones((2, 3))
    >>> d = {(0, 0, 1): 2 * one, (0, 1, 1): 3 * one}
    >>> ug, vg = formula_arrays("geostrophic_wind", d, [one, np.pi / 2], omega=0.5, gravity=1.0)
    >>> ug[0], vg[0]
    (array([-3., -3., -3.]), array([2., 2., 2.]))
    """
    spec = KINDS[kind]
    keys = list(derivatives)
    nout = len(spec.outputs)
    formula = _formula(kind, omega=omega, gravity=gravity)
    data = [a if is_dask_collection(a) else np.asanyarray(a) for a in derivatives.values()]
    inputs = [a if is_dask_collection(a) else np.asanyarray(a) for a in blocks]
    dtype = np.result_type(*[a.dtype for a in data], np.float16)
    like = data[0]
    if spec.needs_latitude:
        inputs[-1] = broadcast_latitude(inputs[-1], like, dtype)
    block = partial(_formula_block, formula, keys, dtype)
    if not any(is_dask_collection(a) for a in [*data, *inputs]):
        return tuple(block(*data, *inputs))
    import dask.array as da

    chunks = next(a.chunks for a in [*data, *inputs] if is_dask_collection(a))
    arrays = [
        a.rechunk(chunks) if is_dask_collection(a) else da.from_array(a, chunks=chunks)
        for a in [*data, *inputs]
    ]
    stacked = da.map_blocks(
        _stacked, block, *arrays, new_axis=0, chunks=((nout,), *chunks), dtype=dtype
    )
    return tuple(stacked[k] for k in range(nout))


def _formula_block(
    formula: Any, keys: Sequence[Request], dtype: Any, *arrays: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The formula on one chunk, on copies of the derivatives (it writes into them)."""
    d = {k: np.array(a, dtype=dtype) for k, a in zip(keys, arrays, strict=False)}
    return tuple(formula(d, arrays[len(keys) :], None))


def _stacked(block: Any, *arrays: np.ndarray) -> np.ndarray:
    return np.stack(block(*arrays))


def _formula(kind: str, *, omega: float, gravity: float) -> Formula:
    """``KINDS[kind]``'s formula with the constants it takes bound."""
    spec = KINDS[kind]
    values = {"omega": omega, "gravity": gravity, "kind": kind}
    return partial(spec.formula, **{c: values[c] for c in spec.constants})


def _run(
    kind: str,
    dims: Any,
    winds: int,
    constants: dict[str, float],
    engine: dict[str, Any],
    inputs: Sequence[Any],
    lines: Sequence[tuple[int, Any]] = (),
) -> tuple[Any, ...]:
    formula: Formula | None = None
    parts: list[tuple[tuple[Request], Formula]] = []
    if kind in ("geostrophic_wind", "ageostrophic_wind") and len(lines) == 1:
        # g/f and the metric's scale vary by latitude only: one factor per row and output,
        # computed once, that the formula multiplies in (see _geostrophic_row)
        rows = _row_factors(kind, lines[0], engine.get("metric"), inputs, **constants)
        if rows is not None:
            wind = 1 if kind == "ageostrophic_wind" else None
            rows, engine = _half_spacing_rows(rows, {**engine, "metric": None})
            lines = rows
            parts = _geostrophic_parts(wind)
            formula = joined(parts)
    which: int | None = None
    if kind in DEFORMATIONS and _SHARED.get() and any(is_dask_collection(a) for a in inputs):
        # the kernel of all three, the same task for each of them: a graph of two or three
        # (a run's --deformation) computes them in one task per chunk
        which, kind = DEFORMATIONS.index(kind), "deformation"
    spec = KINDS[kind]
    requests = spec.requests
    if kind == "advection":
        requests = tuple((0, a, 1) for a in range(winds))
    if formula is None:
        formula = _formula(kind, omega=constants["omega"], gravity=constants["gravity"])
    outs = derive(
        kind,
        inputs,
        requests,
        formula,
        len(spec.outputs),
        dims,
        lines=lines,
        parts=parts,
        **engine,
    )
    return outs if which is None else (outs[which],)
