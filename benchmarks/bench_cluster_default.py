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

``--sizes`` instead races the default (no cluster option: threads or a cluster as the rule in
``daskgrad.cluster.inprocess`` decides) against the run forced on its own threads and forced on
the default local cluster (``--workers 1 --threads-per-worker 2`` on 2 cores), on the new-user
trial's shape (u, v of 721 x 1440 float32 per time step, geospatial gradients, vorticity and
divergence: 7.9 MiB read and 23.8 MiB written per step), time steps chosen so that the run
reads and writes about each size; with the peak RSS of the command's process and of its
workers, sampled every 50 ms:

    python benchmarks/bench_cluster_default.py --sizes 64MiB,256MiB,760MiB,2GiB,4GiB --repeat 3
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
# the run's own threads whatever the rule says (benchmarks only): threads_suffice made to
# say yes in the run's process
THREADS = """
import sys
import daskgrad.cluster.inprocess as inprocess
inprocess.threads_suffice = lambda *args, **kwargs: True
from daskgrad.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_input(
    path: Path, shape: tuple[int, int, int], fmt: str, names: tuple[str, ...] = ("t", "u", "v")
) -> int:
    """An ERA5-like store of ``names`` (float32, one chunk per time step); its bytes."""
    import xarray as xr

    nt, ny, nx = shape
    lat = np.linspace(90, -90, ny)
    lon = np.arange(nx) * (360 / nx)
    rng = np.random.default_rng(0)
    base = np.cos(np.deg2rad(lat))[:, None] * np.sin(np.deg2rad(lon))[None, :]
    data = {}
    for i, name in enumerate(names):
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


class Peaks:
    """Peak RSS of a process (``main``) and of its worker processes (``worker``: the largest),
    sampled every 50 ms in a thread until ``stop``."""

    def __init__(self, pid: int) -> None:
        self.ps = psutil.Process(pid)
        self.main = 0
        self.workers: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.is_set():
            try:
                self.main = max(self.main, self.ps.memory_info().rss)
                for child in self.ps.children(recursive=True):
                    try:
                        if "spawn_main" in " ".join(child.cmdline()):
                            rss = child.memory_info().rss
                            self.workers[child.pid] = max(self.workers.get(child.pid, 0), rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(0.05)

    def stop(self) -> tuple[int, int]:
        self.done.set()
        self.thread.join()
        return self.main, max(self.workers.values(), default=0)


def sweep(args: argparse.Namespace) -> None:
    """The ``--sizes`` race: default, forced threads and forced cluster on the trial's shape."""
    from dask.utils import format_bytes, parse_bytes

    per_step = 721 * 1440 * 4 * (2 + 6)  # u, v read; 4 gradients, vorticity, divergence written
    formats = {"zarr-zstd": args.sizes.split(",")}
    if args.netcdf:
        formats["netcdf"] = args.netcdf.split(",")
    contenders = {
        "default": [sys.executable, "-m", "daskgrad"],
        "threads": [sys.executable, "-c", THREADS],
        "cluster 1x2": [sys.executable, "-m", "daskgrad"],
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-sizes-", dir=args.dir))
    print(
        f"{os.cpu_count()} cores, {format_bytes(psutil.virtual_memory().total)}; best of "
        f"{args.repeat}, interleaved; wall s, peak RSS of the command / of its worker"
    )
    print("| input | read + written | run on | wall s | peak RSS main | peak RSS worker | load |")
    print("|---|---|---|---|---|---|---|")
    try:
        for fmt, sizes in formats.items():
            for size in sizes:
                steps = max(round(parse_bytes(size) / per_step), 1)
                src = tmp / ("in.nc" if fmt == "netcdf" else "in.zarr")
                shutil.rmtree(src, ignore_errors=True)
                src.unlink(missing_ok=True)
                write_input(src, (steps, 721, 1440), fmt, names=("u", "v"))
                out = tmp / "out.zarr"
                opts = ["run", str(src), str(out), "--no-progress", "--geospatial"]
                opts += ["--var", "u", "--var", "v", "--vorticity", "u,v", "--divergence", "u,v"]
                best: dict[str, tuple] = {}
                loads: list[float] = []
                chosen = ""
                for _ in range(args.repeat):
                    for name, head in contenders.items():
                        if name == "default" and not args.default:
                            continue
                        flags = ["--workers", "1", "--threads-per-worker", "2"]
                        cmd = [*head, *opts, *(flags if name == "cluster 1x2" else [])]
                        shutil.rmtree(out, ignore_errors=True)
                        loads.append(os.getloadavg()[0])
                        start = time.perf_counter()
                        proc = subprocess.Popen(
                            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                        )
                        peaks = Peaks(proc.pid)
                        stdout, stderr = proc.communicate()
                        seconds = time.perf_counter() - start
                        main_rss, worker_rss = peaks.stop()
                        if proc.returncode:
                            raise SystemExit(f"{name} failed ({proc.returncode}): {stderr}")
                        if name == "default":
                            chosen = "threads" if "no cluster" in stdout else "cluster"
                        r = (seconds, main_rss, worker_rss)
                        print(
                            f"  {fmt} {size} {name}: {seconds:.1f} s, {format_bytes(main_rss)}"
                            f" / {format_bytes(worker_rss)}",
                            file=sys.stderr,
                            flush=True,
                        )
                        if name not in best or seconds < best[name][0]:
                            best[name] = r
                loads.append(os.getloadavg()[0])
                load = f"{min(loads):.0f}-{max(loads):.0f}"
                for name, (seconds, main_rss, worker_rss) in best.items():
                    label = f"default ({chosen})" if name == "default" else name
                    worker = format_bytes(worker_rss) if worker_rss else "-"
                    print(
                        f"| {fmt}, {steps}x721x1440 | {format_bytes(steps * per_step)} | {label} "
                        f"| {seconds:.1f} | {format_bytes(main_rss)} | {worker} | {load} |",
                        flush=True,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2, help="best of N (default 2)")
    p.add_argument("--sizes", help="race threads and the cluster at these bytes read + written")
    p.add_argument("--netcdf", help="with --sizes: also netCDF inputs of these sizes")
    p.add_argument("--default", action="store_true", help="with --sizes: the default run too")
    p.add_argument("--shapes", default="small,medium,ooc", help="of: small, medium, ooc")
    p.add_argument("--formats", default=",".join(FORMATS), help=f"of: {', '.join(FORMATS)}")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where the data goes (/tmp)")
    args = p.parse_args()
    if args.sizes:
        return sweep(args)

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
