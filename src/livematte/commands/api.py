"""`livematte api`: the HTTP API in front of the workers (see ../service/app.py and openapi.py)."""
from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TOML", help="a config file (its [service] table)")
    parser.add_argument("--host", help="address to listen on (default: [service] host, 127.0.0.1)")
    parser.add_argument("--port", "-p", type=int, help="port to listen on (default: [service] port, 8090)")
    parser.add_argument("--no-auth", action="store_true",
                        help="accept requests without a bearer token; allowed on 127.0.0.1 only")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from aiohttp import web

    from ..config import load_config
    from ..service.access import check_setup
    from ..service.app import create_app
    from ..service.cache import ResultCache
    from ..service.celery_app import configure
    from ..service.jobs import Jobs
    from ..service.options import service_config
    from ..service.store import Store

    config = load_config(args.config)
    service = service_config(config)
    service = replace(service, host=args.host or service.host,
                      port=service.port if args.port is None else args.port)
    check_setup(service.host, service.tokens, args.no_auth)
    store = Store(service.result_url, service.queue, service.result_ttl_s)
    jobs = Jobs(store, ResultCache(store, service.cache_bytes), configure(service), service.queue)
    app = create_app(service, jobs, max_pixels=config.input.max_pixels, no_auth=args.no_auth)
    log.info("livematte api: http://%s:%d/ (queue %s)", service.host, service.port, service.queue)
    web.run_app(app, host=service.host, port=service.port, print=None)
    return 0
