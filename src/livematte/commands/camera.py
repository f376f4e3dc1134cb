"""`livematte camera`: read a camera (or a file/stream, for testing), matte it, write a virtual camera
or an MJPEG preview (the loop itself is relay.py)."""
from __future__ import annotations

import argparse
import logging

from .common import add_pipeline_arguments, config_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", "-i", metavar="CAMERA|FILE|URL",
                        help="camera device (/dev/videoN), video file or stream URL (default: [live] camera)")
    parser.add_argument("--output", "-o", metavar="SINK", default="vcam",
                        help="vcam: a virtual camera (default); http://127.0.0.1:PORT/: an MJPEG preview any "
                             "browser or player opens (loopback only)")
    parser.add_argument("--device", "-d", metavar="DEVICE",
                        help="virtual camera to write, e.g. /dev/video10 "
                             "(default: [live] vcam_device, else the first one found)")
    parser.add_argument("--vcam-backend", metavar="NAME",
                        help="pyvirtualcam backend: v4l2loopback, obs, unitycapture (default: any available)")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after sending N frames")
    add_pipeline_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..live import check_live
    from ..relay import run_camera

    config = config_from_args(args)
    check_live(config, "camera")
    report = run_camera(config, args.input or config.live.camera, output=args.output,
                        device=args.device or config.live.vcam_device, backend=args.vcam_backend,
                        max_frames=args.frames)
    log.info("camera: %d frames sent (%d repeats), %d dropped, latency p50 %.1f ms p95 %.1f ms",
             report.sent, report.repeated, report.dropped, report.latency_ms["p50"], report.latency_ms["p95"])
    return 0
