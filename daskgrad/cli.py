"""Command line: ``daskgrad run`` and ``daskgrad demo`` on a local or an existing dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._pipeline import (
    Job,
    UsageError,
    _first_line,
    open_input,
    prepare,
    warnings_silenced,
    write_atomic,
)

EXAMPLES = """\
examples:
  daskgrad run era5.zarr grad.zarr --dim latitude --dim longitude --periodic longitude=360
  daskgrad run ocean.nc grad.zarr --dim x --var temp --edge-order 2 --chunks depth=1
  daskgrad run big.zarr grad.zarr --dim x --workers 2 --threads-per-worker 1 --memory-limit 2GiB
  daskgrad run in.zarr out.zarr --dim time --scheduler tcp://10.0.0.5:8786 --overwrite
  daskgrad run in.zarr out.zarr --dim y --scheduler-file ~/scheduler.json
  daskgrad demo --size 64MiB --out /tmp/daskgrad-demo
"""


__all__ = ["UsageError", "Job", "build_parser", "connect", "main", "open_input", "prepare"]
__all__ += ["run_pipeline", "warnings_silenced", "write_atomic"]


def _fmt_bytes(n: float) -> str:
    from dask.utils import format_bytes

    return format_bytes(int(n))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _size(text: str) -> int:
    from dask.utils import parse_bytes

    try:
        n = parse_bytes(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not a byte size: {text!r} (try 64MiB or 2GB)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"byte size must be positive; got {text!r}")
    return n


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The ``daskgrad`` argument parser with its ``run`` and ``demo`` subcommands."""
    common = _Parser(add_help=False)
    common.add_argument("--no-progress", action="store_true", help="no progress bar")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    cluster = common.add_argument_group(
        "cluster", "default: a local cluster of worker processes sized to this machine"
    )
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="connect to this dask scheduler")
    cluster.add_argument(
        "--scheduler-file", metavar="PATH", help="connect via a scheduler file (dask-mpi/jobqueue)"
    )
    cluster.add_argument("--workers", type=_positive_int, metavar="N", help="local workers")
    cluster.add_argument(
        "--threads-per-worker", type=_positive_int, metavar="T", help="threads per local worker"
    )
    cluster.add_argument(
        "--memory-limit", type=_size, metavar="SIZE", help="memory limit per local worker (2GiB)"
    )

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="daskgrad",
        description="Numerical gradients of zarr/netCDF data on a dask cluster.",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
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
    run.add_argument("input", metavar="INPUT", help="zarr store or netCDF file (only read)")
    run.add_argument("output", metavar="OUTPUT", help="zarr store to create")
    run.add_argument("--dim", action="append", required=True, help="dim to differentiate along")
    run.add_argument(
        "--var", action="append", metavar="NAME", help="variable (default: every numeric one)"
    )
    run.add_argument("--edge-order", type=int, choices=(1, 2), default=1)
    run.add_argument(
        "--periodic", action="append", default=[], metavar="DIM[=PERIOD]", help="wrap this dim"
    )
    run.add_argument(
        "--chunks", action="append", default=[], metavar="DIM=N", help="override input chunks"
    )
    run.add_argument("--overwrite", action="store_true", help="replace OUTPUT once complete")
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="differentiate a synthetic dataset and check it against the analytic answer",
        description="Write a synthetic dataset on a stretched grid, run the `run` pipeline on "
        "it, and print the error against its analytic derivative.",
    )
    demo.add_argument("--out", default="daskgrad-demo", metavar="DIR", help="working directory")
    demo.add_argument("--size", type=_size, default="64MiB", help="input size (default 64MiB)")
    return parser


