"""Dask graph: ghost planes along the differentiated axes, one kernel task per chunk."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from operator import getitem
from typing import TYPE_CHECKING, Any

import dask.array as da
import dask.local
import dask.threaded
import numpy as np
from dask.base import get_scheduler, tokenize
from dask.highlevelgraph import HighLevelGraph
from dask.utils import disable_gc

from ..compat import DataNode, Task, TaskRef
from ..errors import strip_tokens
from .kernel import block_step, coord_ext, gradient_blocks, wrapped
from .plan import AxisPlan, Plan

if TYPE_CHECKING:
    from dask.typing import Key

# Chunks of at most this many bytes (each input's) skip the tasks that copy ghost planes: each
# kernel task takes its neighbours' whole chunks and slices their planes itself. Those tasks
# are there to keep a large chunk from staying alive, and being sent whole to another worker,
# for the sake of a few planes; on tiny chunks they only add a task per chunk to schedule.
WHOLE_NEIGHBOURS_BYTES = 1 << 16

# per block, per differentiated axis: the (lower, upper) ghost planes, None at a true edge
Ghosts = list[tuple[np.ndarray | None, np.ndarray | None]]
# per differentiated axis: (axis, whether the lower neighbour needs planes, the upper one)
Needs = Sequence[tuple[int, bool, bool]]


def repaired_chunks(x: da.Array, plan: Plan) -> tuple[tuple[int, ...], ...]:
    """Chunks the kernel can work with: along a differentiated axis no empty chunk, every chunk
    at least as long as the ghost depth (its neighbours take their ghost planes from it alone),
    and a chunk at a true edge long enough that its one-sided stencils reach no further than
    its neighbour's ghost planes. Chunks too short are merged with a neighbour, only there."""
    g, reach = plan.depth, plan.edge_reach
    chunks = list(x.chunks)
    for ax in plan.axes:
        c = [s for s in chunks[ax.axis] if s > 0]
        edge = g if ax.periodic else max(g, reach + 1 - g)
        merged: list[int] = []
        acc = 0
        for size in c:
            acc += size
            if acc >= (edge if not merged else g):
                merged.append(acc)
                acc = 0
        if acc:
            merged = merged[:-1] + [merged[-1] + acc] if merged else [acc]
        while len(merged) > 1 and merged[-1] < edge:
            merged[-2:] = [merged[-2] + merged[-1]]
        chunks[ax.axis] = tuple(merged)
    return tuple(chunks)


def _planes(block: np.ndarray, needs: Needs, depth: int) -> Ghosts:
    """The first and last ``depth`` planes of ``block`` along each differentiated axis, as its
    neighbours need them (None where no neighbour does).

    Copies: a view would keep the whole chunk alive, hidden from distributed's memory
    accounting, until every neighbour's kernel has run.
    """
    out: Ghosts = []
    for a, need_first, need_last in needs:
        # a copy either way: np.take copies, and so does the slice of wrapped()
        first = np.array(wrapped(block, a, depth, False)) if need_first else None
        last = np.array(wrapped(block, a, depth, True)) if need_last else None
        out.append((first, last))
    return out


def _label(x: da.Array) -> str:
    """What a dask array's name says of its variable: 'u' for xarray's 'open_dataset-u-<token>'."""
    name = strip_tokens(x.name)
    return name.removeprefix("open_dataset-").removeprefix("original-") or "array"


def pack(*blocks: np.ndarray) -> list[np.ndarray]:
    """The blocks as one list (a task that hands several chunks on together)."""
    return list(blocks)


def _planes_of(pack: Sequence[np.ndarray], needs: Needs, depth: int) -> list[Ghosts]:
    """The planes of every block of ``pack`` (the chunks of several inputs), one list each."""
    return [_planes(block, needs, depth) for block in pack]


