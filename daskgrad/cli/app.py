"""Command line: ``daskgrad run`` and ``daskgrad demo`` on a local or an existing dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import OptionError, UsageError, Worded, first_line
from ..signals import Terminated, checkpoint, raising, status_of
from .parser import build_parser, chunk_size, key_values, locations


def say(line: str) -> None:
    from ..io.locations import redact

    print(redact(f"daskgrad: {line}"), flush=True)


def _tell(line: str) -> None:
    """One line on stderr, credentials removed."""
    from ..io.locations import redact

    print(redact(line), file=sys.stderr, flush=True)


def _traceback() -> None:
    from ..io.locations import redact

    print(redact(traceback.format_exc()), file=sys.stderr, end="", flush=True)


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
def connect(
    args: argparse.Namespace, chunk_bytes: int = 0, k: int = 1, counts: dict | None = None
) -> Iterator[Any]:
    """A distributed Client on the cluster the options ask for; for a local cluster, first
    check that its workers' memory can hold a task on chunks of ``chunk_bytes`` with ``k``
    derivatives (and the ``counts`` of ``task_bytes``)."""
    from ..cluster.connect import connect
    from ..cluster.memory import check_memory_limit, local_cluster_shape

    check_cluster_args(args)
    if not args.debug:
        _quiet_distributed()  # imported here: a run on this process's threads never needs it
    local = not (args.scheduler or args.scheduler_file)
    if local:
        _, threads, memory = local_cluster_shape(
            args.workers, args.threads_per_worker, args.memory_limit
        )
        check_memory_limit(memory, chunk_bytes, k, threads, **(counts or {}))
    starting = connect(
        scheduler=args.scheduler,
        scheduler_file=args.scheduler_file,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        connect_timeout=args.connect_timeout,
        say=say,
        quiet=not args.debug,
    )
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(starting)
        except RuntimeError as e:
            # distributed's "Nanny failed to start." when a worker process dies as it starts
            who = str(e).removesuffix(" failed to start.")
            if not local or who == str(e):
                raise
            what = "a worker process died" if who == "Nanny" else f"its {who.lower()} failed"
            raise ClusterNotStarted(
                f"the local cluster could not start: {what} while starting ({first_line(e)}); "
                "nothing was computed (--debug shows the workers' logs)"
            ) from e
        yield client


class ClusterNotStarted(Exception):
    """The local cluster could not start (a worker process died while starting, say)."""


class State:
    """What a run has done so far, so an interrupt's message says what is true."""

    def __init__(self) -> None:
        self.output: Path | str | None = None
        self.replacing = False  # OUTPUT existed when its target was made (--overwrite)
        self.committing = False  # the swap began: the old OUTPUT may be touched from here on
        self.committed = False
        self.stopped = False  # a signal's line said
        self.target: Any = None  # OUTPUT's target: what it could not remove (``leftover``)

    def note(self, target: Any) -> None:
        """``target`` (an io Target or RemoteTarget, just made: nothing has touched OUTPUT) is
        the run's: its OUTPUT, and whether an old OUTPUT is there that its commit replaces."""
        self.output, self.target = target.output, target
        if isinstance(target.output, Path):
            self.replacing = os.path.lexists(target.output)
        else:  # an object store's: replacing when its check found an old store
            self.replacing = bool(getattr(target, "replace", False))


