"""The command line's arguments: the parser of ``run`` and ``demo``, DIM=VALUE lists, INPUT and
OUTPUT as locations with their storage options."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..core.plan import DATETIME_UNITS, whole_number
from ..core.stencil import ACCURACIES, EDGE_ORDERS, NAN_POLICIES
from ..errors import UsageError
from .wording import Flags as Flags  # the flags' words, where the flags are made
from .wording import said as said

EXAMPLES = """\
examples:
  daskgrad run era5.zarr grad.zarr --dim latitude --dim longitude --periodic longitude=360
  daskgrad run ocean.nc grad.zarr --dim x --var temp --edge-order 2 --chunks depth=1
  daskgrad run big.zarr grad.zarr --dim x --workers 2 --threads-per-worker 1 --memory-limit 2GiB
  daskgrad run in.zarr out.zarr --dim time --datetime-unit h --scheduler tcp://10.0.0.5:8786
  daskgrad run in.zarr out.zarr --dim y --scheduler-file ~/scheduler.json --overwrite
  daskgrad run s3://bucket/in.zarr s3://bucket/out.zarr --dim x --storage-option anon=true
  daskgrad run s3://b/in.zarr s3://b/out.zarr --dim x \\
      --storage-option 'client_kwargs={"endpoint_url": "http://127.0.0.1:9000"}'
  daskgrad run era5.zarr grad.zarr --geospatial --var t2m --vorticity u10,v10 --accuracy 4
  daskgrad run ocean.zarr lap.zarr --dim x --dim y --laplacian sst --nan-policy omit
  daskgrad run era5.zarr kin.zarr --geospatial --frontogenesis theta:u,v --deformation u,v \\
      --potential-vorticity theta:u,v --vertical level --advection t:u,v --geostrophic z
  daskgrad demo --size 64MiB
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _size(text: str) -> int:
    from dask.utils import parse_bytes

    try:
        n = parse_bytes(text)
    except (ValueError, TypeError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a byte size: {text!r} (try 64MiB or 2GB)") from None
    if n <= 1:  # dask reads a number <= 1 as a fraction of the machine's memory
        raise argparse.ArgumentTypeError(f"byte size must be more than 1 byte; got {text!r}")
    return n


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a float: {text!r}") from None


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            n = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not 0 < n < 1e9:  # inf, nan and 1e30 seconds or workers are typos, not wishes
            raise argparse.ArgumentTypeError(f"must be more than 0 and less than 1e9; got {text}")
        return n

    return convert


def build_parser() -> argparse.ArgumentParser:
    """The ``daskgrad`` argument parser with its ``run`` and ``demo`` subcommands."""
    from ..version import __version__

    common = _Parser(add_help=False)
    common.add_argument("--no-progress", action="store_true", help="no progress bar")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    _add_cluster(common)
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="daskgrad",
        description="Numerical gradients of zarr/netCDF data on a dask cluster.",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"daskgrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{run,demo}")
    sub.required = True
    run = sub.add_parser(
        "run",
        parents=[common],
        formatter_class=fmt,
        epilog=EXAMPLES,
        help="differentiate a zarr store or netCDF file into a zarr store",
        description="Write d{var}_d{dim} for every chosen variable and dim to a new zarr store.",
    )
    _add_run(run)
    _add_operators(run)
    _add_stores(run)
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="differentiate a synthetic dataset and check it against the analytic answer",
        description="Write a synthetic dataset on a stretched grid, run the `run` pipeline on "
        "it, and check the error against what second-order differences should give.",
    )
    demo.add_argument(
        "--out", metavar="DIR", help="working directory (default: a new one in the temp folder)"
    )
    demo.add_argument("--size", type=_size, default="64MiB", help="input size (default 64MiB)")
    return parser


def _add_cluster(common: argparse.ArgumentParser) -> None:
    """The ``cluster`` group of both subcommands."""
    from dask.system import CPU_COUNT

    from ..cluster.connect import DEFAULT_CONNECT_TIMEOUT
    from ..cluster.memory import MARGIN, MEMORY_FRACTIONS, default_shape

    # what cli.app does: a run with none of these options on this process's threads when the
    # memory rule allows (cluster.inprocess), else, as demo always, the embedded LocalCluster
    # shaped by cluster.memory.default_shape
    workers, threads = default_shape(CPU_COUNT)
    shape = f"{workers} worker{'s' * (workers != 1)}, {threads} thread{'s' * (threads != 1)} each"
    share = MEMORY_FRACTIONS["pause"] - MARGIN
    cluster = common.add_argument_group(
        "cluster",
        "default: run computes on this process's threads (one per core), no cluster, when a "
        f"task per thread fits in {share:.0%} of this machine's memory (it says so); with "
        "--workers/--threads-per-worker/--memory-limit, when it does not fit, and for demo, a "
        f"local cluster starts: by default {shape} on this machine's {CPU_COUNT} cores (one "
        "worker with a thread per core on up to 2 cores, distributed's choice on more)",
    )
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="connect to this dask scheduler")
    cluster.add_argument(
        "--scheduler-file", metavar="PATH", help="connect via a scheduler file (dask-mpi/jobqueue)"
    )
    cluster.add_argument(
        "--connect-timeout",
        type=_positive(float),
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up on a scheduler that does not answer (default %(default)g)",
    )
    cluster.add_argument(
        "--workers",
        type=_positive(int),
        metavar="N",
        help=f"worker processes of a local cluster (default: {workers} here; with "
        "--threads-per-worker T, cores // T)",
    )
    cluster.add_argument(
        "--threads-per-worker",
        type=_positive(int),
        metavar="T",
        help=f"threads per local worker (default: {threads} here; with --workers N, the cores "
        "split among N)",
    )
    cluster.add_argument(
        "--memory-limit",
        type=_size,
        metavar="SIZE",
        help="memory limit per local worker, e.g. 2GiB (default: the machine's memory split "
        "among the workers)",
    )


