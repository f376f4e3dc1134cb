"""`livematte api` + `livematte worker` for real: HTTP over loopback, RabbitMQ and Redis, worker processes.

A batch through the API must equal `livematte stills` on the same images, byte for byte in pixels;
bad uploads get a 4xx naming the field; tokens, limits and the cache do what they say.
"""
from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from media import make_clip
from service_run import TOKENS, Service, free_port

NAMES = ["girl-1.jpg", "car-2.jpg", "plants-1.jpg"]
LIMITS = """[input]
max_pixels = 2000000

[service]
max_upload_bytes = 3000000
max_video_frames = 200
max_queued_jobs = 2
rate_per_minute = 40
sync_budget_s = 1.0
"""


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def stills(shared):
    folder = shared / "testdata/stills_people"
    return [(name, (folder / name).read_bytes()) for name in NAMES]


@pytest.fixture(scope="module")
def service(tmp_path_factory, model_home):
    service = Service(tmp_path_factory.mktemp("service"))
    try:
        service.start_api()
        service.start_worker("--concurrency", "1", "--threads", "1")
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def idle(tmp_path_factory, model_home):
    """An API with tight limits and no worker at all: whatever is queued stays queued."""
    folder = tmp_path_factory.mktemp("idle")
    (folder / "limits.toml").write_text(LIMITS)
    service = Service(folder)
    try:
        yield service.start_api("--config", str(folder / "limits.toml"))
    finally:
        service.stop()


def test_health_counts_the_worker(service):
    assert service.health() == {"ok": True, "broker": True, "result_store": True, "workers": 1}


def test_batch_equals_the_cli_and_a_zip_the_same(service, stills, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, data in stills:
        (inputs / name).write_bytes(data)
    run_cli("stills", *sorted(inputs.iterdir()), "-o", tmp_path / "cli", "--workers", "1", "--threads", "1",
            "--no-progress", check=True)
    status, body, _ = service.post_files("/v1/jobs", [("image", n, d) for n, d in stills])
    assert status == 202, body
    job = service.wait_job(json.loads(body)["id"])
    assert job["state"] == "done" and [i["status"] for i in job["items"]] == ["done"] * 3
    assert [i["name"] for i in job["items"]] == NAMES
    status, result = service.get(f"/v1/jobs/{job['id']}/result")
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(result))
    assert sorted(archive.namelist()) == ["0000.png", "0001.png", "0002.png", "report.json"]
    for index, name in enumerate(NAMES):
        cli = (tmp_path / "cli" / name).with_suffix(".png").read_bytes()
        api = archive.read(f"{index:04d}.png")
        assert pixels(api).shape[2] == 4
        np.testing.assert_array_equal(pixels(api), pixels(cli), err_msg=name)
    # the same images as a zip: the same outputs, now straight from the cache
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        for name, data in stills:
            z.writestr(f"folder/{name}", data)
    status, body, _ = service.post_files("/v1/jobs", [("zip", "batch.zip", zipped.getvalue())])
    job = service.wait_job(json.loads(body)["id"])
    assert all(i["cached"] for i in job["items"]) and job["state"] == "done"
    again = zipfile.ZipFile(io.BytesIO(service.get(f"/v1/jobs/{job['id']}/result")[1]))
    for index in range(3):
        assert again.read(f"{index:04d}.png") == archive.read(f"{index:04d}.png")


def test_cutout_sync_options_and_cache(service, stills):
    name, data = stills[0]
    status, first, headers = service.post_files("/v1/cutout?background=white&format=jpg", [("image", name, data)])
    assert status == 200, first
    assert headers["Content-Type"] == "image/jpeg" and headers["X-Livematte-Cache"] == "miss"
    image = pixels(first)
    assert image.shape == pixels(data).shape and image.ndim == 3
    assert image[0, 0].min() > 240       # the corner is background: white
    status, second, headers = service.request("POST", "/v1/cutout?background=white&format=jpg", body=data,
                                              headers={"Content-Type": "image/jpeg"})
    assert status == 200 and headers["X-Livematte-Cache"] == "hit" and second == first
    status, mask, _ = service.post_files("/v1/cutout", [("image", name, data)], {"mask_only": "true"})
    assert status == 200 and pixels(mask).ndim == 2