def run_job(
    args, job, target, client, state: State, label: str, zarr_format: int | None = None
) -> None:
    """Write ``job`` to ``target`` on ``client`` in ``zarr_format`` (None: zarr's default) and
    print the summary line."""
    from dask.utils import format_bytes

    from ..io.inspect import ReadFailed
    from ..io.writer import ComputeFailed, write
    from .batching import pieces
    from .wording import say_warnings

    progress = not args.no_progress and sys.stdout.isatty()
    before = set(client.scheduler_info()["workers"]) if client else set()
    start = time.perf_counter()
    if state.output != target.output:
        state.note(target)

    def committed() -> None:
        state.committed = True

    watch = _Watch(client) if client else None
    with warnings.catch_warnings(record=True) as caught, _checked_tasks(client is None):
        warnings.simplefilter("always")
        # distributed's advice to load data inside tasks: daskgrad's graphs already do
        warnings.filterwarnings("ignore", message="Sending large graph")
        try:
            guarded = _Guarded(target, state)
            write(
                job.result, guarded, client,
                progress=progress, watch=watch, on_commit=committed, zarr_format=zarr_format,
                pieces=pieces,
            )  # fmt: skip
        except ComputeFailed as e:
            stored = isinstance(e.__cause__, ReadFailed)  # names the stored chunk itself
            if job.batch and ", chunk (" in str(e) and not stored:
                raise ComputeFailed(f"{e} ({job.batch})") from e
            raise
    seconds = time.perf_counter() - start
    say_warnings(caught, say)
    lost = len(before - set(client.scheduler_info()["workers"])) if client else 0
    read, written = job.bytes_read, job.bytes_written
    rate = format_bytes(int((read + written) / max(seconds, 1e-9)))
    absent = f"; {_count(job.absent, 'input chunk')} absent (read as fill value)"
    say(
        f"{label}: {_count(len(job.result.data_vars), 'array')} (accuracy {job.accuracy}, "
        f"nan-policy {job.nan_policy}); read {format_bytes(read)}, "
        f"wrote {format_bytes(written)} in {seconds:.1f} s ({rate}/s); "
        f"{_count(lost, 'worker')} lost"
        + (absent if job.absent else "")
        + (f"; {job.grid}" if getattr(job, "grid", "") else "")
    )


class _Guarded:
    """``target`` whose commit acts first on a signal received while computing: a signal held
    until the computation ended must not let it replace OUTPUT."""

    def __init__(self, target: Any, state: State) -> None:
        self._target, self._state = target, state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def commit(self, on_commit: Any = None) -> None:
        checkpoint()
        # from here the old OUTPUT is replaced (signals held until the swap is done or failed)
        self._state.committing = True
        self._target.commit(on_commit)


def _Watch(client: Any) -> Any:
    """distributed's WorkerWatch, whose check (called by the writer's wait loop every 50 ms)
    acts on a signal first: there the computation is cancelled and the temporary removed."""
    from ..cluster.connect import WorkerWatch

    class Watch(WorkerWatch):
        def check(self) -> None:
            checkpoint()
            super().check()

    return Watch(client)


@contextlib.contextmanager
def _checked_tasks(local: bool) -> Iterator[None]:
    """For a computation on this process's threads (no cluster): act on a signal as each task
    starts or ends (dask's local scheduler calls these in the main thread)."""
    if not local:
        yield
        return
    from dask.callbacks import Callback

    with Callback(pretask=lambda *a: checkpoint(), posttask=lambda *a: checkpoint()):
        yield


