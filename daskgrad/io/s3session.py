"""aiobotocore's HTTP session with a bound on each whole attempt of a request, for
``--store-timeout``: aiohttp's read timeout starts only once a request's body is sent, so a
PUT to a store that stopped answering (waiting for "100 Continue", or for room to send)
would wait for ever. And a zarr store whose every request is bounded as a whole."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from aiobotocore.httpsession import AIOHTTPSession
from zarr.storage import WrapperStore

_T = TypeVar("_T")


class BoundedSession(AIOHTTPSession):
    """Each attempt — connect, send, wait, receive — ends within the read timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        t = self._timeout
        self._timeout: aiohttp.ClientTimeout = aiohttp.ClientTimeout(
            total=t.sock_read, sock_connect=t.sock_connect, sock_read=t.sock_read
        )


class BoundedStore(WrapperStore):
    """A zarr store whose every read, write, check and deletion ends within ``timeout``
    seconds (``--store-timeout``), retries included: s3fs reads a chunk by retrying the whole
    read around a request that already retries, five tries of five, which the attempts'
    bounds alone (``BoundedSession``) do not cap. ``url`` names the store in the
    TimeoutError."""

    def __init__(self, store: Any, timeout: float, url: str) -> None:
        super().__init__(store)
        self.timeout, self.url = timeout, url

    def _with_store(self, store: Any) -> BoundedStore:
        return type(self)(store, self.timeout, self.url)

    async def _bounded(self, key: str, work: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(work, self.timeout)
        except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11 on
            raise TimeoutError(
                f"{self.url.rstrip('/')}/{key}: no reply within {self.timeout:g} s"
            ) from None

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        return await self._bounded(key, self._store.get(key, prototype, byte_range))

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> Any:
        key_ranges = list(key_ranges)
        key = key_ranges[0][0] if key_ranges else ""
        return await self._bounded(key, self._store.get_partial_values(prototype, key_ranges))

    async def exists(self, key: str) -> bool:
        return await self._bounded(key, self._store.exists(key))

    async def set(self, key: str, value: Any) -> None:
        await self._bounded(key, self._store.set(key, value))

    async def set_if_not_exists(self, key: str, value: Any) -> None:
        await self._bounded(key, self._store.set_if_not_exists(key, value))

    async def delete(self, key: str) -> None:
        await self._bounded(key, self._store.delete(key))
