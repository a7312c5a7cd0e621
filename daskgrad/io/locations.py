"""Where data lives: local paths and fsspec URLs (s3://, gs://, memory://, file://), their
storage options, credentials kept out of every message, and access errors in a user's words."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError, first_line

# protocol -> the daskgrad extra that installs its fsspec backend
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}
# a storage option whose name contains one of these holds a credential
_SECRET_NAME = re.compile(
    r"key|secret|token|password|passwd|credential|session|sas|signature", re.I
)
_SECRET_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
)
_SECRETS: set[str] = set()
# a directory or prefix with one of these at its root is a zarr store (v3, v2 group, v2 array)
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")
# zarr v2's consolidated metadata, beside a .zgroup: also a sign of a store on an object store
CONSOLIDATED = ".zmetadata"
# seconds one request to an object store may take, the backend's retries included
DEFAULT_STORE_TIMEOUT = 300.0
MIN_STORE_TIMEOUT = 5.0


def is_url(text: str | os.PathLike) -> bool:
    """True for an fsspec URL (``s3://…``, ``simplecache::s3://…``), False for a local path."""
    return isinstance(text, str) and ("://" in text or "::" in text)


def clean_url(text: str) -> str:
    """A URL as it may be shown: no ``user:password@``, no query string (signed URLs).

    Examples
    --------
    >>> clean_url("s3://AKIA:s3cr3t@bucket/a.zarr?X-Amz-Signature=abc")
    's3://bucket/a.zarr'
    """
    return re.sub(r"(://)[^/@]*@", r"\1", text).partition("?")[0]


def _collect_secrets(value: Any, secret: bool) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _collect_secrets(v, secret or bool(_SECRET_NAME.search(str(k))))
    elif isinstance(value, list | tuple):
        for v in value:
            _collect_secrets(v, secret)
    elif secret and isinstance(value, str) and len(value) >= 4:
        _SECRETS.add(value)


def remember_secrets(options: dict[str, Any], *urls: str) -> None:
    """Note the credentials in ``options``, in the URLs' ``user:password@`` parts and in the
    environment, so that ``redact`` removes them from anything shown."""
    _collect_secrets(options, False)
    for url in urls:
        if m := re.search(r"://([^/@]*)@", url):
            _collect_secrets(m[1].split(":"), True)
    _collect_secrets({k: os.environ[k] for k in _SECRET_ENV if os.environ.get(k)}, True)


def redact(text: str) -> str:
    """``text`` with every remembered credential replaced by ``***``, URLs cleaned."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(\w+://)[^/@\s]*:[^/@\s]*@", r"\1", text)


# options whose value is text even when it reads as a JSON number or literal (a key id of
# digits, a region named "null"): credentials and names; a JSON object or list still parses
_TEXT_OPTIONS = {
    "endpoint_url", "profile", "region_name", "username", "user", "project", "account_name",
    "tenant_id", "client_id", "connection_string", "host", "bucket", "cache_storage",
    "target_protocol", "default_cache_type", "version_id", "role_arn",
}  # fmt: skip


def _is_text_option(name: str) -> bool:
    return name in _TEXT_OPTIONS or bool(_SECRET_NAME.search(name))


def parse_storage_options(items: Sequence[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` items as a dict, each value parsed as JSON where it parses, except that
    credentials and names (``key``, ``secret``, ``token``, ``endpoint_url``, ``profile``,
    ``region_name``…) stay text unless VALUE is a JSON object or list.

    Examples
    --------
    >>> parse_storage_options(["anon=true", "profile=dev", 'client_kwargs={"a": 1}'], "-o")
    {'anon': True, 'profile': 'dev', 'client_kwargs': {'a': 1}}
    >>> parse_storage_options(["key=98765432101234", "secret=null", "max_paths=3"], "-o")
    {'key': '98765432101234', 'secret': 'null', 'max_paths': 3}
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not name or not sep:
            raise UsageError(f"argument {option}: expected KEY=VALUE, got {name or item!r}")
        if name in out:
            raise UsageError(f"argument {option}: key {name!r} given twice")
        if _is_text_option(name) and not value.lstrip().startswith(("{", "[")):
            out[name] = value
            continue
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


def _s3_timeouts(timeout: float) -> dict[str, Any]:
    """aiobotocore's config for one request, retries included, within ``timeout`` seconds.

    s3fs retries a request that timed out ``S3FileSystem.retries`` times (5), sleeping
    0.1·1.7^i s after each attempt; botocore's own retries are switched off so that they do
    not multiply those. Each attempt, connecting, sending and receiving, ends within the
    read timeout (``BoundedSession``), which is the rest of the bound split among them.
    """
    import s3fs

    from .s3session import BoundedSession

    attempts = max(int(getattr(s3fs.S3FileSystem, "retries", 5)), 1)
    backoff = sum(min(1.7**i * 0.1, 15) for i in range(attempts))
    each = max(int((timeout - backoff) / attempts * 1000) / 1000, 0.1)
    return {
        "connect_timeout": each,
        "read_timeout": each,
        "retries": {"total_max_attempts": 1},
        "http_session_cls": BoundedSession,
    }


def bound_requests(text: str, options: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """``options`` with the object store's backend told to end every request, its retries
    included, within ``timeout`` seconds (s3:// through s3fs; other backends are left as they
    are). A ``config_kwargs`` entry given by the user wins over ours, key by key."""
    from fsspec.core import split_protocol

    protocol = split_protocol(text.rsplit("::", 1)[-1])[0]
    if timeout is None or protocol not in ("s3", "s3a"):
        return options
    ours = _s3_timeouts(timeout)
    if "::" not in text:  # the options are s3fs's own
        config = {**ours, **(options.get("config_kwargs") or {})}
        return {**options, "config_kwargs": config}
    inner = dict(options.get(protocol) or {})  # a chain's s3 options go under its protocol
    inner["config_kwargs"] = {**ours, **(inner.get("config_kwargs") or {})}
    return {**options, protocol: inner}


@dataclass
class Location:
    """A local path or an fsspec URL with its storage options."""

    text: str  # as given: may carry credentials, never shown
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    local: Path | None = None
    fs: Any = field(default=None, repr=False)
    path: str = ""  # the path within ``fs``
    # seconds each request to the store may take, its retries included (``--store-timeout``;
    # None: the backend's own bounds, as for the backends other than s3://)
    timeout: float | None = None

    def __str__(self) -> str:
        """As given (a ``file://`` URL stays one, so that messages name what was typed)."""
        if self.local is not None and not is_url(self.text):
            return str(self.local)
        return clean_url(self.text)

    @property
    def url(self) -> str:
        return str(self)

    @property
    def protocol(self) -> str:
        return "file" if self.fs is None else _protocol(self.fs)

    @property
    def disk(self) -> Path | None:
        """The local path this location reads and writes, also through a ``file://``,
        ``local://`` or chained URL (``simplecache::file://…``, ``dir::``); None off this disk."""
        if self.local is not None:
            return self.local
        fs, path = base_fs(self.fs, self.path)
        return Path(path) if _protocol(fs) in ("file", "local") else None

    @property
    def key(self) -> tuple[str, str]:
        """(backend, path in it): the backend without caching or directory layers (``s3a``
        is ``s3``), the path normalised as an HTTP client would (``a/./b//c/`` is ``a/b/c``)."""
        fs, path = base_fs(self.fs, self.path)
        proto = _protocol(fs)
        path = posixpath.normpath("/" + path.strip("/")).lstrip("/") if path.strip("/") else ""
        return _ALIASES.get(proto, proto), path

    @property
    def endpoint(self) -> str | None:
        """The endpoint URL the backend talks to, as given (None: the backend's default)."""
        fs, _ = base_fs(self.fs, self.path)
        for opts in (self.options, getattr(fs, "storage_options", None) or {}):
            kwargs = opts.get("client_kwargs") or {}
            if url := opts.get("endpoint_url") or kwargs.get("endpoint_url"):
                return str(url)
        for attr in ("endpoint_url", "client_kwargs"):
            value = getattr(fs, attr, None)
            value = value.get("endpoint_url") if isinstance(value, dict) else value
            if isinstance(value, str) and value:
                return value
        if self.key[0] == "s3":  # botocore reads these when no endpoint is given
            return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return None

    def child(self, name: str) -> str:
        return f"{self.path.rstrip('/')}/{name}"

    def sibling(self, name: str) -> str:
        parent = self.path.rstrip("/").rpartition("/")[0]
        return f"{parent}/{name}" if parent else name

    def zarr_store(self, read_only: bool = True, path: str | None = None) -> Any:
        """A zarr FsspecStore on this location (or on ``path`` in the same filesystem), each of
        its requests bounded by the location's ``timeout`` (``BoundedStore``)."""
        from zarr.storage import FsspecStore

        text = self.text if path is None else f"{self.protocol}://{path}"
        options = self.options
        if "::" in self.text:
            if path is not None:  # a chained URL: keep its chain
                text = self.text.rsplit("::", 1)[0] + "::" + f"{self.protocol}://{path}"
            # zarr wraps the chain's sync filesystem to run it on its own event loop; an
            # async backend below it that this process already used (``self.fs``) would be
            # bound to fsspec's loop and fail there ("attached to a different loop")
            below = re.findall(r"(\w+)://", self.text)[-1]
            options = {**options, below: {**options.get(below, {}), "skip_instance_cache": True}}
        with warnings.catch_warnings():
            # zarr's "fs … was not created with asynchronous=True": the wrapping it then does
            # is what a chained URL needs
            warnings.filterwarnings("ignore", message=".*asynchronous=True")
            store = FsspecStore.from_url(text, storage_options=options, read_only=read_only)
        if self.timeout is None:
            return store
        from .s3session import BoundedStore

        return BoundedStore(store, self.timeout, clean_url(text))

    def has_zarr_metadata(self, path: str | None = None) -> bool:
        root = (path or self.path).rstrip("/")
        return any(self.fs.exists(f"{root}/{m}") for m in (*ZARR_MARKERS, CONSOLIDATED))

    def enclosing_store(self) -> str | None:
        """The URL of a zarr store or group that this location lies inside (an ancestor
        prefix, up to and including the bucket, with zarr metadata at its root), else None:
        a few ``exists`` requests per level."""
        parts = self.path.strip("/").split("/")
        lead = "/" if self.path.startswith("/") else ""
        for n in range(len(parts) - 1, 0, -1):
            prefix = lead + "/".join(parts[:n])
            if self.has_zarr_metadata(prefix):
                return clean_url(f"{self.protocol}://{prefix}")
        return None


_ALIASES = {"s3a": "s3", "gcs": "gs", "local": "file", "abfss": "abfs", "az": "abfs"}


def base_fs(fs: Any, path: str) -> tuple[Any, str]:
    """The filesystem under caching, directory and async-wrapper layers, and ``path`` in it."""
    for _ in range(16):
        inner = getattr(fs, "fs", None) or getattr(fs, "sync_fs", None)
        if inner is None or inner is fs:
            break
        if type(fs).__name__ == "DirFileSystem":  # its paths are relative to its own path
            path = fs._join(path)
        fs = inner
    return fs, path


def fs_location(fs: Any, path: str, options: dict[str, Any] | None = None) -> Location:
    """A Location for ``path`` in an fsspec filesystem found in a store object."""
    opts = dict(options if options is not None else getattr(fs, "storage_options", {}) or {})
    opts.pop("asynchronous", None)
    loc = Location("", opts, None, fs, str(path).rstrip("/"))
    disk = loc.disk
    if disk is not None:
        return Location(str(disk), {}, disk)
    loc.text = f"{loc.key[0]}://{loc.key[1]}"
    return loc


def _protocol(fs: Any) -> str:
    proto = fs.protocol
    return proto[0] if isinstance(proto, tuple | list) else str(proto)


# backends whose paths are bucket/key with the key taken literally (no '.', '..' or '//'
# resolution on the server): a URL must name one key in one spelling only
OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss"}


def check_key_spelling(text: str, role: str = "path") -> None:
    """Refuse an object-store URL whose path has an empty segment (``bkt//a.zarr``, a
    trailing ``//``), a ``.`` or a ``..`` segment: the store keeps such a key literally, while
    s3fs and HTTP clients normalise it in some requests and not in others, so one run would
    list, delete and copy different stores. A UsageError naming ``role``, the URL and the
    segment. A single trailing ``/`` is allowed (``s3://bkt/a.zarr/`` is ``bkt/a.zarr``).

    Examples
    --------
    >>> check_key_spelling("s3://bkt/a.zarr/", "output")
    >>> check_key_spelling("s3://bkt//a.zarr", "output")
    Traceback (most recent call last):
    ...
    daskgrad.errors.UsageError: output s3://bkt//a.zarr: the path has an empty segment ('//');...
    """
    from fsspec.core import split_protocol

    protocol, rest = split_protocol(text.rsplit("::", 1)[-1])
    if protocol not in OBJECT_STORES:
        return
    rest = re.sub(r"^[^/@]*@", "", rest).partition("?")[0].partition("#")[0]
    parts = rest.split("/")
    if len(parts) > 1 and parts[-1] == "" and parts[-2] != "":
        parts.pop()  # one trailing slash: the same prefix
    bad = next((p for p in parts if p in ("", ".", "..")), None)
    if bad is None:
        return
    what = {"": "an empty segment ('//')", ".": "a '.' segment", "..": "a '..' segment"}[bad]
    raise UsageError(
        f"{role} {clean_url(text)}: the path has {what}; object-store keys are literal, so "
        "this names another key than the normalised path would (and s3fs mixes both): "
        "spell the path without it"
    )


def check_not_nested(output: str, store: str | None) -> None:
    """The one rule for an OUTPUT inside another zarr store or group (``store``, None if it
    is not): a UsageError naming both. Writing there, or replacing an array or group there,
    would change that store's hierarchy behind its metadata (and destroy its variable).

    Examples
    --------
    >>> check_not_nested("big.zarr/f", None)
    >>> check_not_nested("big.zarr/f", "big.zarr")
    Traceback (most recent call last):
    ...
    daskgrad.errors.UsageError: output big.zarr/f is inside the zarr store big.zarr ...
    """
    if store is not None:
        raise UsageError(
            f"output {output} is inside the zarr store {store} (zarr metadata at its root); "
            "writing there would change that store: name a path outside it"
        )


def os_path(text: str | os.PathLike, role: str = "path", shown: str | None = None) -> Path:
    """A local path as the OS goes: a ``..`` after a symlink leaves the link's target, where
    zarr and xarray would drop the link and the ``..`` from the text (and so read another
    store than the one checked); resolved whenever the path has a ``..``. A ``..`` after a
    component that does not exist (or is not a directory) is a UsageError naming the path
    (``role`` says whose, ``shown`` how it was typed, a ``file://`` URL say): the OS refuses
    such a path, which resolving the text would hide.

    Examples
    --------
    >>> os_path("a/b") == Path("a/b")
    True
    >>> os_path("no-such-dir/../x.zarr", "output")
    Traceback (most recent call last):
    ...
    daskgrad.errors.UsageError: output no-such-dir/../x.zarr: no-such-dir does not exist, ...
    """
    path = Path(text)
    if ".." not in path.parts:
        return path
    for i, part in enumerate(path.parts):
        above = Path(*path.parts[:i]) if i else None
        if part == ".." and above is not None and not above.is_dir():  # as the OS follows it
            what = "is not a directory" if os.path.lexists(above) else "does not exist"
            raise UsageError(
                f"{role} {shown or os.fspath(text)}: {above} {what}, so the '..' after it "
                "leads nowhere (the OS refuses this path)"
            )
    return Path(os.path.realpath(path))


def locate(
    text: str | os.PathLike,
    options: dict[str, Any] | None = None,
    role: str = "input",
    timeout: float | None = DEFAULT_STORE_TIMEOUT,
) -> Location:
    """A ``Location`` for a local path, a ``file://`` URL (both local) or an fsspec URL.

    A URL's backend must be importable (else a UsageError naming the extra to install) and
    its storage options must be accepted by the backend. Every request to an object store
    ends within ``timeout`` seconds (see ``bound_requests``; None: the backend's defaults).
    Nothing is read yet.
    """
    import fsspec
    from fsspec.core import split_protocol

    options = dict(options or {})
    if not is_url(text):
        return Location(os.fspath(text), options, os_path(text, role))
    text = str(text)
    remember_secrets(options, text)
    protocol, rest = split_protocol(text.rsplit("::", 1)[-1])
    if protocol in ("file", "local") and "::" not in text:
        if protocol == "file" and re.match(r"(?i)localhost/", rest):
            rest = rest[len("localhost") :]  # RFC 8089: file://localhost/PATH is /PATH
        return Location(text, options, os_path(rest, role, clean_url(text)))
    check_key_spelling(text, role)
    for proto in re.findall(r"(\w+)://", text) + re.findall(r"(?:^|::)(\w+)::", text):
        try:
            fsspec.get_filesystem_class(proto)
        except ImportError:
            extra = EXTRAS.get(proto)
            hint = f"pip install 'daskgrad[{extra}]'" if extra else "install its fsspec backend"
            raise UsageError(
                f"{role} {clean_url(text)}: reading {proto}:// needs a backend that is not "
                f"installed; {hint}"
            ) from None
        except ValueError:
            raise UsageError(f"{role} {clean_url(text)}: unknown protocol {proto!r}") from None
    bounded = bound_requests(text, options, timeout)
    timeout = timeout if bounded is not options else None
    options = bounded
    try:
        fs, path = fsspec.core.url_to_fs(text, **options)
    except TypeError as e:
        raise UsageError(f"{role} {clean_url(text)}: bad storage option: {redact(str(e))}") from e
    except Exception as e:
        raise UsageError(f"{role} {clean_url(text)}: {redact(first_line(e))}") from e
    return Location(text, options, None, fs, path.rstrip("/"), timeout)


def relation(output: Location, inp: Location) -> str | None:
    """How OUTPUT's key lies to an input's on the same backend, whatever the endpoints: 'is',
    'contains' or 'is inside'; None where they cannot meet (other backend, bucket or key)."""
    (p1, out), (p2, src) = output.key, inp.key
    if p1 != p2:
        return None
    if src == out:
        return "is"
    if src.startswith(out + "/") or not out:
        return "contains"
    if out.startswith(src + "/") or not src:
        return "is inside"
    return None


def _split_endpoint(url: str) -> tuple[str, str, int, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    except ValueError:
        port = 0
    path = posixpath.normpath("/" + parts.path.strip("/")) if parts.path.strip("/") else ""
    return scheme, host, port, path


def _this_machine() -> set[str]:
    """Addresses of this machine's interfaces: a server bound to all of them answers on each."""
    import ipaddress

    own: set[str] = set()
    with contextlib.suppress(Exception):
        import psutil

        for addrs in psutil.net_if_addrs().values():
            own |= {a.address.split("%")[0] for a in addrs if a.family in (2, 10)}
    with contextlib.suppress(Exception):
        import socket

        own |= {str(i[4][0]) for i in socket.getaddrinfo(socket.gethostname(), None)}
    return {str(ipaddress.ip_address(a)) for a in own if _is_ip(a)}


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _addresses(host: str, port: int, own: set[str]) -> set[tuple[str, int]] | None:
    """(address, port) pairs ``host`` resolves to, this machine's as 'this machine'; None
    where the name does not resolve within a few seconds."""
    import ipaddress
    import socket
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(5)
    except Exception:
        return None
    finally:
        pool.shutdown(wait=False)
    out = set()
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        mine = ip.is_loopback or ip.is_unspecified or str(ip) in own
        out.add(("this machine" if mine else str(ip), port))
    return out


def same_endpoint(a: str | None, b: str | None) -> str | None:
    """Why two endpoint URLs certainly reach one server ('both reach 127.0.0.1:9000'), or
    None where that is not certain (only a probe can tell then)."""
    if a is None or b is None:
        return "both use the backend's default endpoint" if a == b else None
    (s1, h1, p1, path1), (s2, h2, p2, path2) = _split_endpoint(a), _split_endpoint(b)
    if (s1, h1, p1, path1) == (s2, h2, p2, path2):
        return "one endpoint"
    if path1 != path2:
        return None
    own = _this_machine() if "" not in (h1, h2) else set()
    r1, r2 = _addresses(h1, p1, own), _addresses(h2, p2, own)
    if r1 and r2 and (common := sorted(r1 & r2)):
        host, port = common[0]
        return f"both reach {host} port {port}"
    return None


def _is_connection_error(e: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        name = type(cur).__name__
        if isinstance(cur, ConnectionError | TimeoutError) or any(
            word in name for word in ("Connect", "Timeout", "ServerDisconnected")
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def bucket_of(loc: Location) -> str | None:
    if loc.protocol in ("s3", "s3a", "gs", "gcs", "abfs", "az", "oss"):
        return loc.path.split("/")[0]
    return None


def bucket_missing(loc: Location) -> str | None:
    """The bucket of an object-store location if it does not exist, else None."""
    with contextlib.suppress(Exception):
        check_bucket(loc)
        return None
    with contextlib.suppress(FileNotFoundError):
        check_bucket(loc)
        return None
    return bucket_of(loc)


def check_bucket(loc: Location) -> None:
    """Raise FileNotFoundError for a missing bucket, PermissionError for one that may not be
    listed, a connection error for an endpoint that does not answer (``exists`` would say
    False to all three)."""
    if (bucket := bucket_of(loc)) is not None:
        loc.fs.invalidate_cache()
        loc.fs.ls(bucket, detail=False)


def access_message(e: BaseException, loc: Location, role: str) -> str:
    """One line for a failed access to ``loc``: bucket missing, permission, endpoint."""
    if isinstance(e, UsageError):
        return str(e)
    if isinstance(e, FileNotFoundError) and (bucket := bucket_missing(loc)):
        return f"{role} {loc}: bucket {bucket!r} does not exist"
    if isinstance(e, FileNotFoundError):
        return f"{role} {loc} does not exist"
    if isinstance(e, PermissionError):
        return f"{role} {loc}: permission denied ({redact(str(e).strip().splitlines()[0])})"
    if _is_connection_error(e):
        return f"{role} {loc}: cannot reach the storage endpoint ({redact(first_line(e))})"
    return f"{role} {loc}: {redact(first_line(e))}"


def is_timeout(e: BaseException) -> bool:
    """Whether ``e`` (or an exception it was raised from) is a request that timed out."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, TimeoutError) or "Timeout" in type(cur).__name__:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


@contextlib.contextmanager
def access(loc: Location, role: str) -> Iterator[None]:
    """Turn any failure to reach ``loc`` into a one-line UsageError (exit 2)."""
    try:
        yield
    except UsageError:
        raise
    except Exception as e:
        raise UsageError(access_message(e, loc, role)) from e


def check_in_process(loc: Location, client: Any) -> None:
    """memory:// lives in one process: refuse a cluster whose workers are other processes."""
    if loc.protocol != "memory" or client is None:
        return
    pids = set(client.run(os.getpid).values())
    if pids - {os.getpid()}:
        raise UsageError(
            f"{loc}: a memory:// store lives in this process; the cluster's workers run in "
            "other processes and cannot see it"
        )


def quiet_asyncio() -> None:
    """Silence asyncio's log in this process: at a worker's exit, aiohttp reports the
    object store's HTTP sessions that its tasks opened as "Unclosed client session". And
    after a request to a store that stopped answering timed out, the task's other requests
    are abandoned: their coroutines, closed by the garbage collector, raise in aiobotocore's
    context handling, which Python would print as "Exception ignored in: <coroutine …>"."""
    import logging
    import sys
    import types

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.object, types.CoroutineType):
            previous(unraisable)

    sys.unraisablehook = hook
