"""`livematte serve`: the WebRTC service with its browser page (see server/app.py)."""
from __future__ import annotations

import argparse
import logging

from .common import add_input_option_argument, add_pipeline_arguments, config_from_args, parse_options

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", "-s", metavar="FILE|URL|/dev/videoN",
                        help="a server-side source that every viewer in 'watch' mode shares")
    parser.add_argument("--host", help="address to listen on (default: [live] host, 127.0.0.1); any other "
                                       "address needs [live] token or $LIVEMATTE_TOKEN")
    parser.add_argument("--port", "-p", type=int, help="port to listen on (default: [live] port, 8080)")
    parser.add_argument("--max-peers", type=int, help="most peers at once (default: [live] max_peers)")
    add_input_option_argument(parser)
    add_pipeline_arguments(parser)


def listening_note(host: str, port: int) -> str:
    from ..server.guard import is_loopback

    if is_loopback(host):
        return f"open http://{host}:{port}/ in a browser (listening on {host} only: this machine)"
    shown = "THIS-MACHINE" if host in ("0.0.0.0", "::", "") else host
    return (f"open http://{shown}:{port}/ in a browser (listening on {host}: reachable from other machines; "
            "the page asks for the access token)")


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from ..config import merge
    from ..engine import load_engine
    from ..live import check_live
    from ..server.app import create_app
    from ..server.guard import access_token
    from ..sources import is_live, open_source
    from ..stages.composite import Composite

    config = config_from_args(args)
    check_live(config, "serve")
    config = merge(config, {"live": {"host": args.host, "port": args.port, "max_peers": args.max_peers},
                            "input": {"options": parse_options(args.input_option) or None}},
                   "<command line>")
    access_token(config.live.token, config.live.host)    # a reachable address without a token stops here
    Composite.from_config(config)     # a background this build cannot draw fails now, with its name
    if args.source and not config.input.options:
        # fail now, not when the first viewer arrives (a listening input can't be probed: it waits for a push)
        with open_source(args.source, live=is_live(args.source), **config.input.source_options()):
            pass
    engine = load_engine(config.engine.model, config.engine)
    app = create_app(config, engine, source=args.source)    # refuses a reachable address without a token
    log.info("livematte serve: %s", listening_note(config.live.host, config.live.port))
    web.run_app(app, host=config.live.host, port=config.live.port, print=None)
    return 0
