"""aiobotocore's HTTP session with a bound on each whole attempt of a request, for
``--store-timeout``: aiohttp's read timeout starts only once a request's body is sent, so a
PUT to a store that stopped answering (waiting for "100 Continue", or for room to send)
would wait for ever."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiobotocore.httpsession import AIOHTTPSession


class BoundedSession(AIOHTTPSession):
    """Each attempt — connect, send, wait, receive — ends within the read timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        t = self._timeout
        self._timeout: aiohttp.ClientTimeout = aiohttp.ClientTimeout(
            total=t.sock_read, sock_connect=t.sock_connect, sock_read=t.sock_read
        )
