"""Object stores: ``daskgrad run`` from S3 to S3 against the same cluster copying the input there.

    python benchmarks/bench_s3.py                  # 512 MiB float64, 2 workers, moto's server
    python benchmarks/bench_s3.py --size 64MiB     # quick check that it works

moto's S3 server runs as its own process on 127.0.0.1 (``tests/s3_server.py``), with
authentication on. The input, (n, 1024, 1024) float64 in 8 MiB chunks, is differentiated along 2
of its 3 dims by ``daskgrad run s3://… s3://… --scheduler …`` on a LocalCluster of 2 worker
processes. The peer, on the same cluster, reads the input once and writes it twice to a new store
with ``xarray.Dataset.to_zarr`` (the same bytes read and written). Each is timed end to end (the
command line's start-up included) and also by the command line's own summary (its writing only);
best of --repeat. Prints a markdown table with the ratio (target: <= 1.3).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from dask.utils import format_bytes, parse_bytes
from distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import s3_server  # noqa: E402

from daskgrad.io.locations import quiet_asyncio  # noqa: E402

BUCKET = "daskgrad-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512MiB", help="input size (default 512MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    nz = max(1, parse_bytes(args.size) // (8 * 1024 * 1024))
    shape, chunks = (nz, 1024, 1024), (1, 1024, 1024)  # 8 MiB chunks
    server = s3_server.start(in_process=False)
    try:
        server.make_bucket(BUCKET)
        opts = server.options()
        rng = np.random.default_rng(0)
        import dask.array as da

        f = da.from_array(rng.standard_normal((1, *shape[1:])), chunks=chunks)
        data = da.concatenate([f * (i + 1) for i in range(nz)], axis=0)
        ds = xr.Dataset({"v": (("z", "y", "x"), data)})
        url = f"s3://{BUCKET}/in.zarr"
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
            client = Client(cluster)
            client.run(quiet_asyncio)  # aiohttp's "Unclosed client session" at the workers' exit
            ds.to_zarr(url, storage_options=opts, compute=True)
            src = xr.open_zarr(url, storage_options=opts)
            nbytes = src.v.nbytes
            rows = {"xarray.to_zarr, 2 copies": [], "daskgrad run, 2 dims": []}
            summary = []
            fs = server.fs()
            for i in range(args.repeat):
                out = f"s3://{BUCKET}/copy{i}.zarr"
                t0 = time.perf_counter()
                copy = xr.Dataset({"a": src.v, "b": src.v})
                copy.to_zarr(out, storage_options=opts)
                rows["xarray.to_zarr, 2 copies"].append(time.perf_counter() - t0)
                fs.rm(f"{BUCKET}/copy{i}.zarr", recursive=True)

                out = f"s3://{BUCKET}/grad{i}.zarr"
                t0 = time.perf_counter()
                cmd = [
                    sys.executable,
                    "-m",
                    "daskgrad",
                    "run",
                    url,
                    out,
                    "--dim",
                    "x",
                    "--dim",
                    "y",
                    "--scheduler",
                    cluster.scheduler_address,
                    "--no-progress",
                    *server.cli_options(),
                ]
                r = subprocess.run(cmd, capture_output=True, text=True)
                rows["daskgrad run, 2 dims"].append(time.perf_counter() - t0)
                if r.returncode:
                    sys.exit(f"daskgrad run failed: {r.stderr}")
                summary.append(float(re.search(r"in ([\d.]+) s", r.stdout)[1]))
                fs.rm(f"{BUCKET}/grad{i}.zarr", recursive=True)
            client.close()
    finally:
        server.stop()

    floor = min(rows["xarray.to_zarr, 2 copies"])
    print(
        f"\ninput {shape} float64 = {format_bytes(nbytes)}, chunks {'x'.join(map(str, chunks))}; "
        f"moto_server on 127.0.0.1; 2 workers x 1 thread; {platform.machine()}, "
        f"{os.cpu_count()} cores; best of {args.repeat}\n"
    )
    print("| run | wall s | / to_zarr |")
    print("|---|---:|---:|")
    for name, times in rows.items():
        print(f"| {name} | {min(times):.1f} | {min(times) / floor:.2f} |")
    best = min(summary)
    print(f"| daskgrad run, its own summary (writing only) | {best:.1f} | {best / floor:.2f} |")
    print(
        f"\nall runs: to_zarr {rows['xarray.to_zarr, 2 copies']}, "
        f"daskgrad {rows['daskgrad run, 2 dims']}, summary {summary}"
    )


if __name__ == "__main__":
    main()
