"""`livematte worker`: a Celery worker that runs the service's jobs (see ../service/celery_app.py).

One process per machine, with a pool of threads: the threads share one loaded model, as `livematte
stills` does (measured there: threads tie processes on throughput and keep one model in memory).
Concurrency and inference threads are set together: threads per inference = cores // concurrency.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import threading

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TOML", help="a config file (its [service] table: broker, Redis, queue)")
    parser.add_argument("--concurrency", "-c", type=int, metavar="N",
                        help="tasks at once (default: [service] concurrency, 0 = one per core)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="inference threads per task (default: cores // concurrency)")
    parser.add_argument("--name", help="worker name (default: host name and process id)")


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..service.celery_app import configure
    from ..service.options import service_config
    from ..service.runtime import Runtime, set_runtime
    from ..service.store import HEARTBEAT_S, Store
    from ..threads import opencv_threads

    config = load_config(args.config)
    service = service_config(config)
    cores = os.cpu_count() or 1
    concurrency = args.concurrency or service.concurrency or cores
    threads = args.threads or max(1, cores // concurrency)
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    store = Store(service.result_url, service.queue, service.result_ttl_s)
    runtime = Runtime(config, service, store, threads, name)
    set_runtime(runtime)
    runtime.engine(config.engine)          # the default model, loaded once before the first task
    stop = threading.Event()
    threading.Thread(target=_beat, args=(store, name, stop, HEARTBEAT_S / 3), daemon=True,
                     name="livematte-heartbeat").start()
    app = configure(service)
    log.info("livematte worker %s: queue %s, %d tasks at once, %d inference threads each",
             name, service.queue, concurrency, threads)
    try:
        # Several tasks at once already fill the cores: OpenCV splitting each call too oversubscribes them.
        with opencv_threads(1 if concurrency > 1 else 0):
            app.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency),
                             "--queues", service.queue, "--hostname", f"{name}@%h", "--loglevel", "INFO",
                             "--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"])
    finally:
        stop.set()
    return 0


def _beat(store, name: str, stop: threading.Event, every_s: float) -> None:
    """The heartbeat /healthz counts workers by; a worker that dies stops beating and drops out."""
    while not stop.is_set():
        try:
            store.beat(name)
        except Exception as exc:      # Redis away for a moment: the next beat tries again
            log.warning("heartbeat: %s", exc)
        stop.wait(every_s)
