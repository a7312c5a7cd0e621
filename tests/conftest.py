"""Shared test helpers: oracles' tolerance, a scheduler that fails if anything computes, an
environment free of the machine's AWS configuration, and processes that die with pytest."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@contextlib.contextmanager
def raise_if_dask_computes():
    """Fail the test if dask computes anything inside the block (flox's helper)."""
    import dask

    def scheduler(dsk, keys, **kwargs):
        raise AssertionError("dask computed while it should only build a graph")

    with dask.config.set(scheduler=scheduler):
        yield


def assert_gradients_close(ours, ref, f, spacings=(1.0,)):
    """The accuracy rule: rtol 1e-10 relative to max|f|, scaled by the smallest step."""
    ref = ref if isinstance(ref, tuple | list) else (ref,)
    assert len(ours) == len(ref)
    fmax = float(np.max(np.abs(f))) if np.size(f) else 0.0
    steps = []
    for s in spacings:
        s = np.asarray(s, dtype=float)
        steps.append(np.min(np.abs(np.diff(s))) if s.ndim and s.size > 1 else abs(float(s)))
    hmin = min(steps) if steps else 1.0
    for o, r in zip(ours, ref, strict=True):
        assert o.shape == r.shape
        np.testing.assert_allclose(np.asarray(o), r, rtol=1e-10, atol=1e-10 * fmax / hmin)


@pytest.fixture(scope="session")
def medium_zarr(tmp_path_factory):
    """~96 MiB float64 in 1.5 MiB chunks: a run that lasts long enough to interrupt."""
    import dask.array as da
    import xarray as xr

    path = tmp_path_factory.mktemp("medium") / "in.zarr"
    shape, chunks = (48, 512, 512), (6, 128, 256)
    f = da.random.default_rng(0).standard_normal(shape, chunks=chunks)
    x = np.cumsum(np.linspace(1.0, 3.0, shape[2]))
    ds = xr.Dataset({"f": (("z", "y", "x"), f)}, coords={"x": x})
    ds.to_zarr(path)
    return path


@pytest.fixture(scope="module")
def hermetic_aws(tmp_path_factory):
    """For a module's object-store tests: HOME in a temporary directory (no ``~/.aws``, no
    botocore caches), no ``AWS_*`` variable of the machine, config and credentials files that do
    not exist, no instance-metadata lookup; s3fs's cached filesystems forgotten. What the
    module starts after this (moto's server in this process, LocalCluster workers, ``daskgrad
    run`` subprocesses) inherits it."""
    from tests.s3_server import hermetic_env

    home = str(tmp_path_factory.mktemp("home"))
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            mp.delenv(name)
        for name, value in hermetic_env(home, dict(os.environ)).items():
            mp.setenv(name, value)
        _forget_filesystems()
        yield home
        _forget_filesystems()


def _forget_filesystems() -> None:
    with contextlib.suppress(ImportError):
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()


# The first thing a process started with tied() runs: on Linux, ask the kernel to SIGKILL it
# when the thread that started it (pytest's) dies, however it dies (Ctrl-C, SIGTERM, SIGKILL);
# if that parent is already gone, die now; then become the command (the pid stays the same).
_TIE = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    os._exit(1)
os.execvp(sys.argv[2], sys.argv[2:])
"""


# ------------------------------------------------------------------- nothing left in /tmp

# What dask keeps in the temporary directory on purpose, reused from run to run.
_KEPT_BY_DESIGN = ("dask-scratch-space",)


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Under pytest-xdist, each worker process dies with the pytest that started it, however
    that one dies (Ctrl-C, SIGTERM, SIGKILL): the worker's tied processes (``tied``) then die
    with the worker. Without it a killed pytest leaves its workers, and their clusters, running.

    The session's temporary directory is one of its own, in the machine's (TMPDIR for the
    processes the tests start, ``tempfile`` in this one): what a run leaves there (a cache an
    fsspec chain made and nobody removed, a temporary store a test forgot) is listed at the
    session's end (``pytest_sessionfinish``), whatever else runs on the machine meanwhile, and
    the directory is removed, so no run leaves anything in the machine's. pytest's own
    ``tmp_path`` directories stay where pytest keeps them (its last 3 sessions, for a look
    after a failure)."""
    if hasattr(config, "workerinput") and sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        factory.getbasetemp()  # made now, in the machine's temporary directory
    private = tempfile.mkdtemp(prefix=f"daskgrad-tests-{os.getpid()}-")
    config.stash[_PRIVATE_TMP] = (private, os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = tempfile.tempdir = private


_PRIVATE_TMP = pytest.StashKey[tuple]()


# ------------------------------------------------------------------- pytest-xdist

# A test module that defines a fixture shared by its tests (module, class, package or session
# scope: a moto server, a frozen store's runs, a stored input) runs on one worker, so the
# fixture is set up once, as in a run without workers; the other tests are spread one by one.
_SHARED_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|class|package|session)["']""")


@functools.cache
def _shares_fixtures(path: Path) -> bool:
    try:
        return bool(_SHARED_FIXTURE.search(path.read_text()))
    except (OSError, UnicodeDecodeError):
        return False


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, if installed
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` (pyproject.toml's addopts) with the modules that share a fixture
    each as one group (see ``_SHARED_FIXTURE``), decided in the controller from the modules'
    source: it collects nothing, so it knows the tests by their ids only. An ``xdist_group``
    mark keeps its meaning (it groups nothing on pytest 9 with pytest-xdist 3.8, whose worker
    can no longer append the group to the test's id)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    root = config.rootpath

    class SharedModules(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            module = nodeid.split("::", 1)[0]
            if scope == nodeid and _shares_fixtures(root / module):
                return module
            return scope

    return SharedModules(config, log)


@pytest.fixture(scope="session", autouse=True)
def _dashboard_port_held_by_a_worker(request):
    """Under pytest-xdist, one worker holds port 8787 (dask's default dashboard port) for the
    session. daskgrad takes 8787 for a cluster's dashboard when it is free, else any port; two
    workers each starting a cluster could both see it free and the second would print
    distributed's "Port 8787 is already in use" warning, which tests that read a run's output
    do not expect. Held, every cluster of the run takes a port of its own, as on a machine where
    something else serves 8787 (which daskgrad handles: tests/test_cluster.py)."""
    import socket

    if not hasattr(request.config, "workerinput"):
        yield
        return
    with socket.socket() as s:
        with contextlib.suppress(OSError):  # another worker (or program) holds it already
            s.bind(("", 8787))
            s.listen(1)
        yield


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session, exitstatus):
    """List what the session left in its temporary directory (see ``pytest_configure``);
    remove that directory."""
    saved = session.config.stash.get(_PRIVATE_TMP, None)
    if saved is None:
        return
    private, env, tempdir = saved
    os.environ.pop("TMPDIR", None)
    if env is not None:
        os.environ["TMPDIR"] = env
    tempfile.tempdir = tempdir
    left = sorted(p for p in os.listdir(private) if p not in _KEPT_BY_DESIGN)
    shutil.rmtree(private, ignore_errors=True)
    if left:
        sys.stderr.write(
            f"\nWARNING: the tests left {len(left)} entries in the temporary directory "
            f"(TMPDIR): {', '.join(left[:20])}\n"
        )
        # reported, not yet failing: a whole run still leaves a nested pytest's basetemp
        # (tests/test_fresh_machine.py) and five tmp* directories of unknown origin


def tied(cmd: list) -> list:
    """``cmd`` so that its process dies with this one (the pytest process), Linux only: tests
    start `dask scheduler`/`dask worker` with it, which an interrupted pytest would otherwise
    leave running for ever."""
    return [sys.executable, "-c", _TIE, str(os.getpid()), *map(str, cmd)]


def popen_tied(cmd: list, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kwargs)`` whose process dies with pytest (see ``tied``)."""
    return subprocess.Popen(tied(cmd), **kwargs)


# ------------------------------------------------------------------- the command line, in-process


@dataclass
class CliRun:
    """What ``daskgrad ARGS`` did: its exit status and what it printed (as subprocess.run)."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args) -> CliRun:
    """``daskgrad ARGS`` run in this process by the console script's own entry point
    (``daskgrad.cli.main``), its standard output and error captured. For the tests where a
    process of its own adds nothing (the process boundary, a signal, an exit of the interpreter
    is not what is tested): it saves an interpreter start and its imports per call."""
    import warnings

    from daskgrad.cli import main

    out, err = io.StringIO(), io.StringIO()

    def show(message, category, filename, lineno, file=None, line=None):
        # what the interpreter of a `daskgrad` process would print: on its standard error
        err.write(warnings.formatwarning(message, category, filename, lineno, line))

    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        # a warning that escaped the command line is printed, as Python's default filters do
        # in a program of its own (pytest's filters would record it and say nothing)
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
            warnings.simplefilter("ignore", category)
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.showwarning = show
        code = main([str(a) for a in args])
    return CliRun(code, out.getvalue(), err.getvalue())


# ------------------------------------------------------------------- one dask cluster for all

DASK = Path(sys.executable).with_name("dask")


def start_cluster(where: Path, n_workers: int, *extra: str, env: dict | None = None):
    """`dask scheduler` and ``n_workers`` `dask worker` processes on 127.0.0.1, no nannies,
    each tied to pytest (``popen_tied``): they die with it however it ends. ``env``: their
    environment (default this one). Returns the scheduler file, the processes (scheduler
    first) and their log."""
    sf = where / "scheduler.json"
    log = open(where / "cluster.log", "w")  # noqa: SIM115 - closed with the processes
    common = dict(stdout=log, stderr=subprocess.STDOUT, env=env)
    procs = [
        popen_tied(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", sf],
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not (sf.exists() and sf.read_text().strip().endswith("}")):
            assert time.monotonic() < deadline, (where / "cluster.log").read_text()
            time.sleep(0.1)
        for _ in range(n_workers):
            procs.append(
                popen_tied(
                    [DASK, "worker", "--scheduler-file", sf, "--host", "127.0.0.1"]
                    + ["--nthreads", "1", "--no-dashboard", "--no-nanny", *extra],
                    **common,
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(sf), timeout="30s") as c:
            c.wait_for_workers(n_workers, timeout=60)
    except BaseException:
        stop_cluster(procs, log)
        raise
    return sf, procs, log


def stop_cluster(procs, log) -> None:
    for p in reversed(procs):  # no nannies, so nothing is orphaned
        p.kill()
        p.wait()
    log.close()


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session():
    """At the end of the session, whatever this pytest process started and is still running
    (a worker of an embedded cluster that a test run in this process left, say) is killed: the
    tied processes die with pytest however it ends, this catches the rest on a normal end."""
    yield
    try:
        import psutil
    except ImportError:  # distributed depends on it: no cluster ran without it
        return
    left = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmd = " ".join(p.cmdline())
            if ("dask" in cmd or "spawn_main" in cmd) and "resource_tracker" not in cmd:
                left.append(p)
    _, alive = psutil.wait_procs(left, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """One external cluster (a scheduler and 2 workers of 1 thread and 1 GiB) for the whole
    session: the command-line runs that are not about the cluster they run on share it
    (``--scheduler-file``). Its processes see none of the machine's AWS configuration and a
    HOME of their own (tests/s3_server.py ``hermetic_env``). Its scheduler file."""
    pytest.importorskip("distributed")
    from tests.s3_server import hermetic_env

    where = tmp_path_factory.mktemp("cluster")
    home = where / "home"
    home.mkdir()
    env = hermetic_env(str(home))
    # the workers unpickle functions of the test modules (tests.test_writer._fails): they
    # import them, and daskgrad, from this checkout as the test process does
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    sf, procs, log = start_cluster(where, 2, "--memory-limit", "1GiB", env=env)
    yield sf
    stop_cluster(procs, log)
