"""Vector-calculus operators (vorticity, divergence) against MetPy, daskgrad.gradient and the
I/O floor, side by side in one run.

    python benchmarks/bench_operators.py              # 8 x 721 x 1440 float64; 2 + 2 GiB zarr
    python benchmarks/bench_operators.py --quick      # small sizes, 2 repeats: a smoke test
    python benchmarks/bench_operators.py --no-out-of-core --repeat 7
    python benchmarks/bench_operators.py --profile    # + cProfile of the dask operators

u, v: smooth winds (m/s) on a regular global 0.25° latitude/longitude grid (latitude from 90 to
-90 as in ERA5), varying with time. Every figure is the best of --repeat runs; the contenders of
one ratio run in turn within each round, so a burst of load on a shared machine hits both.

1. NumPy-backed DataArrays: ``daskgrad.vorticity(u, v, geospatial=True)`` +
   ``daskgrad.divergence(u, v, geospatial=True)`` against ``metpy.calc.vorticity`` +
   ``metpy.calc.divergence`` on the same DataArrays (MetPy finds dx, dy and its map factors
   from the latitude/longitude coordinates and a latitude_longitude CRS on the same sphere,
   R = 6371008.8 m). Target: >= 10x. Sanity check: max |ours - MetPy| / max |MetPy| at
   |lat| <= 60° away from the seam columns (MetPy differentiates its map factors numerically
   and does not wrap around in longitude: ~1e-5..1e-4 expected).
2. Dask input (chunks (1, ny // 2 + 1, nx // 2), persisted chunks that own their memory, as
   chunks read from zarr do), threaded scheduler, ``dask.compute`` of the outputs:
   ``daskgrad.vorticity(u, v)`` (Cartesian, the last two dims) / ``daskgrad.gradient(u,
   dim=[-2, -1])``. Target: <= 1.3x. For information: the geospatial vorticity on DataArrays
   with the same chunks against the same gradient.
3. Out of core: u and v of --size each (float32, default 2 GiB) in one zarr store under --dir
   (removed afterwards), chunks 8 x 361 x 720, 2 workers x 512 MiB LocalCluster (processes, 1
   thread each). Vorticity of (u, v) written with ``daskgrad.to_zarr`` (the writer of
   ``daskgrad run``) against the I/O floor: read u and v once, write one array of their size
   (``u + v``) with the same writer, on the same cluster. Target: <= 1.3x, no worker over its
   limit (RSS sampled every 50 ms), 0 restarts. When ``daskgrad run --help`` lists
   ``--vorticity``, the command line is measured too (``daskgrad run IN OUT --vorticity u,v``
   with ``--dim lon --dim lat``, and with ``--geospatial``; ``--scheduler`` pointing at the
   same cluster; its wall time includes starting Python, which is timed apart).

Prints markdown tables, then the summary for the README: measurement, daskgrad time, peer or
floor time, ratio, target.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

import daskgrad

R = 6371008.8  # daskgrad's default sphere, given to MetPy through the CRS
U0 = 10.0


def race(fns, repeat):
    """Best time of each function over ``repeat`` rounds, one call of each per round."""
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}, {five:.1f}, {fifteen:.1f}"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, dask "
        f"{dask.__version__}, xarray {xr.__version__}, Python {platform.python_version()}"
    )


def version() -> str:
    """Where daskgrad was imported from: its commit, and whether daskgrad/ has edits on it
    (other engineers commit while a benchmark runs: a snapshot keeps one version throughout)."""
    root = Path(daskgrad.__file__).resolve().parent.parent

    def git(*cmd):
        out = subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"daskgrad from {root} (not a git checkout)"
    edited = git("status", "--porcelain", "--", "daskgrad")
    n = len(edited.splitlines())
    return f"daskgrad {commit}" + (f" + uncommitted edits to {n} file(s)" if n else "")


def grid(ny, nx):
    lat = np.linspace(90, -90, ny)
    lon = np.arange(nx) * (360 / nx)
    coords = {
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }
    return lat, lon, coords


def winds(nt, ny, nx, dtype=np.float64):
    """Smooth eastward/northward winds on a global grid, a little different at each time."""
    lat, lon, coords = grid(ny, nx)
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    base_u = U0 * (np.cos(phi) ** 2 * np.sin(3 * lam) + np.cos(phi))
    base_v = U0 * np.sin(2 * phi) * np.cos(2 * lam)
    scale = (1 + 0.01 * np.arange(nt))[:, None, None]
    out = []
    for name, base, std in (("u", base_u, "eastward_wind"), ("v", base_v, "northward_wind")):
        values = (base[None] * scale).astype(dtype)
        attrs = {"units": "m/s", "standard_name": std}
        out.append(
            xr.DataArray(values, coords=coords, dims=("time", "lat", "lon"), name=name, attrs=attrs)
        )
    return out


def rel_diff(ours, ref, lat):
    """max |ours - ref| / max |ref| at |lat| <= 60°, without the 2 columns at either seam."""
    rows = np.abs(lat) <= 60
    a = np.asarray(ours)[:, rows][:, :, 2:-2]
    b = np.asarray(ref)[:, rows][:, :, 2:-2]
    return float(np.abs(a - b).max() / np.abs(b).max())


# --- 1. NumPy input against MetPy ---------------------------------------------------------------


def in_memory(args, rows, info):
    import metpy.calc as mpcalc

    u, v = winds(args.nt, args.ny, args.nx)
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=R)
    um, vm = (a.metpy.assign_crs(**crs) for a in (u, v))

    def metpy():
        return mpcalc.vorticity(um, vm), mpcalc.divergence(um, vm)

    def ours():
        return (
            daskgrad.vorticity(u, v, geospatial=True),
            daskgrad.divergence(u, v, geospatial=True),
        )

    def geograd():  # the four derivatives alone, for information
        return daskgrad.geospatial_gradient(u), daskgrad.geospatial_gradient(v)

    mpcalc.vorticity(um.isel(time=0), vm.isel(time=0))  # imports, pyproj and pint set-up
    ours()
    t = race({"metpy": metpy}, args.metpy_repeat)
    t |= race({"ours": ours, "geograd": geograd}, args.repeat)
    (mvort, mdiv), (vort, div) = metpy(), ours()
    lat = u.lat.values
    diffs = [
        rel_diff(vort.values, mvort.metpy.dequantify().values, lat),
        rel_diff(div.values, mdiv.metpy.dequantify().values, lat),
    ]
    info["metpy_diff"] = diffs
    rows.append(
        dict(
            what=f"NumPy {args.nt}x{args.ny}x{args.nx}: geospatial vorticity + divergence "
            "vs MetPy's",
            ours=t["ours"],
            peer_s=t["metpy"],
            ratio=f"{t['metpy'] / t['ours']:.1f}x faster",
            target=">= 10x faster",
            met=t["metpy"] / t["ours"] >= 10,
        )
    )
    info["in_memory"] = [
        ("MetPy vorticity + divergence", t["metpy"]),
        ("daskgrad vorticity + divergence, geospatial", t["ours"]),
        ("daskgrad geospatial_gradient(u) + geospatial_gradient(v) (4 derivatives)", t["geograd"]),
    ]


# --- 2. dask input against daskgrad.gradient ----------------------------------------------------


def as_dask(a, chunks):
    # chunks that own their memory, as chunks read from zarr or netCDF do (from_array alone
    # would give views into ``a``)
    x = da.from_array(a, chunks=chunks).map_blocks(np.ascontiguousarray)
    return x.persist(scheduler="threads")


def lazy(args, rows, info):
    u, v = winds(args.nt, args.ny, args.nx)
    chunks = (1, args.ny // 2 + 1, args.nx // 2)
    ud, vd = as_dask(u.data, chunks), as_dask(v.data, chunks)
    uD, vD = u.copy(data=ud), v.copy(data=vd)
    info["chunks"] = chunks

    def grad():
        return dask.compute(*daskgrad.gradient(ud, dim=[-2, -1]))

    def vort():
        return dask.compute(daskgrad.vorticity(ud, vd))

    def vort_geo():
        return dask.compute(daskgrad.vorticity(uD, vD, geospatial=True).data)

    def div_vort_geo():
        return dask.compute(
            daskgrad.vorticity(uD, vD, geospatial=True).data,
            daskgrad.divergence(uD, vD, geospatial=True).data,
        )

    with dask.config.set(scheduler="threads"):
        grad(), vort(), vort_geo()  # warm-up
        t = race({"grad": grad, "vort": vort, "geo": vort_geo, "both": div_vort_geo}, args.repeat)
        if args.profile:
            profile(vort_geo, "dask, geospatial vorticity")
            profile(vort, "dask, Cartesian vorticity")
            profile(grad, "dask, gradient of u over 2 dims")
    size = f"dask {args.nt}x{args.ny}x{args.nx}, chunks {'x'.join(map(str, chunks))}"
    for key, what, target in (
        ("vort", "vorticity", 1.3),
        ("geo", "geospatial vorticity (for information)", None),
    ):
        rows.append(
            dict(
                what=f"{size}: {what} vs gradient of u over the 2 dims",
                ours=t[key],
                peer_s=t["grad"],
                ratio=f"{t[key] / t['grad']:.2f}x the time",
                target="-" if target is None else f"<= {target}x",
                met=None if target is None else t[key] / t["grad"] <= target,
            )
        )
    info["lazy"] = [
        ("daskgrad.gradient(u, dim=[-2, -1]), 2 outputs", t["grad"]),
        ("daskgrad.vorticity(u, v), Cartesian", t["vort"]),
        ("daskgrad.vorticity(u, v, geospatial=True)", t["geo"]),
        ("geospatial vorticity + divergence, one dask.compute", t["both"]),
    ]


def profile(fn, label, top=12):
    prof = cProfile.Profile()
    with dask.config.set(scheduler="sync"):  # one thread: the time of each function is its own
        prof.enable()
        fn()
        prof.disable()
    print(f"\n### cProfile: {label} (sync scheduler)\n")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


# --- 3. out of core against the I/O floor --------------------------------------------------------


def cli_has_vorticity() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "daskgrad", "run", "--help"], capture_output=True, text=True
    )
    return "--vorticity" in out.stdout


def write_winds(client, path: Path, nt: int, ny: int, nx: int, chunks) -> int:
    """u and v (nt, ny, nx) float32 in one zarr store at ``path``, written by ``client``'s
    cluster: the smooth winds plus noise; the bytes of u."""
    base_u, base_v = winds(1, ny, nx, np.float32)
    rng = da.random.default_rng(0)
    data = {
        b.name: b.data + rng.random((nt, ny, nx), chunks=chunks, dtype=np.float32)
        for b in (base_u, base_v)
    }
    ds = xr.Dataset(
        {k: (base_u.dims, d, base_u.attrs) for k, d in data.items()},
        coords=base_u.isel(time=0, drop=True).coords,
    )
    client.compute(ds.to_zarr(path, compute=False)).result()
    return int(ds.u.nbytes)


def out_of_core(args, rows, info):
    from dask.utils import format_bytes, parse_bytes
    from distributed import Client, LocalCluster

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_out_of_core import measure  # the RSS sampler and restart count

    limit = parse_bytes(args.memory_limit)
    ny, nx = 721, 1440
    nt = max(2, parse_bytes(args.size) // (4 * ny * nx))
    chunks = (8, 361, 720)
    with_cli = cli_has_vorticity()
    work = Path(tempfile.mkdtemp(prefix="daskgrad-bench-ops-", dir=args.dir))
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    runs: dict[str, list] = {}
    try:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit=limit,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        with cluster, Client(cluster) as client:
            inp = work / "input.zarr"
            t = time.perf_counter()
            nbytes = write_winds(client, inp, nt, ny, nx, chunks)
            info["ooc_setup"] = time.perf_counter() - t

            def fresh(prefix, i=[0]):  # noqa: B006 - a fresh output name per call
                i[0] += 1
                return work / f"out-{prefix}{i[0]}.zarr"

            def source(warm_up):
                src = xr.open_zarr(inp)
                return src.isel(time=slice(0, chunks[0])) if warm_up else src

            def floor(warm_up=False):
                src = source(warm_up)
                out = (src.u + src.v).rename("w")
                daskgrad.to_zarr(out, fresh("floor"), client=client, progress=False)

            def vorticity(warm_up=False, geospatial=False):
                src = source(warm_up)
                out = daskgrad.vorticity(src.u, src.v, geospatial=geospatial)
                daskgrad.to_zarr(out, fresh("vort"), client=client, progress=False)

            def cli(*extra):
                out = fresh("cli")
                cmd = [sys.executable, "-m", "daskgrad", "run", str(inp), str(out)]
                cmd += ["--vorticity", "u,v", *extra]
                cmd += ["--scheduler", cluster.scheduler_address, "--no-progress"]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(
                        f"{' '.join(cmd[3:])} exited {done.returncode}: "
                        + (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                    )
                # what the command wrote besides the vorticity (gradients of u, v?)
                written = sorted(map(str, xr.open_zarr(out).data_vars))
                info.setdefault("cli_outputs", {})[" ".join(cmd[6:-3])] = written

            contenders = {
                "I/O floor: read u, v; write u + v": floor,
                "vorticity, Cartesian (lon, lat)": vorticity,
                "vorticity, geospatial": lambda: vorticity(geospatial=True),
            }
            # the workers' imports and first tasks: one time step of chunks through each
            floor(warm_up=True), vorticity(warm_up=True), vorticity(True, geospatial=True)
            if with_cli:  # Cartesian operators need --dim x --dim y on the command line
                contenders["daskgrad run --vorticity u,v --dim lon --dim lat"] = lambda: cli(
                    "--dim", "lon", "--dim", "lat"
                )
                contenders["daskgrad run --vorticity u,v --geospatial"] = lambda: cli(
                    "--geospatial"
                )
            runs = {name: [] for name in contenders}
            for _ in range(args.ooc_repeat):
                for name, fn in contenders.items():
                    try:
                        runs[name].append(measure(client, fn))
                    except Exception as e:  # noqa: BLE001 - report it, go on with the others
                        runs[name].append({"error": f"{type(e).__name__}: {e}"})
                    for old in work.glob("out-*.zarr"):
                        shutil.rmtree(old)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def best_of(results):
        ok = [m for m in results if "error" not in m]
        return min(ok, key=lambda m: m["seconds"]) if ok else results[-1]

    best = {name: best_of(r) for name, r in runs.items()}
    floor_name = next(iter(best))
    t_floor = best[floor_name]["seconds"]
    print(
        f"\n### Out of core: u and v ({nt}, {ny}, {nx}) float32 = {format_bytes(nbytes)} each, "
        f"chunks {'x'.join(map(str, chunks))}; 2 workers x 1 thread x {format_bytes(limit)}; "
        f"best of {args.ooc_repeat}; writing the input took {info['ooc_setup']:.0f} s\n"
    )
    print("| run | wall s | / I/O floor | peak worker RSS | / limit | restarts | every run, s |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, m in best.items():
        if "error" in m:
            print(f"| {name} | failed: {m['error']} | | | | | |")
            continue
        restarts = sum(r.get("restarts", 0) for r in runs[name])
        every = ", ".join(
            f"{r['seconds']:.1f}" if "error" not in r else "failed" for r in runs[name]
        )
        print(
            f"| {name} | {m['seconds']:.1f} | {m['seconds'] / t_floor:.2f} | "
            f"{format_bytes(m['peak'])} | {m['peak'] / limit:.2f} | {restarts} | {every} |"
        )
        if name == floor_name:
            continue
        peak = m["peak"] / limit
        ratio = m["seconds"] / t_floor
        cartesian = "geospatial" not in name
        rows.append(
            dict(
                what=f"out of core, u + v {format_bytes(2 * nbytes)} zarr: {name} vs I/O floor"
                + ("" if cartesian else " (for information)"),
                ours=m["seconds"],
                peer_s=t_floor,
                ratio=f"{ratio:.2f}x the time; peak RSS {peak:.2f} of the limit, "
                f"{restarts} restarts",
                target="<= 1.3x, RSS <= limit" if cartesian else "-",
                met=(ratio <= 1.3 and peak <= 1 and not restarts) if cartesian else None,
            )
        )
    if not with_cli:
        info["cli"] = "daskgrad run has no --vorticity yet: measured through daskgrad.to_zarr"
    for cmd, written in info.get("cli_outputs", {}).items():
        print(f"\n`daskgrad run IN OUT {cmd}` wrote {', '.join(written)}")
    if with_cli:
        helps = [sys.executable, "-m", "daskgrad", "run", "--help"]
        start = race({"help": lambda: subprocess.run(helps, capture_output=True)}, 2)["help"]
        info["cli"] = (
            f"The daskgrad run rows include starting Python and its imports (`daskgrad run "
            f"--help` takes {start:.1f} s)"
        )
        print(f"\n{info['cli']}")


# --- the suite (benchmarks/run_all.py) ----------------------------------------------------------


def suite(scale: str = "small", repeat: int = 3, shared=None) -> list[dict]:
    """Rows for benchmarks/run_all.py: MetPy's vorticity + divergence on NumPy-backed
    DataArrays, and ``daskgrad run --vorticity u,v --geospatial`` against the I/O floor (read
    u and v once, write u + v) on a cluster of 2 workers x 512 MiB (``shared.client()``, else
    one of its own)."""
    import metpy.calc as mpcalc

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_out_of_core import command_here, interleaved, start_cluster

    nt, ny, nx = {"smoke": (1, 19, 36), "small": (2, 181, 360)}[scale]
    u, v = winds(nt, ny, nx)
    crs = dict(grid_mapping_name="latitude_longitude", earth_radius=R)
    um, vm = (a.metpy.assign_crs(**crs) for a in (u, v))
    mpcalc.vorticity(um.isel(time=0), vm.isel(time=0))  # imports, pyproj and pint set-up
    daskgrad.vorticity(u, v, geospatial=True)
    t = race(
        {
            "metpy": lambda: (mpcalc.vorticity(um, vm), mpcalc.divergence(um, vm)),
            "ours": lambda: (
                daskgrad.vorticity(u, v, geospatial=True),
                daskgrad.divergence(u, v, geospatial=True),
            ),
        },
        repeat,
    )
    rows = [
        dict(
            what=f"NumPy {nt}x{ny}x{nx}: geospatial vorticity + divergence",
            reference="MetPy vorticity + divergence",
            ours=t["ours"],
            ref=t["metpy"],
            target=0.1,
        )
    ]
    # out of core, through the command line
    ont, ony, onx = {"smoke": (2, 73, 144), "small": (48, 721, 1440)}[scale]
    chunks = (8, ony // 2 + 1, onx // 2)
    work = Path(tempfile.mkdtemp(prefix="daskgrad-suite-ops-"))
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    own = None if shared is not None else start_cluster()
    try:
        from distributed import Client

        client = shared.client() if shared is not None else Client(own)
        address = client.scheduler.address
        inp = work / "input.zarr"
        nbytes = write_winds(client, inp, ont, ony, onx, chunks)
        n = [0]

        def fresh() -> Path:
            n[0] += 1
            return work / f"out{n[0]}.zarr"

        def floor() -> None:
            src = xr.open_zarr(inp)
            daskgrad.to_zarr((src.u + src.v).rename("w"), fresh(), client=client, progress=False)

        fns = {
            "floor": floor,
            "run": lambda: command_here(
                inp, fresh(), address, "--vorticity", "u,v", "--geospatial"
            ),
        }
        best, restarts = interleaved(client, fns, repeat, work)
    finally:
        if own is not None:
            own.close()
        shutil.rmtree(work, ignore_errors=True)
    rows.append(
        dict(
            what="out of core, `daskgrad run --vorticity u,v --geospatial` (start-up excluded) "
            f"on u, v "
            f"{ont}x{ony}x{onx} float32 ({2 * nbytes / 2**20:.0f} MiB) zarr, 2 workers x "
            f"512 MiB ({restarts} restarts)",
            reference="I/O floor: read u, v once, write u + v",
            ours=best["run"],
            ref=best["floor"],
            target=1.1,
        )
    )
    return rows


# --- main ---------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    p.add_argument("--repeat", type=int, default=5, help="runs of each; the best is kept (5)")
    p.add_argument("--metpy-repeat", type=int, default=2, help="runs of MetPy (2)")
    p.add_argument("--ooc-repeat", type=int, default=1, help="runs of each out-of-core case (1)")
    p.add_argument("--nt", type=int, default=8)
    p.add_argument("--ny", type=int, default=721)
    p.add_argument("--nx", type=int, default=1440)
    p.add_argument("--size", default="2GiB", help="out of core: size of u (and of v), 2GiB")
    p.add_argument("--memory-limit", default="512MiB", help="per worker (default 512MiB)")
    p.add_argument("--no-out-of-core", action="store_true", help="skip the cluster run")
    p.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the dask operators and gradient on the sync scheduler (NumPy input "
        "runs its row-blocks on threads, which cProfile does not follow)",
    )
    p.add_argument("--dir", default=tempfile.gettempdir(), help="out-of-core data (/tmp)")
    args = p.parse_args(argv)
    if args.quick:
        args.nt, args.ny, args.nx = 2, 361, 720
        args.repeat, args.metpy_repeat = min(args.repeat, 2), 1
        args.size = "64MiB"
    rows: list[dict] = []
    info: dict = {}
    print(f"{machine()}; {version()}; load average at start {load()}")
    in_memory(args, rows, info)
    lazy(args, rows, info)
    print(
        f"\n### In memory and dask: {args.nt}x{args.ny}x{args.nx} float64, best of "
        f"{args.repeat} (MetPy {args.metpy_repeat}); dask chunks {info['chunks']}\n"
    )
    print("| run | s |")
    print("|---|---:|")
    for name, s in info["in_memory"] + info["lazy"]:
        print(f"| {name} | {s:.3f} |")
    d = info["metpy_diff"]
    diff = (
        f"max abs(daskgrad - MetPy) / max abs(MetPy) at latitudes within ±60°, seam columns "
        f"excluded: vorticity {d[0]:.1e}, divergence {d[1]:.1e}"
    )
    print(f"\n{diff}")
    if not args.no_out_of_core:
        out_of_core(args, rows, info)

    print(f"\n### Summary\n\n{machine()}; {version()}; load average at end {load()}\n")
    print("| measurement | daskgrad s | peer / floor s | ratio | target | met |")
    print("|---|---:|---:|---|---|---|")
    for r in rows:
        met = {True: "yes", False: "no", None: "-"}[r["met"]]
        print(
            f"| {r['what']} | {r['ours']:.3f} | {r['peer_s']:.3f} | {r['ratio']} | "
            f"{r['target']} | {met} |"
        )
    print(f"\n{diff}.")
    if "cli" in info:
        print(f"{info['cli']}.")


if __name__ == "__main__":
    main()
