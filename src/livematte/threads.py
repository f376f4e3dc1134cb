"""OpenCV's thread pool, set for the length of a job and then restored.

OpenCV splits each call over its pool (as many threads as cores). That helps one frame finish sooner
(the live path's latency) but costs CPU in hand-offs on every one of the many small calls a frame
makes. Where the job already keeps every core busy with its own threads (render's pipeline threads,
the stills workers), each call is better run whole on the thread that made it.
"""
from __future__ import annotations

from contextlib import contextmanager

import cv2


@contextmanager
def opencv_threads(count: int):
    """OpenCV's pool set to `count` threads (0: left as it is) inside the block, then restored."""
    default = cv2.getNumThreads()
    if count:
        cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(default)
