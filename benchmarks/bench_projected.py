"""Projected grids (issue 21): operators on an LCC (HRRR) grid against MetPy and against the
same operators on a latitude/longitude grid of the same shape, side by side in one run.

    python benchmarks/bench_projected.py            # 1059 x 1799 (HRRR), 3 repeats
    python benchmarks/bench_projected.py --quick    # 265 x 450, 2 repeats: a smoke test

1. NumPy: ``daskgrad.vorticity`` + ``daskgrad.divergence`` (``winds="grid"``) on the LCC grid
   against ``metpy.calc.vorticity`` + ``metpy.calc.divergence`` given dx, dy and pyproj's
   parallel/meridional scales computed beforehand (target >= 10x). daskgrad is timed with the
   map factors already on its Grid (as MetPy's are precomputed), and cold (a new Grid: the
   factors computed in the timed call), and the factors alone are timed (a new Grid and the
   factors vorticity and divergence use: the scale and its slopes at every point). Also the
   MetPy user's way, no Grid passed (each function builds its own: the factors computed
   twice; there is no process-level cache of factors, so this is the cold figure), and
   ``absolute_vorticity`` without a 2-D latitude coordinate (f from the projection's
   latitude, in closed form). Wall and CPU seconds.
2. Dask (chunks (1, ny // 2 + 1, nx // 2), 4 time steps, threads): geospatial vorticity on the
   LCC grid / the same on a lat/lon grid of the same shape (target <= 1.3x); both with their
   grids' factors cold (a fresh Grid each round), so the LCC figure includes its map factors.
Every figure is the best of --repeat rounds; the contenders alternate round by round (NumPy
and dask races alike). "Cold"
rounds compute the factors again; a process's first grid also pays the page faults of fresh
memory (the allocator may hand later rounds memory it already has), printed as "first grid
in the process". Wall and CPU seconds (CPU: this
process, all threads; the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import dask
import numpy as np
import pyproj
import xarray as xr

import daskgrad
from daskgrad.core.projection import ProjectedMetric

LCC = "+proj=lcc +lat_0=38.5 +lat_1=38.5 +lat_2=38.5 +lon_0=262.5 +R=6371229 +units=m"


def lcc_data(ny: int, nx: int, step: float, nt: int = 1) -> xr.Dataset:
    x = (np.arange(nx) - nx / 2) * step
    y = (np.arange(ny) - ny / 2) * step
    X, Y = np.meshgrid(x, y)
    u = 10 * np.sin(X / 4e5) * np.cos(Y / 3e5)
    v = 8 * np.cos(X / 5e5) * np.sin(Y / 2e5)
    u, v = (
        np.broadcast_to(a, (nt, ny, nx)) * (1 + 0.1 * np.arange(nt))[:, None, None] for a in (u, v)
    )
    attrs = {"units": "m s-1", "grid_mapping": "crs"}
    return xr.Dataset(
        {"u": (("time", "y", "x"), u.copy(), attrs), "v": (("time", "y", "x"), v.copy(), attrs),
         "crs": ((), 0, pyproj.CRS(LCC).to_cf())},
        coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"})},
    )  # fmt: skip


def latlon_data(ny: int, nx: int, nt: int) -> xr.Dataset:
    lat, lon = np.linspace(20, 55, ny), np.linspace(230, 300, nx)
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, nt, ny, nx))
    return xr.Dataset(
        {"u": (("time", "lat", "lon"), u), "v": (("time", "lat", "lon"), v)},
        coords={"lat": lat, "lon": lon},
    )


def best(fn, repeat: int) -> float:
    return best_cpu(fn, repeat)[0]


def best_cpu(fn, repeat: int) -> tuple[float, float]:
    """Best wall and best CPU (this process's, all threads) seconds of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def numpy_race(ny: int, nx: int, step: float, repeat: int) -> dict[str, float]:
    """Part 1 on one time step: best seconds of MetPy (``metpy``, scales given), daskgrad with
    the factors on its Grid (``warm``) and computed in the call (``cold``), the factors alone
    (``factors``, once), and ``err``, max |ours - MetPy| / max |MetPy| inside the border."""
    import metpy.calc as mpcalc
    from metpy.units import units as mu

    ds = lcc_data(ny, nx, step)
    u, v = ds.u[0], ds.v[0]
    proj = pyproj.Proj(LCC)
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    f = proj.get_factors(*proj(X, Y, inverse=True))
    k, h = f.parallel_scale, f.meridional_scale
    um, vm = u.values * mu("m/s"), v.values * mu("m/s")
    kw = {"dx": step * mu.m, "dy": step * mu.m, "parallel_scale": k, "meridional_scale": h}

    def metpy_ops():
        return mpcalc.vorticity(um, vm, **kw), mpcalc.divergence(um, vm, **kw)

    grid = daskgrad.Grid(ds)
    ops = dict(geospatial=True, winds="grid")

    def ours_warm():
        return daskgrad.vorticity(u, v, grid=grid, **ops), daskgrad.divergence(
            u, v, grid=grid, **ops
        )

    def ours_cold():
        g = daskgrad.Grid(ds)
        return daskgrad.vorticity(u, v, grid=g, **ops), daskgrad.divergence(u, v, grid=g, **ops)

    def ours_nogrid():  # as a MetPy user calls them: no Grid, each call builds its own
        uc, vc = (ds.set_coords("crs")[n][0] for n in ("u", "v"))  # the CRS with them
        return daskgrad.vorticity(uc, vc, **ops), daskgrad.divergence(uc, vc, **ops)

    def ours_absvort():  # f from the grid's latitude (no 2-D latitude coordinate)
        return daskgrad.absolute_vorticity(u, v, grid=daskgrad.Grid(ds), **ops)

    def metpy_absvort():
        return mpcalc.absolute_vorticity(um, vm, latitude=lat, **kw)

    lat = proj(X, Y, inverse=True)[1] * mu.degree

    def factors():  # what vorticity and divergence use: k and its slopes, per point
        g = daskgrad.Grid(ds)
        x, y = np.asarray(g.x), np.asarray(g.y)
        ProjectedMetric(g.projection, 1, 0, x, y).factors((x, y), 2, np.dtype("float64"))

    ours_warm()  # the factors on the grid (which stays), the code paths run once
    t: dict[str, float] = {}
    # before any grid is gone: the factors into fresh memory (one round, no best of)
    t["first"], t["first_cpu"] = best_cpu(ours_cold, 1)
    runs = (("metpy", metpy_ops), ("warm", ours_warm), ("cold", ours_cold),
            ("nogrid", ours_nogrid), ("factors", factors), ("absvort", ours_absvort),
            ("metpy_absvort", metpy_absvort))  # fmt: skip
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in runs}
    for _ in range(repeat):  # interleaved: a change of the machine's load hits every one
        for name, fn in runs:
            rounds[name].append(best_cpu(fn, 1))
    for name, r in rounds.items():
        t[name], t[name + "_cpu"] = min(w for w, _ in r), min(c for _, c in r)
    mv, _ = metpy_ops()
    ov, _ = ours_warm()
    ref = mv.magnitude[2:-2, 2:-2]
    t["err"] = float(np.abs(ov.values[2:-2, 2:-2] - ref).max() / np.abs(ref).max())
    return t


