"""The default local cluster, chosen by measurement: ``daskgrad run`` (a fresh process, its
cluster's start included) computing t's geospatial gradients, the vorticity and the divergence
of an ERA5-like (time, latitude, longitude) float32 store of t, u, v, on the cluster shapes a
2-core machine allows — 2 processes x 1 thread, 1 process x 2 threads — and, where the memory
rule lets one process hold the run, on the command's own threads without a cluster.

Shapes: "small" (a few MiB), "medium" (near the no-cluster threshold) and "ooc", larger than
the cluster's memory (both shapes get the same total memory limit, split between the workers);
inputs: zarr with zstd, zarr with blosc (lz4), netCDF (zlib). Contenders are interleaved and
the best of N kept; the machine's load is reported. Peak worker RSS over the limit and worker
restarts are sampled from outside (every 50 ms).

    python benchmarks/bench_cluster_default.py                   # a few minutes on 2 cores
    python benchmarks/bench_cluster_default.py --repeat 3 --shapes small,ooc
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import psutil

MiB = 2**20

#: (time steps, latitudes, longitudes) of each shape, and the cluster's total memory limit
SHAPES = {
    "small": ((8, 181, 360), None),
    "medium": ((48, 361, 720), None),
    "ooc": ((200, 361, 720), 560 * MiB),
}
FORMATS = ("zarr-zstd", "zarr-blosc", "netcdf")
CONTENDERS = {
    "2 processes x 1 thread": ["--workers", "2", "--threads-per-worker", "1"],
    "1 process x 2 threads": ["--workers", "1", "--threads-per-worker", "2"],
    "no cluster (threads)": [],
}
# the run's own threads at any size below the larger-than-memory shape: the no-cluster
# threshold (daskgrad.cluster.inprocess.SMALL_BYTES) raised in the run's process
THREADS = """
import sys
import daskgrad.cluster.inprocess as inprocess
inprocess.SMALL_BYTES = 2**40
from daskgrad.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_input(path: Path, shape: tuple[int, int, int], fmt: str) -> int:
    """An ERA5-like store of t, u, v (float32, one chunk per time step); its bytes."""
    import xarray as xr

    nt, ny, nx = shape
    lat = np.linspace(90, -90, ny)
    lon = np.arange(nx) * (360 / nx)
    rng = np.random.default_rng(0)
    base = np.cos(np.deg2rad(lat))[:, None] * np.sin(np.deg2rad(lon))[None, :]
    data = {}
    for i, name in enumerate(("t", "u", "v")):
        field = np.empty(shape, "f4")
        for k in range(nt):  # smooth fields plus noise: compressible, like reanalysis
            field[k] = 10 * (i + 1) * base * np.cos(k / 7 + i) + rng.standard_normal((ny, nx))
        data[name] = (("time", "latitude", "longitude"), field)
    ds = xr.Dataset(
        data,
        coords={
            "time": np.datetime64("2024-01-01") + np.arange(nt) * np.timedelta64(1, "h"),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )
    chunks = (1, ny, nx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "netcdf":
            enc = {v: {"zlib": True, "complevel": 1, "chunksizes": chunks} for v in ds.data_vars}
            ds.to_netcdf(path, encoding=enc)
        else:
            from zarr.codecs import BloscCodec, ZstdCodec

            codec = ZstdCodec(level=3) if fmt == "zarr-zstd" else BloscCodec(cname="lz4")
            enc = {v: {"compressors": [codec], "chunks": chunks} for v in ds.data_vars}
            ds.to_zarr(path, encoding=enc, zarr_format=3, mode="w")
    return int(ds.nbytes)


def run_once(cmd: list[str], out: Path, limit: int | None, workers: int) -> dict:
    """Seconds, peak worker RSS / limit and restarts of one ``daskgrad run``."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                for child in ps.children(recursive=True):
                    try:
                        if "spawn_main" in " ".join(child.cmdline()):  # a worker process
                            peak[child.pid] = max(peak.get(child.pid, 0), child.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, stderr = proc.communicate()
    if workers == 0 and "local cluster" in stdout:
        raise SystemExit(f"{' '.join(cmd)} started a cluster: {stdout}")
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.strip()}")
    ratio = max(peak.values()) / limit if (limit and peak) else float("nan")
    return {
        "seconds": seconds,
        "peak": ratio,
        "restarts": max(len(peak) - workers, 0),
        "batched": "each task reads" in stdout,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2, help="best of N (default 2)")
    p.add_argument("--shapes", default="small,medium,ooc", help="of: small, medium, ooc")
    p.add_argument("--formats", default=",".join(FORMATS), help=f"of: {', '.join(FORMATS)}")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where the data goes (/tmp)")
    args = p.parse_args()

    from dask.utils import format_bytes

    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=args.dir))
    loads = [os.getloadavg()[0]]
    rows = []
    try:
        for shape_name in args.shapes.split(","):
            shape, total = SHAPES[shape_name]
            for fmt in args.formats.split(","):
                src = tmp / ("in.nc" if fmt == "netcdf" else "in.zarr")
                shutil.rmtree(src, ignore_errors=True)
                src.unlink(missing_ok=True)
                nbytes = write_input(src, shape, fmt)
                opts = ["run", str(src), str(tmp / "out.zarr"), "--no-progress", "--geospatial"]
                opts += ["--var", "t", "--vorticity", "u,v", "--divergence", "u,v"]
                best: dict[str, dict] = {}
                for _ in range(args.repeat):
                    for name, flags in CONTENDERS.items():
                        if not flags and total is not None:
                            continue  # larger than memory: a cluster's limits are the point
                        head = [
                            sys.executable,
                            *(["-c", THREADS] if not flags else ["-m", "daskgrad"]),
                        ]
                        cmd = [*head, *opts, *flags]
                        workers = int(flags[1]) if flags else 0
                        limit = None
                        if total is not None:
                            limit = total // workers
                            cmd += ["--memory-limit", str(limit)]
                        r = run_once(cmd, tmp / "out.zarr", limit, workers)
                        loads.append(os.getloadavg()[0])
                        if name not in best or r["seconds"] < best[name]["seconds"]:
                            best[name] = r
                for name, r in best.items():
                    rows.append((shape_name, shape, fmt, nbytes, total, name, r))
                    print(
                        f"{shape_name} {fmt} {name}: {r['seconds']:.1f} s, peak {r['peak']:.2f}",
                        file=sys.stderr,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"best of {args.repeat}, interleaved; load (1-min average) {min(loads):.1f}-"
        f"{max(loads):.1f} over the run; {os.cpu_count()} cores, "
        f"{format_bytes(psutil.virtual_memory().total)}"
    )
    head = ["shape", "input", "cluster memory", "run on", "wall s", "/ best", "peak RSS / limit"]
    print("| " + " | ".join([*head, "restarts"]) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for key in dict.fromkeys((r[0], r[2]) for r in rows):
        group = [r for r in rows if (r[0], r[2]) == key]
        fastest = min(r[6]["seconds"] for r in group)
        for shape_name, shape, fmt, nbytes, total, name, r in group:
            dims = "x".join(map(str, shape))
            memory = format_bytes(total) if total else "machine's"
            peak = "-" if np.isnan(r["peak"]) else f"{r['peak']:.2f}"
            print(
                f"| {shape_name} {dims} | {fmt}, {format_bytes(nbytes)} | {memory} | {name} | "
                f"{r['seconds']:.1f} | {r['seconds'] / fastest:.2f} | {peak} | {r['restarts']} |"
            )


if __name__ == "__main__":
    main()
