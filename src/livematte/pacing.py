"""Live timing, both ways: the source side hands frames to a processor no faster than their timestamps
(`feed`), and the sink side writes at a steady rate (`Ticker`). The camera relay (relay.py) and the
server's shared source (server/feed.py) both feed through here."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator

from .frame import Frame


def paced(frames: Iterable[Frame], stop: threading.Event | None = None) -> Iterator[Frame]:
    """Yield frames no faster than their timestamps say: a file decodes faster than real time, and a
    live consumer must see it at its own rate. A camera or stream is already paced; this adds nothing."""
    stop = stop or threading.Event()
    t0 = first = None
    for frame in frames:
        if stop.is_set():
            return
        if frame.pts is not None and frame.time_base:
            first = frame.pts if first is None else first
            t0 = time.perf_counter() if t0 is None else t0
            due = t0 + float((frame.pts - first) * frame.time_base)
            if stop.wait(max(0.0, due - time.perf_counter())):
                return
        yield frame


def feed(frames: Iterable[Frame], processor, stop: threading.Event, index: int = 0) -> int:
    """Submit `frames` to a LiveProcessor, paced, numbered on from `index`; returns how many were fed.

    The first is marked a discontinuity: whatever the processor saw before (a previous loop of a file)
    is not its past."""
    start = index
    for frame in paced(frames, stop):
        processor.submit(dataclasses.replace(frame, index=index, discontinuity=index == start))
        index += 1
    return index - start


class Ticker:
    """Waits for the next tick of a fixed rate; a late caller is not made to catch up in a burst."""

    def __init__(self, fps: float) -> None:
        self._step = 1.0 / fps
        self._due: float | None = None

    def wait(self) -> None:
        now = time.perf_counter()
        self._due = now + self._step if self._due is None else max(self._due + self._step, now)
        time.sleep(max(0.0, self._due - now))
