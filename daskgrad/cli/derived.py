"""The command line's derived outputs: geospatial gradients and the vector-calculus operators,
added to the gradient Dataset of a run (every output shares the input's chunk reads)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError


@dataclass
class Request:
    """What a run computes besides (or instead of) plain gradients."""

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

    @property
    def operators(self) -> bool:
        return bool(self.divergence or self.vorticity or self.laplacian)

    def variables(self) -> list[str]:
        """The input variables the operators read, in order, without repeats."""
        names = [n for pair in (*self.divergence, *self.vorticity) for n in pair]
        return list(dict.fromkeys([*names, *self.laplacian]))


def derived_outputs(
    ds: Any,
    request: Request,
    dims: Sequence[Hashable],
    gradient_vars: Sequence[str],
    opts: dict[str, Any],
    auto: bool = False,
) -> dict[Hashable, Any]:
    """The lazy DataArrays of ``request`` for the Dataset ``ds``: geospatial gradients of
    ``gradient_vars`` (when ``request.geospatial``) and the operators. ``dims``: the --dim dims
    of Cartesian operators (x then y for divergence/vorticity). ``opts``: accuracy, edge_order,
    nan_policy, and periodic ({dim: period}, Cartesian only). ``auto``: the geospatial
    gradients of every variable on the grid, not of each of ``gradient_vars``. UsageError for
    bad requests."""
    import daskgrad

    for name in request.variables():
        if name not in ds.data_vars:
            raise UsageError(
                f"unknown variable {name!r}; the input has {sorted(map(str, ds.data_vars))}"
            )
        if ds[name].dtype.kind not in "iufc":
            raise UsageError(f"variable {name!r} has non-numeric dtype {ds[name].dtype}")
    stencil: dict[str, Any] = {
        k: opts[k] for k in ("accuracy", "edge_order", "nan_policy") if k in opts
    }
    out: dict[Hashable, Any] = {}
    try:
        if request.geospatial:
            from ..xr.grid import Grid

            grid = request.grid = Grid(
                ds,
                latitude=request.latitude,
                longitude=request.longitude,
                earth=request.earth,
                crs=request.crs,
            )  # built once: its map factors are shared by every output
            geo: dict[str, Any] = dict(geospatial=True, grid=grid, winds=request.winds, **stencil)
            if gradient_vars:
                from ..xr.geospatial import geospatial_dataset

                # auto: every numeric variable on the horizontal grid, the others left out
                names = None if auto else list(gradient_vars)
                grads = geospatial_dataset(ds, names, grid=grid, **stencil)
                out.update(grads.data_vars)
        else:
            if request.operators and not dims:
                raise UsageError(
                    "--divergence, --vorticity and --laplacian need --dim (or --geospatial)"
                )
            if (request.divergence or request.vorticity) and len(dims) != 2:
                raise UsageError(
                    "--divergence and --vorticity need exactly two --dim dims, x then y; "
                    f"got {list(dims)}"
                )
            periodic = opts.get("periodic") or None
            geo = dict(**stencil, periodic=periodic)
        for kind, pairs in (("divergence", request.divergence), ("vorticity", request.vorticity)):
            for u, v in pairs:
                res = getattr(daskgrad, kind)(
                    ds[u], ds[v], dims=None if request.geospatial else list(dims), **geo
                )
                out[res.name] = res
        for f in request.laplacian:
            lap_dims = None if request.geospatial else [d for d in dims if d in ds[f].dims]
            res = daskgrad.laplacian(ds[f], dims=lap_dims, **geo)
            out[res.name] = res
    except UsageError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, NotImplementedError) as e:
        from .parser import said

        raise UsageError(said(e)) from e
    return out
