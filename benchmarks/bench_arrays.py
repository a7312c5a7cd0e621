"""Speed and graph size of daskgrad against its peers, measured side by side in one run.

    python benchmarks/bench_arrays.py            # 256^3 float64, chunks (64, 128, 256)
    python benchmarks/bench_arrays.py --n 128    # quicker

Prints a markdown table of ratios (peer time / daskgrad time: > 1 means daskgrad is faster).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import dask
import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.utils import ensure_dict

import daskgrad


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def n_tasks(arrays):
    return len(ensure_dict(HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays])))


def machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"numpy {np.__version__}, dask {dask.__version__}, Python {platform.python_version()}"
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256, help="edge of the cube (default 256)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--graph-chunks", type=int, default=100_000)
    p.add_argument(
        "--peer-graph-chunks",
        type=int,
        default=10_000,
        help="chunks for dask.array.gradient's graph (it takes ~1 s per 10^3); scaled linearly",
    )
    args = p.parse_args(argv)
    n, r = args.n, args.repeat
    rng = np.random.default_rng(0)
    f = rng.standard_normal((n, n, n))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for _ in range(3)]
    chunks = (n // 4, n // 2, n)
    rows = []

    def row(what, peer_name, t_peer, t_ours):
        rows.append((what, peer_name, t_peer, t_ours, t_peer / t_ours))

    # NumPy input
    row(
        "NumPy, uniform",
        "np.gradient",
        best(lambda: np.gradient(f), r),
        best(lambda: daskgrad.gradient(f), r),
    )
    row(
        "NumPy, coordinates",
        "np.gradient",
        best(lambda: np.gradient(f, *xs), r),
        best(lambda: daskgrad.gradient(f, spacing=xs), r),
    )

    # dask input, threaded scheduler, all three partials computed together
    # chunks that own their memory, as chunks read from zarr or netCDF do (from_array alone
    # would give views into ``f``)
    x = da.from_array(f, chunks=chunks).map_blocks(np.ascontiguousarray)
    x = x.persist(scheduler="threads")
    with dask.config.set(scheduler="threads"):
        # "persisted" keeps the chunks where they are: the pipeline's cost without the final
        # gather into one NumPy array that dask.compute adds
        for label, run in (
            ("dask, uniform", dask.compute),
            ("dask, uniform, persisted", dask.persist),
        ):
            t_ours = best(lambda run=run: run(*daskgrad.gradient(x)), r)
            peers = {
                "dask.array.gradient": lambda run=run: run(*da.gradient(x)),
                "3 elementwise passes x*1, x*2, x*3": lambda run=run: run(
                    x * 1.0, x * 2.0, x * 3.0
                ),
            }
            for peer, fn in peers.items():
                row(label, peer, best(fn, r), t_ours)
        row(
            "dask, coordinates",
            "dask.array.gradient",
            best(lambda: dask.compute(*da.gradient(x, *xs)), r),
            best(lambda: dask.compute(*daskgrad.gradient(x, spacing=xs)), r),
        )
        try:
            import xarray as xr

            arr = xr.DataArray(
                x, dims=("z", "y", "x"), coords=dict(zip(("z", "y", "x"), xs, strict=True))
            )
            row(
                "xarray (dask), coordinates",
                "3 x DataArray.differentiate",
                best(lambda: dask.compute(*[arr.differentiate(d) for d in arr.dims]), r),
                best(lambda: dask.compute(*daskgrad.gradient(arr)), r),
            )
        except ImportError:
            pass

    print(f"## daskgrad benchmarks: {n}^3 float64, all 3 dims, dask chunks {chunks}\n")
    print(f"Machine: {machine()}\n")
    print("| input | peer | peer s | daskgrad s | speed-up |")
    print("|---|---|---:|---:|---:|")
    for what, peer, tp, to, ratio in rows:
        print(f"| {what} | {peer} | {tp:.3f} | {to:.3f} | {ratio:.2f}x |")

    # graph size per input chunk, k = 3
    y = da.random.random((64, 64, 64), chunks=16)
    per = y.npartitions
    ours = n_tasks(daskgrad.gradient(y)) / per
    peer = n_tasks(da.gradient(y)) / per
    overlap = n_tasks([y.map_overlap(lambda b: b, depth=1, boundary="none")]) / per
    print("\n| graph, k=3 | tasks per input chunk |")
    print("|---|---:|")
    print(f"| daskgrad | {ours:.1f} (limit 3k+2 = 11) |")
    print(f"| dask.array.gradient | {peer:.1f} |")
    print(f"| map_overlap, all axes | {overlap:.1f} |")

    # graph building: construction, then materializing every task
    def build(fn, nchunks):
        side = round(nchunks ** (1 / 3))
        z = da.zeros((side * 2,) * 3, chunks=2)
        ensure_dict(z.dask)  # the input's own tasks are not ours to count
        t0 = time.perf_counter()
        outs = fn(z)
        t1 = time.perf_counter()
        ensure_dict(HighLevelGraph.merge(*[o.dask for o in outs]))
        t2 = time.perf_counter()
        return z.npartitions, t1 - t0, t2 - t0

    nc, ob, om = build(daskgrad.gradient, args.graph_chunks)
    pc, pb, pm = build(da.gradient, args.peer_graph_chunks)
    scale = nc / pc
    print(f"\n| graph for {nc} chunks | construct s | construct + materialize s |")
    print("|---|---:|---:|")
    print(f"| daskgrad | {ob:.2f} | {om:.2f} |")
    note = "" if pc == nc else f" (measured on {pc} chunks, x{scale:.1f})"
    print(f"| dask.array.gradient{note} | {pb * scale:.2f} | {pm * scale:.2f} |")
    print(f"| ratio | {pb * scale / ob:.1f}x | {pm * scale / om:.1f}x |")


if __name__ == "__main__":
    main()
