"""A video through the service, split over 2 workers, against `livematte render` on one machine: the same
frame count and timestamps, the original audio, and the alpha at the joins measured against the rest."""
from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import run_cli
from service_run import Service

FRAMES, FPS, SIZE, GOP = 48, 24, (320, 180), 12
CHUNKS = "[service]\nchunk_frames = 12\noverlap_frames = 4\n"


def make_keyframed_clip(path, source, size: tuple[int, int] = SIZE) -> None:
    """A clip with a keyframe every GOP frames (so it splits into FRAMES / GOP chunks) and AAC audio."""
    with av.open(str(source)) as src:
        images = [f.to_ndarray(format="rgb24", width=size[0], height=size[1])
                  for _, f in zip(range(FRAMES), src.decode(video=0), strict=False)]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        video.options = {"x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        audio = out.add_stream("aac", rate=48000)
        for image in images:
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(video.encode(None))
        samples = 48000 * FRAMES // FPS
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)[None, :]
        for start in range(0, samples, 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + 1024]), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


def read(path) -> tuple[list[Fraction], list[np.ndarray], int]:
    """(frame times, grey frames, audio packets)"""
    with av.open(str(path)) as container:
        frames = [(f.pts * f.time_base, f.to_ndarray(format="gray")) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = sum(1 for p in container.demux(audio=0) if p.dts is not None) if container.streams.audio else 0
    return [t for t, _ in frames], [g for _, g in frames], audio


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, model_home):
    folder = tmp_path_factory.mktemp("video")
    (folder / "chunks.toml").write_text(CHUNKS)
    service = Service(folder)
    config = str(folder / "chunks.toml")
    try:
        service.start_api("--config", config)
        for _ in range(2):
            service.start_worker("--config", config, "--concurrency", "1", "--threads", "1")
        yield service
    finally:
        service.stop()


@pytest.mark.parametrize("mask_only", [True, False], ids=["matte", "cutout"])
def test_video_over_two_workers_equals_a_single_render(two_workers, shared, tmp_path, mask_only):
    clip = tmp_path / "clip.mp4"
    make_keyframed_clip(clip, shared / "testdata/videos/bedroom_960x540.mp4")
    fields = {"mask_only": "true"} if mask_only else {"background": "color:#00FF00"}
    status, body, _ = two_workers.post_files("/v1/jobs", [("video", "clip.mp4", clip.read_bytes())], fields)
    assert status == 202, body
    job = two_workers.wait_job(json.loads(body)["id"], timeout_s=600)
    assert job["state"] == "done", job
    assert len(job["items"]) == FRAMES // GOP and {i["status"] for i in job["items"]} == {"done"}
    assert len({i["worker"] for i in job["items"]}) == 2, job["items"]       # both workers rendered chunks
    status, data = two_workers.get(f"/v1/jobs/{job['id']}/result")
    assert status == 200
    (tmp_path / "service.mp4").write_bytes(data)
    extra = ["--matte-only"] if mask_only else ["--background", "color:#00FF00"]
    run_cli("render", clip, "-o", tmp_path / "single.mp4", "--threads", "1", "--no-progress", *extra, check=True)
    times, frames, audio = read(tmp_path / "service.mp4")
    single_times, single_frames, single_audio = read(tmp_path / "single.mp4")
    assert len(frames) == len(single_frames) == FRAMES
    assert times == single_times
    assert audio == single_audio and (audio == 0) == mask_only      # render drops audio from a matte only
    if mask_only:
        diff = np.array([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(frames, single_frames, strict=True)])
        joins = diff[GOP::GOP]
        inside = np.delete(diff, np.arange(GOP, FRAMES, GOP))
        print(f"mean |alpha difference| at the joins {joins.round(2)}, elsewhere {inside.mean():.2f} "
              f"(max {inside.max():.2f}) grey levels of 255")
        # Chunks are encoded apart, so H.264 differs a little everywhere; the joins must not stand out.
        assert joins.max() < 2.0 and inside.mean() < 1.0


def test_video_frames_are_quality_checked(two_workers, tmp_path):
    # A plain wall and no one in front of it: every frame's matte is empty, and the job says so.
    clip = tmp_path / "wall.mp4"
    with av.open(str(clip), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        video.options = {"x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        for _ in range(2 * GOP):
            out.mux(video.encode(av.VideoFrame.from_ndarray(np.full((96, 160, 3), 128, np.uint8), format="rgb24")))
        out.mux(video.encode(None))
    status, body, _ = two_workers.post_files("/v1/jobs", [("video", "wall.mp4", clip.read_bytes())])
    job = two_workers.wait_job(json.loads(body)["id"], timeout_s=300)
    assert job["state"] == "done"
    assert [i["flags"] for i in job["items"]] == [["empty"], ["empty"]]
    assert f"{GOP} frames flagged empty (frames {GOP}, {GOP + 1}," in " ".join(job["warnings"])


def test_kill_9_mid_chunk_the_video_still_equals_a_single_render(tmp_path, shared, model_home):
    import signal
    import time

    clip = tmp_path / "clip.mp4"
    # large enough that a chunk takes seconds: the kill lands inside one
    make_keyframed_clip(clip, shared / "testdata/videos/bedroom_960x540.mp4", (960, 540))
    (tmp_path / "chunks.toml").write_text(CHUNKS)
    config = str(tmp_path / "chunks.toml")
    service = Service(tmp_path)
    try:
        service.start_api("--config", config)
        first = service.start_worker("--config", config, "--concurrency", "1", "--threads", "1")
        status, body, _ = service.post_files("/v1/jobs", [("video", "clip.mp4", clip.read_bytes())],
                                             {"mask_only": "true"})
        job_id = json.loads(body)["id"]
        end = time.monotonic() + 300
        while not any(i["status"] == "running" for i in service.job(job_id)["items"]):
            assert time.monotonic() < end, service.log("worker0")
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = next(i["index"] for i in service.job(job_id)["items"] if i["status"] == "running")
        service.start_worker("--config", config, "--concurrency", "1", "--threads", "1")
        job = service.wait_job(job_id, timeout_s=600)
        assert job["state"] == "done", job
        assert job["items"][killed]["attempts"] == 2 and job["items"][killed]["worker"].startswith("w1-")
        (tmp_path / "service.mp4").write_bytes(service.get(f"/v1/jobs/{job_id}/result")[1])
    finally:
        service.stop()
    run_cli("render", clip, "-o", tmp_path / "single.mp4", "--threads", "1", "--no-progress", "--matte-only",
            check=True)
    times, frames, _ = read(tmp_path / "service.mp4")
    single_times, _, _ = read(tmp_path / "single.mp4")
    assert len(frames) == FRAMES and times == single_times
