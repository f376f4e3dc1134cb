"""Jobs survive a worker's death: kill -9 a worker in the middle of an image, and another worker
finishes the job, with nothing lost and nothing doubled (late acknowledgement, redelivery by RabbitMQ,
outputs recorded atomically with their item)."""
from __future__ import annotations

import io
import json
import signal
import time
import zipfile

import numpy as np
from PIL import Image

from conftest import run_cli
from service_run import Service

COUNT = 4
SIZE = (3000, 2000)        # large enough that an image takes seconds: the kill lands inside one


def test_kill_9_mid_job_another_worker_finishes_it(tmp_path, shared, model_home):
    source = Image.open(shared / "testdata/stills_people/girl-1.jpg").convert("RGB").resize(SIZE)
    images = []
    for i in range(COUNT):   # distinct images: the content-hash cache must not answer any of them
        image = np.asarray(source).copy()
        image[0, 0] = (i, i, i)
        out = io.BytesIO()
        Image.fromarray(image).save(out, "JPEG", quality=95)
        images.append(out.getvalue())
    service = Service(tmp_path)
    try:
        service.start_api()
        first = service.start_worker("--concurrency", "1", "--threads", "1")
        status, body, _ = service.post_files("/v1/jobs", [("image", f"{i}.jpg", d) for i, d in enumerate(images)])
        assert status == 202, body
        job_id = json.loads(body)["id"]
        end = time.monotonic() + 240
        while not any(i["status"] == "running" for i in service.job(job_id)["items"]):
            assert time.monotonic() < end, service.log("worker0")
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = next(i["index"] for i in service.job(job_id)["items"] if i["status"] == "running")
        service.start_worker("--concurrency", "1", "--threads", "1")
        job = service.wait_job(job_id, timeout_s=600)
        assert job["state"] == "done", job
        assert [i["status"] for i in job["items"]] == ["done"] * COUNT
        attempts = [i["attempts"] for i in job["items"]]
        assert attempts[killed] == 2, attempts           # redelivered to the second worker and run again
        assert sum(attempts) == COUNT + 1, attempts       # every other image ran exactly once
        archive = zipfile.ZipFile(io.BytesIO(service.get(f"/v1/jobs/{job_id}/result")[1]))
        names = sorted(archive.namelist())
        assert names == [f"{i:04d}.png" for i in range(COUNT)] + ["report.json"]
        (tmp_path / "killed.jpg").write_bytes(images[killed])
        run_cli("stills", tmp_path / "killed.jpg", "-o", tmp_path / "cli", "--workers", "1", "--threads", "1",
                "--no-progress", check=True)
        cli = np.asarray(Image.open(tmp_path / "cli/killed.png"))
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(archive.read(f"{killed:04d}.png")))), cli)
    finally:
        service.stop()


def test_a_cancelled_job_stays_cancelled_when_a_worker_reaches_it(tmp_path, shared, model_home):
    from livematte.config import ServiceConfig
    from livematte.service.store import Store

    data = (shared / "testdata/stills_people/car-1.jpg").read_bytes()
    service = Service(tmp_path)
    try:
        service.start_api()
        status, body, _ = service.post_files("/v1/jobs", [("image", "a.jpg", data), ("image", "b.jpg", data[:-1])])
        job_id = json.loads(body)["id"]
        assert service.request("DELETE", f"/v1/jobs/{job_id}")[0] == 200
        service.start_worker("--concurrency", "1", "--threads", "1")     # the tasks are still queued for it
        store = Store(ServiceConfig().result_url, service.queue, 60)
        end = time.monotonic() + 120
        while service.log("worker0").count("succeeded") < 2 and time.monotonic() < end:
            time.sleep(0.2)
        assert service.log("worker0").count("succeeded") >= 2, service.log("worker0")
        job = service.job(job_id)
        assert job["state"] == "cancelled" and {i["status"] for i in job["items"]} == {"cancelled"}
        assert store.output(job_id, 0) is None and store.output(job_id, 1) is None
        assert service.get(f"/v1/jobs/{job_id}/result")[0] == 409
    finally:
        service.stop()