def _block_task(
    *args: Any,
    n_in: int,
    k: int,
    func: Callable[..., Any],
    plan: Plan,
    n_aux: int,
    packed: tuple[int, ...] = (),
    whole: bool = False,
) -> Any:
    # args: n_in blocks (or, packed, one list of them), k steps, n_aux aux slices, then per
    # input and axis the planes of the lower and of the upper neighbour (None at a true edge;
    # packed, per axis only, each a list over the inputs; with ``whole``, the neighbours'
    # blocks themselves); flat, so that every dependency is a top-level TaskRef
    if packed:  # the positions of the inputs in the pack of distinct ones
        args = (*(args[0][j] for j in packed), *args[1:])
    blocks, steps = args[:n_in], args[n_in : n_in + k]
    aux, planes = args[n_in + k : n_in + k + n_aux], args[n_in + k + n_aux :]
    ghosts: list[Ghosts] = []
    axes, g = [ax.axis for ax in plan.axes], plan.depth
    for i in range(n_in):
        mine: Sequence[Any]
        if packed:
            mine = [None if p is None else p[packed[i]] for p in planes]
        else:
            mine = planes[2 * k * i : 2 * k * (i + 1)]
        lows, highs = mine[::2], mine[1::2]
        if whole:  # the lower neighbour's last planes, the upper one's first
            ghosts.append(
                [
                    (
                        None if lo is None else wrapped(lo, a, g, True),
                        None if hi is None else wrapped(hi, a, g, False),
                    )
                    for a, lo, hi in zip(axes, lows, highs, strict=True)
                ]
            )
            continue
        ghosts.append(
            [
                (None if lo is None else lo[j][1], None if hi is None else hi[j][0])
                for j, (lo, hi) in enumerate(zip(lows, highs, strict=True))
            ]
        )
    return func(list(blocks), ghosts, list(steps), list(aux), plan=plan)


def _block_task_one(*args: Any, **kwargs: Any) -> Any:
    (out,) = _block_task(*args, **kwargs)
    return out


def _one_axis_task(
    block: np.ndarray,
    step: Any,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
    *,
    func: Callable[..., Any],
    plan: Plan,
) -> Any:
    """:func:`_block_task_one` for one input, one axis, no aux and the neighbours' whole
    chunks: their planes sliced here, in as few steps as the per-partial tasks of tiny chunks
    can afford."""
    a, g = plan.axes[0].axis, plan.depth
    # as _block_task's: a periodic axis shorter than the depth is one chunk, its own
    # neighbour, whose planes repeat
    if lo is not None:
        lo = wrapped(lo, a, g, True)
    if hi is not None:
        hi = wrapped(hi, a, g, False)
    return func([block], [[(lo, hi)]], [step], [], plan=plan)[0]


def _without_layers(graph: HighLevelGraph, top: str, names: set[str]) -> HighLevelGraph:
    """``graph`` without the layers ``names`` (their tasks run inlined in ``top``'s), ``top``
    depending on what they depended on."""
    layers = {k: v for k, v in graph.layers.items() if k not in names}
    deps = {k: set(v) - names for k, v in graph.dependencies.items() if k not in names}
    for name in names:
        deps[top] |= set(graph.dependencies.get(name, ())) - names
    return HighLevelGraph(layers, deps)


def _inline(graph: Any, key: Key) -> Task | TaskRef:
    """The task that makes ``key``, to run inside another task; a reference if it is not a
    task object (legacy tuples, aliases)."""
    task = graph.get(key) if hasattr(graph, "get") else None
    return task if isinstance(task, Task) else TaskRef(key)


def _ref(key: Key | None) -> TaskRef | None:
    return None if key is None else TaskRef(key)


