"""Command line: ``daskgrad run`` and ``daskgrad demo`` on a local or an existing dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._errors import UsageError, first_line

EXAMPLES = """\
examples:
  daskgrad run era5.zarr grad.zarr --dim latitude --dim longitude --periodic longitude=360
  daskgrad run ocean.nc grad.zarr --dim x --var temp --edge-order 2 --chunks depth=1
  daskgrad run big.zarr grad.zarr --dim x --workers 2 --threads-per-worker 1 --memory-limit 2GiB
  daskgrad run in.zarr out.zarr --dim time --datetime-unit h --scheduler tcp://10.0.0.5:8786
  daskgrad run in.zarr out.zarr --dim y --scheduler-file ~/scheduler.json --overwrite
  daskgrad demo --size 64MiB
"""
TIME_UNITS = ("W", "D", "h", "m", "s", "ms", "us", "ns")


def say(line: str) -> None:
    print(f"daskgrad: {line}", flush=True)


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


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            n = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not 0 < n < 1e9:  # inf, nan and 1e30 seconds or workers are typos, not wishes
            raise argparse.ArgumentTypeError(f"must be positive and finite; got {text}")
        return n

    return convert


def build_parser() -> argparse.ArgumentParser:
    """The ``daskgrad`` argument parser with its ``run`` and ``demo`` subcommands."""
    from . import __version__
    from ._cluster import DEFAULT_CONNECT_TIMEOUT

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
    cluster.add_argument(
        "--connect-timeout",
        type=_positive(float),
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up on a scheduler that does not answer (default %(default)g)",
    )
    cluster.add_argument(
        "--workers", type=_positive(int), metavar="N", help="local workers (default: one per core)"
    )
    cluster.add_argument(
        "--threads-per-worker", type=_positive(int), metavar="T", help="threads per local worker"
    )
    cluster.add_argument(
        "--memory-limit",
        type=_size,
        metavar="SIZE",
        help="memory limit per local worker, e.g. 2GiB (default: the machine's memory split "
        "among the workers)",
    )

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
    run.add_argument("input", metavar="INPUT", help="zarr store or netCDF file (only read)")
    run.add_argument("output", metavar="OUTPUT", help="zarr store to create")
    run.add_argument(
        "--dim", action="append", required=True, help="dim to differentiate along (repeatable)"
    )
    run.add_argument(
        "--var",
        action="append",
        metavar="NAME",
        help="variable, repeatable (default: every numeric one)",
    )
    run.add_argument(
        "--edge-order", type=int, choices=(1, 2), default=1, help="default %(default)s"
    )
    run.add_argument(
        "--periodic",
        action="append",
        default=[],
        metavar="DIM[=PERIOD]",
        help="wrap this dim around (repeatable); PERIOD is needed unless its coordinate is uniform",
    )
    run.add_argument(
        "--chunks",
        action="append",
        default=[],
        metavar="DIM=N|auto",
        help="input chunk size along DIM (repeatable); 'auto' is dask's choice",
    )
    run.add_argument(
        "--datetime-unit",
        choices=TIME_UNITS,
        default="s",
        help="time unit of datetime coordinates' spacing (default %(default)s)",
    )
    run.add_argument(
        "--strict", action="store_true", help="refuse input with chunks absent from its store"
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing zarr store OUTPUT once the new one is complete",
    )
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


def _key_values(
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


def _chunk_size(text: str) -> int | str:
    if text == "auto":
        return "auto"
    n = int(text)
    if not 1 <= n < 2**62:
        raise ValueError(text)
    return n


def check_cluster_args(args: argparse.Namespace) -> None:
    """Refuse mixing a scheduler to connect to with options for a local cluster."""
    if args.scheduler and args.scheduler_file:
        raise UsageError("argument --scheduler-file: not allowed with --scheduler")
    if args.scheduler_file and not Path(args.scheduler_file).is_file():
        what = "is not a file" if Path(args.scheduler_file).exists() else "does not exist"
        raise UsageError(f"argument --scheduler-file: {args.scheduler_file} {what}")
    if args.scheduler or args.scheduler_file:
        local = [o for o in ("workers", "threads_per_worker", "memory_limit") if getattr(args, o)]
        if local:
            flag = "--" + local[0].replace("_", "-")
            raise UsageError(f"argument {flag}: not allowed with --scheduler/--scheduler-file")


@contextlib.contextmanager
def connect(args: argparse.Namespace, chunk_bytes: int = 0, k: int = 1) -> Iterator[Any]:
    """A distributed Client on the cluster the options ask for; for a local cluster, first
    check that its workers' memory can hold a task on chunks of ``chunk_bytes`` with ``k``
    derivatives."""
    from ._cluster import check_memory_limit, connect, local_cluster_shape

    check_cluster_args(args)
    local = not (args.scheduler or args.scheduler_file)
    if local:
        _, threads, memory = local_cluster_shape(
            args.workers, args.threads_per_worker, args.memory_limit
        )
        check_memory_limit(memory, chunk_bytes, k, threads)
    with connect(
        scheduler=args.scheduler,
        scheduler_file=args.scheduler_file,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        connect_timeout=args.connect_timeout,
        say=say,
        quiet=not args.debug,
    ) as client:
        yield client


class State:
    """What a run has done so far, so an interrupt's message says what is true."""

    def __init__(self) -> None:
        self.output: Path | None = None
        self.committed = False


