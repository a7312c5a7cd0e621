"""Per-chunk graph overhead of daskgrad against its peers, measured side by side in one run.

    python benchmarks/bench_graph.py                   # 22^3 and 46^3 chunks of 4^3 (~10^4, ~10^5)
    python benchmarks/bench_graph.py --sides 22        # quicker: ~10^4 only
    python benchmarks/bench_graph.py --sides 22 --profile   # cProfile of daskgrad's compute

Chunks of 4^3 float64 are so small that the arithmetic is negligible: what is timed is the cost
of the graph (building it, materializing it, and dask.compute on the sync scheduler: graph
optimization, dask.order and running the tasks one by one). All 3 dims are differentiated
unless --k says fewer.

Prints markdown tables of seconds, microseconds per input chunk and ratios (peer / daskgrad:
> 1 means daskgrad is faster). dask.array.gradient is measured only at the smallest size (it
takes ~4 ms per chunk); its per-chunk figures are compared at the larger sizes as they are.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import time
from contextlib import contextmanager

import dask
import dask.array as da
import dask.array.optimization
import dask.local
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.utils import ensure_dict

import daskgrad

# where dask.compute spends the graph's overhead on the sync scheduler; wrapped to time them
_TIMED = {
    "conversion": [
        (dask.local, "convert_legacy_graph"),
        (dask.array.optimization, "convert_legacy_graph"),
    ],
    "order": [(dask.local, "order")],
}


@contextmanager
def timed_internals():
    """Time spent in dask's legacy-graph conversion and in dask.order while inside."""
    spent = dict.fromkeys(_TIMED, 0.0)
    saved = []

    def wrap(what, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[what] += time.perf_counter() - t

        return timed

    for what, places in _TIMED.items():
        for mod, attr in places:
            if hasattr(mod, attr):
                saved.append((mod, attr, getattr(mod, attr)))
                setattr(mod, attr, wrap(what, getattr(mod, attr)))
    try:
        yield spent
    finally:
        for mod, attr, fn in saved:
            setattr(mod, attr, fn)


def machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"numpy {np.__version__}, dask {dask.__version__}, Python {platform.python_version()}"
    )


def contenders(k):
    dims = list(range(k))
    passes = ", ".join(f"x*{j + 1}" for j in dims)

    def peer(x):
        out = da.gradient(x, axis=dims)
        return out if isinstance(out, list) else [out]

    return {
        "daskgrad": lambda x: daskgrad.gradient(x, dim=dims),
        "dask.array.gradient": peer,
        f"{k} elementwise pass{'es' if k > 1 else ''} {passes}": lambda x: [
            x * (j + 1.0) for j in dims
        ],
    }


def measure(fn, side, chunk):
    """construct, materialize and compute seconds, with tasks and the compute's internals.

    Every phase starts from freshly built arrays: dask caches materialized layers.
    """

    def fresh():
        return da.ones((side * chunk,) * 3, chunks=chunk)

    x = fresh()
    t = time.perf_counter()
    outs = fn(x)
    construct = time.perf_counter() - t

    x = fresh()
    ensure_dict(x.dask)  # the input's own tasks are not ours to count (dask caches them)
    outs = fn(x)
    t = time.perf_counter()
    n_tasks = len(ensure_dict(HighLevelGraph.merge(*[o.dask for o in outs])))
    materialize = time.perf_counter() - t

    outs = fn(fresh())
    with timed_internals() as spent:
        t = time.perf_counter()
        dask.compute(*outs, scheduler="sync")
        compute = time.perf_counter() - t
    return dict(
        construct=construct, materialize=materialize, compute=compute, tasks=n_tasks, **spent
    )


def cell(seconds, nchunks):
    return f"{seconds:.2f} ({seconds / nchunks * 1e6:.0f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sides",
        type=int,
        nargs="+",
        default=[22, 46],
        help="chunks per side (default 22 46: 10648 and 97336 chunks)",
    )
    p.add_argument("--chunk", type=int, default=4, help="chunk edge (default 4)")
    p.add_argument(
        "--peer-side",
        type=int,
        default=22,
        help="chunks per side for dask.array.gradient (default 22; 0 skips it)",
    )
    p.add_argument("--k", type=int, default=3, choices=[1, 2, 3], help="dims differentiated")
    p.add_argument("--profile", action="store_true", help="cProfile daskgrad's compute")
    args = p.parse_args(argv)
    c = args.chunk

    if args.profile:
        x = da.ones((args.sides[0] * c,) * 3, chunks=c)
        outs = daskgrad.gradient(x, dim=list(range(args.k)))
        prof = cProfile.Profile()
        prof.runcall(dask.compute, *outs, scheduler="sync")
        stats = pstats.Stats(prof).sort_stats("cumulative")
        stats.print_stats(25)
        return

    print(f"## Graph overhead: chunks of {c}^3 float64, {args.k} of 3 dims, sync scheduler\n")
    print(f"Machine: {machine()}\n")
    print(
        "Seconds, with microseconds per input chunk in brackets. materialize turns every "
        "layer but the input's into tasks; compute is `dask.compute` of freshly built arrays "
        "(it materializes and optimizes the graph again, orders it, runs it and gathers the "
        "result); conversion and order are the parts of compute spent in dask's legacy-tuple "
        "conversion (`convert_legacy_graph`) and in `dask.order`.\n"
    )
    peer_cache = {}
    for side in args.sides:
        nchunks = side**3
        results = {}
        for label, fn in contenders(args.k).items():
            if label == "dask.array.gradient":
                if not args.peer_side:
                    continue
                if args.peer_side not in peer_cache:
                    peer_cache[args.peer_side] = measure(fn, args.peer_side, c)
                r = dict(peer_cache[args.peer_side])
                if args.peer_side != side:
                    label = f"{label} (measured on {args.peer_side**3} chunks)"
                r["nchunks"] = args.peer_side**3
            else:
                r = measure(fn, side, c)
                r["nchunks"] = nchunks
            results[label] = r
        ours = results["daskgrad"]
        ours_graph = (ours["construct"] + ours["materialize"]) / nchunks

        print(f"### {nchunks} chunks (array {side * c}^3)\n")
        print(
            "| contender | tasks / chunk | construct s (µs) | materialize s (µs) "
            "| compute s (µs) | conversion s (µs) | order s (µs) "
            "| graph vs daskgrad | compute vs daskgrad |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in results.items():
            n = r["nchunks"]
            graph = (r["construct"] + r["materialize"]) / n
            print(
                f"| {label} | {r['tasks'] / n:.1f} | {cell(r['construct'], n)} "
                f"| {cell(r['materialize'], n)} | {cell(r['compute'], n)} "
                f"| {cell(r['conversion'], n)} | {cell(r['order'], n)} "
                f"| {graph / ours_graph:.2f}x "
                f"| {r['compute'] / n / (ours['compute'] / nchunks):.2f}x |"
            )
        print()
    print(
        "Ratios are per chunk (peer µs / daskgrad µs): > 1 means daskgrad is faster. "
        "graph = construct + materialize. Tasks include the input's own."
    )


if __name__ == "__main__":
    main()
