"""`livematte api` and `livematte worker` started as a user would, as subprocesses, on a queue (and
Redis namespace) of their own, so that parallel test runs never take each other's tasks; stopped and
cleaned out of RabbitMQ and Redis afterwards."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from conftest import REPO

START_S = 120
TOKENS = ("token-alpha", "token-beta")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, folder: Path, *, tokens: tuple[str, ...] = TOKENS, env: dict | None = None):
        self.folder = folder
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LIVEMATTE_QUEUE": self.queue,
                    "LIVEMATTE_API_TOKENS": ",".join(tokens), **(env or {})}
        self.token = tokens[0] if tokens else None
        self.api = None
        self.workers: list[subprocess.Popen] = []
        self._logs = []

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return subprocess.Popen([sys.executable, "-m", "livematte", *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env)

    def start_api(self, *args: str) -> Service:
        self.api = self._spawn("api", "api", "--port", str(self.port), *args)
        self._wait(lambda: self.get("/healthz")[0] in (200, 503), self.api, "api")
        return self

    def start_worker(self, *args: str) -> subprocess.Popen:
        """A worker; returns once /healthz counts it."""
        before = self.health()["workers"]
        worker = self._spawn(f"worker{len(self.workers)}", "worker", "--name", f"w{len(self.workers)}-{self.queue}",
                             *args)
        self.workers.append(worker)
        self._wait(lambda: self.health()["workers"] > before, worker, f"worker{len(self.workers) - 1}")
        return worker

    def _wait(self, ready, proc, name: str) -> None:
        end = time.monotonic() + START_S
        while True:
            try:
                if ready():
                    return
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"livematte {name} did not start:\n{self.log(name)}")
            time.sleep(0.2)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def health(self) -> dict:
        return json.loads(self.get("/healthz")[1])

    # -- HTTP ----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
                token: str | None = "default", timeout: float = 120) -> tuple[int, bytes, dict]:
        headers = dict(headers or {})
        token = self.token if token == "default" else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def get(self, path: str, **kw) -> tuple[int, bytes]:
        status, body, _ = self.request("GET", path, **kw)
        return status, body

    def post_files(self, path: str, files: list[tuple[str, str, bytes]], fields: dict | None = None, **kw):
        body, content_type = multipart(files, fields or {})
        return self.request("POST", path, body=body, headers={"Content-Type": content_type}, **kw)

    def job(self, job_id: str, **kw) -> dict:
        status, body = self.get(f"/v1/jobs/{job_id}", **kw)
        assert status == 200, body
        return json.loads(body)

    def wait_job(self, job_id: str, timeout_s: float = 240, until=("done", "failed", "cancelled")) -> dict:
        end = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["state"] in until:
                return job
            if time.monotonic() > end:
                raise AssertionError(f"job {job_id} still {job['state']} after {timeout_s} s: {job}\n"
                                     + "\n".join(self.log(f"worker{i}") for i in range(len(self.workers))))
            time.sleep(0.2)

    # -- stopping ------------------------------------------------------------------------------------
    def stop(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.api]:
            if proc is None:
                continue
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()
        self.clean()

    def clean(self) -> None:
        """Remove this run's queue from RabbitMQ and its keys from Redis."""
        from livematte.config import ServiceConfig
        from livematte.service.store import Store

        defaults = ServiceConfig()
        Store(defaults.result_url, self.queue, 60).forget_everything()
        from kombu import Connection

        with Connection(defaults.broker_url) as conn:
            try:
                conn.default_channel.queue_delete(self.queue)
            except Exception:      # never declared (no task was sent): nothing to remove
                pass


def multipart(files: list[tuple[str, str, bytes]], fields: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode()
        parts.append(head + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
