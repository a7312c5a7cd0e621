"""One check per option (issue 19): the command line and the API accept and refuse the same
values of each option, checked in one place, and word the refusal in their own terms: the
API names the keyword (``store_timeout=``), the command line the flag (``--store-timeout``).
The CLI's ``choices`` are the engine's own constants."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
import xarray as xr

import daskgrad
from daskgrad.cli import main
from daskgrad.errors import OptionError, OptionTypeError

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small zarr store: t(time, x) on an uneven x and a daily time axis, with lat/lon."""
    root = tmp_path_factory.mktemp("one_check")
    x = np.array([0.0, 1.0, 2.5, 4.0, 6.0, 7.0, 9.0, 10.0])
    time = np.datetime64("2000-01-01") + np.arange(6) * np.timedelta64(1, "D")
    rng = np.random.default_rng(1)
    ds = xr.Dataset(
        {"t": (("time", "x"), rng.random((6, 8)))},
        coords={"time": time, "x": x},
    )
    ds.to_zarr(root / "in.zarr", mode="w")
    lat = np.linspace(-30.0, 30.0, 7)
    lon = np.arange(0.0, 360.0, 45.0)
    geo = xr.Dataset(
        {"t": (("lat", "lon"), rng.random((7, 8)))},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )
    geo.to_zarr(root / "geo.zarr", mode="w")
    uv = xr.Dataset({k: (("y", "x"), rng.random((5, 6))) for k in ("u", "v")})
    uv.to_zarr(root / "uv.zarr", mode="w")
    return root, ds, geo


def cli(capsys, root, *args, input="in.zarr"):
    """Exit status and error line (without 'daskgrad: error: ') of an in-process run."""
    capsys.readouterr()
    code = main(
        ["run", str(root / input), str(root / "out.zarr"), "--overwrite", "--no-progress", *args]
    )
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("daskgrad: error: ")]
    return code, err[-1].removeprefix("daskgrad: error: ") if err else ""


def api(call):
    """None if ``call()`` succeeds, else the exception."""
    try:
        call()
    except Exception as e:
        return e
    return None


# ------------------------------------------------------------------ the same values refused


@pytest.mark.parametrize(
    ("value", "accepted"),
    [(2, True), (4, True), (6, True), (3, False), (10, False)],
)
def test_accuracy_refused_alike(capsys, data, value, accepted):
    root, ds, _ = data
    err = api(lambda: daskgrad.gradient(ds.t, dim="x", accuracy=value))
    code, line = cli(capsys, root, "--dim", "x", "--accuracy", str(value))
    assert (err is None) == accepted == (code == 0)
    if not accepted:
        assert isinstance(err, OptionError) and err.option == "accuracy"
        assert str(err) == f"accuracy must be one of 2, 4, 6, 8; got {value}"
        assert "--accuracy" in line and "accuracy=" not in line


def test_edge_order_with_accuracy_refused_alike(capsys, data):
    root, ds, _ = data
    err = api(lambda: daskgrad.gradient(ds.t, dim="x", accuracy=4, edge_order=2))
    code, line = cli(capsys, root, "--dim", "x", "--accuracy", "4", "--edge-order", "2")
    assert isinstance(err, OptionError) and err.option == "edge_order" and code == 2
    assert str(err).startswith("edge_order=2 applies to accuracy=2 only: with accuracy=4")
    assert line.startswith("--edge-order 2 applies to --accuracy 2 only: with --accuracy 4")


@pytest.mark.parametrize(
    ("unit", "accepted"),
    [("h", True), ("ps", True), ("us", True), ("Y", False), ("M", False), ("hours", False)],
)
def test_datetime_unit_refused_alike(capsys, data, unit, accepted):
    """numpy's fixed-length time units, the same set for datetime_unit= and --datetime-unit;
    the years and months of numpy's calendar units have no fixed length."""
    root, ds, _ = data
    err = api(lambda: daskgrad.gradient(ds.t, dim="time", datetime_unit=unit))
    code, line = cli(capsys, root, "--dim", "time", "--datetime-unit", unit)
    assert (err is None) == accepted == (code == 0), (err, line)
    if not accepted:
        assert isinstance(err, OptionError) and err.option == "datetime_unit"
        assert str(err) == (
            f"datetime_unit must be one of W, D, h, m, s, ms, us, ns, ps, fs, as; got {unit!r}"
        )
        assert line.startswith("argument --datetime-unit: invalid choice")


