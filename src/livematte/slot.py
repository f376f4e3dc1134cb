"""LatestFrame: the one-slot mailbox between any two live threads (and event loops). It keeps only the
newest item and counts what it overwrote: live processing is latency-bound, so a stale frame is
dropped, never queued."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

from .errors import LivematteError


class Closed(LivematteError, EOFError):
    """The slot was closed: its producer has gone away and no frame will come."""


class LatestFrame:
    """A one-slot mailbox between threads and event loops: put() overwrites, get()/take() empty it.

    A put() over an item nobody took counts as a drop. Producers may be threads or coroutines;
    consumers block in a thread (take) or await on an event loop (get).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._full = False
        self._closed = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self.put_count = 0
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cond:
            if self._closed:
                return
            self.dropped += self._full
            self.put_count += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            _wake(loop, future)

    def take(self, timeout: float | None = None) -> Any:
        """Block until an item is there (or `timeout` seconds pass: None is returned) and take it."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            return self._pop()

    async def get(self) -> Any:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._full or self._closed:
                    return self._pop()
                future = loop.create_future()
                self._waiters.append((loop, future))
            await future

    def close(self) -> None:
        """Wake every consumer; later get()/take() raise Closed once the last item is taken."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            _wake(loop, future)

    @property
    def closed(self) -> bool:
        return self._closed

    def _pop(self) -> Any:
        if not self._full:
            raise Closed("live frame slot closed")
        item, self._item, self._full = self._item, None, False
        return item


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    try:
        loop.call_soon_threadsafe(resolve)
    except RuntimeError:    # that loop is closed: nobody is waiting any more
        pass
