"""WebRTC sinks: MatteTrack serves the newest composited frame of a LiveProcessor to one peer, and
RemoteMatte feeds a peer's camera track into a processor, newest frame first, dropping the rest.

PyAV frames exist only here: incoming av.VideoFrames become Frames on the processor's thread, and
composited Frames become av.VideoFrames just before aiortc encodes them.
"""
from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable

from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from ..frame import Frame
from ..live import LiveProcessor
from ..slot import Closed, LatestFrame
from .rgb import output_rgb

log = logging.getLogger(__name__)

# RTP video runs on a 90 kHz clock; aiortc's encoders expect pts in this time base.
CLOCK_RATE = 90_000
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)


class MatteTrack(VideoStreamTrack):
    """An outgoing video track: each recv() waits for the processor's next composited frame.

    Frames come as fast as the processor makes them (no fixed 30 fps tick): pts is the wall-clock
    time since the first frame, on the 90 kHz RTP clock, and strictly increasing.
    """

    def __init__(self, processor: LiveProcessor, on_stop: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._processor = processor
        self._slot: LatestFrame = processor.subscribe()
        self._on_stop = on_stop
        self._t0: float | None = None
        self._last_pts = -1
        self.sent = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            frame: Frame = await self._slot.get()
        except Closed:
            self.stop()
            raise MediaStreamError from None
        video = VideoFrame.from_ndarray(output_rgb(frame), format="rgb24")
        video.pts, video.time_base = self._next_pts(), TIME_BASE
        self.sent += 1
        return video

    def _next_pts(self) -> int:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        pts = max(int((now - self._t0) * CLOCK_RATE), self._last_pts + 1)
        self._last_pts = pts
        return pts

    def stop(self) -> None:
        if self.readyState == "live":
            self._processor.unsubscribe(self._slot)
            if self._on_stop is not None:
                self._on_stop()
        super().stop()


class RemoteMatte:
    """Pumps a remote (browser camera) track into a processor.

    The pump drains aiortc's receive queue as fast as frames arrive, so nothing waits there; the
    processor's one-slot inbox keeps the newest and counts the rest as dropped.
    """

    def __init__(self, remote: MediaStreamTrack, processor: LiveProcessor, origin: str = "peer") -> None:
        self._remote = remote
        self._processor = processor
        self._origin = origin
        self.received = 0
        self._task = asyncio.get_running_loop().create_task(self._pump(), name=f"livematte-pump-{origin}")

    async def _pump(self) -> None:
        while True:
            try:
                video = await self._remote.recv()
            except MediaStreamError:
                return
            index, self.received = self.received, self.received + 1
            self._processor.submit(lambda v=video, i=index: to_frame(v, i, self._origin))

    async def stop(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


def to_frame(video: VideoFrame, index: int, origin: str = "") -> Frame:
    """An av.VideoFrame from a peer → Frame (RGB). Runs on the processor's thread."""
    return Frame(image=video.to_ndarray(format="rgb24"), pts=video.pts,
                 time_base=fractions.Fraction(video.time_base) if video.time_base else fractions.Fraction(0),
                 index=index, origin=origin)