def checked_coord_ext(
    prev: np.ndarray | None,
    cur: np.ndarray,
    nxt: np.ndarray | None,
    period: float | None,
    wrap_lo: bool,
    wrap_hi: bool,
    depth: int,
    where: str,
    start: int,
    size: int,
) -> np.ndarray:
    """:func:`coord_ext` of a chunk of a dask coordinate, which could not be checked before
    computing: ValueError naming ``where`` when its values, or they and their neighbours'
    ghost values, hold a non-finite value or repeat one (a zero step). ``start`` is the
    chunk's first index along the axis of ``size`` points."""
    cur = np.asarray(cur, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(cur))
    if bad.size:
        raise ValueError(
            f"{where} holds non-finite coordinates (the first at position {start + int(bad[0])})"
        )
    ext = coord_ext(prev, cur, nxt, period, wrap_lo, wrap_hi, depth)
    same = np.flatnonzero(np.diff(ext) == 0)
    if same.size:
        i = int(same[0])
        lo, hi = (start - depth + i) % size, (start - depth + i + 1) % size
        raise ValueError(
            f"{where} repeats the coordinate {float(ext[i])!r} at positions {lo} and {hi}"
            + (" (across the periodic wrap: is the period too small?)" if hi < lo else "")
        )
    return ext


def _dask_coord_steps(
    ax: AxisPlan, chunks: tuple[int, ...], name: str, dsk: dict[Key, Any], depth: int, where: str
) -> tuple[list[TaskRef], da.Array]:
    """Per-chunk coordinate tasks for a dask coordinate array; returns (refs, array)."""
    c = ax.step.rechunk((chunks,))
    nb = len(chunks)
    offsets = np.concatenate([[0], np.cumsum(chunks)])
    keys = []
    for j in range(nb):
        wrap_lo, wrap_hi = ax.periodic and j == 0, ax.periodic and j == nb - 1
        prev = (c.name, (j - 1) % nb) if (j > 0 or wrap_lo) else None
        nxt = (c.name, (j + 1) % nb) if (j < nb - 1 or wrap_hi) else None
        key: Key = (f"{name}-coord{ax.axis}", j)
        dsk[key] = Task(
            key,
            checked_coord_ext,
            _ref(prev),
            TaskRef((c.name, j)),
            _ref(nxt),
            ax.period,
            wrap_lo,
            wrap_hi,
            depth,
            where,
            int(offsets[j]),
            ax.size,
        )
        keys.append(TaskRef(key))
    return keys, c


def gradient_dask(x: da.Array, plan: Plan) -> tuple[da.Array, ...]:
    """Every partial derivative of ``x``: :func:`ghosted_dask` of :func:`gradient_blocks`,
    each partial a part of its own axis (on chunks in memory or tiny, one task per output
    chunk from the chunk and its two neighbours along that axis)."""
    parts = [Part((k,), gradient_blocks) for k in range(len(plan.axes))]
    return ghosted_dask([x], plan, gradient_blocks, len(plan.axes), "gradient", parts=parts)


@dataclass(frozen=True)
class Part:
    """One output of :func:`ghosted_dask` computed on its own: ``func`` as ghosted_dask's,
    returning one array, called with the plan of the differentiated axes at ``positions``
    (of the plan's axes) only, their steps and ghosts alone."""

    positions: tuple[int, ...]
    func: Callable[..., Any]


def in_memory(x: da.Array, dtype: np.dtype) -> bool:
    """Whether every chunk of ``x`` is a C-contiguous NumPy array of ``dtype`` held in its graph
    (a dask array persisted locally, or made from in-memory chunks) and the scheduler in use
    is this process's threads (or the synchronous one): nothing to read, nothing sent to
    another process, nothing kept alive that is not alive anyway, so kernels can take their
    neighbours' whole chunks and each partial can have its own task reading the chunk. A
    distributed cluster's persisted chunks (futures), chunks still to compute, or the
    processes scheduler (each task would be sent its three whole chunks) are not."""
    graph = x.__dask_graph__()
    layer = graph.layers.get(x.name) if isinstance(graph, HighLevelGraph) else None
    if layer is None or not layer.is_materialized():
        return False
    for key in itertools.product([x.name], *map(range, x.numblocks)):
        block = layer.get(key)
        if isinstance(block, DataNode):
            block = block.value
        if not (type(block) is np.ndarray and block.dtype == dtype and block.flags.c_contiguous):
            return False
    # asked last: dask's get_scheduler imports distributed (0.2-0.4 s) to look for a client
    return get_scheduler(collections=[x]) in (dask.threaded.get, dask.local.get_sync)