def _add_run(run: argparse.ArgumentParser) -> None:
    """``run``'s INPUT, OUTPUT, what to differentiate and how to read and write."""
    run.add_argument(
        "input", metavar="INPUT", help="zarr store or netCDF file (only read); path or URL"
    )
    run.add_argument(
        "output", metavar="OUTPUT", help="zarr store to create; path or URL (s3://, gs://…)"
    )
    run.add_argument(
        "--dim",
        action="append",
        default=[],
        help="dim to differentiate along (repeatable; required unless --geospatial); the "
        "operators take x then y",
    )
    run.add_argument(
        "--var",
        action="append",
        metavar="NAME",
        help="variable to differentiate, repeatable (default: every numeric one; none when an "
        "operator is asked for)",
    )
    _add_stencil(run)
    run.add_argument(
        "--chunks",
        action="append",
        default=[],
        metavar="DIM=N|auto",
        help="input chunk size along DIM (repeatable); 'auto' is dask's choice",
    )
    run.add_argument(
        "--group",
        metavar="NAME",
        help="read the variables of this group of a netCDF file or zarr store (a/b for a "
        "nested one; default: the root)",
    )
    run.add_argument(
        "--datetime-unit",
        choices=DATETIME_UNITS,
        default="s",
        help="time unit of datetime coordinates' spacing (default %(default)s)",
    )
    _add_output(run)


def _whole(text: str) -> int:
    """A whole number (2, or 2.0 as the Python API takes it: core.plan.whole_number)."""
    try:
        value = whole_number(float(text))
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}")
    return value


def _add_stencil(run: argparse.ArgumentParser) -> None:
    """--edge-order, --accuracy, --nan-policy, --periodic/--no-periodic: choices from core.stencil's
    constants (validated once, by core.plan)."""
    run.add_argument(
        "--edge-order", type=_whole, choices=EDGE_ORDERS, default=1, help="default %(default)s"
    )
    run.add_argument(
        "--accuracy",
        type=_whole,
        choices=ACCURACIES,
        default=2,
        help="order of accuracy of the differences (default %(default)s: numpy.gradient's; "
        "--edge-order applies to it only)",
    )
    run.add_argument(
        "--nan-policy",
        choices=NAN_POLICIES,
        default="propagate",
        help="omit: differentiate each run of values between NaNs (a land mask) on its own, "
        "instead of letting a NaN spread to its neighbours (default %(default)s)",
    )
    wrap = run.add_mutually_exclusive_group()
    wrap.add_argument(
        "--periodic",
        action="append",
        default=[],
        metavar="DIM[=PERIOD]",
        help="wrap this dim around (repeatable); PERIOD is needed unless its coordinate is uniform",
    )
    wrap.add_argument(
        "--no-periodic",
        action="store_true",
        help="wrap no dim around: with --geospatial, not even a longitude that covers the globe "
        "(the API's periodic=False); without it, no dim wraps unless --periodic says so",
    )


def _add_output(run: argparse.ArgumentParser) -> None:
    """--strict, --overwrite, --zarr-format."""
    from ..io.target import ZARR_FORMATS

    run.add_argument(
        "--strict",
        action="store_true",
        help="refuse input whose zarr chunks absent from its store would be read as numbers "
        "(a fill value that is not a missing value)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing zarr store OUTPUT once the new one is complete",
    )
    run.add_argument(
        "--zarr-format",
        type=int,
        choices=ZARR_FORMATS,
        help="zarr format of OUTPUT (default: INPUT's if it is a zarr store, else zarr's default)",
    )


