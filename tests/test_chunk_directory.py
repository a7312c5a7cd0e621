"""A chunk key of a local zarr store that is a directory is damage, not a chunk never written:
zarr counts it absent and reads the fill value, so it had been reported as "absent, read as
the fill value NaN" and passed ``--strict``. Refused before computing (exit 2), one line
naming the variable, the stored chunk and the directory; zarr 2 (``1.0.0``) and zarr 3
(``c/1/0/0``, whose folders ``c/1/0`` are the layout, not damage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from daskgrad.cli import main  # noqa: E402

KEYS = {2: "1.0.0", 3: "c/1/0/0"}


def store(path: Path, fmt: int, group: str | None = None) -> xr.Dataset:
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"temp": (("time", "y", "x"), rng.standard_normal((4, 6, 8)))},
        coords={"x": ("x", np.cumsum(rng.uniform(0.5, 2, 8)))},
    )
    ds.chunk({"time": 2, "y": 3, "x": 4}).to_zarr(path, zarr_format=fmt, group=group)
    return ds


def run(capsys, *args) -> tuple[int, list[str], str]:
    code = main(["run", *map(str, args), "--no-progress"])
    out, err = capsys.readouterr()
    return code, err.strip().splitlines(), out


@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["default", "strict"])
@pytest.mark.parametrize("fmt", [2, 3])
def test_a_chunk_that_is_a_directory_is_unreadable(tmp_path, capsys, fmt, strict):
    inp, out = tmp_path / "bad.zarr", tmp_path / "o.zarr"
    store(inp, fmt)
    chunk = inp / "temp" / KEYS[fmt]
    chunk.unlink()
    chunk.mkdir()
    code, err, said = run(capsys, inp, out, "--dim", "x", "--var", "temp", *strict)
    assert code == 2, err
    assert err == [
        f"daskgrad: error: input variable 'temp', chunk (1, 0, 0) is unreadable: {chunk} is a "
        "directory, not a file"
    ]
    assert "absent" not in said
    assert not out.exists()


def test_in_a_group(tmp_path, capsys):
    inp, out = tmp_path / "bad.zarr", tmp_path / "o.zarr"
    store(inp, 3, group="sea")
    chunk = inp / "sea" / "temp" / "c" / "0" / "1" / "0"
    chunk.unlink()
    chunk.mkdir()
    (chunk / "junk").write_bytes(b"x")  # a directory with content: still no chunk
    code, err, _ = run(capsys, inp, out, "--dim", "x", "--group", "sea")
    assert code == 2, err
    assert err == [
        f"daskgrad: error: input variable 'temp', chunk (0, 1, 0) is unreadable: {chunk} is a "
        "directory, not a file"
    ]


def test_a_removed_chunk_is_still_absent_and_read_as_the_fill_value(tmp_path, capsys):
    """The control: the same chunk deleted (no directory) is absent as before, and the run
    gives numpy's gradient with NaN where it was."""
    inp, out = tmp_path / "in.zarr", tmp_path / "o.zarr"
    ds = store(inp, 3)
    (inp / "temp" / "c" / "1" / "0" / "0").unlink()
    code, err, said = run(capsys, inp, out, "--dim", "x")
    assert code == 0, err
    assert "input variable 'temp': 1 of 8 chunks absent, read as the fill value NaN" in said
    data = ds.temp.values.copy()
    data[2:4, 0:3, 0:4] = np.nan
    ref = np.gradient(data, ds.x.values, axis=2)
    np.testing.assert_allclose(xr.open_zarr(out).dtemp_dx.values, ref, rtol=1e-12)
