"""SIGINT, SIGTERM and SIGHUP of the command line: the handler only notes the signal; the main
thread acts on it where it is safe (:func:`checkpoint`), or at once while it only waits for an
object store's answer (:func:`raising`).

An exception raised from a signal handler lands in whatever Python code runs at that moment: a
garbage-collection callback or a ``__del__`` discards it ("Exception ignored in …") and the run
goes on. So nothing is raised there. This module imports nothing heavy: ``daskgrad/__init__``
installs the handler before its own imports when it is the program being run, so a Ctrl-C
while numpy, dask and xarray import is held too.

The handler stays until the process exits: once the run is over (:func:`hold_to_the_end`), a
signal received while the interpreter shuts down (threads joined, exit hooks run: seconds after
the summary on a loaded machine) is acted on by this module's exit hook, the last one to run, which
says so and ends the process with its status (:func:`os._exit`: nothing is left to do)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "STOP_WAIT",
    "Terminated",
    "checkpoint",
    "clear",
    "held",
    "hold_to_the_end",
    "install",
    "raising",
    "status_of",
]

# SIGHUP: the terminal closed (an ssh session dropped), handled as SIGTERM is
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_held: list[int] = []
#: while not empty, the handler raises too (:func:`raising`)
_raising: list[bool] = []
#: seconds the cleanup after a signal waits for running tasks, and for each request deleting
#: what the run wrote (a store that stopped answering would hold it up to --store-timeout)
STOP_WAIT = 3.0
#: (exit status, what says a signal received after the run: its line; returns its status)
_ending: list[tuple[int, Callable[[int], int]]] = []
#: installed by :func:`install_if_program`: this module's exit hook is the interpreter's last
_program: list[bool] = []


class Terminated(BaseException):
    """SIGTERM or SIGHUP (``signum``), raised in the main thread like KeyboardInterrupt for
    SIGINT."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


def status_of(signum: int) -> int:
    """The exit status of a run a signal stopped: 128 + its number (130, 143, 129)."""
    return 128 + int(signum)


def _hold(signum: int, frame: Any) -> None:
    if not _held:  # the first signal decides the exit status
        _held.append(signum)
    if _raising:
        checkpoint()


@contextlib.contextmanager
def raising() -> Any:
    """Within, a signal is also raised at once by the handler (after noting it), in the main
    thread: for code that only waits for an object store's answer (fsspec's and dask's waits
    let it through), which a store that stopped answering would hold up to ``--store-timeout``.
    Should the exception be lost (a garbage-collection callback running then), the signal
    stays noted for the next :func:`checkpoint`. Only in the main thread (the handler's)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    checkpoint()
    _raising.append(True)
    try:
        yield
    finally:
        _raising.pop()


def install() -> dict[int, Any]:
    """Hold SIGINT, SIGTERM and SIGHUP from now on (main thread only); the previous handlers."""
    return {s: signal.signal(s, _hold) for s in SIGNALS}


def held() -> int | None:
    """The signal received and not yet acted on, if any."""
    return _held[0] if _held else None


def clear() -> None:
    _held.clear()


def checkpoint() -> None:
    """Raise KeyboardInterrupt (SIGINT) or :class:`Terminated` (SIGTERM, SIGHUP) if one was
    received."""
    if _held:
        raise KeyboardInterrupt if _held[0] == signal.SIGINT else Terminated(_held[0])


def hold_to_the_end(status: int, report: Callable[[int], int]) -> None:
    """The program's run is over with exit ``status``: the signals stay held until the
    process exits, and one received from now on (or held and not acted on) is given to
    ``report`` (which says so and returns the exit status) by the exit hook."""
    _ending[:] = [(status, report)]


def _received() -> int | None:
    """The signal held or pending (blocked since) first, if any."""
    if _held:
        return _held[0]
    pending = signal.sigpending()
    return next((s for s in SIGNALS if s in pending), None)


@atexit.register  # on this module's import, before the heavy ones: it runs after their hooks
def _at_exit() -> None:
    if not _ending:
        return
    status, report = _ending[0]
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # from now on only pending (main thread)
    sig = _received()  # a Python call: a handler due runs first
    if sig is None and not _program:
        return  # exit hooks registered before this module's may still follow
    if sig is not None:
        status = report(sig)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed or None
            stream.flush()
    os._exit(status)  # no window left after the last hook: a signal now counts or never came


def _launcher(path: str) -> bool:
    """Whether ``path`` is the console script pip wrote for ``daskgrad.cli:main``."""
    try:
        with open(path, "rb") as f:
            return b"from daskgrad.cli import main" in f.read(4096)
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (signal 0: sent nowhere, only checked);
    one of another user, which may not be signalled, counts as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _quiet_resource_tracker() -> None:
    """Silence, for the program's own runs, multiprocessing's resource tracker saying "There
    appear to be N leaked semaphore objects to clean up at shutdown" after a SIGTERM to the
    whole process group (``timeout``, Slurm, ``docker stop``): the embedded cluster's worker
    processes (started with "spawn") die of it holding numcodecs' Blosc lock (a named
    semaphore each creates at its first Blosc chunk), which the tracker then removes itself;
    nothing is left behind, and the run has said its one line. The tracker is a Python
    process started by multiprocessing with this interpreter's ``-W`` options
    (``sys.warnoptions``), so the filter reaches it and the workers only, not this process's
    own warnings nor a user's program."""
    option = "ignore:resource_tracker:UserWarning"
    if option not in sys.warnoptions:
        sys.warnoptions.append(option)


def install_if_program() -> None:
    """Install the handler when this import is the start of the ``daskgrad`` program (``python
    -m daskgrad`` or the console script), never when a user's program imports daskgrad; then
    also quiet the resource tracker of its cluster (:func:`_quiet_resource_tracker`)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    argv = list(getattr(sys, "orig_argv", []))
    # python -m daskgrad: runpy imports the package while sys.argv[0] is still "-m"
    if sys.argv[:1] == ["-m"]:
        for i, a in enumerate(argv[1:], 1):
            if a.startswith("-m"):
                name = a[2:] or (argv[i + 1] if i + 1 < len(argv) else "")
                if name in ("daskgrad", "daskgrad.__main__"):
                    install()
                    _program.append(True)
                    _quiet_resource_tracker()
                return
        return
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if getattr(main, "__spec__", None) is None and path and sys.argv[:1] == [path]:
        if os.path.basename(path).removesuffix(".exe") == "daskgrad" and _launcher(path):
            install()
            _program.append(True)
            _quiet_resource_tracker()
