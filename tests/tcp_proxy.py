"""A TCP proxy on 127.0.0.1 to one target port, as a process of its own: a test freezes it with
SIGSTOP to make an object store that stops answering (connections are still accepted by the
kernel, nothing is ever answered). Prints its port on the first line of standard output.

Usage: python tcp_proxy.py TARGET_PORT. A test that wants the proxy to freeze itself at a
given request runs ``main(port, freeze_when)``: ``freeze_when(data)`` sees every block the
proxy forwards (both ways) and, when it returns True, the whole proxy stops (SIGSTOP) before
forwarding it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable

FreezeWhen = Callable[[bytes], bool] | None


def _pump(src: socket.socket, dst: socket.socket, freeze_when: FreezeWhen = None) -> None:
    try:
        while data := src.recv(65536):
            if freeze_when is not None and freeze_when(data):
                os.kill(os.getpid(), signal.SIGSTOP)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main(target_port: int, freeze_when: FreezeWhen = None) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    print(server.getsockname()[1], flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(("127.0.0.1", target_port))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(a, b, freeze_when), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
