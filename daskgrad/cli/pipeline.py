"""The pipeline behind the command line: :func:`prepare` checks a request against an input and
builds the lazy output Dataset (a :class:`~daskgrad.cli.jobs.Job`), the gradients and the
derived outputs of :class:`~daskgrad.cli.derived.Request`; the other steps are one
job per module: ``opening`` (open an input lazily), ``checks`` (absent and very large input
chunks), ``batching`` (several stored chunks per task). Their names are re-exported here for
the callers that import them from ``daskgrad.cli.pipeline``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ..errors import UsageError
from .batching import BATCH_BYTES, batch_chunks, keep_stored_chunks
from .checks import BIG_CHUNK, check_input
from .derived import Request, spelled
from .jobs import Job, largest_chunk
from .opening import (
    NETCDF_CHUNK,
    SPLIT_BYTES,
    groups_hint,
    known_dims,
    list_groups,
    netcdf_chunks,
    open_input,
)
from .quantities import Context, check, compute, read_once, task_counts
from .wording import Flags, said, say_warnings

__all__ = [
    "BATCH_BYTES",
    "BIG_CHUNK",
    "NETCDF_CHUNK",
    "SPLIT_BYTES",
    "Job",
    "batch_chunks",
    "check_input",
    "groups_hint",
    "keep_stored_chunks",
    "known_dims",
    "largest_chunk",
    "list_groups",
    "netcdf_chunks",
    "open_input",
    "prepare",
    "say_warnings",
]


def prepare(
    ds: Any,
    dims: Sequence[str],
    variables: Sequence[str] | None = None,
    edge_order: int = 1,
    periodic: dict[str, float | None] | None = None,
    datetime_unit: str | None = None,
    accuracy: int = 2,
    nan_policy: str = "propagate",
    request: Request | None = None,
) -> Job:
    """Check names against ``ds`` and build the lazy gradient Dataset, with the geospatial
    gradients and operators of ``request``. The options and the coordinates are checked where
    they enter the engine (core.plan), as the graph is built: before any cluster starts.

    Raises UsageError, naming the culprit, for anything wrong with the request or the input.
    """
    from ..api import gradient

    request = request or Request()
    if request.geospatial or request.operators:
        return _prepare_derived(
            ds, dims, variables, edge_order, periodic, accuracy, nan_policy, request
        )
    periodic = periodic or {}
    # --dim given twice, a --periodic dim not differentiated: refused by the engine's checks
    known_dims(ds, dims)
    if variables:
        for v in variables:
            if v not in ds.data_vars:
                raise UsageError(
                    f"unknown variable {v!r}; the input has {sorted(map(str, ds.data_vars))}"
                    + groups_hint(ds)
                )
            if not set(ds[v].dims) & set(dims):
                raise UsageError(f"variable {v!r} has none of the dims {list(dims)}")
            if ds[v].dtype.kind not in "iufc":
                raise UsageError(f"variable {v!r} has non-numeric dtype {ds[v].dtype}")
    else:
        variables = [
            str(v)
            for v, da in ds.data_vars.items()
            if da.dtype.kind in "iufc" and set(da.dims) & set(dims)
        ]
        if not variables:
            raise UsageError(
                f"no numeric variable in the input has any of the dims {list(dims)}"
                + groups_hint(ds)
            )
    source = ds[variables]
    try:
        per = periodic or None
        result = gradient(
            source,
            dim=list(dims),
            edge_order=edge_order,
            periodic=per,
            datetime_unit=datetime_unit,
            accuracy=accuracy,
            nan_policy=nan_policy,
        )
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise UsageError(said(e)) from e
    result.attrs = {**ds.attrs, **result.attrs}
    keep_grid_mapping(ds, variables, result)
    _finish(result)
    return Job(source, result, list(dims), accuracy=accuracy, nan_policy=nan_policy)


def keep_grid_mapping(ds: Any, inputs: Sequence[str], result: Any, grid: Any = None) -> None:
    """The CF grid-mapping variables that the variables ``inputs`` of ``ds`` name, kept in
    ``result`` (as in the input: a variable without dims), and each output on such a grid
    given the ``grid_mapping`` attribute of its input, so that tools (MetPy's ``parse_cf``,
    cartopy) place the results. An output is on a mapping's grid when it has the dims its
    inputs share (``grid.dims``, the horizontal ones, when a geospatial grid was found);
    an output on the grids of two mappings is left without."""
    from ..xr.cf import mapping_name

    refs: dict[str, Any] = {}  # the attribute as written -> the dims of the grid it names
    for name in inputs:
        var = ds[name]
        ref = var.attrs.get("grid_mapping", var.encoding.get("grid_mapping"))
        mapping = mapping_name(ref)
        if mapping is None or mapping not in ds.variables:
            continue
        dims = set(var.dims) if grid is None else set(grid.dims) & set(var.dims)
        refs[ref] = dims if ref not in refs else refs[ref] & dims
        if mapping not in result.variables:
            result[mapping] = ds[mapping].variable
    for var in result.data_vars.values():
        if var.ndim == 0:
            continue
        found = [ref for ref, dims in refs.items() if dims and dims <= set(var.dims)]
        if len(found) == 1 and "grid_mapping" not in var.encoding:
            var.attrs["grid_mapping"] = found[0]


def _finish(result) -> None:
    """No encodings from the input; regular chunks, as zarr needs (equal sizes, the last one
    possibly smaller)."""
    for name in result.variables:
        result[name].encoding = {}
    for name, var in result.data_vars.items():
        chunks = var.chunks or ()
        if any(len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]) for c in chunks):
            result[name] = var.chunk({d: c[0] for d, c in zip(var.dims, chunks, strict=True)})


def _prepare_derived(ds, dims, variables, edge_order, periodic, accuracy, nan_policy, request):
    """A run with --geospatial or operators: plain or geospatial gradients of ``variables``
    (none unless named, when operators are asked for), then the operators."""
    import xarray as xr

    periodic = periodic or {}
    known_dims(ds, [*dims, *([request.vertical] if request.vertical else [])])
    # every input chunk of the quantities read once, by one task all their outputs share
    ds = read_once(ds, request.variables())
    opts = {"accuracy": accuracy, "edge_order": edge_order, "nan_policy": nan_policy}
    grads: dict = {}
    names = list(variables or [])
    if not names and not request.operators:  # --geospatial alone: every variable it can
        names = [str(v) for v, a in ds.data_vars.items() if a.dtype.kind in "iufc"]
    if names and not request.geospatial:
        job = prepare(ds, dims, names, edge_order, periodic, None, accuracy, nan_policy)
        grads.update(job.result.data_vars)
    outputs = derived_outputs(
        ds,
        request,
        dims,
        names if request.geospatial else [],
        {**opts, "periodic": periodic},
        auto=not variables,
        taken=list(grads),
    )
    grads.update(outputs)
    used = list(dict.fromkeys([*names, *request.variables()]))
    result = xr.Dataset(grads, coords=ds.coords, attrs=dict(ds.attrs))
    keep_grid_mapping(ds, used, result, request.grid)
    _finish(result)
    job_dims = list(dims)
    if request.grid is not None:
        job_dims = [str(d) for d in request.grid.dims]
    job_dims += [d for d in request.vertical_dims if d not in job_dims]
    job = Job(ds[used], result, job_dims, accuracy=accuracy, nan_policy=nan_policy)
    if request.grid is not None:
        job.grid = request.grid.describe(Flags)
    # one task reads the chunks of every input of the quantities; a quantity's outputs and
    # temporaries are held besides its derivatives (a geospatial one's metric terms too)
    job.inputs, job.outputs = task_counts(request.quantities, request.geospatial)
    return job


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
        options = dict(**stencil, periodic=periodic)
        context = Context(ds, list(dims), options, request.vertical, public_functions())
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
    return Context(ds, None, geo, request.vertical, public_functions())


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


def public_functions() -> dict[str, Callable[..., Any]]:
    """daskgrad's public functions of the quantities, by name, from the modules that define
    them (those of ``daskgrad.__all__``)."""
    from .. import kinematics, kinematics_vertical, operators

    modules = (operators, kinematics, kinematics_vertical)
    return {name: getattr(module, name) for module in modules for name in module.__all__}
