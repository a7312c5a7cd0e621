"""Placement: does each chunk's kernel run on the worker that read its chunk?

    python benchmarks/bench_placement.py                    # 128 MiB per input, best of 1
    python benchmarks/bench_placement.py --size 256MiB --repeat 3
    python benchmarks/bench_placement.py --bandwidth 100MB  # the scheduler's estimate to try
    python benchmarks/bench_placement.py --size 768MiB --only frontogenesis  # 2.3x the cluster

``daskgrad run`` (in this process, on a LocalCluster of 2 workers x 1 thread x 512 MiB given by
``--scheduler``) on a zarr store of theta, u, v (time, lat, lon) float32 on a 0.25° grid,
chunks (8, 361, 720), for three cases: the gradient of theta ``--dim lat --dim lon``,
``--vorticity u,v --geospatial`` and ``--frontogenesis theta:u,v --geospatial``. Each against
its I/O floor on the same cluster, run in turn: read the inputs once and write as many arrays
of the same size, with the same writer (``daskgrad.to_zarr``).

For each run: the fraction of kernel tasks (the fused kernel-and-writes of a chunk) that ran
on the worker that ran their chunk's read, from the run's graph and the task stream; the bytes
the workers fetched from each other; the workers' CPU seconds; the peak worker RSS sampled
every 50 ms / the limit; wall time / the floor's. ``--bandwidth`` runs each case once per value
on a cluster of its own (``distributed.scheduler.bandwidth`` set for the scheduler and its
workers); ``daskgrad`` is the embedded cluster's setting
(:data:`daskgrad.cluster.connect.CLUSTER_CONFIG`), ``distributed`` distributed's default.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import xarray as xr
from dask.utils import format_bytes, parse_bytes
from distributed import Client, get_task_stream

import daskgrad
import daskgrad.io.writer as writer_module

sys.path.insert(0, str(Path(__file__).parent))
from bench_kinematics import noisy_dataset  # noqa: E402
from bench_out_of_core import command_here, measure, start_cluster  # noqa: E402

CASES = {
    "gradient theta --dim lat --dim lon": (["--var", "theta", "--dim", "lat", "--dim", "lon"],
                                           ("theta",), 2),
    "--vorticity u,v --geospatial": (["--vorticity", "u,v", "--geospatial"], ("u", "v"), 1),
    "--frontogenesis theta:u,v --geospatial": (
        ["--frontogenesis", "theta:u,v", "--geospatial"], ("theta", "u", "v"), 1,
    ),
}  # fmt: skip


READS = ("read-", "open_dataset-")  # a packed read of several inputs, or one input's


def _name(key) -> str:
    return str(key[0] if isinstance(key, tuple) else key)


class GraphSpy:
    """The graphs and targets ``daskgrad.io.writer`` computes on a cluster, kept."""

    def __init__(self):
        self.runs: list[tuple[dict, list]] = []
        self._orig = writer_module.compute_distributed

    def __enter__(self):
        def spy(graph, writes, *args, **kwargs):
            self.runs.append((graph, list(writes)))
            return self._orig(graph, writes, *args, **kwargs)

        writer_module.compute_distributed = spy
        return self

    def __exit__(self, *exc):
        writer_module.compute_distributed = self._orig


def colocated(graph: dict, writes: list, where: dict) -> tuple[int, int]:
    """(kernels on the worker of their chunk's read, kernels with a read): ``where`` maps a
    key's str to the worker that computed it."""
    from dask.core import get_dependencies

    same = total = 0
    for w in writes:
        reads = [d for d in get_dependencies(graph, w) if _name(d).startswith(READS)]
        if len(reads) != 1 or str(w) not in where or str(reads[0]) not in where:
            continue
        total += 1
        same += where[str(w)] == where[str(reads[0])]
    return same, total


def fetched(dask_worker=None) -> int:
    """Bytes this worker has fetched from other workers."""
    return sum(e["total"] for e in dask_worker.transfer_incoming_log)


def observe(client: Client, fn) -> dict:
    """``measure(client, fn)`` plus the bytes fetched between workers and, for a run, the
    kernels' co-location with their reads."""
    before = sum(client.run(fetched).values())
    with GraphSpy() as spy, get_task_stream(client=client) as ts:
        m = measure(client, fn)
    m["fetched"] = sum(client.run(fetched).values()) - before
    where = {str(t["key"]): t["worker"] for t in ts.data}
    same = total = 0
    for graph, writes in spy.runs:
        s, t = colocated(graph, writes, where)
        same, total = same + s, total + t
    m["kernels"] = (same, total)
    return m


def make_store(path: Path, nbytes: int) -> tuple[int, tuple]:
    """theta, u, v (time, lat, lon) float32, 0.25°, chunks (8, 361, 720), each ~``nbytes``."""
    ny, nx = 721, 1440
    nt = max(8, round(nbytes / (4 * ny * nx) / 8) * 8)
    ds = noisy_dataset(("theta", "u", "v"), (nt,), ny, nx, (8, 361, 720))
    ds.to_zarr(path, mode="w")
    return int(ds.u.nbytes), ds.u.shape


def floor(inp: Path, out: Path, names: tuple, n_out: int, client: Client) -> None:
    """Read ``names`` once, write ``n_out`` arrays of one input's size (daskgrad's writer)."""
    src = xr.open_zarr(inp)
    total = sum(src[n] for n in names)
    out_ds = xr.Dataset({f"w{i}": total * (i + 1) for i in range(n_out)})
    daskgrad.to_zarr(out_ds, out, client=client, progress=False)


def run_variant(
    bandwidth: str, inp: Path, work: Path, repeat: int, limit: int, cases: dict
) -> dict:

    # "daskgrad": None, start_cluster's default, daskgrad run's own settings with the estimate
    # held by hold_bandwidth (a worker moves it towards each >1 MB transfer's speed otherwise)
    settings = (
        None
        if bandwidth == "daskgrad"
        else {}
        if bandwidth == "distributed"
        else {"distributed.scheduler.bandwidth": bandwidth}
    )
    results: dict[str, list] = {}
    n = [0]

    def fresh() -> Path:
        n[0] += 1
        return work / f"out{n[0]}.zarr"

    with start_cluster(2, 1, limit, settings) as cluster, Client(cluster) as c:
        address = cluster.scheduler_address
        fns = {}
        for case, (flags, names, n_out) in cases.items():
            fns[f"{case}: floor"] = lambda names=names, n_out=n_out: floor(
                inp, fresh(), names, n_out, c
            )
            fns[case] = lambda flags=flags: command_here(inp, fresh(), address, *flags)
        for _ in range(repeat):
            for name, fn in fns.items():
                results.setdefault(name, []).append(observe(c, fn))
                for old in work.glob("out*.zarr"):
                    shutil.rmtree(old)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="128MiB", help="per input (default 128MiB)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--memory-limit", default="512MiB")
    p.add_argument(
        "--bandwidth",
        default="distributed,daskgrad",
        help="comma-separated: 'distributed' (its default), 'daskgrad' (the embedded "
        "cluster's), or a value such as 10MB",
    )
    p.add_argument("--only", default="", help="the cases whose name contains this word")
    p.add_argument("--dir", default=tempfile.gettempdir())
    args = p.parse_args()
    limit = parse_bytes(args.memory_limit)
    cases = {k: v for k, v in CASES.items() if args.only in k}
    if not cases:
        p.error(f"--only {args.only}: no case has it; the cases are {', '.join(CASES)}")
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="daskgrad-bench-placement-", dir=args.dir))
    load0 = os.getloadavg()[0]
    try:
        inp = work / "in.zarr"
        nbytes, shape = make_store(inp, parse_bytes(args.size))
        variants = {
            b: run_variant(b, inp, work, args.repeat, limit, cases)
            for b in args.bandwidth.split(",")
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\ninputs theta, u, v {shape} float32, {format_bytes(nbytes)} each, chunks 8x361x720;"
        f" 2 workers x 1 thread x {format_bytes(limit)}; best of {args.repeat}; load average "
        f"{load0:.1f} -> {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| bandwidth | run | kernels on their read's worker | fetched between workers | "
        "workers' CPU s | / floor | wall s | / floor | peak RSS / limit | restarts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for bw, results in variants.items():
        for case in cases:
            runs, floors = results[case], results[f"{case}: floor"]
            best = min(runs, key=lambda m: m["seconds"])
            fbest = min(floors, key=lambda m: m["seconds"])
            cpu, fcpu = min(m["cpu"] for m in runs), min(m["cpu"] for m in floors)
            same = sum(m["kernels"][0] for m in runs)
            total = sum(m["kernels"][1] for m in runs)
            moved = max(m["fetched"] for m in runs)
            peak = max(m["peak"] for m in runs + floors)
            print(
                f"| {bw} | {case} | {same}/{total} | {format_bytes(moved)} "
                f"(floor {format_bytes(max(m['fetched'] for m in floors))}) | {cpu:.1f} | "
                f"{cpu / fcpu:.2f} | {best['seconds']:.1f} | "
                f"{best['seconds'] / fbest['seconds']:.2f} | {peak / limit:.2f} | "
                f"{sum(m['restarts'] for m in runs + floors)} |"
            )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
