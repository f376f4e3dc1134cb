"""`livematte camera`: read a camera (or a file/stream, for testing), matte it, write a virtual camera.

Three threads, one slot between each: the reader decodes into the processor's inbox, the processor
composites into an output slot, and this loop sends the newest output at the camera's own rate,
repeating the last frame when processing is late rather than stalling the virtual camera.
"""
from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import dataclass

from ..config import Config, LiveConfig
from ..errors import LivematteError
from ..live import LiveProcessor, output_rgb, paced
from ..sources import is_live
from .common import add_pipeline_arguments, config_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", "-i", metavar="CAMERA|FILE|URL",
                        help="camera device (/dev/videoN), video file or stream URL (default: [live] camera)")
    parser.add_argument("--device", "-d", metavar="DEVICE",
                        help="virtual camera to write, e.g. /dev/video10 "
                             "(default: [live] vcam_device, else the first one found)")
    parser.add_argument("--vcam-backend", metavar="NAME",
                        help="pyvirtualcam backend: v4l2loopback, obs, unitycapture (default: any available)")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after sending N frames")
    add_pipeline_arguments(parser)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = run_camera(config, args.input or config.live.camera,
                        device=args.device or config.live.vcam_device, backend=args.vcam_backend,
                        max_frames=args.frames)
    log.info("camera: %d frames sent (%d repeats), %d dropped, latency p50 %.1f ms p95 %.1f ms",
             report.sent, report.repeated, report.dropped, report.latency_ms["p50"], report.latency_ms["p95"])
    return 0


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


def run_camera(config: Config, uri: str, *, device: str | None = None, backend: str | None = None,
               max_frames: int | None = None) -> CameraReport:
    """The camera → virtual camera loop. Returns when the input ends, after `max_frames`, or on Ctrl-C."""
    from ..engine import load_engine
    from ..sinks.vcam import VirtualCamera
    from ..sources import open_source

    with open_source(uri, live=is_live(uri), av_options=camera_options(uri, config.live),
                     retries=config.input.retries, timeout_s=config.input.timeout_s) as source:
        fps = float(source.frame_rate or config.live.fps)
        # The virtual camera opens before the model loads, so a missing device fails at once.
        with VirtualCamera(source.width, source.height, fps, device=device, backend=backend) as cam:
            engine = load_engine(config.engine.model, config.engine)
            with LiveProcessor(config, engine, name="camera") as processor:
                return _pump(source, processor, cam, max_frames)


def _pump(source, processor: LiveProcessor, cam, max_frames: int | None) -> CameraReport:
    outputs = processor.subscribe()
    stop = threading.Event()
    failure: list[BaseException] = []
    reader = threading.Thread(target=_read, args=(source, processor, stop, failure),
                              name="livematte-camera-read", daemon=True)
    reader.start()
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
                last = output_rgb(frame)
            elif last is None:
                continue
            else:
                repeated += 1                        # processing is late: keep the camera's rate steady
            cam.send(last)
            sent += 1
            cam.sleep_until_next_frame()
    finally:
        stop.set()
        reader.join(5.0)
    if failure:
        raise failure[0]
    snap = processor.snapshot()
    return CameraReport(sent=sent, repeated=repeated, dropped=snap["dropped_in"] + snap["dropped_out"],
                        latency_ms=snap["latency_ms"], width=cam.width, height=cam.height, fps=cam.fps)


def _read(source, processor: LiveProcessor, stop: threading.Event, failure: list) -> None:
    # A camera delivers at its own rate; a file would decode all at once, so it is held to its timestamps.
    try:
        for frame in paced(source.frames(), stop):
            processor.submit(frame)
    except LivematteError as exc:      # handed to the main thread, which raises it after cleaning up
        failure.append(exc)