def _count(n: int, noun: str) -> str:
    """'1 array', '2 arrays', '0 workers'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def cmd_run(args: argparse.Namespace, state: State) -> None:
    """``daskgrad run``: validate everything first, then compute on the cluster."""
    from ..io.inspect import zarr_format_of
    from ..io.locations import access, quiet_asyncio
    from ..io.remote import check_remote_output, remove_stale_remote
    from ..io.target import check_output
    from ..io.writer import ComputeFailed, make_target
    from .checks import check_input
    from .opening import open_input

    input, output = locations(args)
    chunks = key_values(args.chunks, "--chunks", chunk_size)
    periodic = key_values(args.periodic, "--periodic", float, optional=True)
    in_process = "memory" in (input.protocol, output.protocol)
    if in_process and (args.scheduler or args.scheduler_file):
        raise UsageError(
            "a memory:// store lives in this process; a cluster's workers cannot "
            "see it (drop --scheduler/--scheduler-file)"
        )
    request = _request(args)
    checkpoint()
    ds = open_input(input, chunks or None, say=say, group=args.group, **_netcdf_shape(args))
    with contextlib.closing(ds):
        say(_opened(input, ds))  # within a second of the start, whatever the input's size
        checkpoint()
        job = _build(args, ds, periodic, request)
        checkpoint()
        # OUTPUT after the request and the input: an existing one hides no other mistake
        if output.local is not None:
            check_output(output.local, args.overwrite, [input])  # input.disk: chained URLs too
        else:
            with raising(), access(output, "output"):  # a store that stopped answering
                remove_stale_remote(output, say)  # a dead run's chunks would read as "exists"
                check_remote_output(output, args.overwrite, [input])
        job.absent = check_input(input, job, args.strict, say, args.group)
        checkpoint()
        # the temporary is made now: an unwritable OUTPUT is found before any cluster starts
        with raising() if output.local is None else contextlib.nullcontext():
            target = make_target(output, args.overwrite, [input], say)
        state.note(target)
        if in_process:
            say("memory:// stores live in this process: computing on its threads, no cluster")
        elif on_threads := _small(args, job):
            say(on_threads)
        cluster = (
            contextlib.nullcontext()
            if in_process or on_threads
            else connect(args, job.chunk_bytes, job.k, job.counts)
        )
        try:
            with target, cluster as client:
                checkpoint()  # one held while the cluster started
                local = not (args.scheduler or args.scheduler_file)
                if client is not None and local and not args.debug:
                    client.run(quiet_asyncio)
                if not chunks and _stored_chunks(input):
                    job = _batched(args, input, job, client, periodic, request)
                checkpoint()
                fmt = getattr(args, "zarr_format", None) or zarr_format_of(input)
                run_job(args, job, target, client, state, f"{input} -> {output}", fmt)
        except Exception as e:
            detail = str(e) if isinstance(e, ComputeFailed) else first_line(e)
            stalled = _stalled(e, detail, input, output, args.store_timeout)
            leftover = getattr(target, "leftover", None)
            if leftover:
                raise ComputeFailed(
                    f"{stalled or detail}; could not delete the chunks written under "
                    f"{leftover} (no zarr metadata: not readable as a store)"
                ) from e
            if stalled:
                raise ComputeFailed(stalled) from e
            raise


def _opened(input: Any, ds: Any) -> str:
    """'INPUT: 2 variables, 1.00 MiB in 4 chunks': what was opened (its data variables, their
    bytes and chunks), said before anything is built or started."""
    from dask.utils import format_bytes

    variables = list(ds.data_vars.values())
    nbytes = sum(int(v.nbytes) for v in variables)
    chunks = sum(math.prod(map(len, v.chunks)) if v.chunks else 1 for v in variables)
    return (
        f"{input}: {_count(len(variables), 'variable')}, {format_bytes(nbytes)} in "
        f"{_count(chunks, 'chunk')}"
    )


def _cluster_asked(args: argparse.Namespace) -> bool:
    """Whether an option names the cluster: a scheduler, or the local cluster's shape."""
    return any(
        getattr(args, o) is not None
        for o in ("scheduler", "scheduler_file", "workers", "threads_per_worker", "memory_limit")
    )


def _small(args: argparse.Namespace, job: Any) -> str:
    """The line to say when ``job`` computes on this process's threads without a cluster (no
    cluster option given, a task per thread fits the memory rule: see ``cluster.inprocess``);
    '' when it needs a cluster."""
    from dask.system import CPU_COUNT
    from dask.utils import format_bytes

    from ..cluster.inprocess import threads_suffice

    if _cluster_asked(args):
        return ""
    if not threads_suffice(job.chunk_bytes, job.k, job.counts, threads=CPU_COUNT):
        return ""
    return (
        f"{format_bytes(job.bytes_read + job.bytes_written)} to read and write: computing on "
        f"this process's {_count(CPU_COUNT, 'thread')}, no cluster (one starts with "
        f"--workers/--threads-per-worker/--memory-limit)"
    )


