"""Atomic zarr writing: chunk writes computed as their own targets into a temporary sibling,
swapped into place only when complete; what may be replaced and what never is."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ._errors import UsageError, first_line

ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")


class ComputeFailed(Exception):
    """A task failed while computing: one line with the first error, its variable and chunk."""


def is_zarr_store(path: Path) -> bool:
    """True for a directory with zarr v2 or v3 metadata at its root."""
    return path.is_dir() and any((path / m).is_file() for m in ZARR_MARKERS)


def check_output(output: Path, overwrite: bool, inputs: Sequence[Path] = ()) -> Path:
    """The absolute OUTPUT path, or UsageError naming it and saying why it may not be written.

    OUTPUT is never an input, inside one or an ancestor of one; an existing OUTPUT is replaced
    only with ``overwrite`` and only if it is a zarr store (not a plain directory or a file).
    """
    out = Path(os.path.abspath(output))
    if out.parent == out:
        raise UsageError(f"output {output} is a filesystem root; name a new zarr store")
    real = out.resolve()
    for inp in inputs:
        src = Path(inp).resolve()
        if real == src:
            raise UsageError(f"output {output} is the input; choose another path")
        if src in real.parents:
            raise UsageError(f"output {output} is inside the input {inp}; choose another path")
        if real in src.parents:
            raise UsageError(f"output {output} contains the input {inp}; choose another path")
    if out.is_symlink():
        raise UsageError(f"output {output} is a symbolic link; name the store itself")
    if out.exists():
        if not overwrite:
            raise UsageError(f"output {output} exists; pass --overwrite to replace it")
        if not out.is_dir():
            raise UsageError(f"output {output} is not a zarr store (a file); not replacing it")
        if not is_zarr_store(out):
            raise UsageError(
                f"output {output} is a directory but not a zarr store (no zarr.json, .zgroup or "
                ".zarray at its root); --overwrite replaces zarr stores only"
            )
        if Path.cwd().resolve() == real or real in Path.cwd().resolve().parents:
            raise UsageError(f"output {output} contains the current directory; not replacing it")
    if not out.parent.is_dir():
        raise UsageError(f"output directory {out.parent} does not exist")
    return out


_TEMP = re.compile(r"\.daskgrad-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{8}\.(?P<kind>tmp|old)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale(out: Path, say: Callable[[str], None]) -> None:
    """Remove the temporaries of dead runs to ``out`` (same host, process gone); restore an
    old store that a dead run had moved aside but not yet replaced. Live runs' are left."""
    host = socket.gethostname()
    prefix = f".{out.name}"
    for p in sorted(out.parent.glob(f"{prefix}.daskgrad-*")):
        m = _TEMP.fullmatch(p.name[len(prefix) :])
        if not m or m["host"] != host or _alive(int(m["pid"])):
            continue
        if m["kind"] == "old" and not out.exists():
            os.replace(p, out)
            say(f"restored {out} from {p.name}, left by a dead run (pid {m['pid']})")
        else:
            _remove(p)
            say(f"removed {p.name}, left by a dead run (pid {m['pid']})")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT/SIGTERM held back (then re-raised) while the output is being swapped in."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = [signal.SIGINT, signal.SIGTERM]
    old = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for s in dict.fromkeys(caught):
            signal.raise_signal(s)