def _whole_neighbours(arrays: Sequence[da.Array], chunks: tuple[tuple[int, ...], ...]) -> bool:
    """Whether the largest chunk of ``arrays`` (each) is at most WHOLE_NEIGHBOURS_BYTES."""
    itemsize = max(np.dtype(a.dtype).itemsize for a in arrays)
    largest = math.prod(max(c, default=0) for c in chunks) * itemsize
    return bool(largest <= WHOLE_NEIGHBOURS_BYTES)


def ghosted_dask(
    arrays: Sequence[da.Array],
    plan: Plan,
    func: Callable[..., Any],
    nout: int,
    name: str,
    aux: Sequence[tuple[int, Any]] = (),
    parts: Sequence[Part] = (),
) -> tuple[da.Array, ...]:
    """``func(blocks, ghosts, steps, aux, plan=plan)`` on every chunk of the same-shaped dask
    ``arrays`` (rechunked to the first one's repaired chunks), with the ghost planes of each
    and the chunk's slice of the 1-D arrays ``aux`` [(axis, values)]; ``nout`` outputs.

    On chunks of at most WHOLE_NEIGHBOURS_BYTES, or already in this process's memory
    (:func:`in_memory`, every array's), kernels take their neighbours' whole chunks and slice
    the planes themselves, no task copying them; then, with ``parts`` (one per output, the
    same values as ``func``'s) and chunks that need no repair, each output has its own task
    per chunk, from the chunk and its neighbours along the part's own axes (the minimal
    graph's shape: a kernel computing every output and one getitem per output cost an extra
    task per chunk to schedule, and more to order). Else one kernel task per chunk computing
    every output, from ghost planes: the out-of-core shape, where those tasks keep a large
    chunk from staying alive, and being sent whole to another worker, for a few planes.

    On chunks in memory the per-output tasks also let dask finish one output before the next,
    as it does elementwise passes: one kernel making every output holds the k outputs of
    every chunk until all are gathered, k times the fresh memory, and fresh pages cost the
    kernel as much again as its arithmetic (benchmarks/README.md, "Arrays")."""
    # task objects per chunk, all tracked by the garbage collector: its passes over the
    # growing graph took two thirds of the construction time (dask's slicing does the same)
    with disable_gc():
        fits = (
            all(a.chunks == arrays[0].chunks for a in arrays)
            and repaired_chunks(arrays[0], plan) == arrays[0].chunks
        )
        whole = _whole_neighbours(arrays, arrays[0].chunks) or (
            fits and all(in_memory(a, plan.dtype) for a in arrays)
        )
        if parts and whole and fits:
            return tuple(
                _ghosted_dask(
                    arrays,
                    replace(plan, axes=tuple(plan.axes[k] for k in part.positions)),
                    part.func,
                    1,
                    name,
                    aux,
                    True,
                )[0]
                for part in parts
            )
        return _ghosted_dask(arrays, plan, func, nout, name, aux, whole)


@dataclass
class _Layout:
    """The blocks of one graph: names, the chunk indices, the differentiated axes' spans."""

    name: str  # the quantity's, a key prefix
    token: str
    depth: int  # ghost planes per side
    idxs: list[tuple[int, ...]]  # every chunk index, in C order
    spans: list[tuple[int, int, bool]]  # per differentiated axis: (axis, blocks, periodic)

    def needs(self, i: tuple[int, ...]) -> list[tuple[int, bool, bool]]:
        """Per axis: whether chunk ``i``'s lower and upper neighbours need its planes."""
        return [(a, per or i[a] > 0, per or i[a] < nb - 1) for a, nb, per in self.spans]


