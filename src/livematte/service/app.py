"""The aiohttp app of `livematte api`: the HTTP face of the job queue (see openapi.py for the contract).

The API never runs a model: it checks uploads, queues work, and hands back what the workers wrote to
Redis, so its memory stays flat however much passes through it. Redis and broker calls block, so they
run in threads. File names are the server's: outputs are called by their index, the client's names
only appear in the job's report.
"""
from __future__ import annotations

import asyncio
import json
import time
import zipfile
from pathlib import Path

from aiohttp import web

from ..config import ServiceConfig
from .access import access_middleware, error
from .jobs import Jobs
from .openapi import spec
from .options import FieldError, media_type, parse_options, suffix
from .store import QueueFull
from .uploads import (
    IMAGE_TYPES,
    check_image,
    check_video,
    display_name,
    read_body,
    read_multipart,
    zip_members,
)

STATIC = Path(__file__).with_name("static")
JOBS, SERVICE = web.AppKey("jobs", Jobs), web.AppKey("service", ServiceConfig)
MAX_PIXELS = web.AppKey("max_pixels", int)
WAITER = web.AppKey("waiter", object)
HEALTH = web.AppKey("health", object)
HEALTH_REUSE_S = 1.0
# Redis and broker calls run in this many threads; the cut-outs waiting for their result don't hold one.
API_THREADS = 32


def create_app(service: ServiceConfig, jobs: Jobs, *, max_pixels: int, no_auth: bool = False) -> web.Application:
    """max_pixels: [input] max_pixels, the one pixel limit of every input (checked here from the header)."""
    app = web.Application(client_max_size=service.max_upload_bytes,
                          middlewares=[errors_middleware,
                                       access_middleware(service.tokens, no_auth, service.port, jobs.store,
                                                         service.rate_per_minute)])
    app[JOBS], app[SERVICE], app[MAX_PIXELS], app[HEALTH] = jobs, service, max_pixels, _Health()
    app.cleanup_ctx.append(_waiter)
    app.router.add_get("/", page)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_post("/v1/cutout", post_cutout)
    app.router.add_post("/v1/jobs", post_jobs)
    app.router.add_get("/v1/jobs/{id}", get_job)
    app.router.add_delete("/v1/jobs/{id}", delete_job)
    app.router.add_get("/v1/jobs/{id}/result", get_result)
    return app


async def _waiter(app: web.Application):
    """An asyncio Redis client for the waits of POST /v1/cutout: a blocking wait in a thread would hold one
    of the few threads for up to sync_budget_s, and a handful of waiting clients would stall the API."""
    from concurrent.futures import ThreadPoolExecutor

    import redis.asyncio

    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(API_THREADS, "livematte-api"))
    # No socket timeout (redis.asyncio's default is 5 s): BLPOP ends itself after sync_budget_s.
    app[WAITER] = redis.asyncio.Redis.from_url(app[SERVICE].result_url, socket_timeout=None)
    yield
    await app[WAITER].aclose()


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except FieldError as exc:
        return error(exc.status, str(exc), exc.field)
    except web.HTTPException as exc:
        if exc.status == 413:
            return error(413, f"request body over the limit of {request.app[SERVICE].max_upload_bytes} bytes",
                         "body")
        raise


async def page(request: web.Request) -> web.Response:
    return web.FileResponse(STATIC / "index.html")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(spec(request.app[SERVICE], request.app[MAX_PIXELS]))


class _Health:
    """One health check at a time, its answer reused for HEALTH_REUSE_S: /healthz needs no token, and a
    broker that hangs holds a thread per check for its connect timeout (40 probes stalled every token)."""

    def __init__(self):
        self.lock, self.answer, self.at = asyncio.Lock(), None, 0.0

    async def get(self, check) -> dict:
        async with self.lock:
            if self.answer is None or time.monotonic() - self.at > HEALTH_REUSE_S:
                self.answer = await asyncio.to_thread(check)
                self.at = time.monotonic()
            return self.answer


