"""Command line: ``daskgrad run`` and ``daskgrad demo`` on a local or an existing dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
import traceback
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = """\
examples:
  daskgrad run era5.zarr grad.zarr --dim latitude --dim longitude --periodic longitude=360
  daskgrad run ocean.nc grad.zarr --dim x --var temp --edge-order 2 --chunks depth=1
  daskgrad run big.zarr grad.zarr --dim x --workers 2 --threads-per-worker 1 --memory-limit 2GiB
  daskgrad run in.zarr out.zarr --dim time --scheduler tcp://10.0.0.5:8786 --overwrite
  daskgrad run in.zarr out.zarr --dim y --scheduler-file ~/scheduler.json
  daskgrad demo --size 64MiB --out /tmp/daskgrad-demo
"""


class UsageError(Exception):
    """Bad usage or bad input: reported on one line with exit status 2."""


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


def open_input(path: Path, chunks: Any = None) -> Any:
    """Open a zarr store or netCDF file lazily; ``chunks`` None keeps the stored chunking."""
    import xarray as xr

    if not path.exists():
        raise UsageError(f"input {path} does not exist")
    try:
        if path.is_dir() or path.suffix == ".zarr":
            with warnings.catch_warnings():
                # a store without consolidated metadata is fine: xarray falls back by itself
                warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
                return xr.open_zarr(path, chunks={} if chunks is None else chunks)
        # netCDF files are often contiguous: never let one chunk be the whole variable
        return xr.open_dataset(path, chunks="auto" if chunks is None else chunks)
    except Exception as e:
        raise UsageError(f"cannot read input {path}: {_first_line(e)}") from e


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


@dataclass
class Job:
    """A validated, lazily built gradient: what to read and what to write."""

    source: Any  # the input variables, lazy
    result: Any  # the output Dataset, lazy

    @property
    def bytes_read(self) -> int:
        return int(sum(v.nbytes for v in self.source.data_vars.values()))

    @property
    def bytes_written(self) -> int:
        return int(sum(v.nbytes for v in self.result.data_vars.values()))


def _check_coordinate(ds: Any, dim: str) -> None:
    if dim not in ds.indexes:
        return
    index = ds.indexes[dim]
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise UsageError(f"coordinate {dim!r} repeats the value {dup}")
    if not (index.is_monotonic_increasing or index.is_monotonic_decreasing):
        raise UsageError(f"coordinate {dim!r} is not monotonic")


def prepare(
    ds: Any,
    dims: Sequence[str],
    variables: Sequence[str] | None = None,
    edge_order: int = 1,
    periodic: dict[str, float | None] | None = None,
) -> Job:
    """Check names and coordinates against ``ds`` and build the lazy gradient Dataset.

    Raises UsageError, naming the culprit, for anything wrong with the request or the input.
    """
    import daskgrad

    periodic = periodic or {}
    for d in [*dims, *periodic]:
        if d not in ds.dims:
            raise UsageError(f"unknown dim {d!r}; the input has dims {sorted(map(str, ds.dims))}")
    for d in periodic:
        if d not in dims:
            raise UsageError(f"periodic dim {d!r} is not one of the --dim dims {list(dims)}")
    if len(set(dims)) != len(dims):
        raise UsageError(f"--dim repeats a dim: {list(dims)}")
    if variables:
        for v in variables:
            if v not in ds.data_vars:
                raise UsageError(
                    f"unknown variable {v!r}; the input has {sorted(map(str, ds.data_vars))}"
                )
            if not set(ds[v].dims) & set(dims):
                raise UsageError(f"variable {v!r} has none of the dims {list(dims)}")
            if ds[v].dtype.kind not in "iufc":
                raise UsageError(f"variable {v!r} has non-numeric dtype {ds[v].dtype}")
    else:
        variables = [
            str(v)
            for v, da in ds.data_vars.items()
            if da.dtype.kind in "iufc" and set(da.dims) & set(dims)
        ]
        if not variables:
            raise UsageError(f"no numeric variable in the input has any of the dims {list(dims)}")
    for d in dims:
        n = ds.sizes[d]
        if d not in periodic and n < edge_order + 1:
            raise UsageError(
                f"dim {d!r} has {n} points; --edge-order {edge_order} needs at least "
                f"{edge_order + 1}"
            )
        _check_coordinate(ds, d)
    source = ds[variables]
    try:
        per = periodic or None
        result = daskgrad.gradient(source, dim=list(dims), edge_order=edge_order, periodic=per)
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise UsageError(_first_line(e).partition(": ")[2]) from e
    result.attrs = {**ds.attrs, **result.attrs}
    for name in result.variables:
        result[name].encoding = {}
    for name, var in result.data_vars.items():
        chunks = var.chunks or ()
        # zarr needs regular chunks: equal sizes, the last one possibly smaller
        if any(len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]) for c in chunks):
            result[name] = var.chunk({d: c[0] for d, c in zip(var.dims, chunks, strict=True)})
    return Job(source, result)


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


@contextlib.contextmanager
def warnings_silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "port 8787 is in use" and friends
        yield


def _fmt_bytes(n: float) -> str:
    from dask.utils import format_bytes

    return format_bytes(int(n))


def _executing(keys: set[str], dask_worker: Any = None) -> int:
    return sum(str(ts.key) in keys for ts in dask_worker.state.executing)


def _quiesce(client: Any, keys: set[str], timeout: float = 30.0) -> None:
    """Wait until no worker is still running one of ``keys``: a cancelled task that is already
    executing runs to its end and would write into the store after we removed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            busy = sum(client.run(_executing, keys, on_error="return").values(), 0)
        except Exception:
            return
        if not busy:
            return
        time.sleep(0.2)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _chunk_writes(graph: dict) -> list:
    """Keys of the tasks that store one chunk each (dask.array.store's ``store-map``), with
    aliases resolved: each alias would be one more task to schedule."""
    try:
        from dask._task_spec import Alias
    except ImportError:  # a dask without task-spec aliases
        Alias = ()  # noqa: N806

    keys = []
    for key in graph:
        if isinstance(key, tuple) and str(key[0]).startswith("store-map-"):
            while isinstance(graph.get(key), Alias):
                key = graph[key].target
            keys.append(key)
    return keys


