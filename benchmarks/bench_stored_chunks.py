"""``daskgrad run`` over a zarr store of many small stored chunks on a distributed cluster: the
scheduler's memory, against an xarray copy of the same store on the same cluster.

    python benchmarks/bench_stored_chunks.py                      # 10^4 and 10^5 stored chunks
    python benchmarks/bench_stored_chunks.py --chunks 10000       # one size, quick
    python benchmarks/bench_stored_chunks.py --dims time,y,x      # only the runs along all 3 dims

The input (zarr 2, uncompressed, one float32 variable ``t(time, y, x)`` in stored chunks of
1 x 8 x 8, written as raw chunk files: seconds for 10^5 chunks) lives in a temporary directory
under --dir, removed afterwards. Each contender runs on a fresh cluster (a ``dask scheduler``
and 2 ``dask worker`` processes of 1 thread on 127.0.0.1, no nannies, killed by pid at the end):
a scheduler's memory once grown is not given back, so a cluster shared by the runs would carry
one run's peak into the next. The contenders:

- ``daskgrad run IN OUT --dim y --dim x --scheduler-file ...``: batching along ``time``, the
  dim not differentiated (README "Command line");
- ``daskgrad run IN OUT --dim time --dim y --dim x``: every dim differentiated, nothing to
  batch along: the tasks are submitted to the scheduler in pieces (``daskgrad.cli.batching``);
- the floor: ``xr.open_zarr(IN).to_zarr(OUT)`` with a distributed client on the same cluster.

The scheduler process's RSS is sampled every 100 ms (psutil, from outside) and the number of
tasks it holds every 0.5 s (a client of its own, ``run_on_scheduler``). Per run: wall time, the
scheduler's RSS before the run (idle, workers connected, numpy, dask.array, xarray and zarr
imported as any graph of zarr reads makes it) and its peak, the peak's growth over
idle per stored chunk, and the most tasks held at once. Bounded means the growth per stored
chunk falls from 10^4 to 10^5 chunks (it does not grow linearly without limit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
STORED = (1, 8, 8)  # a stored chunk: 256 B of float32

COPY = """
import sys, xarray as xr
from distributed import Client
with Client(scheduler_file=sys.argv[1]) as c:
    xr.open_zarr(sys.argv[2]).to_zarr(sys.argv[3])