def test_datetime_unit_checked_without_a_time_coordinate(data):
    """A bad unit is refused even where no coordinate is a time (the CLI refuses it always)."""
    _, ds, _ = data
    with pytest.raises(OptionError, match=r"^datetime_unit must be one of .*; got 'Y'$"):
        daskgrad.gradient(ds.t, dim="x", datetime_unit="Y")
    with pytest.raises(OptionTypeError, match=r"^datetime_unit must be one of .*; got 3$"):
        daskgrad.gradient(ds.t, dim="x", datetime_unit=3)


@pytest.mark.parametrize(
    ("earth", "accepted"), [("sphere", True), ("WGS84", True), ("Sphere", True), ("mars", False)]
)
def test_earth_refused_alike(capsys, data, earth, accepted):
    """earth= is case-insensitive, and so is --earth."""
    root, _, geo = data
    err = api(lambda: daskgrad.geospatial_gradient(geo.t, earth=earth))
    code, line = cli(capsys, root, "--geospatial", "--earth", earth, input="geo.zarr")
    assert (err is None) == accepted == (code == 0), (err, line)
    if not accepted:
        assert isinstance(err, OptionError) and err.option == "earth"
        assert str(err) == "earth must be 'sphere' or 'wgs84'; got 'mars'"
        assert line.startswith("argument --earth: invalid choice: 'mars'")


def test_earth_results_alike(capsys, data):
    """--earth WGS84 computes what earth='WGS84' does (not only: is accepted)."""
    root, _, geo = data
    ddx, _ = daskgrad.geospatial_gradient(geo.t, earth="WGS84")
    assert cli(capsys, root, "--geospatial", "--earth", "WGS84", input="geo.zarr")[0] == 0
    out = xr.open_zarr(root / "out.zarr")
    np.testing.assert_allclose(out.dt_dx.values, ddx.values, rtol=1e-12)
    # and it is WGS84's: the eastward metre is N(φ)·cos φ per radian of longitude, N the
    # prime-vertical radius, where the sphere's is R·cos φ
    sphere, _ = daskgrad.geospatial_gradient(geo.t, earth="sphere")
    a, f = 6378137.0, 1 / 298.257223563
    phi = np.radians(geo.lat.values)[:, None]
    n = a / np.sqrt(1 - f * (2 - f) * np.sin(phi) ** 2)
    np.testing.assert_allclose(out.dt_dx.values, sphere.values * 6371008.8 / n, rtol=1e-9)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        ("3", "must be at least 5 seconds; got 3"),
        ("1e10", "must be less than 1e9 seconds; got 1e+10"),
        ("inf", "must be less than 1e9 seconds; got inf"),
        ("nan", "must be at least 5 seconds; got nan"),
    ],
)
def test_store_timeout_refused_alike(capsys, data, seconds, words):
    root, ds, _ = data
    err = api(lambda: daskgrad.to_zarr(ds, str(root / "api.zarr"), store_timeout=float(seconds)))
    code, line = cli(capsys, root, "--dim", "x", "--store-timeout", seconds)
    assert isinstance(err, OptionError) and err.option == "store_timeout"
    assert str(err) == f"to_zarr: store_timeout {words}"
    assert code == 2 and line == f"--store-timeout {words}"
    assert not (root / "api.zarr").exists()


def test_store_timeout_accepted_alike(capsys, data):
    root, ds, _ = data
    assert daskgrad.to_zarr(ds, str(root / "api5.zarr"), store_timeout=5.0) is not None
    assert cli(capsys, root, "--dim", "x", "--store-timeout", "5")[0] == 0