def run_job(args, job, target, client, state: State, label: str) -> None:
    """Write ``job`` to ``target`` on ``client`` and print the summary line."""
    from dask.utils import format_bytes

    from ._cluster import WorkerWatch
    from ._writer import write

    progress = not args.no_progress and sys.stdout.isatty()
    before = set(client.scheduler_info()["workers"])
    start = time.perf_counter()
    state.output = target.output

    def committed() -> None:
        state.committed = True

    watch = WorkerWatch(client)
    write(job.result, target, client, progress=progress, watch=watch, on_commit=committed)
    seconds = time.perf_counter() - start
    lost = len(before - set(client.scheduler_info()["workers"]))
    read, written = job.bytes_read, job.bytes_written
    rate = format_bytes(int((read + written) / max(seconds, 1e-9)))
    absent = f"; {_count(job.absent, 'input chunk')} absent (read as fill value)"
    say(
        f"{label}: {_count(len(job.result.data_vars), 'array')}; read {format_bytes(read)}, "
        f"wrote {format_bytes(written)} in {seconds:.1f} s ({rate}/s); "
        f"{_count(lost, 'worker')} lost" + (absent if job.absent else "")
    )


def _count(n: int, noun: str) -> str:
    """'1 array', '2 arrays', '0 workers'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def cmd_run(args: argparse.Namespace, state: State) -> None:
    """``daskgrad run``: validate everything first, then compute on the cluster."""
    from ._pipeline import check_input, open_input, prepare
    from ._target import Target, check_output

    input, output = Path(args.input), Path(args.output)
    chunks = _key_values(args.chunks, "--chunks", _chunk_size)
    periodic = _key_values(args.periodic, "--periodic", float, optional=True)
    check_output(output, args.overwrite, [input])
    ds = open_input(input, chunks or None, say=say)
    with contextlib.closing(ds):
        job = prepare(ds, args.dim, args.var, args.edge_order, periodic, args.datetime_unit)
        job.absent = check_input(input, job, args.strict, say)
        # the temporary is made now: an unwritable OUTPUT is found before any cluster starts
        with (
            Target(output, overwrite=args.overwrite, inputs=[input], say=say) as target,
            connect(args, job.chunk_bytes, job.k) as client,
        ):
            run_job(args, job, target, client, state, f"{input} -> {output}")


def cmd_demo(args: argparse.Namespace, state: State) -> int:
    """``daskgrad demo``: write the synthetic input, run the ``run`` pipeline on it, check the
    error against what second-order differences should give; 1 if it is larger."""
    import tempfile

    from . import demo
    from ._pipeline import open_input, prepare
    from ._target import Target, is_zarr_store

    if args.size < 2**20:
        raise UsageError(
            f"argument --size: at least 1MiB (a smaller grid resolves its waves too coarsely for "
            f"an error bound that means anything); got {args.size} bytes"
        )
    if args.out is None:
        out = Path(tempfile.mkdtemp(prefix="daskgrad-demo-"))
    else:
        out = Path(args.out)
        if is_zarr_store(out):
            raise UsageError(f"argument --out: {out} is a zarr store; name a directory instead")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create --out directory {out}: {e.strerror}") from e
    input, output = out / "input.zarr", out / "gradient.zarr"
    for path in (input, output):
        if path.exists() and not demo.is_demo_store(path):
            raise UsageError(f"{path} exists and is not a daskgrad demo store; pick another --out")
    ds, exact = demo.demo_dataset(args.size)
    shape = "x".join(map(str, ds.temperature.shape))
    chunk_bytes = 8 * math.prod(max(c) for c in ds.temperature.chunks)
    with connect(args, chunk_bytes, 2) as client:
        say(f"demo: writing {shape} float64 input to {input}")
        demo.write_input(ds, input, client)
        job = prepare(open_input(input), ["x", "y"], edge_order=2)
        say(f"demo: daskgrad run {input} {output} --dim x --dim y --edge-order 2 --overwrite")
        with Target(output, overwrite=True, inputs=[input], say=say) as target:
            run_job(args, job, target, client, state, f"{input} -> {output}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dask's PerformanceWarning on a large demo
            errors = demo.max_errors(open_input(output), exact, client)
    bound = demo.error_bound(ds)
    ok = demo.verdict(errors, bound)
    say(f"demo: {'PASS' if ok else 'FAIL'}; files in {out}")
    return 0 if ok else 1


def _quiet_distributed() -> None:
    """distributed's own log lines ("Failed to reconnect to scheduler …") would come before, and
    say less than, the run's one line. Its logging config sets levels when it is imported."""
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt for SIGINT."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``daskgrad`` console script; returns the exit status."""
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    state = State()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    if not debug:
        _quiet_distributed()
    try:
        args = build_parser().parse_args(argv)
        check_cluster_args(args)
        if args.command == "run":
            cmd_run(args, state)
        else:
            return cmd_demo(args, state)
        return 0
    except UsageError as e:
        if debug:
            traceback.print_exc()
        print(f"daskgrad: error: {e}", file=sys.stderr, flush=True)
        return 2
    except (KeyboardInterrupt, Terminated) as e:
        if debug:
            traceback.print_exc()
        what = "terminated" if isinstance(e, Terminated) else "interrupted"
        if state.committed:
            told = f"{what} after {state.output} was written; it is complete"
        else:
            told = f"{what}; no output written"
        print(f"daskgrad: {told}", file=sys.stderr, flush=True)
        return 143 if isinstance(e, Terminated) else 130
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except Exception as e:
        if debug:
            traceback.print_exc()
        from ._writer import ComputeFailed

        detail = str(e) if isinstance(e, ComputeFailed) else first_line(e)
        print(f"daskgrad: error: computation failed: {detail}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        if as_program:
            # the run is over and has said so: a late Ctrl-C or SIGTERM during the interpreter's
            # teardown must not turn its exit status into 130/143 without a word
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
