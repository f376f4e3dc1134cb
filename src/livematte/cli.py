"""The `livematte` command: one subcommand per module in livematte/commands/, imported only when used
so that `--help` and `--version` stay fast."""
from __future__ import annotations

import argparse
import ctypes
import importlib
import logging
import sys

from . import __version__
from .errors import LivematteError

# Commands that process a bounded amount of work and exit: they get tune_process() (see there).
BOUNDED = ("render", "stills")
COMMANDS = {
    "stills": "cut people and products out of still images and folder trees",
    "render": "matte a video file or network stream and write a new video",
    "serve": "WebRTC service with a browser page (camera in, matted video out)",
    "camera": "read a camera and write matted frames to a virtual camera",
    "models": "list, pull, verify and add models",
    "api": "HTTP API for cut-outs of images and videos, served by `livematte worker`s",
    "worker": "run the API's jobs (a Celery worker on RabbitMQ, results in Redis)",
}


# glibc malloc settings (mallopt parameter numbers from malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20    # 32 MiB: every frame-sized buffer (a 1080p RGBA frame is 8 MiB) from the heap
_TRIM_THRESHOLD = 128 << 20   # keep up to 128 MiB of freed heap for the next frame's buffers


def tune_process() -> None:
    """Process-wide settings for frame-sized work, applied once at start-up (the benchmark does too).

    By default glibc serves allocations over 128 KiB with fresh mmap()s, each page of which faults on
    first touch, and only raises that threshold (to at most 32 MiB) once such a block has been freed.
    Every stage allocates a few frame-sized arrays per frame, so the first frames of every process, and
    any code that keeps its first big blocks, pay the faults. Fixed at 32 MiB from the start, they mostly
    go; the gain over whole renders is small and memory is the price (figures: tools/README.md). So only
    the file commands, which end, use it; `serve` and `camera` run for days and keep glibc's defaults.
    A no-op outside glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt    # the running process's own libc; no library search
    except (OSError, AttributeError):          # musl has no mallopt: nothing to tune
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="livematte", description="Cut people out of video and images.")
    parser.add_argument("--version", action="version", version=f"livematte {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, summary in COMMANDS.items():
        command_parser = sub.add_parser(name, help=summary, description=summary)
        if name == wanted:
            module = importlib.import_module(f"livematte.commands.{name}")
            module.add_arguments(command_parser)
            command_parser.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if args.command in BOUNDED:
        tune_process()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(message)s")
    try:
        return int(args.run(args) or 0)
    except LivematteError as exc:
        print(f"livematte {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"livematte {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
