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


def test_sigterm_after_the_summary(busy, data):  # noqa: F811
    """The attacker's SIGTERM after the summary (2 of 20 exited 0 without a word): each real
    ``python -m daskgrad run`` is signalled at its moment after the summary line, on a machine
    kept busy; exit 143, one line saying the new OUTPUT is complete (run_all checks it against
    np.gradient), no temporary, no process left."""
    root, ds = data
    runs = [Run(root, f"late-{int(d * 10)}", signal.SIGTERM, said_then(d)) for d in (0.0, 0.3, 0.6)]
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


@pytest.fixture
def grads(tmp_path):
    xr = pytest.importorskip("xarray")
    import numpy as np

    import daskgrad  # noqa: F401  (the .grad accessor)

    ds = xr.Dataset({"T": (("y", "x"), np.arange(12.0).reshape(3, 4))}).chunk(2)
    return ds.grad("x"), tmp_path


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("store_timeout", "10", "store_timeout must be a number of seconds or None; got '10'"),
        ("store_timeout", 1e10, "store_timeout must be less than 1e9 seconds; got 1e+10"),
        ("overwrite", "yes", "overwrite must be True or False; got 'yes'"),
        ("overwrite", 1, "overwrite must be True or False; got 1"),
        ("zarr_format", 2.0, "zarr_format must be 2 or 3 (an int), got 2.0"),
        ("zarr_format", 4, "zarr_format must be 2 or 3, got 4"),
    ],
)
def test_to_zarr_options_refused(grads, option, value, words):
    """Each bad option of to_zarr: an OptionError (the README's promise) naming the keyword,
    nothing written."""
    from daskgrad import to_zarr
    from daskgrad.errors import OptionError

    obj, tmp = grads
    with pytest.raises(OptionError) as caught:
        to_zarr(obj, tmp / "out.zarr", **{option: value})
    assert caught.value.option == option
    assert str(caught.value) == f"to_zarr: {words}"
    assert list(tmp.iterdir()) == []


def test_to_zarr_existing_output_is_an_option_error(grads):
    """An existing output without overwrite=True: the OptionError of ``overwrite`` (it was a
    plain ValueError without ``.option``)."""
    from daskgrad import to_zarr
    from daskgrad.errors import OptionError

    obj, tmp = grads
    to_zarr(obj, tmp / "out.zarr")
    with pytest.raises(OptionError, match="pass overwrite=True to replace it") as caught:
        to_zarr(obj, tmp / "out.zarr")
    assert caught.value.option == "overwrite"


@pytest.mark.parametrize(
    "option, value, flag",
    [("store_timeout", "10", "--store-timeout"), ("overwrite", "yes", "--overwrite")],
)
def test_the_command_line_words_them_as_flags(option, value, flag):
    """The same one check, worded with the command line's flags."""
    from daskgrad.cli.parser import Flags
    from daskgrad.errors import OptionError
    from daskgrad.io.target import check_overwrite
    from daskgrad.io.writer import check_store_timeout

    check = {"store_timeout": check_store_timeout, "overwrite": check_overwrite}[option]
    with pytest.raises(OptionError) as caught:
        check(value)
    assert caught.value.worded(Flags).startswith(f"{flag} must be")
