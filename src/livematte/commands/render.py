"""`livematte render INPUT -o OUTPUT`: matte a video file, image sequence or stream into a new video."""
from __future__ import annotations

import argparse
import sys

from .. import sinks
from ..config import merge
from .common import add_input_option_argument, add_pipeline_arguments, config_from_args, parse_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT",
                        help="video file, image sequence (frames/%%06d.png, 'frames/*.png'), "
                             "rtsp:// rtmp:// http(s):// stream, or camera /dev/videoN")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help=sinks.output_help().replace("%", "%%") + ", out/%%06d.png")
    add_pipeline_arguments(parser, files=True)
    group = parser.add_argument_group("output")
    group.add_argument("--codec", choices=sinks.codecs.names(),
                       help=f"override the choice by extension ({sinks.codec_help()})")
    group.add_argument("--crf", type=int, help="quality, as in FFmpeg (lower is better; default 23)")
    group.add_argument("--preset", help="encoder speed preset, as in FFmpeg x264 (default medium)")
    group.add_argument("--no-audio", action="store_true", help="drop the input's audio")
    group.add_argument("--overwrite", action="store_true",
                       help="replace an existing output (default: refuse; [output] overwrite)")
    group.add_argument("--matte-only", action="store_true",
                       help="write the alpha as a grey video (a track matte)")
    group.add_argument("--retries", type=int, help="reconnects of a stalled network stream (default 3)")
    group.add_argument("--timeout", type=float, help="seconds without data before a stream counts as stalled")
    add_input_option_argument(group)
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    group.add_argument("--report", metavar="PATH", help="write a JSON report (frames, warnings, frames flagged)")


def run(args: argparse.Namespace) -> int:
    from ..pipeline import render

    config = merge(config_from_args(args), {
        "output": {"codec": args.codec, "crf": args.crf, "preset": args.preset, "overwrite": args.overwrite or None,
                   "audio": False if args.no_audio else None,
                   "matte_only": True if args.matte_only else None},
        "input": {"retries": args.retries, "timeout_s": args.timeout,
                  "options": parse_options(args.input_option) or None},
    }, "<command line>")
    report = render(args.input, args.output, config, progress=not args.no_progress and sys.stderr.isatty())
    print(report.summary(), file=sys.stderr)
    if args.report:
        from ..report import render_report, write_json

        write_json(args.report, render_report(report))
    return 130 if report.interrupted else 0
