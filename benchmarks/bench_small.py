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


def main() -> None:
    from dask.utils import parse_bytes

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1MiB", help="float64 bytes of the input (default 1MiB)")
    p.add_argument("--repeat", type=int, default=5, help="best of N (default 5)")
    args = p.parse_args()

    import numpy as np
    import xarray as xr

    n = int((parse_bytes(args.size) / 8) ** 0.5)
    tmp = Path(tempfile.mkdtemp(prefix="bench-small-"))
    try:
        src = tmp / "in.zarr"
        rng = np.random.default_rng(0)
        ds = xr.Dataset(
            {"t": (("y", "x"), rng.standard_normal((n, n)))},
            coords={"x": np.arange(n, dtype=float), "y": np.arange(n, dtype=float)},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr 3's "consolidated metadata" note
            ds.to_zarr(src, mode="w")
        py = sys.executable
        run = [py, "-m", "daskgrad", "run", str(src), str(tmp / "run.zarr")]
        run += ["--dim", "x", "--dim", "y"]
        copy = [
            py, "-W", "ignore", "-c",
            f"import xarray as xr; xr.open_zarr({str(src)!r}).to_zarr({str(tmp / 'copy.zarr')!r})",
        ]  # fmt: skip
        imports = [py, "-c", "import daskgrad, daskgrad.cli"]
        results: dict[str, list[float]] = {"run": [], "copy": [], "import": [], "first": []}
        for _ in range(args.repeat):  # interleaved: the machine's load hits all alike
            seconds, first = timed(run, tmp / "run.zarr")
            results["run"].append(seconds)
            results["first"].append(first)
            results["copy"].append(timed(copy, tmp / "copy.zarr")[0])
            results["import"].append(timed(imports, tmp / "none")[0])
        best = {k: min(v) for k, v in results.items()}
        load = os.getloadavg()
        print(
            f"{n}x{n} float64 ({ds.nbytes / 2**20:.2f} MiB), best of {args.repeat}, "
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


if __name__ == "__main__":
    main()
