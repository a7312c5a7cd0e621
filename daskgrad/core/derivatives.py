"""The block engine of every derived quantity: the derivatives a formula needs, then the formula.

A quantity (advection, a deformation, frontogenesis, potential vorticity, …) is a pointwise
formula of some derivatives of its inputs, the inputs themselves and the metric factors of the
grid. :func:`derive` computes, per chunk, every requested derivative from the chunks of the
inputs and their ghost planes (each input chunk read once), the chunk's metric factors once,
and then calls the formula, which returns every output of the quantity: one task per chunk for
dask input, row-blocks on threads for NumPy input. The derivatives along one dim can be per
unit of a coordinate field among the inputs (:class:`~daskgrad.core.field_stencil.AlongField`:
a pressure varying by column), taken per point from the same chunk and ghost planes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import is_dask_collection
from .field_stencil import AlongField
from .kernel import gradient_block
from .metric import Factors, MetricModel, spread_factors
from .plan import Plan, make_plan
from .stencil import depth

if TYPE_CHECKING:
    from .graph import Part

# one requested derivative: (input index, position in dims, derivative order 1 or 2)
Request = tuple[int, int, int]
Derivatives = dict[Request, np.ndarray]
Formula = Callable[[Derivatives, Sequence[np.ndarray], "Factors | None"], Sequence[np.ndarray]]


def derive(
    name: str,
    inputs: Sequence[Any],
    requests: Sequence[Request],
    formula: Formula,
    nout: int,
    dims: Sequence[int],
    *,
    spacing: Any = None,
    accuracy: Any = 2,
    edge_order: Any = 1,
    nan_policy: Any = "propagate",
    periodic: Any = None,
    metric: MetricModel | None = None,
    in_place: bool = False,
    lines: Sequence[tuple[int, Any]] = (),
    along: AlongField | None = None,
    parts: Sequence[tuple[Sequence[Request], Formula]] = (),
) -> tuple[Any, ...]:
    """``nout`` arrays from NumPy or dask ``inputs`` of one shape.

    Parameters
    ----------
    name : the quantity's name (dask key prefix).
    inputs : the arrays; NumPy ones are sliced like the first dask one when any is dask.
    requests : ``(input index, position in dims, derivative order)`` for every derivative the
        formula reads.
    formula : ``formula(d, blocks, factors)``: ``d[request]`` is that derivative per unit of
        the dim's coordinate, ``blocks`` the inputs' chunks, ``factors`` the chunk's
        :class:`~daskgrad.core.metric.Factors` (None without ``metric``); returns ``nout``
        arrays of the chunk's shape.
    dims : the axes the requests number.
    spacing, accuracy, edge_order, nan_policy, periodic : as for
        :func:`daskgrad.core.gradient.gradient_array`, one spacing per dim.
    metric : where the factors come from (its 1-D arrays are chunked with the data).
    in_place : the formula promises that its i-th output is ``d[requests[i]]``, updated in
        place (the derivatives are the formula's own arrays): NumPy input then computes those
        derivatives straight into the outputs, without a copy.
    lines : ``(axis, values)``: 1-D arrays (NumPy or dask) along an axis of the data that the
        formula reads but no request differentiates (a latitude for f): each chunk's slice
        comes after the inputs' ``blocks``, shaped to broadcast to the chunk (size 1 along the
        other axes); no ghost planes, no task of their own per chunk.
    along : the first derivatives along ``dims[along.position]`` per unit of the coordinate
        field ``inputs[along.input]``, per point (its spacing is then 1.0): see
        :class:`~daskgrad.core.field_stencil.AlongField`.
    parts : the same outputs one by one, when they are independent: per output, the requests
        it reads (at least one) and a formula returning it alone (:func:`joined` makes
        ``formula`` of them). Dask chunks already in memory then give each output its own
        task per chunk, from the chunk and its neighbours along those requests' dims only
        (:func:`daskgrad.core.graph.ghosted_dask`'s parts).

    Returns
    -------
    tuple of ``nout`` arrays in the derivatives' dtype (float64 for integers, float32 kept):
    NumPy, or lazy dask with the first dask input's chunks.

    Examples
    --------
    >>> y, x = np.mgrid[0:4, 0:5].astype(float)
    >>> def div(d, blocks, factors):
    ...     return (d[0, 0, 1] + d[1, 1, 1],)
    >>> derive("div", [2 * x, 3 * y], [(0, 0, 1), (1, 1, 1)], div, 1, (1, 0))[0][0]
    array([5., 5., 5., 5., 5.])
    """
    inputs = [a if is_dask_collection(a) else np.asanyarray(a) for a in inputs]
    shape = tuple(inputs[0].shape)
    for k, a in enumerate(inputs[1:], 1):
        if tuple(a.shape) != shape:
            raise ValueError(f"{name}: input {k} has shape {tuple(a.shape)}, input 0 {shape}")
    common = np.result_type(*[a.dtype for a in inputs])
    deriv = max(k for _, _, k in requests)
    if along is not None and any(k != 1 for _, a, k in requests if a == along.position):
        raise ValueError(f"{name}: only first derivatives along a coordinate field")
    plan = make_plan(
        shape, common, spacing, list(dims), edge_order, periodic, accuracy, nan_policy, deriv
    )
    aux: tuple[tuple[int, Any], ...] = ()
    if metric is not None:
        aux = tuple(zip(metric.aux_axes, metric.aux_values, strict=True))
    for axis, values in lines:
        if tuple(np.shape(values)) != (shape[axis],):
            raise ValueError(
                f"{name}: a line along axis {axis} has shape {tuple(np.shape(values))}, the "
                f"data {shape}"
            )
    aux += tuple((axis % len(shape), values) for axis, values in lines)
    func = partial(
        _derive_block,
        requests=tuple(requests),
        formula=formula,
        metric=metric,
        in_place=in_place,
        line_axes=tuple(axis % len(shape) for axis, _ in lines),
        along=along,
    )
    if any(is_dask_collection(a) for a in inputs):
        import dask.array as da

        from .graph import ghosted_dask

        chunks = next(a.chunks for a in inputs if is_dask_collection(a))
        inputs = [a if is_dask_collection(a) else da.from_array(a, chunks=chunks) for a in inputs]
        return ghosted_dask(inputs, plan, func, nout, name, aux, _parts(func, parts, nout))
    from .eager import ghosted_numpy

    aux = tuple((axis, np.asarray(v)) for axis, v in aux)  # a dask line of NumPy data
    return ghosted_numpy(inputs, plan, func, nout, aux)


def joined(parts: Sequence[tuple[Sequence[Request], Formula]]) -> Formula:
    """The formula of every output of ``parts`` (per output: its requests and a formula
    returning it alone), in their order: :func:`derive`'s ``formula`` for its ``parts``.

    Examples
    --------
    >>> plus_one = ([(0, 0, 1)], lambda d, b, f: (d[0, 0, 1] + 1,))
    >>> first = ([], lambda d, b, f: (b[0],))
    >>> f = joined([plus_one, first])
    >>> f({(0, 0, 1): 1.0}, [5.0], None)
    (2.0, 5.0)
    """
    formulas = tuple(formula for _, formula in parts)
    return partial(_joined, formulas)


def _joined(
    formulas: Sequence[Formula],
    d: Derivatives,
    blocks: Sequence[np.ndarray],
    factors: Factors | None,
) -> tuple[np.ndarray, ...]:
    return tuple(out for formula in formulas for out in formula(d, blocks, factors))


def _parts(
    func: partial[tuple[np.ndarray, ...]],
    parts: Sequence[tuple[Sequence[Request], Formula]],
    nout: int,
) -> list[Part]:
    """``parts`` as :class:`daskgrad.core.graph.Part` of the block function ``func`` (each on
    the dims its requests differentiate); none unless one per output, each reading one
    request at least."""
    from .graph import Part  # dask's: imported for dask input only

    if len(parts) != nout or not all(requests for requests, _ in parts):
        return []
    out = []
    for requests, formula in parts:
        positions = tuple(sorted({a for _, a, _ in requests}))
        kw = {"requests": tuple(requests), "formula": formula, "positions": positions}
        out.append(Part(positions, partial(func, **kw)))
    return out


def _derive_block(
    blocks: Sequence[np.ndarray],
    ghosts: Sequence[Sequence[tuple[np.ndarray | None, np.ndarray | None]]],
    steps: Sequence[Any],
    aux: Sequence[Any],
    *,
    plan: Plan,
    requests: tuple[Request, ...],
    formula: Formula,
    metric: MetricModel | None,
    in_place: bool,
    line_axes: tuple[int, ...] = (),
    along: AlongField | None = None,
    positions: tuple[int, ...] | None = None,
    out: Sequence[np.ndarray] | None = None,
    factors: Factors | None = None,
) -> tuple[np.ndarray, ...]:
    """One chunk: every requested derivative, the factors, the formula. With ``positions``
    the plan, ``ghosts`` and ``steps`` are those of the dims at these positions alone (the
    requests' positions stay the dims'). ``factors``: the chunk's, already computed (else
    ``metric`` computes them). A chunk of a dask array (no ``out``) of more than one slab
    along a first axis that nothing differentiates is computed slab by slab
    (:func:`_in_slabs`)."""
    dtype = plan.dtype
    at = list(range(len(plan.axes))) if positions is None else positions
    local = {p: i for i, p in enumerate(at)}
    ndim = blocks[0].ndim
    if out is None and along is None:
        rows = _slab_rows(blocks, plan, metric, line_axes)
        if rows:
            kwargs = {
                "plan": plan,
                "requests": requests,
                "formula": formula,
                "metric": metric,
                "in_place": in_place,
                "line_axes": line_axes,
                "positions": positions,
            }
            return _in_slabs(blocks, ghosts, steps, aux, rows, kwargs)
    if line_axes:
        n = len(aux) - len(line_axes)
        aux, cut = aux[:n], aux[n:]
        blocks = [
            *blocks,
            *(
                np.asarray(v).reshape([-1 if k == axis else 1 for k in range(ndim)])
                for axis, v in zip(line_axes, cut, strict=True)
            ),
        ]
    d: Derivatives = {}
    into = dict(zip(requests, out, strict=False)) if in_place and out is not None else {}
    groups: dict[tuple[int, int], list[int]] = {}
    for j, a, k in requests:
        groups.setdefault((j, k), []).append(a)
    z = -1 if along is None else along.position
    if along is not None and any(a == z for _, a, _ in requests):
        c, axis = along.input, plan.axes[local[z]].axis
        stencil: dict[str, Any] = {
            "accuracy": plan.accuracy,
            "edge_order": plan.edge_order,
            "nan_policy": plan.nan_policy,
            "dtype": dtype,
        }
        weights = along.stencils(blocks[c], ghosts[c][local[z]], axis, **stencil)
        for j, a, _ in requests:
            if a == z:
                d[(j, z, 1)] = along.derivative(
                    blocks[j],
                    ghosts[j][local[z]],
                    blocks[c],
                    ghosts[c][local[z]],
                    axis,
                    weights,
                    **stencil,
                )
    for (j, k), wanted in groups.items():
        wanted = [a for a in wanted if a != z]
        if not wanted:
            continue
        trim = plan.depth - depth(plan.accuracy, plan.nan_policy, k)
        grads = gradient_block(
            blocks[j],
            [plan.axes[local[a]].axis for a in wanted],
            [trim_ghosts(ghosts[j][local[a]], plan.axes[local[a]].axis, trim) for a in wanted],
            [trim_step(steps[local[a]], trim) for a in wanted],
            plan.edge_order,
            dtype,
            out=[_buffer(into.get((j, a, k)), blocks[j].shape, dtype) for a in wanted],
            accuracy=plan.accuracy,
            nan_policy=plan.nan_policy,
            deriv=k,
        )
        for a, g in zip(wanted, grads, strict=True):
            d[(j, a, k)] = g
    if factors is None and metric is not None:
        factors = metric.factors(aux, ndim, dtype)
    results = formula(d, blocks, factors)
    final = []
    for i, r in enumerate(results):
        if out is not None:
            if r is not out[i]:
                np.copyto(out[i], r, casting="unsafe")
            final.append(out[i])
            continue
        arr = np.asarray(r, dtype=dtype)
        if arr.shape != blocks[0].shape or arr.base is not None or any(arr is b for b in blocks):
            arr = np.array(np.broadcast_to(arr, blocks[0].shape), dtype=dtype)  # owns its memory
        final.append(arr)
    return tuple(final)


# Bytes of one input's slab when a dask chunk is computed slab by slab (:func:`_in_slabs`);
# one plane at least


# bytes of each input a derived quantity's slab spans (its derivatives stay in cache)
CHUNK_SLAB_BYTES = 2 << 20


def _slab_rows(
    blocks: Sequence[np.ndarray],
    plan: Plan,
    metric: MetricModel | None,
    line_axes: tuple[int, ...],
) -> int:
    """Planes along axis 0 per slab of :func:`_in_slabs`, 0 for the chunk at once: axis 0
    is neither differentiated nor one the metric's or the lines' values run along, and the
    chunk holds more than one slab."""
    block = blocks[0]
    if block.ndim < 2 or block.shape[0] < 2:
        return 0
    if 0 in {ax.axis for ax in plan.axes} | set(line_axes):
        return 0
    if metric is not None and 0 in metric.aux_axes:
        return 0
    rows = max(1, CHUNK_SLAB_BYTES // max(block[0].nbytes, 1))
    return rows if rows < block.shape[0] else 0


def _in_slabs(
    blocks: Sequence[np.ndarray],
    ghosts: Sequence[Sequence[tuple[np.ndarray | None, np.ndarray | None]]],
    steps: Sequence[Any],
    aux: Sequence[Any],
    rows: int,
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, ...]:
    """:func:`_derive_block` of a chunk, ``rows`` planes along axis 0 at a time, into outputs
    allocated once: each slab's derivatives, which the formula reads (and, ``in_place``,
    updates into the outputs), are still in the cache when it does, instead of whole arrays
    written to fresh memory and read back; the chunk's metric factors computed once
    (:func:`~daskgrad.core.metric.spread_factors`). The formula is pointwise, and no axis
    after the first changes, so every value is the one the chunk at once gives."""
    plan: Plan = kwargs["plan"]
    metric: MetricModel | None = kwargs["metric"]
    block, dtype = blocks[0], plan.dtype
    n = block.shape[0]
    factors = None
    if metric is not None:
        n_aux = len(aux) - len(kwargs["line_axes"])
        factors = metric.factors(aux[:n_aux], block.ndim, dtype)
        factors = spread_factors(factors, (min(rows, n), *block.shape[1:]))
    outs: list[np.ndarray] = []
    for s in range(0, n, rows):
        part = slice(s, min(s + rows, n))
        sub_ghosts = [[(_cut(lo, part), _cut(hi, part)) for lo, hi in per] for per in ghosts]
        sub = [b[part] for b in blocks]
        if not outs:  # the first slab's results give the outputs' number
            first = _derive_block(sub, sub_ghosts, steps, aux, factors=factors, **kwargs)
            outs = [np.empty(block.shape, dtype) for _ in first]
            for o, r in zip(outs, first, strict=True):
                o[part] = r
            continue
        _derive_block(
            sub, sub_ghosts, steps, aux, out=[o[part] for o in outs], factors=factors, **kwargs
        )
    return tuple(outs)


def _cut(a: np.ndarray | None, part: slice) -> np.ndarray | None:
    return None if a is None else a[part]


def _buffer(given: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.empty(shape, dtype) if given is None else given


def trim_ghosts(
    lh: tuple[np.ndarray | None, np.ndarray | None], axis: int, trim: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The ``trim`` ghost planes farthest from the chunk dropped (a lower-order derivative
    needs fewer than the plan's depth)."""
    if not trim:
        return lh
    lo, hi = lh
    pre = (slice(None),) * axis
    return (
        None if lo is None else lo[pre + (slice(trim, None),)],
        None if hi is None else hi[pre + (slice(0, hi.shape[axis] - trim),)],
    )


def trim_step(step: Any, trim: int) -> Any:
    """The coordinates of a chunk with ``trim`` fewer ghost values per side."""
    if not trim or not isinstance(step, np.ndarray):
        return step
    return step[trim:-trim]
