"""Kinematics through the public API, side by side (issue 20): dask input against
``daskgrad.gradient`` of the same inputs over the same dims (target <= 1.3x), and NumPy-backed
DataArrays on a latitude/longitude grid against MetPy's same-named functions (target >= 10x).

    python benchmarks/bench_kinematics_api.py [--steps 8] [--lat 721] [--lon 1440] [--no-metpy]
"""

from __future__ import annotations

import argparse
import time
import warnings

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


def dataset(steps, nlat, nlon):
    lat = np.linspace(-90, 90, nlat)
    lon = np.arange(nlon) * 360.0 / nlon
    rng = np.random.default_rng(0)
    shape = (steps, nlat, nlon)
    dims = ("time", "lat", "lon")
    fields = {
        "u": (10 * rng.standard_normal(shape), "m/s"),
        "v": (10 * rng.standard_normal(shape), "m/s"),
        "theta": (300 + rng.standard_normal(shape), "K"),
        "z": (5500 + 30 * rng.standard_normal(shape), "m"),
    }
    return xr.Dataset(
        {k: (dims, v, {"units": u}) for k, (v, u) in fields.items()},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )


CALLS = {
    "shearing_deformation": ("u", "v"),
    "stretching_deformation": ("u", "v"),
    "total_deformation": ("u", "v"),
    "absolute_vorticity": ("u", "v"),
    "advection": ("theta", "u", "v"),
    "frontogenesis": ("theta", "u", "v"),
    "geostrophic_wind": ("z",),
    "ageostrophic_wind": ("z", "u", "v"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--lat", type=int, default=721)
    ap.add_argument("--lon", type=int, default=1440)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-metpy", action="store_true")
    args = ap.parse_args()
    ds = dataset(args.steps, args.lat, args.lon)
    print(f"shape {ds.u.shape} float64, dask chunks (1, lat, lon), threads")
    print(f"{'function':24s} {'dask s':>8s} {'gradient s':>10s} {'ratio':>6s}")
    lazy = ds.chunk({"time": 1})
    for name, names in CALLS.items():
        arrays = [lazy[n].data for n in names]
        needs_f = name in ("absolute_vorticity", "geostrophic_wind", "ageostrophic_wind")
        kw = {"latitude": np.radians(ds.lat.values)[:, None]} if needs_f else {}

        def ours(arrays=arrays, name=name, kw=kw):
            out = getattr(daskgrad, name)(*arrays, spacing=[25e3, 25e3], **kw)
            dask.compute(*(out if isinstance(out, tuple) else (out,)))

        def grads(arrays=arrays):
            dask.compute(*[g for a in arrays for g in daskgrad.gradient(a, dim=(2, 1))])

        t1, t0 = best(ours, args.repeat), best(grads, args.repeat)
        print(f"{name:24s} {t1:8.3f} {t0:10.3f} {t1 / t0:6.2f}")
    if args.no_metpy:
        return
    import metpy.calc as mc

    geo = ds.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R)
    print(f"\nNumPy-backed DataArrays, geospatial=True vs MetPy 1.7 ({ds.u.shape})")
    print(f"{'function':24s} {'daskgrad s':>10s} {'MetPy s':>8s} {'speed-up':>8s}")
    for name, names in CALLS.items():
        ours_args = [ds[n] for n in names]
        ref_args = [geo[n] for n in names]
        t1 = best(lambda a=ours_args, n=name: getattr(daskgrad, n)(*a, geospatial=True), 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = best(lambda a=ref_args, n=name: getattr(mc, n)(*a), 1)
        print(f"{name:24s} {t1:10.3f} {t0:8.3f} {t0 / t1:8.1f}")


if __name__ == "__main__":
    main()
