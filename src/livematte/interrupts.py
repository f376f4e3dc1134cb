"""Ctrl-C held off while an output is finalised: the flush, the container's trailer and the rename into
place take a few seconds for some encoders (VP9's look-ahead), and a second Ctrl-C there used to delete
the file that the first one meant to keep."""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def _still_finishing(what: str) -> None:
    log.warning("%s: still finishing the file; Ctrl-C is held off until it is written", what)


@contextmanager
def held_off(what: str) -> Iterator[None]:
    """Within this block SIGINT only says that `what` is still being finished. Main thread only (where
    Python handles signals); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    previous = signal.signal(signal.SIGINT, lambda signum, frame: _still_finishing(what))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def stop_once(what: str) -> Iterator[None]:
    """Within this block the first SIGINT stops (KeyboardInterrupt) and every later one only says that `what`
    is still being finished. held_off() starts only once the stop has reached the sink's close(); a second
    Ctrl-C in between, however short the gap, used to raise there and throw the file away. A SIGINT that was
    ignored when the block began (a background job) stays ignored. Main thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        yield
        return
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        if stopping:
            _still_finishing(what)
            return
        stopping = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Within this block SIGINT waits for the block to end, then acts as it would have (KeyboardInterrupt).
    For a frame's encode and mux: a Ctrl-C between the two lost packets the encoder had already given
    out, and the interrupted file had a frame missing (a 30 fps file read back as 1260/43 fps). Main
    thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)
    elif caught and previous != signal.SIG_IGN:
        raise KeyboardInterrupt
