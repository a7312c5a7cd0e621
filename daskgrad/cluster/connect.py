"""The dask cluster a run computes on: an external scheduler, checked within a deadline, or an
embedded LocalCluster with a quiet, bounded shutdown; the memory-limit rule; lost workers."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import UsageError, first_line
from ..signals import pid_alive
from .memory import check_memory_limit, fmt_bytes, local_cluster_shape

__all__ = [
    "CLUSTER_CONFIG",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_NO_WORKERS_TIMEOUT",
    "WorkerWatch",
    "connect",
    "hold_bandwidth",
]

#: Seconds to wait for a scheduler to answer before giving up (``--connect-timeout``).
DEFAULT_CONNECT_TIMEOUT = 30.0
#: Seconds a run may go without any worker before it fails: long enough for a nanny to restart
#: a worker or a batch system to start one, short enough that a dead cluster is reported.
DEFAULT_NO_WORKERS_TIMEOUT = 60.0
#: Seconds a run may have only workers paused at their memory limit before it fails.
PAUSED_TIMEOUT = 120.0
#: dask settings of the embedded LocalCluster, its scheduler and workers (restarted ones too).
#: The scheduler runs a task on the worker where it estimates it starts soonest: its queue, plus
#: the bytes of its dependencies held elsewhere / this bandwidth. At distributed's 100 MB/s a
#: chunk's kernel went to the other worker 30-40 % of the time out of core (its chunk's read,
#: up to 25 MiB, fetched across, then spilled); at 1 MB/s every kernel runs where its chunk was
#: read and only ghost planes cross (benchmarks/bench_placement.py). Workers move their
#: estimate towards the speed of every transfer over 1 MB (one chunk of 8 MiB fetched across
#: took it to about 50 MB/s, and the scheduler's with it, after which kernels went across more
#: and more: 27-110 MB per 256 MiB gradient run at load 25), so :func:`hold_bandwidth` keeps it.
CLUSTER_CONFIG: dict[str, object] = {"distributed.scheduler.bandwidth": "1MB"}

#: Seconds a LocalCluster gets to close before its worker processes are killed.
SHUTDOWN_TIMEOUT = 2.0

# Run in every worker process of the embedded cluster as it starts (restarts included): a
# Ctrl-C in a terminal reaches the whole process group, and workers that take it print a
# KeyboardInterrupt traceback each and die under the nanny; we close them ourselves. Until the
# preload runs (the imports of a starting worker) SIGINT is blocked there
# (_spawned_without_sigint).
_IGNORE_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
# a worker's warnings (zarr's "consolidated metadata is not in the spec") would reach the
# user's terminal as raw multi-line messages; the run reports what matters in its own lines
_IGNORE_WARNINGS = "import warnings\nwarnings.simplefilter('ignore')\n"


def _read_scheduler_file(path: str) -> str:
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise UsageError(f"scheduler file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read scheduler file {path}: {first_line(e)}") from None
    if not text.strip():
        raise UsageError(f"scheduler file {path} is empty (is its scheduler still starting?)")
    try:
        address = json.loads(text).get("address")
    except (ValueError, AttributeError):
        raise UsageError(f"scheduler file {path} is not a dask scheduler file (JSON)") from None
    if not isinstance(address, str) or not address:
        raise UsageError(f"scheduler file {path} has no scheduler address")
    return address


def _check_listening(address: str, timeout: float) -> None:
    """Fail at once when nothing listens: distributed retries a refused connection until its
    timeout runs out."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
    except ValueError as e:
        raise UsageError(f"bad scheduler address {address!r}: {e}") from None
    if scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parse_host_port(loc)
    except ValueError as e:
        raise UsageError(f"bad scheduler address {address!r}: {e}") from None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        why = {
            ConnectionRefusedError: "connection refused",
            TimeoutError: f"no answer within {timeout:g} s",
            socket.gaierror: f"unknown host {host!r}",
        }.get(type(e))
        raise UsageError(f"no dask scheduler at {address}: {why or first_line(e)}") from None