def dask_race(ny: int, nx: int, step: float, repeat: int, nt: int = 4) -> dict[str, float]:
    """Part 2: best seconds of dask vorticity on the LCC grid with its factors cold (``lcc``)
    and on its Grid (``lcc_warm``), and on a lat/lon grid of the same shape (``latlon``), the
    three alternating, on threads (also under a distributed Client, which the suite has);
    ``<name>_cpu`` the best CPU seconds."""
    with dask.config.set(scheduler="threads"):
        return _dask_race(ny, nx, step, repeat, nt)


def _dask_race(ny: int, nx: int, step: float, repeat: int, nt: int) -> dict[str, float]:
    chunks = {"time": 1, "y": ny // 2 + 1, "x": nx // 2}
    lcc = lcc_data(ny, nx, step, nt).chunk(chunks).persist()
    ll = latlon_data(ny, nx, nt).chunk({"time": 1, "lat": ny // 2 + 1, "lon": nx // 2}).persist()
    ops = dict(geospatial=True, winds="grid")

    def dask_lcc():
        g = daskgrad.Grid(lcc)
        dask.compute(daskgrad.vorticity(lcc.u, lcc.v, grid=g, **ops).data)

    def dask_ll():
        dask.compute(daskgrad.vorticity(ll.u, ll.v, geospatial=True).data)

    def dask_lcc_warm():
        dask.compute(daskgrad.vorticity(lcc.u, lcc.v, grid=warm, **ops).data)

    warm = daskgrad.Grid(lcc)
    dask_lcc_warm()
    t: dict[str, list[tuple[float, float]]] = {"lcc": [], "latlon": [], "lcc_warm": []}
    for _ in range(repeat):
        for name, fn in (("lcc", dask_lcc), ("latlon", dask_ll), ("lcc_warm", dask_lcc_warm)):
            t[name].append(best_cpu(fn, 1))
    out = {name: min(w for w, _ in v) for name, v in t.items()}
    out.update({name + "_cpu": min(c for _, c in v) for name, v in t.items()})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=None)
    a = p.parse_args()
    ny, nx, step = (265, 450, 12000.0) if a.quick else (1059, 1799, 3000.0)
    repeat = a.repeat or (2 if a.quick else 3)

    warnings.simplefilter("ignore")
    print(f"load {os.getloadavg()[0]:.2f}, grid {ny} x {nx}, best of {repeat}")
    t = numpy_race(ny, nx, step, repeat)
    t_mp, t_warm, t_cold = t["metpy"], t["warm"], t["cold"]
    print("| NumPy, vorticity + divergence | daskgrad | MetPy (scales given) | ratio |")
    print("|---|---|---|---|")
    print(f"| factors on the Grid | {t_warm:.3f} s | {t_mp:.3f} s | {t_mp / t_warm:.1f}x faster |")
    print(
        f"| factors computed in the call | {t_cold:.3f} s | {t_mp:.3f} s | {t_mp / t_cold:.2f}x |"
    )
    print(
        f"| no Grid passed (a Grid per call) | {t['nogrid']:.3f} s | {t_mp:.3f} s | "
        f"{t_mp / t['nogrid']:.2f}x |"
    )
    print(
        f"| first grid in the process (factors cold, fresh memory; one round) | "
        f"{t['first']:.3f} s | {t_mp:.3f} s | {t_mp / t['first']:.2f}x |"
    )
    print(
        "CPU seconds: "
        + ", ".join(
            f"{n} {t[n + '_cpu']:.3f}" for n in ("metpy", "warm", "cold", "nogrid", "first")
        )
        + f"; CPU ratios warm {t['metpy_cpu'] / t['warm_cpu']:.1f}x, cold "
        f"{t['metpy_cpu'] / t['cold_cpu']:.1f}x, no Grid {t['metpy_cpu'] / t['nogrid_cpu']:.1f}x"
    )
    print(
        f"absolute_vorticity, f from the projection's latitude, a new Grid: "
        f"{t['absvort']:.3f} s (CPU {t['absvort_cpu']:.3f}); MetPy (latitude given) "
        f"{t['metpy_absvort']:.3f} s (CPU {t['metpy_absvort_cpu']:.3f})"
    )
    print(f"map factors alone (a new Grid, {ny * nx} points): {t['factors']:.3f} s; "
          f"max |ours - MetPy| / max |MetPy| inside: {t['err']:.1e}")  # fmt: skip

    nt = 4
    d = dask_race(ny, nx, step, repeat, nt)
    print(f"\n| Dask, {nt} x {ny} x {nx}, vorticity | LCC | lat/lon | ratio (target <= 1.3) |")
    print("|---|---|---|---|")
    ratio = d["lcc"] / d["latlon"]
    print(f"| factors cold | {d['lcc']:.3f} s | {d['latlon']:.3f} s | {ratio:.2f}x |")
    print(
        f"| factors on the Grid | {d['lcc_warm']:.3f} s | {d['latlon']:.3f} s | "
        f"{d['lcc_warm'] / d['latlon']:.2f}x |"
    )
    print(
        f"CPU seconds: LCC cold {d['lcc_cpu']:.3f}, lat/lon {d['latlon_cpu']:.3f}, LCC warm "
        f"{d['lcc_warm_cpu']:.3f}; CPU ratios cold {d['lcc_cpu'] / d['latlon_cpu']:.2f}x, warm "
        f"{d['lcc_warm_cpu'] / d['latlon_cpu']:.2f}x"
    )


def suite(scale: str = "small", repeat: int = 3) -> list[dict]:
    """Rows for benchmarks/run_all.py: NumPy vorticity + divergence on an LCC grid against
    MetPy given pyproj's map factors, and dask vorticity on the LCC grid (factors cold) against
    the same on a lat/lon grid of the same shape; "small" is the HRRR grid (1059 x 1799)."""
    ny, nx, step, nt = {"smoke": (27, 45, 120000.0, 2), "small": (1059, 1799, 3000.0, 4)}[scale]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = numpy_race(ny, nx, step, repeat)
        d = dask_race(ny, nx, step, repeat, nt)
    return [
        dict(
            what=f"NumPy LCC {ny}x{nx}: vorticity + divergence, map factors on the Grid "
            f"(cold: {t['cold']:.3g} s; max rel. diff {t['err']:.1e})",
            reference="MetPy vorticity + divergence, pyproj's map factors given",
            ours=t["warm"],
            ref=t["metpy"],
            target=0.1,
        ),
        dict(
            what=f"dask {nt}x{ny}x{nx}, chunks (1, {ny // 2 + 1}, {nx // 2}), threads: "
            "geospatial vorticity on LCC, map factors cold",
            reference="the same on a lat/lon grid of the same shape",
            ours=d["lcc"],
            ref=d["latlon"],
            target=1.3,
        ),
    ]


if __name__ == "__main__":
    main()
