"""The stencil engine's targets (accuracy orders, nan_policy), measured side by side in one run.

    python benchmarks/bench_stencil.py                # 256^3 float64, dask chunks (64, 128, 256)
    python benchmarks/bench_stencil.py --quick        # 64^3, 2 repeats: a smoke test
    python benchmarks/bench_stencil.py --baseline /tmp/daskgrad-baseline   # + accuracy=2 vs before
    python benchmarks/bench_stencil.py --profile 4,omit   # cProfile: where that case's time goes

All three dims are differentiated. Dask input is computed with ``dask.compute`` on the threaded
scheduler from persisted chunks that own their memory (as in bench_arrays.py). Every figure is
the best of --repeat runs, and the runs of the variants compared in one ratio are interleaved,
so that a burst of load on a shared machine hits both sides of the ratio.

1. Dask input: accuracy 4 (and 6, 8, for information) / accuracy 2. Target: 4 <= 1.6x.
2. NumPy input, accuracy 4: findiff (``findiff.Diff(axis, h, acc=4)`` applied for each axis) /
   daskgrad. Target: >= 5x.
3. ``accuracy=2`` (the default call) against the commit before the stencil engine (621f4b7):
   NumPy and dask input, uniform and coordinate spacing. Target: <= 1.0x (noise +-5%). Each
   version runs in a child process of this script with PYTHONPATH pointing at its checkout,
   all holding the same data, the parent asking them for one call at a time, in turn (best of
   2 x --repeat); a second baseline process measures the noise (its ratio to the first).
   ``--baseline DIR`` is created with ``git worktree add --detach DIR 621f4b7`` when absent.
   Skipped without --baseline.
4. ``nan_policy="omit"`` / ``"propagate"`` on the same data with 30% land: a smooth random sea
   floor, land fraction 20% at the top level rising to 40% at the bottom (so deeper levels hold
   the land of shallower ones, as in ocean data). NumPy and dask, accuracy 2 and 4. Target: <= 2x.

The out-of-core target (accuracy 4 <= 1.4x the I/O floor) is measured by
``benchmarks/bench_out_of_core.py --accuracy 4``.

Prints a markdown table: daskgrad time, peer or baseline time, their ratio, the target. Exits 2
if the installed daskgrad does not accept ``accuracy``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import subprocess
import sys
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import daskgrad

BASELINE_COMMIT = "621f4b7"
SECTIONS = ("accuracy", "findiff", "baseline", "nan")


def race(fns, repeat):
    """Best time of each function over ``repeat`` rounds, one call of each per round."""
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"numpy {np.__version__}, dask {dask.__version__}, Python {platform.python_version()}"
    )


def version(root: Path) -> str:
    """The commit of the daskgrad checkout at ``root``, and whether daskgrad/ has edits on it."""

    def git(*cmd):
        out = subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "not a git checkout"
    edited = git("status", "--porcelain", "--", "daskgrad")
    return commit + (
        f" + uncommitted changes to {len(edited.splitlines())} file(s) in daskgrad/"
        if edited
        else ""
    )


def load():
    return "load average " + ", ".join(f"{a:.2f}" for a in os.getloadavg())


def cube(n):
    """The data of every measurement: n^3 standard normal values and 3 stretched coordinates."""
    rng = np.random.default_rng(0)
    f = rng.standard_normal((n, n, n))
    xs = [np.cumsum(rng.uniform(0.5, 1.5, n)) for _ in range(3)]
    return f, xs


def chunks_for(n):
    return (max(1, n // 4), max(1, n // 2), n)


def as_dask(f, chunks):
    # chunks that own their memory, as chunks read from zarr or netCDF do (from_array alone
    # would give views into ``f``)
    x = da.from_array(f, chunks=chunks).map_blocks(np.ascontiguousarray)
    return x.persist(scheduler="threads")


def land_mask(shape, frac=0.30, seed=1):
    """Land (True) wherever a smooth random sea floor rises above the level: 3-D "continents".

    The sea floor is white noise smoothed (periodically) by a Gaussian of sigma = n/16 points;
    level z is cut at the quantile that gives it a land fraction rising linearly from
    ``frac - 0.1`` at the top to ``frac + 0.1`` at the bottom: the cube holds ``frac`` land.

    >>> m = land_mask((8, 64, 64))
    >>> round(float(m.mean()), 2), bool((m[1:] >= m[:-1]).all())
    (0.3, True)
    """
    nz, ny, nx = shape
    rng = np.random.default_rng(seed)
    sigma = max(ny, nx) / 16
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.rfftfreq(nx)[None, :]
    smooth = np.exp(-2.0 * (np.pi * sigma) ** 2 * (ky**2 + kx**2))
    floor = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((ny, nx))) * smooth, s=(ny, nx))
    fracs = np.linspace(frac - 0.1, frac + 0.1, nz) if nz > 1 else np.array([frac])
    levels = np.quantile(floor, 1.0 - fracs)
    return floor[None, :, :] > levels[:, None, None]


def supports(**kwargs):
    """Whether the installed daskgrad.gradient accepts these keyword arguments (and why not)."""
    try:
        daskgrad.gradient(np.linspace(0.0, 1.0, 16), **kwargs)
    except Exception as e:  # a TypeError naming the argument, or a kernel being rewritten
        return False, f"{type(e).__name__}: {e}"
    return True, ""


def rel_err(a, b):
    """max |a - b| / max |b| over the points where both are finite, for a tuple of arrays each."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        ok = np.isfinite(x) & np.isfinite(y)
        worst = max(worst, float(np.abs(x - y)[ok].max() / np.abs(y[ok]).max()))
    return worst