def _ghosted_dask(
    arrays: Sequence[da.Array],
    plan: Plan,
    func: Callable[..., Any],
    nout: int,
    name: str,
    aux: Sequence[tuple[int, Any]],
    whole: bool,
) -> tuple[da.Array, ...]:
    original_chunks = arrays[0].chunks
    chunks = repaired_chunks(arrays[0], plan)
    arrays = [a.rechunk(chunks) if a.chunks != chunks else a for a in arrays]
    token = tokenize([a.name for a in arrays], plan, func, aux)
    numblocks = arrays[0].numblocks
    spans = [(ax.axis, numblocks[ax.axis], ax.periodic) for ax in plan.axes]
    idxs = list(itertools.product(*map(range, numblocks)))
    layout = _Layout(name, token, plan.depth, idxs, spans)
    dsk: dict[Key, Any] = {}
    dependencies: list[da.Array] = list(arrays)
    steps = _axis_steps(plan, chunks, layout, dsk, dependencies)
    aux_by_axis = _aux_slices(aux, chunks, dependencies)
    read_name, packed, inlined = _packed_reads(arrays, idxs, dsk)
    whole = whole or _whole_neighbours(arrays, chunks)
    planes_names = _plane_sources(arrays, layout, read_name, packed, whole, dsk)
    kernel_name = f"{name}-{token}"
    own = [read_name] if packed else [a.name for a in arrays]
    kernel = _kernel(func, plan, nout, len(arrays), len(aux_by_axis), packed, whole)
    _kernel_tasks(dsk, kernel_name, kernel, own, steps, aux_by_axis, planes_names, layout)
    # dask's DaskCollection protocol types __dask_scheduler__ as a staticmethod object, which no
    # collection's attribute is when read from an instance: dask.array.Array fails its check
    graph = HighLevelGraph.from_collections(
        kernel_name,
        dsk,
        dependencies=dependencies,  # type: ignore[arg-type]
    )
    # a layer of exactly the inlined tasks goes (a rechunk's also holds the pieces they read)
    inlined = {n for n in inlined if len(graph.layers.get(n, ())) == len(idxs)}
    if inlined:
        graph = _without_layers(graph, kernel_name, inlined)
    meta = np.empty((0,) * arrays[0].ndim, dtype=plan.dtype)
    outs = _outputs(graph, kernel_name, layout, nout, chunks, meta)
    return tuple(o.rechunk(original_chunks) if chunks != original_chunks else o for o in outs)


def _kernel(
    func: Callable[..., Any],
    plan: Plan,
    nout: int,
    n_in: int,
    n_aux: int,
    packed: tuple[int, ...],
    whole: bool,
) -> Callable[..., Any]:
    """The task function of every kernel task, the arguments they share bound once (as each
    task's keyword arguments they were a dict per task, parsed per task: a fifth of the
    graph's memory on tiny chunks)."""
    if (nout, n_in, len(plan.axes), n_aux, whole) == (1, 1, 1, 0, True):
        return partial(_one_axis_task, func=func, plan=plan)
    return partial(
        _block_task_one if nout == 1 else _block_task,
        n_in=n_in,
        k=len(plan.axes),
        func=func,
        plan=plan,
        n_aux=n_aux,
        packed=packed,
        whole=whole,
    )


def _kernel_tasks(
    dsk: dict[Key, Any],
    kernel_name: str,
    kernel: Callable[..., Any],
    own: list[str],
    steps: list[list[Any]],
    aux_by_axis: list[tuple[int, list[Any]]],
    planes_names: list[str],
    layout: _Layout,
) -> None:
    """One task per chunk calling ``kernel`` with the chunk's blocks from ``own``, its steps,
    its aux slices and its neighbours' planes."""
    n_sets = len(own)  # the sets of planes per neighbour
    axes = [a for a, _, _ in layout.spans]
    for i in layout.idxs:
        key: Key = (kernel_name, *i)
        dsk[key] = Task(
            key,
            kernel,
            *[TaskRef((n, *i)) for n in own],
            *[st[i[a]] for a, st in zip(axes, steps, strict=True)],
            *[vals[i[axis]] for axis, vals in aux_by_axis],
            *_neighbours(i, planes_names, layout.spans, n_sets),
        )


