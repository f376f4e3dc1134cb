"""The camera relay: a live source → LiveProcessor → a live sink (virtual camera, MJPEG preview).

Three threads, one slot between each: the reader feeds the processor's inbox (pacing.feed), the
processor composites into an output slot, and this loop writes the newest output at the sink's own
rate, repeating the last frame when processing is late rather than stalling the sink.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from .config import Config, LiveConfig
from .errors import LivematteError
from .live import LiveProcessor
from .pacing import Ticker, feed
from .sources import is_live

log = logging.getLogger(__name__)


@dataclass
class CameraReport:
    sent: int
    repeated: int
    dropped: int
    latency_ms: dict
    width: int
    height: int
    fps: float


def camera_options(uri: str, live: LiveConfig) -> dict:
    """FFmpeg v4l2 options asking a real camera for the configured size and rate."""
    if not uri.startswith("/dev/video"):
        return {}
    return {"video_size": f"{live.width}x{live.height}", "framerate": str(live.fps)}


def run_camera(config: Config, uri: str, *, output: str = "vcam", device: str | None = None,
               backend: str | None = None, max_frames: int | None = None) -> CameraReport:
    """Camera → live sink (`output`: see sinks.open_live_sink). Returns when the input ends, after
    `max_frames`, or on Ctrl-C."""
    from .engine import load_engine
    from .sinks import open_live_sink
    from .sources import open_source

    with open_source(uri, live=is_live(uri), av_options=camera_options(uri, config.live),
                     retries=config.input.retries, timeout_s=config.input.timeout_s) as source:
        fps = float(source.frame_rate or config.live.fps)
        # The sink opens before the model loads, so a missing device fails at once.
        with open_live_sink(output, width=source.width, height=source.height, fps=fps, device=device,
                            backend=backend) as sink:
            engine = load_engine(config.engine.model, config.engine)
            with LiveProcessor(config, engine, name="camera") as processor:
                return relay(source, processor, sink, fps=fps, max_frames=max_frames)


def relay(source, processor: LiveProcessor, sink, *, fps: float, max_frames: int | None = None) -> CameraReport:
    """Feed `source` to `processor` on a reader thread; write its newest outputs to `sink` at `fps`."""
    outputs = processor.subscribe()
    stop = threading.Event()
    failure: list[BaseException] = []
    reader = threading.Thread(target=_read, args=(source, processor, stop, failure),
                              name="livematte-camera-read", daemon=True)
    reader.start()
    tick = getattr(sink, "sleep_until_next_frame", None) or Ticker(fps).wait
    sent = repeated = 0
    last = None
    try:
        while max_frames is None or sent < max_frames:
            frame = outputs.take(timeout=0 if last is not None else 0.5)
            if frame is None and not reader.is_alive() and processor.idle:
                frame = outputs.take(timeout=0)      # the very last one may have landed meanwhile
                if frame is None:
                    break                            # the input ended and its last frame was sent
            if frame is not None:
                last = frame
            elif last is None:
                continue
            else:
                repeated += 1                        # processing is late: keep the sink's rate steady
            sink.write(last)
            sent += 1
            tick()
    finally:
        stop.set()
        reader.join(5.0)
    if failure:
        raise failure[0]
    snap = processor.snapshot()
    return CameraReport(sent=sent, repeated=repeated, dropped=snap["dropped_in"] + snap["dropped_out"],
                        latency_ms=snap["latency_ms"], width=sink.width, height=sink.height, fps=sink.fps)


def _read(source, processor: LiveProcessor, stop: threading.Event, failure: list) -> None:
    # A camera delivers at its own rate; a file would decode all at once, so it is held to its timestamps.
    try:
        feed(source.frames(), processor, stop)
    except LivematteError as exc:      # handed to the main thread, which raises it after cleaning up
        failure.append(exc)