# --- accuracy=2 against the baseline checkout, in child processes -----------------------------


def child_main(n):
    """Serve timings of the default (accuracy 2) call of whichever daskgrad is importable.

    Prints one JSON line (where daskgrad comes from, the cases, a checksum of an output), then
    for each case name read from stdin runs it once and prints its time; ends at EOF.
    """
    f, xs = cube(n)
    x = as_dask(f, chunks_for(n))
    cases = {
        "NumPy, uniform": lambda: daskgrad.gradient(f),
        "NumPy, coordinates": lambda: daskgrad.gradient(f, spacing=xs),
        "dask, uniform": lambda: dask.compute(*daskgrad.gradient(x)),
        "dask, coordinates": lambda: dask.compute(*daskgrad.gradient(x, spacing=xs)),
    }
    # both versions must compute the same thing on the same data
    check = float(np.abs(daskgrad.gradient(f, spacing=xs)[1]).sum())
    print(json.dumps({"file": daskgrad.__file__, "cases": list(cases), "check": check}))
    sys.stdout.flush()
    with dask.config.set(scheduler="threads"):
        for line in sys.stdin:
            print(race({0: cases[line.strip()]}, 1)[0], flush=True)


def ensure_baseline(path: Path) -> str:
    """Create the baseline worktree if absent; return its commit."""
    repo = Path(__file__).resolve().parents[1]
    if not path.exists():
        print(f"creating the baseline: git worktree add --detach {path} {BASELINE_COMMIT}")
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", str(path), BASELINE_COMMIT],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not (path / "daskgrad" / "__init__.py").is_file():
        raise SystemExit(f"--baseline {path}: no daskgrad package there")
    return version(path)


class Child:
    """This script in --child mode in a process of its own, importing daskgrad from ``root``."""

    def __init__(self, root: Path, n: int):
        self.root = root
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--n", str(n)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.info = json.loads(self._read())
        if not Path(self.info["file"]).resolve().is_relative_to(root.resolve()):
            self.close()
            raise RuntimeError(f"the child for {root} imported daskgrad from {self.info['file']}")

    def _read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the child for {self.root} exited with code {code} (see above)")
        return line

    def time(self, case: str) -> float:
        self.proc.stdin.write(case + "\n")
        self.proc.stdin.flush()
        return float(self._read())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def baseline_rows(base: Path, n, repeat):
    """accuracy=2 of the installed daskgrad vs the baseline checkout, call by call in turn.

    Three child processes hold the same data: the installed daskgrad, the baseline, and the
    baseline again (a control: the two baselines' ratio is the noise of the measurement). Each
    round runs every case once in each, the order of the three rotating every round. Returns
    the best times, the relative difference of the outputs' checksums (rounding: ~1e-16), and
    where the installed daskgrad is.
    """
    new_root = Path(daskgrad.__file__).resolve().parents[1]
    children = {}
    try:
        for who, root in (("new", new_root), ("old", base), ("control", base)):
            children[who] = Child(root, n)
        best = {who: dict.fromkeys(c.info["cases"], math.inf) for who, c in children.items()}
        order = list(children)
        for i in range(repeat):
            for case in best["new"]:
                for who in order[i % 3 :] + order[: i % 3]:
                    best[who][case] = min(best[who][case], children[who].time(case))
        old = children["old"].info["check"]
        same = abs(children["new"].info["check"] - old) / abs(old)
    finally:
        for c in children.values():
            c.close()
    return best, same, new_root


def profile(f, chunks, accuracy, nan_policy):
    """Where one dask compute of the land-masked cube spends its time, kernels included."""
    g = f.copy()
    g[land_mask(f.shape)] = np.nan
    y = as_dask(g, chunks)

    def run():
        grads = daskgrad.gradient(y, accuracy=accuracy, nan_policy=nan_policy)
        return dask.compute(*grads, scheduler="sync")

    run()
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.runcall(run)
    print(
        f"accuracy {accuracy}, nan_policy={nan_policy!r}, 30% land, sync scheduler: "
        f"{time.perf_counter() - t:.3f} s under cProfile"
    )
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