class Target:
    """A checked OUTPUT with its temporary sibling, created at once (so an unwritable place is
    found before any computing). ``commit`` swaps it in; ``discard`` removes it."""

    def __init__(
        self,
        output: Path | str,
        *,
        overwrite: bool = False,
        inputs: Sequence[Path] = (),
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.output = check_output(Path(output), overwrite, inputs)
        self.overwrite = overwrite
        remove_stale(self.output, say or (lambda s: None))
        tag = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp = self.output.with_name(f".{self.output.name}.daskgrad-{tag}.tmp")
        try:
            self.tmp.mkdir()
        except OSError as e:
            raise UsageError(f"cannot write output {output}: {e.strerror}") from e

    def commit(self, on_commit: Callable[[], None] | None = None) -> None:
        """Put the complete temporary in OUTPUT's place and remove what it replaced."""
        with _signals_deferred():
            out = self.output
            if out.exists() or out.is_symlink():
                check_output(out, self.overwrite)  # still a zarr store, and allowed
                if not _exchange(self.tmp, out):
                    old = self.tmp.with_suffix(".old")
                    os.replace(out, old)
                    os.replace(self.tmp, out)
                    self.tmp = old
            else:
                os.replace(self.tmp, out)
            if on_commit is not None:
                on_commit()
            _remove(self.tmp)

    def discard(self) -> None:
        _remove(self.tmp)


def write_targets(graph: dict, closing: Any) -> list:
    """What to compute of xarray's delayed zarr write: the writes, not the task closing them.

    Each dependency of the ``closing`` task that only gathers chunk writes (dask.array.store's
    ``store-map`` tasks, one gather per variable) is replaced by those writes, aliases resolved
    (an alias is one more task to schedule). Any other dependency, such as a small variable's
    write fused with its gather, is kept as it is: computed whole, it is still written.
    """
    from dask.core import get_dependencies

    try:
        from dask._task_spec import Alias
    except ImportError:  # a dask without task-spec aliases
        Alias = ()  # noqa: N806

    def resolve(key):
        while isinstance(graph.get(key), Alias):
            key = graph[key].target
        return key

    def is_write(key):
        return isinstance(key, tuple) and str(key[0]).startswith("store-map-")

    targets = []
    for dep in map(resolve, get_dependencies(graph, closing)):
        writes = get_dependencies(graph, dep)
        if writes and all(map(is_write, writes)):
            targets.extend(map(resolve, writes))
        else:
            targets.append(dep)
    return targets


def describe_key(key: Any) -> str:
    """Where a task key comes from, in a user's words: 'input variable 't', chunk (0, 1)'."""
    name, index = (key[0], tuple(key[1:])) if isinstance(key, tuple) else (key, ())
    name = str(name).removeprefix("original-")
    where = f", chunk {index}" if index else ""
    if name.startswith("open_dataset-"):
        return f"reading input variable {name[13:].rsplit('-', 1)[0]!r}{where}"
    if name.startswith("store-map-") or name.startswith("store-"):
        return f"writing the output{where}"
    if name.startswith("gradient"):
        return f"computing the gradient{where}"
    return f"task {name.rsplit('-', 1)[0]}{where}"


def _blame(key: Any, dask_scheduler: Any = None) -> Any:
    ts = dask_scheduler.tasks.get(key)
    blamed = getattr(ts, "exception_blame", None) if ts is not None else None
    return blamed.key if blamed is not None else key


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


def _compute_distributed(graph, writes, client, progress, watch) -> None:
    from distributed import as_completed

    keys = {str(k) for k in graph}
    futures = client.get(graph, writes, sync=False)
    try:
        if progress:
            from distributed import progress as progress_bar

            progress_bar(futures, multi=False, scheduler=client.scheduler.address)
        # the first failure is raised as soon as it happens (unlike distributed.wait), and an
        # interrupt leaves no orphaned gather behind (unlike client.gather)
        with client.as_current():
            done = as_completed(futures)
            while not done.is_empty():
                for fut in done.next_batch(block=False) if done.has_ready() else ():
                    if fut.status != "finished":
                        _raise_failed(fut, client)
                if watch is not None:
                    watch.check()
                time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
            _quiesce(client, keys)
        raise


def _raise_failed(fut: Any, client: Any) -> None:
    try:
        fut.result()
    except Exception as e:
        if fut.status == "cancelled":
            raise ComputeFailed(f"the write of {describe_key(fut.key)} was cancelled") from e
        try:
            key = client.run_on_scheduler(_blame, fut.key)
        except Exception:
            key = fut.key
        raise ComputeFailed(f"{describe_key(key)}: {first_line(e)}") from e


def _compute_local(graph, writes, progress) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import dask.threaded

    bar = contextlib.nullcontext()
    if progress:
        from dask.diagnostics import ProgressBar

        bar = ProgressBar()
    pool = ThreadPoolExecutor(os.cpu_count() or 1)
    try:
        with bar:
            dask.threaded.get(graph, writes, pool=pool)
    finally:
        # tasks already running finish before the temporary is removed, so none writes into
        # a store that no longer exists
        pool.shutdown(wait=True, cancel_futures=True)


def write(
    result: Any,
    target: Target,
    client: Any = None,
    *,
    progress: bool = False,
    watch: Any = None,
    on_commit: Callable[[], None] | None = None,
) -> None:
    """Compute ``result`` (a Dataset) into ``target``'s temporary and commit it; on any failure
    or interrupt remove the temporary and leave OUTPUT as it was."""
    from dask.optimization import cull
    from dask.utils import ensure_dict

    try:
        with contextlib.ExitStack() as stack:
            import warnings

            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")  # zarr v3 "consolidated metadata is not in the spec"
            # metadata and in-memory coordinates are written now, array chunks below
            delayed = result.to_zarr(target.tmp, mode="w", compute=False)
        graph = ensure_dict(delayed.__dask_graph__())
        # Only the chunk writes are computed, each as its own target. xarray's closing task
        # (which closes a copy of the store on a worker) depends on all of them, and behind it
        # dask.order reads input chunks far ahead of the neighbours their kernels wait for:
        # about 140 chunks held per worker instead of 6 on the out-of-core benchmark, which
        # then spills to disk.
        writes = write_targets(graph, delayed.key)
        # culled here, not left to the scheduler: dask.order must not see the closing task
        graph = cull(graph, writes)[0]
        if writes and client is not None:
            _compute_distributed(graph, writes, client, progress, watch)
        elif writes:
            _compute_local(graph, writes, progress)
        target.commit(on_commit)
    except BaseException:
        target.discard()
        raise


def _source_paths(obj: Any) -> list[Path]:
    """Files and zarr stores the variables of ``obj`` are read from, where xarray shows them."""
    paths = []
    for var in obj.variables.values():
        if var.encoding.get("source"):
            paths.append(Path(var.encoding["source"]))
        graph = getattr(var.data, "dask", None)
        for key, node in dict(graph or {}).items():
            if not (isinstance(key, str) and key.startswith("original-open_dataset-")):
                continue
            inner = getattr(node, "value", node)
            for _ in range(8):  # xarray's adapters wrap the backend array
                inner = getattr(inner, "array", None) or getattr(inner, "_array", None)
                root = getattr(getattr(inner, "store", None), "root", None)  # zarr
                root = root or getattr(getattr(inner, "datastore", None), "_filename", None)
                if root is not None:
                    paths.append(Path(root))
                if root is not None or inner is None:
                    break
    return list(dict.fromkeys(paths))


def to_zarr(
    obj: Any,
    store: str | os.PathLike,
    *,
    overwrite: bool = False,
    client: Any = None,
    progress: bool | None = None,
) -> Path:
    """Write an xarray object to a new zarr store atomically, as ``daskgrad run`` does.

    The store is written to a hidden temporary sibling and swapped into place only when every
    chunk is written: a failure or an interrupt leaves no ``store`` (or the old one, untouched).
    Only the chunk writes are computed, so dask reads each input chunk close to the kernels
    that need it (xarray's own ``to_zarr`` ends in a task that depends on every write, behind
    which dask reads far ahead and an out-of-core run spills to disk).

    Parameters
    ----------
    obj : Dataset or named DataArray
        Lazy (dask) or in memory.
    store : str or path
        A new local zarr store. An existing one is replaced only with ``overwrite=True``, and
        only if it is a zarr store that none of ``obj``'s variables is read from.
    overwrite : bool
        Replace an existing zarr store once the new one is complete.
    client : distributed.Client, optional
        Compute on this cluster; by default the current distributed client if there is one,
        else dask's threads in this process.
    progress : bool, optional
        Show a progress bar; by default only when standard output is a terminal.

    Returns
    -------
    Path
        The absolute path of the written store.

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> ds = xr.Dataset({"T": (("y", "x"), np.arange(12.0).reshape(3, 4))}).chunk(2)
    >>> path = to_zarr(ds.grad("x"), tempfile.mkdtemp() + "/grad.zarr")
    >>> xr.open_zarr(path).dT_dx.values[0]
    array([1., 1., 1., 1.])
    """
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        if obj.name is None:
            raise ValueError("to_zarr: a DataArray needs a name to be stored; set obj.name")
        obj = obj.to_dataset()
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"to_zarr: obj must be an xarray Dataset or DataArray, not {type(obj)}")
    if not isinstance(store, str | os.PathLike) or "://" in os.fspath(store):
        raise ValueError(f"to_zarr: store must be a local path, got {store!r}")
    if client is None:
        with contextlib.suppress(ImportError, ValueError):
            from distributed import default_client

            client = default_client()
    if progress is None:
        progress = sys.stdout.isatty()
    try:
        target = Target(store, overwrite=overwrite, inputs=_source_paths(obj))
    except UsageError as e:
        raise ValueError(f"to_zarr: {str(e).replace('--overwrite', 'overwrite=True')}") from None
    write(obj, target, client, progress=progress)
    return target.output
