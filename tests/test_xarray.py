"""The xarray layer against DataArray.differentiate and numpy.gradient."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import daskgrad  # noqa: E402
from daskgrad.xr.coords import _divide_plain, divide_units  # noqa: E402
from daskgrad.xr.gradient import gradient_xarray  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402


def assert_close(ours, ref, f, step):
    """rtol 1e-10, atol 1e-10·max|f|/min|step| (the README's accuracy rule)."""
    step = np.asarray(step, dtype=float)
    hmin = np.min(np.abs(np.diff(step))) if step.ndim else abs(float(step))
    atol = 1e-10 * float(np.max(np.abs(np.asarray(f)))) / hmin
    np.testing.assert_allclose(np.asarray(ours), np.asarray(ref), rtol=1e-10, atol=atol)


def sample(coord, backend="numpy", name="T", units="K"):
    """A (y, x) field on ``coord`` along x and a non-uniform y."""
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.uniform(0.5, 1.5, 5))
    values = rng.standard_normal((5, coord.size)) + np.sin(np.arange(coord.size))[None, :]
    arr = xr.DataArray(
        values, dims=("y", "x"), coords={"y": y, "x": coord}, name=name, attrs={"units": units}
    )
    return arr.chunk({"y": 2, "x": 3}) if backend == "dask" else arr


def numeric(coord, unit):
    """Oracle's spacing for a datetime-like coordinate, as differentiate converts it."""
    return xr.DataArray(coord, dims="x").variable._to_numeric(datetime_unit=unit).values


COORDS = {
    "uniform": np.linspace(0.0, 3.5, 8),
    "nonuniform": np.array([0.0, 0.3, 1.0, 1.2, 2.5, 2.6, 4.0, 7.0]),
    "integer": np.arange(0, 16, 2),
}


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("kind", sorted(COORDS))
def test_parity_numeric(kind, edge_order, backend):
    T = sample(COORDS[kind], backend)
    dy, dx = gradient_xarray(T, edge_order=edge_order)
    for g, d in [(dy, "y"), (dx, "x")]:
        ref = T.compute().differentiate(d, edge_order=edge_order)
        assert g.dims == T.dims and g.chunks == T.chunks
        xr.testing.assert_identical(g.coords.to_dataset(), T.coords.to_dataset())
        assert_close(g, ref, T, T[d])


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("unit", [None, "s", "h", "D", "ms"])
def test_parity_datetime64(unit, backend):
    hours = np.array([0, 1, 3, 4, 8, 9, 10, 14])
    time = np.datetime64("2000-01-01T00", "ns") + hours * np.timedelta64(3600, "s")
    T = sample(time, backend)
    (g,) = gradient_xarray(T, dim="x", datetime_unit=unit, edge_order=2)
    ref = T.compute().differentiate("x", datetime_unit=unit, edge_order=2)
    assert_close(g, ref, T, numeric(time, unit or "ns"))
    assert g.attrs["units"] == f"K {dict(s='s', h='h', D='d', ms='ms').get(unit, 'ns')}-1"


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("unit", [None, "D", "h"])
def test_parity_cftime_noleap(unit, edge_order, backend):
    pytest.importorskip("cftime")
    # spans 28 Feb -> 1 Mar, which is one day apart only in the noleap calendar
    time = xr.date_range("2000-02-25", periods=8, freq="2D", calendar="noleap", use_cftime=True)
    T = sample(np.asarray(time), backend)
    (g,) = T.grad("x", datetime_unit=unit, edge_order=edge_order)
    ref = T.compute().differentiate("x", datetime_unit=unit, edge_order=edge_order)
    assert_close(g, ref, T, numeric(np.asarray(time), unit or "s"))


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_periodic_uniform_by_name(backend):
    x = np.arange(0.0, 360.0, 30.0)
    T = sample(x, backend)
    padded = np.concatenate([T.values[:, -1:], T.values, T.values[:, :1]], axis=1)
    ref = np.gradient(padded, 30.0, axis=1)[:, 1:-1]
    for periodic in ["x", ["x"], {"x": 360.0}, True]:
        (dx,) = gradient_xarray(T, dim="x", periodic=periodic)
        assert_close(dx, ref, T, 30.0)
    # decreasing coordinates: a negative step, the same period, the same derivative
    Tr = T.isel(x=slice(None, None, -1))
    (g,) = Tr.grad("x", periodic="x")
    assert_close(g, ref[:, ::-1], T, 30.0)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_periodic_nonuniform_with_period(backend):
    x = COORDS["nonuniform"]
    T = sample(x, backend)
    padded = np.concatenate([T.values[:, -1:], T.values, T.values[:, :1]], axis=1)
    xp = np.concatenate([[x[-1] - 10.0], x, [x[0] + 10.0]])
    ref = np.gradient(padded, xp, axis=1)[:, 1:-1]
    (g,) = gradient_xarray(T, dim="x", periodic={"x": 10.0}, edge_order=2)
    assert_close(g, ref, T, x)


