"""Synthetic dataset with an analytic gradient on a stretched grid, for ``daskgrad demo``."""

from __future__ import annotations

import argparse
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
        todo[name] = (da.nanmax(abs(got - ex)), da.nanmax(abs(ex)))
    done = client.gather(client.compute(todo))
    return {k: (float(e), float(m)) for k, (e, m) in done.items()}


def cmd_demo(args: argparse.Namespace) -> None:
    """``daskgrad demo``: write the synthetic input, run the ``run`` pipeline, print the error."""
    from .cli import UsageError, connect, open_input, prepare, run_pipeline, warnings_silenced

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --out directory {out}: {e.strerror}") from e
    input, output = out / "input.zarr", out / "gradient.zarr"
    ds, exact = demo_dataset(args.size)
    shape = "x".join(map(str, ds.temperature.shape))
    with connect(args) as client:
        print(f"daskgrad demo: writing {shape} float64 input to {input}", flush=True)
        with warnings_silenced():
            client.compute(ds.to_zarr(input, mode="w", compute=False)).result()
        args.overwrite = True
        src = open_input(input)
        job = prepare(src, ["x", "y"], edge_order=2)
        cmd = f"daskgrad run {input} {output} --dim x --dim y --edge-order 2 --overwrite"
        print(f"daskgrad demo: {cmd}", flush=True)
        run_pipeline(args, input, output, job, client=client)
        result = open_input(output)
        errors = max_errors(result, exact, client)
    print("| output | max abs error | max abs exact | relative |")
    print("|---|---|---|---|")
    for name, (err, big) in errors.items():
        print(f"| {name} | {err:.3e} K m-1 | {big:.3e} K m-1 | {err / big:.2e} |")
