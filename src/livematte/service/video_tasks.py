"""A video job's three tasks: plan (split into chunks at keyframes), one task per chunk (on any worker),
and the join, sent when the last chunk is recorded. Each is safe to run twice, like every task here:
a planned job is not planned again, a recorded chunk not rendered again, and the join replaces its
result. A video that cannot be read fails the job at once; Redis or broker faults retry with backoff.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace

from ..errors import LivematteError
from .celery_app import app
from .chunks import Chunk, join_chunks, plan_chunks, render_chunk
from .options import job_config, suffix
from .runtime import runtime
from .store import TERMINAL_JOB
from .tasks import RETRY, _pending

log = logging.getLogger(__name__)


@app.task(name="livematte.video_plan", **RETRY)
def video_plan(job_id: str) -> None:
    rt = runtime()
    job = rt.store.job(job_id)
    if job is None or job["state"] in TERMINAL_JOB:
        return
    if "plan" not in job:
        path = rt.video_input(job_id)
        if path is None:
            rt.store.finish_job(job_id, "failed", "the input expired before a worker reached it")
            return
        try:
            chunks = plan_chunks(path, rt.service.chunk_frames, rt.service.overlap_frames)
        except LivematteError as exc:
            rt.store.finish_job(job_id, "failed", str(exc))
            return
        frames = sum(c.frames for c in chunks)
        if frames > rt.service.max_video_frames:     # the API's probe may not have known the count
            rt.store.finish_job(job_id, "failed", f"video: {frames} frames, over the limit of "
                                                  f"{rt.service.max_video_frames}")
            return
        rt.store.set_field(job_id, "plan", json.dumps([c.as_dict() for c in chunks]))
        rt.store.set_items(job_id, [f"chunk {c.index}: {c.frames} frames" for c in chunks])
        job = rt.store.job(job_id)
    log.info("job %s: %d chunks", job_id, job["count"])
    for index in range(job["count"]):     # again after a redelivery: a chunk already recorded is skipped
        app.send_task("livematte.video_chunk", args=[job_id, index], queue=rt.service.queue)


@app.task(name="livematte.video_chunk", **RETRY)
def video_chunk(job_id: str, index: int) -> None:
    rt = runtime()
    job = _pending(job_id, index)
    if job is not None:
        rt.store.start_item(job_id, index)
        chunk = Chunk(**json.loads(job["plan"])[index])
        config = _config(rt, job)
        output = rt.temp_path(f"chunk{index}{suffix(job['options'], video=True)}")
        try:
            path = rt.video_input(job_id)
            if path is None:
                rt.store.finish_item(job_id, index, "failed", error="the input expired", worker=rt.name)
            else:
                warnings, flagged = render_chunk(path, output, config, rt.engine(config.engine), chunk)
                for warning in warnings:
                    rt.store.warn(job_id, f"chunk {index}: {warning}")
                for flag, frames in flagged.items():
                    rt.store.warn(job_id, f"chunk {index}: {len(frames)} frames flagged {flag} (frames "
                                          f"{', '.join(map(str, frames[:5]))}{', ...' if len(frames) > 5 else ''})")
                rt.store.finish_item(job_id, index, "done", output=output.read_bytes(), flags=sorted(flagged),
                                     worker=rt.name)
        except LivematteError as exc:
            rt.store.finish_item(job_id, index, "failed", error=str(exc), worker=rt.name)
        finally:
            rt.remove(output)
    _join_when_complete(job_id)


def _join_when_complete(job_id: str) -> None:
    """Send the join once every chunk is recorded; a failed chunk fails the video."""
    rt = runtime()
    job = rt.store.job(job_id)
    items = rt.store.items(job_id)
    if job is None or job["state"] in TERMINAL_JOB or len(items) < job["count"]:
        return
    failed = [i for i in items if i["status"] == "failed"]
    if failed:
        rt.store.finish_job(job_id, "failed", "; ".join(f"{i['name']}: {i['error']}" for i in failed))
    elif all(i["status"] == "done" for i in items):
        app.send_task("livematte.video_join", args=[job_id], queue=rt.service.queue)


@app.task(name="livematte.video_join", **RETRY)
def video_join(job_id: str) -> None:
    rt = runtime()
    job = rt.store.job(job_id)
    if job is None or job["state"] in TERMINAL_JOB:
        return
    ext = suffix(job["options"], video=True)
    parts = [rt.temp_path(f"chunk{i}{ext}") for i in range(job["count"])]
    result = rt.temp_path(f"result{ext}")
    try:
        for index, part in enumerate(parts):
            data = rt.store.output(job_id, index)
            if data is None:
                rt.store.finish_job(job_id, "failed", f"chunk {index}: its output expired before the join")
                return
            part.write_bytes(data)
        original = rt.video_input(job_id)
        if original is None:
            rt.store.finish_job(job_id, "failed", "the input expired before the join")
            return
        config = _config(rt, job)
        audio = config.output.audio and not config.output.matte_only     # as `livematte render` decides
        warnings = join_chunks(parts, original, result, audio=audio)
        rt.store.put_output(job_id, "result", result.read_bytes())
        for warning in warnings:
            rt.store.warn(job_id, warning)
        rt.store.finish_job(job_id, "done")
    except LivematteError as exc:
        rt.store.finish_job(job_id, "failed", str(exc))
    finally:
        for path in [*parts, result]:
            rt.remove(path)


def _config(rt, job: dict):
    config = job_config(job["options"], rt.config, video=True)
    return replace(config, engine=replace(config.engine, threads=config.engine.threads or rt.threads))
