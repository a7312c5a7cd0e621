"""Every benchmark at a small size, in one table of ratios against the peers and floors.

    python benchmarks/run_all.py                # small sizes, best of 3: a few minutes
    python benchmarks/run_all.py --smoke        # the smallest sizes, 1 run each (CI)
    python benchmarks/run_all.py --only graph --only arrays   # the scripts named so

Each script listed in SCRIPTS that exists is imported and its ``suite(scale, repeat)`` called
(``scale`` is "small" or "smoke"; scripts that run on a cluster also take ``shared=``, which
gives them one LocalCluster of 2 workers x 512 MiB for the whole run through
``shared.client()``). It returns rows, dicts with:

- ``what``: the measurement; ``reference``: the peer or floor it is compared with;
- ``ours``, ``ref``: daskgrad's and the reference's figure (seconds unless ``unit`` says);
- ``target`` (optional): the most ``ours / ref`` may be, None for information.

A new script plugs in by defining ``suite`` and being listed in SCRIPTS. A script that fails
gets a row saying so and the run goes on; the exit status is then 1.

The table's ratio is always daskgrad / reference: < 1 means daskgrad takes less (MetPy at
0.036 is 28x faster). Contenders run in turn within each round, best of --repeat; the load
average is printed, as the machine may be shared. No timing is asserted: ``met`` is for
reading.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# module name: what it measures (scripts of other work plug in here: absent ones are skipped)
SCRIPTS = {
    "bench_arrays": "NumPy vs np.gradient; dask vs da.gradient and 3 elementwise passes",
    "bench_graph": "per-chunk overhead vs the minimal graph",
    "bench_stencil": "accuracy 4 vs findiff",
    "bench_geospatial": "geospatial gradient vs MetPy",
    "bench_operators": "vorticity + divergence vs MetPy; out of core vs the I/O floor",
    "bench_out_of_core": "daskgrad run (gradient) vs the I/O floor",
    "bench_small": "small inputs: daskgrad run vs an xarray copy",
    "bench_kinematics": "kinematics vs MetPy",
    "bench_projected": "projected grids vs MetPy",
}


class Shared:
    """What the suites share: one LocalCluster (2 workers x 1 thread x 512 MiB), started on
    first use and closed at the end."""

    def __init__(self) -> None:
        self._cluster: Any = None
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            from bench_out_of_core import start_cluster
            from distributed import Client

            self._cluster = start_cluster()
            self._client = Client(self._cluster)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._cluster.close()


def load() -> str:
    return ", ".join(f"{a:.1f}" for a in os.getloadavg())


def run(name: str, scale: str, repeat: int, shared: Shared) -> tuple[list[dict], str | None]:
    """The rows of one script's suite, or an error line."""
    try:
        module = importlib.import_module(name)
        suite = getattr(module, "suite", None)
        if suite is None:
            return [], f"{name}: {name}.py has no suite(scale, repeat) function"
        kwargs = {"shared": shared} if "shared" in inspect.signature(suite).parameters else {}
        return list(suite(scale, repeat, **kwargs)), None
    except Exception as e:  # noqa: BLE001 - one failing script must not hide the others
        traceback.print_exc()
        return [], f"{name}: {type(e).__name__}: {e}".splitlines()[0]


def ratio_text(r: float) -> str:
    return f"{r:.3g} ({1 / r:.1f}x faster)" if r < 1 else f"{r:.3g}"


def figure(value: float, unit: str) -> str:
    return f"{value:.3g}" if unit == "s" else f"{value:.0f} {unit}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="the smallest sizes, 1 run each")
    p.add_argument("--repeat", type=int, help="rounds, the best kept (3; 1 with --smoke)")
    p.add_argument(
        "--only", action="append", metavar="NAME", help="scripts whose name contains NAME"
    )
    args = p.parse_args(argv)
    scale = "smoke" if args.smoke else "small"
    repeat = args.repeat or (1 if args.smoke else 3)
    names = [
        n
        for n in SCRIPTS
        if (HERE / f"{n}.py").exists() and (not args.only or any(o in n for o in args.only))
    ]
    sys.path.insert(0, str(HERE))
    start, load_start = time.perf_counter(), load()
    rows: list[dict] = []
    errors: list[str] = []
    shared = Shared()
    try:
        for name in names:
            t = time.perf_counter()
            got, error = run(name, scale, repeat, shared)
            for r in got:
                r["script"] = name
            rows += got
            if error:
                errors.append(error)
            print(f"{name}: {time.perf_counter() - t:.0f} s, load {load()}", file=sys.stderr)
    finally:
        shared.close()

    import dask
    import numpy as np

    print(f"\n## daskgrad against its peers and floors ({scale} sizes, best of {repeat})\n")
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, dask {dask.__version__}; load average {load_start} at "
        f"start, {load()} at end; {time.perf_counter() - start:.0f} s\n"
    )
    print("| script | measurement | reference | daskgrad | ref | daskgrad / ref | target | met |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        unit = r.get("unit", "s")
        ratio = r["ours"] / r["ref"] if r["ref"] else float("nan")
        target = r.get("target")
        met = "-" if target is None else ("yes" if ratio <= target else "no")
        print(
            f"| {r['script']} | {r['what']} | {r['reference']} | {figure(r['ours'], unit)} "
            f"| {figure(r['ref'], unit)} | {ratio_text(ratio)} "
            f"| {'-' if target is None else f'<= {target}'} | {met} |"
        )
    for error in errors:
        print(f"| {error.split(':')[0]} | failed: {error} | | | | | | |")
    skipped = [n for n in SCRIPTS if n not in names and not args.only]
    if skipped:
        print(f"\nNot present: {', '.join(f'{n}.py' for n in skipped)}.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