def test_periodic_without_coordinate_and_datetime_period():
    T = xr.DataArray(np.sin(np.arange(6.0)), dims="x")
    ref = np.gradient(np.r_[T.values[-1], T.values, T.values[0]])[1:-1]
    assert_close(T.grad(periodic=True)[0], ref, T, 1.0)
    time = np.datetime64("2001-01-01", "ns") + np.array([0, 1, 3, 4]) * np.timedelta64(1, "D")
    T = T.isel(x=slice(4)).assign_coords(x=time)
    (g,) = T.grad(periodic={"x": np.timedelta64(6, "D")}, datetime_unit="D")
    xp = np.array([-2.0, 0, 1, 3, 4, 6])
    ref = np.gradient(np.r_[T.values[-1], T.values, T.values[0]], xp)[1:-1]
    assert_close(g, ref, T, xp)


def test_periodic_needs_period():
    T = sample(COORDS["nonuniform"])
    with pytest.raises(ValueError, match=r"periodic dim 'x' has a non-uniform.*in periodic$"):
        T.grad("x", periodic="x")
    x = xr.Coordinates({"x": ("x", da.from_array(T.x.values, chunks=4))}, indexes={})
    lazy = T.drop_vars("x").assign_coords(x)
    with pytest.raises(ValueError, match="periodic dim 'x' has a dask coordinate"):
        lazy.grad("x", periodic="x")
    with pytest.raises(ValueError, match="periodic dim 'y' is not one of the differentiated"):
        T.grad("x", periodic="y")


def test_unknown_dims_and_bad_spacing():
    T = sample(COORDS["uniform"])
    with pytest.raises(ValueError, match=r"dim 'z' is not a dim of the input.*\('y', 'x'\)"):
        T.grad(["x", "z"])
    with pytest.raises(ValueError, match="dim 'z' is not a dim"):
        daskgrad.gradient(T.to_dataset(), dim="z")
    with pytest.raises(ValueError, match="spacing given for dim 'q'"):
        T.grad("x", spacing={"q": 1.0})
    with pytest.raises(ValueError, match="spacing for dim 'x' must be .* 8 points"):
        T.grad("x", spacing={"x": np.arange(3.0)})
    with pytest.raises(ValueError, match="repeated"):
        T.grad(["x", "x"])
    with pytest.raises(TypeError, match="coordinate 'x' has dtype <U1"):
        T.assign_coords(x=list("abcdefgh")).grad("x")
    with pytest.raises(ValueError, match="dim 'x' has 2 points; edge_order=2 needs"):
        T.isel(x=slice(2)).grad("x", edge_order=2)


def test_spacing_overrides_and_dim_order():
    T = sample(COORDS["nonuniform"])
    h = np.linspace(0.0, 1.0, 8) ** 2
    gx, gy = T.grad(["x", "y"], spacing={"x": xr.DataArray(h, dims="x"), "y": 2.0})
    assert (gx.name, gy.name) == ("dT_dx", "dT_dy")
    assert_close(gx, np.gradient(T.values, h, axis=1), T, h)
    assert_close(gy, np.gradient(T.values, 2.0, axis=0), T, 2.0)
    assert "units" not in gy.attrs  # a bare number has no units
    (g,) = T.grad("x", spacing=0.5)
    assert_close(g, np.gradient(T.values, 0.5, axis=1), T, 0.5)


