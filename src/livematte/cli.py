"""The `livematte` command: one subcommand per module in livematte/commands/, imported only when used
so that `--help` and `--version` stay fast."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import LivematteError

COMMANDS = {
    "stills": "cut people and products out of still images and folder trees",
    "render": "matte a video file or network stream and write a new video",
    "serve": "WebRTC service with a browser page (camera in, matted video out)",
    "camera": "read a camera and write matted frames to a virtual camera",
    "models": "list, pull, verify and add models",
}


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
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
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