def _add_operators(run: argparse.ArgumentParser) -> None:
    """The ``geospatial gradients and operators`` group: --geospatial, its grid options, and
    every quantity flag."""
    from ..core.earth import EARTHS
    from .quantities import add_flags

    ops = run.add_argument_group(
        "geospatial gradients and operators",
        "computed with the gradients in the same pass over the input, which reads each input "
        "chunk once",
    )
    ops.add_argument(
        "--geospatial",
        action="store_true",
        help="per-metre eastward/northward derivatives d{var}_dx, d{var}_dy on the input's "
        "latitude/longitude grid (no --dim); the operators become geospatial too",
    )
    ops.add_argument(
        "--earth",
        type=str.lower,  # as earth= (core.earth.make_earth): WGS84 is wgs84
        choices=EARTHS,
        help="earth model of --geospatial (default sphere, radius 6371008.8 m; a sphere of "
        "another radius, the API's radius=: --crs '+proj=longlat +R=METRES')",
    )
    ops.add_argument(
        "--crs",
        type=_crs,
        help="CRS of a projected grid whose file lacks a grid_mapping: a PROJ string or an "
        "EPSG code (with --geospatial; x/y found by standard_name or as dims x and y)",
    )
    ops.add_argument(
        "--winds",
        choices=("grid", "earth"),
        help="on a projected grid, whether the wind components of --divergence, --vorticity "
        "and the kinematics flags are along the grid's x/y (as models write them) or "
        "eastward/northward (required there; with --geospatial only)",
    )
    for flag in ("--latitude", "--longitude"):
        ops.add_argument(
            flag,
            metavar="NAME",
            help=f"{flag[2:]} coordinate of --geospatial (default: found by CF attributes or name)",
        )
    add_flags(ops)


def _add_stores(run: argparse.ArgumentParser) -> None:
    """The ``object stores`` group: storage options and --store-timeout."""
    from ..io.locations import DEFAULT_STORE_TIMEOUT

    store = run.add_argument_group(
        "object stores", "INPUT/OUTPUT may be fsspec URLs: s3://, gs://, memory://, file://"
    )
    for flag, what in (
        (
            "--storage-option",
            "fsspec storage option for INPUT and OUTPUT, repeatable; VALUE is "
            "parsed as JSON where it parses: anon=true, 'client_kwargs={\"endpoint_url\": …}' "
            "(credentials and names such as key, secret, token, endpoint_url, profile, "
            "region_name stay text)",
        ),
        ("--input-storage-option", "for INPUT only (over --storage-option)"),
        ("--output-storage-option", "for OUTPUT only (over --storage-option)"),
    ):
        store.add_argument(flag, action="append", default=[], metavar="KEY=VALUE", help=what)
    store.add_argument(
        "--store-timeout",
        type=_number,  # its range checked once, with the API's (io.writer.check_store_timeout)
        default=DEFAULT_STORE_TIMEOUT,
        metavar="SECONDS",
        help="give up on an object store that stops answering: every request to it (connect "
        "and read, with the backend's retries) ends within SECONDS; a run then fails in one "
        "line naming the store, OUTPUT as it was (s3://; at least 5, default %(default)g)",
    )


def key_values(
    items: Sequence[str], option: str, convert: Any, optional: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not name or (sep and not value) or not (sep or optional):
            raise UsageError(f"argument {option}: expected DIM=VALUE, got {item!r}")
        if name in out:
            raise UsageError(f"argument {option}: dim {name!r} given twice")
        try:
            out[name] = convert(value) if sep else None
        except ValueError:
            raise UsageError(f"argument {option}: bad value {value!r} for dim {name!r}") from None
    return out


def chunk_size(text: str) -> int | str:
    if text == "auto":
        return "auto"
    n = int(text)
    if not 1 <= n < 2**62:
        raise ValueError(text)
    return n


def locations(args: argparse.Namespace) -> tuple[Any, Any]:
    """INPUT and OUTPUT as Locations with their storage options (backends checked)."""
    from ..io.locations import locate, parse_storage_options
    from ..io.writer import check_store_timeout

    timeout = check_store_timeout(args.store_timeout)
    both = parse_storage_options(args.storage_option, "--storage-option")
    given = {
        "input": parse_storage_options(args.input_storage_option, "--input-storage-option"),
        "output": parse_storage_options(args.output_storage_option, "--output-storage-option"),
    }
    locs = []
    for role, text in (("input", args.input), ("output", args.output)):
        options = {**both, **given[role]}
        loc = locate(text, options, role, timeout=timeout)
        if loc.local is not None and given[role]:
            flag = f"--{role}-storage-option"
            raise UsageError(f"argument {flag}: {role} {loc} is a local path, not a URL")
        locs.append(loc)
    if both and all(loc.local is not None for loc in locs):
        raise UsageError("argument --storage-option: INPUT and OUTPUT are local paths, not URLs")
    return locs[0], locs[1]


def _crs(text: str) -> str | int:
    """--crs: an EPSG code as a number, anything else as given (a PROJ string, EPSG:N)."""
    return int(text) if text.strip().isdigit() else text
