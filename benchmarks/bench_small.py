"""A small input end to end: ``daskgrad run IN OUT --dim x --dim y`` on a 1 MiB zarr store
against copying the same store with xarray (``xr.open_zarr(IN).to_zarr(OUT)``), both as fresh
processes (imports included), interleaved, best of N; the import time of ``daskgrad`` and
``daskgrad.cli``, and the time from the command's start to its first line of output.

Target (issue "Close to the limit", item 3): run / copy <= 1.5; first line within 1 s.

    python benchmarks/bench_small.py [--size 1MiB] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path


def timed(cmd: list[str], out: Path) -> tuple[float, float]:
    """(seconds to exit, seconds to the first line on stdout) of ``cmd``, run fresh; ``out``
    removed first."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    first_at = time.perf_counter() - start if first else float("nan")
    proc.stdout.read()
    if proc.wait():
        raise SystemExit(f"{cmd} failed with exit {proc.returncode}")
    return time.perf_counter() - start, first_at


def write_input(path: Path, nbytes: int) -> int:
    """A square float64 field ``t(y, x)`` of about ``nbytes`` with coordinates, written to the
    zarr store ``path``; returns its side."""
    import numpy as np
    import xarray as xr

    n = int((nbytes / 8) ** 0.5)
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"t": (("y", "x"), rng.standard_normal((n, n)))},
        coords={"x": np.arange(n, dtype=float), "y": np.arange(n, dtype=float)},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr 3's "consolidated metadata" note
        ds.to_zarr(path, mode="w")
    return n


def commands(src: Path, tmp: Path) -> dict[str, tuple[list[str], Path]]:
    """The contenders, each a fresh process, with the output it writes: ``daskgrad run``, the
    xarray copy and the imports alone."""
    py = sys.executable
    run = [py, "-m", "daskgrad", "run", str(src), str(tmp / "run.zarr"), "--dim", "x", "--dim", "y"]
    copy = [
        py, "-W", "ignore", "-c",
        f"import xarray as xr; xr.open_zarr({str(src)!r}).to_zarr({str(tmp / 'copy.zarr')!r})",
    ]  # fmt: skip
    imports = [py, "-c", "import daskgrad, daskgrad.cli"]
    return {
        "run": (run, tmp / "run.zarr"),
        "copy": (copy, tmp / "copy.zarr"),
        "import": (imports, tmp / "none"),
    }


def race(src: Path, tmp: Path, repeat: int, imports: bool = True) -> dict[str, list[float]]:
    """Every round's seconds of ``run``, ``copy``, ``import`` (if ``imports``) and ``first``
    (the run's first line of output), the contenders interleaved: the machine's load hits all
    alike."""
    cmds = commands(src, tmp)
    if not imports:
        del cmds["import"]
    results: dict[str, list[float]] = {k: [] for k in [*cmds, "first"]}
    for _ in range(repeat):
        for name, (cmd, out) in cmds.items():
            seconds, first = timed(cmd, out)
            results[name].append(seconds)
            if name == "run":
                results["first"].append(first)
    return results


def main() -> None:
    from dask.utils import parse_bytes

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1MiB", help="float64 bytes of the input (default 1MiB)")
    p.add_argument("--repeat", type=int, default=5, help="best of N (default 5)")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-small-"))
    try:
        n = write_input(tmp / "in.zarr", parse_bytes(args.size))
        results = race(tmp / "in.zarr", tmp, args.repeat)
        best = {k: min(v) for k, v in results.items()}
        load = os.getloadavg()
        print(
            f"{n}x{n} float64 ({n * n * 8 / 2**20:.2f} MiB), best of {args.repeat}, "
            f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores"
        )
        print("| measure | best s | all s |")
        print("|---|---|---|")
        for key, label in [
            ("run", "daskgrad run (fresh process)"),
            ("copy", "xarray copy (fresh process)"),
            ("import", "python -c 'import daskgrad, daskgrad.cli'"),
            ("first", "daskgrad run: first line of output"),
        ]:
            every = " ".join(f"{s:.2f}" for s in results[key])
            print(f"| {label} | {best[key]:.2f} | {every} |")
        print(f"ratio run / copy: {best['run'] / best['copy']:.2f} (target <= 1.5)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def suite(scale: str = "small", repeat: int = 3) -> list[dict]:
    """Rows for benchmarks/run_all.py: ``daskgrad run --dim x --dim y`` against an xarray copy
    of the same store, both fresh processes, and the time to the run's first line of output
    against the 1 s the issue allows."""
    size = {"smoke": 64 * 2**10, "small": 2**20}[scale]
    tmp = Path(tempfile.mkdtemp(prefix="daskgrad-suite-small-"))
    try:
        n = write_input(tmp / "in.zarr", size)
        best = {k: min(v) for k, v in race(tmp / "in.zarr", tmp, repeat, imports=False).items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    what = f"{n}x{n} float64 ({n * n * 8 / 2**10:.0f} KiB) zarr, fresh processes"
    return [
        dict(
            what=f"small input, `daskgrad run --dim x --dim y` on {what}",
            reference="xarray copy: xr.open_zarr(IN).to_zarr(OUT)",
            ours=best["run"],
            ref=best["copy"],
            target=1.5,
        ),
        dict(
            what=f"small input, `daskgrad run`: time to the first line of output on {what}",
            reference="1 s allowed (issue 22, item 3)",
            ours=best["first"],
            ref=1.0,
            target=1.0,
        ),
    ]


if __name__ == "__main__":
    main()