def test_dataset_selection():
    x, y = COORDS["uniform"], np.arange(5.0)
    ds = xr.Dataset(
        {
            "T": (("y", "x"), np.random.default_rng(1).random((5, 8)), {"units": "K"}),
            "n": ("y", np.arange(5) ** 2),
            "flag": ("x", np.ones(8, bool)),
            "label": ("x", list("abcdefgh")),
            "when": ("x", np.arange(8).astype("datetime64[D]")),
            "c": ((), 1.0),
            "q": ("z", np.arange(3.0)),
        },
        coords={"x": ("x", x, {"units": "m"}), "y": y, "aux": ("x", x * 2)},
        attrs={"title": "t"},
    )
    out = ds.grad(["x", "y"], edge_order=2)
    assert list(out.data_vars) == ["dT_dx", "dT_dy", "dn_dy"]
    xr.testing.assert_identical(out.coords.to_dataset(), ds.coords.to_dataset())
    assert out.attrs == ds.attrs
    assert_close(out.dT_dx, ds.T.differentiate("x", edge_order=2), ds.T, x)
    assert_close(out.dn_dy, np.gradient(ds.n.values, edge_order=2), ds.n, 1.0)
    assert out.dT_dx.attrs["units"] == "K m-1" and "units" not in out.dn_dy.attrs
    everything = daskgrad.gradient(ds)  # default: every dim of the dataset
    assert set(everything.data_vars) == {"dT_dx", "dT_dy", "dn_dy", "dq_dz"}
    assert list(ds.grad("z").data_vars) == ["dq_dz"]


def test_names_units_long_name():
    t = xr.DataArray(np.arange(5.0), dims="t", attrs={"units": "s", "long_name": "time"})
    u = xr.DataArray(
        np.arange(5.0) ** 2,
        coords={"t": t},
        name="u",
        attrs={"units": "m s-1", "long_name": "wind"},
    )
    (g,) = u.grad()
    assert g.name == "du_dt"
    assert g.attrs == {"units": "m s-2", "long_name": "derivative of wind with respect to t"}
    (g,) = u.rename(None).grad()
    assert g.name is None
    assert divide_units("degC", "km") == "degC km-1"
    assert divide_units("K", "degrees_north") == "K degrees_north-1"  # unknown to pint
    assert divide_units("m2 s-2", "m") == "m s-2"
    assert divide_units("m", "m") == "1"


def test_units_without_pint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pint", None)
    import daskgrad.xr.coords as mod

    monkeypatch.setattr(mod, "_registry", mod._registry.__wrapped__)
    assert divide_units("K", "m") == "K m-1"
    assert divide_units("m s-1", "s2") == "m s-3"  # SI symbols combine without pint too
    assert _divide_plain("1", "m s-1") == "(m s-1)-1"


def test_lazy_dask_data_and_coordinates():
    x = np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0, 6.0])
    values = np.random.default_rng(2).random((4, 7))
    coords = xr.Coordinates({"x": ("x", da.from_array(x, chunks=3))}, indexes={})
    T = xr.DataArray(da.from_array(values, chunks=(2, 3)), dims=("y", "x"), coords=coords, name="T")
    ds = T.to_dataset()
    with raise_if_dask_computes():
        dy, dx = T.grad(edge_order=2)
        out = ds.grad("x", periodic={"x": 7.0})
    assert dx.chunks == T.chunks and isinstance(dx.data, da.Array)
    assert isinstance(out.dT_dx.data, da.Array) and isinstance(out.x.data, da.Array)
    with dask.config.set(scheduler="sync"):
        assert_close(dx, np.gradient(values, x, axis=1, edge_order=2), values, x)
        assert_close(dy, np.gradient(values, axis=0, edge_order=2), values, 1.0)


def test_lazy_datetime_coordinate():
    time = np.datetime64("2000-01-01", "ns") + np.array([0, 1, 2, 4, 5, 8]) * np.timedelta64(6, "h")
    T = sample(time, "dask").drop_vars("x")
    T = T.assign_coords(xr.Coordinates({"x": ("x", da.from_array(time, chunks=4))}, indexes={}))
    with raise_if_dask_computes():
        (g,) = gradient_xarray(T, dim="x", datetime_unit="h")
    assert g.attrs["units"] == "K h-1"
    with dask.config.set(scheduler="sync"):
        ref = T.compute().differentiate("x", datetime_unit="h")
        assert_close(g, ref, T, numeric(time, "h"))


def test_0d_and_import_without_xarray():
    assert daskgrad.gradient(xr.DataArray(1.0)) == ()
    code = (
        "import sys; sys.modules['xarray'] = None\n"
        "import numpy as np, daskgrad\n"
        "print(daskgrad.gradient(np.arange(3.0))[0].tolist())"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[1.0, 1.0, 1.0]"
