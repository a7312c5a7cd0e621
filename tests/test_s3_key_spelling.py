"""Object-store URLs whose key an HTTP client or s3fs would spell differently from the key
stored (``bkt//e.zarr``, ``bkt/./e.zarr``, ``bkt/x/../e.zarr``, ``bkt/e.zarr//``) are refused
before anything is read or written: S3 keys are literal, and s3fs normalised ``//`` in some
calls and not in others, so ``--overwrite`` of ``s3://bkt//e.zarr`` deleted ``s3://bkt/e.zarr``.
And ``file://localhost/PATH`` (RFC 8089) is the local PATH. Against moto's real S3 server."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

sys.path.insert(0, str(Path(__file__).parent))
import s3_server  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.cli import main  # noqa: E402
from daskgrad.io.locations import locate  # noqa: E402

BUCKET = "daskgrad-keys"


def dataset(n=12, seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 2.0, n))
    return xr.Dataset(
        {"t": (("x",), rng.standard_normal(n), {"units": "K"})},
        coords={"x": ("x", x, {"units": "m"})},
    ).chunk({"x": 4})


@pytest.fixture(scope="module", autouse=True)
def _no_machine_aws_configuration(hermetic_aws):
    return hermetic_aws


@pytest.fixture(scope="module")
def s3():
    server = s3_server.start()
    server.make_bucket(BUCKET)
    dataset().to_zarr(f"s3://{BUCKET}/in.zarr", storage_options=server.options())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def other(s3):
    """A store at ``e.zarr`` that no run below names as itself: its objects and their bytes."""
    fs = s3.fs()
    dataset(seed=3).to_zarr(f"s3://{BUCKET}/e.zarr", storage_options=s3.options(), mode="w")
    fs.invalidate_cache()
    before = {p: fs.cat(p) for p in fs.find(f"{BUCKET}/e.zarr")}
    assert len(before) > 3
    yield before
    fs.invalidate_cache()
    assert {p: fs.cat(p) for p in fs.find(f"{BUCKET}/e.zarr")} == before  # untouched
    fs.rm(f"{BUCKET}/e.zarr", recursive=True)


def run_inline(capsys, *args) -> tuple[int, str]:
    code = main(["run", *map(str, args)])
    _, err = capsys.readouterr()
    return code, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


def keys(s3) -> list[str]:
    fs = s3.fs()
    fs.invalidate_cache()
    return sorted(fs.find(BUCKET))


SPELLINGS = (
    (f"s3://{BUCKET}//e.zarr", "an empty segment ('//')"),
    (f"s3://{BUCKET}/e.zarr//", "an empty segment ('//')"),
    (f"s3://{BUCKET}/./e.zarr", "a '.' segment"),
    (f"s3://{BUCKET}/x/../e.zarr", "a '..' segment"),
    (f"s3a://{BUCKET}//e.zarr", "an empty segment ('//')"),
)


def test_double_slash_overwrite_leaves_the_other_store(s3, other, dask_cluster, capsys):
    """The attack: a store at the literal key ``bkt//e.zarr`` exists, and ``--overwrite`` of
    ``s3://bkt//e.zarr`` is asked for. Refused in one line naming OUTPUT and the '//';
    ``bkt/e.zarr`` keeps every object and byte (fixture), ``bkt//e.zarr`` is left alone."""
    fs = s3.fs()
    fs.pipe(f"{BUCKET}//e.zarr/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
    fs.invalidate_cache()
    before = keys(s3)
    code, err = run_inline(
        capsys,
        f"s3://{BUCKET}/in.zarr",
        f"s3://{BUCKET}//e.zarr",
        "--dim",
        "x",
        "--overwrite",
        "--scheduler-file",
        dask_cluster,
        "--no-progress",
        *s3.cli_options(),
    )
    line = one_line(err)
    assert code == 2, line
    assert line.startswith(f"daskgrad: error: output s3://{BUCKET}//e.zarr: ")
    assert "an empty segment ('//')" in line
    assert keys(s3) == before
    fs.rm(f"{BUCKET}//e.zarr/zarr.json")


@pytest.mark.parametrize(("url", "why"), SPELLINGS)
def test_output_spellings_are_refused(s3, other, capsys, url, why):
    before = keys(s3)
    code, err = run_inline(
        capsys, f"s3://{BUCKET}/in.zarr", url, "--dim", "x", "--overwrite", *s3.cli_options()
    )
    line = one_line(err)
    assert code == 2, line
    assert line.startswith(f"daskgrad: error: output {url}: "), line
    assert why in line
    assert keys(s3) == before  # nothing written, nothing deleted


@pytest.mark.parametrize(("url", "why"), SPELLINGS[:4])
def test_input_spellings_are_refused(s3, capsys, tmp_path, url, why):
    code, err = run_inline(capsys, url, tmp_path / "o.zarr", "--dim", "x", *s3.cli_options())
    line = one_line(err)
    assert code == 2, line
    assert line.startswith(f"daskgrad: error: input {url}: "), line
    assert why in line
    assert not (tmp_path / "o.zarr").exists()


@pytest.mark.parametrize(("url", "why"), SPELLINGS[:4])
def test_to_zarr_spellings_are_refused(s3, other, url, why):
    before = keys(s3)
    grad = xr.open_zarr(f"s3://{BUCKET}/in.zarr", storage_options=s3.options()).grad("x")
    with pytest.raises(ValueError, match="^to_zarr: store ") as info:
        daskgrad.to_zarr(grad, url, storage_options=s3.options(), overwrite=True)
    assert url in str(info.value) and why in str(info.value)
    assert "\n" not in str(info.value)
    assert keys(s3) == before


def test_a_single_trailing_slash_is_the_store(s3):
    """``s3://bkt/in.zarr/`` is the store at ``bkt/in.zarr``, as before."""
    loc = locate(f"s3://{BUCKET}/in.zarr/", s3.options(), "input")
    assert loc.path == f"{BUCKET}/in.zarr"


# ---------------------------------------------------------------------------- file://localhost


def test_file_localhost_is_the_local_path(tmp_path):
    for text in (f"file://localhost{tmp_path}/a.zarr", f"file://{tmp_path}/a.zarr"):
        assert locate(text).local == tmp_path / "a.zarr"
        assert locate(text).disk == tmp_path / "a.zarr"


def test_file_localhost_output_that_is_the_input_is_refused(tmp_path, capsys):
    src = tmp_path / "same.zarr"
    dataset().to_zarr(src)
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    for out in (f"file://localhost{src}", src):
        inp = src if out != src else f"file://localhost{src}"
        code, err = run_inline(capsys, inp, out, "--dim", "x", "--overwrite", "--no-progress")
        line = one_line(err)
        assert code == 2, line
        assert "is the input" in line
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


def test_file_localhost_input_is_read(tmp_path, dask_cluster):
    """A run reading ``file://localhost/…``: the gradient numpy gives."""
    src = tmp_path / "in.zarr"
    ds = dataset()
    ds.to_zarr(src)
    out = tmp_path / "out.zarr"
    from .conftest import cli  # in this process: no process boundary is tested here

    r = cli("run", f"file://localhost{src}", out, "--dim", "x", "--scheduler-file", dask_cluster,
            "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = xr.open_zarr(out)["dt_dx"].values
    want = np.gradient(ds.t.values, ds.x.values)
    np.testing.assert_allclose(got, want, rtol=1e-12)