def test_bad_input_fails_its_item_at_once_and_the_rest_go_on(service, stills):
    broken = png(64, 64)[:60]              # a valid header, then nothing
    status, body, _ = service.post_files("/v1/jobs", [("image", "good.jpg", stills[1][1]),
                                                      ("image", "broken.png", broken)])
    assert status == 202, body
    job = service.wait_job(json.loads(body)["id"])
    good, bad = job["items"]
    assert job["state"] == "done" and good["status"] == "done"
    assert bad["status"] == "failed" and bad["name"] == "broken.png" and bad["error"]
    assert "/tmp" not in bad["error"]      # the worker's own paths stay on the worker


def test_tokens_are_required_and_jobs_are_private(service, stills):
    status, body, headers = service.post_files("/v1/cutout", [("image", "a.jpg", stills[0][1])], token=None)
    assert status == 401 and json.loads(body)["field"] == "Authorization"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = service.post_files("/v1/cutout", [("image", "a.jpg", stills[0][1])], token="wrong")
    assert status == 401
    status, body, _ = service.post_files("/v1/jobs", [("image", "a.jpg", stills[0][1])])
    job_id = json.loads(body)["id"]
    assert service.get(f"/v1/jobs/{job_id}", token=TOKENS[1])[0] == 404
    assert service.request("DELETE", f"/v1/jobs/{job_id}", token=TOKENS[1])[0] == 404
    assert service.get("/v1/jobs/../../etc/passwd")[0] == 404


def test_delete_cancels_and_removes_the_result(service, stills):
    status, body, _ = service.post_files("/v1/jobs", [("image", "a.jpg", stills[2][1])])
    job = service.wait_job(json.loads(body)["id"])
    assert service.get(f"/v1/jobs/{job['id']}/result")[0] == 200
    status, body, _ = service.request("DELETE", f"/v1/jobs/{job['id']}")
    assert status == 200 and json.loads(body)["state"] == "cancelled"
    assert service.job(job["id"])["state"] == "cancelled"
    assert service.get(f"/v1/jobs/{job['id']}/result")[0] == 409


@pytest.mark.parametrize(("files", "fields", "query", "status", "field"), [
    ([("image", "notes.txt", b"hello, not an image")], {}, "", 415, "image"),
    ([("image", "a.png", b"")], {}, "", 400, "image"),
    ([("image", "a.png", None)], {"background": "image:/etc/passwd"}, "", 400, "background"),
    ([("image", "a.png", None)], {}, "?model=../../secret", 400, "model"),
    ([("image", "a.png", None)], {}, "?preset=/etc/hosts", 400, "preset"),
    ([("image", "a.png", None)], {"format": "gif"}, "", 400, "format"),
    ([("image", "a.png", None)], {"colour": "red"}, "", 400, "colour"),
    ([("image", "a.png", None)], {"format": "png"}, "?format=jpg", 400, "format"),
    ([("picture", "a.png", None)], {}, "", 400, "picture"),
])
def test_bad_cutouts_get_4xx_naming_the_field(service, files, fields, query, status, field):
    files = [(name, filename, png(32, 32) if data is None else data) for name, filename, data in files]
    got, body, _ = service.post_files("/v1/cutout" + query, files, fields)
    assert (got, json.loads(body)["field"]) == (status, field), body


