"""Making jobs and showing them: the API's side of the queue (blocking calls; the app runs them in threads).

An image whose result is in the cache is recorded done at once and never queued; the rest go to the
workers as one `livematte.still` task each, a video as one `livematte.video_plan` task that splits it.
"""
from __future__ import annotations

from .cache import ResultCache, cache_key
from .store import TERMINAL_ITEM, Store


class Jobs:
    def __init__(self, store: Store, cache: ResultCache, celery, queue: str):
        self.store = store
        self.cache = cache
        self.celery = celery
        self.queue = queue

    def submit_images(self, owner: str, kind: str, options: dict, names: list[str], inputs: list[bytes],
                      max_active: int | None = None) -> str:
        job_id = self.store.create_job(owner, kind, options, names, inputs, max_active)
        queued = False
        for index, data in enumerate(inputs):
            key = cache_key(data, options)
            hit = self.cache.get(key)
            if hit is not None:
                output, flags = hit
                self.store.finish_item(job_id, index, "done", output=output, flags=flags, cached=True)
                continue
            self.celery.send_task("livematte.still", args=[job_id, index, key], queue=self.queue)
            queued = True
        if not queued:
            self.store.finish_if_complete(job_id)
        return job_id

    def submit_video(self, owner: str, options: dict, data: bytes, probe: dict, max_active: int | None = None) -> str:
        job_id = self.store.create_job(owner, "video", options | {"probe": probe}, [], [data], max_active)
        self.celery.send_task("livematte.video_plan", args=[job_id], queue=self.queue)
        return job_id

    def view(self, job: dict) -> dict:
        """The job as GET /v1/jobs/{id} shows it."""
        items = self.store.items(job["id"])
        tries = self.store.tries(job["id"])
        ended = sum(1 for i in items if i["status"] in TERMINAL_ITEM)
        count = job["count"] or len(items)
        if job["state"] in ("done", "failed", "cancelled"):
            progress = 1.0
        elif job["kind"] == "video":
            progress = 0.95 * ended / count if count else 0.0    # the join is the last 5 %
        else:
            progress = ended / count if count else 0.0
        view = {"id": job["id"], "kind": job["kind"], "state": job["state"], "progress": round(progress, 4),
                "created": job["created"], "expires": job["expires"],
                "options": {k: v for k, v in job["options"].items() if k != "probe"},
                "items": [{"index": i["index"], "name": i["name"], "status": i["status"], "error": i["error"],
                           "flags": i["flags"], "cached": i["cached"], "attempts": tries.get(i["index"], 0),
                           "worker": i.get("worker", "")}
                          for i in items]}
        if job.get("error"):
            view["error"] = job["error"]
        if warnings := self.store.warnings(job["id"]):
            view["warnings"] = warnings
        if job["state"] == "done":
            view["result"] = f"/v1/jobs/{job['id']}/result"
        return view