async def healthz(request: web.Request) -> web.Response:
    jobs = request.app[JOBS]

    def check() -> dict:
        broker = True
        try:
            with jobs.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
        except Exception:       # any failure to reach the broker is "not reachable", said in the answer
            broker = False
        redis_ok = jobs.store.ping()
        return {"broker": broker, "result_store": redis_ok, "workers": jobs.store.workers() if redis_ok else 0}

    health = await request.app[HEALTH].get(check)
    ok = health["broker"] and health["result_store"]
    return web.json_response({"ok": ok, **health}, status=200 if ok else 503)


# -- submitting ------------------------------------------------------------------------------------
async def _options(request: web.Request, fields: dict[str, str], video: bool = False) -> dict:
    merged = dict(request.query)
    for name, value in fields.items():
        if name in merged:
            raise FieldError(name, "given both in the query and the form")
        merged[name] = value
    return parse_options(merged, video=video)


async def _admit(request: web.Request) -> None:
    """The queued-jobs limit of this owner."""
    jobs, service = request.app[JOBS], request.app[SERVICE]
    active = await asyncio.to_thread(jobs.store.active_jobs, request["owner"])
    if active >= service.max_queued_jobs:
        raise _full(active, service.max_queued_jobs)


def _full(active: int, limit: int) -> FieldError:
    return FieldError("jobs", f"{active} unfinished jobs, the limit per token is {limit}; "
                              f"wait for one to end or cancel one", 429)


async def _submit(request: web.Request, submit, *args) -> str:
    """Queue a job; the limit is taken again in Redis as the job is made (concurrent requests all pass
    _admit before any of them is recorded)."""
    limit = request.app[SERVICE].max_queued_jobs
    try:
        return await asyncio.to_thread(submit, request["owner"], *args, max_active=limit)
    except QueueFull as exc:
        raise _full(exc.args[0], limit) from None


async def post_cutout(request: web.Request) -> web.Response:
    jobs, service = request.app[JOBS], request.app[SERVICE]
    if request.content_type.startswith("multipart/"):
        upload = await read_multipart(request, service.max_upload_bytes)
        files = [f for f in upload.files if f[0] == "image"]
        if len(files) != 1 or len(upload.files) != 1:
            raise FieldError("image", f"expected exactly one image field, got {len(upload.files)} file(s)")
        data, fields = files[0][2], upload.fields
    elif request.content_type in IMAGE_TYPES:
        data, fields = await read_body(request, service.max_upload_bytes), {}
    else:
        raise FieldError("image", "send a multipart field `image`, or the image as the body with its "
                                  f"Content-Type ({', '.join(sorted(IMAGE_TYPES))})", 415)
    options = await _options(request, fields)
    check_image("image", data, request.app[MAX_PIXELS])
    await _admit(request)
    job_id = await _submit(request, jobs.submit_images, "cutout", options, ["image"], [data])
    if service.sync_budget_s > 0:
        await request.app[WAITER].blpop([jobs.store.key("done", job_id)], timeout=service.sync_budget_s)
    job = await asyncio.to_thread(jobs.store.job, job_id)
    if job is None or job["state"] not in ("done", "failed"):
        return web.json_response({"id": job_id, "state": job["state"] if job else "queued"}, status=202,
                                 headers={"Location": f"/v1/jobs/{job_id}"})
    (item,) = await asyncio.to_thread(jobs.store.items, job_id)
    if item["status"] != "done":
        return error(422, f"image: {item['error']}", "image")
    output = await asyncio.to_thread(jobs.store.output, job_id, 0)
    return web.Response(body=output, content_type=media_type(options), headers={
        "X-Livematte-Job": job_id, "X-Livematte-Flags": json.dumps(item["flags"]),
        "X-Livematte-Cache": "hit" if item["cached"] else "miss"})