def _identity(address: str, timeout: float, budget: float) -> dict:
    """The scheduler's ``identity``, asked on a comm of our own within ``budget`` seconds: a
    Client waits for ever on a server that never answers the handshake."""
    import asyncio

    from distributed.comm import connect as comm_connect
    from distributed.security import Security

    async def ask() -> Any:
        args = Security().get_connection_args("client")
        comm = await comm_connect(address, timeout=budget, **args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer["info"] = asyncio.run(asyncio.wait_for(ask(), budget))
        except BaseException as e:  # noqa: B036 - reported in the caller's thread
            answer["error"] = e

    # a thread of its own: the caller may be inside a running event loop (Jupyter)
    thread = threading.Thread(target=run, name="daskgrad-connect", daemon=True)
    thread.start()
    thread.join(budget + 1.0)
    error, info = answer.get("error"), answer.get("info")
    where = f"not a dask scheduler at {address}"
    if isinstance(error, asyncio.TimeoutError) or not answer:
        raise UsageError(f"{where}, or a busy one: no answer within {timeout:g} s")
    if isinstance(error, OSError):  # distributed's CommClosedError included
        raise UsageError(f"{where}: it closed the connection ({first_line(error)})")
    if error is not None or not isinstance(info, dict) or "type" not in info:
        raise UsageError(f"{where}: it answered in another protocol")
    if info["type"] != "Scheduler":
        raise UsageError(f"{where}: it is a dask {info['type']}")
    return info


def _describe(info: dict, host: str) -> str:
    from distributed.utils import format_dashboard_link

    workers = list(info.get("workers", {}).values())
    per = {w.get("nthreads", 0) for w in workers}
    least = min((w.get("memory_limit") or 0 for w in workers), default=0)
    memory = f"{fmt_bytes(least)} per worker" if least else "no memory limit"
    n = len(workers)
    if len(per) == 1:
        t = per.pop()
        threads = f"{t} thread{'s' * (t != 1)} each"
    else:
        threads = f"{sum(w.get('nthreads', 0) for w in workers)} threads in all"
    shape = f"{n} worker{'s' * (n != 1)}, {threads}, {memory}" if workers else "no workers yet"
    port = info.get("services", {}).get("dashboard")
    dash = format_dashboard_link(host, port) if port else "none (pip install bokeh)"
    return f"{shape}; dashboard: {dash}"


@contextlib.contextmanager
def _external(address: str, timeout: float, say: Callable[[str], None]) -> Iterator[Any]:
    from distributed import Client
    from distributed.comm.addressing import get_address_host

    deadline = time.monotonic() + timeout
    _check_listening(address, timeout)
    info = _identity(address, timeout, max(deadline - time.monotonic(), 0.1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except Exception as e:
            raise UsageError(f"cannot connect to {address}: {first_line(e)}") from e
    for w in caught:  # a version mismatch, say
        if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning):
            say(f"warning: {str(w.message).strip().splitlines()[0]}")
    try:
        say(f"connected to {address}: {_describe(info, get_address_host(address))}")
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=SHUTDOWN_TIMEOUT)


def _dashboard_address() -> str:
    """Port 8787 when it is free, else any free port (never distributed's "in use" warning)."""
    with socket.socket() as s:
        try:
            s.bind(("", 8787))
        except OSError:
            return ":0"
    return ":8787"


def _shut_down(client: Any, cluster: Any, scratch: str) -> None:
    """Close; kill the worker processes still alive after ``SHUTDOWN_TIMEOUT`` seconds (one
    running a task, say); nothing is logged about a cluster we are closing."""
    import multiprocessing
    import shutil

    nannies = list(getattr(cluster, "workers", {}).values())
    pids = {getattr(getattr(nanny, "process", None), "pid", None) for nanny in nannies}

    def kill() -> None:
        for proc in multiprocessing.active_children():
            if proc.pid in pids:
                proc.kill()

    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    # a timer, not close(timeout=...): a close that times out is cancelled half-way, and the
    # cluster, left "closing", holds up the exit (distributed's atexit hook waits 10 s more)
    timer = threading.Timer(SHUTDOWN_TIMEOUT, kill)
    timer.daemon = True
    timer.start()
    try:
        with _sigint_ignored():  # a second Ctrl-C would leave the cluster half closed
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=SHUTDOWN_TIMEOUT)
            with contextlib.suppress(Exception):
                cluster.close(timeout=SHUTDOWN_TIMEOUT + 30)  # a last resort only
    finally:
        timer.cancel()
        log.setLevel(level)
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C in this block (main thread only) if it would raise KeyboardInterrupt
    halfway through; a handler that only notes it (the command line's) stays."""
    import signal

    main = threading.current_thread() is threading.main_thread()
    raising = main and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if raising else None
    try:
        yield
    finally:
        if raising:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _spawned_without_sigint() -> Iterator[None]:
    """Processes spawned in the block start with SIGINT blocked, as multiprocessing's resource
    tracker starts: a Ctrl-C to the process group while a worker imports stays pending there
    until its preload ignores it, instead of a traceback. The mask is set in the thread that
    spawns (one of distributed's) for the spawn only; this process's handler is left alone."""
    import multiprocessing.util as util
    import signal

    spawn = util.spawnv_passfds

    def spawnv_passfds(path: Any, args: Any, passfds: Any) -> Any:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return spawn(path, args, passfds)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    util.spawnv_passfds = spawnv_passfds
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def _scratch_dir() -> str:
    """A scratch directory of the embedded cluster's own (worker directories, spilled data).
    In dask's shared one, clusters purge each other's stale worker directories and log errors
    when two purge at once; ours is removed on closing, or by a later run once we are dead."""
    import glob
    import os
    import shutil
    import tempfile

    import dask

    base = dask.config.get("temporary-directory", None) or tempfile.gettempdir()
    host = socket.gethostname()
    for old in glob.glob(os.path.join(base, f"daskgrad-scratch-*@{host}-*")):
        pid = os.path.basename(old).removeprefix("daskgrad-scratch-").split("@")[0]
        with contextlib.suppress(ValueError):
            if not pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"daskgrad-scratch-{os.getpid()}@{host}-", dir=base)


