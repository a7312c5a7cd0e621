"""Is the memory rule's least limit enough?  ``daskgrad run`` at exactly the limit it asks for.

    python benchmarks/measure_memory_rule.py               # every case, ~250 MiB stores
    python benchmarks/measure_memory_rule.py --size 64MiB  # quicker, smaller stores
    python benchmarks/measure_memory_rule.py --case lap    # the cases whose name has "lap"
    python benchmarks/measure_memory_rule.py --size 128MiB --times 8 --case "float32, --p"
        # PV on 8 time steps of (16, 512, 2048), 8 MiB chunks: the issue's chunk size

For each case a zarr store of about --size (float64-equivalent: the element count is the same
for every dtype) is written under --dir. ``daskgrad run`` is asked first with a 2 MiB
``--memory-limit``: its refusal names the least limit the rule accepts ("use at least …").
Then the run is made at exactly that limit on 2 workers x 1 thread, with ``--debug`` so that
distributed's own log lines (pauses, restarts) are seen, while every process the run starts
is sampled (RSS, every 50 ms). The kinematic cases (PV, Q-vector, frontogenesis, advection
with w, deformation) read a (time, level, lat, lon) store split along level, lat and lon; the
peak grows with its chunks (more held for neighbours and queued reads): --times adds time
steps. Prints a markdown table: the least limit, the peak RSS of a
worker as a fraction of it (distributed pauses a worker at 0.80), pauses and restarts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import xarray as xr
from dask.utils import format_bytes, parse_bytes

COMMAND = [sys.executable, "-m", "daskgrad"]
CLUSTER = ["--workers", "2", "--threads-per-worker", "1"]

# name: (dtype, dims of the store, stored chunk along time, daskgrad run arguments)
XY = ["--dim", "x", "--dim", "y"]
T12 = ["--chunks", "time=12"]
CASES: dict[str, tuple[str, str, int, list[str]]] = {
    "float64, 1 dim, --chunks": ("float64", "xy", 0, ["--dim", "x", *T12]),
    "float64, 2 dims, --chunks": ("float64", "xy", 0, [*XY, *T12]),
    "float64, 3 dims, --chunks": ("float64", "xy", 0, [*XY, "--dim", "time", "--chunks", "y=128"]),
    "float32, 2 dims, --chunks": ("float32", "xy", 0, [*XY, *T12]),
    "int16, 2 dims, --chunks": ("int16", "xy", 0, [*XY, *T12]),
    "uint8, 2 dims, --chunks": ("uint8", "xy", 0, [*XY, *T12]),
    "float32, 2 dims, batched": ("float32", "xy", 1, XY),
    "uint8, 2 dims, batched": ("uint8", "xy", 1, XY),
    "float32, --laplacian": ("float32", "xy", 12, [*XY, "--laplacian", "u"]),
    "float32, --vorticity": ("float32", "xy", 12, [*XY, "--vorticity", "u,v"]),
    "float32, --divergence": ("float32", "xy", 12, [*XY, "--divergence", "u,v"]),
    "float32, --geospatial": ("float32", "latlon", 12, ["--geospatial"]),
    "float32, --geospatial --vorticity": (
        "float32",
        "latlon",
        12,
        ["--geospatial", "--vorticity", "u,v"],
    ),
}
# the kinematics on a 4-D (time, level, lat, lon) store of u, v, w, t, its chunks split along
# level, lat and lon (ghost planes from neighbours along every differentiated axis)
GEO = ["--geospatial"]
VERTICAL = ["--vertical", "level"]
KINEMATICS = {
    "--potential-vorticity --vertical": [*GEO, "--potential-vorticity", "t:u,v", *VERTICAL],
    "--q-vector --vertical": [*GEO, "--q-vector", "t:u,v", *VERTICAL],
    "--frontogenesis": [*GEO, "--frontogenesis", "t:u,v"],
    "--advection with w": [*GEO, "--advection", "t:u,v,w", *VERTICAL],
    "--deformation": [*GEO, "--deformation", "u,v"],
}
for _dtype in ("float32", "float64"):
    for _name, _args in KINEMATICS.items():
        CASES[f"{_dtype}, {_name}"] = (_dtype, "kinematic", 1, _args)


def make_kinematic_store(
    path: Path, dtype: str, size: int, times: int = 1, names: str = "tuvw"
) -> None:
    """``names`` of u, v, w, t on (time, level, lat, lon) = (times, 16, 512, nx), ``size``
    float64 bytes per variable and time (nx = size / 64 KiB, at least 64), stored in chunks of
    (1, 8, 256, nx / 2): at 64 MiB 1 M points a chunk, at 128 MiB 2 M (the issue's 1 x 8 x
    361 x 720); level in hPa. Made chunk by chunk (dask), whatever its size."""
    import dask.array as da

    nt, nz, ny = times, 16, 512
    nx = max(64, size // (8 * nz * ny) // 2 * 2)
    lat = np.linspace(-60, 60, ny)
    coords = {
        "time": np.arange(nt) * 3600.0,
        "level": ("level", np.linspace(1000, 250, nz), {"units": "hPa"}),
        "lat": ("lat", lat, {"units": "degrees_north"}),
        "lon": ("lon", np.arange(nx) * 360 / nx, {"units": "degrees_east"}),
    }
    dims = ("time", "level", "lat", "lon")
    shape, chunks = (nt, nz, ny, nx), (1, 8, 256, nx // 2)
    base = {"u": 10.0, "v": 5.0, "w": 0.0, "t": 300.0}
    units = {"u": "m/s", "v": "m/s", "w": "Pa/s", "t": "K"}
    rs = da.random.RandomState(0)
    ds = xr.Dataset(
        {
            n: (dims, (b + rs.standard_normal(shape, chunks=chunks)).astype(dtype), {"units": u})
            for n, b in base.items()
            if n in names
            for u in [units[n]]
        },
        coords=coords,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr 3 on consolidated metadata
        ds.to_zarr(path, mode="w")


def make_store(
    path: Path, dtype: str, grid: str, stored: int, size: int, two: bool, times: int = 1
) -> None:
    """(time, y, x) of ``size`` float64 bytes per variable, stored in chunks of ``stored`` (0:
    12) along time and whole along y and x; ``two``: variables u and v, else u only.
    ``grid`` "kinematic": :func:`make_kinematic_store`."""
    if grid == "kinematic":
        make_kinematic_store(path, dtype, size, times, "tuvw" if two else "tuv")
        return
    ny, nx = 512, 512
    nt = max(12, size // (8 * ny * nx))
    rng = np.random.default_rng(0)
    data = rng.random((nt, ny, nx))
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        data = (data * min(info.max, 1000)).astype(dtype)
    else:
        data = data.astype(dtype)
    if grid == "latlon":
        coords = {"lat": np.linspace(-60, 60, ny), "lon": np.linspace(0, 359.5, nx)}
        dims = ("time", "lat", "lon")
    else:
        coords = {"y": np.arange(ny) * 1000.0, "x": np.arange(nx) * 1000.0}
        dims = ("time", "y", "x")
    coords["time"] = np.arange(nt) * 3600.0
    names = ["u", "v"] if two else ["u"]
    ds = xr.Dataset({n: (dims, data) for n in names}, coords=coords)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr 3 on consolidated metadata
        ds.chunk({"time": stored or 12}).to_zarr(path, mode="w")


def least_limit(store: Path, out: Path, args: list[str]) -> int:
    """The least --memory-limit the run's check accepts, from its refusal of 2 MiB."""
    cmd = [*COMMAND, "run", str(store), str(out), *args, *CLUSTER, "--memory-limit", "2MiB"]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    found = re.search(r"use at least ([\d.]+ \w+)", err)
    if not found:
        raise SystemExit(f"no least limit in: {err.strip()}")
    return parse_bytes(found.group(1).replace(" ", ""))


