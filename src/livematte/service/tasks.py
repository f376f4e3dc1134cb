"""The worker's tasks. Each is safe to run twice (a redelivery after a worker died): it skips work whose
output is already recorded, and an output replaces its earlier copy (store.finish_item), never adds one.

Faults of the machinery (Redis or the broker unreachable for a moment) raise and are retried with
exponential backoff; a bad input is not a fault: its item fails at once, with the reason.
"""
from __future__ import annotations

import logging

import redis
from kombu.exceptions import OperationalError

from .cache import ResultCache
from .celery_app import app
from .runtime import input_suffix, runtime
from .store import TERMINAL_ITEM, TERMINAL_JOB

log = logging.getLogger(__name__)

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 1, "retry_backoff_max": 60, "retry_jitter": True,
         "max_retries": 10}   # 1, 2, 4 ... 60 s (each jittered): minutes of outage before a task gives up


def _pending(job_id: str, index: int) -> dict | None:
    """The job, if this item still needs doing; None when the job is gone, over, or the item recorded."""
    store = runtime().store
    job = store.job(job_id)
    if job is None or job["state"] in TERMINAL_JOB:
        return None
    item = store.item(job_id, index)
    if item is not None and item["status"] in TERMINAL_ITEM:
        store.finish_if_complete(job_id)     # the earlier run recorded it and died before the job's end
        return None
    return job


@app.task(name="livematte.still", **RETRY)
def still(job_id: str, index: int, cache_key: str | None = None) -> None:
    """One image of a job (a batch item, or the single image of POST /v1/cutout)."""
    rt = runtime()
    job = _pending(job_id, index)
    if job is None:
        return
    tries = rt.store.start_item(job_id, index)
    if tries > 1:
        log.info("job %s item %d: run %d (redelivered)", job_id, index, tries)
    data = rt.store.input(job_id, index)
    if data is None:
        rt.store.finish_item(job_id, index, "failed", error="the input expired before a worker reached it")
    else:
        status, output, error, flags = rt.cut_out(data, input_suffix(data), job["options"])
        if status == "done" and cache_key:
            ResultCache(rt.store, rt.service.cache_bytes).put(cache_key, output, flags)
        rt.store.finish_item(job_id, index, status, output=output, error=error, flags=flags, worker=rt.name)
    rt.store.finish_if_complete(job_id)