def write_atomic(
    result: Any, output: Path, client: Any, *, overwrite: bool, progress: bool
) -> None:
    """Compute ``result`` into a temporary sibling of ``output`` and rename it into place.

    On any failure or interrupt the temporary is removed and ``output`` is left as it was.
    """
    from dask.utils import ensure_dict
    from distributed import wait

    tmp = output.with_name(f".{output.name}.daskgrad-{uuid.uuid4().hex[:8]}.tmp")
    futures: list[Any] = []
    keys: set[str] = set()
    try:
        with warnings_silenced():  # zarr v3 "consolidated metadata is not in the spec"
            # metadata and in-memory coordinates are written now, array chunks below
            delayed = result.to_zarr(tmp, mode="w-", compute=False)
        graph = ensure_dict(delayed.__dask_graph__())
        keys = {str(k) for k in graph}
        # Only the chunk writes are computed, each as its own target. xarray's closing task
        # (which closes a copy of the store on a worker) depends on all of them, and behind it
        # dask.order reads input chunks far ahead of the neighbours their kernels wait for:
        # about 140 chunks held per worker instead of 6 on the out-of-core benchmark, which
        # then spills to disk.
        writes = _chunk_writes(graph)
        futures = client.get(graph, writes, sync=False) if writes else []
        if progress and futures:
            from distributed import progress as progress_bar

            progress_bar(futures, multi=False, scheduler=client.scheduler.address)
        with client.as_current():
            wait(futures)  # unlike gather, leaves no orphaned task behind on Ctrl-C
        client.gather(futures)  # raises the first failure
        if output.exists() or output.is_symlink():
            if not overwrite:
                raise UsageError(f"output {output} exists; pass --overwrite to replace it")
            old = output.with_name(f".{output.name}.daskgrad-{uuid.uuid4().hex[:8]}.old")
            os.replace(output, old)
            os.replace(tmp, output)
            _remove(old)
        else:
            os.replace(tmp, output)
    except BaseException:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel(futures, force=True)
                _quiesce(client, keys)
        _remove(tmp)
        raise


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