def run_sampled(cmd: list[str]) -> tuple[int, dict[int, int], str]:
    """Run ``cmd``; (exit status, peak RSS of each process it started, stderr)."""
    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
    peaks: dict[int, int] = {}
    main = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            children = main.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for child in children:
            # workers only: a process just forked, before it execs, shows the run's memory
            try:
                if "spawn_main" not in " ".join(child.cmdline()):
                    continue
                peaks[child.pid] = max(peaks.get(child.pid, 0), child.memory_info().rss)
            except psutil.Error:
                pass
        time.sleep(0.05)
    err.seek(0)
    return proc.wait(), peaks, err.read()


def measure(name: str, root: Path, size: int, times: int = 1) -> dict:
    dtype, grid, stored, args = CASES[name]
    # two: u and v (the kinematics: w as well)
    two = any(a in args for a in ("--vorticity", "--divergence", "t:u,v,w"))
    # a store made once for the cases that share it
    store, out = root / f"in-{dtype}-{grid}-{stored}-{int(two)}.zarr", root / "out.zarr"
    if not store.exists():
        make_store(store, dtype, grid, stored, size, two, times)
    limit = least_limit(store, out, args)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*COMMAND, "run", str(store), str(out), *args, *CLUSTER]
    cmd += ["--memory-limit", str(limit), "--debug", "--no-progress"]
    rc, peaks, err = run_sampled(cmd)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "case": name,
        "limit": limit,
        "peak": max(peaks.values(), default=0) / limit,
        "pauses": len(re.findall(r"Pausing worker", err)),
        "restarts": max(0, len(peaks) - 2) + len(re.findall(r"Restarting worker", err)),
        "exit": rc,
        "tail": err.strip().splitlines()[-1] if rc else "",
        # what distributed said of a worker's memory or of its end, when one was restarted
        "said": [
            line
            for line in err.splitlines()
            if re.search(r"[Rr]estart|exceeded|memory|[Nn]anny.*(died|closed)", line)
        ][-3:]
        if len(peaks) > 2
        else [],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=parse_bytes, default="256MiB", help="float64 bytes per store")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where the stores go")
    p.add_argument("--case", default="", help="only the cases whose name contains this")
    p.add_argument(
        "--times", type=int, default=1, help="time steps of the kinematics' store (default 1)"
    )
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="daskgrad-memrule-", dir=a.dir))
    rows = []
    try:
        print("| case | least limit | peak RSS / limit | pauses | restarts | exit |")
        print("|---|---|---|---|---|---|")
        for name in CASES:
            if a.case not in name:
                continue
            r = measure(name, root, a.size, a.times)
            rows.append(r)
            print(
                f"| {r['case']} | {format_bytes(r['limit'])} | {r['peak']:.2f} | {r['pauses']} "
                f"| {r['restarts']} | {r['exit']} |",
                flush=True,
            )
            for line in r["said"]:
                print(f"<!-- {line.strip()} -->", flush=True)
            if r["tail"]:
                print(f"<!-- {r['tail']} -->", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    worst = max((r["peak"] for r in rows), default=0)
    print(f"\nworst peak {worst:.2f} of the limit; {os.cpu_count()} cores", flush=True)


if __name__ == "__main__":
    main()
