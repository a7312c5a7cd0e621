"""Attacker findings on the writer's options and on a signal during the program's exit.

1. ``daskgrad.to_zarr``'s ``store_timeout``, ``overwrite`` and ``zarr_format`` are checked once
   (io/writer, io/target), refused with an OptionError-family error naming the keyword (the
   command line names its flag).
2. A SIGTERM while ``daskgrad run`` is still alive after its summary line (the cluster closing,
   the interpreter joining threads and running exit hooks) exits 143 with the line saying the
   OUTPUT is complete, never 0 without a word."""

from __future__ import annotations

import os
import signal
import time

import pytest

from . import test_signals
from .test_signals import Run, busy, data, run_all  # noqa: F401  (fixtures)

pytest.importorskip("psutil")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

SUMMARY = " -> "  # "daskgrad: IN -> OUT: 1 array (…); read …, wrote … in … s"
EXITING = "exit hooks running"
# The process's exit after its run: the interpreter joins threads and runs the exit hooks
# (distributed's, multiprocessing's: seconds on a loaded machine, the attacker's window). One
# more hook, registered after daskgrad's import as a library's would be, says when it runs and
# takes its time: a signal then lands in the exit for sure.
SLOW_EXIT = f"""
import atexit, sys, time
sys.argv[0] = "daskgrad"
from daskgrad.cli import main

def slow_exit():
    print("{EXITING}", flush=True)
    time.sleep(3)

atexit.register(slow_exit)
sys.exit(main())
"""


def said_then(seconds, said=SUMMARY):
    """``seconds`` after the run printed a line with ``said`` on stdout (by default its summary
    line: the OUTPUT swapped in, the cluster closing next)."""

    def ready(run):
        if getattr(run, "said_at", None) is None:
            fd = run.proc.stdout.fileno()
            os.set_blocking(fd, False)
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = b""
            run.said = getattr(run, "said", b"") + chunk
            lines = run.said.decode().splitlines()
            if any(said in line for line in lines):
                run.said_at = time.monotonic()
            return False
        return time.monotonic() - run.said_at >= seconds

    return ready


@pytest.mark.parametrize("delays", [(0.0, 0.4, 0.8), (1.2, 1.6, 2.0)])
def test_sigterm_after_the_summary(busy, data, delays):  # noqa: F811
    """The attacker's SIGTERM after the summary (2 of 20 exited 0 without a word): each real
    ``python -m daskgrad run`` is signalled at its moment after the summary line, on a machine
    kept busy; exit 143, one line saying the new OUTPUT is complete (run_all checks it against
    np.gradient), no temporary, no process left."""
    root, ds = data
    runs = [Run(root, f"late-{int(d * 10)}", signal.SIGTERM, said_then(d)) for d in delays]
    for r, _, stderr in run_all(runs, ds):
        assert stderr.strip() == f"daskgrad: terminated after {r.out} was written; it is complete"


def test_sigterm_in_the_exit_hooks(busy, data, monkeypatch):  # noqa: F811
    """A SIGTERM while the interpreter runs its exit hooks, after main returned 0 (before: the
    handler was set to ignore it, exit 0 without a word): 143 and the line."""
    root, ds = data
    monkeypatch.setattr(test_signals, "LOW_GC", SLOW_EXIT)  # Run's how="low-gc" script
    runs = [
        Run(root, f"exit-{int(d * 10)}", signal.SIGTERM, said_then(d, EXITING), how="low-gc")
        for d in (0.0, 0.5)
    ]
    for r, _, stderr in run_all(runs, ds):
        assert stderr.strip() == f"daskgrad: terminated after {r.out} was written; it is complete"