@contextlib.contextmanager
def _local(
    workers: int | None,
    threads_per_worker: int | None,
    memory_limit: int | None,
    say: Callable[[str], None],
    quiet: bool = True,
) -> Iterator[Any]:
    import shutil

    import dask
    from distributed import Client, LocalCluster
    from distributed.comm.addressing import get_address_host
    from distributed.system import MEMORY_LIMIT

    n, threads, limit = local_cluster_shape(workers, threads_per_worker, memory_limit)
    check_memory_limit(limit, 0, 0, threads)  # never a limit dask reads as a fraction of RAM
    preload = [*dask.config.get("distributed.worker.preload", []), _IGNORE_SIGINT]
    if quiet:
        preload.append(_IGNORE_WARNINGS)
    scratch = _scratch_dir()
    # the worker processes (restarted ones too) start without SIGINT; here a Ctrl-C while
    # they start is left to the handler: the command line's notes it and acts once the
    # cluster is up; Python's default one, which would raise halfway through, is ignored
    spawning = contextlib.ExitStack()
    spawning.enter_context(_spawned_without_sigint())
    try:
        with warnings.catch_warnings(), _sigint_ignored(), dask.config.set(CLUSTER_CONFIG):
            warnings.simplefilter("ignore")
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=threads,
                memory_limit=limit,
                processes=True,
                dashboard_address=_dashboard_address(),
                # a failed task is reported once, by the run; --debug shows the workers' logs
                silence_logs=logging.CRITICAL if quiet else logging.WARNING,
                preload=preload,
                local_directory=scratch,
            )
    except BaseException:
        spawning.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    try:
        client = Client(cluster, set_as_default=False)
        hold_bandwidth(client)
    except BaseException:
        with spawning:
            _shut_down(None, cluster, scratch)
        raise
    try:
        scheduler = client.scheduler
        assert scheduler is not None and scheduler.address is not None  # a connected client
        host = get_address_host(scheduler.address)
        say(f"local cluster of {_describe(client.scheduler_info(), host)}")
        if n * limit > MEMORY_LIMIT:
            total = fmt_bytes(MEMORY_LIMIT)
            say(f"warning: {n} workers x {fmt_bytes(limit)} exceed the {total} here")
        yield client
    finally:
        with spawning:
            _shut_down(client, cluster, scratch)


def hold_bandwidth(client: Any) -> None:
    """Keep the bandwidth estimate of ``client``'s workers (restarted ones too), and so the
    scheduler's, which follows what they report, at CLUSTER_CONFIG's: a worker otherwise moves
    it towards the speed of each transfer over 1 MB it makes, and the scheduler then sends a
    chunk's kernel away from the worker that read it (the chunk fetched across). For the
    embedded cluster, whose settings these are; a user's scheduler keeps its own.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster; the plugin it registers reaches workers that join later.

    Returns
    -------
    None

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         hold_bandwidth(client)
    ...         client.run(lambda dask_worker: dask_worker.bandwidth)
    {...: 1000000}
    """
    from dask.utils import parse_bytes
    from distributed import WorkerPlugin

    held = parse_bytes(str(CLUSTER_CONFIG["distributed.scheduler.bandwidth"]))

    class HoldBandwidth(WorkerPlugin):
        name = "daskgrad-hold-bandwidth"

        def setup(self, worker: Any) -> None:
            self.worker = worker
            worker.bandwidth = held

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            # a fetch sets the estimate just before its keys go from flight to memory
            self.worker.bandwidth = held

    client.register_plugin(HoldBandwidth())


