"""What the tests of an object-store replacement share (tests/test_replace_recovery.py,
test_replace_race.py, test_recovery_messages.py): the input, the output flags, the state a
killed ``--overwrite`` run leaves on moto's S3 server, and reading the bucket back. Functions
that read a bucket take it by keyword (each test module binds its own with functools.partial).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import numpy as np
import xarray as xr


def field(seed: int) -> xr.Dataset:
    """A 16×24 field ``t`` on an uneven ``x``, in 8 chunks."""
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"t": (("y", "x"), rng.standard_normal((16, 24)))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, 24))},
    ).chunk({"y": 4, "x": 12})


def output_flags(s3: Any, endpoint: str | None = None) -> list[str]:
    """``--output-storage-option`` flags for moto (or a proxy to it at ``endpoint``)."""
    options = {**s3.options(), "client_kwargs": {"endpoint_url": endpoint or s3.endpoint}}
    return [
        f"--output-storage-option={k}={json.dumps(v) if isinstance(v, dict) else v}"
        for k, v in options.items()
    ]


def dead_pid() -> int:
    """The pid of a process that has ended (as a killed run's)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def listing(s3: Any, name: str, *, bucket: str) -> list[str]:
    """OUTPUT's siblings that daskgrad names (temporaries, markers, claims)."""
    fs = s3.fs()
    fs.invalidate_cache()
    return sorted(
        p.rpartition("/")[2]
        for p in fs.ls(bucket, detail=False)
        if p.rpartition("/")[2].startswith(f".{name}.daskgrad-")
    )


def objects(s3: Any, prefix: str, *, bucket: str) -> dict[str, bytes]:
    """Every object under ``prefix``, by its key below it."""
    fs = s3.fs()
    fs.invalidate_cache()
    root = f"{bucket}/{prefix}/"
    return {p.removeprefix(root): fs.cat(p) for p in fs.find(root)}


def aftermath(
    s3: Any, name: str, *, bucket: str, values: np.ndarray
) -> tuple[str, int, xr.Dataset]:
    """What an --overwrite run killed while copying its new store (``dt_dx`` = ``values``, a
    chunk per row) into OUTPUT leaves: its complete temporary, one chunk already copied into
    OUTPUT (no metadata: the old store was deleted first), its marker. Returns (temporary's
    key, the dead pid, the new store)."""
    pid = dead_pid()
    stem = f".{name}.daskgrad-{socket.gethostname()}-{pid}-abcdef12"
    new = xr.Dataset({"dt_dx": (("y", "x"), values)}).chunk({"y": 1})
    new.to_zarr(f"s3://{bucket}/{stem}.tmp", storage_options=s3.options())
    fs = s3.fs()
    fs.pipe(f"{bucket}/{name}/dt_dx/c/0/0", fs.cat(f"{bucket}/{stem}.tmp/dt_dx/c/0/0"))
    fs.pipe(f"{bucket}/{stem}.writing", json.dumps({"replace": True, "pid": pid}).encode())
    return f"{stem}.tmp", pid, new


def finished_line(name: str, pid: int, tmp: str, *, bucket: str) -> str:
    """The line a run prints when it finished a dead run's replacement."""
    return (
        f"daskgrad: finished the replacement of s3://{bucket}/{name} that a dead run "
        f"(pid {pid}) began: its complete new store is in place "
        f"(copied from s3://{bucket}/{tmp}, now removed)"
    )


def one_line(err: str) -> str:
    """The one line on stderr (an assertion error showing it all otherwise)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]