"""


def load() -> str:
    return "load average " + ", ".join(f"{a:.1f}" for a in os.getloadavg())


def shape_for(n: int) -> tuple[int, int, int]:
    """A (time, y, x) shape of about ``n`` stored chunks of ``STORED``: 40 along time (10^5:
    40 x 50 x 50 chunks; 10^4: 40 x 16 x 16)."""
    side = max(round((n / 40) ** 0.5), 1)
    return (40 * STORED[0], side * STORED[1], side * STORED[2])


def make_store(path: Path, shape: tuple[int, int, int]) -> int:
    """A zarr 2 store of ``t(time, y, x)`` float32, uncompressed, in chunks of ``STORED``: the
    metadata by xarray, each chunk a raw file (C order, little endian) of a smooth field plus
    noise. Its number of stored chunks."""
    import dask.array as da
    import xarray as xr

    ds = xr.Dataset({"t": (("time", "y", "x"), da.zeros(shape, dtype="f4", chunks=STORED))})
    enc = {"t": {"compressors": None, "chunks": STORED}}
    ds.to_zarr(path, compute=False, zarr_format=2, encoding=enc, consolidated=True)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(STORED).astype("<f4")
    grid = [s // c for s, c in zip(shape, STORED, strict=True)]
    n = 0
    for i in range(grid[0]):
        for j in range(grid[1]):
            for k in range(grid[2]):
                block = noise + np.float32(i + 0.5 * j + 0.25 * k)
                (path / "t" / f"{i}.{j}.{k}").write_bytes(block.tobytes())
                n += 1
    return n


class Cluster:
    """A scheduler and 2 workers (1 thread, --memory-limit each) as processes of their own."""

    def __init__(self, where: Path, memory_limit: str) -> None:
        self.sf = where / "scheduler.json"
        self.sf.unlink(missing_ok=True)
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__BANDWIDTH": "1MB"}
        self.log = open(where / "cluster.log", "a")  # noqa: SIM115 - closed in stop
        common = dict(stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.procs = [
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    self.sf,
                ],
                **common,
            )  # fmt: skip
        ]
        try:
            deadline = time.monotonic() + 60
            while not (self.sf.exists() and self.sf.read_text().strip().endswith("}")):
                if time.monotonic() > deadline:
                    raise RuntimeError("the scheduler did not start")
                time.sleep(0.1)
            for _ in range(2):
                self.procs.append(
                    subprocess.Popen(
                        [
                            DASK,
                            "worker",
                            "--scheduler-file",
                            self.sf,
                            "--host",
                            "127.0.0.1",
                            "--nthreads",
                            "1",
                            "--no-dashboard",
                            "--no-nanny",
                            "--memory-limit",
                            memory_limit,
                        ],
                        **common,
                    )  # fmt: skip
                )
            from distributed import Client

            with Client(scheduler_file=str(self.sf), timeout="30s") as c:
                c.wait_for_workers(2, timeout=60)
        except BaseException:
            self.stop()
            raise
        self.scheduler = psutil.Process(self.procs[0].pid)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.kill()
            p.wait()
        self.log.close()


def _warm(dask_scheduler=None) -> None:
    import dask.array  # noqa: F401
    import xarray  # noqa: F401
    import zarr  # noqa: F401


class Sampler:
    """The scheduler's RSS every 100 ms and its task count every 0.5 s, in threads."""

    def __init__(self, cluster: Cluster) -> None:
        from distributed import Client

        self.proc = cluster.scheduler
        self.tasks = 0
        self._stop = threading.Event()
        self._client = Client(scheduler_file=str(cluster.sf), timeout="30s")
        # what any graph of zarr reads makes the scheduler import (tens of MiB), before idle
        self._client.run_on_scheduler(_warm)
        self.idle = self.proc.memory_info().rss
        self.peak = self.idle
        self._threads = [
            threading.Thread(target=self._rss, daemon=True),
            threading.Thread(target=self._count, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _rss(self) -> None:
        while not self._stop.wait(0.1):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.proc.memory_info().rss)

    def _count(self) -> None:
        def held(dask_scheduler):
            return len(dask_scheduler.tasks)

        while not self._stop.wait(0.5):
            with contextlib.suppress(Exception):
                # the sampler's own client holds no tasks
                self.tasks = max(self.tasks, self._client.run_on_scheduler(held))

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
        self._client.close()


def contenders(dims: list[str]) -> dict[str, list[str]]:
    """label: the command (IN, OUT and the scheduler file filled in later)."""
    out = {}
    for d in dims:
        flags = [x for dim in d.split(",") for x in ("--dim", dim)]
        out[f"daskgrad run --dim {d}"] = [
            sys.executable, "-m", "daskgrad", "run", "{IN}", "{OUT}", *flags,
            "--scheduler-file", "{SF}", "--no-progress",
        ]  # fmt: skip
    out["xarray copy (floor)"] = [sys.executable, "-c", COPY, "{SF}", "{IN}", "{OUT}"]
    return out


def run_one(cmd: list[str], src: Path, where: Path, memory_limit: str) -> dict[str, float]:
    """One contender on a fresh cluster: wall seconds, scheduler RSS idle and peak, most tasks."""
    out = where / "out.zarr"
    shutil.rmtree(out, ignore_errors=True)
    cluster = Cluster(where, memory_limit)
    try:
        sampler = Sampler(cluster)
        filled = [str(a).format(IN=src, OUT=out, SF=cluster.sf) for a in cmd]
        t = time.perf_counter()
        r = subprocess.run(filled, capture_output=True, text=True)
        wall = time.perf_counter() - t
        sampler.stop()
        if r.returncode:
            raise RuntimeError(f"{' '.join(filled)} failed:\n{r.stderr}")
    finally:
        cluster.stop()
        shutil.rmtree(out, ignore_errors=True)
    return {"wall": wall, "idle": sampler.idle, "peak": sampler.peak, "tasks": sampler.tasks}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000],
                   help="stored chunks of each input (default 10000 100000)")  # fmt: skip
    p.add_argument("--dims", nargs="+", default=["y,x", "time,y,x"],
                   help="daskgrad runs: dims, comma-separated (y,x time,y,x)")  # fmt: skip
    p.add_argument("--memory-limit", default="1GiB", help="per worker (default 1GiB)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each contender; best wall")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="for the stores (default /tmp)")
    args = p.parse_args(argv)
    # a SIGTERM (timeout, kill) unwinds through the finally blocks that kill the cluster
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print("## Many stored chunks on a distributed cluster: scheduler memory\n")
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"2 workers x 1 thread x {args.memory_limit}; {load()} at start\n"
    )
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="daskgrad-stored-") as tmp:
        for n in args.chunks:
            src = Path(tmp) / f"in-{n}.zarr"
            t = time.perf_counter()
            stored = make_store(src, shape_for(n))
            print(
                f"input of {stored} stored chunks written in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeat):  # the contenders interleaved within each round
                for label, cmd in contenders(args.dims).items():
                    got = run_one(cmd, src, Path(tmp), args.memory_limit)
                    print(f"{stored} stored chunks, {label}: {got}", flush=True)
                    if label not in best or got["wall"] < best[label]["wall"]:
                        best[label] = got
            for label, got in best.items():
                rows.append({"chunks": stored, "contender": label, **got})
            shutil.rmtree(src)
    print(
        "\n| stored chunks | contender | wall s | / floor | scheduler idle MiB "
        "| scheduler peak MiB | peak - idle, B per stored chunk | most tasks held |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        floor = next(f for f in rows if f["chunks"] == r["chunks"] and "floor" in f["contender"])
        print(
            f"| {r['chunks']} | {r['contender']} | {r['wall']:.1f} "
            f"| {r['wall'] / floor['wall']:.2f}x | {r['idle'] / 2**20:.0f} "
            f"| {r['peak'] / 2**20:.0f} | {(r['peak'] - r['idle']) / r['chunks']:.0f} "
            f"| {r['tasks']:.0f} |"
        )
    print(f"\nBest wall of {args.repeat}; RSS sampled every 100 ms, tasks every 0.5 s. {load()} "
          "at end.")  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
