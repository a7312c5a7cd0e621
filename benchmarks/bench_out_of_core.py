"""Out of core: ``daskgrad run`` on a zarr input larger than the cluster's memory vs the I/O floor.

    python benchmarks/bench_out_of_core.py                 # 2 GiB float32, 2 workers x 512 MiB
    python benchmarks/bench_out_of_core.py --size 64MiB    # quick check that it works
    python benchmarks/bench_out_of_core.py --accuracy 4    # 4th-order stencils (target <= 1.4)
    python benchmarks/bench_out_of_core.py --accuracy 2,4  # both, interleaved in one run

The input (in a temporary directory under --dir, removed afterwards) is differentiated along 2 of
its 3 dims by the same code as ``daskgrad run``. The I/O floor, on the same cluster, reads the
input once and writes 2 arrays of its size. The worker processes' RSS is sampled every 50 ms.
Prints a markdown table of ratios: gradient time / I/O floor (target: <= 1.1 at accuracy 2, the
default; <= 1.4 at --accuracy 4), the worker processes' CPU time / the floor's (the least of the
runs: less sensitive to other work on a shared machine than wall time), peak RSS / limit
(<= 1), and worker restarts (0); and figures the machine's load does not change: the tasks run
per stored chunk and the bytes the workers fetched from each other. ``--vorticity`` adds
``daskgrad run --vorticity u,v --geospatial`` on winds, and its Cartesian twin ``--dim lon --dim
lat`` (the same kernel without the metric terms), against their own floor.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import psutil
import xarray as xr
from dask.array.core import normalize_chunks
from dask.utils import format_bytes, parse_bytes
from distributed import Client, LocalCluster

import daskgrad
from daskgrad.cli.pipeline import open_input, prepare


class RssSampler:
    """Peak RSS of each worker process, sampled from outside; a vanished pid is a restart."""

    def __init__(self, pids: dict[str, int], interval: float = 0.05):
        self.procs = {addr: psutil.Process(pid) for addr, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self.dead: set[str] = set()
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for addr, proc in self.procs.items():
                try:
                    self.peak[addr] = max(self.peak[addr], proc.memory_info().rss)
                except psutil.NoSuchProcess:
                    self.dead.add(addr)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def shape_for(nbytes: int) -> tuple[int, int, int]:
    """(z, y, x) float32 shape of about ``nbytes``: 2048 x 2048 layers when there is room."""
    n = nbytes // 4
    side = 2048 if n >= 16 * 2048 * 2048 else int(np.sqrt(n / 16))
    return max(3, n // (side * side)), side, side


def worker_cpu(pids: dict[str, int]) -> float:
    """CPU seconds (user + system) the worker processes have used so far: on a shared machine
    a less load-sensitive figure than wall time (a vanished pid counts 0)."""
    total = 0.0
    for pid in pids.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def _fetched(dask_worker) -> tuple[int, int]:
    """Bytes a worker has fetched from other workers so far, and in how many transfers."""
    log = dask_worker.transfer_incoming_log
    return sum(t.get("total", 0) for t in log), len(log)


def measure(client: Client, fn) -> dict:
    """Wall seconds of ``fn()``, the workers' peak RSS, restarts, and the CPU seconds of the
    worker processes (``cpu``) and of this process (``own_cpu``: the scheduler of a
    LocalCluster runs in it, and any graph building ``fn`` does here); besides, figures that
    do not depend on the machine's load: the tasks the workers ran (``tasks``) and the bytes
    they fetched from each other (``fetched``: ghost planes, or whole chunks when a task ran
    away from its data)."""
    before = client.scheduler_info()["workers"]
    pids = client.run(os.getpid)
    fetched0 = client.run(_fetched)
    client.get_task_stream(start=time.time())  # the scheduler records tasks from now on
    me = psutil.Process()
    cpu0, own0 = worker_cpu(pids), sum(me.cpu_times()[:2])
    with RssSampler(pids) as rss:
        start = time.perf_counter()
        wall0 = time.time()
        fn()
        seconds = time.perf_counter() - start
    cpu, own = worker_cpu(pids) - cpu0, sum(me.cpu_times()[:2]) - own0
    after = client.scheduler_info()["workers"]
    restarts = len(set(before) - set(after)) + len(rss.dead - (set(before) - set(after)))
    fetched1 = client.run(_fetched)
    moved = [(fetched1[w][0] - fetched0[w][0]) for w in fetched1 if w in fetched0]
    # the tasks the scheduler saw finish on a worker during fn (its task stream)
    stream = client.get_task_stream(start=wall0)
    return {
        "seconds": seconds,
        "peak": max(rss.peak.values()),
        "restarts": restarts,
        "cpu": cpu,
        "own_cpu": own,
        "tasks": len(stream),
        "fetched": sum(moved),
        "prefixes": prefixes(stream),
    }


def prefixes(stream: list[dict]) -> dict[str, tuple[int, float]]:
    """Per task name (its prefix, tokens and chunk index aside: ``read-u+v``, ``planes``,
    ``store-map``) in a task stream: the tasks and their seconds of compute on the workers
    (wall time in the worker's thread, so a loaded machine inflates it)."""
    out: dict[str, tuple[int, float]] = {}
    for t in stream:
        key = t.get("key")
        name = str(key[0] if isinstance(key, tuple) else key)
        quoted = re.match(r"\(['\"]([^'\"]*)", name)  # a chunk's key, as a string
        name = re.sub(r"(-[0-9a-f]{8,})+$", "", quoted.group(1) if quoted else name)
        spent = sum(
            s["stop"] - s["start"] for s in t.get("startstops", ()) if s["action"] == "compute"
        )
        n, sec = out.get(name, (0, 0.0))
        out[name] = (n + 1, sec + spent)
    return out


def interleaved(client: Client, fns: dict, repeat: int, work: Path) -> tuple[dict, int]:
    """The contenders ``fns`` run in turn ``repeat`` times (``measure``d, their outputs
    ``work/out*.zarr`` removed after each): the best seconds of each, and all restarts."""
    best = dict.fromkeys(fns, float("inf"))
    restarts = 0
    for _ in range(repeat):
        for name, fn in fns.items():
            m = measure(client, fn)
            best[name] = min(best[name], m["seconds"])
            restarts += m["restarts"]
            for old in work.glob("out*.zarr"):
                shutil.rmtree(old)
    return best, restarts


def start_cluster(
    workers: int = 2, threads: int = 1, limit: str | int = "512MiB", config: dict | None = None
):
    """The benchmark's LocalCluster: worker processes under a memory limit, quiet, with dask
    settings ``config`` (by default those ``daskgrad run`` gives its own cluster: the
    scheduler's bandwidth estimate, which keeps a chunk's kernel on the worker that read it,
    held there by ``hold_bandwidth``, where the installed daskgrad has them)."""
    hold = None
    if config is None:
        try:
            from daskgrad.cluster.connect import CLUSTER_CONFIG as config
        except ImportError:  # a daskgrad from before them
            config = {}
        with contextlib.suppress(ImportError):
            from daskgrad.cluster.connect import hold_bandwidth as hold
    with dask.config.set(config):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            memory_limit=parse_bytes(limit) if isinstance(limit, str) else limit,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
    if hold is not None:
        with Client(cluster) as client:
            hold(client)
    return cluster


def write_input(client: Client, path: Path, shape: tuple[int, ...], chunks) -> int:
    """A float32 zarr store at ``path``: random ``f`` (z, y, x), non-uniform x; its bytes."""
    f = da.random.default_rng(0).random(shape, chunks=chunks, dtype=np.float32)
    x = np.cumsum(np.linspace(1.0, 2.0, shape[2]))  # non-uniform spacing along x
    ds = xr.Dataset({"f": (("z", "y", "x"), f)}, coords={"x": x})
    client.compute(ds.to_zarr(path, compute=False)).result()
    return int(ds.f.nbytes)


def write_winds(client: Client, path: Path, nt: int, ny: int, nx: int, chunks) -> int:
    """u and v (nt, ny, nx) float32 on a global 0.25 deg grid (``bench_operators``'s)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_operators import write_winds as write

    return write(client, path, nt, ny, nx, chunks)


def io_floor(client: Client, inp: Path, out: Path) -> None:
    """The I/O floor: read the input once, write 2 arrays of its size."""
    src = open_input(inp)
    copy = xr.Dataset({"a": src.f, "b": -src.f}, coords=src.coords)
    client.compute(copy.to_zarr(out, compute=False)).result()


def gradient(client: Client, inp: Path, out: Path, accuracy: int = 2) -> None:
    """What ``daskgrad run IN OUT --dim y --dim x`` computes, in this process."""
    options = {} if accuracy == 2 else {"accuracy": accuracy}
    job = prepare(open_input(inp), ["y", "x"], **options)
    daskgrad.to_zarr(job.result, out, client=client, progress=False)


def command(inp: Path, out: Path, scheduler: str, *extra: str) -> str:
    """``daskgrad run IN OUT --no-progress --scheduler ADDRESS *extra`` in a process of its
    own; its standard output. RuntimeError with its last line of error when it fails."""
    cmd = [sys.executable, "-m", "daskgrad", "run", str(inp), str(out), *extra]
    cmd += ["--no-progress", "--scheduler", scheduler]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"daskgrad run {' '.join(extra)} exited {done.returncode}: {last}")
    return done.stdout


def command_here(inp: Path, out: Path, scheduler: str, *extra: str) -> str:
    """:func:`command` run by this process (``daskgrad.cli.app.main``), so that the time is the
    run's and not Python's start-up and imports; its standard output."""
    from daskgrad.cli.app import main as cli_main

    said, err = io.StringIO(), io.StringIO()
    argv = ["run", str(inp), str(out), *extra, "--no-progress", "--scheduler", scheduler]
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(err):
        status = cli_main(argv)
    if status:
        last = (err.getvalue().strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"daskgrad run {' '.join(extra)} exited {status}: {last}")
    return said.getvalue()


def suite(scale: str = "small", repeat: int = 3, shared=None) -> list[dict]:
    """Rows for benchmarks/run_all.py: ``daskgrad run --dim y --dim x`` against the I/O floor
    on a cluster of 2 workers x 512 MiB (``shared.client()``, else one of its own)."""
    size = {"smoke": "2MiB", "small": "256MiB"}[scale]
    shape = shape_for(parse_bytes(size))
    chunks = normalize_chunks((8, 256, 256), shape, dtype=np.float32)
    work = Path(tempfile.mkdtemp(prefix="daskgrad-suite-ooc-"))
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    own = None if shared is not None else start_cluster()
    try:
        client = shared.client() if shared is not None else Client(own)
        address = client.scheduler.address
        inp = work / "input.zarr"
        nbytes = write_input(client, inp, shape, chunks)
        n = [0]

        def fresh() -> Path:
            n[0] += 1
            return work / f"out{n[0]}.zarr"

        fns = {
            "floor": lambda: io_floor(client, inp, fresh()),
            "run": lambda: command_here(inp, fresh(), address, "--dim", "y", "--dim", "x"),
        }
        best, restarts = interleaved(client, fns, repeat, work)
    finally:
        if own is not None:
            own.close()
        shutil.rmtree(work, ignore_errors=True)
    return [
        dict(
            what=f"out of core, `daskgrad run --dim y --dim x` (start-up excluded) on "
            f"{format_bytes(nbytes)} float32 zarr, 2 workers x 512 MiB ({restarts} restarts)",
            reference="I/O floor: read once, write 2 arrays",
            ours=best["run"],
            ref=best["floor"],
            target=1.1,
        )
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="2GiB", help="input size (default 2GiB)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--memory-limit", default="512MiB", help="per worker (default 512MiB)")
    p.add_argument(
        "--chunks",
        default="8,512,512",
        help="input chunks z,y,x (default 8,512,512: 8 MiB), or 'auto' for dask's choice "
        "under --chunk-size (127x127x127 for 2GiB, with a 1-layer sliver along z)",
    )
    p.add_argument("--chunk-size", default="8MiB", help="limit for --chunks auto (8MiB)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    p.add_argument(
        "--accuracy",
        default="2",
        help="order of the differences, as daskgrad run --accuracy: 2 (default), 4, 6 or 8, "
        "or several separated by commas, each timed in every repeat",
    )
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where the data goes (/tmp)")
    p.add_argument(
        "--command",
        action="store_true",
        help="also time `daskgrad run` itself (a process of its own, its start included), "
        "which reads several small stored chunks per task",
    )
    p.add_argument(
        "--vorticity",
        action="store_true",
        help="also time `daskgrad run --vorticity u,v --geospatial` and its Cartesian twin "
        "`--vorticity u,v --dim lon --dim lat` (in this process, start-up excluded) on u and v "
        "of --size each (float32, 0.25 deg lat/lon, chunks 8x361x720) against their own "
        "floor: read u and v once, write u + v (daskgrad.to_zarr)",
    )
    args = p.parse_args()
    try:
        orders = [int(a) for a in args.accuracy.split(",")]
    except ValueError:
        orders = []
    if not orders or not set(orders) <= {2, 4, 6, 8} or len(set(orders)) < len(orders):
        p.error(f"--accuracy must be 2, 4, 6 or 8, or several of them; got {args.accuracy!r}")
    # the default call stays the one before accuracy existed; other orders need a daskgrad
    # whose pipeline (what ``daskgrad run`` calls) takes them
    if orders != [2] and "accuracy" not in inspect.signature(prepare).parameters:
        p.error(f"--accuracy {args.accuracy}: the installed daskgrad's pipeline has no accuracy")
    limit = parse_bytes(args.memory_limit)
    shape = shape_for(parse_bytes(args.size))
    given = args.chunks
    if given != "auto":
        try:
            given = tuple(int(c) for c in given.split(","))
        except ValueError:
            given = ()
        if len(given) != 3:
            p.error(f"--chunks must be 'auto' or three integers z,y,x; got {args.chunks!r}")
    chunks = normalize_chunks(given, shape, limit=parse_bytes(args.chunk_size), dtype=np.float32)
    work = Path(tempfile.mkdtemp(prefix="daskgrad-bench-", dir=args.dir))
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    try:
        cluster = start_cluster(args.workers, args.threads_per_worker, limit)
        with cluster, Client(cluster) as client:
            inp = work / "input.zarr"
            nbytes = write_input(client, inp, shape, chunks)

            def floor(i=[0]):  # noqa: B006 - a fresh output name per call
                i[0] += 1
                io_floor(client, inp, work / f"floor{i[0]}.zarr")

            def grad(accuracy, i=[0]):  # noqa: B006
                i[0] += 1
                gradient(client, inp, work / f"grad{i[0]}.zarr", accuracy)

            def cli(accuracy, i=[0]):  # noqa: B006
                i[0] += 1
                out = work / f"grad-cli{i[0]}.zarr"
                extra = ["--dim", "y", "--dim", "x"]
                extra += [] if accuracy == 2 else ["--accuracy", str(accuracy)]
                stdout = command(inp, out, cluster.scheduler_address, *extra)
                said.update(ln for ln in stdout.splitlines() if "each task reads" in ln)

            said: set[str] = set()
            fns = {"I/O floor (read 1, write 2)": floor}
            floor_of = dict.fromkeys(fns, "I/O floor (read 1, write 2)")
            stored = {"I/O floor (read 1, write 2)": math.prod(map(len, chunks))}
            for acc in orders:
                name = "daskgrad, 2 of 3 dims" + (f", accuracy {acc}" if orders != [2] else "")
                fns[name] = lambda acc=acc: grad(acc)
                if args.command:
                    fns[f"`daskgrad run`, {name[10:]}"] = lambda acc=acc: cli(acc)
            for name in fns:
                floor_of.setdefault(name, "I/O floor (read 1, write 2)")
                stored.setdefault(name, math.prod(map(len, chunks)))
            if args.vorticity:
                winds = work / "winds.zarr"
                ny, nx = 721, 1440
                nt = max(8, parse_bytes(args.size) // (4 * ny * nx))
                w_chunks = (8, ny // 2 + 1, nx // 2)
                w_bytes = write_winds(client, winds, nt, ny, nx, w_chunks)
                w_floor = "I/O floor (read u, v; write u + v)"
                w_run = "`daskgrad run --vorticity u,v --geospatial`, start-up excluded"

                def winds_floor(i=[0]):  # noqa: B006
                    i[0] += 1
                    src = xr.open_zarr(winds)
                    out = work / f"floor-w{i[0]}.zarr"
                    total = (src.u + src.v).rename("w")
                    daskgrad.to_zarr(total, out, client=client, progress=False)

                def vorticity(i=[0]):  # noqa: B006
                    i[0] += 1
                    out = work / f"grad-vort{i[0]}.zarr"
                    extra = ("--vorticity", "u,v", "--geospatial")
                    stdout = command_here(winds, out, cluster.scheduler_address, *extra)
                    said.update(ln for ln in stdout.splitlines() if "each task reads" in ln)

                def vorticity_cartesian(i=[0]):  # noqa: B006
                    i[0] += 1
                    out = work / f"grad-vort-xy{i[0]}.zarr"
                    extra = ("--vorticity", "u,v", "--dim", "lon", "--dim", "lat")
                    command_here(winds, out, cluster.scheduler_address, *extra)

                w_xy = "`daskgrad run --vorticity u,v --dim lon --dim lat`, start-up excluded"
                fns[w_floor], fns[w_xy], fns[w_run] = winds_floor, vorticity_cartesian, vorticity
                n_w = math.prod(-(-n // c) for n, c in zip((nt, ny, nx), w_chunks, strict=True))
                for name in (w_floor, w_xy, w_run):
                    floor_of[name], stored[name] = w_floor, n_w
            runs = {name: [] for name in fns}
            for _ in range(args.repeat):
                for name, fn in fns.items():
                    runs[name].append(measure(client, fn))
                    for old in work.glob("[fg]*.zarr"):
                        shutil.rmtree(old)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = {name: min(r, key=lambda m: m["seconds"]) for name, r in runs.items()}
    least = {
        name: {key: min(m[key] for m in r) for key in ("cpu", "own_cpu", "tasks", "fetched")}
        for name, r in runs.items()
    }
    print(
        f"\ninput {shape} float32 = {format_bytes(nbytes)}, chunks {chunks[0][0]}x{chunks[1][0]}"
        f"x{chunks[2][0]}; {args.workers} workers x {args.threads_per_worker} threads x "
        f"{format_bytes(limit)}; {platform.machine()}, {os.cpu_count()} cores, dask "
        f"{dask.__version__}; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )
    if args.vorticity:
        print(f"winds: u and v {nt}x{ny}x{nx} float32 = {format_bytes(w_bytes)} each")
    print(
        "\nEach row against its floor. CPU: the least of the runs; workers' (the worker "
        "processes) and this process's (the scheduler, graph building). Tasks per stored chunk "
        "(of each input) and the bytes fetched between workers: the least of the runs; they do "
        "not depend on the machine's load.\n"
    )
    print(
        "| run | wall s | / floor | workers' CPU s | / floor | this process's CPU s | "
        "tasks / stored chunk | fetched between workers | peak worker RSS | / limit | restarts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, m in best.items():
        f, low = floor_of[name], least[name]
        print(
            f"| {name} | {m['seconds']:.1f} | {m['seconds'] / best[f]['seconds']:.2f} | "
            f"{low['cpu']:.1f} | {low['cpu'] / least[f]['cpu']:.2f} | {low['own_cpu']:.1f} | "
            f"{low['tasks'] / stored[name]:.2f} | {format_bytes(low['fetched'])} | "
            f"{format_bytes(m['peak'])} | {m['peak'] / limit:.2f} | "
            f"{sum(r['restarts'] for r in runs[name])} |"
        )
    print(
        "\nWhere the workers' time went (the best run of each; per task name: tasks per stored "
        "chunk, ms of compute per stored chunk; wall time in the workers' threads):\n"
    )
    for name, m in best.items():
        parts = sorted(m["prefixes"].items(), key=lambda kv: -kv[1][1])
        text = ", ".join(
            f"{p} {n / stored[name]:.2f} x {1000 * sec / stored[name]:.1f} ms"
            for p, (n, sec) in parts
        )
        print(f"- {name}: {text}")
    for line in sorted(said):
        print(f"\n{line}")


if __name__ == "__main__":
    main()
