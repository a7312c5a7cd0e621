"""The command line's derived outputs: geospatial gradients and the quantities (the
vector-calculus operators and the kinematics of :mod:`daskgrad.cli.quantities`), added to the
gradient Dataset of a run (every output shares the input's chunk reads)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .quantities import Context, by_key, check, compute, variables
from .wording import said


@dataclass
class Request:
    """What a run computes besides (or instead of) plain gradients: geospatial gradients and
    the quantities of :data:`daskgrad.cli.quantities.QUANTITIES`, as (key, variable names).
    ``divergence``, ``vorticity`` and ``laplacian`` are shorthands, added to ``quantities``."""

    geospatial: bool = False
    earth: str | None = None  # None: the grid_mapping's, else the default sphere
    crs: str | int | None = None
    winds: str | None = None
    grid: Any = None  # the Grid derived_outputs found (its describe() goes in the summary)
    latitude: str | None = None
    longitude: str | None = None
    divergence: list[tuple[str, str]] = field(default_factory=list)
    vorticity: list[tuple[str, str]] = field(default_factory=list)
    laplacian: list[str] = field(default_factory=list)
    quantities: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    vertical: str | None = None
    periodic: bool | None = None  # the grid's wrap (--no-periodic: False)

    def __post_init__(self) -> None:
        given = [
            *(("divergence", tuple(p)) for p in self.divergence),
            *(("vorticity", tuple(p)) for p in self.vorticity),
            *(("laplacian", (f,)) for f in self.laplacian),
        ]
        self.quantities = list(dict.fromkeys([*given, *map(_item, self.quantities)]))

    @property
    def operators(self) -> bool:
        return bool(self.quantities)

    def variables(self) -> list[str]:
        """The input variables the quantities read, in order, without repeats."""
        return variables(self.quantities)

    @property
    def vertical_dims(self) -> list[str]:
        """[--vertical] when a quantity differentiates along it, else []."""
        used = any(by_key(k).differentiates_vertical(n) for k, n in self.quantities)
        return [self.vertical] if used and self.vertical is not None else []


def check_vertical(ds: Any, request: Request) -> None:
    """Refuse a --vertical dim the input lacks, naming the flag.

    Examples
    --------
    >>> import xarray as xr
    >>> check_vertical(xr.Dataset({"t": ("level", [1.0])}), Request(vertical="level"))
    """
    v = request.vertical
    if v is not None and v not in ds.dims:
        raise UsageError(
            f"argument --vertical: unknown dim {v!r}; the input has dims "
            f"{sorted(map(str, ds.dims))}"
        )


def _item(item: tuple[str, Sequence[str]]) -> tuple[str, tuple[str, ...]]:
    return item[0], tuple(item[1])


def derived_outputs(
    ds: Any,
    request: Request,
    dims: Sequence[Hashable],
    gradient_vars: Sequence[str],
    opts: dict[str, Any],
    auto: bool = False,
    taken: Sequence[Hashable] = (),
) -> dict[Hashable, Any]:
    """The lazy DataArrays of ``request`` for the Dataset ``ds``: geospatial gradients of
    ``gradient_vars`` (when ``request.geospatial``) and the quantities. ``dims``: the --dim
    dims of Cartesian quantities (x then y). ``opts``: accuracy, edge_order, nan_policy, and
    periodic ({dim: period}, Cartesian only). ``auto``: the geospatial gradients of every
    variable on the grid, not of each of ``gradient_vars``. ``taken``: the names of the
    plain gradients the run writes besides. UsageError for bad requests, naming the flag,
    and for two outputs of one name (naming both flags)."""
    stencil: dict[str, Any] = {
        k: opts[k] for k in ("accuracy", "edge_order", "nan_policy") if k in opts
    }
    if request.geospatial:
        context = _geospatial_context(ds, request, stencil)
    else:
        periodic = opts.get("periodic") or None
        context = Context(ds, list(dims), dict(**stencil, periodic=periodic), request.vertical)
    check(context, request.quantities)
    out: dict[Hashable, Any] = {}
    try:
        if request.geospatial and gradient_vars:
            from ..xr.geospatial import geospatial_dataset

            # auto: every numeric variable on the horizontal grid, the others left out
            names = None if auto else list(gradient_vars)
            grads = geospatial_dataset(ds, names, grid=request.grid, **stencil)
            out.update(grads.data_vars)
    except (ValueError, TypeError, IndexError, KeyError, NotImplementedError) as e:
        raise UsageError(said(e)) from e
    return _quantities(context, request, out, taken)


def _geospatial_context(ds: Any, request: Request, stencil: dict[str, Any]) -> Context:
    """The Context of a --geospatial run: its Grid, built once (its map factors are shared by
    every output) and set as ``request.grid``, checked against --winds and --vertical."""
    from ..xr.grid import Grid, ProjectionCoordinatesMissing

    try:  # built once: its map factors are shared by every output
        request.grid = Grid(
            ds,
            latitude=request.latitude,
            longitude=request.longitude,
            earth=request.earth,
            crs=request.crs,
            periodic=request.periodic,
        )
    except ProjectionCoordinatesMissing as e:  # the API's words ask for x=/y=
        where = f"--crs {request.crs}" if e.given else "the input's grid_mapping"
        raise UsageError(
            f"{where} is a projected CRS ({e.crs_name!r}) but the input has no projection "
            f"x/y coordinates: daskgrad needs {e.NEEDS}; its coordinates are {e.coords}; "
            "add them to the file (x, y in metres of that projection, e.g. for WRF as in "
            "the README's recipe)"
        ) from e
    except (ValueError, TypeError, KeyError, NotImplementedError) as e:
        raise UsageError(said(e)) from e
    unknown = request.grid.frame_unknown
    if request.winds == "grid" and unknown is not None:
        raise UsageError(
            f"--winds grid needs the directions of the grid's x and y, which are unknown on "
            f"{unknown}: give the projection (a grid_mapping variable in the file, or "
            "--crs with projection x/y coordinates: standard_name projection_x_coordinate/"
            "projection_y_coordinate in m or km), or store eastward/northward winds and "
            "pass --winds earth"
        )
    horizontal = [str(d) for d in request.grid.dims]
    if request.vertical is not None and request.vertical in horizontal:
        raise UsageError(
            f"argument --vertical: {request.vertical!r} is a horizontal dim of the "
            f"--geospatial grid (its dims are {horizontal}); the vertical dim is another "
            "one, e.g. the pressure level's"
        )
    geo: dict[str, Any] = dict(geospatial=True, grid=request.grid, winds=request.winds, **stencil)
    return Context(ds, None, geo, request.vertical)


def _quantities(
    context: Context, request: Request, out: dict[Hashable, Any], taken: Sequence[Hashable]
) -> dict[Hashable, Any]:
    """``out`` with the quantities of ``request``, every output under a name of its own: a
    second one of a name would overwrite the first (UsageError naming both flags)."""
    origin = {n: "the gradients of --var" for n in taken}
    origin.update((n, "the gradients of --var") for n in out)
    for key, args in request.quantities:
        results = compute(context, [(key, args)], said)
        flag = spelled(key, args)
        for name in results:
            if name in origin:
                raise UsageError(
                    f"argument {flag}: its output {str(name)!r} is also that of {origin[name]}; "
                    "a run writes one output per name: ask for them in separate runs"
                )
            origin[name] = flag
        out.update(results)
    return out


def spelled(key: str, names: Sequence[str]) -> str:
    """A quantity's flag as the command line spells it.

    Examples
    --------
    >>> spelled("advection", ("t", "u", "v"))
    '--advection t:u,v'
    >>> spelled("deformation", ("u", "v"))
    '--deformation u,v'
    """
    q = by_key(key)
    head = ",".join(names[: q.before]) + ":" * bool(q.before)
    return f"{q.flag} {head}{','.join(names[q.before :])}"
