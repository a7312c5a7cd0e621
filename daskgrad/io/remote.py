"""Atomic output on object stores, which have no rename: every chunk first, the zarr metadata
last, what was written removed on failure; ``--overwrite`` through a hidden sibling prefix."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from zarr.storage import WrapperStore

from ..errors import UsageError
from ..signals import STOP_WAIT, held, pid_alive
from .locations import (
    CONSOLIDATED,
    ZARR_MARKERS,
    Location,
    access,
    base_fs,
    bucket_of,
    check_bucket,
    check_not_nested,
    clean_url,
    redact,
    relation,
    same_endpoint,
)
from .target import TEMP_NAME, Discarding, check_clear, check_replace, signals_deferred

_META = frozenset(ZARR_MARKERS) | {CONSOLIDATED, ".zattrs"}
# written last, in this order: the root's metadata (v2: the group, then the consolidated
# metadata readers try first; v3: the root zarr.json, which holds the consolidated metadata)
_ROOT_ORDER = (".zattrs", ".zarray", ".zgroup", "zarr.json", ".zmetadata")


def is_metadata(key: str) -> bool:
    """True for a zarr v2 or v3 metadata key: ``zarr.json``, ``.zarray``, ``a/.zattrs``…"""
    return key.rpartition("/")[2] in _META


def metadata_order(keys: Sequence[str]) -> list[str]:
    """Metadata keys in the order they are written: deepest arrays first, the root last.

    Examples
    --------
    >>> metadata_order(["zarr.json", "t/zarr.json", "x/zarr.json"])
    ['t/zarr.json', 'x/zarr.json', 'zarr.json']
    >>> metadata_order([".zmetadata", ".zgroup", "t/.zarray", ".zattrs"])
    ['t/.zarray', '.zattrs', '.zgroup', '.zmetadata']
    """
    inner = sorted((k for k in keys if "/" in k), key=lambda k: (-k.count("/"), k))
    root = sorted((k for k in keys if "/" not in k), key=_ROOT_ORDER.index)
    return inner + root


class CommitFailed(Exception):
    """Replacing an old store failed (before or after its deletion began: the message says
    which) once the new store was complete; the message says where the new one is."""


class MarkerLeft(CommitFailed):
    """The new store is complete (committed); only removing this run's marker beside it
    failed. ``complete``: what is true, for the callers' lines naming the store and the
    cause; the message says it all on one line."""

    def __init__(self, output: str, marker: str, reason: str) -> None:
        self.complete = (
            f"it is complete; only removing this run's marker {marker} failed, which the next "
            "run to it from this host removes (once this process has ended)"
        )
        super().__init__(f"{output} was written: {self.complete} ({reason})")


class HeldMetadata(WrapperStore):
    """A zarr store that keeps metadata in memory and passes chunks through: xarray creates
    the arrays (and consolidates) here, workers write chunks to the real store, and the
    metadata reaches it only in ``RemoteTarget.commit``, once every chunk is there."""

    def __init__(self, store: Any, held: dict | None = None) -> None:
        super().__init__(store)
        self.held: dict[str, Any] = {} if held is None else held

    def _with_store(self, store: Any) -> HeldMetadata:
        return type(self)(store, self.held)

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        if key in self.held:
            return self.held[key]
        if is_metadata(key):
            return None  # an old store's metadata is never ours
        return await self._store.get(key, prototype, byte_range)

    async def exists(self, key: str) -> bool:
        if is_metadata(key):
            return key in self.held
        return await self._store.exists(key)

    async def set(self, key: str, value: Any) -> None:
        if is_metadata(key):
            self.held[key] = value
        else:
            await self._store.set(key, value)

    async def set_if_not_exists(self, key: str, value: Any) -> None:
        if is_metadata(key):
            self.held.setdefault(key, value)
        else:
            await self._store.set_if_not_exists(key, value)

    async def _set_many(self, values: Any) -> None:
        for key, value in values:
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        self.held.pop(key, None)
        if not is_metadata(key):
            await self._store.delete(key)

    async def delete_dir(self, prefix: str) -> None:
        # the prefix was checked empty: nothing of anyone else's is deleted here
        for key in [k for k in self.held if k.startswith(prefix)]:
            del self.held[key]

    async def clear(self) -> None:
        self.held.clear()

    async def is_empty(self, prefix: str) -> bool:
        return not any(k.startswith(prefix) for k in self.held)

    async def _keys(self, listing: AsyncIterator[str]) -> list[str]:
        return [k async for k in listing if not is_metadata(k)]

    async def list(self) -> AsyncIterator[str]:  # type: ignore[override]
        for key in [*await self._keys(self._store.list()), *self.held]:
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:  # type: ignore[override]
        below = await self._keys(self._store.list_prefix(prefix))
        for key in [*below, *(k for k in self.held if k.startswith(prefix))]:
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:  # type: ignore[override]
        prefix = prefix.rstrip("/")
        start = f"{prefix}/" if prefix else ""
        names = set(await self._keys(self._store.list_dir(prefix)))
        names |= {k[len(start) :].split("/")[0] for k in self.held if k.startswith(start)}
        for name in sorted(names):
            yield name


class RemoteTarget(Discarding):
    """A checked OUTPUT on an object store, announced by a marker object beside it (host, pid)
    so that a later run can clean up after a killed one. ``commit`` writes the metadata (or,
    with ``--overwrite``, replaces the old store); ``discard`` deletes what was written."""

    def __init__(
        self,
        output: Location,
        *,
        overwrite: bool = False,
        inputs: Sequence[Location] = (),
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.loc, self.fs = output, output.fs
        self.output = str(output)
        self.say = say or (lambda s: None)
        self.leftover: str | None = None
        self._committed = self._keep = self._discarded = False
        with access(output, "output"):
            remove_stale_remote(output, self.say)
            replace = check_remote_output(output, overwrite, inputs)
            name = output.path.rpartition("/")[2]
            tag = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.marker = output.sibling(f".{name}.daskgrad-{tag}.writing")
            self.replace = replace
            self.prefix = output.sibling(f".{name}.daskgrad-{tag}.tmp") if replace else output.path
            info = {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
            self.fs.pipe(self.marker, json.dumps({**info, "replace": replace}).encode())
            try:
                self.tmp = HeldMetadata(output.zarr_store(read_only=False, path=self.prefix))
            except BaseException:
                self._remove(self.marker)
                raise
        if replace:
            self.say(
                f"--overwrite on an object store: {output} stays readable while the new store "
                "is computed; then it is deleted and the new one copied in its place, and "
                "between the two there is no readable store (object stores have no rename)"
            )

    def _objects(self, prefix: str) -> list[str]:
        self.fs.invalidate_cache()
        try:
            return sorted(self.fs.find(prefix))
        except FileNotFoundError:
            return []

    def _put_metadata(self, prefix: str) -> None:
        for key in metadata_order(list(self.tmp.held)):
            self.fs.pipe(f"{prefix}/{key}", self.tmp.held[key].to_bytes())

    def commit(self, on_commit: Callable[[], None] | None = None) -> None:
        """Write the metadata after every chunk; with ``--overwrite`` replace the old store."""
        out = self.loc.path
        with signals_deferred():
            if not self.replace:
                self._put_metadata(out)
            else:
                self._put_metadata(self.prefix)  # the temporary is whole: nothing is lost
                self._keep = True
                deleting = deleted = False  # the old store's deletion begun, done
                try:
                    old = self._objects(out)
                    root = [p for p in old if p.rpartition("/")[0] == out and is_metadata(p)]
                    deleting = True
                    if root:  # unreadable from here on, then emptied
                        self.fs.rm(root)
                    if rest := [p for p in old if p not in root]:
                        self.fs.rm(rest)
                    deleted = True
                    new = [p for p in self._objects(self.prefix) if not is_metadata(p)]
                    if new:
                        self.fs.copy(new, [out + p[len(self.prefix) :] for p in new])
                    self._put_metadata(out)
                except Exception as e:
                    tmp = f"{self.loc.protocol}://{self.prefix}"
                    why = redact(str(e).splitlines()[0] if str(e) else type(e).__name__)
                    if deleting and not deleted:
                        raise CommitFailed(
                            f"replacing {self.output} failed while deleting its old store "
                            f"({why}): it may be partly deleted; the new store is complete at "
                            f"{tmp}"
                        ) from e
                    if deleted:
                        raise CommitFailed(
                            f"replacing {self.output} failed after its old store was deleted "
                            f"({why}); the new store is complete at {tmp}"
                        ) from e
                    raise CommitFailed(
                        f"replacing {self.output} failed before its old store was touched "
                        f"({why}): the old store is as it was; the new store is complete at "
                        f"{tmp} (the next run to OUTPUT from this host removes it)"
                    ) from e
                self._keep = False
                self._remove(self.prefix)
            self._committed = True
            if on_commit is not None:
                on_commit()
            try:
                self._remove(self.marker)
            except Exception as e:  # the store is complete: say so, not a backend's traceback
                raise MarkerLeft(
                    self.output, f"{self.loc.protocol}://{self.marker}", _line(e)
                ) from e

    def _remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already gone: nothing to remove
            self.fs.rm(path, recursive=True)

    def discard(self) -> None:
        """Delete the objects this run wrote (never once committed); never raises. Tried
        once: a store that stopped answering is not asked again (each try waits the bound).
        After a signal each deletion waits ``STOP_WAIT`` seconds at most (``leftover`` then
        names what is left, with the marker the next run's recovery goes by)."""
        if self._committed or self._keep or self._discarded:
            return
        self._discarded = True
        bound = STOP_WAIT if held() is not None else None
        try:
            _within(bound, lambda: self._remove(self.prefix))
            _within(bound, lambda: self._remove(self.marker))
        except Exception:
            self.leftover = f"{self.loc.protocol}://{self.prefix}"


def check_remote_output(output: Location, overwrite: bool, inputs: Sequence[Location]) -> bool:
    """UsageError if OUTPUT may not be written; True if it is a zarr store to replace."""
    fs = output.fs
    if bucket_of(output) is not None and "/" not in output.path.strip("/"):
        raise UsageError(f"output {output} is a bucket; name a zarr store inside it")
    if (disk := output.disk) is not None:  # a chained or file:// URL on this disk
        check_clear(disk, str(output), [i for i in inputs if i.disk is not None])
    # Endpoints as text cannot be compared (localhost and 127.0.0.1, a trailing "/"): the
    # same backend, bucket and key is refused unless the endpoints are proven different.
    unsure = []
    for inp in inputs:
        if inp.disk is not None or (rel := relation(output, inp)) is None:
            continue
        if why := same_endpoint(output.endpoint, inp.endpoint):
            raise UsageError(_clash(output, inp, rel, why))
        unsure.append((inp, rel))
    try:
        check_bucket(output)
    except FileNotFoundError:
        raise UsageError(
            f"output {output}: bucket {output.path.split('/')[0]!r} does not exist"
        ) from None
    check_not_nested(str(output), output.enclosing_store())  # before the probes write
    for inp, rel in unsure:
        if why := _probe(output, inp):
            raise UsageError(_clash(output, inp, rel, why))
    fs.invalidate_cache()
    if not fs.exists(output.path):
        return False
    zarr = output.has_zarr_metadata()
    if not zarr and (writer := _writer_of(output)):
        tmp = output.sibling(writer.marker.removesuffix(".writing") + ".tmp")
        if output.has_zarr_metadata(tmp):  # its commit had begun: the temporary is whole
            raise UsageError(
                f"output {output} is being replaced by {writer}, whose new store is complete "
                f"at {output.protocol}://{tmp} (OUTPUT has no zarr metadata: its old store is "
                "deleted or being deleted); keep that temporary, the only complete copy; if "
                "that run is dead, copy its objects into OUTPUT, its root metadata last"
            )
        raise UsageError(
            f"output {output} is being written by {writer} (no zarr metadata yet); if that "
            "run is dead, delete the objects under OUTPUT and its marker "
            f"{output.protocol}://{output.sibling(writer.marker)}"
        )
    check_replace(
        output,
        overwrite,
        file=lambda: fs.isfile(output.path) and "an object",
        not_zarr=lambda: (
            not zarr
            and "holds objects but no zarr metadata at its root (zarr.json, .zgroup, .zarray)"
        ),
    )
    return True


def _clash(output: Location, inp: Location, rel: str, why: str) -> str:
    def at(loc: Location) -> str:
        return f" at {clean_url(loc.endpoint)}" if loc.endpoint else ""

    return (
        f"output {output}{at(output)} {rel} the input {inp}{at(inp)} ({why}); choose another path"
    )


def _probe(output: Location, inp: Location) -> str | None:
    """Why OUTPUT and an input with the same backend, bucket and key may be one store: an
    object written beside OUTPUT through its endpoint is seen through the input's, or that
    cannot be told. None when the input's endpoint provably does not see it."""
    out_fs, _ = base_fs(output.fs, output.path)
    in_fs, _ = base_fs(inp.fs, inp.path)
    if getattr(in_fs, "asynchronous", False):  # zarr's stores hold async filesystems
        import fsspec

        opts = {k: v for k, v in in_fs.storage_options.items() if k != "asynchronous"}
        in_fs = fsspec.filesystem(inp.key[0], skip_instance_cache=True, **opts)
    name = output.path.rpartition("/")[2]
    probe = output.sibling(f".{name}.daskgrad-{socket.gethostname()}-{uuid.uuid4().hex}.probe")
    try:
        out_fs.pipe(probe, b"")
    except Exception as e:
        return f"cannot tell whether they are one store: writing a probe failed: {_line(e)}"
    try:
        in_fs.invalidate_cache()
        in_fs.info(probe)
        return "an object written through the output's endpoint is seen through the input's"
    except FileNotFoundError:
        return None
    except Exception as e:
        return f"cannot tell whether they are one store: {_line(e)}"
    finally:
        with contextlib.suppress(Exception):
            out_fs.rm(probe)


def _line(e: BaseException) -> str:
    return redact(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)


class _Writer(str):
    marker: str


def _writer_of(output: Location) -> _Writer | None:
    """'a run on HOST (pid PID)' for the marker of a run writing ``output``, if there is one."""
    name, parent = output.path.rpartition("/")[2], output.path.rpartition("/")[0]
    output.fs.invalidate_cache()
    try:
        entries = output.fs.ls(parent, detail=False) if parent else []
    except FileNotFoundError:
        return None
    for entry in entries:
        base = entry.rstrip("/").rpartition("/")[2]
        if base.startswith(f".{name}.daskgrad-") and base.endswith(".writing"):
            m = TEMP_NAME.fullmatch(base[len(name) + 1 :].removesuffix(".writing") + ".tmp")
            if m:
                writer = _Writer(f"a run on {m['host']} (pid {m['pid']})")
                writer.marker = base
                return writer
    return None


def remove_stale_remote(output: Location, say: Callable[[str], None]) -> None:
    """Remove what dead runs to ``output`` on this host left: their temporary prefixes and
    markers, and the chunks of a new store they never committed (no metadata at its root).
    A dead ``--overwrite`` run's replacement that had begun is finished first (see
    ``_finish_replacement``): its temporary may be the only complete store.

    All of it is done by one run at a time (``_take_claim``): two runs that start together
    would otherwise both finish a replacement, one deleting what the other had just copied.
    """
    if not _dead_entries(output):
        return
    claim = _take_claim(output, say)
    try:
        _remove_dead(output, _dead_entries(output), say)  # listed again, under the claim
    finally:
        _release_claim(output, claim)


def _dead_entries(output: Location) -> list[tuple[str, str, str, str]]:
    """(path, name, kind, pid) of the temporaries and markers beside ``output`` of dead runs
    on this host, listed afresh."""
    fs, host = output.fs, socket.gethostname()
    name = output.path.rpartition("/")[2]
    parent = output.path.rpartition("/")[0]
    fs.invalidate_cache()  # a listing cached by this process may predate a dead run's objects
    try:
        entries = fs.ls(parent, detail=False) if parent else []
    except FileNotFoundError:
        return []
    prefix = f".{name}"
    dead = []
    for entry in sorted(entries):
        base = entry.rstrip("/").rpartition("/")[2]
        m = TEMP_NAME.fullmatch(base[len(prefix) :]) if base.startswith(prefix) else None
        kind = base.rpartition(".")[2]
        if m is None and kind == "writing":
            m = TEMP_NAME.fullmatch(base[len(prefix) :].removesuffix(".writing") + ".tmp")
        if m is None or m["host"] != host or pid_alive(int(m["pid"])):
            continue
        dead.append((entry, base, kind, m["pid"]))
    return dead


def _remove_dead(
    output: Location, dead: Sequence[tuple[str, str, str, str]], say: Callable[[str], None]
) -> None:
    fs = output.fs
    done = _finish_replacement(output, [(e, p) for e, _, k, p in dead if k == "writing"], say)
    for entry, base, kind, pid in dead:
        if entry.rstrip("/").removesuffix(".tmp").removesuffix(".writing") in done:
            continue
        if kind == "writing":
            fs.invalidate_cache()
            # what a dead writer left at OUTPUT without root metadata is its own debris: a new
            # store's chunks, or what was copied of a replacement whose temporary is not whole
            if fs.exists(output.path) and not output.has_zarr_metadata():
                fs.rm(output.path, recursive=True)
                say(
                    f"removed the uncommitted chunks under {output}, left by a dead run (pid {pid})"
                )
            fs.rm(entry)
        else:
            fs.rm(entry, recursive=True)
            say(f"removed {base}, left by a dead run (pid {pid})")


# the claims this process holds (their ids): a claim naming this process and not among them
# is one it left behind (a failed release), as a dead run's
_HELD: set[str] = set()
_CLAIM_POLL = 0.2  # seconds between looks at a live run's claim


def _claim_key(output: Location) -> str:
    return output.sibling(f".{output.path.rpartition('/')[2]}.daskgrad-finishing")


def _take_claim(output: Location, say: Callable[[str], None]) -> str:
    """Claim the right to clean up after dead runs to ``output``: an object beside it naming
    this run (host, pid), created only if absent (S3: ``If-None-Match: *``). A claim by a live
    run on this host is waited for (said once); one by a dead run is taken over only if it is
    still that run's (S3: ``If-Match`` its ETag), so of two runs taking it over one wins. A
    claim by a run on another host, whose life cannot be told from here, is a UsageError.
    Returns the claim's id (released by ``_release_claim``)."""
    fs, key, host = output.fs, _claim_key(output), socket.gethostname()
    ident = uuid.uuid4().hex
    mine = json.dumps({"host": host, "pid": os.getpid(), "id": ident, "time": time.time()})
    waiting = False
    while True:
        try:
            fs.pipe(key, mine.encode(), mode="create")
            _HELD.add(ident)
            return ident
        except FileExistsError:  # claimed: by whom, and is it alive?
            fs.invalidate_cache()
        try:
            etag = fs.info(key).get("ETag")
            holder = json.loads(fs.cat(key) or b"{}")
        except FileNotFoundError:
            continue  # released meanwhile
        except ValueError:
            holder = {}
        if not isinstance(holder, dict):
            holder = {}
        if holder.get("id") == ident:  # our own takeover, whose answer was lost
            _HELD.add(ident)
            return ident
        pid = holder.get("pid")
        if holder.get("host") != host or not isinstance(pid, int):
            who = f"a run on {holder['host']} (pid {pid})" if "host" in holder else "a run"
            raise UsageError(
                f"output {output}: {who} is finishing what a dead run left there; if that run "
                f"is dead, delete its claim {output.protocol}://{key}"
            )
        if pid_alive(pid) and not (pid == os.getpid() and holder.get("id") not in _HELD):
            if not waiting:
                say(
                    f"waiting for the run on this host (pid {pid}) that is finishing what a "
                    f"dead run left at {output}"
                )
                waiting = True
            time.sleep(_CLAIM_POLL)
            continue
        if _replace_if_unchanged(output, key, etag, mine.encode()):
            _HELD.add(ident)
            return ident


def _replace_if_unchanged(output: Location, key: str, etag: str | None, data: bytes) -> bool:
    """Overwrite a dead run's claim with ours if it is still the object whose ETag was read;
    False if another run's replaced it first. S3 checks it (``If-Match``); a backend without
    conditional writes deletes and creates it, which two runs may both do in a narrow window."""
    fs = output.fs
    if output.protocol in ("s3", "s3a") and etag:
        try:
            fs.pipe(key, data, IfMatch=etag)
        except FileNotFoundError:
            return False
        except OSError as e:
            if e.errno == errno.EINVAL:  # s3fs's PreconditionFailed: it changed
                return False
            raise
        return True
    with contextlib.suppress(FileNotFoundError):
        fs.rm(key)
    try:
        fs.pipe(key, data, mode="create")
    except FileExistsError:
        return False
    return True


def _release_claim(output: Location, ident: str) -> None:
    """Remove this run's claim; never raises (a claim left names this process, which the
    next run treats as dead once it has ended, or now if it is this process). After a signal
    the deletion waits ``STOP_WAIT`` seconds at most."""
    _HELD.discard(ident)
    with contextlib.suppress(Exception):
        _within(STOP_WAIT if held() is not None else None, lambda: output.fs.rm(_claim_key(output)))


def _within(seconds: float | None, step: Callable[[], None]) -> None:
    """``step()``; with ``seconds``, run in a daemon thread and given up (TimeoutError) after
    that long: a store that stopped answering holds a request up to --store-timeout, and a
    run stopped by a signal exits within seconds (the thread ends with the process)."""
    if seconds is None:
        step()
        return
    import threading

    failed: list[BaseException] = []

    def run() -> None:
        try:
            step()
        except BaseException as e:
            failed.append(e)

    worker = threading.Thread(target=run, daemon=True, name="daskgrad-cleanup")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if failed:
        raise failed[0]


def _finish_replacement(
    output: Location, markers: Sequence[tuple[str, str]], say: Callable[[str], None]
) -> set[str]:
    """Finish the ``--overwrite`` of a dead run whose commit had begun, as a redo log would.

    Its commit writes the temporary's metadata after every chunk (the temporary is then whole:
    its root metadata is the commit record), then deletes OUTPUT's root metadata first. So a
    dead writer's marker (``markers``: (path, pid)), a temporary with root metadata and an
    OUTPUT without it mean: the old store is gone, the temporary is the only complete store.
    OUTPUT's objects (the old store's or a partial copy's) are deleted, the temporary copied in
    (its metadata last, the root's at the end), then the temporary and the marker removed.
    Each step may be redone: a run that fails here leaves the temporary and the marker for the
    next. Returns the paths (without ``.tmp``/``.writing``) of the replacements finished.
    """
    fs, out = output.fs, output.path
    fs.invalidate_cache()
    if not markers or output.has_zarr_metadata():
        return set()
    for marker, pid in markers:
        stem = marker.rstrip("/").removesuffix(".writing")
        tmp = f"{stem}.tmp"
        try:
            replacing = json.loads(fs.cat(marker) or b"{}").get("replace")
        except (FileNotFoundError, ValueError):
            continue
        if not replacing or not output.has_zarr_metadata(tmp):
            continue
        shown = f"{output.protocol}://{tmp}"
        try:
            if old := _find(fs, out):
                fs.rm(old)
            found = _find(fs, tmp)
            if chunks := [p for p in found if not is_metadata(p)]:
                fs.copy(chunks, [out + p[len(tmp) :] for p in chunks])
            keys = metadata_order([p[len(tmp) + 1 :] for p in found if is_metadata(p)])
            for key in keys:  # one by one, the root's last: OUTPUT opens only when whole
                fs.copy(f"{tmp}/{key}", f"{out}/{key}")
            fs.rm(tmp, recursive=True)
            fs.rm(marker)
        except Exception as e:
            raise UsageError(
                f"output {output}: finishing the replacement by a dead run (pid {pid}) failed "
                f"({_line(e)}); its new store is complete at {shown}: rerun to finish it"
            ) from e
        say(
            f"finished the replacement of {output} that a dead run (pid {pid}) began: its "
            f"complete new store is in place (copied from {shown}, now removed)"
        )
        return {stem}
    return set()


def _find(fs: Any, prefix: str) -> list[str]:
    """Every object under ``prefix``, listed afresh."""
    fs.invalidate_cache()
    try:
        return sorted(fs.find(prefix))
    except FileNotFoundError:
        return []
