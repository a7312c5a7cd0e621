"""The command line's derived quantities: one table of flag -> inputs, outputs, function.

Every quantity flag (``--divergence U,V``, ``--advection S:U,V``, ``--potential-vorticity
THETA:U,V``, …) is a row of :data:`QUANTITIES`: how its argument is spelled, what it needs
(two ``--dim`` dims or ``--geospatial``, ``--vertical``), what its task holds, and the
public function that computes it. The inputs of all the quantities of a run are read by one
task per chunk (:func:`read_once`), which every output of the run shares: each input chunk
is read once, whatever the quantities and gradients asked for.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

__all__ = ["QUANTITIES", "Context", "Quantity", "add_flags", "by_key", "read_once"]


@dataclass
class Context:
    """What every quantity of a run is computed with.

    ``dims``: the --dim dims, x then y (None with --geospatial); ``options``: the keywords
    of the public functions (stencil, and the grid's with --geospatial, else ``periodic``);
    ``vertical``: the --vertical dim; ``functions``: daskgrad's public functions by name.
    """

    ds: Any
    dims: list[Hashable] | None
    options: dict[str, Any]
    vertical: str | None = None
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def function(self, name: str) -> Callable[..., Any]:
        """The public function ``name`` (``daskgrad.<name>``) of ``functions``, which the
        caller that computes gives."""
        try:
            return self.functions[name]
        except KeyError:
            raise UsageError(f"this daskgrad has no {name}()") from None

    def with_dims(self, names: Sequence[str]) -> dict[str, Any]:
        """``dims=`` for a function of ``names`` (their horizontal dims), and the options."""
        dims = None if self.dims is None else list(self.dims)
        return {"dims": dims, **self.options}


def _divergence(c: Context, n: Sequence[str]) -> list[Any]:
    return [c.function("divergence")(c.ds[n[0]], c.ds[n[1]], **c.with_dims(n))]


def _vorticity(c: Context, n: Sequence[str]) -> list[Any]:
    return [c.function("vorticity")(c.ds[n[0]], c.ds[n[1]], **c.with_dims(n))]


def _laplacian(c: Context, n: Sequence[str]) -> list[Any]:
    f = c.ds[n[0]]
    dims = None if c.dims is None else [d for d in c.dims if d in f.dims]
    return [c.function("laplacian")(f, dims=dims, **c.options)]


def _advection(c: Context, n: Sequence[str]) -> list[Any]:
    s, u, v = (c.ds[x] for x in n[:3])
    if len(n) == 3:
        return [c.function("advection")(s, u, v, **c.with_dims(n))]
    return [c.function("advection")(s, u, v, c.ds[n[3]], vertical_dim=c.vertical, **c.with_dims(n))]


def _deformation(c: Context, n: Sequence[str]) -> list[Any]:
    from ..core.kinematics import DEFORMATIONS, deformations_shared

    u, v = c.ds[n[0]], c.ds[n[1]]
    with deformations_shared():  # the three from one task per chunk
        return [c.function(k)(u, v, **c.with_dims(n)) for k in DEFORMATIONS]


def _absolute_vorticity(c: Context, n: Sequence[str]) -> list[Any]:
    return [c.function("absolute_vorticity")(c.ds[n[0]], c.ds[n[1]], **c.with_dims(n))]


def _frontogenesis(c: Context, n: Sequence[str]) -> list[Any]:
    theta, u, v = (c.ds[x] for x in n)
    return [c.function("frontogenesis")(theta, u, v, **c.with_dims(n))]


def _geostrophic(c: Context, n: Sequence[str]) -> list[Any]:
    return list(c.function("geostrophic_wind")(c.ds[n[0]], **c.with_dims(n)))


def _ageostrophic(c: Context, n: Sequence[str]) -> list[Any]:
    z, u, v = (c.ds[x] for x in n)
    return list(c.function("ageostrophic_wind")(z, u, v, **c.with_dims(n)))


def _potential_vorticity(c: Context, n: Sequence[str]) -> list[Any]:
    theta, u, v = (c.ds[x] for x in n)
    pressure = c.ds[c.vertical]
    fn = c.function("potential_vorticity_baroclinic")
    return [fn(theta, pressure, u, v, vertical_dim=c.vertical, **c.with_dims(n))]


def _q_vector(c: Context, n: Sequence[str]) -> list[Any]:
    t, u, v = (c.ds[x] for x in n)
    return list(c.function("q_vector")(u, v, t, pressure_of(c, t), **c.with_dims(n)))


PRESSURE_UNITS = {"pa", "hpa", "kpa", "mbar", "millibar", "millibars", "mb", "bar", "atm"}


def is_pressure(coord: Any) -> bool:
    """Whether a coordinate holds pressures: CF's ``air_pressure`` or pressure units."""
    units = str(coord.attrs.get("units", "")).strip().lower()
    return coord.attrs.get("standard_name") == "air_pressure" or units in PRESSURE_UNITS


def pressure_of(c: Context, t: Any) -> Any:
    """The pressure of a Q-vector's levels: the --vertical dim's coordinate, else the one
    pressure coordinate of ``t`` (a 0-d level coordinate, or 1-D along one of its dims)."""
    if c.vertical is not None:
        return c.ds[c.vertical]
    found = [
        name
        for name, coord in t.coords.items()
        if coord.ndim <= 1 and set(coord.dims) <= set(t.dims) and is_pressure(coord)
    ]
    if len(found) != 1:
        what = f"pressure coordinates {sorted(map(str, found))}" if found else ""
        what = what or "no pressure coordinate"
        raise UsageError(
            f"argument --q-vector: variable {t.name!r} has {what} (a level coordinate in hPa "
            "or Pa, or standard_name air_pressure); name one with --vertical DIM"
        )
    return t.coords[found[0]]


@dataclass(frozen=True)
class Quantity:
    """One quantity flag.

    ``before``: the names before its ``:`` (0: it takes no ``:``); ``after``: how many names
    may follow it (or make up the whole argument). ``held``: the arrays of a chunk's size its
    task holds besides its inputs and their derivatives (its outputs and temporaries), for the
    memory rule. ``vertical``: "needs" (--vertical is required), "w" (with a fourth name,
    the vertical wind), "pressure" (--vertical names the pressure coordinate) or "".
    ``horizontal``: x and y wind components or derivatives: two --dim dims, x then y.
    """

    key: str
    metavar: str
    before: int
    after: tuple[int, ...]
    help: str
    compute: Callable[[Context, Sequence[str]], list[Any]] = field(repr=False)
    held: int = 1
    vertical: str = ""
    horizontal: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    def parse(self, text: str) -> tuple[str, ...]:
        """The variable names of ``text`` ("T:u,v" → ("T", "u", "v")); ValueError if it is
        not spelled as ``metavar`` says.

        Examples
        --------
        >>> by_key("advection").parse("T:u,v,w")
        ('T', 'u', 'v', 'w')
        >>> by_key("vorticity").parse("u10,v10")
        ('u10', 'v10')
        """
        head, sep, tail = text.rpartition(":") if self.before else ("", "", text)
        first = [p.strip() for p in head.split(",")] if sep else []
        rest = [p.strip() for p in tail.split(",")]
        names = (*first, *rest)
        if len(first) != self.before or len(rest) not in self.after or not all(names):
            count = {1: "one variable name", 2: "two variable names"}.get(self.after[0], "")
            raise ValueError(
                f"expected {count + ' ' if count and not self.before else ''}{self.metavar}; "
                f"got {text!r}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"a variable named twice in {text!r}")
        return names

    def uses_vertical(self, names: Sequence[str]) -> bool:
        return self.vertical in ("needs", "pressure") or (self.vertical == "w" and len(names) > 3)

    def differentiates_vertical(self, names: Sequence[str]) -> bool:
        return self.vertical == "needs" or (self.vertical == "w" and len(names) > 3)


QUANTITIES: tuple[Quantity, ...] = (
    Quantity(
        "divergence", "U,V", 0, (2,), "write div_U_V = dU/dx + dV/dy (repeatable)", _divergence
    ),
    Quantity(
        "vorticity", "U,V", 0, (2,), "write vort_U_V = dV/dx - dU/dy (repeatable)", _vorticity
    ),
    Quantity(
        "laplacian",
        "VAR",
        0,
        (1,),
        "write lap_VAR, the sum of second derivatives over the dims (repeatable)",
        _laplacian,
        horizontal=False,
    ),
    Quantity(
        "advection",
        "S:U,V[,W]",
        1,
        (2, 3),
        "write adv_S = -(U dS/dx + V dS/dy [+ W dS/dz]); W with --vertical DIM",
        _advection,
        held=2,
        vertical="w",
    ),
    Quantity(
        "deformation",
        "U,V",
        0,
        (2,),
        "write shear_def_U_V, stretch_def_U_V and total_def_U_V, the shearing, stretching and "
        "total deformation",
        _deformation,
        held=4,
    ),
    Quantity(
        "absolute_vorticity",
        "U,V",
        0,
        (2,),
        "write abs_vort_U_V = vorticity + Coriolis parameter",
        _absolute_vorticity,
        held=2,
    ),
    Quantity(
        "frontogenesis",
        "THETA:U,V",
        1,
        (2,),
        "write fgen_THETA, Petterssen's 2-D frontogenesis of THETA in the wind U, V",
        _frontogenesis,
        held=4,
    ),
    Quantity(
        "geostrophic",
        "Z",
        0,
        (1,),
        "write ug_Z, vg_Z, the geostrophic wind of the geopotential (height) Z",
        _geostrophic,
        held=3,
    ),
    Quantity(
        "ageostrophic",
        "Z:U,V",
        1,
        (2,),
        "write the ageostrophic wind U, V minus the geostrophic wind of Z",
        _ageostrophic,
        held=3,
    ),
    Quantity(
        "potential_vorticity",
        "THETA:U,V",
        1,
        (2,),
        "write pv_THETA, baroclinic potential vorticity (MetPy's); needs --vertical DIM, whose "
        "coordinate is the pressure",
        _potential_vorticity,
        # its formula runs slab by slab into a derivative's buffer: no chunk besides its
        # derivatives (tracemalloc, tests/test_memory_rule_pv.py); its result is counted
        # once computed and once encoded (``task_counts``: at least one output)
        held=0,
        vertical="needs",
    ),
    Quantity(
        "q_vector",
        "T:U,V",
        1,
        (2,),
        "write the Q-vector's two components (static stability 1, as MetPy's default); the "
        "pressure is the --vertical DIM's coordinate or the one pressure coordinate of T",
        _q_vector,
        held=4,
        vertical="pressure",
    ),
)


def by_key(key: str) -> Quantity:
    """The row of ``key`` ("advection", "q_vector", …)."""
    return next(q for q in QUANTITIES if q.key == key)


def add_flags(group: Any) -> None:
    """Every quantity's flag (repeatable) and --vertical, on an argparse group."""
    for q in QUANTITIES:

        def convert(text: str, q: Quantity = q) -> tuple[str, ...]:
            try:
                return q.parse(text)
            except ValueError as e:
                raise argparse.ArgumentTypeError(str(e)) from None

        group.add_argument(
            q.flag, action="append", default=[], metavar=q.metavar, type=convert, help=q.help
        )
    group.add_argument(
        "--vertical",
        metavar="DIM",
        help="the vertical dim of --potential-vorticity and of --advection S:U,V,W (its "
        "coordinate: pressure or height, any spacing), or the pressure of --q-vector",
    )


def asked(args: argparse.Namespace) -> list[tuple[str, tuple[str, ...]]]:
    """The quantities the command line asks for, as (key, names), each once, checked against
    --vertical and --dim."""
    out = list(
        dict.fromkeys((q.key, names) for q in QUANTITIES for names in getattr(args, q.key, []))
    )
    vertical = getattr(args, "vertical", None)
    users = [(by_key(k), n) for k, n in out if by_key(k).uses_vertical(n)]
    for q, names in users:
        if q.vertical in ("needs", "w") and vertical is None:
            what = ",".join(names[:1]) + ":" + ",".join(names[1:])
            why = "whose coordinate is the pressure" if q.vertical == "needs" else "W moves along"
            raise UsageError(f"argument {q.flag}: {what} needs --vertical DIM (the dim {why})")
    if vertical is not None:
        if not users:
            raise UsageError(
                "argument --vertical: goes with --potential-vorticity, --advection S:U,V,W or "
                "--q-vector only"
            )
        if vertical in (args.dim or []):
            raise UsageError(
                f"argument --vertical: {vertical!r} is a --dim too; the horizontal --dim dims "
                "are x and y, the vertical one is differentiated along its own coordinate"
            )
    return out


def check(c: Context, quantities: Sequence[tuple[str, tuple[str, ...]]]) -> None:
    """Refuse, naming the flag, a variable the input lacks or cannot differentiate, variables
    of one quantity on different dims, and a --vertical dim its variables lack or without a
    coordinate. The --dim dims are checked by the API's one check (``xr.gradient.
    requested_dims``), its words said as flags by :func:`compute`."""
    ds = c.ds
    for key, names in quantities:
        q = by_key(key)
        for name in names:
            if name not in ds.data_vars:
                raise UsageError(
                    f"argument {q.flag}: unknown variable {name!r}; the input has "
                    f"{sorted(map(str, ds.data_vars))}"
                )
            if ds[name].dtype.kind not in "iufc":
                raise UsageError(
                    f"argument {q.flag}: variable {name!r} has non-numeric dtype {ds[name].dtype}"
                )
        for a, b in itertools.pairwise(names):
            if ds[a].dims != ds[b].dims:
                raise UsageError(
                    f"argument {q.flag}: variables {a!r} {ds[a].dims} and {b!r} {ds[b].dims} are "
                    "on different dims"
                )
        if q.uses_vertical(names) and c.vertical is not None:
            v = c.vertical
            if v not in ds[names[0]].dims:
                raise UsageError(
                    f"argument --vertical: variable {names[0]!r} of {q.flag} has no dim {v!r}; "
                    f"its dims are {list(map(str, ds[names[0]].dims))}"
                )
            if v not in ds.coords:
                raise UsageError(f"argument --vertical: dim {v!r} has no coordinate")


def compute(
    c: Context,
    quantities: Sequence[tuple[str, tuple[str, ...]]],
    said: Callable[[BaseException], str] = str,
) -> dict[Hashable, Any]:
    """The lazy outputs of every quantity, by name. A lower layer's error becomes a
    UsageError naming the flag and its argument, the error in the words ``said`` gives it."""
    out: dict[Hashable, Any] = {}
    for key, names in quantities:
        q = by_key(key)
        try:
            results = q.compute(c, names)
        except UsageError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, NotImplementedError) as e:
            spelled = ",".join(names[: q.before]) + ":" * bool(q.before)
            spelled += ",".join(names[q.before :])
            raise UsageError(f"argument {q.flag} {spelled}: {said(e)}") from e
        for res in results:
            out[res.name] = res
    return out


def variables(quantities: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The input variables the quantities read, in order, without repeats."""
    return list(dict.fromkeys(n for _, names in quantities for n in names))


def task_counts(
    quantities: Sequence[tuple[str, tuple[str, ...]]], geospatial: bool
) -> tuple[int, int]:
    """(inputs, outputs) of ``cluster.memory.task_bytes`` for a run of ``quantities``: the
    input chunks one task reads together (every variable of the quantities, see
    :func:`read_once`) and the arrays the largest quantity's task holds besides the
    derivatives (its outputs and temporaries, and the metric terms with --geospatial)."""
    if not quantities:
        return 1, 0
    inputs = len(variables(quantities))
    held = max(by_key(k).held for k, _ in quantities) + int(geospatial)
    return inputs, max(held, 1)


def read_once(ds: Any, names: Sequence[str]) -> Any:
    """``ds`` with the variables ``names`` read together: one task per chunk reads the chunk
    of each (their reading tasks inlined), and each variable's chunk is taken from it, so
    that every output computed from them, whatever else it reads, shares that one read.
    Variables on the same dims and chunks are read together; others, NumPy-backed ones and
    names ``ds`` lacks are left as they are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({n: ("x", np.arange(4.0)) for n in "uv"}).chunk(x=2)
    >>> once = read_once(ds, ["u", "v"])
    >>> once.u.data.name.startswith("open_dataset-u"), float(once.v.sum())
    (True, 6.0)
    """
    import dask.array as da
    from dask.array.utils import meta_from_array
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    from ..compat import Task, TaskRef
    from ..core.graph import pack

    groups: dict[Any, list[str]] = {}
    for name in dict.fromkeys(names):
        if name not in ds.data_vars:
            continue  # refused, naming its flag, where the quantities are checked
        var = ds[name].variable
        if var.chunks is not None:
            groups.setdefault((var.dims, var.chunks), []).append(name)
    replaced: dict[str, Any] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        arrays = [ds[n].data for n in group]
        graphs = [a.__dask_graph__() for a in arrays]
        token = tokenize([a.name for a in arrays])
        read = f"read-{'+'.join(group)}-{token}"
        idxs = list(itertools.product(*map(range, arrays[0].numblocks)))
        dsk: dict[Any, Any] = {}
        inlined = {a.name for a in arrays}
        for i in idxs:
            parts: list[Any] = []
            for a, g in zip(arrays, graphs, strict=True):
                task = g.get((a.name, *i))
                if isinstance(task, Task):
                    parts.append(task)
                else:
                    parts.append(TaskRef((a.name, *i)))
                    inlined.discard(a.name)
            key = (read, *i)
            dsk[key] = Task(key, pack, *parts)
        graph = HighLevelGraph.from_collections(read, dsk, dependencies=arrays)
        # the layers whose every task runs inside the read go, the read depending on theirs
        inlined = {n for n in inlined if len(graph.layers.get(n, ())) == len(idxs)}
        layers = {k: v for k, v in graph.layers.items() if k not in inlined}
        deps = {k: set(v) - inlined for k, v in graph.dependencies.items() if k not in inlined}
        for n in inlined:
            deps[read] |= set(graph.dependencies.get(n, ())) - inlined
        graph = HighLevelGraph(layers, deps)
        for j, (name, a) in enumerate(zip(group, arrays, strict=True)):
            view = f"open_dataset-{name}-{tokenize(read, j)}"
            layer: dict[Any, Any] = {}
            for i in idxs:
                key = (view, *i)
                layer[key] = Task(key, _getitem, TaskRef((read, *i)), j)
            g = HighLevelGraph({**graph.layers, view: layer}, {**graph.dependencies, view: {read}})
            data = da.Array(g, view, a.chunks, meta=meta_from_array(a))
            replaced[name] = ds[name].copy(data=data)
    return ds.assign(replaced) if replaced else ds


def _getitem(pack: Sequence[Any], j: int) -> Any:
    return pack[j]
