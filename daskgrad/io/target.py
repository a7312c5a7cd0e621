"""Where an output may go and how it gets there: the overwrite rules, a temporary sibling named
by host and pid, stale temporaries of dead runs, the atomic swap into place."""

from __future__ import annotations

import abc
import contextlib
import ctypes
import errno
import glob
import os
import re
import shutil
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import OptionTypeError, OptionUsageError, UsageError
from ..signals import SIGNALS, pid_alive
from .locations import CONSOLIDATED, ZARR_MARKERS, check_not_nested


def is_zarr_store(path: Path) -> bool:
    """True for a directory with zarr v2 or v3 metadata at its root."""
    return path.is_dir() and any((path / m).is_file() for m in ZARR_MARKERS)


def enclosing_store(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` (resolved) with zarr metadata at its root (v3
    ``zarr.json``, v2 ``.zgroup``/``.zarray``/``.zmetadata``): the store ``path`` is a node
    of, else None."""
    for p in Path(os.path.realpath(path)).parents:
        if p.is_dir() and any((p / m).is_file() for m in (*ZARR_MARKERS, CONSOLIDATED)):
            return p
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _lineage(path: Path) -> list[tuple[int, int]]:
    """File identities (device, inode) of ``path`` and its existing ancestors, by the OS's
    lookup: the same directory reached by a symlink or a bind mount has the same identity."""
    ids = []
    for p in [path, *path.parents]:
        ident = _identity(p)
        if ident is not None:
            ids.append(ident)
    return ids


def _links_into(src: Path, out_id: tuple[int, int] | None, depth: int = 2) -> Path | None:
    """A symbolic link within the top ``depth`` levels of the input ``src`` (a store's arrays
    and their chunk folders) that leads into OUTPUT, else None."""
    if out_id is None or not src.is_dir():
        return None
    level = [src]
    for _ in range(depth):
        below = []
        for d in level:
            with contextlib.suppress(OSError):
                for entry in os.scandir(d):
                    p = Path(entry.path)
                    if entry.is_symlink() and out_id in _lineage(Path(os.path.realpath(p))):
                        return p
                    if entry.is_dir(follow_symlinks=False):
                        below.append(p)
        level = below
    return None


def _is_mount(path: Path) -> bool:
    """A mount point, bind mounts within one filesystem included (os.path.ismount misses them)."""
    if os.path.ismount(path):
        return True
    with contextlib.suppress(OSError):
        with open("/proc/self/mountinfo") as f:
            points = {line.split()[4].replace("\\040", " ") for line in f if line.strip()}
        return str(path) in points
    return False


def check_clear(out: Path, shown: str, inputs: Sequence[Any]) -> None:
    """UsageError if OUTPUT (``out``, shown as ``shown``) is an input, inside one or an ancestor
    of one, or where an input's arrays lead by a symbolic link. Inputs are paths or Locations
    (whose ``disk`` path is compared: ``file://``, ``simplecache::file://…`` included), compared
    by file identity, so symbolic links, bind mounts, ``..`` and relative paths are seen through;
    each message names both spellings."""
    out = Path(os.path.realpath(out))
    out_id = _identity(out)
    out_line = _lineage(out) if out_id else _lineage(out.parent)
    for inp in inputs:
        path = getattr(inp, "disk", inp)
        if path is None or (src_id := _identity(Path(path))) is None:
            continue
        if src_id == out_id:
            raise UsageError(f"output {shown} is the input {inp}; choose another path")
        if src_id in out_line:
            raise UsageError(f"output {shown} is inside the input {inp}; choose another path")
        if out_id is not None and out_id in _lineage(Path(os.path.realpath(path))):
            raise UsageError(f"output {shown} contains the input {inp}; choose another path")
        if (link := _links_into(Path(path), out_id)) is not None:
            raise UsageError(
                f"output {shown} holds data of the input ({link} links into it); choose another"
            )


# the zarr formats an output may be written in (``zarr_format=``, --zarr-format)
ZARR_FORMATS = (2, 3)


def check_overwrite(overwrite: Any) -> bool:
    """The one type check of ``overwrite`` (``--overwrite``, a flag): True or False; an
    OptionTypeError naming it otherwise ("yes" and 1 are no answers to "replace it?").

    Examples
    --------
    >>> check_overwrite("yes")
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionTypeError: overwrite must be True or False; got 'yes'
    """
    if not isinstance(overwrite, bool):
        raise OptionTypeError(
            "overwrite", f"{{opt:overwrite}} must be True or False; got {overwrite!r}"
        )
    return overwrite


def check_replace(
    output: Any,
    overwrite: bool,
    file: Callable[[], str | bool],
    not_zarr: Callable[[], str | bool],
) -> None:
    """The one ``overwrite`` rule, for a local OUTPUT and an object store's: an existing
    OUTPUT is replaced only with ``overwrite``, and only if it is a zarr store. ``file()``
    says what a plain file OUTPUT is ("a file", "an object"), ``not_zarr()`` what else it is
    if it is no zarr store; each False (or '') when it is not that, asked in this order.
    """
    if not overwrite:
        raise OptionUsageError(
            "overwrite", f"output {output} exists; pass {{opt:overwrite=True}} to replace it"
        )
    if what := file():
        raise UsageError(f"output {output} is not a zarr store ({what}); not replacing it")
    if what := not_zarr():
        raise OptionUsageError(
            "overwrite", f"output {output} {what}; {{opt:overwrite=True}} replaces zarr stores only"
        )


def check_output(output: Path, overwrite: bool, inputs: Sequence[Any] = ()) -> Path:
    """The absolute OUTPUT path, or UsageError naming it and saying why it may not be written.

    OUTPUT must be clear of the inputs (paths or Locations, see ``check_clear``) and outside
    any other zarr store or group (``enclosing_store``: a new node of its hierarchy, or one
    replaced, would change that store behind its metadata); an existing OUTPUT is replaced
    only with ``overwrite``, only if it is a zarr store (not a plain directory, a file, a link
    or a mount point).
    """
    if Path(output).is_symlink():
        raise UsageError(f"output {output} is a symbolic link; name the store itself")
    out = Path(os.path.realpath(output))  # ".." after a symlink goes where the OS goes
    if out.parent == out:
        raise UsageError(f"output {output} is a filesystem root; name a new zarr store")
    check_clear(out, str(output), inputs)
    store = enclosing_store(out)
    check_not_nested(str(output), None if store is None else str(store))
    out_id = _identity(out)
    if out.exists():
        check_replace(
            output,
            overwrite,
            file=lambda: not out.is_dir() and "a file",
            not_zarr=lambda: (
                not is_zarr_store(out)
                and "is a directory but not a zarr store (no zarr.json, .zgroup or .zarray at its "
                "root)"
            ),
        )
        if _is_mount(out):
            raise UsageError(f"output {output} is a mount point; it cannot be replaced by a rename")
        if out_id in _lineage(Path.cwd()):
            raise UsageError(f"output {output} contains the current directory; not replacing it")
    if not out.parent.is_dir():
        raise UsageError(f"output directory {out.parent} does not exist")
    return out


TEMP_NAME = re.compile(r"\.daskgrad-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{8}\.(?P<kind>tmp|old)$")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale(out: Path, say: Callable[[str], None]) -> None:
    """Remove the temporaries of dead runs to ``out`` (same host, process gone); restore an
    old store that a dead run had moved aside but not yet replaced. Live runs' are left.

    Each is first taken by one rename (to OUTPUT, or to a name of this run's to remove), so of
    two runs cleaning up together one does each and says so; the other passes it silently."""
    host = socket.gethostname()
    prefix = f".{out.name}"
    for p in sorted(out.parent.glob(f"{glob.escape(prefix)}.daskgrad-*")):
        m = TEMP_NAME.fullmatch(p.name[len(prefix) :])
        if not p.name.startswith(prefix) or not m or m["host"] != host or pid_alive(int(m["pid"])):
            continue
        try:
            if m["kind"] == "old" and not (out.exists() or out.is_symlink()):
                os.replace(p, out)
                say(f"restored {out} from {p.name}, left by a dead run (pid {m['pid']})")
                continue
            # this run's name: another run skips it (a live pid); the next, if this one dies
            mine = p.with_name(f"{prefix}.daskgrad-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
            os.replace(p, mine)
        except FileNotFoundError:  # another run took it first
            continue
        _remove(mine)
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
def signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back (then re-raised) while the output is swapped in."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = SIGNALS
    old = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


_Self = TypeVar("_Self", bound="Discarding")


class Discarding(abc.ABC):
    """A target as a context manager: leaving it on an error (before or while writing)
    discards what was written, so no temporary is left."""

    @abc.abstractmethod
    def discard(self) -> None:
        """Remove what was written; the old output stays as it was."""

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:
            self.discard()


class Target(Discarding):
    """A checked OUTPUT with its temporary sibling, created at once (so an unwritable place is
    found before any computing). ``commit`` swaps it in; ``discard`` removes it."""

    def __init__(
        self,
        output: Path | str,
        *,
        overwrite: bool = False,
        inputs: Sequence[Any] = (),
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
        with signals_deferred():
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