async def post_jobs(request: web.Request) -> web.Response:
    jobs, service = request.app[JOBS], request.app[SERVICE]
    upload = await read_multipart(request, service.max_upload_bytes)
    kinds = {name for name, _, _ in upload.files}
    if not kinds:
        raise FieldError("image", "no file: send `image` fields, one `zip`, or one `video`")
    if len(kinds) > 1 or (kinds & {"zip", "video"} and len(upload.files) > 1):
        raise FieldError(sorted(kinds)[0], "send several `image` fields, or one `zip`, or one `video`, "
                                           "not a mix")
    kind = kinds.pop()
    options = await _options(request, upload.fields, video=kind == "video")
    if kind == "video":
        probe = await asyncio.to_thread(check_video, "video", upload.files[0][2], service, request.app[MAX_PIXELS])
        await _admit(request)
        job_id = await _submit(request, jobs.submit_video, options, upload.files[0][2], probe)
        return _accepted(job_id)
    if kind == "zip":
        members = await asyncio.to_thread(zip_members, "zip", upload.files[0][2], service)
        named = [(f"zip:{name}", display_name(name, f"member {i}"), data) for i, (name, data) in enumerate(members)]
    else:
        if len(upload.files) > service.max_images:
            raise FieldError("image", f"{len(upload.files)} images, over the limit of {service.max_images}", 413)
        named = [(f"image[{i}]", display_name(filename, f"image {i}"), data)
                 for i, (_, filename, data) in enumerate(upload.files)]
    for field, _, data in named:
        check_image(field, data, request.app[MAX_PIXELS])
    await _admit(request)
    job_id = await _submit(request, jobs.submit_images, "images", options,
                           [name for _, name, _ in named], [data for _, _, data in named])
    return _accepted(job_id)


def _accepted(job_id: str) -> web.Response:
    return web.json_response({"id": job_id, "state": "queued"}, status=202,
                             headers={"Location": f"/v1/jobs/{job_id}"})


# -- reading back ----------------------------------------------------------------------------------
async def _own_job(request: web.Request) -> dict:
    jobs = request.app[JOBS]
    job_id = request.match_info["id"]
    job = await asyncio.to_thread(jobs.store.job, job_id) if job_id.isalnum() and len(job_id) == 32 else None
    if job is None or job["owner"] != request["owner"]:
        raise FieldError("id", "no such job (it may have expired)", 404)
    return job


async def get_job(request: web.Request) -> web.Response:
    job = await _own_job(request)
    return web.json_response(await asyncio.to_thread(request.app[JOBS].view, job))


async def delete_job(request: web.Request) -> web.Response:
    job = await _own_job(request)
    await asyncio.to_thread(request.app[JOBS].store.cancel, job["id"])
    return web.json_response({"id": job["id"], "state": "cancelled"})


async def get_result(request: web.Request) -> web.StreamResponse:
    jobs = request.app[JOBS]
    job = await _own_job(request)
    if job["state"] != "done":
        raise FieldError("id", f"the job is {job['state']}; its result exists once it is done", 409)
    options = job["options"]
    if job["kind"] in ("cutout", "video"):
        video = job["kind"] == "video"
        data = await asyncio.to_thread(jobs.store.output, job["id"], "result" if video else 0)
        if data is None:
            raise FieldError("id", "the result has expired", 410)
        name = f"{job['id']}{suffix(options, video)}"
        return web.Response(body=data, content_type=media_type(options, video),
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return await _stream_zip(request, jobs, job)


class _Chunks:
    """A write-only, unseekable file for zipfile that collects what it writes until taken."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def seek(self, *args):
        raise OSError("not seekable")

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def _stream_zip(request: web.Request, jobs: Jobs, job: dict) -> web.StreamResponse:
    """The outputs as a zip, streamed one entry at a time: memory holds one output, not the batch."""
    response = web.StreamResponse(headers={"Content-Type": "application/zip", "Content-Disposition":
                                           f'attachment; filename="{job["id"]}.zip"'})
    await response.prepare(request)
    items = await asyncio.to_thread(jobs.store.items, job["id"])
    out = _Chunks()
    ext = suffix(job["options"])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in items:
            if item["status"] != "done":
                continue
            data = await asyncio.to_thread(jobs.store.output, job["id"], item["index"])
            if data is None:
                item.update(status="failed", error="the output expired")
                continue
            archive.writestr(f"{item['index']:04d}{ext}", data)
            await response.write(out.take())
        report = [{k: i[k] for k in ("index", "name", "status", "error", "flags", "cached")} for i in items]
        archive.writestr("report.json", json.dumps(report, indent=1))
    await response.write(out.take())
    await response.write_eof()
    return response
