"""One check per option: the command line offers the core's constants, the API and the command
line accept and refuse the same coordinates, and an option's error is worded by its caller."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import daskgrad
from daskgrad.cli.app import main
from daskgrad.cli.parser import Flags, build_parser, said
from daskgrad.cli.pipeline import prepare
from daskgrad.core import stencil
from daskgrad.errors import OptionError, UsageError

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


def _run_parser_action(flag: str):
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    (action,) = [a for a in run._actions if flag in a.option_strings]
    return action


@pytest.mark.parametrize(
    "flag, constant",
    [
        ("--accuracy", "ACCURACIES"),
        ("--nan-policy", "NAN_POLICIES"),
        ("--edge-order", "EDGE_ORDERS"),
    ],
)
def test_cli_choices_are_the_core_constants(flag, constant):
    """The same object, not a copy that could drift from what core.plan accepts."""
    assert _run_parser_action(flag).choices is getattr(stencil, constant)


def test_every_choice_the_cli_offers_is_one_the_plan_accepts():
    f = np.arange(12.0) ** 2
    for accuracy in _run_parser_action("--accuracy").choices:
        for nan_policy in _run_parser_action("--nan-policy").choices:
            (g,) = np.atleast_1d(daskgrad.gradient(f, accuracy=accuracy, nan_policy=nan_policy))
            np.testing.assert_allclose(g[6], 12.0)  # exact for a quadratic: d(x^2)/dx at 6


COORDS = {
    "increasing": ([0.0, 1.0, 3.0, 4.0, 7.0, 8.0], None),
    "decreasing": ([8.0, 7.0, 4.0, 3.0, 1.0, 0.0], None),  # numpy.gradient's own tests use these
    "non-monotonic": ([0.0, 2.0, 1.0, 3.0, 4.0, 5.0], "not monotonic"),
    "repeated": ([0.0, 1.0, 1.0, 3.0, 4.0, 5.0], "repeats the value 1.0"),
}


def _dataset(x) -> xr.Dataset:
    x = np.asarray(x)
    return xr.Dataset({"t": (("time", "x"), np.outer(np.arange(1.0, 5.0), x**2))}, {"x": x})


def _api_refusals(x) -> list[str | None]:
    """What each API entry point says of the coordinate ``x``: None where it accepts it, and
    then its result is checked against numpy.gradient."""
    ds = _dataset(x)
    x, t = np.asarray(x), ds.t.values
    calls = [
        lambda: daskgrad.np_gradient(t, x, axis=1),
        lambda: daskgrad.gradient(t, spacing=[x], dim=1)[0],
        lambda: daskgrad.gradient(ds.t, dim="x")[0].values,
        lambda: daskgrad.gradient(ds.chunk({"time": 1}), dim="x")["dt_dx"].values,
    ]
    out: list[str | None] = []
    for call in calls:
        try:
            g = call()
        except ValueError as e:
            assert isinstance(e, OptionError) and e.option == "spacing", repr(e)
            out.append(str(e))
            continue
        np.testing.assert_allclose(g, np.gradient(t, x, axis=1))
        out.append(None)
    return out


@pytest.mark.parametrize("case", list(COORDS))
def test_the_api_and_the_cli_accept_and_refuse_the_same_coordinates(case, tmp_path, capsys):
    x, refusal = COORDS[case]
    api = _api_refusals(x)
    ds = _dataset(x)
    path = tmp_path / "in.zarr"
    ds.to_zarr(path)
    out = tmp_path / "out.zarr"
    if refusal is None:
        assert api == [None] * 4
        # the command line's checks (all of them run before a cluster starts) let it through
        job = prepare(xr.open_zarr(path), ["x"])
        np.testing.assert_allclose(
            job.result["dt_dx"].values, np.gradient(ds.t.values, np.asarray(x), axis=-1)
        )
        return
    assert all(a is not None and refusal in a for a in api), api
    with pytest.raises(UsageError, match=re.escape(refusal)):
        prepare(xr.open_zarr(path), ["x"])
    code = main(["run", str(path), str(out), "--dim", "x", "--no-progress", "--workers", "1"])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "coordinate 'x'" in line and refusal in line, line
    assert not out.exists()


def test_an_option_error_is_worded_by_its_caller(tmp_path, capsys):
    """The core raises one error; the API says ``edge_order=2``, the command line
    ``--edge-order 2``, and neither translates the other's words."""
    with pytest.raises(OptionError) as err:
        daskgrad.gradient(np.arange(6.0), accuracy=4, edge_order=2)
    e = err.value
    assert e.option == "edge_order"
    assert str(e) == e.message and str(e).startswith("edge_order=2 applies to accuracy=2 only")
    assert "leave edge_order at its default" in str(e) and "--" not in str(e)
    assert e.worded(Flags).startswith("--edge-order 2 applies to --accuracy 2 only")
    # it survives pickling (dask sends errors between processes) with its option and words
    again = pickle.loads(pickle.dumps(e))
    assert (again.option, str(again), said(again)) == (e.option, str(e), said(e))

    # the xarray layer names the dim, the command line too
    da = xr.DataArray(np.arange(3.0), dims="depth")
    with pytest.raises(
        OptionError, match=r"^dim 'depth' has 3 points; accuracy=4 needs at least 5"
    ):
        daskgrad.gradient(da, accuracy=4)
    path = tmp_path / "in.zarr"
    da.to_dataset(name="t").to_zarr(path)
    for args, words in (
        (["--accuracy", "4"], "dim 'depth' has 3 points; --accuracy 4 needs at least 5"),
        (["--accuracy", "4", "--edge-order", "2"], "--edge-order 2 applies to --accuracy 2 only"),
    ):
        code = main(["run", str(path), str(tmp_path / "o.zarr"), "--dim", "depth", *args])
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and words in line and "=" not in line, line

    # io's errors too: an existing output (to_zarr: overwrite=True; the command line: --overwrite)
    taken = tmp_path / "taken.zarr"
    da.to_dataset(name="t").to_zarr(taken)
    with pytest.raises(ValueError, match=r"exists; pass overwrite=True to replace it$"):
        daskgrad.to_zarr(da.to_dataset(name="t"), taken)
    code = main(["run", str(path), str(taken), "--dim", "depth"])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and line.endswith("exists; pass --overwrite to replace it"), line


def test_no_layer_translates_another_layers_words():
    """Messages are worded by their caller, not rewritten with str.replace on their way up."""
    pattern = re.compile(r"\.replace\(\s*f?['\"][^'\"]*(--[a-z]|[a-z_]+=)")
    found = [
        f"{p.name}:{i}"
        for p in Path(daskgrad.__file__).parent.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