def _axis_steps(
    plan: Plan,
    chunks: tuple[tuple[int, ...], ...],
    layout: _Layout,
    dsk: dict[Key, Any],
    dependencies: list[da.Array],
) -> list[list[Any]]:
    """Per differentiated axis and chunk index along it: the kernel's step (a float, the
    chunk's coordinates with ghost values, or a reference to the task that makes them from
    a dask coordinate, added to ``dsk``)."""
    steps: list[list[Any]] = []
    for k, ax in enumerate(plan.axes):
        c = chunks[ax.axis]
        if isinstance(ax.step, da.Array):
            where = f"spacing[{k}] (dim {ax.axis})"
            prefix = f"{layout.name}-{layout.token}"
            keys, carr = _dask_coord_steps(ax, c, prefix, dsk, layout.depth, where)
            dependencies.append(carr)
            steps.append(keys)
        else:
            offsets = np.concatenate([[0], np.cumsum(c)])
            steps.append(
                [block_step(ax, offsets[j], offsets[j + 1], layout.depth) for j in range(len(c))]
            )
    return steps


def _aux_slices(
    aux: Sequence[tuple[int, Any]],
    chunks: tuple[tuple[int, ...], ...],
    dependencies: list[da.Array],
) -> list[tuple[int, list[Any]]]:
    """Per 1-D array ``(axis, values)`` of ``aux``: its slice per chunk index along the axis
    (a reference to a chunk of it, rechunked as the data, for a dask array)."""
    out: list[tuple[int, list[Any]]] = []
    for axis, values in aux:
        c = chunks[axis]
        if isinstance(values, da.Array):
            values = values.rechunk((c,))
            dependencies.append(values)
            out.append((axis, [TaskRef((values.name, j)) for j in range(len(c))]))
        else:
            offsets = np.concatenate([[0], np.cumsum(c)])
            out.append((axis, [values[offsets[j] : offsets[j + 1]] for j in range(len(c))]))
    return out


def _packed_reads(
    arrays: Sequence[da.Array], idxs: list[tuple[int, ...]], dsk: dict[Key, Any]
) -> tuple[str, tuple[int, ...], set[str]]:
    """Several inputs: one task per chunk index reads the chunk of each (their reading tasks
    inlined), so that they are on the same worker and only ghost planes cross between
    workers. Returns the name of those tasks, the position of each input among the distinct
    ones, and the input layers whose every task was inlined; ("", (), set()) when the inputs
    are read each by its own tasks (one input, or reading tasks that are no task objects)."""
    sources = [a.__dask_graph__() for a in arrays]
    first = (0,) * arrays[0].ndim
    if len(arrays) < 2 or not all(
        isinstance(_inline(src, (a.name, *first)), Task)
        for src, a in zip(sources, arrays, strict=True)
    ):
        return "", (), set()
    # the distinct inputs in the order of their names, the read named by them alone and their
    # planes by them and the ghost layout: operators on the same u and v in one graph
    # (divergence of u, v and vorticity of v, u) share these tasks
    distinct = {a.name: (a, src) for a, src in zip(arrays, sources, strict=True)}
    order = sorted(distinct)
    packed = tuple(order.index(a.name) for a in arrays)
    read_name = "read-" + "+".join(_label(distinct[n][0]) for n in order)
    read_name += "-" + tokenize(order)
    inlined = set(order)  # input layers whose every task is inlined
    for i in idxs:
        key: Key = (read_name, *i)
        parts = [_inline(distinct[n][1], (n, *i)) for n in order]
        inlined &= {n for n, t in zip(order, parts, strict=True) if isinstance(t, Task)}
        dsk[key] = Task(key, pack, *parts)
    return read_name, packed, inlined