def _netcdf_shape(args: argparse.Namespace) -> dict[str, Any]:
    """``threads`` (all the local cluster's; None: this machine's cores) and ``max_chunk`` (the
    largest float64 chunk its workers' memory allows) for a netCDF INPUT's chunks."""
    from ..cluster.memory import largest_chunk_allowed, local_cluster_shape

    if args.scheduler or args.scheduler_file:
        return {}
    workers, threads, memory = local_cluster_shape(
        args.workers, args.threads_per_worker, args.memory_limit
    )
    k = (2 if args.geospatial else max(len(args.dim), 1)) + int(args.vertical is not None)
    return {"threads": workers * threads, "max_chunk": largest_chunk_allowed(memory, k, threads)}


def _stalled(e: Exception, detail: str, input: Any, output: Any, timeout: float) -> str | None:
    """The line for a run whose object store stopped answering (a request timed out),
    naming the store: INPUT if the failed task read it, else OUTPUT."""
    from ..io.locations import is_timeout
    from ..io.remote import CommitFailed, MarkerLeft

    if isinstance(e.__cause__, MarkerLeft) and is_timeout(e) and output.local is None:
        return (
            f"output {output}: the object store stopped answering (no reply within "
            f"--store-timeout {timeout:g} s) after OUTPUT was written: {e.__cause__.complete}"
        )
    if not is_timeout(e) or isinstance(e.__cause__, CommitFailed):
        return None
    task, sep, _ = detail.partition(": ")
    known = sep and task.startswith(("reading", "writing", "computing"))
    reading = task.startswith("reading") or (
        not known and input.local is None and f"/{input.path}/" in detail
    )
    loc, role = (input, "input") if reading else (output, "output")
    if loc.local is not None:  # a local file's timeout is no store's silence
        return None
    where = f" ({task})" if known else ""
    return (
        f"{role} {loc}: the object store stopped answering (no reply within --store-timeout "
        f"{timeout:g} s){where}"
    )


def _build(args: argparse.Namespace, ds: Any, periodic: dict, request: Any, quiet=False) -> Any:
    """The checked, lazy job; the API's warnings (a per-degree result, say) said in one line
    each, in the command line's words, unless ``quiet`` (said already)."""
    from .derived import check_vertical
    from .pipeline import prepare
    from .wording import say_warnings

    check_vertical(ds, request)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = prepare(
            ds, args.dim, args.var, args.edge_order, periodic, args.datetime_unit,
            accuracy=args.accuracy, nan_policy=args.nan_policy, request=request,
        )  # fmt: skip
    if not quiet:
        say_warnings(caught, say)
    return job


def _stored_chunks(input: Any) -> bool:
    """Whether INPUT is opened in its stored chunks (a zarr store; netCDF gets dask's)."""
    return input.local is None or input.local.is_dir() or input.local.suffix == ".zarr"


def _batched(args, input, job, client, periodic, request):
    """``job`` reading several small stored chunks per task (see ``batch_chunks``), if the
    workers' memory allows (``client`` None: this process's threads); the output keeps the
    stored chunks."""
    from ..cluster.memory import machine_memory, task_room
    from .batching import batch_chunks, keep_stored_chunks
    from .opening import open_input

    if client is None:  # this process's threads: the machine's memory is their limit
        from dask.system import CPU_COUNT

        room = task_room(machine_memory(), CPU_COUNT, spill=True)
    else:
        workers = list(client.scheduler_info()["workers"].values())
        if not workers:
            return job
        limits = [w.get("memory_limit") or 0 for w in workers]
        threads = max(w["nthreads"] for w in workers)
        room = task_room(min(limits) if all(limits) else None, threads, spill=True)
    batch = batch_chunks(job, room)
    if not batch:
        return job
    batched = _build(
        args, open_input(input, batch, group=args.group), periodic, request, quiet=True
    )
    keep_stored_chunks(batched, job)
    batched.absent = job.absent
    ((dim, n),) = batch.items()
    var = next(v for v in job.source.data_vars.values() if dim in v.dims)
    stored = var.chunks[var.dims.index(dim)][0]
    points = f"{n} of its {var.sizes[dim]} points"
    per_task = f"{-(-n // stored)} stored chunks along {dim!r} ({points})"
    say(f"each task reads {per_task}: fewer, larger tasks; the output keeps the stored chunks")
    batched.batch = (
        f"chunk indices count tasks of {per_task}; --chunks {dim}={stored} gives the stored chunk's"
    )
    return batched