def test_limits_name_the_field(idle, tmp_path):
    files = [("image", "a.png", png(32, 32)), ("image", "b.png", png(2000, 1500))]
    status, body, _ = idle.post_files("/v1/jobs", files)
    assert status == 413 and json.loads(body)["field"] == "image[1]"
    status, body, _ = idle.post_files("/v1/cutout", [("image", "a.png", b"\0" * 3_100_000)])
    assert status == 413 and json.loads(body)["field"] in ("image", "body")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.png", b"\0" * 20_000_000)
    status, body, _ = idle.post_files("/v1/jobs", [("zip", "bomb.zip", bomb.getvalue())])
    assert status == 413 and json.loads(body)["field"] == "zip:zeros.png"
    status, body, _ = idle.post_files("/v1/jobs", [("zip", "a.zip", bomb.getvalue()), ("image", "a.png", png(8, 8))])
    assert status == 400
    long_clip = make_clip(tmp_path / "long.mp4", frames=240, size=(64, 48))
    status, body, _ = idle.post_files("/v1/jobs", [("video", "long.mp4", long_clip.read_bytes())])
    assert status == 413 and json.loads(body)["field"] == "video" and "240 frames" in json.loads(body)["error"]
    status, body, _ = idle.post_files("/v1/jobs", [("video", "x.mp4", b"not a video at all" * 100)])
    assert status == 415 and json.loads(body)["field"] == "video"


def test_queued_jobs_per_token_and_the_sync_budget(idle):
    # No worker: the cut-out runs past its 1 s budget and becomes a job; then the queue limit (2) is reached.
    status, body, headers = idle.post_files("/v1/cutout", [("image", "a.png", png(32, 32))])
    assert status == 202 and headers["Location"] == f"/v1/jobs/{json.loads(body)['id']}"
    first = json.loads(body)["id"]
    assert idle.job(first)["state"] == "queued"
    assert idle.post_files("/v1/jobs", [("image", "b.png", png(32, 32))])[0] == 202
    status, body, _ = idle.post_files("/v1/jobs", [("image", "c.png", png(32, 32))])
    assert status == 429 and json.loads(body)["field"] == "jobs"
    assert idle.request("DELETE", f"/v1/jobs/{first}")[0] == 200
    assert idle.post_files("/v1/jobs", [("image", "c.png", png(32, 32))])[0] == 202


def test_rate_limit(idle):
    # 40 a minute: of 85 requests at least 43 fall in one minute, whichever way a minute boundary cuts them
    statuses = []
    while len(statuses) < 85 and 429 not in statuses:
        status, _, headers = idle.request("GET", "/v1/jobs/" + "0" * 32, token=TOKENS[1])
        statuses.append(status)
    assert statuses[-1] == 429 and set(statuses[:-1]) == {404} and len(statuses) > 40
    assert 0 < int(headers["Retry-After"]) <= 60


def test_no_auth_only_on_loopback_and_never_without_tokens(tmp_path):
    result = run_cli("api", "--no-auth", "--host", "0.0.0.0", env={"LIVEMATTE_API_TOKENS": ""}, timeout=60)
    assert result.returncode == 2 and "127.0.0.1" in result.stderr
    result = run_cli("api", env={"LIVEMATTE_API_TOKENS": ""}, timeout=60)
    assert result.returncode == 2 and "LIVEMATTE_API_TOKENS" in result.stderr


def test_quality_flags_reach_the_items_and_the_headers(service):
    # A plain wall: nothing for the model to keep, so the cut-out is flagged empty, not passed off as fine.
    status, body, headers = service.post_files("/v1/cutout", [("image", "wall.png", png(200, 150))])
    assert status == 200
    assert "empty" in json.loads(headers["X-Livematte-Flags"])
    job = service.job(headers["X-Livematte-Job"])
    assert "empty" in job["items"][0]["flags"]


def test_results_expire(tmp_path, model_home):
    (tmp_path / "short.toml").write_text("[service]\nresult_ttl_s = 10\n")
    service = Service(tmp_path)
    try:
        service.start_api("--config", str(tmp_path / "short.toml"))
        status, body, _ = service.post_files("/v1/jobs", [("image", "a.png", png(16, 16))])
        job_id = json.loads(body)["id"]
        assert service.get(f"/v1/jobs/{job_id}")[0] == 200
        time.sleep(11)
        assert service.get(f"/v1/jobs/{job_id}")[0] == 404
    finally:
        service.stop()


def test_health_says_when_the_broker_is_unreachable(tmp_path, model_home):
    service = Service(tmp_path, env={"LIVEMATTE_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//"})
    try:
        service.start_api()
        status, body = service.get("/healthz")
        assert status == 503
        assert json.loads(body) == {"ok": False, "broker": False, "result_store": True, "workers": 0}
    finally:
        service.stop()