def _plane_sources(
    arrays: Sequence[da.Array],
    layout: _Layout,
    read_name: str,
    packed: tuple[int, ...],
    whole: bool,
    dsk: dict[Key, Any],
) -> list[str]:
    """The names of the tasks each kernel takes its neighbours' ghost planes from, one per
    input (one for all with ``packed``), the tasks copying the planes added to ``dsk``; none
    when no chunk has a neighbour. With ``whole`` the neighbours' chunks themselves (or
    packs of them): on chunks that small a task copying planes costs more than it saves.

    Those tasks keep a large chunk from staying alive, and being sent whole to another
    worker, for the sake of a few planes: one per chunk and input copies the planes its
    neighbours need (one for the chunks of every input with ``packed``), so k + 2 + n_in
    tasks per chunk with the k output getitems, 1 + 2 n_in for one output, where the
    kernel's task is the output.
    """
    if not any(per or nb > 1 for _, nb, per in layout.spans):
        return []
    if whole:
        return [read_name] if packed else [a.name for a in arrays]
    g = layout.depth
    key: Key
    if packed:
        planes_name = f"planes-{tokenize(read_name, layout.spans, g)}"
        for i in layout.idxs:
            key = (planes_name, *i)
            dsk[key] = Task(key, _planes_of, TaskRef((read_name, *i)), layout.needs(i), g)
        return [planes_name]
    names = [f"{layout.name}-planes{n}-{layout.token}" for n in range(len(arrays))]
    for arr, planes_name in zip(arrays, names, strict=True):
        for i in layout.idxs:
            key = (planes_name, *i)
            dsk[key] = Task(key, _planes, TaskRef((arr.name, *i)), layout.needs(i), g)
    return names


def _neighbours(
    i: tuple[int, ...], planes_names: list[str], spans: list[tuple[int, int, bool]], n_sets: int
) -> Iterator[TaskRef | None]:
    """Chunk ``i``'s kernel arguments after its steps and aux: per source of planes and
    differentiated axis, the lower and the upper neighbour (None at a true edge); ``n_sets``
    Nones per axis side when no chunk has a neighbour."""
    for planes_name in planes_names:
        for a, nb, per in spans:
            lo, hi = i[a] - 1, i[a] + 1
            yield TaskRef((planes_name, *i[:a], lo % nb, *i[a + 1 :])) if per or lo >= 0 else None
            yield TaskRef((planes_name, *i[:a], hi % nb, *i[a + 1 :])) if per or hi < nb else None
    if not planes_names:
        yield from [None] * (2 * len(spans) * n_sets)


def _outputs(
    graph: HighLevelGraph,
    kernel_name: str,
    layout: _Layout,
    nout: int,
    chunks: tuple[tuple[int, ...], ...],
    meta: np.ndarray,
) -> list[da.Array]:
    """The ``nout`` outputs of the kernel's layer: that layer itself for one output, else one
    getitem per chunk and output (dask would fuse a kernel and its single getitem into a
    subgraph task, which costs more to run than the two tasks)."""
    if nout == 1:
        return [da.Array(graph, kernel_name, chunks, meta=meta)]
    outs = []
    for k in range(nout):
        out_name = f"{layout.name}-out{k}-{layout.token}"
        layer: dict[Key, Task] = {
            (out_name, *i): Task((out_name, *i), getitem, TaskRef((kernel_name, *i)), k)
            for i in layout.idxs
        }
        g_ = HighLevelGraph(
            {**graph.layers, out_name: layer}, {**graph.dependencies, out_name: {kernel_name}}
        )
        outs.append(da.Array(g_, out_name, chunks, meta=meta))
    return outs