@contextlib.contextmanager
def connect(
    *,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    say: Callable[[str], None] = print,
    quiet: bool = True,
) -> Iterator[Any]:
    """A ``distributed.Client`` on an existing scheduler or on an embedded LocalCluster.

    ``scheduler`` (an address) or ``scheduler_file``: the scheduler must answer as one within
    ``connect_timeout`` seconds, else a UsageError names the address or file and why. Otherwise
    a LocalCluster of worker processes shaped by :func:`local_cluster_shape` (``memory_limit``
    in bytes, checked by :func:`check_memory_limit`) starts, its dashboard on port 8787 or any
    free port. ``say`` gets one line on what the client is connected to. On leaving, the client
    and the LocalCluster close within a few seconds whatever the workers do; its workers ignore
    the Ctrl-C a terminal sends to the whole process group, and with ``quiet`` their logs and
    warnings (a failed task is reported once, by whoever computes it).

    Examples
    --------
    >>> with connect(scheduler="tcp://127.0.0.1:1"):
    ...     pass
    Traceback (most recent call last):
    ...
    daskgrad.errors.UsageError: no dask scheduler at tcp://127.0.0.1:1: connection refused
    """
    if scheduler and scheduler_file:
        raise UsageError("give a scheduler address or a scheduler file, not both")
    log = logging.getLogger("tornado.application")
    log.addFilter(_sync_cancel_race)
    try:
        if scheduler or scheduler_file:
            if any(v is not None for v in (workers, threads_per_worker, memory_limit)):
                raise UsageError("workers, threads and memory limit apply only to a local cluster")
            address = scheduler or _read_scheduler_file(str(scheduler_file))
            with _external(address, connect_timeout, say) as client:
                yield client
        else:
            with _local(workers, threads_per_worker, memory_limit, say, quiet) as client:
                yield client
    finally:
        log.removeFilter(_sync_cancel_race)


def _sync_cancel_race(record: logging.LogRecord) -> bool:
    """Drop one traceback: a Ctrl-C that reaches a Client call before distributed's ``sync``
    has started its coroutine makes its ``cancel`` callback read an unassigned variable (a
    NameError logged by tornado; the KeyboardInterrupt is raised all the same)."""
    import traceback
    from pathlib import Path

    error = record.exc_info[1] if record.exc_info else None
    if not isinstance(error, NameError) or error.__traceback__ is None:
        return True
    last = traceback.extract_tb(error.__traceback__)[-1]
    return not (last.name == "cancel" and Path(last.filename).match("distributed/utils.py"))


class WorkerWatch:
    """Fail a run on a cluster that has had no worker for ``timeout`` seconds, or whose every
    worker has been paused at its memory limit for ``paused_timeout`` seconds.

    A scheduler whose workers are all gone waits for new ones for ever (an external one's
    ``distributed.scheduler.no-workers-timeout`` cannot be set from here); a scheduler that
    does not answer counts as having no workers. Workers paused by distributed's memory
    monitor run nothing until their memory falls, which it never does when what fills it is
    not data they can spill (many small results, each with its bookkeeping): the run would
    wait for ever. :meth:`check` is cheap to call often: it asks at most once every ``poll``
    seconds and waits at most ``poll`` seconds for the answer.

    Use, in a wait loop (the writer's)::

        watch = WorkerWatch(client, timeout=60)
        while not done:
            watch.check()  # RuntimeError: no dask workers for 60 s (all lost)
    """

    def __init__(
        self,
        client: Any,
        timeout: float = DEFAULT_NO_WORKERS_TIMEOUT,
        poll: float = 1.0,
        paused_timeout: float = PAUSED_TIMEOUT,
    ) -> None:
        self.client, self.timeout, self.poll = client, timeout, poll
        self.paused_timeout = paused_timeout
        self._seen = time.monotonic()  # the countdown starts with the watch
        self._had, self._next, self._answered = False, 0.0, True
        self._running = self._seen  # when a worker last ran (was not paused)

    def check(self) -> None:
        """Raise RuntimeError once the cluster has had no worker for ``timeout`` seconds, or
        only paused ones for ``paused_timeout`` seconds."""
        now = time.monotonic()
        if now < self._next:
            return
        # not while the client reconnects: each question would then wait 30 s
        workers, self._answered = {}, self.client.status == "running"
        if self._answered:
            try:
                info = self.client.sync(
                    self.client.scheduler.identity, n_workers=-1, callback_timeout=self.poll
                )
                workers = info.get("workers", {})
            except Exception:  # the scheduler is gone or too busy to answer
                self._answered = False
        self._next = time.monotonic() + self.poll
        n = len(workers)
        if not n or any(w.get("status") != "paused" for w in workers.values()):
            self._running = now
        elif now - self._running >= self.paused_timeout:
            limit = min((w.get("memory_limit") or 0 for w in workers.values()), default=0)
            raise RuntimeError(
                f"every dask worker has been paused at its memory limit ({fmt_bytes(limit)}) "
                f"for {self.paused_timeout:g} s and the run cannot go on; give the workers "
                "more memory, or use fewer, larger chunks (--chunks DIM=N)"
            )
        if n:
            self._seen, self._had = now, True
        elif now - self._seen >= self.timeout:
            if not self._answered:
                why = "the scheduler does not answer"
            else:
                why = "all lost" if self._had else "none since the run started"
            raise RuntimeError(f"no dask workers for {self.timeout:g} s ({why})")
