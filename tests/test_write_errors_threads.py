"""A chunk that cannot be written (a full disk: trial of 2026-12-08) is named on this process's
threads as on a cluster: "writing the output, chunk (…): OSError: …", not a bare "OSError: [Errno
28] No space left on device". The write fails for real: the run's process (and its workers)
may not write files larger than a chunk (``RLIMIT_FSIZE``, as ``ulimit -f``; SIGXFSZ ignored so
the write fails with EFBIG instead of killing the process)."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from .test_cli import leftovers

xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

LIMIT = 64 * 1024  # bytes: a chunk of the output is 128 KiB (random data: little compression)


def small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("efbig")
    rng = np.random.default_rng(3)
    ds = xr.Dataset(
        {"t": (("time", "y", "x"), rng.standard_normal((4, 256, 256)))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, 256))},
    ).chunk({"time": 1, "y": 128, "x": 128})
    ds.to_zarr(root / "in.zarr")
    return root


@pytest.mark.parametrize("mode", ["threads", "cluster"])
def test_a_chunk_that_cannot_be_written_is_named(source, mode):
    out = source / f"{mode}.zarr"
    extra = ["--workers", "1"] if mode == "cluster" else []
    r = subprocess.run(
        [sys.executable, "-m", "daskgrad", "run", str(source / "in.zarr"), str(out),
         "--dim", "x", "--no-progress", *extra],
        capture_output=True, text=True, timeout=300, preexec_fn=small_files,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    if mode == "threads":
        assert "computing on this process's" in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert re.fullmatch(
        r"daskgrad: error: computation failed: writing the output, chunk \(\d, \d, \d\): "
        r"OSError: \[Errno 27\] File too large( \(chunk indices count tasks of .*\))?",
        lines[0],
    ), lines[0]
    assert not out.exists() and leftovers(out) == []
