"""Transient faults retry with backoff: the worker reaches Redis through a real TCP relay that the test
cuts for a few seconds; the task meets the refused connections, Celery retries it with backoff, and the
job completes once the relay is back. A bad input, by contrast, fails its item at once (one attempt)."""
from __future__ import annotations

import io
import json
import socket
import threading
import time

from PIL import Image

from service_run import Service, free_port

OUTAGE_S = 6


class Relay:
    """127.0.0.1:port → Redis, byte for byte; cut() drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.open = threading.Event()
        self.open.set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.open.clear()
        for pair in self._pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._pairs.clear()

    def close(self) -> None:
        self.cut()
        self._server.close()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_redis_outage_is_retried_with_backoff(tmp_path, model_home):
    relay = Relay(("127.0.0.1", 6379))
    service = Service(tmp_path)
    try:
        service.start_api()
        # only the worker goes through the relay; the api and the test talk to Redis directly
        service.env["LIVEMATTE_RESULT_URL"] = f"redis://127.0.0.1:{relay.port}/0"
        service.start_worker("--concurrency", "1", "--threads", "1")
        relay.cut()
        status, body, _ = service.post_files("/v1/jobs", [("image", "a.jpg", jpeg())])
        assert status == 202
        time.sleep(OUTAGE_S)
        relay.open.set()
        job = service.wait_job(json.loads(body)["id"], timeout_s=120)
        assert job["state"] == "done" and job["items"][0]["status"] == "done", job
        log = service.log("worker0")
        assert "Retry in" in log and "ConnectionError" in log, log[-3000:]
    finally:
        service.stop()
        relay.close()
