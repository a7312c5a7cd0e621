"""Speed and graph size of daskgrad against its peers, measured side by side in one run.

    python benchmarks/bench_arrays.py            # 256^3 float64, chunks (64, 128, 256)
    python benchmarks/bench_arrays.py --n 128    # quicker

Prints a markdown table of ratios (peer time / daskgrad time: > 1 means daskgrad is faster).
The graph's cost at 10^4 and 10^5 chunks (building, materializing, computing) is measured by
benchmarks/bench_graph.py.
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


def load():
    return ", ".join(f"{a:.1f}" for a in os.getloadavg())


def machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"numpy {np.__version__}, dask {dask.__version__}, Python {platform.python_version()}"
    )


def race(fns, repeat):
    """Best time of each function over ``repeat`` rounds, one call of each per round."""
    return race_cpu(fns, repeat)[0]


def race_cpu(fns, repeat):
    """Best wall time and best CPU time of this process (``time.process_time``: every thread's,
    steadier than wall time on a shared machine) of each function over ``repeat`` rounds, one
    call of each per round: two dicts."""
    wall = dict.fromkeys(fns, float("inf"))
    cpu = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name] = min(wall[name], time.perf_counter() - t)
            cpu[name] = min(cpu[name], time.process_time() - c)
    return wall, cpu


def suite(scale="small", repeat=3):
    """Rows for benchmarks/run_all.py: NumPy input against np.gradient; dask input (computed,
    threads) against da.gradient and the floor of three elementwise passes."""
    n = {"smoke": 24, "small": 128}[scale]
    rng = np.random.default_rng(0)
    f = rng.standard_normal((n, n, n))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for _ in range(3)]
    t = race(
        {
            "np": lambda: np.gradient(f),
            "ours": lambda: daskgrad.gradient(f),
            "np xs": lambda: np.gradient(f, *xs),
            "ours xs": lambda: daskgrad.gradient(f, spacing=xs),
        },
        repeat,
    )
    x = da.from_array(f, chunks=(n // 4, n // 2, n)).map_blocks(np.ascontiguousarray)
    x = x.persist(scheduler="threads")
    with dask.config.set(scheduler="threads"):
        t |= race(
            {
                "dask ours": lambda: dask.compute(*daskgrad.gradient(x)),
                "dask peer": lambda: dask.compute(*da.gradient(x)),
                "dask passes": lambda: dask.compute(x * 1.0, x * 2.0, x * 3.0),
                "dask ours xs": lambda: dask.compute(*daskgrad.gradient(x, spacing=xs)),
                "dask peer xs": lambda: dask.compute(*da.gradient(x, *xs)),
            },
            repeat,
        )
    size = f"{n}^3 float64, 3 dims"
    dask_size = f"dask {size}, chunks {(n // 4, n // 2, n)}, computed"
    return [
        dict(what=f"NumPy {size}", reference="np.gradient", ours=t["ours"], ref=t["np"]),
        dict(
            what=f"NumPy {size}, coordinates",
            reference="np.gradient",
            ours=t["ours xs"],
            ref=t["np xs"],
        ),
        dict(
            what=dask_size,
            reference="da.gradient",
            ours=t["dask ours"],
            ref=t["dask peer"],
            target=0.5,
        ),
        dict(
            what=f"{dask_size}, coordinates",
            reference="da.gradient",
            ours=t["dask ours xs"],
            ref=t["dask peer xs"],
            target=0.5,
        ),
        dict(
            what=dask_size,
            reference="3 elementwise passes x*1, x*2, x*3",
            ours=t["dask ours"],
            ref=t["dask passes"],
            target=1.15,
        ),
    ]


def print_bound(rows):
    """The most any graph making the same output chunks from the same in-memory chunks could be
    faster than dask.array.gradient: the three elementwise passes' speed-up over it (they do
    no stencil work at all), per row that races both; then the factor daskgrad may be slower
    than the passes for a given speed-up over dask.array.gradient (2x: the issue's target)."""
    by = {(what, peer): (tp, cpu) for what, peer, tp, _, cpu in rows}
    passes = "3 elementwise passes x*1, x*2, x*3"
    print()
    for what in dict.fromkeys(what for what, _, _, _, _ in rows):
        if (what, passes) not in by or (what, "dask.array.gradient") not in by:
            continue
        (tg, cg), (tp, cp) = by[(what, "dask.array.gradient")], by[(what, passes)]
        print(
            f"Bound, {what}: the passes are {tg / tp:.2f}x faster than dask.array.gradient "
            f"(CPU {cg / cp:.2f}x); 2x needs daskgrad within {tg / tp / 2:.2f}x of the passes' "
            f"time (CPU {cg / cp / 2:.2f}x)"
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256, help="edge of the cube (default 256)")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    n, r = args.n, args.repeat
    load0 = load()
    rng = np.random.default_rng(0)
    f = rng.standard_normal((n, n, n))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for _ in range(3)]
    chunks = (n // 4, n // 2, n)
    rows = []

    def race_rows(label, fns):
        """Rows of daskgrad ("ours") against each other contender, interleaved, best of r."""
        wall, cpu = race_cpu(fns, r)
        for peer in fns:
            if peer != "ours":
                rows.append((label, peer, wall[peer], wall["ours"], cpu[peer] / cpu["ours"]))

    # NumPy input
    race_rows(
        "NumPy, uniform",
        {"ours": lambda: daskgrad.gradient(f), "np.gradient": lambda: np.gradient(f)},
    )
    race_rows(
        "NumPy, coordinates",
        {
            "ours": lambda: daskgrad.gradient(f, spacing=xs),
            "np.gradient": lambda: np.gradient(f, *xs),
        },
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
            race_rows(
                label,
                {
                    "ours": lambda run=run: run(*daskgrad.gradient(x)),
                    "dask.array.gradient": lambda run=run: run(*da.gradient(x)),
                    "3 elementwise passes x*1, x*2, x*3": lambda run=run: run(
                        x * 1.0, x * 2.0, x * 3.0
                    ),
                },
            )
        # chunks in another memory order, as a transposed dask array (xarray's transpose) or
        # F-ordered chunks give: the kernel runs on their C-ordered transpose, without a copy
        xt = x.transpose(2, 1, 0)
        race_rows(
            "dask, transposed chunks",
            {
                "ours": lambda: dask.compute(*daskgrad.gradient(xt)),
                "dask.array.gradient": lambda: dask.compute(*da.gradient(xt)),
                "3 elementwise passes x*1, x*2, x*3": lambda: dask.compute(
                    xt * 1.0, xt * 2.0, xt * 3.0
                ),
            },
        )
        race_rows(
            "dask, coordinates",
            {
                "ours": lambda: dask.compute(*daskgrad.gradient(x, spacing=xs)),
                "dask.array.gradient": lambda: dask.compute(*da.gradient(x, *xs)),
            },
        )
        try:
            import xarray as xr

            arr = xr.DataArray(
                x, dims=("z", "y", "x"), coords=dict(zip(("z", "y", "x"), xs, strict=True))
            )
            race_rows(
                "xarray (dask), coordinates",
                {
                    "ours": lambda: dask.compute(*daskgrad.gradient(arr)),
                    "3 x DataArray.differentiate": lambda: dask.compute(
                        *[arr.differentiate(d) for d in arr.dims]
                    ),
                },
            )
        except ImportError:
            pass

    print(f"## daskgrad benchmarks: {n}^3 float64, all 3 dims, dask chunks {chunks}\n")
    print(f"Machine: {machine()}; load average {load0} at start, {load()} at end\n")
    print("| input | peer | peer s | daskgrad s | speed-up | CPU-time speed-up |")
    print("|---|---|---:|---:|---:|---:|")
    for what, peer, tp, to, cpu_ratio in rows:
        print(f"| {what} | {peer} | {tp:.3f} | {to:.3f} | {tp / to:.2f}x | {cpu_ratio:.2f}x |")
    print(
        f"\nBest of {r} rounds, contenders interleaved within each round; speed-up = peer / "
        "daskgrad (> 1: daskgrad is faster), of wall time and of this process's CPU time."
    )
    print_bound(rows)

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


if __name__ == "__main__":
    main()