# --- the parent ---------------------------------------------------------------------------------


def suite(scale="small", repeat=3):
    """Rows for benchmarks/run_all.py: NumPy input at accuracy 4 against findiff."""
    import findiff

    n = {"smoke": 24, "small": 96}[scale]
    f, _ = cube(n)
    diffs = [findiff.Diff(axis, 1.0, acc=4) for axis in range(3)]
    t = race(
        {
            "acc4": lambda: daskgrad.gradient(f, accuracy=4),
            "findiff": lambda: [d(f) for d in diffs],
        },
        repeat,
    )
    return [
        dict(
            what=f"NumPy {n}^3 float64, 3 dims, accuracy 4",
            reference="findiff.Diff(axis, h, acc=4)",
            ours=t["acc4"],
            ref=t["findiff"],
            target=0.2,
        )
    ]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, help="edge of the cube (default 256, 64 with --quick)")
    p.add_argument("--repeat", type=int, help="runs of each; the best is kept (5; 2 --quick)")
    p.add_argument("--quick", action="store_true", help="a smoke test: 64^3, 2 repeats")
    p.add_argument(
        "--baseline",
        type=Path,
        help=f"a checkout of the commit before the stencil engine ({BASELINE_COMMIT}); "
        "created as a git worktree if absent",
    )
    p.add_argument(
        "--baseline-repeat",
        type=int,
        help="runs of each case in each version for --baseline (default: 2 x --repeat)",
    )
    p.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    p.add_argument(
        "--profile",
        metavar="ACCURACY,POLICY",
        help="instead of timing: cProfile of one dask compute on the sync scheduler (the kernels "
        "in this thread) of the land-masked cube, e.g. 4,omit",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    n = args.n or (64 if args.quick else 256)
    r = args.repeat or (2 if args.quick else 5)
    if args.child:
        return child_main(n)
    sections = set(args.only or SECTIONS)

    ok, why = supports(accuracy=4)
    if not ok:
        print(
            f"daskgrad at {Path(daskgrad.__file__).parent} does not accept accuracy=4 "
            f"({why}); nothing to measure",
            file=sys.stderr,
        )
        return 2
    has_nan_policy, why_nan = supports(nan_policy="omit")

    chunks = chunks_for(n)
    print(f"## daskgrad stencil benchmarks: {n}^3 float64, all 3 dims, dask chunks {chunks}\n")
    print(f"Machine: {machine()}; {load()} at the start\n")
    root = Path(daskgrad.__file__).resolve().parents[1]
    print(f"daskgrad: {root} at {version(root)}\n", flush=True)
    rows = []  # measurement, daskgrad s, peer s, ratio, target, met
    notes = []

    def row(what, ours, peer, ratio, target="", met=None):
        rows.append((what, ours, peer, ratio, target, met))

    f, xs = cube(n)
    x = as_dask(f, chunks) if sections & {"accuracy", "nan"} else None

    if args.profile:
        acc, policy = args.profile.split(",")
        profile(f, chunks, int(acc), policy)
        return 0

    # 1. accuracy orders on dask input
    if "accuracy" in sections:
        with dask.config.set(scheduler="threads"):
            t = race(
                {
                    acc: lambda acc=acc: dask.compute(*daskgrad.gradient(x, accuracy=acc))
                    for acc in (2, 4, 6, 8)
                },
                r,
            )
        for acc in (4, 6, 8):
            ratio = t[acc] / t[2]
            target, met = ("≤ 1.6x", ratio <= 1.6) if acc == 4 else ("(information)", None)
            row(f"dask, accuracy {acc} / accuracy 2", t[acc], t[2], ratio, target, met)
        print(f"accuracy orders done ({load()})", flush=True)

    # 2. findiff on NumPy input
    if "findiff" in sections:
        try:
            import findiff
        except ImportError:
            findiff = None
            notes.append("findiff is not installed: its row is skipped")
        if findiff is not None:
            diffs = [findiff.Diff(axis, 1.0, acc=4) for axis in range(3)]
            t = race(
                {
                    "acc2": lambda: daskgrad.gradient(f),
                    "acc4": lambda: daskgrad.gradient(f, accuracy=4),
                    "findiff": lambda: [d(f) for d in diffs],
                },
                r,
            )
            ratio = t["findiff"] / t["acc4"]
            row(
                "NumPy, accuracy 4: findiff / daskgrad",
                t["acc4"],
                t["findiff"],
                ratio,
                "≥ 5x",
                ratio >= 5,
            )
            row(
                "NumPy, accuracy 4 / accuracy 2",
                t["acc4"],
                t["acc2"],
                t["acc4"] / t["acc2"],
                "(information)",
            )
            err = rel_err(daskgrad.gradient(f, accuracy=4), [d(f) for d in diffs])
            notes.append(
                f"check: NumPy accuracy 4 vs findiff, max |diff| / max |findiff| = {err:.1e}"
            )
            print(f"findiff done ({load()})", flush=True)

    # 4. nan_policy
    if "nan" in sections:
        if not has_nan_policy:
            notes.append(f"nan_policy rows skipped: the installed daskgrad refuses it ({why_nan})")
        else:
            mask = land_mask(f.shape)
            g = f.copy()
            g[mask] = np.nan
            y = as_dask(g, chunks)
            notes.append(
                f"land mask: {mask.mean():.1%} NaN (levels {mask[0].mean():.0%} "
                f"at the top to {mask[-1].mean():.0%} at the bottom)"
            )
            with dask.config.set(scheduler="threads"):
                for acc in (2, 4):
                    for kind, inp, run in (
                        ("NumPy", g, lambda a: a),
                        ("dask", y, lambda a: dask.compute(*a)),
                    ):
                        t = race(
                            {
                                pol: lambda pol=pol, inp=inp, run=run, acc=acc: run(
                                    daskgrad.gradient(inp, accuracy=acc, nan_policy=pol)
                                )
                                for pol in ("propagate", "omit")
                            },
                            r,
                        )
                        ratio = t["omit"] / t["propagate"]
                        row(
                            f"{kind}, accuracy {acc}, 30% land: omit / propagate",
                            t["omit"],
                            t["propagate"],
                            ratio,
                            "≤ 2x",
                            ratio <= 2,
                        )
                omit = daskgrad.gradient(g, accuracy=4, nan_policy="omit")
                lazy = dask.compute(*daskgrad.gradient(y, accuracy=4, nan_policy="omit"))
            nan_out = np.mean([np.isnan(a).mean() for a in omit])
            same_nan = all(
                np.array_equal(np.isnan(a), np.isnan(b)) for a, b in zip(omit, lazy, strict=True)
            )
            notes.append(
                f"check: omit, accuracy 4: {nan_out:.1%} NaN out (land {mask.mean():.1%}); "
                f"dask vs NumPy: same NaNs {same_nan}, max |diff| / max |NumPy| = "
                f"{rel_err(lazy, omit):.1e}"
            )
            del g, y, omit, lazy
            print(f"nan_policy done ({load()})", flush=True)

    # 3. accuracy=2 vs the baseline checkout
    if "baseline" in sections:
        if args.baseline is None:
            notes.append(f"accuracy=2 vs {BASELINE_COMMIT} skipped: no --baseline")
        else:
            del x
            commit = ensure_baseline(args.baseline)
            try:
                rb = args.baseline_repeat or 2 * r
                best, checksum_diff, new_root = baseline_rows(args.baseline, n, rb)
            except RuntimeError as e:
                notes.append(f"accuracy=2 vs the baseline failed: {e}")
            else:
                for case, t_new in best["new"].items():
                    t_old = best["old"][case]
                    ratio = t_new / t_old
                    row(
                        f"{case}, accuracy 2: now / {commit.split()[0]}",
                        t_new,
                        t_old,
                        ratio,
                        "≤ 1.0x (±5%)",
                        ratio <= 1.05,
                    )
                control = ", ".join(
                    f"{best['control'][case] / t_old:.2f}x" for case, t_old in best["old"].items()
                )
                notes.append(
                    f"accuracy 2 vs the baseline: {new_root} vs {args.baseline} at {commit}, "
                    f"one child process each, calls in turn, best of {rb}; output checksums "
                    f"differ by {checksum_diff:.1e} (relative); noise control (a second baseline "
                    f"process / the first, same 4 cases): {control}"
                )
                print(f"baseline done ({load()})", flush=True)

    print(f"\nbest of {r}; {load()} at the end\n")
    print("| measurement | daskgrad s | peer / baseline s | ratio | target | met |")
    print("|---|---:|---:|---:|---|---|")
    for what, ours, peer, ratio, target, met in rows:
        mark = "" if met is None else ("yes" if met else "**no**")
        print(f"| {what} | {ours:.3f} | {peer:.3f} | {ratio:.2f}x | {target} | {mark} |")
    print(
        "| out of core, accuracy 4 / I/O floor | see bench_out_of_core.py --accuracy 4 "
        "| | | ≤ 1.4x | |"
    )
    if notes:
        print()
        for note in notes:
            print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
