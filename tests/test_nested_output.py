"""OUTPUT inside another zarr store (an array or group of it, or a new path under it) is
refused in one line naming that store, before anything is touched: ``--overwrite`` of
``big.zarr/f`` had replaced big.zarr's array ``f`` by a gradient store, so ``f`` read back as
NaN. On local disk (zarr 2 and 3) and on moto's real S3 server, by the command line and by
``daskgrad.to_zarr``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

import daskgrad  # noqa: E402
from daskgrad.cli import main  # noqa: E402


def source(seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"temp": (("y", "x"), rng.standard_normal((6, 8)), {"units": "K"})},
        coords={"x": ("x", np.cumsum(rng.uniform(0.5, 2, 8)), {"units": "m"})},
    ).chunk({"y": 3, "x": 4})


def big(seed=1) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset({"f": (("t", "y", "x"), rng.standard_normal((2, 6, 8)))}).chunk({"t": 1})


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def refused(capsys, *args) -> str:
    code = main(["run", *map(str, args), "--no-progress"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2, lines
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(params=[2, 3], ids=["zarr2", "zarr3"])
def stores(tmp_path, request):
    inp, store = tmp_path / "in.zarr", tmp_path / "big.zarr"
    source().to_zarr(inp, zarr_format=request.param)
    big().to_zarr(store, zarr_format=request.param)
    before = files(store)
    yield inp, store
    assert files(store) == before  # every file and byte of the other store as it was
    assert float(xr.open_zarr(store).f[0, 0, 0]) == float(big().f[0, 0, 0])


@pytest.mark.parametrize("name", ["f", "f/c", "new.zarr"])
def test_cli_output_inside_a_store_is_refused(stores, capsys, name):
    """An array of the store (``--overwrite``: the attack), a folder inside that array, a new
    path beside its arrays: each a node of big.zarr's hierarchy."""
    inp, store = stores
    out = store / name
    line = refused(capsys, inp, out, "--dim", "y", "--var", "temp", "--overwrite")
    nearest = store / "f" if name == "f/c" else store  # the array f is a store of its own
    assert line.startswith(f"daskgrad: error: output {out} is inside the zarr store {nearest} ")
    assert not list(store.parent.glob(".*daskgrad*"))  # no temporary made either


def test_cli_output_inside_a_store_is_refused_without_overwrite(stores, capsys):
    inp, store = stores
    line = refused(capsys, inp, store / "g.zarr", "--dim", "x")
    assert f"is inside the zarr store {store} " in line
    assert not (store / "g.zarr").exists()


def test_a_store_reached_through_a_symlink_is_seen(stores, capsys, tmp_path):
    inp, store = stores
    (tmp_path / "link").symlink_to(store)
    line = refused(capsys, inp, tmp_path / "link" / "f", "--dim", "x", "--overwrite")
    assert f"is inside the zarr store {store} " in line


def test_a_v2_store_marked_only_by_consolidated_metadata(tmp_path, capsys):
    """``.zmetadata`` (with ``.zattrs``) at an ancestor's root is a zarr 2 store too."""
    inp, store = tmp_path / "in.zarr", tmp_path / "big.zarr"
    source().to_zarr(inp)
    store.mkdir()
    (store / ".zattrs").write_text("{}")
    (store / ".zmetadata").write_text('{"metadata": {}, "zarr_consolidated_format": 1}')
    line = refused(capsys, inp, store / "out.zarr", "--dim", "x")
    assert f"is inside the zarr store {store} " in line


def test_to_zarr_into_a_store_is_refused(stores):
    inp, store = stores
    grad = daskgrad.gradient(xr.open_zarr(inp), dim="y")
    with pytest.raises(ValueError, match="is inside the zarr store") as info:
        daskgrad.to_zarr(grad, store / "f", overwrite=True)
    assert str(store) in str(info.value) and "\n" not in str(info.value)


def test_a_store_beside_another_is_written(stores, capsys):
    """The control: OUTPUT beside big.zarr (their common folder holds no zarr metadata)."""
    inp, store = stores
    out = store.parent / "out.zarr"
    code = main(["run", str(inp), str(out), "--dim", "x", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    got = xr.open_zarr(out).dtemp_dx.values
    ref = source()
    np.testing.assert_allclose(got, np.gradient(ref.temp.values, ref.x.values, axis=1))


# ------------------------------------------------------------------------------ object store

BUCKET = "daskgrad-nested"


@pytest.fixture(scope="module")
def s3(hermetic_aws):
    pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
    pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
    sys.path.insert(0, str(Path(__file__).parent))
    import s3_server

    server = s3_server.start()
    server.make_bucket(BUCKET)
    opts = server.options()
    source().to_zarr(f"s3://{BUCKET}/in.zarr", storage_options=opts)
    big().to_zarr(f"s3://{BUCKET}/big.zarr", storage_options=opts)
    try:
        yield server
    finally:
        server.stop()


def objects(s3) -> dict[str, bytes]:
    fs = s3.fs()
    fs.invalidate_cache()
    return {p: fs.cat(p) for p in fs.find(BUCKET)}


@pytest.mark.parametrize("name", ["big.zarr/f", "big.zarr/new.zarr", "big.zarr/f/c/0"])
def test_s3_output_inside_a_store_is_refused(s3, capsys, name):
    before = objects(s3)
    out = f"s3://{BUCKET}/{name}"
    line = refused(
        capsys, f"s3://{BUCKET}/in.zarr", out, "--dim", "y", "--overwrite", *s3.cli_options()
    )
    assert line.startswith(f"daskgrad: error: output {out} is inside the zarr store "), line
    want = "big.zarr/f" if name.startswith("big.zarr/f/") else "big.zarr"
    assert f"store s3://{BUCKET}/{want} " in line
    assert objects(s3) == before  # nothing written, nothing deleted


def test_s3_a_store_at_the_bucket_root(s3, capsys):
    """Zarr metadata at the bucket's root makes every key in it a node of that store."""
    fs = s3.fs()
    s3.make_bucket("daskgrad-rooted")
    fs.pipe("daskgrad-rooted/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
    try:
        out = "s3://daskgrad-rooted/out.zarr"
        line = refused(capsys, f"s3://{BUCKET}/in.zarr", out, "--dim", "y", *s3.cli_options())
        assert "is inside the zarr store s3://daskgrad-rooted " in line
        fs.invalidate_cache()
        assert fs.find("daskgrad-rooted") == ["daskgrad-rooted/zarr.json"]
    finally:
        fs.rm("daskgrad-rooted", recursive=True)


def test_s3_to_zarr_into_a_store_is_refused(s3):
    before = objects(s3)
    grad = daskgrad.gradient(
        xr.open_zarr(f"s3://{BUCKET}/in.zarr", storage_options=s3.options()), dim="y"
    )
    with pytest.raises(ValueError, match=f"is inside the zarr store s3://{BUCKET}/big.zarr "):
        daskgrad.to_zarr(
            grad, f"s3://{BUCKET}/big.zarr/f", storage_options=s3.options(), overwrite=True
        )
    assert objects(s3) == before
