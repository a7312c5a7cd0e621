"""SIGHUP (a terminal closed, an ssh session dropped) is handled as SIGTERM is: the run cleans
up and exits 129 (128 + 1) with one line, no temporary left, the old OUTPUT as it was. Before:
Python's default action, exit by the signal with no line and the temporary left behind (trial
of 2026-12-08), on this process's threads and on the embedded cluster."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from .test_cli import leftovers, small_dataset
from .test_cli_trust import snapshot

xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """An input whose computation lasts a while (48 MiB in 96 chunks) and an old OUTPUT."""
    root = tmp_path_factory.mktemp("hup")
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"t": (("time", "y", "x"), rng.standard_normal((96, 256, 256)))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, 256))},
    ).chunk({"time": 1})
    ds.to_zarr(root / "in.zarr")
    small_dataset(seed=7).to_zarr(root / "old.zarr")
    return root


@pytest.mark.parametrize("mode", ["threads", "cluster"])
def test_sighup_cleans_up_and_exits_129(data, mode):
    root = data
    out = root / f"{mode}.zarr"
    shutil.copytree(root / "old.zarr", out)
    before = snapshot(out)
    extra = ["--workers", "1"] if mode == "cluster" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "daskgrad", "run", str(root / "in.zarr"), str(out), "--dim", "x",
         "--overwrite", "--no-progress", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any((out.parent / n / "zarr.json").exists() for n in leftovers(out)):
            assert proc.poll() is None, proc.communicate()  # writing: the temporary has metadata
            assert time.monotonic() < deadline, "the run never began writing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 129, err
    # the old OUTPUT was there when the run began writing: the line says it is as it was
    assert err.strip() in (
        "daskgrad: terminated (SIGHUP); no output written",
        f"daskgrad: terminated (SIGHUP); no output written: the old {out} is as it was",
    ), err
    assert leftovers(out) == []
    assert snapshot(out) == before