def _key_values(
    items: Sequence[str], option: str, convert: Any, optional: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not name or (sep and not value) or not (sep or optional):
            raise UsageError(f"argument {option}: expected DIM=VALUE, got {item!r}")
        try:
            out[name] = convert(value) if sep else None
        except ValueError:
            raise UsageError(f"argument {option}: bad value {value!r} for dim {name!r}") from None
    return out


def check_cluster_args(args: argparse.Namespace) -> None:
    """Refuse mixing a scheduler to connect to with options for a local cluster."""
    if args.scheduler and args.scheduler_file:
        raise UsageError("argument --scheduler-file: not allowed with --scheduler")
    if args.scheduler or args.scheduler_file:
        local = [o for o in ("workers", "threads_per_worker", "memory_limit") if getattr(args, o)]
        if local:
            flag = "--" + local[0].replace("_", "-")
            raise UsageError(f"argument {flag}: not allowed with --scheduler/--scheduler-file")


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Any]:
    """Yield a distributed Client: to ``--scheduler``/``--scheduler-file``, or a LocalCluster."""
    import logging

    from distributed import Client, LocalCluster
    from distributed.utils import format_dashboard_link

    check_cluster_args(args)
    if args.scheduler or args.scheduler_file:
        where = args.scheduler or args.scheduler_file
        try:
            if args.scheduler:
                client = Client(args.scheduler, timeout="10s", set_as_default=False)
            else:
                client = Client(scheduler_file=args.scheduler_file, timeout="10s")
        except (OSError, ValueError, TimeoutError) as e:
            raise UsageError(f"cannot connect to scheduler {where}: {_first_line(e)}") from e
        with client:
            n = len(client.scheduler_info()["workers"])
            print(f"daskgrad: connected to {client.scheduler.address} ({n} workers)", flush=True)
            yield client
        return
    with warnings_silenced():
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            memory_limit=args.memory_limit or "auto",
            processes=True,
            dashboard_address=":8787",
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster, set_as_default=False) as client:
        info = client.scheduler_info()
        workers = info["workers"].values()
        threads = sum(w["nthreads"] for w in workers)
        mem = _fmt_bytes(min((w["memory_limit"] for w in workers), default=0))
        port = info.get("services", {}).get("dashboard")
        host = client.scheduler.address.split("://")[-1].rsplit(":", 1)[0]
        dash = format_dashboard_link(host, port) if port else "none (pip install bokeh)"
        print(
            f"daskgrad: local cluster of {len(workers)} workers, {threads} threads, {mem} "
            f"per worker; dashboard: {dash}",
            flush=True,
        )
        yield client


def run_pipeline(
    args: argparse.Namespace, input: Path, output: Path, job: Job, client: Any = None
) -> None:
    """Write ``job`` atomically to ``output`` on ``client`` (else on the cluster the options
    ask for) and print the summary line."""
    if client is None:
        with connect(args) as client:
            return run_pipeline(args, input, output, job, client)
    progress = not args.no_progress and sys.stdout.isatty()
    before = set(client.scheduler_info()["workers"])
    start = time.perf_counter()
    write_atomic(job.result, output, client, overwrite=args.overwrite, progress=progress)
    seconds = time.perf_counter() - start
    lost = len(before - set(client.scheduler_info()["workers"]))
    read, written = job.bytes_read, job.bytes_written
    print(
        f"daskgrad: {input} -> {output}: {len(job.result.data_vars)} arrays; read "
        f"{_fmt_bytes(read)}, wrote {_fmt_bytes(written)} in {seconds:.1f} s "
        f"({_fmt_bytes((read + written) / max(seconds, 1e-9))}/s); {lost} workers lost",
        flush=True,
    )


def _check_output(input: Path, output: Path, overwrite: bool) -> None:
    if output.resolve() == input.resolve():
        raise UsageError(f"output {output} is the input; choose another path")
    if (output.exists() or output.is_symlink()) and not overwrite:
        raise UsageError(f"output {output} exists; pass --overwrite to replace it")
    if not output.parent.is_dir():
        raise UsageError(f"output directory {output.parent} does not exist")


def cmd_run(args: argparse.Namespace) -> None:
    """``daskgrad run``: validate everything first, then compute on the cluster."""
    input, output = Path(args.input), Path(args.output)
    chunks = _key_values(args.chunks, "--chunks", int)
    periodic = _key_values(args.periodic, "--periodic", float, optional=True)
    _check_output(input, output, args.overwrite)
    ds = open_input(input, chunks or None)
    for d in chunks:
        if d not in ds.dims:
            raise UsageError(f"argument --chunks: unknown dim {d!r}")
    with contextlib.closing(ds):
        job = prepare(ds, args.dim, args.var, args.edge_order, periodic)
        run_pipeline(args, input, output, job)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``daskgrad`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        check_cluster_args(args)
        if args.command == "run":
            cmd_run(args)
        else:
            from .demo import cmd_demo

            cmd_demo(args)
        return 0
    except UsageError as e:
        if debug:
            traceback.print_exc()
        print(f"daskgrad: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("daskgrad: interrupted; no output written", file=sys.stderr, flush=True)
        return 130
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except Exception as e:
        if debug:
            traceback.print_exc()
        print(f"daskgrad: error: computation failed: {_first_line(e)}", file=sys.stderr)
        return 1
