"""Issue 19, the layout's depth: the import graph stays as flat as the flattening left it, and
a grid_mapping named by the data but missing is an error that knows its option."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import daskgrad  # noqa: E402
from daskgrad.cli.wording import said  # noqa: E402
from daskgrad.errors import OptionError  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]

# the depths reached (benchmarks/layout_metrics.py): 11 and 26 before the flattening (25 as the
# metric counted then, blind to a function's ``import daskgrad``), 10 and 15 after it, 8 and 11
# after its first round, 7 and 10 now. The core is 5 levels (core.kinematics ->
# core.derivatives -> core.graph -> core.kernel -> core.stencil; what every layer asks of an
# array, the latitude helpers and the checks of the inputs live in leaves and core.plan);
# above it one level each: xr, the public functions, cli.pipeline (which calls them, so the
# command line accepts what the API does), cli.app, __main__. At module level: __init__ ->
# accessor -> the public functions -> core.kinematics -> core.derivatives -> core.plan -> errors.
MODULE_LEVEL_DEPTH = 7
FUNCTION_LEVEL_DEPTH = 10


def layout_metrics():
    spec = importlib.util.spec_from_file_location(
        "layout_metrics", ROOT / "benchmarks" / "layout_metrics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "module_level_only, most", [(True, MODULE_LEVEL_DEPTH), (False, FUNCTION_LEVEL_DEPTH)]
)
def test_import_depth_stays_flat(module_level_only, most):
    metrics = layout_metrics()
    chain = metrics.longest_chain(metrics.import_graph(module_level_only=module_level_only))
    assert len(chain) <= most, " -> ".join(chain)


def test_layout_metrics_counts_a_plain_import_of_the_package(tmp_path, monkeypatch):
    """``import daskgrad`` inside a function is a dependency on the package's __init__ (and
    through it on the whole API): the depth counts it."""
    pkg = tmp_path / "daskgrad"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import api\n")
    (pkg / "api.py").write_text("X = 1\n")
    (pkg / "cli" / "__init__.py").write_text("")
    (pkg / "cli" / "table.py").write_text("def f():\n    import daskgrad\n    return daskgrad\n")
    metrics = layout_metrics()
    monkeypatch.setattr(metrics, "PKG", pkg)
    graph = metrics.import_graph(module_level_only=False)
    assert graph["cli.table"] == {"__init__"}
    assert metrics.longest_chain(graph) == ["cli.table", "__init__", "api"]


def projected(grid_mapping: str = "crs") -> xr.Dataset:
    x = np.arange(-3.0, 4.0) * 3000.0
    return xr.Dataset(
        {"T": (("y", "x"), np.zeros((7, 7)), {"grid_mapping": grid_mapping})},
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", x, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
    )


def latlon(grid_mapping: str = "crs") -> xr.Dataset:
    return xr.Dataset(
        {"T": (("lat", "lon"), np.zeros((3, 4)), {"grid_mapping": grid_mapping})},
        coords={"lat": [0.0, 10.0, 20.0], "lon": [0.0, 10.0, 20.0, 30.0]},
    )


@pytest.mark.parametrize("make", [projected, latlon], ids=["projected", "latlon"])
def test_missing_grid_mapping_names_the_variable_and_its_option(make):
    with pytest.raises(OptionError) as info:
        daskgrad.Grid(make("lcc"))
    e = info.value
    assert isinstance(e, ValueError)  # what it was before: callers catching ValueError hold
    assert e.option == "crs"
    message = str(e)
    assert "\n" not in message
    assert "variable 'T'" in message and "grid_mapping 'lcc'" in message
    assert "pass crs" in message
    assert "pass --crs" in said(e)  # the command line words the option as its flag


def test_missing_grid_mapping_through_the_gradient_too():
    with pytest.raises(OptionError, match="grid_mapping 'lcc'"):
        daskgrad.geospatial_gradient(latlon("lcc"))
