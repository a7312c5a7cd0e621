"""geospatial_gradient against MetPy and against daskgrad.gradient, side by side in one run.

    python benchmarks/bench_geospatial.py                   # 8 x 721 x 1440 float64 (ERA5-sized)
    python benchmarks/bench_geospatial.py --out-of-core     # + a 2 GiB zarr field on a cluster

Prints markdown tables of ratios (> 1 means daskgrad is faster):
- NumPy input: MetPy's ``geospatial_gradient`` (same sphere, R = 6371008.8 m) / ours
  (target >= 10), on the regular global grid and, for ours, on the same grid as 2-D coordinates;
- dask input: ours / ``daskgrad.gradient`` over the two horizontal dims with the same chunks
  (target <= 1.2), persisted (the pipeline's own cost) and computed into one NumPy array;
- with --out-of-core: a global float32 zarr field of --size through ``daskgrad.to_zarr`` (the
  writer ``daskgrad run`` uses) on 2 workers x 512 MiB, against the I/O floor on the same cluster
  (read the input once, write 2 arrays of its size; target <= 1.3), peak worker RSS / limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import dask
import numpy as np
import xarray as xr

import daskgrad

R = 6371008.8


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def field(nt, ny, nx, dtype=np.float64):
    lat = np.linspace(90, -90, ny)
    lon = np.arange(nx) * (360 / nx)
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    base = (np.cos(phi) ** 2 * np.sin(3 * lam) + np.sin(2 * phi)).astype(dtype)
    values = base[None] * (1 + 0.01 * np.arange(nt, dtype=dtype))[:, None, None]
    return xr.DataArray(
        values,
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        dims=("time", "lat", "lon"),
        name="t",
        attrs={"units": "K"},
    )


def as_2d(f):
    lat2, lon2 = xr.broadcast(f.lat, f.lon)
    g = f.rename(lat="y", lon="x").drop_vars(["y", "x"])
    return g.assign_coords(
        lat=(("y", "x"), lat2.values, f.lat.attrs), lon=(("y", "x"), lon2.values, f.lon.attrs)
    )


def in_memory(args, rows):
    import metpy.calc as mpcalc

    f = field(args.nt, args.ny, args.nx)
    fm = f.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R)
    mpcalc.geospatial_gradient(fm.isel(time=0))  # imports, pyproj set-up
    t_metpy = best(lambda: mpcalc.geospatial_gradient(fm), args.metpy_repeat)
    t_ours = best(lambda: daskgrad.geospatial_gradient(f), args.repeat)
    g2 = as_2d(f)
    t_2d = best(lambda: daskgrad.geospatial_gradient(g2), args.repeat)
    t_wgs = best(lambda: daskgrad.geospatial_gradient(f, earth="wgs84"), args.repeat)
    t_grad = best(lambda: daskgrad.gradient(f.data, dim=[1, 2]), args.repeat)
    rows.append(("NumPy, 1-D lat/lon, sphere", "MetPy geospatial_gradient", t_metpy, t_ours))
    rows.append(("NumPy, 1-D lat/lon, WGS84", "MetPy (sphere)", t_metpy, t_wgs))
    rows.append(("NumPy, 2-D lat/lon, sphere", "MetPy (1-D grid)", t_metpy, t_2d))
    rows.append(("NumPy, 1-D lat/lon, sphere", "daskgrad.gradient, 2 dims", t_grad, t_ours))


def lazy(args, rows):
    f = field(args.nt, args.ny, args.nx)
    chunks = {"time": 1, "lat": args.ny // 2 + 1, "lon": args.nx // 2}
    fd = f.chunk(chunks)
    g2 = as_2d(f).chunk({"time": 1, "y": chunks["lat"], "x": chunks["lon"]})

    def persist(fn):
        return lambda: dask.persist(*fn())

    def compute(fn):
        return lambda: dask.compute(*fn())

    # the call geospatial_gradient makes on a regular global grid: latitude in metres,
    # longitude in radians, wrapped around
    step_y, step_x = np.radians(f.lat.values[1] - f.lat.values[0]) * R, np.radians(360 / args.nx)

    def plain():
        return daskgrad.gradient(fd.data, dim=[1, 2], spacing=[step_y, step_x], periodic=[2])

    for how, wrap in (("persisted", persist), ("computed", compute)):
        t_grad = best(wrap(plain), args.repeat)
        for what, fn in (
            ("1-D lat/lon, sphere", lambda: [g.data for g in daskgrad.geospatial_gradient(fd)]),
            (
                "1-D lat/lon, WGS84",
                lambda: [g.data for g in daskgrad.geospatial_gradient(fd, earth="wgs84")],
            ),
            ("2-D lat/lon, sphere", lambda: [g.data for g in daskgrad.geospatial_gradient(g2)]),
        ):
            t = best(wrap(fn), args.repeat)
            peer = "daskgrad.gradient, 2 dims, periodic lon"
            rows.append((f"dask, {how}, {what}", peer, t_grad, t))


def out_of_core(args):
    from dask.distributed import Client, LocalCluster
    from dask.utils import format_bytes, parse_bytes

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_out_of_core import measure  # the RSS sampler and restart count

    limit = parse_bytes(args.memory_limit)
    ny, nx = 721, 1440
    nt = max(1, parse_bytes(args.size) // (4 * ny * nx))
    work = Path(tempfile.mkdtemp(prefix="daskgrad-bench-geo-", dir=args.dir))
    warnings.filterwarnings("ignore", message="Consolidated metadata")
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
            import dask.array as da

            base = field(1, ny, nx, np.float32)
            data = da.random.default_rng(0).random((nt, ny, nx), chunks=(8, 361, 720))
            data = data.astype(np.float32) + base.data
            ds = xr.Dataset({"t": (base.dims, data, base.attrs)}, coords=base.coords)
            client.compute(ds.to_zarr(inp, compute=False)).result()
            nbytes = ds.t.nbytes

            def floor(i=[0]):  # noqa: B006 - a fresh output name per call
                i[0] += 1
                src = xr.open_zarr(inp)
                copy = xr.Dataset({"a": src.t, "b": -src.t}, coords=src.coords)
                client.compute(copy.to_zarr(work / f"floor{i[0]}.zarr", compute=False)).result()

            def geospatial(i=[0]):  # noqa: B006
                i[0] += 1
                out = daskgrad.geospatial_gradient(xr.open_zarr(inp))
                daskgrad.to_zarr(out, work / f"geo{i[0]}.zarr", client=client, progress=False)

            runs = {"I/O floor (read 1, write 2)": [], "geospatial_gradient, sphere": []}
            for _ in range(args.ooc_repeat):
                for results, fn in zip(runs.values(), (floor, geospatial), strict=True):
                    results.append(measure(client, fn))
                    for old in work.glob("[fg]*.zarr"):
                        shutil.rmtree(old)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best_run = {name: min(r, key=lambda m: m["seconds"]) for name, r in runs.items()}
    t_floor = best_run["I/O floor (read 1, write 2)"]["seconds"]
    print(
        f"\n### Out of core: ({nt}, {ny}, {nx}) float32 = {format_bytes(nbytes)}, chunks "
        f"8x361x720; 2 workers x 1 thread x {format_bytes(limit)}; best of {args.ooc_repeat}\n"
    )
    print("| run | wall s | / I/O floor | peak worker RSS | / limit | restarts |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in best_run.items():
        print(
            f"| {name} | {m['seconds']:.1f} | {m['seconds'] / t_floor:.2f} | "
            f"{format_bytes(m['peak'])} | {m['peak'] / limit:.2f} | "
            f"{sum(r['restarts'] for r in runs[name])} |"
        )


def suite(scale="small", repeat=3):
    """Rows for benchmarks/run_all.py: geospatial_gradient on NumPy input against MetPy's."""
    import metpy.calc as mpcalc

    nt, ny, nx = {"smoke": (1, 19, 36), "small": (2, 181, 360)}[scale]
    f = field(nt, ny, nx)
    fm = f.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R)
    mpcalc.geospatial_gradient(fm.isel(time=0))  # imports, pyproj set-up
    daskgrad.geospatial_gradient(f)
    t_metpy = t_ours = float("inf")
    for _ in range(repeat):  # in turn within each round: a burst of load hits both
        t_metpy = min(t_metpy, best(lambda: mpcalc.geospatial_gradient(fm), 1))
        t_ours = min(t_ours, best(lambda: daskgrad.geospatial_gradient(f), 1))
    return [
        dict(
            what=f"NumPy {nt}x{ny}x{nx}, 1-D lat/lon, sphere: geospatial gradient",
            reference="MetPy geospatial_gradient",
            ours=t_ours,
            ref=t_metpy,
            target=0.1,
        )
    ]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nt", type=int, default=8)
    p.add_argument("--ny", type=int, default=721)
    p.add_argument("--nx", type=int, default=1440)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--metpy-repeat", type=int, default=2)
    p.add_argument("--out-of-core", action="store_true", help="also the 2 GiB cluster run")
    p.add_argument("--size", default="2GiB", help="out-of-core input size (default 2GiB)")
    p.add_argument("--memory-limit", default="512MiB", help="per worker (default 512MiB)")
    p.add_argument("--ooc-repeat", type=int, default=1)
    p.add_argument("--dir", default=tempfile.gettempdir(), help="out-of-core data (/tmp)")
    args = p.parse_args(argv)
    rows = []
    in_memory(args, rows)
    lazy(args, rows)
    print(
        f"\n### {args.nt}x{args.ny}x{args.nx} float64, dask chunks (1, {args.ny // 2 + 1}, "
        f"{args.nx // 2})\n\n{platform.machine()}, {os.cpu_count()} cores, numpy "
        f"{np.__version__}, dask {dask.__version__}, Python {platform.python_version()}\n"
    )
    print("| input | peer | peer s | daskgrad s | peer / daskgrad |")
    print("|---|---|---:|---:|---:|")
    for what, peer, t_peer, t_ours in rows:
        print(f"| {what} | {peer} | {t_peer:.3f} | {t_ours:.3f} | {t_peer / t_ours:.2f}x |")
    if args.out_of_core:
        out_of_core(args)


if __name__ == "__main__":
    main()
