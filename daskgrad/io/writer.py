"""Atomic zarr writing: the chunk writes computed as their own targets into a temporary
sibling, which is swapped into place only when complete; the public ``to_zarr``."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError, first_line, strip_tokens
from .inspect import ReadFailed, name_reads
from .locations import (
    DEFAULT_STORE_TIMEOUT,
    Location,
    check_in_process,
    is_timeout,
    is_url,
    locate,
)
from .remote import CommitFailed, RemoteTarget
from .target import Target


class ComputeFailed(RuntimeError):
    """A task failed while computing: one line with the first error, its variable and chunk."""


def write_targets(graph: dict, closing: Any) -> list:
    """What to compute of xarray's delayed zarr write: the writes, not the task closing them.

    Each dependency of the ``closing`` task that only gathers chunk writes (dask.array.store's
    ``store-map`` tasks, one gather per variable) is replaced by those writes, aliases resolved
    (an alias is one more task to schedule). Any other dependency, such as a small variable's
    write fused with its gather, is kept as it is: computed whole, it is still written.
    """
    from dask.core import get_dependencies

    from ..compat import Alias  # compat needs a dask with task-spec aliases

    aliases: tuple[type, ...] = (Alias,)

    def resolve(key):
        while isinstance(graph.get(key), aliases):
            key = graph[key].target
        return key

    def is_write(key):
        return isinstance(key, tuple) and str(key[0]).startswith("store-map-")

    targets: list[Any] = []
    for dep in map(resolve, get_dependencies(graph, closing)):
        writes = get_dependencies(graph, dep)
        if writes and all(map(is_write, writes)):
            targets.extend(map(resolve, writes))
        else:
            targets.append(dep)
    return targets


def fuse_chains(graph: dict, writes: list) -> dict:
    """``graph`` with each write fused with the writing tasks below it that only it needs
    (dask.array.store's identity wrappers): one task to schedule per output chunk instead of
    two. The writes keep their keys; reads and kernels stay tasks of their own, so that a
    failure is still blamed on them."""
    from dask.core import get_dependencies, reverse_dict

    from ..compat import Task, convert_legacy_graph

    graph = convert_legacy_graph(graph)
    deps = {k: get_dependencies(graph, k) for k in graph}
    dependents = reverse_dict(deps)
    keep = set(writes)
    for key in writes:
        chain, cur = [graph[key]], key
        while len(deps[cur]) == 1:
            (below,) = deps[cur]
            task = graph.get(below)
            if (
                below in keep
                or len(dependents[below]) != 1
                or not isinstance(task, Task)
                or "store-map-" not in str(below[0] if isinstance(below, tuple) else below)
            ):
                break
            chain.insert(0, task)
            cur = below
        if len(chain) > 1 and isinstance(chain[-1], Task):
            for task in chain[:-1]:
                del graph[task.key]
            graph[key] = Task.fuse(*chain, key=key)
    return graph


def describe_key(key: Any) -> str:
    """Where a task key comes from, in a user's words: 'input variable 't', chunk (0, 1)'."""
    name, index = (key[0], tuple(key[1:])) if isinstance(key, tuple) else (key, ())
    name = str(name).removeprefix("original-")
    where = f", chunk {index}" if index else ""
    if "-finalize-" in name or name.startswith("finalize-"):
        # a graph of one chunk, fused by dask into its finalizing task: names mean nothing
        return "computing and writing the output"
    if name.startswith("open_dataset-"):
        # xarray names it open_dataset-VAR-TOKEN, with more -TOKENs after a rechunk
        return f"reading input variable {strip_tokens(name[13:])!r}{where}"
    if name.startswith("read-"):  # several inputs' chunks read in one task
        names = " and ".join(map(repr, strip_tokens(name[5:]).split("+")))
        return f"reading input variables {names}{where}"
    if "store-map-" in name or name.startswith("store-"):
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
    from dask.highlevelgraph import HighLevelGraph
    from distributed import as_completed

    keys = {str(k) for k in graph}
    # as a HighLevelGraph: distributed names a plain dict graph by tokenizing every task,
    # a third of a second for 10^3 tasks
    layers = HighLevelGraph({"daskgrad-write": graph}, {"daskgrad-write": set()})
    futures = client.get(layers, writes, sync=False)
    try:
        if progress:
            import threading

            from distributed import progress as progress_bar

            # the text bar, also in Jupyter (its widget needs ipywidgets); in a thread of its
            # own, so that this one keeps checking (watch.check acts on a held Ctrl-C)
            kwargs = {"multi": False, "scheduler": client.scheduler.address, "notebook": False}
            bar = threading.Thread(target=progress_bar, args=(futures,), kwargs=kwargs)
            bar.daemon = True
            bar.start()
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
            if progress:
                bar.join(5.0)  # its last line drawn before the summary
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
            if client.status != "running":  # the scheduler went away: distributed cancels all
                raise ComputeFailed(f"lost the dask scheduler at {client.scheduler.address}") from e
            raise ComputeFailed(f"the write of {describe_key(fut.key)} was cancelled") from e
        if isinstance(e, ReadFailed):  # names the input variable and its stored chunk
            raise ComputeFailed(str(e)) from e
        try:
            key = client.run_on_scheduler(_blame, fut.key)
        except Exception:
            key = fut.key
        raise ComputeFailed(f"{describe_key(key)}: {first_line(e)}") from e


def _compute_local(graph, writes, progress) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import dask.threaded

    bar: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if progress:
        from dask.diagnostics import ProgressBar

        bar = ProgressBar()
    pool = ThreadPoolExecutor(os.cpu_count() or 1)
    try:
        with bar:
            dask.threaded.get(graph, writes, pool=pool)
    except ReadFailed as e:  # names the input variable and its stored chunk
        raise ComputeFailed(str(e)) from e
    finally:
        # tasks already running finish before the temporary is removed, so none writes into
        # a store that no longer exists
        pool.shutdown(wait=True, cancel_futures=True)


class WriteTarget(Protocol):
    """What ``write`` needs of a target (a Target, a RemoteTarget or a proxy of one)."""

    @property
    def tmp(self) -> Any: ...

    def commit(self, on_commit: Callable[[], None] | None = None) -> None: ...

    def discard(self) -> None: ...


def write(
    result: Any,
    target: WriteTarget,
    client: Any = None,
    *,
    progress: bool = False,
    watch: Any = None,
    on_commit: Callable[[], None] | None = None,
    zarr_format: int | None = None,
) -> None:
    """Compute ``result`` (a Dataset) into ``target``'s temporary and commit it, in zarr format
    ``zarr_format`` (2 or 3; None: zarr's default); on any failure or interrupt remove the
    temporary and leave OUTPUT as it was."""
    from dask.optimization import cull
    from dask.utils import ensure_dict

    try:
        with contextlib.ExitStack() as stack:
            import warnings

            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")  # zarr v3 "consolidated metadata is not in the spec"
            # metadata and in-memory coordinates are written now, array chunks below
            fmt = {}
            if zarr_format:
                fmt, result = {"zarr_format": zarr_format}, _fit_codecs(result, zarr_format)
            delayed = result.to_zarr(target.tmp, mode="w", compute=False, **fmt)
        # a read that fails names its input variable and stored chunk, whichever task reads
        graph = name_reads(ensure_dict(delayed.__dask_graph__()))
        # Only the chunk writes are computed, each as its own target. xarray's closing task
        # (which closes a copy of the store on a worker) depends on all of them, and behind it
        # dask.order reads input chunks far ahead of the neighbours their kernels wait for:
        # about 140 chunks held per worker instead of 6 on the out-of-core benchmark, which
        # then spills to disk.
        writes = write_targets(graph, delayed.key)
        # culled here, not left to the scheduler: dask.order must not see the closing task
        graph = fuse_chains(cull(graph, writes)[0], writes)
        if writes and client is not None:
            _compute_distributed(graph, writes, client, progress, watch)
        elif writes:
            _compute_local(graph, writes, progress)
        try:
            target.commit(on_commit)
        except CommitFailed as e:
            raise ComputeFailed(str(e)) from e
    except BaseException:
        target.discard()
        raise


# attributes through which array wrappers (xarray's, dask's getters, zarr's) reach their store
_THROUGH = (
    "array", "_array", "store", "_store", "chunk_store", "_chunk_store", "store_path",
    "datastore", "zarr_group", "zarr_array", "_manager", "mapper", "map",
)  # fmt: skip


def _sources_in(x: Any, found: dict[str, Any], seen: dict[int, Any], depth: int = 0) -> None:
    """Add to ``found`` the stores and files that ``x`` (a task, a node's value) reads."""
    import numpy as np
    from fsspec import AbstractFileSystem

    from .locations import fs_location

    if depth > 24 or id(x) in seen or x is None or isinstance(x, str | bytes | int | float):
        return
    if isinstance(x, np.ndarray | np.generic | AbstractFileSystem | type):
        return
    seen[id(x)] = x  # held: a property's fresh object must not free its id for another
    inner: list[Any] = []
    if isinstance(x, list | tuple | set | frozenset):
        inner = list(x)
    elif isinstance(x, dict):
        inner = list(x.values())
    elif type(x).__module__.startswith("dask"):  # the task spec
        inner = [getattr(x, a, None) for a in ("value", "args", "kwargs", "func")]
    fs, name, root = getattr(x, "fs", None), type(x).__name__, None
    if isinstance(fs, AbstractFileSystem):  # FsspecStore, zarr 2 FSStore, FSMap, OpenFile
        path = next((p for a in ("path", "root") if isinstance(p := getattr(x, a, None), str)), "")
        loc = fs_location(fs, path)
        found.setdefault(str(loc), loc)
        return
    if name == "LocalStore":  # zarr 3
        root = getattr(x, "root", None)
    elif name in ("DirectoryStore", "NestedDirectoryStore", "N5Store", "ZipStore"):  # zarr 2
        root = getattr(x, "path", None)
    elif name == "CachingFileManager":  # xarray's netCDF files: the file is its first argument
        root = next(iter(getattr(x, "_args", ()) or ()), None)
    if isinstance(root, str | os.PathLike) and not is_url(root):
        found.setdefault(os.path.abspath(root), Path(os.path.abspath(root)))
        return
    inner.append(root)
    for attr in _THROUGH:
        with contextlib.suppress(Exception):
            inner.append(getattr(x, attr, None))
    for y in inner:
        _sources_in(y, found, seen, depth + 1)


_CODEC_KEYS = ("compressors", "compressor", "filters", "serializer", "shards", "fill_value")


def _fit_codecs(result: Any, zarr_format: int) -> Any:
    """``result`` without the codecs its variables' encodings carry from a store of the other
    zarr format (numcodecs' for zarr 2, zarr's own for zarr 3): zarr's defaults instead."""
    from zarr.abc.codec import BaseCodec

    def other(codec: Any) -> bool:
        return (isinstance(codec, BaseCodec)) != (zarr_format == 3)

    result = result.copy(deep=False)
    for var in result.variables.values():
        enc = var.encoding
        codecs = [enc.get("compressor"), enc.get("serializer")]
        codecs += [*(enc.get("compressors") or ()), *(enc.get("filters") or ())]
        if any(c is not None and other(c) for c in codecs):
            var.encoding = {k: v for k, v in enc.items() if k not in _CODEC_KEYS}
    return result


def _source_paths(obj: Any) -> list[Any]:
    """Files and zarr stores (paths, or Locations for fsspec stores) the variables of ``obj``
    are read from, whatever opened them: xarray, ``da.from_zarr``, ``zarr.open`` with
    ``da.from_array``, zarr stores of zarr 2 and 3, fsspec mappers; found in the dask graph."""
    found: dict[str, Any] = {}
    seen: dict[int, Any] = {}
    for var in [obj, *obj.variables.values()]:  # a Dataset's own encoding names its store
        source = var.encoding.get("source")
        if isinstance(source, str) and not is_url(source):
            found.setdefault(os.path.abspath(source), Path(os.path.abspath(source)))
        graph = None if var is obj else getattr(var.data, "dask", None)
        for node in dict(graph or {}).values():
            _sources_in(node, found, seen)
    return list(found.values())


def make_target(
    output: Location,
    overwrite: bool,
    inputs: list[Any],
    say: Callable[[str], None] | None = None,
) -> Target | RemoteTarget:
    """The target for OUTPUT: a temporary sibling directory locally, held-back metadata on an
    object store. ``inputs`` are paths or Locations that OUTPUT must stay clear of."""
    as_loc = [i if isinstance(i, Location) else Location(str(i), local=Path(i)) for i in inputs]
    if output.local is None:
        return RemoteTarget(output, overwrite=overwrite, inputs=as_loc, say=say)
    on_disk = [i for i in as_loc if i.disk is not None]
    return Target(output.local, overwrite=overwrite, inputs=on_disk, say=say)


def to_zarr(
    obj: Any,
    store: str | os.PathLike,
    *,
    overwrite: bool = False,
    client: Any = None,
    progress: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    zarr_format: int | None = None,
    store_timeout: float | None = DEFAULT_STORE_TIMEOUT,
) -> Path | str:
    """Write an xarray object to a new zarr store atomically, as ``daskgrad run`` does.

    Locally the store is written to a hidden temporary sibling and swapped into place only
    when every chunk is written: a failure or an interrupt leaves no ``store`` (or the old one,
    untouched). On an object store (an fsspec URL) every chunk is written first and the zarr
    metadata last, and a failure deletes what was written; ``overwrite`` there replaces the
    old store only after the new one is complete, with a short window without either (see the
    README's "Object stores"). Only the chunk writes are computed, so dask reads each input
    chunk close to the kernels that need it (xarray's own ``to_zarr`` ends in a task that
    depends on every write, behind which dask reads far ahead and an out-of-core run spills).

    Parameters
    ----------
    obj : Dataset or named DataArray
        Lazy (dask) or in memory.
    store : str or path
        A new zarr store: a local path or an fsspec URL (``s3://bucket/out.zarr``,
        ``gs://…``, ``memory://…``, ``file://…``). An existing one is replaced only with
        ``overwrite=True``, and only if it is a zarr store that none of ``obj``'s variables
        is read from.
    overwrite : bool
        Replace an existing zarr store once the new one is complete.
    client : distributed.Client, optional
        Compute on this cluster; by default the current distributed client if there is one,
        else dask's threads in this process. Its workers write the chunks themselves.
    progress : bool, optional
        Show a progress bar; by default only when standard output is a terminal.
    storage_options : dict, optional
        Passed to fsspec for a URL ``store`` (credentials, ``client_kwargs``, ``anon``…).
    zarr_format : {2, 3}, optional
        The zarr format of the new store; by default that of the zarr store ``obj`` is read
        from, if it is read from exactly one, else zarr's default.
    store_timeout : float or None
        Seconds every request to an s3:// ``store`` may take, connect and read, with the
        backend's retries (default 300, as ``daskgrad run --store-timeout``; a
        ``config_kwargs`` in ``storage_options`` wins); None leaves the backend's own
        timeouts. A store that stops answering raises TimeoutError naming it, and the old
        store is left as it was. It bounds requests to ``store`` only: inputs keep the
        options they were opened with.

    Returns
    -------
    Path or str
        The absolute path of the written store, or its URL (without credentials).

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> ds = xr.Dataset({"T": (("y", "x"), np.arange(12.0).reshape(3, 4))}).chunk(2)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = to_zarr(ds.grad("x"), tmp.name + "/grad.zarr")
    >>> path.name, path.is_absolute()
    ('grad.zarr', True)
    >>> xr.open_zarr(path).dT_dx.values[0]
    array([1., 1., 1., 1.])
    >>> to_zarr(ds.grad("x") * 2, path)
    Traceback (most recent call last):
    ...
    ValueError: to_zarr: output ... exists; pass overwrite=True to replace it
    >>> xr.open_zarr(to_zarr(ds.grad("x") * 2, path, overwrite=True)).dT_dx.values[0]
    array([2., 2., 2., 2.])
    >>> tmp.cleanup()

    An fsspec URL gives the URL back (``overwrite=True``: the in-memory store outlives a run):

    >>> to_zarr(ds.grad("x"), "memory://doctest/grad.zarr", overwrite=True)
    'memory://doctest/grad.zarr'
    """
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        if obj.name is None:
            raise ValueError("to_zarr: a DataArray needs a name to be stored; set obj.name")
        obj = obj.to_dataset()
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"to_zarr: obj must be an xarray Dataset or DataArray, not {type(obj)}")
    if not isinstance(store, str | os.PathLike):
        raise TypeError(f"to_zarr: store must be a path or an fsspec URL, got {store!r}")
    if storage_options and not is_url(store):
        raise ValueError("to_zarr: storage_options are for an fsspec URL store, not a path")
    if zarr_format not in (None, 2, 3) or isinstance(zarr_format, bool):
        raise ValueError(f"to_zarr: zarr_format must be 2 or 3, got {zarr_format!r}")
    if client is None:
        with contextlib.suppress(ImportError, ValueError):
            from distributed import default_client

            client = default_client()
    if progress is None:
        progress = sys.stdout.isatty()
    if store_timeout is not None and not 5 <= store_timeout < 1e9:
        raise ValueError(f"to_zarr: store_timeout must be at least 5 seconds; got {store_timeout}")
    try:
        loc = locate(store, storage_options, "store", timeout=store_timeout)
        check_in_process(loc, client)
        sources = _source_paths(obj)
        target = make_target(loc, overwrite, sources)
    except UsageError as e:
        raise ValueError(f"to_zarr: {e}") from None  # the API's words (overwrite=True)
    if zarr_format is None:
        from .inspect import zarr_format_of

        formats = [f for f in map(zarr_format_of, sources) if f is not None]
        zarr_format = formats[0] if len(formats) == 1 else None
    try:
        write(obj, target, client, progress=progress, zarr_format=zarr_format)
    except Exception as e:
        name = loc.path.rpartition("/")[2]
        ours = (f"/{loc.path}/", f"/{loc.sibling(f'.{name}.daskgrad-')}")
        committing = isinstance(e.__cause__, CommitFailed)
        if is_timeout(e) and not committing and any(p in str(e) for p in ours):
            kept = "the old store is as it was" if overwrite else "nothing readable was written"
            raise TimeoutError(
                f"to_zarr: store {loc}: the object store stopped answering (no reply within "
                f"store_timeout={store_timeout:g} s); {kept}"
            ) from e
        raise
    return target.output