def test_store_timeout_of_the_wrong_type(data):
    root, ds, _ = data
    with pytest.raises(OptionTypeError, match=r"^to_zarr: store_timeout must be a number"):
        daskgrad.to_zarr(ds, str(root / "api.zarr"), store_timeout="60")


@pytest.mark.parametrize("fmt", [1, 4])
def test_zarr_format_refused_alike(capsys, data, fmt):
    root, ds, _ = data
    err = api(lambda: daskgrad.to_zarr(ds, str(root / "api.zarr"), zarr_format=fmt))
    code, line = cli(capsys, root, "--dim", "x", "--zarr-format", str(fmt))
    assert isinstance(err, OptionError) and err.option == "zarr_format"
    assert str(err) == f"to_zarr: zarr_format must be 2 or 3, got {fmt}"
    assert code == 2 and line.startswith(f"argument --zarr-format: invalid choice: {fmt}")


@pytest.mark.parametrize("kind", ["plain directory", "file"])
def test_overwrite_refused_alike(capsys, data, tmp_path, kind):
    """An existing OUTPUT that is no zarr store: the same rule, in each caller's words."""
    root, ds, _ = data
    out = tmp_path / "out.zarr"
    if kind == "file":
        out.write_text("not a store")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    err = api(lambda: daskgrad.to_zarr(ds, str(out), overwrite=True))
    capsys.readouterr()
    code = main(["run", str(root / "in.zarr"), str(out), "--dim", "x", "--overwrite"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    if kind == "file":
        tail = f"output {out} is not a zarr store (a file); not replacing it"
        assert str(err) == f"to_zarr: {tail}" and line == f"daskgrad: error: {tail}"
    else:
        what = (
            f"output {out} is a directory but not a zarr store (no zarr.json, .zgroup or "
            ".zarray at its root); "
        )
        assert str(err) == f"to_zarr: {what}overwrite=True replaces zarr stores only"
        assert line == f"daskgrad: error: {what}--overwrite replaces zarr stores only"
    assert code == 2 and (out / "notes.txt").exists() == (kind != "file")


@pytest.mark.parametrize(
    ("flags", "call"),
    [
        ((), lambda ds, dim: daskgrad.gradient(ds.u, dim=dim)),
        (("--vorticity", "u,v"), lambda ds, dim: daskgrad.vorticity(ds.u, ds.v, dim=dim)),
        (("--laplacian", "u"), lambda ds, dim: daskgrad.laplacian(ds.u, dim=dim)),
    ],
)
def test_repeated_dim_refused_alike(capsys, data, flags, call):
    """dim=["x", "x"] and --dim x --dim x: one check (where dims enter the xarray layer), for
    gradients and operators alike, naming the keyword or the flag."""
    root, _, _ = data
    uv = xr.open_zarr(root / "uv.zarr")
    err = api(lambda: call(uv, ["x", "x"]))
    code, line = cli(capsys, root, "--dim", "x", "--dim", "x", *flags, input="uv.zarr")
    assert isinstance(err, OptionError) and err.option == "dim"
    assert str(err) == "dim has repeated entries: ['x', 'x']"
    assert code == 2 and line.endswith("--dim has repeated entries: ['x', 'x']")


def test_operator_dim_not_in_the_input(data):
    root, _, _ = data
    uv = xr.open_zarr(root / "uv.zarr")
    with pytest.raises(OptionError) as caught:
        daskgrad.divergence(uv.u, uv.v, dim=("x", "z"))
    assert caught.value.option == "dim"
    assert str(caught.value) == "dim 'z' is not a dim of the input; its dims are ('y', 'x')"


def test_timedelta_data_name_the_option(data):
    """datetime data take numpy.gradient's arithmetic, accuracy 2 and nan_policy 'propagate'
    only: refused by the one check (core.plan), naming the option at fault."""
    from daskgrad.cli.parser import said

    t = np.datetime64("2000-01-01") + np.arange(6) * np.timedelta64(1, "h")
    for kw, option in (({"accuracy": 4}, "accuracy"), ({"nan_policy": "omit"}, "nan_policy")):
        with pytest.raises(OptionTypeError) as caught:
            daskgrad.gradient(t, **kw)
        assert caught.value.option == option
        assert "accuracy=2 and nan_policy='propagate' only" in str(caught.value)
        assert "--accuracy 2 and --nan-policy 'propagate' only" in said(caught.value)


# ------------------------------------------------------------------- checked in one place


def _metrics():
    spec = importlib.util.spec_from_file_location(
        "layout_metrics", ROOT / "benchmarks/layout_metrics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ONE_PLACE = {
    "accuracy": "core.plan",
    "edge_order": "core.plan",
    "nan_policy": "core.plan",
    "datetime_unit": "core.plan",
    "periodic": "core.plan",
    "dim": "core.plan",
    "earth": "core.earth",
    "spacing": "core.plan",
    "overwrite": "io.target",
    "zarr_format": "io.writer",
    "store_timeout": "io.writer",
}


def test_each_option_is_checked_in_one_module():
    """The raises that name each option are all in one module (benchmarks/layout_metrics.py
    counts them), and the CLI's choices of its flag come from a shared constant."""
    raising, choices = _metrics().checks()
    for option, module in ONE_PLACE.items():
        where = {f.rsplit(".", 1)[0] for f in raising[option]}
        assert where == {module}, (option, raising[option])
        assert all("(from " in c for c in choices[option]), (option, choices[option])


def test_choices_are_the_engines_constants():
    from daskgrad.cli.parser import build_parser
    from daskgrad.core.earth import EARTHS
    from daskgrad.core.plan import DATETIME_UNITS
    from daskgrad.core.stencil import ACCURACIES, EDGE_ORDERS, NAN_POLICIES
    from daskgrad.io.target import ZARR_FORMATS

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    flags = {a.dest: a for a in run._actions}
    assert tuple(flags["accuracy"].choices) == tuple(ACCURACIES)
    assert tuple(flags["edge_order"].choices) == tuple(EDGE_ORDERS)
    assert tuple(flags["nan_policy"].choices) == tuple(NAN_POLICIES)
    assert tuple(flags["datetime_unit"].choices) == DATETIME_UNITS
    assert tuple(flags["earth"].choices) == EARTHS
    assert tuple(flags["zarr_format"].choices) == ZARR_FORMATS


# ------------------------------------------- dim, spacing, periodic, earth: one check per layer


def test_operator_dim_count_refused_alike(capsys, data):
    """An operator's two dims, x then y: one check (core.plan.normalize_dims) for the API
    and the command line, each in its own words."""
    root, _, _ = data
    uv = xr.open_zarr(root / "uv.zarr")
    err = api(lambda: daskgrad.vorticity(uv.u, uv.v, dim=["x"]))
    code, line = cli(capsys, root, "--dim", "x", "--vorticity", "u,v", input="uv.zarr")
    assert isinstance(err, OptionError) and err.option == "dim"
    assert str(err) == "vorticity needs dim=(x, y), two dim names; got dim=['x']"
    assert code == 2
    assert line.endswith("vorticity needs --dim (x, y), two dim names; got --dim ['x']")


def test_array_operator_dims_name_the_option():
    """On arrays the operators' dims are checked by the core's plan (core.plan.normalize_dims)."""
    a = np.arange(12.0).reshape(3, 4)
    with pytest.raises(OptionError) as caught:
        daskgrad.laplacian(a, dim=())
    assert caught.value.option == "dim"
    assert str(caught.value) == "laplacian needs at least one dim; got dim=()"
    with pytest.raises(OptionError) as caught:
        daskgrad.divergence(a, a, dim=(0,))
    assert caught.value.option == "dim"
    assert str(caught.value) == "divergence needs dim=(x, y), two dims; got dim=(0,)"


def test_geospatial_operator_dims_name_the_option(data):
    _, _, geo = data
    with pytest.raises(OptionError) as caught:
        daskgrad.vorticity(geo.t, geo.t, geospatial=True, dim=("lat",))
    assert caught.value.option == "dim"
    assert str(caught.value).startswith(
        "vorticity with geospatial=True works on the horizontal dims ('lat', 'lon') of "
        "'lat'/'lon'; got dim=('lat',)"
    )


@pytest.mark.parametrize(
    ("spacing", "cls", "words"),
    [
        ({"q": 1.0}, OptionError, "spacing given for dim 'q' is not a dim of the input"),
        ({"time": 1.0}, OptionError, "spacing given for dim 'time', which is not differentiated"),
        ({"x": np.ones(3)}, OptionError, "spacing for dim 'x' must be a scalar or a 1-D array"),
        ([1.0], OptionTypeError, "spacing must be None, a scalar or a mapping"),
    ],
)
def test_xarray_spacing_refusals_name_the_option(data, spacing, cls, words):
    """spacing by dim name is checked by the one check of spacing (core.plan.normalize_spacing),
    which the xarray layer hands it to."""
    _, ds, _ = data
    with pytest.raises(cls) as caught:
        daskgrad.gradient(ds.t, dim="x", spacing=spacing)
    assert caught.value.option == "spacing" and str(caught.value).startswith(words)


def test_periodic_without_a_period_refused_alike(capsys, data):
    """A periodic dim whose coordinate is uneven needs its period: the same refusal, naming
    periodic= or --periodic (not the API's words on the command line)."""
    root, ds, _ = data
    err = api(lambda: daskgrad.gradient(ds.t, dim="x", periodic="x"))
    code, line = cli(capsys, root, "--dim", "x", "--periodic", "x")
    why = "dim 'x' has a non-uniform coordinate, so its period is unknown; give its period in"
    assert isinstance(err, OptionError) and err.option == "periodic"
    assert str(err) == f"periodic {why} periodic"
    assert code == 2 and line == f"--periodic {why} --periodic"


def test_periodic_with_a_period_accepted_alike(capsys, data):
    """periodic={'x': 11.0} and --periodic x=11: accepted and computed alike; checked against
    numpy on the points away from the wrap (where the wrap step is not used)."""
    root, ds, _ = data
    (api_dx,) = daskgrad.gradient(ds.t, dim="x", periodic={"x": 11.0})
    assert cli(capsys, root, "--dim", "x", "--periodic", "x=11")[0] == 0
    out = xr.open_zarr(root / "out.zarr")
    np.testing.assert_allclose(out.dt_dx.values, api_dx.values, rtol=1e-12)
    inner = np.gradient(ds.t.values, ds.x.values, axis=1)[:, 1:-1]
    np.testing.assert_allclose(api_dx.values[:, 1:-1], inner, rtol=1e-12)


@pytest.mark.parametrize(
    ("periodic", "cls", "words"),
    [
        ("lon", OptionTypeError, "periodic must be None, True or False; got 'lon'"),
        (True, OptionError, "periodic=True but longitude 'lon' does not cover the globe"),
    ],
)
def test_geospatial_periodic_names_the_option(data, periodic, cls, words):
    """A geospatial grid's periodic (does the longitude wrap?) is checked by the one check of
    periodic (core.plan.normalize_periodic), given what the grid knows of its longitude."""
    _, _, geo = data
    regional = geo.t.isel(lon=slice(0, 4))
    with pytest.raises(cls) as caught:
        daskgrad.geospatial_gradient(regional, periodic=periodic)
    assert caught.value.option == "periodic" and str(caught.value).startswith(words)


def test_grid_summary_names_the_earth_in_each_callers_words(capsys, data):
    """Where the earth came from: the earth/radius keywords given for the API, flags in the
    summary (only --earth: the command line has no --radius)."""
    root, _, geo = data
    grid = daskgrad.Grid(geo, earth="wgs84")
    assert grid.describe().endswith("(earth)")
    capsys.readouterr()
    code = main(["run", str(root / "geo.zarr"), str(root / "out.zarr"), "--geospatial", "--earth",
                 "WGS84", "--overwrite", "--no-progress"])  # fmt: skip
    assert code == 0
    said = capsys.readouterr()
    summary = [ln for ln in (said.out + said.err).splitlines() if "WGS84 ellipsoid" in ln]
    assert summary and summary[-1].endswith("(--earth)"), said
    assert "earth=" not in said.out + said.err


ONE_FUNCTION = {  # the one function that checks each option, for arrays and xarray alike
    "accuracy": "core.plan.normalize_accuracy",
    "edge_order": "core.plan.normalize_edge_order",
    "nan_policy": "core.plan.normalize_nan_policy",
    "periodic": "core.plan.normalize_periodic",
    "dim": "core.plan.normalize_dims",
    "earth": "core.earth.make_earth",
    "spacing": "core.plan.normalize_spacing",
}


@pytest.mark.parametrize("option", sorted(ONE_FUNCTION))
def test_option_checked_in_one_function(option):
    """Every raise that names the option is in one function (benchmarks/layout_metrics.py
    counts them): the array core's, for arrays, xarray objects, the geospatial grid and the
    command line; the layers above translate (dim names to axes, coordinates to spacing)."""
    raising, _ = _metrics().checks()
    assert raising[option] == [ONE_FUNCTION[option]], raising[option]


def test_flag_rules_are_the_command_lines_own():
    """The raises the metric lists apart as flag rules (which flags go together) are
    UsageErrors of the command line only, and each names two flags."""
    rules: dict = {}
    _metrics().checks(rules)
    every = {f for found in rules.values() for f in found}
    assert every and all(f.startswith("cli.") for f in every), every


def test_dims_alias_names_the_alias():
    a = np.ones((3, 4))
    with pytest.raises(OptionTypeError) as caught:
        daskgrad.laplacian(a, dim=0, dims=1)
    assert caught.value.option == "dims" and isinstance(caught.value, TypeError)
    assert str(caught.value) == "give dim or its alias dims, not both (dim=0, dims=1)"


def test_periodic_dim_not_differentiated_refused_alike(capsys, data):
    """--periodic nope names the flag (it said 'unknown dim'), in the engine's words."""
    root, ds, _ = data
    err = api(lambda: daskgrad.gradient(ds.t, dim="x", periodic="nope"))
    code, line = cli(capsys, root, "--dim", "x", "--periodic", "nope")
    assert isinstance(err, OptionError) and err.option == "periodic"
    assert str(err) == "periodic dim 'nope' is not one of the differentiated dims ['x']"
    assert code == 2 and line == "--periodic dim 'nope' is not one of the differentiated dims ['x']"


def test_geospatial_no_periodic_alike(capsys, data):
    """--geospatial --no-periodic is periodic=False: a global longitude is not wrapped, its
    seam columns take numpy's one-sided differences (the default wraps them)."""
    root, _, geo = data
    ddx, _ = daskgrad.geospatial_gradient(geo.t, periodic=False)
    assert cli(capsys, root, "--geospatial", "--no-periodic", input="geo.zarr")[0] == 0
    out = xr.open_zarr(root / "out.zarr")
    np.testing.assert_allclose(out.dt_dx.values, ddx.values, rtol=1e-12)
    r, phi = 6371008.8, np.radians(geo.lat.values)[:, None]
    oracle = np.gradient(geo.t.values, np.radians(geo.lon.values), axis=1) / (r * np.cos(phi))
    np.testing.assert_allclose(ddx.values, oracle, rtol=1e-10)
    assert cli(capsys, root, "--geospatial", input="geo.zarr")[0] == 0
    wrapped = xr.open_zarr(root / "out.zarr").dt_dx.values
    assert not np.allclose(wrapped[:, 0], oracle[:, 0])
    code, line = cli(capsys, root, "--dim", "x", "--periodic", "x=11", "--no-periodic")
    assert code == 2 and line == "argument --no-periodic: not allowed with argument --periodic"


def test_no_periodic_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        from daskgrad.cli.parser import build_parser

        build_parser().parse_args(["run", "--help"])
    assert "--no-periodic" in capsys.readouterr().out
