"""Per-chunk graph overhead of daskgrad against the minimal graph, measured side by side in one run.

    python benchmarks/bench_graph.py                  # 22^3 and 46^3 chunks of 4^3 (~10^4, ~10^5)
    python benchmarks/bench_graph.py --million        # + 100^3 chunks (10^6), built and
                                                      # materialized, not computed (minutes, GiBs)
    python benchmarks/bench_graph.py --sides 22 --peer   # + dask.array.gradient at that size
    python benchmarks/bench_graph.py --sides 22 --profile   # cProfile of daskgrad's compute

Chunks of 4^3 float64 are so small that the arithmetic is negligible: what is timed is the cost
of the graph. The contenders have the same outputs, one key per output chunk:

- daskgrad: ``daskgrad.gradient(x, dim=[0, 1, 2])``;
- the minimal graph: three elementwise passes ``x * 1.0, x * 2.0, x * 3.0`` over the same chunks
  (three ``map_blocks``), the floor of any graph with these outputs;
- dask.array.gradient, with --peer (about 4 ms per chunk: slow at 10^5 chunks).

Per chunk, for each contender:

- time: building the arrays plus ``dask.compute`` on the sync scheduler (which materializes and
  optimizes the graph, orders it, runs the tasks one by one and gathers the result), best of
  --repeat; the contenders run in turn within each round, so a burst of load hits all of them.
  Wall time and the process's CPU time (``time.process_time``), which other processes on a
  shared machine disturb less;
- growth: building the arrays, and building plus materializing every layer into tasks, per
  chunk: constant from 10^4 to 10^6 chunks means linear growth (at 10^6 chunks, --million, only
  this is measured: computing 10^6 chunks takes many minutes per contender);
- memory: the bytes the client holds for the materialized graph of the outputs (tracemalloc,
  in a run of its own: tracing slows Python down), and its peak while building it.

Prints one markdown table with the ratios to the minimal graph (target: daskgrad <= 1.5x in time
at 10^4 and 10^5 chunks) and the load average.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import os
import platform
import pstats
import time
import tracemalloc
from collections.abc import Callable

import dask
import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.utils import ensure_dict

import daskgrad

Contender = Callable[[da.Array], list[da.Array]]
MINIMAL = "minimal graph: 3 elementwise passes"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"numpy {np.__version__}, dask {dask.__version__}, Python {platform.python_version()}"
    )


def load() -> str:
    return "load average " + ", ".join(f"{a:.1f}" for a in os.getloadavg())


def contenders(peer: bool = False) -> dict[str, Contender]:
    """The graphs compared, each a function of the input array giving its 3 outputs."""
    out: dict[str, Contender] = {
        "daskgrad.gradient": lambda x: list(daskgrad.gradient(x, dim=[0, 1, 2])),
        MINIMAL: lambda x: [x * (j + 1.0) for j in range(3)],
    }
    if peer:
        out["dask.array.gradient"] = lambda x: list(da.gradient(x, axis=[0, 1, 2]))
    return out


def fresh(side: int, chunk: int) -> da.Array:
    """A new input of side^3 chunks of chunk^3 float64 (dask caches materialized layers)."""
    return da.ones((side * chunk,) * 3, chunks=chunk)


def time_once(
    fn: Contender, side: int, chunk: int, compute: bool = True
) -> tuple[float, float, float]:
    """(build + compute seconds, their CPU seconds, build seconds) of ``fn``'s outputs on the
    sync scheduler; without ``compute``, build + materialize (every layer turned into tasks) in
    place of build + compute."""
    x = fresh(side, chunk)
    if not compute:
        ensure_dict(x.dask)  # the input's own tasks are not ours to count
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    outs = fn(x)
    built = time.perf_counter() - t
    if compute:
        dask.compute(*outs, scheduler="sync")
    else:
        ensure_dict(HighLevelGraph.merge(*[o.dask for o in outs]))
    return time.perf_counter() - t, time.process_time() - cpu, built


def graph_memory(fn: Contender, side: int, chunk: int) -> dict[str, float]:
    """Bytes held by the materialized graph of ``fn``'s outputs (the input's tasks excluded)
    and the peak while building it; the number of tasks."""
    x = fresh(side, chunk)
    ensure_dict(x.dask)  # the input's own tasks are not ours to count
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        outs = fn(x)
        graph = ensure_dict(HighLevelGraph.merge(*[o.dask for o in outs]))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"held": held - before, "peak": peak - before, "tasks": len(graph)}


def measure(
    sides: list[int], chunk: int = 4, repeat: int = 3, peer: bool = False, compute: bool = True
) -> list[dict[str, object]]:
    """For each side and contender: time and memory per chunk, as dicts (one per pair); each
    figure the best of ``repeat`` rounds, taken on its own (wall, CPU, build)."""
    rows: list[dict[str, object]] = []
    for side in sides:
        fns = contenders(peer)
        best = {label: [math.inf] * 3 for label in fns}
        for _ in range(repeat):
            for label, fn in fns.items():
                got = time_once(fn, side, chunk, compute)
                best[label] = [min(b, g) for b, g in zip(best[label], got, strict=True)]
        for label, fn in fns.items():
            mem = graph_memory(fn, side, chunk)
            n = side**3
            rows.append(
                dict(
                    chunks=n,
                    contender=label,
                    computed=compute,
                    us=best[label][0] / n * 1e6,
                    cpu_us=best[label][1] / n * 1e6,
                    build_us=best[label][2] / n * 1e6,
                    held=mem["held"] / n,
                    peak=mem["peak"] / n,
                    tasks=mem["tasks"] / n,
                )
            )
    return rows


def ratios(rows: list[dict[str, object]], chunks: int) -> tuple[float, float]:
    """daskgrad / minimal graph at ``chunks``: (time, held bytes)."""
    at = {r["contender"]: r for r in rows if r["chunks"] == chunks}
    ours, floor = at["daskgrad.gradient"], at[MINIMAL]
    return ours["us"] / floor["us"], ours["held"] / floor["held"]  # type: ignore[operator]


def suite(scale: str = "small", repeat: int = 3) -> list[dict[str, object]]:
    """Rows for benchmarks/run_all.py: daskgrad against the minimal graph per chunk."""
    side = {"smoke": 5, "small": 12}[scale]
    rows = measure([side], repeat=repeat)
    at = {r["contender"]: r for r in rows}
    ours, floor = at["daskgrad.gradient"], at[MINIMAL]
    n = side**3
    return [
        dict(
            what=f"per-chunk overhead, {n} chunks of 4^3, sync: time",
            reference="minimal graph (3 elementwise map_blocks)",
            ours=ours["us"],
            ref=floor["us"],
            unit="µs/chunk",
            target=1.5,
        ),
        dict(
            what=f"per-chunk overhead, {n} chunks of 4^3, sync: CPU time",
            reference="minimal graph (3 elementwise map_blocks)",
            ours=ours["cpu_us"],
            ref=floor["cpu_us"],
            unit="µs/chunk",
            target=1.5,
        ),
        dict(
            what=f"per-chunk overhead, {n} chunks of 4^3: graph memory",
            reference="minimal graph (3 elementwise map_blocks)",
            ours=ours["held"],
            ref=floor["held"],
            unit="B/chunk",
            target=None,
        ),
    ]


def profile(side: int, chunk: int) -> None:
    x = fresh(side, chunk)
    prof = cProfile.Profile()
    prof.enable()
    outs = daskgrad.gradient(x, dim=[0, 1, 2])
    dask.compute(*outs, scheduler="sync")
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sides",
        type=int,
        nargs="+",
        default=[22, 46],
        help="chunks per side (default 22 46: 10648 and 97336 chunks)",
    )
    p.add_argument("--million", action="store_true", help="also 100^3 = 10^6 chunks")
    p.add_argument(
        "--build-only",
        action="store_true",
        help="time build + materialize instead of build + compute (the growth of the graph "
        "alone: quick at 10^6 chunks)",
    )
    p.add_argument("--chunk", type=int, default=4, help="chunk edge (default 4)")
    p.add_argument("--repeat", type=int, default=3, help="rounds; the best is kept (3)")
    p.add_argument("--peer", action="store_true", help="also dask.array.gradient")
    p.add_argument("--profile", action="store_true", help="cProfile daskgrad at the first side")
    args = p.parse_args(argv)
    if args.profile:
        profile(args.sides[0], args.chunk)
        return
    print(f"## Graph overhead: chunks of {args.chunk}^3 float64, 3 dims, sync scheduler\n")
    print(f"{machine()}; {load()} at start\n")
    rows = measure(args.sides, args.chunk, args.repeat, args.peer, not args.build_only)
    if args.million:  # built and materialized only: computing 10^6 chunks takes too long
        rows += measure([100], args.chunk, min(args.repeat, 2), args.peer, compute=False)
    print(
        "| chunks | contender | tasks / chunk | build µs | build + compute µs | / minimal "
        "| CPU µs | / minimal | graph held B | / minimal | build peak B |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        floor = next(f for f in rows if f["chunks"] == r["chunks"] and f["contender"] == MINIMAL)
        what = "" if r["computed"] else " (build + materialize)"
        print(
            f"| {r['chunks']} | {r['contender']}{what} | {r['tasks']:.1f} | {r['build_us']:.0f} "
            f"| {r['us']:.0f} | {r['us'] / floor['us']:.2f}x "  # type: ignore[operator]
            f"| {r['cpu_us']:.0f} | {r['cpu_us'] / floor['cpu_us']:.2f}x "  # type: ignore[operator]
            f"| {r['held']:.0f} | {r['held'] / floor['held']:.2f}x "  # type: ignore[operator]
            f"| {r['peak']:.0f} |"
        )
    print(
        f"\nPer input chunk; times best of {args.repeat} rounds, contenders interleaved (wall, and "
        "CPU time of this process); memory by tracemalloc (graph held after materializing, "
        f"input's tasks excluded). {load()} at end. Target: daskgrad <= 1.5x the minimal graph "
        "in time at 10^4 and 10^5 chunks; build µs and bytes per chunk flat from 10^4 to 10^6."
    )


if __name__ == "__main__":
    main()
