"""The command line's request of derived outputs: geospatial gradients and the quantities (the
vector-calculus operators and the kinematics of :mod:`daskgrad.cli.quantities`), which
:func:`daskgrad.cli.pipeline.prepare` adds to the gradient Dataset of a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .quantities import by_key, variables


@dataclass
class Request:
    """What a run computes besides (or instead of) plain gradients: geospatial gradients and
    the quantities of :data:`daskgrad.cli.quantities.QUANTITIES`, as (key, variable names).
    ``divergence``, ``vorticity`` and ``laplacian`` are shorthands, added to ``quantities``."""

    geospatial: bool = False
    earth: str | None = None  # None: the grid_mapping's, else the default sphere
    crs: str | int | None = None
    winds: str | None = None
    grid: Any = None  # the Grid pipeline.derived_outputs found (its describe() goes in the summary)
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