def _request(args: argparse.Namespace):
    """The geospatial gradients and quantities asked for, checked against --dim."""
    from .derived import Request
    from .quantities import asked

    if args.geospatial and args.dim:
        raise UsageError(
            "--dim does not go with --geospatial: its dims are those of the latitude and "
            "longitude coordinates"
        )
    if args.geospatial and args.periodic:
        raise UsageError(
            "--periodic does not go with --geospatial: a longitude that covers the globe wraps "
            "by itself (--no-periodic: not even then)"
        )
    given = [
        f
        for f in ("earth", "latitude", "longitude", "crs", "winds")
        if getattr(args, f, None) is not None
    ]
    if given and not args.geospatial:
        raise UsageError(f"--{given[0]} applies to --geospatial only")
    if not args.geospatial and not args.dim:
        raise UsageError("the following arguments are required: --dim (or --geospatial)")
    return Request(
        geospatial=args.geospatial,
        earth=args.earth,
        crs=getattr(args, "crs", None),
        winds=getattr(args, "winds", None),
        latitude=args.latitude,
        longitude=args.longitude,
        quantities=asked(args),
        vertical=args.vertical,
        periodic=False if args.no_periodic else None,
    )


def cmd_demo(args: argparse.Namespace, state: State) -> int:
    """``daskgrad demo``: write the synthetic input, run the ``run`` pipeline on it, check the
    error against what second-order differences should give; 1 if it is larger."""
    import shutil
    import tempfile

    from ..io.target import is_zarr_store
    from . import demo

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
    try:
        ok = _demo_in(args, state, out, input, output)
    finally:
        if args.out is None:  # a temporary directory of ours: the demo leaves nothing behind
            shutil.rmtree(out, ignore_errors=True)
    kept = (
        f"files in {out}"
        if args.out is not None
        else f"files removed from {out} (--out DIR keeps them)"
    )
    say(f"demo: {'PASS' if ok else 'FAIL'}; {kept}")
    return 0 if ok else 1


