"""The service against the CLI on the same work, in one run (compare the ratios; the machine is shared).

    .venv/bin/python tools/bench_service.py --images 500 --json service.json

1. images: N distinct stills (the 8 of stills_people, each copy with one pixel changed so the result cache
   never answers; JPEG q95) through `livematte stills` (default workers), then through the API (jobs of 50 image
   fields) with 1 worker (concurrency = cores) and with 2 workers (concurrency = cores / 2 each):
   images/s (upload, work, and fetching each job's zip), and the resident memory of the api and every
   worker sampled over the run (flat or not).
2. video: the 1080p test clip re-encoded with a keyframe every 24 frames, through `livematte render`, then
   as a video job with 1 and with 2 workers ([service] chunk_frames = 24).
3. latency: POST /v1/cutout of one 1080p image (distinct each time), one at a time, 1 worker: p50 and p95.
Everything runs on its own queue and Redis namespace, removed at the end.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import av
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"
TOKEN = "bench-token"
CONFIG = ("[service]\nmax_queued_jobs = 1000\nrate_per_minute = 1000000\nmax_images = 1000\n"
          "chunk_frames = 24\nsync_budget_s = 120.0\ncache_bytes = 67108864\n")


class Run:
    """An api and workers on a queue of their own; RSS of each sampled every 0.5 s."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.queue = f"bench-{uuid.uuid4().hex[:10]}"
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LIVEMATTE_QUEUE": self.queue,
                    "LIVEMATTE_API_TOKENS": TOKEN}
        (folder / "bench.toml").write_text(CONFIG)
        self.procs: dict[str, subprocess.Popen] = {}
        self.last_headers: dict = {}
        self.rss: dict[str, list[int]] = {}
        self._stop = threading.Event()

    def start(self, workers: int, concurrency: int) -> Run:
        self._spawn("api", "api", "--port", str(self.port))
        for i in range(workers):
            self._spawn(f"worker{i}", "worker", "--concurrency", str(concurrency), "--name", f"b{i}-{self.queue}")
        end = time.monotonic() + 180
        while self._health().get("workers", 0) < workers:
            if time.monotonic() > end:
                raise SystemExit(f"service did not start; see {self.folder}")
            time.sleep(0.3)
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "livematte", *args, "--config",
                                             str(self.folder / "bench.toml")], stdout=log, stderr=log, env=self.env)

    def _health(self) -> dict:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return {}

    def _sample(self) -> None:
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                try:
                    status = Path(f"/proc/{proc.pid}/status").read_text()
                    kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
                    self.rss.setdefault(name, []).append(kb // 1024)
                except (OSError, StopIteration):
                    pass
            self._stop.wait(0.5)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Authorization": f"Bearer {TOKEN}", **({"Content-Type": content_type} if content_type else {})}
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                self.last_headers = dict(response.headers)
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def submit(self, field: str, files: list[bytes], suffix: str) -> str:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="f{i}{suffix}"\r\n\r\n'
                 .encode() + data + b"\r\n" for i, data in enumerate(files)]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, answer = self.request("POST", "/v1/jobs", body, f"multipart/form-data; boundary={boundary}")
        if status != 202:
            raise SystemExit(f"POST /v1/jobs: {status} {answer[:300]}")
        return json.loads(answer)["id"]

    def wait(self, job_id: str) -> dict:
        while True:
            job = json.loads(self.request("GET", f"/v1/jobs/{job_id}")[1])
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(0.2)

    def stop(self) -> dict[str, dict]:
        self._stop.set()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.path.insert(0, str(REPO / "src"))
        from kombu import Connection

        from livematte.config import ServiceConfig
        from livematte.service.store import Store

        Store(ServiceConfig().result_url, self.queue, 60).forget_everything()
        with Connection(ServiceConfig().broker_url) as conn:
            conn.default_channel.queue_delete(self.queue)
        return {name: _rss_profile(samples) for name, samples in self.rss.items()}


