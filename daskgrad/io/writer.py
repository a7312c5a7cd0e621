"""Atomic zarr writing: the chunk writes computed as their own targets into a temporary
sibling, which is swapped into place only when complete; the public ``to_zarr``. Only the
chunk writes are computed, so dask reads each input chunk close to the kernels that need it
(xarray's own ``to_zarr`` ends in a task that depends on every write, behind which dask reads
far ahead and an out-of-core run spills).

The graph surgery is in ``tasks``, running it in ``compute``, failure wording in ``report``,
finding the stores an input reads in ``sources``."""

from __future__ import annotations

import contextlib
import numbers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import OptionError, OptionTypeError, OptionUsageError, UsageError
from .compute import compute_distributed, compute_local
from .inspect import name_reads
from .locations import (
    DEFAULT_STORE_TIMEOUT,
    MIN_STORE_TIMEOUT,
    Location,
    check_in_process,
    is_timeout,
    is_url,
    locate,
)
from .remote import CommitFailed, MarkerLeft, RemoteTarget
from .report import ComputeFailed, describe_key
from .sources import source_paths
from .target import ZARR_FORMATS, Target, check_overwrite
from .tasks import fuse_chains, fuse_kernels, fuse_reads, write_targets

# ComputeFailed, describe_key, write_targets and fuse_chains are imported from here too
__all__ = [
    "ComputeFailed",
    "WriteTarget",
    "check_store_timeout",
    "check_zarr_format",
    "describe_key",
    "fuse_chains",
    "make_target",
    "to_zarr",
    "write",
    "write_targets",
]


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
    pieces: Callable[[dict, list], list[list]] | None = None,
) -> None:
    """Compute ``result`` (a Dataset) into ``target``'s temporary and commit it, in zarr format
    ``zarr_format`` (2 or 3; None: zarr's default); on any failure or interrupt remove the
    temporary and leave OUTPUT as it was. ``pieces``: on a cluster, how the writes are split
    into graphs submitted one after another (``compute_distributed``)."""
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
        graph, writes = fuse_kernels(fuse_reads(graph), writes)  # fewer tasks per chunk
        if writes and client is not None:
            compute_distributed(graph, writes, client, progress, watch, pieces=pieces)
        elif writes:
            compute_local(graph, writes, progress)
        try:
            target.commit(on_commit)
        except CommitFailed as e:
            raise ComputeFailed(str(e)) from e
    except BaseException:
        target.discard()
        raise


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
    README's "Object stores").

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
    daskgrad.errors.OptionError: to_zarr: output ... exists; pass overwrite=True to replace it
    >>> xr.open_zarr(to_zarr(ds.grad("x") * 2, path, overwrite=True)).dT_dx.values[0]
    array([2., 2., 2., 2.])
    >>> tmp.cleanup()

    An fsspec URL gives the URL back (``overwrite=True``: the in-memory store outlives a run):

    >>> to_zarr(ds.grad("x"), "memory://doctest/grad.zarr", overwrite=True)
    'memory://doctest/grad.zarr'
    """
    obj = _as_dataset(obj)
    _check_store(store, storage_options)
    client = _default_client() if client is None else client
    progress = sys.stdout.isatty() if progress is None else progress
    try:
        zarr_format = check_zarr_format(zarr_format)
        overwrite = check_overwrite(overwrite)
        store_timeout = check_store_timeout(store_timeout)
        loc = locate(store, storage_options, "store", timeout=store_timeout)
        check_in_process(loc, client)
        sources = source_paths(obj)
        target = make_target(loc, overwrite, sources)
    except OptionError as e:  # the lower layers name the option, str() words it as a keyword
        raise type(e)(e.option, f"to_zarr: {e.template}", e.dims) from None
    except OptionUsageError as e:  # an existing output without overwrite=True: the option's
        raise OptionError(e.option, f"to_zarr: {e.template}") from None
    except UsageError as e:
        raise ValueError(f"to_zarr: {e}") from None
    if zarr_format is None:
        zarr_format = _source_format(sources)
    try:
        write(obj, target, client, progress=progress, zarr_format=zarr_format)
    except Exception as e:
        if stalled := _stalled(e, loc, overwrite, store_timeout):
            raise stalled from e
        raise
    return target.output


def check_zarr_format(zarr_format: Any) -> int | None:
    """The one check of ``zarr_format`` (``--zarr-format``): None (the input's, else zarr's
    default) or an int of :data:`ZARR_FORMATS`; an OptionError naming it otherwise.

    Examples
    --------
    >>> check_zarr_format(2.0)
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionTypeError: zarr_format must be 2 or 3 (an int), got 2.0
    """
    allowed = " or ".join(map(str, ZARR_FORMATS))
    if zarr_format is None:
        return None
    if not isinstance(zarr_format, int) or isinstance(zarr_format, bool):
        raise OptionTypeError(
            "zarr_format", f"{{opt:zarr_format}} must be {allowed} (an int), got {zarr_format!r}"
        )
    if zarr_format not in ZARR_FORMATS:
        raise OptionError(
            "zarr_format", f"{{opt:zarr_format}} must be {allowed}, got {zarr_format}"
        )
    return zarr_format


def check_store_timeout(store_timeout: Any) -> float | None:
    """The one check of ``store_timeout`` (``--store-timeout``): None, or seconds from
    ``MIN_STORE_TIMEOUT`` (the backend's pauses between its retries) up to 1e9; an
    :class:`~daskgrad.errors.OptionError` naming the option otherwise.

    Examples
    --------
    >>> check_store_timeout(60)
    60.0
    >>> check_store_timeout(1)
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: store_timeout must be at least 5 seconds; got 1
    """
    if store_timeout is None:
        return None
    if not isinstance(store_timeout, numbers.Real) or isinstance(store_timeout, bool):
        raise OptionTypeError(
            "store_timeout",
            f"{{opt:store_timeout}} must be a number of seconds or None; got {store_timeout!r}",
        )
    if not float(store_timeout) >= MIN_STORE_TIMEOUT:  # the backend's pauses between retries; NaN
        raise OptionError(
            "store_timeout",
            f"{{opt:store_timeout}} must be at least {MIN_STORE_TIMEOUT:g} seconds; "
            f"got {store_timeout:g}",
        )
    if not float(store_timeout) < 1e9:  # inf and 1e30 seconds are typos, not wishes
        raise OptionError(
            "store_timeout",
            f"{{opt:store_timeout}} must be less than 1e9 seconds; got {store_timeout:g}",
        )
    return float(store_timeout)


def _default_client() -> Any:
    """The current distributed client, if there is one, else None."""
    with contextlib.suppress(ImportError, ValueError):
        from distributed import default_client

        return default_client()
    return None


def _source_format(sources: list[Any]) -> int | None:
    """The zarr format of the one zarr store ``sources`` hold, else None (zarr's default)."""
    from .inspect import zarr_format_of

    formats = [f for f in map(zarr_format_of, sources) if f is not None]
    return formats[0] if len(formats) == 1 else None


def _check_store(store: Any, storage_options: Any) -> None:
    """``to_zarr``'s ``store`` and ``storage_options``, checked."""
    if not isinstance(store, str | os.PathLike):
        raise TypeError(f"to_zarr: store must be a path or an fsspec URL, got {store!r}")
    if storage_options and not is_url(store):
        raise ValueError("to_zarr: storage_options are for an fsspec URL store, not a path")


def _as_dataset(obj: Any) -> Any:
    """``to_zarr``'s ``obj`` as a Dataset (a named DataArray's)."""
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        if obj.name is None:
            raise ValueError("to_zarr: a DataArray needs a name to be stored; set obj.name")
        obj = obj.to_dataset()
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"to_zarr: obj must be an xarray Dataset or DataArray, not {type(obj)}")
    return obj


def _stalled(e: Exception, loc: Location, overwrite: bool, timeout: float | None) -> Any:
    """The TimeoutError naming ``loc`` for a write whose object store stopped answering
    (a request to it timed out), else None."""
    within = "the backend's timeouts" if timeout is None else f"store_timeout={timeout:g} s"
    if isinstance(e.__cause__, MarkerLeft) and is_timeout(e):  # after the commit
        return TimeoutError(
            f"to_zarr: store {loc}: the object store stopped answering (no reply within "
            f"{within}) after the new store was written: {e.__cause__.complete}"
        )
    name = loc.path.rpartition("/")[2]
    ours = (f"/{loc.path}/", f"/{loc.sibling(f'.{name}.daskgrad-')}")
    committing = isinstance(e.__cause__, CommitFailed)
    if not is_timeout(e) or committing or not any(p in str(e) for p in ours):
        return None
    kept = "the old store is as it was" if overwrite else "nothing readable was written"
    return TimeoutError(
        f"to_zarr: store {loc}: the object store stopped answering (no reply within "
        f"{within}); {kept}"
    )