def _demo_in(args: argparse.Namespace, state: State, out: Path, input: Path, output: Path) -> bool:
    """The demo's work in ``out``: its verdict."""
    from ..io.target import Target
    from . import demo
    from .opening import open_input
    from .pipeline import prepare

    ds, exact = demo.demo_dataset(args.size)
    shape = "x".join(map(str, ds.temperature.shape))
    chunk_bytes = 8 * math.prod(max(c) for c in ds.temperature.chunks)
    checkpoint()
    with connect(args, chunk_bytes, 2) as client:
        checkpoint()
        say(f"demo: writing {shape} float64 input to {input}")
        demo.write_input(ds, input, client)
        checkpoint()
        job = prepare(open_input(input), ["x", "y"], edge_order=2)
        say(f"demo: daskgrad run {input} {output} --dim x --dim y --edge-order 2 --overwrite")
        with Target(output, overwrite=True, inputs=[input], say=say) as target:
            run_job(args, job, target, client, state, f"{input} -> {output}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dask's PerformanceWarning on a large demo
            errors = demo.max_errors(open_input(output), exact, client)
    return demo.verdict(errors, demo.error_bound(ds))


def _quiet_distributed() -> None:
    """distributed's own log lines ("Failed to reconnect to scheduler …") would come before, and
    say less than, the run's one line. Its logging config sets levels when it is imported."""
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _stopped(sig: int, state: State) -> int:
    """Say that signal ``sig`` stopped the run; its exit status (128 + its number: 130 for
    SIGINT, 143 for SIGTERM, 129 for SIGHUP)."""
    state.stopped = True
    names = {int(signal.SIGINT): "interrupted", int(signal.SIGTERM): "terminated"}
    what = names.get(int(sig), f"terminated ({signal.Signals(sig).name})")
    leftover = getattr(state.target, "leftover", None)
    if state.committed:
        told = f"{what} after {state.output} was written; it is complete"
    elif leftover and getattr(state.target, "replace", False):
        told = (
            f"{what}; no output written: {state.output} is as it was, but its temporary "
            f"{leftover} could not be removed (the object store does not answer); the next run "
            "to it from this host removes it"
        )
    elif leftover:
        told = (
            f"{what}; no output written, but the chunks written under {leftover} (no zarr "
            "metadata: not readable as a store) could not be removed (the object store does "
            "not answer); the next run to it from this host removes them"
        )
    elif state.replacing and not state.committing:
        # the swap is the only step that touches an old OUTPUT, and it never began
        told = f"{what}; no output written: the old {state.output} is as it was"
    else:
        told = f"{what}; no output written"
    _tell(f"daskgrad: {told}")
    return status_of(sig)


def _main(argv: Sequence[str] | None, state: State) -> int:
    from .. import signals as _signals

    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    # SIGINT, SIGTERM and SIGHUP only noted by the handler (raising there loses them, see
    # _signals), and acted on at the checkpoints: before any work, between the steps, in the
    # writer's wait loop, before the swap, and once the run is over
    previous = _signals.install()
    try:
        checkpoint()  # held since the first import (daskgrad/__init__ installs the handler)
        if not debug:
            # aiohttp's "Unclosed client session" of an object store's filesystem at exit
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        args = build_parser().parse_args(argv)
        check_cluster_args(args)
        checkpoint()
        if args.command == "run":
            cmd_run(args, state)
        else:
            status = cmd_demo(args, state)
            checkpoint()
            return status
        checkpoint()
        return 0
    except (UsageError, OptionError) as e:  # an option the engine refused: bad usage too
        if debug:
            _traceback()
        if (sig := _signals.held()) is not None:  # one to the process group stopped the cluster
            return _stopped(sig, state)
        from .wording import said

        _tell(f"daskgrad: error: {said(e) if isinstance(e, Worded) else e}")
        return 2
    except (KeyboardInterrupt, Terminated) as e:
        if debug:
            _traceback()
        # the first signal received decides: a SIGTERM to the process group can make the
        # cluster's processes end in a way that reaches this process as a KeyboardInterrupt
        sig = _signals.held() or (e.signum if isinstance(e, Terminated) else signal.SIGINT)
        return _stopped(sig, state)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except Exception as e:
        if debug:
            _traceback()
        if (sig := _signals.held()) is not None:
            # SIGINT/SIGTERM to the process group reaches the cluster's processes as well: the
            # computation fails (a nanny or a connection gone) before the held signal is acted on
            return _stopped(sig, state)
        from ..io.writer import ComputeFailed

        if isinstance(e, ClusterNotStarted):  # no computation began: not one that failed
            _tell(f"daskgrad: error: {e}")
            return 1
        detail = str(e) if isinstance(e, ComputeFailed) else first_line(e)
        _tell(f"daskgrad: error: computation failed: {detail}")
        return 1
    finally:
        if not as_program:
            for s, handler in previous.items():
                signal.signal(s, handler)
            _signals.clear()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``daskgrad`` console script; returns the exit status."""
    from .. import signals as _signals

    state = State()
    status = _main(argv, state)
    if argv is None:
        # the program: the interpreter's teardown (threads joined, exit hooks) can take seconds;
        # a Ctrl-C or SIGTERM until the process exits is still held and said (the first decides)
        def report(sig: int) -> int:
            return status if state.stopped else _stopped(sig, state)

        _signals.hold_to_the_end(status, report)
    return status
