"""Per-chunk graph overhead of daskgrad against the minimal graph, measured side by side in one run.

    python benchmarks/bench_graph.py                  # 22^3 and 46^3 chunks of 4^3 (~10^4, ~10^5)
    python benchmarks/bench_graph.py --million        # + 100^3 chunks (10^6; minutes, GiBs)
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
  --repeat; the contenders run in turn within each round, so a burst of load hits all of them;
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


def time_once(fn: Contender, side: int, chunk: int, compute: bool = True) -> tuple[float, float]:
    """(build + compute seconds, build seconds) of ``fn``'s outputs on the sync scheduler;
    without ``compute``, build + materialize (every layer turned into tasks) in place of
    build + compute."""
    x = fresh(side, chunk)
    if not compute:
        ensure_dict(x.dask)  # the input's own tasks are not ours to count
    gc.collect()
    t = time.perf_counter()
    outs = fn(x)
    built = time.perf_counter() - t
    if compute:
        dask.compute(*outs, scheduler="sync")
    else:
        ensure_dict(HighLevelGraph.merge(*[o.dask for o in outs]))
    return time.perf_counter() - t, built


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
    """For each side and contender: time and memory per chunk, as dicts (one per pair)."""
    rows: list[dict[str, object]] = []
    for side in sides:
        fns = contenders(peer)
        best = dict.fromkeys(fns, (math.inf, math.inf))
        for _ in range(repeat):
            for label, fn in fns.items():
                total, built = time_once(fn, side, chunk, compute)
                best[label] = min(best[label], (total, built))
        for label, fn in fns.items():
            mem = graph_memory(fn, side, chunk)
            n = side**3
            rows.append(
                dict(
                    chunks=n,
                    contender=label,
                    us=best[label][0] / n * 1e6,
                    build_us=best[label][1] / n * 1e6,
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
    sides = args.sides + ([100] if args.million else [])
    print(f"## Graph overhead: chunks of {args.chunk}^3 float64, 3 dims, sync scheduler\n")
    print(f"{machine()}; {load()} at start\n")
    rows = measure(sides, args.chunk, args.repeat, args.peer, not args.build_only)
    what = "build + materialize" if args.build_only else "build + compute"
    print(
        f"| chunks | contender | tasks / chunk | build µs | {what} µs "
        "| / minimal | graph held B | / minimal | build peak B |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        floor = next(f for f in rows if f["chunks"] == r["chunks"] and f["contender"] == MINIMAL)
        print(
            f"| {r['chunks']} | {r['contender']} | {r['tasks']:.1f} | {r['build_us']:.0f} "
            f"| {r['us']:.0f} | {r['us'] / floor['us']:.2f}x "  # type: ignore[operator]
            f"| {r['held']:.0f} | {r['held'] / floor['held']:.2f}x "  # type: ignore[operator]
            f"| {r['peak']:.0f} |"
        )
    print(
        f"\nPer input chunk; time best of {args.repeat} rounds, contenders interleaved; memory "
        f"by tracemalloc (graph held after materializing, input's tasks excluded). {load()} "
        "at end. Target: daskgrad <= 1.5x the minimal graph in time at 10^4 and 10^5 chunks."
    )


if __name__ == "__main__":
    main()
