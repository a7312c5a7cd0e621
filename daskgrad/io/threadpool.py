"""A pool of daemon threads for dask's local scheduler: a task that waits for an object store
which stopped answering does not hold up the process's exit after a Ctrl-C (the standard
``ThreadPoolExecutor`` joins its threads when the interpreter exits, up to the store's
timeout)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


class DaemonThreads(Executor):
    """``workers`` daemon threads running what is submitted, in order."""

    def __init__(self, workers: int) -> None:
        self._max_workers = workers  # dask's local scheduler reads it
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"daskgrad-task-{i}")
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        self._queue.put((fut, fn, args, kwargs))
        return fut

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            fut, fn, args, kwargs = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as e:
                fut.set_exception(e)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.stop(None if wait else 0.0, cancel_futures=cancel_futures)

    def stop(self, seconds: float | None, *, cancel_futures: bool = True) -> bool:
        """Cancel what has not started (``cancel_futures``), end the threads once their task is
        done, and wait for them ``seconds`` at most (None: as long as they take); whether
        every thread has ended."""
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        deadline = None if seconds is None else time.monotonic() + seconds
        for t in self._threads:
            t.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        return not any(t.is_alive() for t in self._threads)