def _rss_profile(samples: list[int]) -> dict:
    """Peak, and the RSS at 10 %, 50 % and 90 % of the run: flat memory has the three close."""
    if not samples:
        return {}
    at = {f"p{q}": samples[min(len(samples) - 1, len(samples) * q // 100)] for q in (10, 50, 90)}
    return {"peak_mb": max(samples), **{k + "_mb": v for k, v in at.items()}}


def distinct_images(count: int) -> list[tuple[str, bytes]]:
    sources = sorted((TESTDATA / "stills_people").glob("*.jpg"))
    out = []
    for i in range(count):
        image = np.asarray(Image.open(sources[i % len(sources)]).convert("RGB")).copy()
        image[:16, :16] = (i % 256, 60 * (i // 256 % 4), 7)   # a block JPEG keeps: no two inputs are equal
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=95)
        out.append((f"{i:04d}.jpg", buffer.getvalue()))
    return out


def bench_images(folder: Path, images, cores: int, port: int) -> dict:
    inputs = folder / "in"
    inputs.mkdir()
    for name, data in images:
        (inputs / name).write_bytes(data)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "livematte", "stills", str(inputs), "-o", str(folder / "cli"),
                    "--no-progress"], check=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                   stdout=subprocess.DEVNULL)
    result = {"cli_images_per_s": len(images) / (time.perf_counter() - started)}
    for workers in (1, 2):
        run = Run(Path(tempfile.mkdtemp(dir=folder)), port).start(workers, max(1, cores // workers))
        started = time.perf_counter()
        jobs = [run.submit("image", [d for _, d in images[i:i + 50]], ".jpg") for i in range(0, len(images), 50)]
        done = []
        for job in jobs:      # each fetched, then deleted: Redis holds the work in flight, not the whole run
            done.append(run.wait(job))
            run.request("GET", f"/v1/jobs/{job}/result")
            run.request("DELETE", f"/v1/jobs/{job}")
        seconds = time.perf_counter() - started
        failed = sum(1 for job in done for item in job["items"] if item["status"] != "done")
        cached = sum(1 for job in done for item in job["items"] if item["cached"])
        result[f"api_{workers}_workers"] = {"images_per_s": len(images) / seconds, "failed": failed, "cached": cached,
                                            "rss": run.stop()}
    return result


def keyframed_1080p(path: Path) -> Path:
    with av.open(str(TESTDATA / "videos/room_two_people_1080p.mp4")) as src, av.open(str(path), "w") as out:
        rate = src.streams.video[0].average_rate
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"x264-params": "keyint=24:min-keyint=24:scenecut=0"}
        for frame in src.decode(video=0):     # new frames: the encoder picks the frame types and times
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")))
        out.mux(stream.encode(None))
    return path


def bench_video(folder: Path, cores: int, port: int) -> dict:
    clip = keyframed_1080p(folder / "clip1080.mp4")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "livematte", "render", str(clip), "-o", str(folder / "single.mp4"),
                    "-b", "blur", "--no-progress"], check=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                   stderr=subprocess.DEVNULL)
    result = {"render_s": time.perf_counter() - started}
    for workers in (1, 2):
        run = Run(Path(tempfile.mkdtemp(dir=folder)), port).start(workers, max(1, cores // workers))
        started = time.perf_counter()
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="c.mp4"\r\n\r\n'.encode()
                + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
        status, answer = run.request("POST", "/v1/jobs?background=blur", body,
                                     f"multipart/form-data; boundary={boundary}")
        job = run.wait(json.loads(answer)["id"])
        result[f"api_{workers}_workers_s"] = time.perf_counter() - started
        result[f"api_{workers}_workers_state"] = f"{job['state']}, {len(job['items'])} chunks"
        run.stop()
    return result


def bench_latency(folder: Path, cores: int, port: int, count: int) -> dict:
    with av.open(str(TESTDATA / "videos/room_two_people_1080p.mp4")) as src:
        frame = next(src.decode(video=0)).to_ndarray(format="rgb24")
    run = Run(Path(tempfile.mkdtemp(dir=folder)), port).start(1, cores)
    times = []
    try:
        for i in range(count + 1):
            image = frame.copy()
            image[:16, :16] = (i * 11 % 256, 3, 5)
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "JPEG", quality=92)
            started = time.perf_counter()
            status, _ = run.request("POST", "/v1/cutout", buffer.getvalue(), "image/jpeg")
            if status != 200 or run.last_headers.get("X-Livematte-Cache") != "miss":
                raise SystemExit(f"POST /v1/cutout: {status} {run.last_headers.get('X-Livematte-Cache')}")
            if i:                         # the first warms the worker's caches up
                times.append((time.perf_counter() - started) * 1000)
    finally:
        run.stop()
    times.sort()
    return {"requests": count, "p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--latency-requests", type=int, default=20)
    parser.add_argument("--port", type=int, default=18791)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    report = {"cores": cores, "load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        folder = Path(tmp)
        (folder / "images").mkdir()
        images = distinct_images(args.images)
        report["images"] = {"count": args.images, **bench_images(folder / "images", images, cores, args.port)}
        print(json.dumps(report["images"], indent=1), flush=True)
        (folder / "video").mkdir()
        report["video"] = bench_video(folder / "video", cores, args.port)
        print(json.dumps(report["video"], indent=1), flush=True)
        report["latency"] = bench_latency(folder, cores, args.port, args.latency_requests)
    report["load_end"] = os.getloadavg()
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
