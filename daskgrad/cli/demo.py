"""Synthetic dataset with an analytic gradient on a stretched grid, for ``daskgrad demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

AMPLITUDE = 10.0  # K
LENGTH = 1.0e5  # m, domain size along x and y
WAVES = 3.0  # wavelengths across the domain
STRETCH = 0.6  # grid spacing varies by a factor (1 + STRETCH) / (1 - STRETCH) = 4


def stretched(n: int) -> np.ndarray:
    """``n`` strictly increasing points on [0, LENGTH], spacing varying smoothly by a factor 4.

    Examples
    --------
    >>> x = stretched(5)
    >>> bool(np.all(np.diff(x) > 0)), float(x[0]), float(x[-1])
    (True, 0.0, 100000.0)
    """
    s = np.linspace(0.0, 1.0, n)
    return LENGTH * (s + STRETCH * np.sin(2 * np.pi * s) / (2 * np.pi))


def demo_shape(nbytes: int) -> tuple[int, int, int]:
    """(z, y, x) shape of a float64 array of about ``nbytes``, with square horizontal layers.

    Examples
    --------
    >>> demo_shape(64 * 2**20)
    (6, 1182, 1182)
    """
    n = max(nbytes // 8, 8 * 16)
    nz = int(max(2, min(8, round(n ** (1 / 3) / 32))))
    nxy = int(max(8, round(np.sqrt(n / nz))))
    return nz, nxy, nxy


def _field(z: Any, y: Any, x: Any) -> tuple[Any, Any, Any]:
    k = 2 * np.pi * WAVES / LENGTH
    f = AMPLITUDE * np.sin(k * x) * np.cos(k * y) + 0.01 * z
    dfdx = AMPLITUDE * k * np.cos(k * x) * np.cos(k * y)
    dfdy = -AMPLITUDE * k * np.sin(k * x) * np.sin(k * y)
    return f, dfdy, dfdx


def demo_dataset(nbytes: int, chunk_bytes: int = 8 * 2**20) -> tuple[Any, dict[str, Any]]:
    """The synthetic Dataset (lazy, dask-backed) and its analytic derivatives by output name.

    ``temperature(z, y, x) = 10 sin(kx) cos(ky) + 0.01 z`` in K on coordinates in m, stretched
    along x and y.
    """
    import dask.array as da
    import xarray as xr
    from dask.array.core import normalize_chunks

    shape = demo_shape(nbytes)
    chunks = normalize_chunks("auto", shape, limit=chunk_bytes, dtype=np.float64)
    nz, ny, nx = shape
    z = np.arange(nz, dtype=np.float64) * 100.0
    y, x = stretched(ny), stretched(nx)
    zz = da.from_array(z, chunks=(chunks[0],))[:, None, None]
    yy = da.from_array(y, chunks=(chunks[1],))[None, :, None]
    xx = da.from_array(x, chunks=(chunks[2],))[None, None, :]
    f, dfdy, dfdx = _field(zz, yy, xx)
    dims = ("z", "y", "x")
    coords = {
        "z": ("z", z, {"units": "m", "long_name": "height"}),
        "y": ("y", y, {"units": "m", "long_name": "northing (stretched grid)"}),
        "x": ("x", x, {"units": "m", "long_name": "easting (stretched grid)"}),
    }
    attrs = {"units": "K", "long_name": "synthetic temperature"}
    ds = xr.Dataset({"temperature": (dims, f, attrs)}, coords=coords)
    ds.attrs["title"] = "daskgrad demo: 10 sin(kx) cos(ky) + 0.01 z on a stretched grid"
    exact = {"dtemperature_dx": (dims, dfdx), "dtemperature_dy": (dims, dfdy)}
    return ds, exact


def max_errors(output: Any, exact: dict[str, Any], client: Any) -> dict[str, tuple[float, float]]:
    """{name: (max abs error, max |exact|)} of the computed derivatives, on the cluster."""
    import dask.array as da

    todo = {}
    for name, (_, ex) in exact.items():
        got = output[name].data
        ex = da.broadcast_to(ex, got.shape).rechunk(got.chunks)
        todo[name] = (da.max(abs(got - ex)), da.max(abs(ex)))  # a NaN is an error: FAIL
    done = client.gather(client.compute(todo))
    return {k: (float(e), float(m)) for k, (e, m) in done.items()}


def error_bound(ds: Any) -> float:
    """The largest error second-order differences should give on the demo grid, in K m-1.

    The leading error term of numpy's 3-point formulas is h₋h₊|f‴|/6 inside and
    h₁(h₁ + h₂)|f‴|/6 <= h_max²|f‴|/3 at an edge (edge_order 2). With |f‴| <= A k³ and a
    margin of 1.5 for the higher-order terms this gives A k³ h_max² / 2.

    Examples
    --------
    >>> import xarray as xr
    >>> x = stretched(101)
    >>> ds = xr.Dataset(coords={"x": x, "y": x})
    >>> k = 2 * np.pi * WAVES / LENGTH
    >>> print(f"{error_bound(ds) / (AMPLITUDE * k):.2e}")  # relative to max |df/dx|
    4.55e-02
    """
    k = 2 * np.pi * WAVES / LENGTH
    h = max(float(np.max(np.abs(np.diff(ds[d].values)))) for d in ("x", "y"))
    return AMPLITUDE * k**3 * h**2 / 2


def write_input(ds: Any, path: Path, client: Any) -> None:
    """Write the synthetic input to a zarr store on the cluster."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.compute(ds.to_zarr(path, mode="w", compute=False)).result()


def verdict(errors: dict[str, tuple[float, float]], bound: float, show: Any = print) -> bool:
    """Print a table of errors against ``bound`` with PASS/FAIL per output; True if all pass.

    Examples
    --------
    >>> verdict({"df_dx": (1e-6, 1.0), "df_dy": (float("nan"), 1.0)}, 1e-5)
    | output | max abs error | max abs exact | relative | expected at most | verdict |
    |---|---|---|---|---|---|
    | df_dx | 1.000e-06 K m-1 | 1.000e+00 K m-1 | 1.00e-06 | 1.000e-05 K m-1 | PASS |
    | df_dy | nan K m-1 | 1.000e+00 K m-1 | nan | 1.000e-05 K m-1 | FAIL |
    False
    """
    show("| output | max abs error | max abs exact | relative | expected at most | verdict |")
    show("|---|---|---|---|---|---|")
    ok = True
    for name, (err, big) in errors.items():
        passed = bool(err <= bound)  # NaN fails
        ok &= passed
        show(
            f"| {name} | {err:.3e} K m-1 | {big:.3e} K m-1 | {err / big:.2e} | "
            f"{bound:.3e} K m-1 | {'PASS' if passed else 'FAIL'} |"
        )
    return ok


def is_demo_store(path: Path) -> bool:
    """True for a zarr store that ``daskgrad demo`` wrote (so a later demo may replace it)."""
    import json

    for meta in ("zarr.json", ".zattrs"):
        try:
            attrs = json.loads((path / meta).read_text())
        except (OSError, ValueError):
            continue
        title = attrs.get("attributes", attrs).get("title", "")
        if str(title).startswith("daskgrad demo"):
            return True
    return False
